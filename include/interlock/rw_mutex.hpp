// interlock/rw_mutex.hpp — a reader-writer lock on the parking lot in which
// neither writers nor readers starve.
//
// State word (uintptr_t):
//   bit 0      WRITER          held exclusively
//   bit 1      READERS_PARKED  readers are parked on key R = &state_
//   bit 2      WRITERS_PARKED  writers are parked on key W = &state_ + 1
//   bits 3..   reader count    threads holding it shared
// Who touches what:
//   * READERS_PARKED is set (in validate) and cleared (in unpark/timed-out
//     callbacks) only under R's bucket lock, so it is set exactly while R's
//     queue may be non-empty; likewise WRITERS_PARKED under W's bucket lock.
//   * WRITER and the reader count change by CAS/fetch_add from any thread.
// Policy:
//   * A new reader waits while a writer holds the lock or any writer is parked
//     (writers are not starved by a stream of readers).
//   * A writer's unlock hands the lock to *all* parked readers at once if there
//     are any (readers are not starved by a stream of writers), else to the
//     first parked writer if it has waited > ~1 ms or unlock_fair() is used,
//     else wakes that writer to compete (barging keeps throughput high).
//   * The last reader out hands the lock to the first parked writer.
// Read locks are not re-entrant: a thread that read-locks twice while a writer
// waits deadlocks, as with every writer-preferring lock.
// CheckedRWMutex (below) is the variant whose holds belong to no thread and
// whose releases are checked (the Python RWLock's rules).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"

namespace interlock {

class INTERLOCK_API RWMutex {
 public:
  constexpr RWMutex() noexcept = default;
  RWMutex(const RWMutex&) = delete;
  RWMutex& operator=(const RWMutex&) = delete;

