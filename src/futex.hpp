// src/futex.hpp (private) — thin wrappers over futex(2) and the per-waiter
// binary semaphore every sleeping thread in interlock waits on.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <ctime>

#include "interlock/deadline.hpp"

namespace interlock::detail {

enum class SleepResult : unsigned char { woken, timed_out, interrupted };

/// Sleeps while *word == expected, until `deadline` (absolute, CLOCK_MONOTONIC,
/// which is what steady_clock reads on Linux). Returns interrupted on EINTR,
/// timed_out on ETIMEDOUT, woken otherwise (including spurious wake-ups and
/// "the value had already changed").
inline SleepResult futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                              Deadline deadline) noexcept {
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
                   FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp, nullptr,
                   FUTEX_BITSET_MATCH_ANY);
  if (r == 0) return SleepResult::woken;
  switch (errno) {
    case ETIMEDOUT: return SleepResult::timed_out;
    case EINTR: return SleepResult::interrupted;
    default: return SleepResult::woken;  // EAGAIN: value changed
  }
}

inline void futex_wake(const std::atomic<std::uint32_t>* word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(word),
          FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, nullptr, nullptr, 0);
}

/// A binary semaphore for exactly one waiting thread: post() at most once per
/// wait. The poster may touch the word after the waiter has returned (the
/// futex_wake of a dead address is harmless), so a spurious wake-up on reused
/// memory is possible and every wait loop tolerates it.
class ThreadSemaphore {
 public:
  void post() noexcept {
    signalled_.store(1, std::memory_order_release);
    futex_wake(&signalled_, 1);
  }
  bool try_consume() noexcept {
    std::uint32_t one = 1;
    return signalled_.compare_exchange_strong(one, 0, std::memory_order_acquire,
                                              std::memory_order_relaxed);
  }
  /// Waits for post() until the deadline; woken means the post was consumed.
  SleepResult wait(Deadline deadline) noexcept {
    for (;;) {
      if (try_consume()) return SleepResult::woken;
      SleepResult r = futex_wait(&signalled_, 0, deadline);
      if (r == SleepResult::woken) continue;
      if (try_consume()) return SleepResult::woken;
      return r;
    }
  }
  void wait_uninterruptibly() noexcept {
    while (wait(Deadline::never()) != SleepResult::woken) {
    }
  }

 private:
  std::atomic<std::uint32_t> signalled_{0};
};

}  // namespace interlock::detail
