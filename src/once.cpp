#include "interlock/once.hpp"

#include "interlock/fatal.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

OnceFlag::Begin OnceFlag::begin_slow(Deadline deadline, bool interruptible) noexcept {
  for (;;) {
    std::uint8_t v = v_.load(std::memory_order_acquire);
    if (v == kDone) return Begin::done;
    if (v == kUnset) {
      if (v_.compare_exchange_weak(v, kRunning, std::memory_order_acquire,
                                   std::memory_order_relaxed))
        return Begin::run;
      continue;
    }
    // Another thread runs the initialiser: wait for it.
    if (deadline.expired()) return Begin::timed_out;
    if (!(v & kParked)) {
      if (!v_.compare_exchange_weak(v, v | kParked, std::memory_order_relaxed,
                                    std::memory_order_relaxed))
        continue;
    }
    auto validate = [&] { return v_.load(std::memory_order_relaxed) == (kRunning | kParked); };
    parking_lot::ParkOptions options{validate};
    options.deadline = deadline;
    options.interruptible = interruptible;
    switch (parking_lot::park(&v_, options)) {
      case parking_lot::ParkResult::timed_out:
        if (is_done()) return Begin::done;
        return Begin::timed_out;
      case parking_lot::ParkResult::interrupted:
        return Begin::interrupted;
      default:
        break;
    }
  }
}

void OnceFlag::finish(bool success) noexcept {
  std::uint8_t prev = v_.exchange(success ? kDone : kUnset, std::memory_order_acq_rel);
  if ((prev & ~kParked) != kRunning)
    fatal_error("OnceFlag::finish", "called without a matching begin() that returned run");
  if (prev & kParked) parking_lot::unpark_all(&v_);
}

void OnceFlag::reset_after_fork() noexcept {
  std::uint8_t v = v_.load(std::memory_order_relaxed);
  if (v != kDone) v_.store(kUnset, std::memory_order_relaxed);
}

}  // namespace interlock
