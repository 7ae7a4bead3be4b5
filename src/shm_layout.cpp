// src/shm_layout.cpp — the futex sleep with wait hooks, and process identity
// and liveness, for the cross-process primitives (shm_layout.hpp).
#include "interlock/shm_layout.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "interlock/shm_mutex.hpp"  // g_self_stamp is declared (exported) there
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

namespace {

long raw_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, Deadline d,
              bool shared) noexcept {
  timespec ts;
  timespec* tsp = nullptr;
  if (!d.is_never()) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  d.time_point().time_since_epoch())
                  .count();
    if (ns < 0) ns = 0;
    ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    ts.tv_nsec = static_cast<long>(ns % 1000000000);
    tsp = &ts;
  }
  const int op = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  return syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), op, expected, tsp,
                 nullptr, FUTEX_BITSET_MATCH_ANY);
}

}  // namespace

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
    const long r = raw_wait(word, expected, slice, shared);
    if (r == 0) {
      result = FutexWait::woken;
      break;
    }
    const int err = errno;
    if (err == EAGAIN) {
      result = FutexWait::value_changed;
      break;
    }
    if (err == ETIMEDOUT && (slice == deadline || deadline.expired())) {
      result = FutexWait::timed_out;
      break;
    }
    if (err != EINTR && err != ETIMEDOUT) {
      result = FutexWait::woken;  // EFAULT etc.: let the caller re-check
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
  const int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  const long r = syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), op, n,
                         nullptr, nullptr, 0);
  return r < 0 ? 0 : static_cast<int>(r);
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
    pthread_atfork(nullptr, nullptr, &reset_identity_in_child);
    return true;
  }();
  (void)registered;
  const auto p = static_cast<std::uint32_t>(getpid());
  g_self_pid.store(p, std::memory_order_relaxed);
  return p;
}
}  // namespace detail

namespace {

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
