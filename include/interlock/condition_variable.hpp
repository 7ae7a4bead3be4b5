// interlock/condition_variable.hpp — a condition variable on the parking lot,
// usable with any lock that has lock()/unlock() (like
// std::condition_variable_any), e.g. interlock::Mutex or std::unique_lock of one.
//
// State: one byte, HAS_WAITERS, set in validate and cleared when the last
// waiter leaves (both under the bucket lock of key `this`), so notify is a
// single load when nobody waits. A waiter enqueues itself first and releases the
// user's lock in the parking lot's before_sleep step, so a notify issued after
// the waiter released the lock is never lost. As with every condition variable,
// waits may return spuriously: re-check the predicate.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/function_ref.hpp"

namespace interlock {

class INTERLOCK_API ConditionVariable {
 public:
  constexpr ConditionVariable() noexcept = default;
  ConditionVariable(const ConditionVariable&) = delete;
  ConditionVariable& operator=(const ConditionVariable&) = delete;

  /// Releases `lock`, waits for a notify, and takes `lock` again.
  template <class Lock>
  void wait(Lock& lock) {
    (void)park_unlocked([&] { lock.unlock(); }, Deadline::never(), false);
    lock.lock();
  }
  template <class Lock, class Predicate>
  void wait(Lock& lock, Predicate pred) {
    while (!pred()) wait(lock);
  }
  /// As wait(); ok means notified (or spurious), timed_out means the deadline
  /// passed, interrupted means the thread's WaitHooks abandoned the wait. The
  /// lock is held again on return in every case.
  template <class Lock>
  WaitStatus wait_until(Lock& lock, Deadline deadline) {
    WaitStatus s = park_unlocked([&] { lock.unlock(); }, deadline, true);
    lock.lock();
    return s;
  }
  template <class Lock, class Rep, class Period>
  bool wait_for(Lock& lock, const std::chrono::duration<Rep, Period>& d) {
    WaitStatus s = park_unlocked([&] { lock.unlock(); }, Deadline::after(d), false);
    lock.lock();
    return s == WaitStatus::ok;
  }
  template <class Lock, class Rep, class Period, class Predicate>
  bool wait_for(Lock& lock, const std::chrono::duration<Rep, Period>& d, Predicate pred) {
    Deadline deadline = Deadline::after(d);
    while (!pred()) {
      WaitStatus s = park_unlocked([&] { lock.unlock(); }, deadline, false);
      lock.lock();
      if (s == WaitStatus::timed_out) return pred();
    }
    return true;
  }

  /// Low-level step: enqueue, run `unlock`, sleep. Does not re-lock.
  WaitStatus park_unlocked(FunctionRef<void()> unlock, Deadline deadline, bool interruptible);

  /// Wake one / all / up to n waiters; return how many were woken.
  std::size_t notify_one() noexcept {
    return has_waiters_.load(std::memory_order_seq_cst) ? notify_slow(1) : 0;
  }
  std::size_t notify_all() noexcept {
    return has_waiters_.load(std::memory_order_seq_cst) ? notify_slow(SIZE_MAX) : 0;
  }
  std::size_t notify(std::size_t n) noexcept {
    return n && has_waiters_.load(std::memory_order_seq_cst) ? notify_slow(n) : 0;
  }

 private:
  std::size_t notify_slow(std::size_t n) noexcept;
  std::atomic<std::uint8_t> has_waiters_{0};
};

}  // namespace interlock
