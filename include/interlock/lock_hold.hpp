// interlock/lock_hold.hpp — what a hold on a lock is (lock_api's RawMutex
// traits: how the core takes, waits for and releases it) and HoldOnce, a
// hold released at most once: the state of a language binding's guard object
// (interlock.locks' LockGuard, RLockGuard, ReadGuard, WriteGuard).
//
// A hold H has `Core`, `try_acquire(Core&)`, `wait(Core&, Deadline)` and,
// if it can be released, the checked `release(Core&)` (false, nothing
// changed, when there is nothing to release) and kKeepOnFailure: whether a
// refused release leaves the guard's hold in place (a RecursiveMutex released
// from a thread that does not own it; every other refusal means the hold is
// already gone).
//
// Invariant of HoldOnce: `held_` is true until exactly one take() claims the
// hold, by exchange (of racing releases, one releases and the others find
// nothing); the claimer then releases or converts it (a downgrade). Put back
// only after a refused release with kKeepOnFailure.
#pragma once

#include <atomic>
#include <type_traits>

#include "interlock/deadline.hpp"
#include "interlock/mutex.hpp"
#include "interlock/recursive_mutex.hpp"
#include "interlock/rw_mutex.hpp"
#include "interlock/semaphore.hpp"

namespace interlock {

/// The exclusive hold of a Mutex, RecursiveMutex or CheckedRWMutex.
template <class M>
struct ExclusiveHold {
  using Core = M;
  static constexpr bool kKeepOnFailure = std::is_same_v<M, RecursiveMutex>;
  static bool try_acquire(Core& c) noexcept { return c.try_lock(); }
  static WaitStatus wait(Core& c, Deadline d) noexcept { return c.lock_until(d); }
  static bool release(Core& c) noexcept { return c.try_unlock(); }
};

/// A read hold of a CheckedRWMutex (owned by no thread).
struct SharedHold {
  using Core = CheckedRWMutex;
  static constexpr bool kKeepOnFailure = false;
  static bool try_acquire(Core& c) noexcept { return c.try_lock_shared(); }
  static WaitStatus wait(Core& c, Deadline d) noexcept { return c.lock_shared_until(d); }
  static bool release(Core& c) noexcept { return c.try_unlock_shared(); }
};

/// A Semaphore's permit (taken only: a permit has no checked release).
struct PermitHold {
  using Core = Semaphore;
  static bool try_acquire(Core& c) noexcept { return c.try_acquire(); }
  static WaitStatus wait(Core& c, Deadline d) noexcept { return c.acquire_until(d); }
};

/// A hold of H on a core object, released at most once (see the invariant
/// above); one still held when the HoldOnce is destroyed is released then.
template <class H>
class HoldOnce {
 public:
  using Core = typename H::Core;
  enum class Released : unsigned char { ok, already, refused };

  explicit HoldOnce(Core& core) noexcept : core_(&core) {}
  HoldOnce(const HoldOnce&) = delete;
  HoldOnce& operator=(const HoldOnce&) = delete;
  ~HoldOnce() { drop(); }

  /// Claims the hold (true once): the caller then releases or converts it.
  bool take() noexcept { return held_.exchange(false, std::memory_order_acq_rel); }
  /// Releases the hold if still held; a refusal cannot be reported.
  void drop() noexcept {
    if (take()) (void)H::release(*core_);
  }
  /// Claims and releases the hold with Release (H::release, or another
  /// checked release of the same hold: a fair unlock).
  template <auto Release = &H::release>
  Released release() noexcept {
    if (!take()) return Released::already;
    if (INTERLOCK_LIKELY(Release(*core_))) return Released::ok;
    if constexpr (H::kKeepOnFailure) held_.store(true, std::memory_order_release);
    return Released::refused;
  }
  Core& core() const noexcept { return *core_; }

 private:
  std::atomic<bool> held_{true};
  Core* core_;
};

}  // namespace interlock
