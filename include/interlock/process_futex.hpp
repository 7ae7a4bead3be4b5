// interlock/process_futex.hpp — futex(2) on a 32-bit word that several
// processes may map (MAP_SHARED), for the cross-process primitives.
//
// Unlike the parking lot (process-private: its queues live in this process),
// a process-shared futex is keyed by the kernel on the physical page, so a
// waiter in one process is woken by a wake in another. No FUTEX_PRIVATE_FLAG.
//
// Invariants / contract:
//  - `word` must be 4-byte aligned and stay mapped for the whole call.
//  - wait() returns woken on a wake-up, a spurious wake-up or "the value had
//    already changed" (EAGAIN): callers re-check their condition in a loop.
//  - Deadlines are absolute CLOCK_MONOTONIC (steady_clock on Linux), so a
//    retried wait after EINTR keeps the original deadline.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include "interlock/deadline.hpp"

namespace interlock::process_futex {

enum class WaitResult : unsigned char { woken, timed_out, interrupted };

namespace detail {
/// FUTEX_WAIT_BITSET on `word` with `op_flags` (0 for process-shared,
/// FUTEX_PRIVATE_FLAG for one process) until the absolute `deadline`.
inline WaitResult futex_wait_bitset(const std::atomic<std::uint32_t>* word,
                                    std::uint32_t expected, Deadline deadline,
                                    int op_flags) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == 4);
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
  long r = syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word),
                   FUTEX_WAIT_BITSET | op_flags, expected, tsp, nullptr, FUTEX_BITSET_MATCH_ANY);
  if (r == 0) return WaitResult::woken;
  switch (errno) {
    case ETIMEDOUT: return WaitResult::timed_out;
    case EINTR: return WaitResult::interrupted;
    default: return WaitResult::woken;  // EAGAIN: the value had changed
  }
}
}  // namespace detail

/// Sleeps while *word == expected, until `deadline`.
inline WaitResult wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       Deadline deadline = Deadline::never()) noexcept {
  return detail::futex_wait_bitset(word, expected, deadline, 0);
}

/// Wakes up to `count` waiters on `word` (any process); returns how many woke.
inline int wake(const std::atomic<std::uint32_t>* word, int count = 1) noexcept {
  long r = syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word), FUTEX_WAKE, count,
                   nullptr, nullptr, 0);
  return r < 0 ? 0 : static_cast<int>(r);
}

inline int wake_all(const std::atomic<std::uint32_t>* word) noexcept { return wake(word, INT_MAX); }

}  // namespace interlock::process_futex
