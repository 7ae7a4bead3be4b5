// src/futex.hpp (private) — private-wait wrappers over platform/wait.hpp and the per-waiter
// binary semaphore every sleeping thread in interlock waits on.
#pragma once

#include <atomic>
#include <cstdint>

#include "interlock/deadline.hpp"
#include "interlock/platform/wait.hpp"

namespace interlock::detail {

enum class SleepResult : unsigned char { woken, timed_out, interrupted };

/// Sleeps while *word == expected, until the absolute `deadline` (a private,
/// one-process wait: platform/wait.hpp). Returns interrupted on a signal,
/// timed_out once the deadline passed, woken otherwise (including spurious
/// wake-ups and "the value had already changed").
inline SleepResult futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                              Deadline deadline) noexcept {
  switch (platform::wait(word, expected, deadline, false)) {
    case platform::WaitResult::timed_out: return SleepResult::timed_out;
    case platform::WaitResult::interrupted: return SleepResult::interrupted;
    case platform::WaitResult::woken:
    case platform::WaitResult::value_changed: break;
  }
  return SleepResult::woken;
}

inline void futex_wake(const std::atomic<std::uint32_t>* word, int count) noexcept {
  platform::wake(word, count, false);
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
