// src/shm_primitives.cpp — slow paths of the cross-process primitives:
// ShmMutex (with owner-death recovery), ShmSemaphore, ShmEvent, ShmBarrier.
// Their headers state the layouts and invariants.
#include <climits>

#include "interlock/shm_barrier.hpp"
#include "interlock/shm_event.hpp"
#include "interlock/shm_mutex.hpp"
#include "interlock/shm_semaphore.hpp"

namespace interlock::shm {

// ============================================================ ShmMutex

bool ShmMutex::take_over(std::uint32_t observed) noexcept {
  const std::uint32_t mine = self_pid() | kWaiters | kOwnerDied;
  if (!l_->state.compare_exchange_strong(observed, mine, std::memory_order_acquire,
                                         std::memory_order_relaxed))
    return false;
  l_->owner_stamp.store(self_stamp_cached(), std::memory_order_relaxed);
  l_->recoveries.fetch_add(1, std::memory_order_relaxed);
  return true;
}

LockResult ShmMutex::try_lock_or_recover() noexcept {
  if (try_lock()) return LockResult::ok;
  const std::uint32_t s = l_->state.load(std::memory_order_relaxed);
  const std::uint32_t pid = s & kPidMask;
  if (pid == 0) return try_lock() ? LockResult::ok : LockResult::timed_out;
  if (pid != self_pid() && process_liveness(pid, 0) == Liveness::dead && take_over(s))
    return LockResult::owner_died;
  return LockResult::timed_out;
}

LockResult ShmMutex::lock_slow(Deadline d) noexcept {
  const std::uint32_t me = self_pid();
  std::uint32_t suspect = 0;  // a word whose owner looked like a reused PID
  for (;;) {
    std::uint32_t s = l_->state.load(std::memory_order_relaxed);
    if ((s & kPidMask) == 0) {
      // Free: take it, keeping WAITERS set (others may sleep).
      if (l_->state.compare_exchange_weak(s, me | kWaiters, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
        l_->owner_stamp.store(self_stamp_cached(), std::memory_order_relaxed);
        return LockResult::ok;
      }
      continue;
    }
    if (!(s & kWaiters)) {
      if (!l_->state.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed,
                                           std::memory_order_relaxed))
        continue;
      s |= kWaiters;
    }
    const Deadline slice = earlier(d, Deadline::after(kLivenessSlice));
    const FutexWait r = futex_wait(&l_->state, s, slice, shared_);
    if (r == FutexWait::interrupted) return LockResult::interrupted;
    if (r != FutexWait::timed_out) {
      suspect = 0;
      continue;
    }
    if (d.expired()) {
      return try_lock_or_recover();
    }
    // A whole slice without a change: is the owner still there?
    if (l_->state.load(std::memory_order_relaxed) != s) continue;
    const std::uint32_t pid = s & kPidMask;
    if (pid == me) continue;  // a thread of this process holds it
    const std::uint32_t stamp = l_->owner_stamp.load(std::memory_order_relaxed);
    switch (process_liveness(pid, stamp)) {
      case Liveness::alive: suspect = 0; break;
      case Liveness::dead:
        if (take_over(s)) return LockResult::owner_died;
        break;
      case Liveness::reused:
        if (suspect == s && take_over(s)) return LockResult::owner_died;
        suspect = s;
        break;
    }
  }
}

// ============================================================ ShmSemaphore

WaitStatus ShmSemaphore::wait_slow(Deadline d) noexcept {
  for (;;) {
    if (try_wait()) return WaitStatus::ok;
    l_->sleepers.fetch_add(1, std::memory_order_seq_cst);
    FutexWait r = FutexWait::value_changed;
    if (l_->count.load(std::memory_order_seq_cst) == 0) r = futex_wait(&l_->count, 0, d, shared_);
    l_->sleepers.fetch_sub(1, std::memory_order_relaxed);
    if (r == FutexWait::interrupted) return WaitStatus::interrupted;
    if (r == FutexWait::timed_out) return try_wait() ? WaitStatus::ok : WaitStatus::timed_out;
  }
}

// ============================================================ ShmEvent

WaitStatus ShmEvent::wait_slow(Deadline d) noexcept {
  for (;;) {
    std::uint32_t s = l_->state.load(std::memory_order_acquire);
    if (s & kSet) return WaitStatus::ok;
    if (!(s & kWaiters)) {
      if (!l_->state.compare_exchange_weak(s, s | kWaiters, std::memory_order_acquire,
                                           std::memory_order_acquire))
        continue;
    }
    const FutexWait r = futex_wait(&l_->state, kWaiters, d, shared_);
    if (r == FutexWait::interrupted) return WaitStatus::interrupted;
    if (r == FutexWait::timed_out) return is_set() ? WaitStatus::ok : WaitStatus::timed_out;
  }
}

// ============================================================ ShmBarrier

ShmBarrier::Result ShmBarrier::wait_until(Deadline d, std::uint32_t* index) noexcept {
  const std::uint32_t g = l_->generation.load(std::memory_order_acquire);
  if (g & kBroken) return Result::broken;
  const std::uint32_t parties = l_->parties.load(std::memory_order_relaxed);
  const std::uint32_t i = l_->arrived.fetch_add(1, std::memory_order_acq_rel);
  if (i >= parties) {  // more arrivals than parties: only after a broken/reset race
    abort();
    return Result::broken;
  }
  if (i + 1 == parties) {
    l_->arrived.store(0, std::memory_order_relaxed);
    std::uint32_t expected = g;
    // Fails only if someone broke this generation meanwhile.
    if (!l_->generation.compare_exchange_strong(expected, (g + 1) & ~kBroken,
                                                std::memory_order_acq_rel,
                                                std::memory_order_acquire)) {
      futex_wake(&l_->generation, INT_MAX, shared_);
      return Result::broken;
    }
    futex_wake(&l_->generation, INT_MAX, shared_);
    *index = i;
    return Result::passed;
  }
  for (;;) {
    const FutexWait r = futex_wait(&l_->generation, g, d, shared_);
    const std::uint32_t now = l_->generation.load(std::memory_order_acquire);
    if (now != g) {
      if (now == (g | kBroken)) return Result::broken;
      *index = i;
      return Result::passed;
    }
    if (r == FutexWait::timed_out || r == FutexWait::interrupted) {
      std::uint32_t expected = g;
      if (l_->generation.compare_exchange_strong(expected, g | kBroken, std::memory_order_acq_rel,
                                                 std::memory_order_acquire)) {
        futex_wake(&l_->generation, INT_MAX, shared_);
        return r == FutexWait::timed_out ? Result::timed_out : Result::interrupted;
      }
      if (expected == (g | kBroken)) return Result::broken;
      *index = i;  // the last party arrived just now
      return Result::passed;
    }
  }
}

void ShmBarrier::abort() noexcept {
  l_->generation.fetch_or(kBroken, std::memory_order_acq_rel);
  futex_wake(&l_->generation, INT_MAX, shared_);
}

void ShmBarrier::reset() noexcept {
  std::uint32_t g = l_->generation.load(std::memory_order_relaxed);
  // Waiters of the current generation see it broken first.
  if (!(g & kBroken)) {
    l_->generation.fetch_or(kBroken, std::memory_order_acq_rel);
    futex_wake(&l_->generation, INT_MAX, shared_);
  }
  l_->arrived.store(0, std::memory_order_relaxed);
  g = l_->generation.load(std::memory_order_relaxed);
  l_->generation.store(((g & ~kBroken) + 1) & ~kBroken, std::memory_order_release);
}

}  // namespace interlock::shm
