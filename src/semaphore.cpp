#include "interlock/semaphore.hpp"

#include "interlock/fatal.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

namespace {
constexpr std::uint64_t kParked = 1;
constexpr std::uint64_t kOne = 2;

// park_arg of a waiter, thread or async: the releaser sets handed_off.
using SemWaiter = detail::SemWaitState;
}  // namespace

bool Semaphore::acquire_async(AsyncWaiter& w) noexcept {
  w.state.handed_off = false;
  for (;;) {
    if (try_acquire()) return true;
    auto validate = [&] {
      std::uint64_t v = v_.load(std::memory_order_relaxed);
      for (;;) {
        if (v >> 1) return false;
        if (v & kParked) return true;
        if (v_.compare_exchange_weak(v, v | kParked, std::memory_order_relaxed,
                                     std::memory_order_relaxed))
          return true;
      }
    };
    if (parking_lot::park_async(&v_, w, validate, &w.state)) return false;
  }
}

Semaphore::Withdrawn Semaphore::withdraw_async(AsyncWaiter& w) noexcept {
  auto removed = [&](bool has_more) {
    if (!has_more) v_.fetch_and(~kParked, std::memory_order_relaxed);
  };
  if (parking_lot::cancel_async(w, removed)) return Withdrawn::queued;
  // Not queued any more: a release took it out and handed it a permit, or
  // after_fork woke it without one.
  return w.state.handed_off ? Withdrawn::handed_off : Withdrawn::woken;
}

bool Semaphore::cancel_async(AsyncWaiter& w) noexcept {
  switch (withdraw_async(w)) {
    case Withdrawn::queued: return true;
    case Withdrawn::handed_off:
      w.state.handed_off = false;
      release(1);
      return false;
    case Withdrawn::woken: break;
  }
  return false;
}

WaitStatus Semaphore::acquire_slow(Deadline deadline, bool interruptible) noexcept {
  SemWaiter entry;
  for (;;) {
    if (try_acquire()) return WaitStatus::ok;
    if (deadline.expired()) return WaitStatus::timed_out;
    auto validate = [&] {
      std::uint64_t v = v_.load(std::memory_order_relaxed);
      for (;;) {
        if (v >> 1) return false;  // a permit appeared: retry
        if (v & kParked) return true;
        if (v_.compare_exchange_weak(v, v | kParked, std::memory_order_relaxed,
                                     std::memory_order_relaxed))
          return true;
      }
    };
    auto timed_out = [&](bool has_more) {
      if (!has_more) v_.fetch_and(~kParked, std::memory_order_relaxed);
    };
    parking_lot::ParkOptions options{validate};
    options.timed_out = timed_out;
    options.deadline = deadline;
    options.park_arg = &entry;
    options.interruptible = interruptible;
    switch (parking_lot::park(&v_, options)) {
      case parking_lot::ParkResult::unparked:
        if (entry.handed_off) {
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
  }
}

void Semaphore::release(std::uint64_t n) noexcept {
  while (n > 0) {
    std::uint64_t v = v_.load(std::memory_order_relaxed);
    if (!(v & kParked)) {
      // Nobody parked: add all remaining permits at once.
      if ((v >> 1) + n > max_count || n > max_count)
        fatal_error("Semaphore::release", "count would exceed Semaphore::max_count");
      if (v_.compare_exchange_weak(v, v + n * kOne, std::memory_order_release,
                                   std::memory_order_relaxed))
        return;
      continue;
    }
    // Hand permits straight to parked threads, first come first served.
    std::uint64_t handed = 0;
    parking_lot::unpark_some(&v_, n, [&](void* arg, bool has_more) {
      if (auto* entry = static_cast<SemWaiter*>(arg)) {
        entry->handed_off = true;
        ++handed;
      }
      if (!has_more) v_.fetch_and(~kParked, std::memory_order_release);
    });
    n -= handed;
  }
}

bool Semaphore::release_bounded(std::uint64_t n, std::uint64_t bound) noexcept {
  if (n > bound) return false;
  while (n > 0) {
    std::uint64_t v = v_.load(std::memory_order_relaxed);
    if (!(v & kParked)) {
      if ((v >> 1) + n > bound) return false;
      if (v_.compare_exchange_weak(v, v + n * kOne, std::memory_order_release,
                                   std::memory_order_relaxed))
        return true;
      continue;
    }
    // Threads are parked (so the count is zero): hand one permit over. The
    // rest go through the bounded CAS above, so the count never passes
    // `bound`, even when the waiters leave (time out) meanwhile.
    bool handed = false;
    parking_lot::unpark_one(&v_, [&](void* arg, bool has_more) {
      if (auto* entry = static_cast<SemWaiter*>(arg)) {
        entry->handed_off = true;
        handed = true;
      }
      if (!has_more) v_.fetch_and(~kParked, std::memory_order_release);
    });
    if (handed) --n;
  }
  return true;
}

}  // namespace interlock
