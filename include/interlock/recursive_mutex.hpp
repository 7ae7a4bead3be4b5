// interlock/recursive_mutex.hpp — a re-entrant mutex (CPython's
// _PyRecursiveMutex): a Mutex plus the owner's thread token and a depth.
//
// Invariants: `owner_` is non-zero exactly while the inner mutex is held, and
// then names the holding thread; only the holder writes `owner_` and `depth_`.
// Other threads read `owner_` only to learn "not mine" (relaxed is enough: a
// thread always sees its own writes). `depth_` counts re-entries beyond the
// first. Unlocking from a thread that does not hold it is a fatal error
// (try_unlock reports it instead).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "interlock/mutex.hpp"

namespace interlock {

class INTERLOCK_API RecursiveMutex {
 public:
  constexpr RecursiveMutex() noexcept = default;
  RecursiveMutex(const RecursiveMutex&) = delete;
  RecursiveMutex& operator=(const RecursiveMutex&) = delete;

  INTERLOCK_ALWAYS_INLINE void lock() noexcept {
    const std::uintptr_t me = detail::this_thread_token();
    if (owner_.load(std::memory_order_relaxed) == me) {
      ++depth_;
      return;
    }
    if (INTERLOCK_LIKELY(mutex_.try_lock())) {
      owner_.store(me, std::memory_order_relaxed);
      depth_ = 0;
      return;
    }
    (void)lock_until_impl(Deadline::never(), false);
  }
  bool try_lock() noexcept;
  WaitStatus lock_until(Deadline deadline) noexcept { return lock_until_impl(deadline, true); }

  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    return lock_until_impl(Deadline::after(d), false) == WaitStatus::ok;
  }
  template <class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& tp) noexcept {
    return lock_until_impl(Deadline::at(std::chrono::time_point_cast<Clock::duration>(tp)),
                           false) == WaitStatus::ok;
  }

  /// Releases one level; fatal error if the calling thread is not the owner.
  INTERLOCK_ALWAYS_INLINE void unlock() noexcept {
    if (INTERLOCK_UNLIKELY(!try_unlock())) unlock_not_owner();
  }
  /// Releases one level; returns false (and changes nothing) if the calling
  /// thread is not the owner.
  INTERLOCK_ALWAYS_INLINE bool try_unlock() noexcept {
    if (owner_.load(std::memory_order_relaxed) != detail::this_thread_token()) return false;
    if (depth_ > 0) {
      --depth_;
      return true;
    }
    owner_.store(0, std::memory_order_relaxed);
    mutex_.unlock();
    return true;
  }

  bool is_locked() const noexcept { return mutex_.is_locked(); }
  bool is_locked_by_current_thread() const noexcept {
    return owner_.load(std::memory_order_relaxed) == detail::this_thread_token();
  }
  /// Levels held by the calling thread (0 if it does not hold the mutex).
  std::size_t depth_held_by_current_thread() const noexcept {
    return is_locked_by_current_thread() ? depth_ + 1 : 0;
  }

  /// Fully releases the calling thread's hold and returns the depth it had,
  /// for a later restore_depth() (what a condition variable needs).
  std::size_t release_all() noexcept;
  /// Locks and sets the depth to `depth` (as returned by release_all()).
  WaitStatus restore_depth(std::size_t depth, Deadline deadline = Deadline::never()) noexcept;
  /// release_all(), checked: 0 (nothing changed) if the calling thread does
  /// not hold the mutex.
  std::size_t try_release_all() noexcept { return is_locked_by_current_thread() ? release_all() : 0; }
  /// restore_depth() without giving up: waits through interruptions, as a
  /// condition variable must get its lock back before anything is raised
  /// (threading.RLock._acquire_restore).
  void lock_at_depth(std::size_t depth) noexcept {
    if (depth == 0) return;
    lock();
    depth_ += depth - 1;
  }

  /// Child side of fork(): the forking thread keeps what it held; a hold by
  /// any other thread is dropped.
  void reset_after_fork() noexcept;
  /// Back to a fresh, unowned mutex whoever held it (threading's
  /// _at_fork_reinit). Single-threaded use only.
  void reset() noexcept {
    owner_.store(0, std::memory_order_relaxed);
    depth_ = 0;
    mutex_.reset_after_fork();
  }

 private:
  WaitStatus lock_until_impl(Deadline deadline, bool interruptible) noexcept;
  [[noreturn]] static void unlock_not_owner() noexcept;

  Mutex mutex_;
  std::atomic<std::uintptr_t> owner_{0};
  std::size_t depth_ = 0;
};

}  // namespace interlock
