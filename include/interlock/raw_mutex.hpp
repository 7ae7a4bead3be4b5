// interlock/raw_mutex.hpp — a word-sized mutex that needs no parking lot
// (CPython's _PyRawMutex). The parking lot's buckets are locked with it, so it
// cannot itself use the parking lot.
//
// State word (uintptr_t):
//   bit 0        LOCKED
//   bits 1..63   pointer to the most recently queued waiter (a stack object of
//                lock_slow(), 2-aligned), whose `next` links to older waiters.
// Waiters push themselves with a CAS while the lock is held. unlock() pops one
// waiter, clears LOCKED in the same CAS and wakes it; the woken thread competes
// for the lock again (no hand-off). Only the holder pops, so the pop is ABA-safe.
// Sleeps are uninterruptible and do not run wait hooks: buckets are held for a
// few instructions only.
#pragma once

#include <atomic>
#include <cstdint>

#include "interlock/config.hpp"

namespace interlock {

class INTERLOCK_API RawMutex {
 public:
  constexpr RawMutex() noexcept = default;
  RawMutex(const RawMutex&) = delete;
  RawMutex& operator=(const RawMutex&) = delete;

  INTERLOCK_ALWAYS_INLINE void lock() noexcept {
    std::uintptr_t expected = 0;
    if (INTERLOCK_LIKELY(v_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                                    std::memory_order_relaxed)))
      return;
    lock_slow();
  }

  INTERLOCK_ALWAYS_INLINE bool try_lock() noexcept {
    std::uintptr_t v = v_.load(std::memory_order_relaxed);
    while (!(v & kLocked)) {
      if (v_.compare_exchange_weak(v, v | kLocked, std::memory_order_acquire,
                                   std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  INTERLOCK_ALWAYS_INLINE void unlock() noexcept {
    std::uintptr_t expected = kLocked;
    if (INTERLOCK_LIKELY(v_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                                    std::memory_order_relaxed)))
      return;
    unlock_slow();
  }

  bool is_locked() const noexcept { return v_.load(std::memory_order_relaxed) & kLocked; }

  /// Child side of fork(): the lock and its waiters belonged to the parent.
  void reset_after_fork() noexcept { v_.store(0, std::memory_order_relaxed); }

 private:
  static constexpr std::uintptr_t kLocked = 1;
  void lock_slow() noexcept;
  void unlock_slow() noexcept;

  std::atomic<std::uintptr_t> v_{0};
};

}  // namespace interlock
