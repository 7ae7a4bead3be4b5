#include "interlock/rw_mutex.hpp"

#include "interlock/fatal.hpp"
#include "interlock/parking_lot.hpp"
#include "spin.hpp"

namespace interlock {

namespace {
constexpr auto kFairAfter = std::chrono::milliseconds(1);

struct RWWaiter {
  Clock::time_point fair_at;
  bool handed_off = false;
};

WaitStatus to_status(parking_lot::ParkResult r) noexcept {
  return r == parking_lot::ParkResult::timed_out ? WaitStatus::timed_out : WaitStatus::interrupted;
}
}  // namespace

bool RWMutex::try_lock() noexcept {
  std::uintptr_t s = state_.load(std::memory_order_relaxed);
  while (!(s & (kWriter | ~(kOneReader - 1)))) {
    if (state_.compare_exchange_weak(s, s | kWriter, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return true;
  }
  return false;
}

// ------------------------------------------------------------------ writers

WaitStatus RWMutex::lock_slow(Deadline deadline, bool interruptible) noexcept {
  constexpr std::uintptr_t kBusy = kWriter | ~(kOneReader - 1);  // writer or any reader
  detail::SpinWait spin;
  RWWaiter entry;
  bool have_fair_at = false;
  for (;;) {
    std::uintptr_t s = state_.load(std::memory_order_relaxed);
    if (!(s & kBusy)) {
      if (state_.compare_exchange_weak(s, s | kWriter, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return WaitStatus::ok;
      continue;
    }
    if (deadline.is_immediate()) return WaitStatus::timed_out;
    if (!(s & kWritersParked) && spin.spin()) continue;
    if (deadline.expired()) return WaitStatus::timed_out;
    if (!have_fair_at) {
      entry.fair_at = Clock::now() + kFairAfter;
      have_fair_at = true;
    }
    auto validate = [&] {
      std::uintptr_t cur = state_.load(std::memory_order_relaxed);
      for (;;) {
        if (!(cur & kBusy)) return false;  // free now: retry
        if (cur & kWritersParked) return true;
        if (state_.compare_exchange_weak(cur, cur | kWritersParked, std::memory_order_relaxed,
                                         std::memory_order_relaxed))
          return true;
      }
    };
    auto timed_out = [&](bool has_more) {
      if (!has_more) state_.fetch_and(~kWritersParked, std::memory_order_relaxed);
    };
    parking_lot::ParkOptions options{validate};
    options.timed_out = timed_out;
    options.deadline = deadline;
    options.park_arg = &entry;
    options.interruptible = interruptible;
    parking_lot::ParkResult r = parking_lot::park(writer_key(), options);
    if (r == parking_lot::ParkResult::unparked && entry.handed_off) {
      return WaitStatus::ok;
    }
    if (r == parking_lot::ParkResult::timed_out || r == parking_lot::ParkResult::interrupted) {
      // We may have been the writer the readers queued behind.
      wake_readers_if_stranded();
      return to_status(r);
    }
    spin.reset();
  }
}

// Readers park only while a writer holds the lock or writers are parked. If
// neither is true any more (the last parked writer gave up) but readers are
// still parked, wake them so they retry.
void RWMutex::wake_readers_if_stranded() noexcept {
  std::uintptr_t s = state_.load(std::memory_order_relaxed);
  if ((s & kReadersParked) && !(s & (kWriter | kWritersParked))) {
    parking_lot::unpark_all(reader_key(), [this](void*, bool has_more) {
      if (!has_more) state_.fetch_and(~kReadersParked, std::memory_order_relaxed);
    });
  }
}

// Hands the (write-held) lock to every parked reader at once. Returns false if
// there turned out to be none (the lock is then still write-held).
bool RWMutex::hand_to_readers() noexcept {
  std::size_t n = parking_lot::unpark_all(reader_key(), [this](void* arg, bool has_more) {
    if (auto* entry = static_cast<RWWaiter*>(arg)) {
      entry->handed_off = true;
      state_.fetch_add(kOneReader, std::memory_order_relaxed);
      if (!has_more)
        state_.fetch_and(~(kReadersParked | kWriter), std::memory_order_release);
    } else {
      state_.fetch_and(~kReadersParked, std::memory_order_relaxed);
    }
  });
  return n != 0;
}

void RWMutex::unlock_slow(bool force_fair) noexcept {
  for (;;) {
    std::uintptr_t s = state_.load(std::memory_order_relaxed);
    if (!(s & kWriter)) fatal_error("RWMutex::unlock", "unlocking a mutex that is not write-locked");
    if (s & kReadersParked) {
      if (hand_to_readers()) return;
      continue;
    }
    if (s & kWritersParked) {
      bool woke = parking_lot::unpark_one(writer_key(), [&](void* arg, bool has_more) {
        auto* entry = static_cast<RWWaiter*>(arg);
        if (!entry) {
          state_.fetch_and(~kWritersParked, std::memory_order_relaxed);
          return;
        }
        bool fair = force_fair || Clock::now() >= entry->fair_at;
        entry->handed_off = fair;
        std::uintptr_t clear = (has_more ? 0 : kWritersParked) | (fair ? 0 : kWriter);
        // Release: either the hand-off or the unlock publishes our writes.
        state_.fetch_and(~clear, std::memory_order_release);
      });
      if (woke) {
        // Woken (not handed) writer competes; readers held off by
        // WRITERS_PARKED may need waking if no writer is parked any more.
        wake_readers_if_stranded();
        return;
      }
      continue;
    }
    if (state_.compare_exchange_weak(s, s & ~kWriter, std::memory_order_release,
                                     std::memory_order_relaxed))
      return;
  }
}

void RWMutex::downgrade() noexcept {
  std::uintptr_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(s & kWriter)) fatal_error("RWMutex::downgrade", "the mutex is not write-locked");
    if (state_.compare_exchange_weak(s, (s & ~kWriter) + kOneReader, std::memory_order_release,
                                     std::memory_order_relaxed))
      break;
  }
  // Parked readers may come in with us (they queued behind the writer).
  if (s & kReadersParked) {
    parking_lot::unpark_all(reader_key(), [this](void* arg, bool has_more) {
      if (auto* entry = static_cast<RWWaiter*>(arg)) {
        entry->handed_off = true;
        state_.fetch_add(kOneReader, std::memory_order_relaxed);
      }
      if (!has_more) state_.fetch_and(~kReadersParked, std::memory_order_relaxed);
    });
  }
}

void RWMutex::bump_exclusive() noexcept {
  if (state_.load(std::memory_order_relaxed) & (kReadersParked | kWritersParked)) {
    unlock_fair();
    lock();
  }
}

// ------------------------------------------------------------------ readers

WaitStatus RWMutex::lock_shared_slow(Deadline deadline, bool interruptible) noexcept {
  detail::SpinWait spin;
  RWWaiter entry;
  for (;;) {
    std::uintptr_t s = state_.load(std::memory_order_relaxed);
    if (!(s & (kWriter | kWritersParked))) {
      if (state_.compare_exchange_weak(s, s + kOneReader, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return WaitStatus::ok;
      continue;
    }
    if (deadline.is_immediate()) return WaitStatus::timed_out;
    if (!(s & (kReadersParked | kWritersParked)) && spin.spin()) continue;
    if (deadline.expired()) return WaitStatus::timed_out;
    auto validate = [&] {
      std::uintptr_t cur = state_.load(std::memory_order_relaxed);
      for (;;) {
        if (!(cur & (kWriter | kWritersParked))) return false;
        if (cur & kReadersParked) return true;
        if (state_.compare_exchange_weak(cur, cur | kReadersParked, std::memory_order_relaxed,
                                         std::memory_order_relaxed))
          return true;
      }
    };
    auto timed_out = [&](bool has_more) {
      if (!has_more) state_.fetch_and(~kReadersParked, std::memory_order_relaxed);
    };
    parking_lot::ParkOptions options{validate};
    options.timed_out = timed_out;
    options.deadline = deadline;
    options.park_arg = &entry;
    options.interruptible = interruptible;
    parking_lot::ParkResult r = parking_lot::park(reader_key(), options);
    if (r == parking_lot::ParkResult::unparked && entry.handed_off) {
      return WaitStatus::ok;
    }
    if (r == parking_lot::ParkResult::timed_out || r == parking_lot::ParkResult::interrupted)
      return to_status(r);
    spin.reset();
  }
}

void RWMutex::unlock_shared_slow(std::uintptr_t prev) noexcept {
  if ((prev >> kReaderShift) == 0) {
    state_.fetch_add(kOneReader, std::memory_order_relaxed);  // undo, then die loudly
    fatal_error("RWMutex::unlock_shared", "unlocking a mutex that is not read-locked");
  }
  // We were the last reader and writers are parked: hand the lock to the first.
  parking_lot::unpark_one(writer_key(), [this](void* arg, bool has_more) {
    auto* entry = static_cast<RWWaiter*>(arg);
    std::uintptr_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      std::uintptr_t next = s;
      if (!has_more) next &= ~kWritersParked;
      bool free = !(s & (kWriter | ~(kOneReader - 1)));
      if (entry && free) next |= kWriter;
      if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        if (entry) entry->handed_off = free;
        return;
      }
    }
  });
  wake_readers_if_stranded();
}

void RWMutex::bump_shared() noexcept {
  if (state_.load(std::memory_order_relaxed) & kWritersParked) {
    unlock_shared();
    lock_shared();
  }
}

}  // namespace interlock
