#include "interlock/latch.hpp"

#include "interlock/parking_lot.hpp"

namespace interlock {

std::uint64_t Latch::count_down(std::uint64_t n) noexcept {
  std::uint64_t v = v_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t count = v >> 1;
    if (count == 0) return 0;
    std::uint64_t next_count = n >= count ? 0 : count - n;
    // Reaching zero clears PARKED too: we wake everybody right after.
    std::uint64_t next = next_count ? (next_count << 1) | (v & 1) : 0;
    if (v_.compare_exchange_weak(v, next, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      if (next_count == 0 && (v & 1)) parking_lot::unpark_all(&v_);
      return next_count;
    }
  }
}

bool Latch::wait_async(AsyncWaiter& w) noexcept {
  for (;;) {
    if (try_wait()) return true;
    auto validate = [&] {
      std::uint64_t cur = v_.load(std::memory_order_relaxed);
      for (;;) {
        if ((cur >> 1) == 0) return false;
        if (cur & 1) return true;
        if (v_.compare_exchange_weak(cur, cur | 1, std::memory_order_relaxed,
                                     std::memory_order_relaxed))
          return true;
      }
    };
    if (parking_lot::park_async(&v_, w, validate)) return false;
  }
}

WaitStatus Latch::wait_slow(Deadline deadline, bool interruptible) noexcept {
  for (;;) {
    std::uint64_t v = v_.load(std::memory_order_acquire);
    if ((v >> 1) == 0) return WaitStatus::ok;
    if (deadline.expired()) return WaitStatus::timed_out;
    auto validate = [&] {
      std::uint64_t cur = v_.load(std::memory_order_relaxed);
      for (;;) {
        if ((cur >> 1) == 0) return false;
        if (cur & 1) return true;
        if (v_.compare_exchange_weak(cur, cur | 1, std::memory_order_relaxed,
                                     std::memory_order_relaxed))
          return true;
      }
    };
    parking_lot::ParkOptions options{validate};
    options.deadline = deadline;
    options.interruptible = interruptible;
    switch (parking_lot::park(&v_, options)) {
      case parking_lot::ParkResult::timed_out:
        return try_wait() ? WaitStatus::ok : WaitStatus::timed_out;
      case parking_lot::ParkResult::interrupted:
        return WaitStatus::interrupted;
      default:
        break;
    }
  }
}

}  // namespace interlock
