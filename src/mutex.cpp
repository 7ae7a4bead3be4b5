#include "interlock/mutex.hpp"

#include <thread>

#include "interlock/fatal.hpp"
#include "interlock/parking_lot.hpp"
#include "spin.hpp"

namespace interlock {

namespace detail {
int SpinWait::limit(SpinPolicy policy) noexcept {
  static const bool multi_cpu = std::thread::hardware_concurrency() > 1;
  if (!multi_cpu) return 0;
  return policy == SpinPolicy::yield ? 40 / SpinWait::kYieldsPerRound : 10;
}
}  // namespace detail

namespace {
// A waiter parked this long is handed the lock directly (eventual fairness).
constexpr auto kFairAfter = std::chrono::milliseconds(1);

using MutexWaiter = detail::MutexWaitState;
}  // namespace

WaitStatus Mutex::lock_slow(Deadline deadline, bool interruptible) noexcept {
  detail::SpinWait spin;
  MutexWaiter entry;
  bool have_fair_at = false;
  std::uint8_t v = bits_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(v & kLocked)) {
      if (bits_.compare_exchange_weak(v, v | kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return WaitStatus::ok;
      continue;
    }
    if (deadline.is_immediate()) return WaitStatus::timed_out;
    // Spin only while nobody is parked: once threads queue, newcomers queue too.
    if (!(v & kParked) && spin.spin()) {
      v = bits_.load(std::memory_order_relaxed);
      continue;
    }
    if (deadline.expired()) return WaitStatus::timed_out;
    if (!have_fair_at) {
      entry.fair_at = Clock::now() + kFairAfter;
      have_fair_at = true;
    }
    if (!(v & kParked)) {
      if (!bits_.compare_exchange_weak(v, v | kParked, std::memory_order_relaxed,
                                       std::memory_order_relaxed))
        continue;
      v |= kParked;
    }
    const std::uint8_t parked_state = kLocked | kParked;
    auto validate = [&] { return bits_.load(std::memory_order_relaxed) == parked_state; };
    parking_lot::ParkOptions options{validate};
    options.deadline = deadline;
    options.park_arg = &entry;
    options.interruptible = interruptible;
    switch (parking_lot::park(&bits_, options)) {
      case parking_lot::ParkResult::unparked:
        if (entry.handed_off) {
          // The unlocker left LOCKED set for us; its post/our consume of the
          // waiter semaphore orders its critical section before ours.
          return WaitStatus::ok;
        }
        break;
      case parking_lot::ParkResult::timed_out:
        return WaitStatus::timed_out;
      case parking_lot::ParkResult::interrupted:
        return WaitStatus::interrupted;
      case parking_lot::ParkResult::invalid:
        break;
    }
    spin.reset();
    v = bits_.load(std::memory_order_relaxed);
  }
}

bool Mutex::lock_async(AsyncWaiter& w) noexcept {
  w.state.handed_off = false;
  // Fairness counts from the first attempt, across the retries of one waiter.
  if (w.state.fair_at == Clock::time_point{}) w.state.fair_at = Clock::now() + kFairAfter;
  std::uint8_t v = bits_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(v & kLocked)) {
      if (bits_.compare_exchange_weak(v, v | kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return true;
      continue;
    }
    if (!(v & kParked)) {
      if (!bits_.compare_exchange_weak(v, v | kParked, std::memory_order_relaxed,
                                       std::memory_order_relaxed))
        continue;
      v |= kParked;
    }
    const std::uint8_t parked_state = kLocked | kParked;
    auto validate = [&] { return bits_.load(std::memory_order_relaxed) == parked_state; };
    if (parking_lot::park_async(&bits_, w, validate, &w.state)) return false;
    v = bits_.load(std::memory_order_relaxed);
  }
}

Mutex::Withdrawn Mutex::withdraw_async(AsyncWaiter& w) noexcept {
  // A withdrawn waiter leaves PARKED as it is, like a thread that timed out:
  // the next unlock finds nobody and clears it.
  if (parking_lot::cancel_async(w)) return Withdrawn::queued;
  // Taken by an unlock (its callback ran under the bucket lock, before ours).
  if (w.state.handed_off) return Withdrawn::handed_off;
  if (try_lock()) unlock();  // the wake-up was for whoever comes next: wake them
  return Withdrawn::woken;
}

bool Mutex::cancel_async(AsyncWaiter& w) noexcept {
  switch (withdraw_async(w)) {
    case Withdrawn::queued:
      return true;
    case Withdrawn::handed_off:
      w.state.handed_off = false;
      unlock();
      return false;
    case Withdrawn::woken:
      break;
  }
  return false;
}

void Mutex::unlock_slow() noexcept {
  std::uint8_t v = bits_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(v & kLocked)) fatal_error("Mutex::unlock", "unlocking a mutex that is not locked");
    if (v & kParked) {
      parking_lot::unpark_one(&bits_, [this](void* arg, bool has_more) {
        std::uint8_t next = 0;
        if (auto* entry = static_cast<MutexWaiter*>(arg)) {
          bool fair = Clock::now() >= entry->fair_at;
          entry->handed_off = fair;
          if (fair) next |= kLocked;
          if (has_more) next |= kParked;
        }
        bits_.store(next, std::memory_order_release);
      });
      return;
    }
    if (bits_.compare_exchange_weak(v, 0, std::memory_order_release, std::memory_order_relaxed))
      return;
  }
}

bool Mutex::try_unlock_slow() noexcept {
  std::uint8_t v = bits_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(v & kLocked)) return false;
    if (v & kParked) break;
    if (bits_.compare_exchange_weak(v, 0, std::memory_order_release, std::memory_order_relaxed))
      return true;
  }
  // Waiters are parked. While LOCKED is set, only code under the bucket lock
  // clears it, so the check is repeated there. If another release got there
  // first (LOCKED clear), the waiter this unpark took is woken without a
  // hand-off (it retries, as after a barging unlock), and a barger's LOCKED,
  // set meanwhile outside the bucket lock, is kept (hence the CAS).
  bool released = false;
  parking_lot::unpark_one(&bits_, [this, &released](void* arg, bool has_more) {
    auto* entry = static_cast<MutexWaiter*>(arg);
    std::uint8_t cur = bits_.load(std::memory_order_relaxed);
    if (cur & kLocked) {
      released = true;
      std::uint8_t next = 0;
      if (entry) {
        const bool fair = Clock::now() >= entry->fair_at;
        entry->handed_off = fair;
        if (fair) next |= kLocked;
        if (has_more) next |= kParked;
      }
      bits_.store(next, std::memory_order_release);
      return;
    }
    if (entry) entry->handed_off = false;
    const std::uint8_t parked = (entry && has_more) ? kParked : 0;
    while (!bits_.compare_exchange_weak(cur, static_cast<std::uint8_t>((cur & kLocked) | parked),
                                        std::memory_order_relaxed, std::memory_order_relaxed)) {
    }
  });
  return released;
}

}  // namespace interlock
