#include "interlock/resettable_event.hpp"

#include "interlock/parking_lot.hpp"

namespace interlock {

namespace {
using EventWaiter = detail::EventWaitState;
}  // namespace

bool ResettableEvent::wait_async(AsyncWaiter& w) noexcept {
  w.state.notified = false;
  for (;;) {
    std::uint8_t v = v_.load(std::memory_order_acquire);
    if (v == kSet) return true;
    if (v == kClear && !v_.compare_exchange_weak(v, kParked, std::memory_order_relaxed,
                                                 std::memory_order_relaxed))
      continue;
    auto validate = [&] { return v_.load(std::memory_order_relaxed) == kParked; };
    if (parking_lot::park_async(&v_, w, validate, &w.state)) return false;
  }
}

void ResettableEvent::set() noexcept {
  if (v_.exchange(kSet, std::memory_order_acq_rel) == kParked) {
    parking_lot::unpark_all(&v_, [](void* arg, bool) {
      if (arg) static_cast<EventWaiter*>(arg)->notified = true;
    });
  }
}

WaitStatus ResettableEvent::wait_slow(Deadline deadline, bool interruptible) noexcept {
  EventWaiter entry;
  for (;;) {
    std::uint8_t v = v_.load(std::memory_order_acquire);
    if (v == kSet) return WaitStatus::ok;
    if (deadline.expired()) return WaitStatus::timed_out;
    if (v == kClear && !v_.compare_exchange_weak(v, kParked, std::memory_order_relaxed,
                                                 std::memory_order_relaxed))
      continue;
    auto validate = [&] { return v_.load(std::memory_order_relaxed) == kParked; };
    parking_lot::ParkOptions options{validate};
    options.deadline = deadline;
    options.park_arg = &entry;
    options.interruptible = interruptible;
    switch (parking_lot::park(&v_, options)) {
      case parking_lot::ParkResult::unparked:
        if (entry.notified) return WaitStatus::ok;
        break;
      case parking_lot::ParkResult::timed_out:
        return is_set() ? WaitStatus::ok : WaitStatus::timed_out;
      case parking_lot::ParkResult::interrupted:
        return WaitStatus::interrupted;
      case parking_lot::ParkResult::invalid:
        break;
    }
  }
}

}  // namespace interlock
