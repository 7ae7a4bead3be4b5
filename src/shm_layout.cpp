// src/shm_layout.cpp — the futex sleep with wait hooks, and process identity
// and liveness, for the cross-process primitives (shm_layout.hpp). Process
// identity is platform code: /proc/<pid>/stat on Linux, sysctl on macOS.
#include "interlock/shm_layout.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "interlock/shm_mutex.hpp"  // g_self_stamp is declared (exported) there
#include "interlock/platform/fork.hpp"
#include "interlock/platform/wait.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock::shm {

const char* describe(AttachResult r) noexcept {
  switch (r) {
    case AttachResult::created:
    case AttachResult::attached: return "ok";
    case AttachResult::wrong_kind: return "the memory holds an interlock object of another type";
    case AttachResult::wrong_version:
      return "the memory holds an interlock object of an incompatible layout version";
    case AttachResult::foreign:
      return "the memory is neither zero-filled nor an interlock object (wrong buffer or offset?)";
    case AttachResult::init_stalled:
      return "another process started initialising the memory and never finished";
  }
  return "unknown";
}

FutexWait futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                     Deadline deadline, bool shared) noexcept {
  if (deadline.expired()) {
    return word->load(std::memory_order_relaxed) == expected ? FutexWait::timed_out
                                                             : FutexWait::value_changed;
  }
  const WaitHooks* hooks = interlock::detail::current_wait_hooks();
  const bool poll = hooks && hooks->poll_interval_ns > 0;
  void* token = hooks && hooks->before_sleep ? hooks->before_sleep(hooks->ctx) : nullptr;
  FutexWait result;
  for (;;) {
    Deadline slice = deadline;
    if (poll)
      slice = earlier(deadline, Deadline::after(std::chrono::nanoseconds(hooks->poll_interval_ns)));
    const platform::WaitResult r = platform::wait(word, expected, slice, shared);
    if (r == platform::WaitResult::woken) {
      result = FutexWait::woken;
      break;
    }
    if (r == platform::WaitResult::value_changed) {
      result = FutexWait::value_changed;
      break;
    }
    if (r == platform::WaitResult::timed_out && (slice == deadline || deadline.expired())) {
      result = FutexWait::timed_out;
      break;
    }
    // EINTR, or a poll slice ran out: let the hooks run signal handlers.
    if (hooks && hooks->on_interrupt) {
      if (hooks->after_sleep) hooks->after_sleep(hooks->ctx, token);
      const bool stop = hooks->on_interrupt(hooks->ctx);
      if (stop) return FutexWait::interrupted;
      token = hooks->before_sleep ? hooks->before_sleep(hooks->ctx) : nullptr;
    }
  }
  if (hooks && hooks->after_sleep) hooks->after_sleep(hooks->ctx, token);
  return result;
}

int futex_wake(const std::atomic<std::uint32_t>* word, int n, bool shared) noexcept {
  if (n <= 0) return 0;
  return platform::wake(word, n, shared);
}

// ------------------------------------------------------------ processes

namespace detail {
std::atomic<std::uint32_t> g_self_pid{0};
std::atomic<std::uint32_t> g_self_stamp{0};

namespace {
void reset_identity_in_child() noexcept {
  g_self_pid.store(0, std::memory_order_relaxed);
  g_self_stamp.store(0, std::memory_order_relaxed);
}
}  // namespace

std::uint32_t init_self_pid() noexcept {
  static const bool registered = [] {
    platform::at_fork_child(&reset_identity_in_child);
    return true;
  }();
  (void)registered;
  const auto p = static_cast<std::uint32_t>(getpid());
  g_self_pid.store(p, std::memory_order_relaxed);
  return p;
}
}  // namespace detail

namespace {

#if defined(__APPLE__)
/// sysctl(KERN_PROC_PID): state ('Z' for a zombie) and start time in
/// microseconds. False if there is no such process.
bool read_stat(std::uint32_t pid, char* state, unsigned long long* start) noexcept {
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, static_cast<int>(pid)};
  struct kinfo_proc kp;
  std::size_t len = sizeof kp;
  if (::sysctl(mib, 4, &kp, &len, nullptr, 0) != 0 || len < sizeof kp) return false;
  *state = kp.kp_proc.p_stat == SZOMB ? 'Z' : 'R';
  *start = static_cast<unsigned long long>(kp.kp_proc.p_starttime.tv_sec) * 1000000ull +
           static_cast<unsigned long long>(kp.kp_proc.p_starttime.tv_usec);
  return true;
}
#else
/// Reads /proc/<pid>/stat: state char and start time. False if unreadable.
bool read_stat(std::uint32_t pid, char* state, unsigned long long* start) noexcept {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // The command name (field 2) is in parentheses and may contain anything:
  // parse from the last ')'.
  char* p = std::strrchr(buf, ')');
  if (!p || p[1] != ' ') return false;
  p += 2;
  *state = *p;
  // After ')' come fields 3 (state) .. ; start time is field 22.
  int field = 3;
  while (*p && field < 22) {
    if (*p == ' ') ++field;
    ++p;
  }
  if (field != 22) return false;
  *start = std::strtoull(p, nullptr, 10);
  return true;
}

#endif

}  // namespace

std::uint32_t process_stamp(std::uint32_t pid) noexcept {
  char st;
  unsigned long long start;
  if (!read_stat(pid, &st, &start)) return 0;
  const auto s = static_cast<std::uint32_t>(start);
  return s == 0 ? 1u : s;  // 0 means "unknown"
}

std::uint32_t self_stamp() noexcept {
  std::uint32_t s = detail::g_self_stamp.load(std::memory_order_relaxed);
  if (s != 0) return s;
  s = process_stamp(self_pid());
  if (s == 0) s = 1;
  detail::g_self_stamp.store(s, std::memory_order_relaxed);
  return s;
}

Liveness process_liveness(std::uint32_t pid, std::uint32_t stamp) noexcept {
  if (pid == 0 || pid > static_cast<std::uint32_t>(INT_MAX)) return Liveness::dead;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return Liveness::dead;
  char st;
  unsigned long long start;
  if (!read_stat(pid, &st, &start)) return Liveness::alive;  // no /proc: trust kill()
  if (st == 'Z' || st == 'X') return Liveness::dead;
  std::uint32_t now = static_cast<std::uint32_t>(start);
  if (now == 0) now = 1;
  if (stamp != 0 && stamp != 1 && now != stamp) return Liveness::reused;
  return Liveness::alive;
}

}  // namespace interlock::shm
