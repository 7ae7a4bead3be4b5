#include "interlock/condition_variable.hpp"

#include "interlock/parking_lot.hpp"

namespace interlock {

WaitStatus ConditionVariable::park_unlocked(FunctionRef<void()> unlock, Deadline deadline,
                                            bool interruptible) {
  auto validate = [&] {
    has_waiters_.store(1, std::memory_order_seq_cst);
    return true;
  };
  auto timed_out = [&](bool has_more) {
    if (!has_more) has_waiters_.store(0, std::memory_order_relaxed);
  };
  parking_lot::ParkOptions options{validate};
  options.before_sleep = unlock;
  options.timed_out = timed_out;
  options.deadline = deadline;
  options.interruptible = interruptible;
  switch (parking_lot::park(this, options)) {
    case parking_lot::ParkResult::timed_out: return WaitStatus::timed_out;
    case parking_lot::ParkResult::interrupted: return WaitStatus::interrupted;
    default: return WaitStatus::ok;
  }
}

std::size_t ConditionVariable::notify_slow(std::size_t n) noexcept {
  return parking_lot::unpark_some(this, n, [this](void*, bool has_more) {
    if (!has_more) has_waiters_.store(0, std::memory_order_relaxed);
  });
}

}  // namespace interlock
