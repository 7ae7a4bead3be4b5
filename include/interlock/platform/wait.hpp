// interlock/platform/wait.hpp — the one platform layer of the core: sleep
// while a 32-bit word holds a value, and wake the sleepers on a word.
//
//   Linux    futex(2) FUTEX_WAIT_BITSET / FUTEX_WAKE; FUTEX_PRIVATE_FLAG
//            unless `shared` (then keyed by the physical page: any process
//            mapping the word).
//   macOS    os_sync_wait_on_address[_with_timeout] / os_sync_wake_by_address_*
//            (macOS 14.4+, weakly linked, OS_SYNC_*_SHARED when `shared`);
//            before 14.4 __ulock_wait / __ulock_wake (UL_COMPARE_AND_WAIT,
//            UL_COMPARE_AND_WAIT_SHARED when `shared`), which every macOS
//            since 10.12 has and libc++'s std::atomic::wait uses.
//   Windows  WaitOnAddress / WakeByAddressSingle / WakeByAddressAll: one
//            process only, so `shared` waits work between the threads of a
//            process but not across processes (the cross-process objects are
//            not built on Windows: docs/design.md "Platforms").
//
// Everything above this header (parking lot, mutexes, queues, grace periods,
// the cross-process primitives, the Python package) is platform-free; the
// only other platform code is the named-object / process-identity files
// (src/named_region.cpp, src/shm_layout.cpp) and config.hpp.
//
// Contract (all platforms):
//  - `word` is 4-byte aligned and stays mapped for the whole call.
//  - wait() returns value_changed when *word != expected at the time of the
//    call (where the OS tells: Linux), woken on a wake-up OR a spurious
//    wake-up (callers re-check their condition in a loop), timed_out only
//    once `deadline` has passed, interrupted when a signal interrupted the
//    sleep (POSIX; the caller decides whether to sleep again with the same
//    absolute deadline).
//  - wake() wakes up to `count` sleepers (INT_MAX: all) and returns how many
//    it woke where the OS says (Linux), else a lower bound (0 or 1 or count).
//  - Linux: inline, a single syscall each way (the hot paths never get here
//    without a sleeper anyway).
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <ctime>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#elif defined(__APPLE__)
// Declared here rather than through <os/os_sync_wait_on_address.h> so that
// the core builds with any SDK (and the 14.4 functions are weak imports: a
// binary built for an older deployment target runs there, falling back to
// __ulock_*). The ABI of both families is stable (libc++ depends on ulock).
extern "C" {
int os_sync_wait_on_address(void* addr, std::uint64_t value, std::size_t size,
                            std::uint32_t flags) __attribute__((weak_import));
int os_sync_wait_on_address_with_timeout(void* addr, std::uint64_t value, std::size_t size,
                                         std::uint32_t flags, std::uint32_t clockid,
                                         std::uint64_t timeout_ns) __attribute__((weak_import));
int os_sync_wake_by_address_any(void* addr, std::size_t size, std::uint32_t flags)
    __attribute__((weak_import));
int os_sync_wake_by_address_all(void* addr, std::size_t size, std::uint32_t flags)
    __attribute__((weak_import));
int __ulock_wait(std::uint32_t operation, void* addr, std::uint64_t value,
                 std::uint32_t timeout_us);
int __ulock_wake(std::uint32_t operation, void* addr, std::uint64_t wake_value);
}
#endif

namespace interlock::platform {

enum class WaitResult : unsigned char { woken, value_changed, timed_out, interrupted };

#if defined(__linux__)

inline WaitResult wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       Deadline deadline, bool shared) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == 4);
  // steady_clock is CLOCK_MONOTONIC on Linux, which FUTEX_WAIT_BITSET's
  // absolute timeout uses: a retry after EINTR keeps the original deadline.
  timespec ts;
  timespec* tsp = nullptr;
  if (!deadline.is_never()) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  deadline.time_point().time_since_epoch())
                  .count();
    if (ns < 0) ns = 0;
    ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    ts.tv_nsec = static_cast<long>(ns % 1000000000);
    tsp = &ts;
  }
  const int op = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  const long r = syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), op, expected,
                         tsp, nullptr, FUTEX_BITSET_MATCH_ANY);
  if (r == 0) return WaitResult::woken;
  switch (errno) {
    case EAGAIN: return WaitResult::value_changed;
    case ETIMEDOUT: return WaitResult::timed_out;
    case EINTR: return WaitResult::interrupted;
    default: return WaitResult::woken;  // EFAULT etc.: let the caller re-check
  }
}

