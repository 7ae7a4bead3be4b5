// interlock/process_futex.hpp — wait/wake on a 32-bit word that several
// processes may map (MAP_SHARED), for the cross-process primitives; built on
// platform/wait.hpp (futex(2) on Linux, os_sync/ulock on macOS).
//
// Unlike the parking lot (process-private: its queues live in this process),
// a process-shared wait is keyed by the kernel on the physical page, so a
// waiter in one process is woken by a wake in another. (Linux: no FUTEX_PRIVATE_FLAG.)
//
// Invariants / contract:
//  - `word` must be 4-byte aligned and stay mapped for the whole call.
//  - wait() returns woken on a wake-up, a spurious wake-up or "the value had
//    already changed": callers re-check their condition in a loop.
//  - Deadlines are absolute steady_clock points, so a retried wait after
//    EINTR keeps the original deadline.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#include "interlock/deadline.hpp"
#include "interlock/platform/wait.hpp"

namespace interlock::process_futex {

enum class WaitResult : unsigned char { woken, timed_out, interrupted };

namespace detail {
/// platform::wait on `word` (process-shared or private) until the absolute
/// `deadline`; "the value had already changed" counts as woken.
INTERLOCK_ALWAYS_INLINE WaitResult wait_on(const std::atomic<std::uint32_t>* word,
                                           std::uint32_t expected, Deadline deadline,
                                           bool shared) noexcept {
  switch (platform::wait(word, expected, deadline, shared)) {
    case platform::WaitResult::timed_out: return WaitResult::timed_out;
    case platform::WaitResult::interrupted: return WaitResult::interrupted;
    case platform::WaitResult::woken:
    case platform::WaitResult::value_changed: break;
  }
  return WaitResult::woken;
}
}  // namespace detail

/// Sleeps while *word == expected, until `deadline`.
inline WaitResult wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       Deadline deadline = Deadline::never()) noexcept {
  return detail::wait_on(word, expected, deadline, true);
}

/// Wakes up to `count` waiters on `word` (any process); returns how many woke
/// (exact on Linux; a lower bound elsewhere: platform/wait.hpp).
inline int wake(const std::atomic<std::uint32_t>* word, int count = 1) noexcept {
  return platform::wake(word, count, true);
}

inline int wake_all(const std::atomic<std::uint32_t>* word) noexcept { return wake(word, INT_MAX); }

}  // namespace interlock::process_futex
