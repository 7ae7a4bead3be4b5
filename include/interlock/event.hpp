// interlock/event.hpp — a one-shot event (CPython's PyEvent): once notified it
// stays set, and every wait returns at once.
//
// State byte: 0 = unset, 1 = set, 2 = unset with parked waiters.
// Waiters move 0 -> 2 with a CAS and park while the byte is 2; notify() stores
// 1 and, if it replaced 2, wakes every waiter.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"

namespace interlock {

class INTERLOCK_API Event {
 public:
  constexpr Event() noexcept = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  bool is_set() const noexcept { return v_.load(std::memory_order_acquire) == kSet; }
  void notify() noexcept;

  void wait() noexcept {
    if (!is_set()) (void)wait_slow(Deadline::never(), false);
  }
  WaitStatus wait_until(Deadline deadline) noexcept {
    return is_set() ? WaitStatus::ok : wait_slow(deadline, true);
  }
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    return is_set() || wait_slow(Deadline::after(d), false) == WaitStatus::ok;
  }

 private:
  static constexpr std::uint8_t kUnset = 0, kSet = 1, kParked = 2;
  WaitStatus wait_slow(Deadline deadline, bool interruptible) noexcept;
  std::atomic<std::uint8_t> v_{kUnset};
};

}  // namespace interlock
