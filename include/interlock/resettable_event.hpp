// interlock/resettable_event.hpp — an event that can be cleared again (the
// threading.Event contract), on the parking lot.
//
// State byte: 0 = clear, 1 = set, 2 = clear with parked waiters.
// Waiters move 0 -> 2 with a CAS and park while the byte is 2. set() stores 1
// and, if it replaced 2, wakes every waiter and marks each one "notified"
// under the bucket lock, so a waiter woken by set() reports true even if
// clear() runs before it gets to look (as threading.Event.wait does). clear()
// moves 1 -> 0 only; there are never parked waiters while the byte is 1.
#pragma once

#include <atomic>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

namespace detail {
/// What set() tells a parked waiter (its park_arg).
struct EventWaitState {
  bool notified = false;
};
}  // namespace detail

class INTERLOCK_API ResettableEvent {
 public:
  /// An event loop's pending wait: its notify runs once when set() wakes it.
  struct AsyncWaiter : parking_lot::AsyncNode {
    using parking_lot::AsyncNode::AsyncNode;
    detail::EventWaitState state;
  };
  /// True if set; otherwise queues `w` (false): its notify runs once set()
  /// wakes it (or on a spurious wake-up: re-check is_set()).
  bool wait_async(AsyncWaiter& w) noexcept;
  /// Withdraws `w`: true if it was still queued (notify will not run).
  bool cancel_async(AsyncWaiter& w) noexcept { return parking_lot::cancel_async(w); }

  constexpr explicit ResettableEvent(bool set = false) noexcept : v_(set ? kSet : kClear) {}
  ResettableEvent(const ResettableEvent&) = delete;
  ResettableEvent& operator=(const ResettableEvent&) = delete;

  bool is_set() const noexcept { return v_.load(std::memory_order_acquire) == kSet; }
  void set() noexcept;
  void clear() noexcept {
    std::uint8_t expected = kSet;
    v_.compare_exchange_strong(expected, kClear, std::memory_order_relaxed,
                               std::memory_order_relaxed);
  }

  /// ok once set (or notified by a set() while waiting), timed_out,
  /// or interrupted (the thread's WaitHooks abandoned the wait).
  WaitStatus wait_until(Deadline deadline) noexcept {
    return is_set() ? WaitStatus::ok : wait_slow(deadline, true);
  }
  void wait() noexcept {
    if (!is_set()) (void)wait_slow(Deadline::never(), false);
  }

 private:
  static constexpr std::uint8_t kClear = 0, kSet = 1, kParked = 2;
  WaitStatus wait_slow(Deadline deadline, bool interruptible) noexcept;
  std::atomic<std::uint8_t> v_;
};

}  // namespace interlock
