// interlock/mutex.hpp — a one-byte mutex on the parking lot (CPython's PyMutex,
// WebKit's WTF::Lock).
//
// State byte:
//   bit 0  LOCKED   held by some thread
//   bit 1  PARKED   at least one thread is (or is about to be) parked on it
// Who touches what:
//   * lock/try_lock set LOCKED with a CAS; lock's slow path sets PARKED with a
//     CAS before parking, and parks only while the byte is LOCKED|PARKED.
//   * unlock clears LOCKED with one CAS when PARKED is clear; otherwise the
//     unpark callback (under the bucket lock) writes the whole byte.
// Fairness: barging is allowed (throughput), but a waiter parked for more than
// ~1 ms is handed the lock directly: the unlocker leaves LOCKED set and the
// woken waiter owns the lock on return. So no waiter starves.
// Uncontended lock and unlock are one atomic RMW each. unlock() of a mutex that
// is not locked is a fatal error; try_unlock() is the checked unlock (CPython's
// _PyMutex_TryUnlock), for owners that let any thread release (threading.Lock):
// it returns false instead, and is atomic with respect to other unlocks (two
// racing try_unlock()s of a mutex locked once release it once).
// Event loops acquire through lock_async / cancel_async (an AsyncWaiter queued
// in the parking lot beside parked threads, served in the same FIFO order).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

namespace detail {
/// What an unlocker tells a parked acquirer (its park_arg).
struct MutexWaitState {
  Clock::time_point fair_at{};
  bool handed_off = false;
};
}  // namespace detail

class INTERLOCK_API Mutex {
 public:
  /// An event loop's pending acquisition. After its notify ran, `handed_off`
  /// says whether the unlocker gave it the lock (it owns it now); if not, the
  /// lock was released for anyone to take: call lock_async again.
  struct AsyncWaiter : parking_lot::AsyncNode {
    using parking_lot::AsyncNode::AsyncNode;
    detail::MutexWaitState state;
    bool handed_off() const noexcept { return state.handed_off; }
  };

  constexpr Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  INTERLOCK_ALWAYS_INLINE void lock() noexcept {
    std::uint8_t expected = 0;
    if (INTERLOCK_LIKELY(bits_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                                       std::memory_order_relaxed)))
      return;
    (void)lock_slow(Deadline::never(), /*interruptible=*/false);
  }

  INTERLOCK_ALWAYS_INLINE bool try_lock() noexcept {
    std::uint8_t v = bits_.load(std::memory_order_relaxed);
    while (!(v & kLocked)) {
      if (bits_.compare_exchange_weak(v, v | kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  INTERLOCK_ALWAYS_INLINE void unlock() noexcept {
    std::uint8_t expected = kLocked;
    if (INTERLOCK_LIKELY(bits_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                                       std::memory_order_relaxed)))
      return;
    unlock_slow();
  }

  /// Checked unlock: unlocks and returns true if the mutex is locked (by
  /// anyone); returns false, changing nothing, if it is not. With waiters
  /// parked the check is repeated under the bucket lock, so a release racing
  /// with another release (or a hand-off) is decided there: the two are
  /// ordered, and the second finds the mutex unlocked (false), or held by the
  /// next owner (which it then releases, as a later release would).
  INTERLOCK_ALWAYS_INLINE bool try_unlock() noexcept {
    std::uint8_t expected = kLocked;
    if (INTERLOCK_LIKELY(bits_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                                       std::memory_order_relaxed)))
      return true;
    return try_unlock_slow();
  }

  /// Locks unless `deadline` passes first, or a signal arrives and the
  /// thread's WaitHooks ask to abandon the wait.
  INTERLOCK_ALWAYS_INLINE WaitStatus lock_until(Deadline deadline) noexcept {
    std::uint8_t expected = 0;
    if (INTERLOCK_LIKELY(bits_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                                       std::memory_order_relaxed)))
      return WaitStatus::ok;
    return lock_slow(deadline, /*interruptible=*/true);
  }

  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    if (try_lock()) return true;
    return lock_slow(Deadline::after(d), false) == WaitStatus::ok;
  }

  template <class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& tp) noexcept {
    if (try_lock()) return true;
    return lock_slow(Deadline::at(std::chrono::time_point_cast<Clock::duration>(tp)), false) ==
           WaitStatus::ok;
  }

  template <class C, class Duration>
  bool try_lock_until(const std::chrono::time_point<C, Duration>& tp) noexcept {
    return try_lock_for(tp - C::now());
  }

  bool is_locked() const noexcept { return bits_.load(std::memory_order_relaxed) & kLocked; }

  /// Takes the lock (true), or queues `w` (false): its notify runs once when
  /// an unlock wakes it (see AsyncWaiter). Never blocks.
  bool lock_async(AsyncWaiter& w) noexcept;

  /// Withdraws `w` (a cancelled acquisition), leaving the mutex as if it had
  /// never asked: true if it was still queued (its notify will not run); false
  /// if an unlock already took it (its notify has run or is about to run), in
  /// which case a lock handed to it is unlocked again and a plain wake-up is
  /// passed on to the next waiter.
  bool cancel_async(AsyncWaiter& w) noexcept;

  /// What withdraw_async found.
  enum class Withdrawn : std::uint8_t {
    queued,      ///< still queued: taken out, its notify will not run
    handed_off,  ///< an unlock handed it the lock: the caller must unlock()
    woken,       ///< a plain wake-up, already passed on to the next waiter
  };
  /// cancel_async without the unlock of a handed-off lock, for callers that
  /// unlock through their own checks (the Python Lock, which any thread may
  /// release).
  Withdrawn withdraw_async(AsyncWaiter& w) noexcept;

  /// Whether threads are parked on it (a snapshot; for diagnostics and tests).
  bool has_parked() const noexcept { return bits_.load(std::memory_order_relaxed) & kParked; }

  /// Child side of fork(): forget a lock held by a thread that does not exist.
  void reset_after_fork() noexcept { bits_.store(0, std::memory_order_relaxed); }

 private:
  static constexpr std::uint8_t kLocked = 1;
  static constexpr std::uint8_t kParked = 2;

  WaitStatus lock_slow(Deadline deadline, bool interruptible) noexcept;
  void unlock_slow() noexcept;
  bool try_unlock_slow() noexcept;

  std::atomic<std::uint8_t> bits_{0};
};

static_assert(sizeof(Mutex) == 1, "interlock::Mutex must be exactly one byte");

}  // namespace interlock
