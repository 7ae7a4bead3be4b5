// interlock/latch.hpp — a count-down latch (std::latch, Java's
// CountDownLatch) on the parking lot.
//
// State word (uint64_t): bit 0 PARKED (threads are parked on it; set in
// validate under the bucket lock), bits 1..63 the count. count_down() lowers
// the count with a CAS; the call that reaches zero wakes every parked thread.
// Once zero, the latch stays open.
#pragma once

#include <atomic>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

class INTERLOCK_API Latch {
 public:
  static constexpr std::uint64_t max_count = (std::uint64_t{1} << 62) - 1;

  /// `count` must be <= max_count.
  constexpr explicit Latch(std::uint64_t count) noexcept : v_(count << 1) {}
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;

  /// Lowers the count by n (clamped at zero); returns the count after.
  std::uint64_t count_down(std::uint64_t n = 1) noexcept;
  std::uint64_t count() const noexcept { return v_.load(std::memory_order_acquire) >> 1; }
  bool try_wait() const noexcept { return count() == 0; }

  void wait() noexcept {
    if (!try_wait()) (void)wait_slow(Deadline::never(), false);
  }
  WaitStatus wait_until(Deadline deadline) noexcept {
    return try_wait() ? WaitStatus::ok : wait_slow(deadline, true);
  }
  /// An event loop's pending wait: its notify runs once the count reaches
  /// zero (or on a spurious wake-up: re-check try_wait()).
  using AsyncWaiter = parking_lot::AsyncNode;
  /// True if open; otherwise queues `w` (false).
  bool wait_async(AsyncWaiter& w) noexcept;
  /// Withdraws `w`: true if it was still queued (notify will not run).
  bool cancel_async(AsyncWaiter& w) noexcept { return parking_lot::cancel_async(w); }

  void arrive_and_wait(std::uint64_t n = 1) noexcept {
    count_down(n);
    wait();
  }

 private:
  WaitStatus wait_slow(Deadline deadline, bool interruptible) noexcept;
  std::atomic<std::uint64_t> v_;
};

}  // namespace interlock