inline int wake(const std::atomic<std::uint32_t>* word, int count, bool shared) noexcept {
  const int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  const long r = syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), op, count,
                         nullptr, nullptr, 0);
  return r < 0 ? 0 : static_cast<int>(r);
}

#elif defined(__APPLE__)

namespace detail {
inline constexpr std::uint32_t kUlCompareAndWait = 1;
inline constexpr std::uint32_t kUlCompareAndWaitShared = 3;
inline constexpr std::uint32_t kUlfWakeAll = 0x100;
inline constexpr std::uint32_t kOsSyncShared = 1;          // OS_SYNC_{WAIT_ON,WAKE_BY}_ADDRESS_SHARED
inline constexpr std::uint32_t kOsClockMachAbsolute = 32;  // OS_CLOCK_MACH_ABSOLUTE_TIME
}  // namespace detail

inline WaitResult wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       Deadline deadline, bool shared) noexcept {
  void* addr = const_cast<std::atomic<std::uint32_t>*>(word);
  // Both calls take a relative timeout: computed from the absolute deadline
  // on every call, so retries never stretch the total.
  std::uint64_t ns = 0;
  if (!deadline.is_never()) {
    const auto left = deadline.remaining();
    if (left <= Clock::duration::zero()) return WaitResult::timed_out;
    ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
    if (ns == 0) ns = 1;
  }
  int r;
  if (os_sync_wait_on_address_with_timeout != nullptr) {
    const std::uint32_t flags = shared ? detail::kOsSyncShared : 0;
    r = deadline.is_never()
            ? os_sync_wait_on_address(addr, expected, 4, flags)
            : os_sync_wait_on_address_with_timeout(addr, expected, 4, flags,
                                                   detail::kOsClockMachAbsolute, ns);
  } else {
    std::uint32_t us = 0;  // 0: no timeout
    if (!deadline.is_never()) {
      const std::uint64_t u = (ns + 999) / 1000;
      us = u >= UINT32_MAX ? UINT32_MAX - 1 : static_cast<std::uint32_t>(u);  // a slice
    }
    r = __ulock_wait(shared ? detail::kUlCompareAndWaitShared : detail::kUlCompareAndWait, addr,
                     expected, us);
  }
  if (r >= 0) return WaitResult::woken;
  switch (errno) {
    case ETIMEDOUT: return deadline.expired() ? WaitResult::timed_out : WaitResult::woken;
    case EINTR: return WaitResult::interrupted;
    default: return WaitResult::woken;
  }
}

inline int wake(const std::atomic<std::uint32_t>* word, int count, bool shared) noexcept {
  void* addr = const_cast<std::atomic<std::uint32_t>*>(word);
  if (count <= 0) return 0;
  const bool all = count == INT_MAX;
  if (os_sync_wake_by_address_any != nullptr) {
    const std::uint32_t flags = shared ? detail::kOsSyncShared : 0;
    if (all) return os_sync_wake_by_address_all(addr, 4, flags) == 0 ? 1 : 0;
    int n = 0;
    while (n < count && os_sync_wake_by_address_any(addr, 4, flags) == 0) ++n;
    return n;
  }
  const std::uint32_t op = shared ? detail::kUlCompareAndWaitShared : detail::kUlCompareAndWait;
  if (all) return __ulock_wake(op | detail::kUlfWakeAll, addr, 0) == 0 ? 1 : 0;
  int n = 0;
  while (n < count && __ulock_wake(op, addr, 0) == 0) ++n;
  return n;
}

#elif defined(_WIN32)

// Out of line (src/platform_windows.cpp) so that no public header includes
// <windows.h>.
INTERLOCK_API WaitResult wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                              Deadline deadline, bool shared) noexcept;
INTERLOCK_API int wake(const std::atomic<std::uint32_t>* word, int count, bool shared) noexcept;

#else
#error "interlock: no wait-on-address for this platform (Linux, macOS and Windows are supported)"
#endif

inline int wake_all(const std::atomic<std::uint32_t>* word, bool shared) noexcept {
  return wake(word, INT_MAX, shared);
}

}  // namespace interlock::platform