  // ---- exclusive (writer) side
  INTERLOCK_ALWAYS_INLINE void lock() noexcept {
    std::uintptr_t expected = 0;
    if (INTERLOCK_LIKELY(state_.compare_exchange_strong(expected, kWriter, std::memory_order_acquire,
                                                        std::memory_order_relaxed)))
      return;
    (void)lock_slow(Deadline::never(), false);
  }
  bool try_lock() noexcept;
  WaitStatus lock_until(Deadline deadline) noexcept {
    if (try_lock()) return WaitStatus::ok;
    return lock_slow(deadline, true);
  }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    return try_lock() || lock_slow(Deadline::after(d), false) == WaitStatus::ok;
  }
  template <class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& tp) noexcept {
    return try_lock() ||
           lock_slow(Deadline::at(std::chrono::time_point_cast<Clock::duration>(tp)), false) ==
               WaitStatus::ok;
  }
  INTERLOCK_ALWAYS_INLINE void unlock() noexcept {
    std::uintptr_t expected = kWriter;
    if (INTERLOCK_LIKELY(state_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                                        std::memory_order_relaxed)))
      return;
    unlock_slow(false);
  }
  /// Unlocks and always hands the lock to a waiter if there is one.
  void unlock_fair() noexcept { unlock_slow(true); }
  /// Atomically turns the calling writer's hold into a read hold; parked
  /// readers are let in too.
  void downgrade() noexcept;
  /// Lets waiting threads have the lock, then takes it back (a no-op when
  /// nobody waits). Equivalent to unlock_fair() + lock(), only cheaper.
  void bump_exclusive() noexcept;

  // ---- shared (reader) side
  INTERLOCK_ALWAYS_INLINE bool try_lock_shared() noexcept {
    std::uintptr_t s = state_.load(std::memory_order_relaxed);
    while (!(s & (kWriter | kWritersParked))) {
      if (state_.compare_exchange_weak(s, s + kOneReader, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  INTERLOCK_ALWAYS_INLINE void lock_shared() noexcept {
    if (INTERLOCK_LIKELY(try_lock_shared())) return;
    (void)lock_shared_slow(Deadline::never(), false);
  }
  WaitStatus lock_shared_until(Deadline deadline) noexcept {
    if (try_lock_shared()) return WaitStatus::ok;
    return lock_shared_slow(deadline, true);
  }
  template <class Rep, class Period>
  bool try_lock_shared_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    return try_lock_shared() || lock_shared_slow(Deadline::after(d), false) == WaitStatus::ok;
  }
  template <class Duration>
  bool try_lock_shared_until(const std::chrono::time_point<Clock, Duration>& tp) noexcept {
    return try_lock_shared() ||
           lock_shared_slow(Deadline::at(std::chrono::time_point_cast<Clock::duration>(tp)),
                            false) == WaitStatus::ok;
  }
  INTERLOCK_ALWAYS_INLINE void unlock_shared() noexcept {
    std::uintptr_t prev = state_.fetch_sub(kOneReader, std::memory_order_release);
    if (INTERLOCK_UNLIKELY((prev >> kReaderShift) == 0 ||
                           ((prev >> kReaderShift) == 1 && (prev & kWritersParked))))
      unlock_shared_slow(prev);
  }
  /// Checked unlock_shared, for owners that let any thread release a read hold
  /// (the Python RWLock): releases one read hold (true), or returns false and
  /// changes nothing when no read hold is held. Atomic with respect to other
  /// releases (the decrement is one CAS that first checks the count).
  INTERLOCK_ALWAYS_INLINE bool try_unlock_shared() noexcept {
    std::uintptr_t s = state_.load(std::memory_order_relaxed);
    do {
      if (INTERLOCK_UNLIKELY((s >> kReaderShift) == 0)) return false;
    } while (!state_.compare_exchange_weak(s, s - kOneReader, std::memory_order_release,
                                           std::memory_order_relaxed));
    if (INTERLOCK_UNLIKELY((s >> kReaderShift) == 1 && (s & kWritersParked)))
      unlock_shared_slow(s);
    return true;
  }
  /// Lets a parked writer have the lock, then read-locks again (a no-op when
  /// no writer waits).
  void bump_shared() noexcept;

  // ---- snapshots
  bool is_locked() const noexcept {
    auto s = state_.load(std::memory_order_relaxed);
    return (s & kWriter) || (s >> kReaderShift);
  }
  bool is_locked_exclusive() const noexcept { return state_.load(std::memory_order_relaxed) & kWriter; }
  std::uintptr_t reader_count() const noexcept { return state_.load(std::memory_order_relaxed) >> kReaderShift; }

  void reset_after_fork() noexcept { state_.store(0, std::memory_order_relaxed); }

 private:
  static constexpr std::uintptr_t kWriter = 1;
  static constexpr std::uintptr_t kReadersParked = 2;
  static constexpr std::uintptr_t kWritersParked = 4;
  static constexpr unsigned kReaderShift = 3;
  static constexpr std::uintptr_t kOneReader = std::uintptr_t{1} << kReaderShift;

  const void* reader_key() const noexcept { return &state_; }
  const void* writer_key() const noexcept { return reinterpret_cast<const char*>(&state_) + 1; }

  WaitStatus lock_slow(Deadline deadline, bool interruptible) noexcept;
  WaitStatus lock_shared_slow(Deadline deadline, bool interruptible) noexcept;
  void unlock_slow(bool force_fair) noexcept;
  void unlock_shared_slow(std::uintptr_t prev) noexcept;
  bool hand_to_readers() noexcept;
  void wake_readers_if_stranded() noexcept;

  std::atomic<std::uintptr_t> state_{0};
};

/// An RWMutex whose holds belong to no thread (any thread may release one,
/// as with the Python RWLock) and whose releases are checked, like
/// Mutex::try_unlock: releasing what is not held returns false and changes
/// nothing, where RWMutex would stop with a fatal error.
/// Invariant: `writer_` is true from the moment the write lock is granted
/// until exactly one release (try_unlock, try_downgrade, try_bump_exclusive)
/// claims it by exchange, before the RWMutex is told; of two racing releases
/// of one write hold, one succeeds and the other returns false. Read releases
/// are RWMutex::try_unlock_shared (one CAS that checks the count).
class CheckedRWMutex {
 public:
  // ---- shared
  INTERLOCK_ALWAYS_INLINE bool try_lock_shared() noexcept { return rw_.try_lock_shared(); }
  WaitStatus lock_shared_until(Deadline d) noexcept { return rw_.lock_shared_until(d); }
  INTERLOCK_ALWAYS_INLINE bool try_unlock_shared() noexcept { return rw_.try_unlock_shared(); }
  /// With a read hold: lets a waiting writer in, then holds for reading
  /// again (an uninterruptible wait). False, nothing done, without one.
  bool try_bump_shared() noexcept {
    if (!rw_.try_unlock_shared()) return false;
    rw_.lock_shared();
    return true;
  }

  // ---- exclusive
  INTERLOCK_ALWAYS_INLINE bool try_lock() noexcept {
    if (!rw_.try_lock()) return false;
    writer_.store(true, std::memory_order_release);
    return true;
  }
  WaitStatus lock_until(Deadline d) noexcept {
    const WaitStatus s = rw_.lock_until(d);
    if (s == WaitStatus::ok) writer_.store(true, std::memory_order_release);
    return s;
  }
  /// Releases the write hold (fair: hands it to a waiter if there is one).
  INTERLOCK_ALWAYS_INLINE bool try_unlock(bool fair = false) noexcept {
    if (INTERLOCK_UNLIKELY(!claim())) return false;
    if (fair) rw_.unlock_fair();
    else rw_.unlock();
    return true;
  }
  /// Turns the write hold into a read hold, atomically.
  bool try_downgrade() noexcept {
    if (!claim()) return false;
    rw_.downgrade();
    return true;
  }
  /// Lets waiting threads in, then holds for writing again (uninterruptible).
  bool try_bump_exclusive() noexcept {
    if (!claim()) return false;
    rw_.bump_exclusive();
    writer_.store(true, std::memory_order_release);
    return true;
  }

  // ---- snapshots
  bool is_locked() const noexcept { return rw_.is_locked(); }
  bool is_locked_exclusive() const noexcept { return rw_.is_locked_exclusive(); }
  std::uintptr_t reader_count() const noexcept { return rw_.reader_count(); }

  void reset_after_fork() noexcept {
    rw_.reset_after_fork();
    writer_.store(false, std::memory_order_relaxed);
  }

 private:
  bool claim() noexcept { return writer_.exchange(false, std::memory_order_acq_rel); }

  RWMutex rw_;
  std::atomic<bool> writer_{false};
};

}  // namespace interlock
