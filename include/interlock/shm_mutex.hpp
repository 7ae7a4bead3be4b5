// interlock/shm_mutex.hpp — a mutex in caller-supplied (shared) memory, with
// owner-death recovery. A view: ShmMutex holds a pointer to the 64-byte
// layout, which may be mapped by several processes at different addresses.
//
// Layout (64 bytes, 4-byte aligned; shm_layout.hpp for the header):
//   0  Header            magic, kind_version (Kind::mutex)
//   8  u32 state         the futex word:
//                          bits 0..29  PID of the owning process (0 = unlocked)
//                          bit 30      OWNER_DIED: this holder took the lock
//                                      over from a dead process
//                          bit 31      WAITERS: someone may sleep on the word
//  12  u32 owner_stamp   start-time stamp of the owner (process_stamp), for
//                        telling a dead owner from a reused PID
//  16  u32 recoveries    how many times a dead owner's lock was taken over
//  20  reserved (zero)
//
// Invariants:
//  - Only lock operations change `state`: unlocked -> locked by CAS
//    0 -> pid; unlock stores 0 with exchange (release) and wakes one sleeper
//    iff WAITERS was set. A waiter sets WAITERS (CAS) before it sleeps, and
//    one that acquires after sleeping keeps WAITERS set (there may be others).
//  - Mutual exclusion is between threads of all processes alike; the PID only
//    serves owner-death detection (threads of one process share it).
//  - Owner death: a sleeper sleeps in slices of kLivenessSlice. After a slice
//    in which the word did not change it checks the owner (process_liveness):
//    a dead owner's word is taken over by CAS old -> self|WAITERS|OWNER_DIED,
//    so exactly one waiter recovers it, and that acquisition reports
//    LockResult::owner_died. A live process with the owner's PID but another
//    start time (PID reuse) must be seen twice in a row (two slices) before the
//    owner is declared dead, so an owner that was preempted between its CAS
//    and writing its stamp is not robbed.
//  - A non-blocking attempt that finds the lock taken checks only kill(pid, 0)
//    (ESRCH = certainly dead) before giving up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/shm_layout.hpp"

namespace interlock::shm {

enum class LockResult : std::uint8_t {
  ok,           ///< acquired
  owner_died,   ///< acquired from a process that died holding it
  timed_out,    ///< not acquired
  interrupted,  ///< not acquired: the wait hooks abandoned the wait
};

struct MutexLayout {
  Header header;
  std::atomic<std::uint32_t> state;
  std::atomic<std::uint32_t> owner_stamp;
  std::atomic<std::uint32_t> recoveries;
  std::uint32_t reserved[11];
};
static_assert(sizeof(MutexLayout) == kLayoutSize);

class ShmMutex {
 public:
  static constexpr std::uint32_t kWaiters = 1u << 31;
  static constexpr std::uint32_t kOwnerDied = 1u << 30;
  static constexpr std::uint32_t kPidMask = kOwnerDied - 1;
  static constexpr std::size_t size = kLayoutSize;
  static constexpr std::size_t alignment = kLayoutAlign;
  static constexpr std::chrono::milliseconds kLivenessSlice{100};

  /// Views the layout at `mem` (size/alignment checked by the caller). Call
  /// attach() once before use.
  explicit ShmMutex(void* mem, bool shared = true) noexcept
      : l_(static_cast<MutexLayout*>(mem)), shared_(shared) {}

  /// Initialises fresh memory (unlocked) or checks an existing layout.
  AttachResult attach(bool force_stalled = false) noexcept {
    return attach_or_init(&l_->header, Kind::mutex, [](Header*) {}, force_stalled);
  }

  INTERLOCK_ALWAYS_INLINE bool try_lock() noexcept {
    std::uint32_t expected = 0;
    const std::uint32_t me = self_pid();
    if (INTERLOCK_LIKELY(l_->state.compare_exchange_strong(
            expected, me, std::memory_order_acquire, std::memory_order_relaxed))) {
      l_->owner_stamp.store(self_stamp_cached(), std::memory_order_relaxed);
      return true;
    }
    return false;
  }

  /// try_lock(), and if the owner is certainly dead (ESRCH), take it over.
  /// Returns ok, owner_died or timed_out.
  INTERLOCK_API LockResult try_lock_or_recover() noexcept;

  /// Blocks until acquired, the deadline passes or the hooks interrupt.
  LockResult lock_until(Deadline d) noexcept {
    if (INTERLOCK_LIKELY(try_lock())) return LockResult::ok;
    if (d.is_immediate()) return try_lock_or_recover();
    return lock_slow(d);
  }

  /// Releases; false (nothing changed) if it was not locked.
  INTERLOCK_ALWAYS_INLINE bool unlock() noexcept {
    const std::uint32_t prev = l_->state.exchange(0, std::memory_order_release);
    if (INTERLOCK_UNLIKELY(prev & kWaiters)) futex_wake(&l_->state, 1, shared_);
    return (prev & kPidMask) != 0;
  }

  bool locked() const noexcept {
    return (l_->state.load(std::memory_order_relaxed) & kPidMask) != 0;
  }
  /// PID of the owning process, 0 when unlocked.
  std::uint32_t owner_pid() const noexcept {
    return l_->state.load(std::memory_order_relaxed) & kPidMask;
  }
  /// Whether the current holding was taken over from a dead owner (cleared
  /// by unlock()).
  bool owner_died() const noexcept {
    const std::uint32_t s = l_->state.load(std::memory_order_relaxed);
    return (s & kPidMask) != 0 && (s & kOwnerDied) != 0;
  }
  std::uint32_t recoveries() const noexcept {
    return l_->recoveries.load(std::memory_order_relaxed);
  }
  bool shared() const noexcept { return shared_; }
  MutexLayout* layout() const noexcept { return l_; }

 private:
  INTERLOCK_API LockResult lock_slow(Deadline d) noexcept;
  INTERLOCK_API bool take_over(std::uint32_t observed) noexcept;
  static std::uint32_t self_stamp_cached() noexcept;

  MutexLayout* l_;
  bool shared_;
};

namespace detail {
INTERLOCK_API extern std::atomic<std::uint32_t> g_self_stamp;
}

inline std::uint32_t ShmMutex::self_stamp_cached() noexcept {
  const std::uint32_t s = detail::g_self_stamp.load(std::memory_order_relaxed);
  return INTERLOCK_LIKELY(s != 0) ? s : self_stamp();
}

}  // namespace interlock::shm
