// interlock/semaphore.hpp — a counting semaphore on the parking lot.
//
// State word (uint64_t): bit 0 PARKED (threads are parked on it; set in
// validate and cleared in callbacks, always under the bucket lock), bits 1..63
// the count of available permits.
// release() adds a permit with a CAS while nobody is parked; otherwise it hands
// the permit directly to the first parked thread (FIFO), so waiters are served
// in order and never starve. acquire() takes a permit with a CAS, else parks
// while the count is zero.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

namespace detail {
/// What a releaser tells a parked acquirer (its park_arg).
struct SemWaitState {
  bool handed_off = false;
};
}  // namespace detail

class INTERLOCK_API Semaphore {
 public:
  /// An event loop's pending acquire. When its notify runs, a release has
  /// handed it a permit (handed_off() is then true: it owns the permit).
  struct AsyncWaiter : parking_lot::AsyncNode {
    using parking_lot::AsyncNode::AsyncNode;
    detail::SemWaitState state;  // written by the releaser under the bucket lock
    bool handed_off() const noexcept { return state.handed_off; }
  };

  static constexpr std::uint64_t max_count = (std::uint64_t{1} << 62) - 1;

  constexpr explicit Semaphore(std::uint64_t initial = 0) noexcept : v_(initial << 1) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  INTERLOCK_ALWAYS_INLINE bool try_acquire() noexcept {
    std::uint64_t v = v_.load(std::memory_order_relaxed);
    while (v >> 1) {
      if (v_.compare_exchange_weak(v, v - 2, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  void acquire() noexcept {
    if (!try_acquire()) (void)acquire_slow(Deadline::never(), false);
  }
  WaitStatus acquire_until(Deadline deadline) noexcept {
    return try_acquire() ? WaitStatus::ok : acquire_slow(deadline, true);
  }
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    return try_acquire() || acquire_slow(Deadline::after(d), false) == WaitStatus::ok;
  }

  /// Adds `n` permits, handing them to parked threads first. A count past
  /// max_count is a fatal error.
  void release(std::uint64_t n = 1) noexcept;

  /// Adds `n` permits only if the count would stay <= `bound` (permits handed
  /// straight to parked threads never count); returns false otherwise. For
  /// bounded semaphores. With n == 1 the check is exact; with n > 1 racing
  /// over-releases may hand some permits to waiters before the rest fail.
  bool release_bounded(std::uint64_t n, std::uint64_t bound) noexcept;

  /// Takes a permit (true), or queues `w` (false) in the same FIFO as
  /// parked threads: its notify runs once a release hands it a permit.
  bool acquire_async(AsyncWaiter& w) noexcept;

  /// Withdraws `w`: true if it was still queued (notify will not run); false
  /// if a release already handed it a permit (notify has run or is about to
  /// run), which is released again, so nothing is lost.
  bool cancel_async(AsyncWaiter& w) noexcept;

  /// What withdraw_async found: still queued (taken out; notify will not
  /// run), already handed a permit (notify has run or is about to run; the
  /// caller owns the permit and must release it or keep it), or woken without
  /// one (after_fork in a child).
  enum class Withdrawn : unsigned char { queued, handed_off, woken };
  /// cancel_async's first half, for callers that decide themselves what
  /// becomes of a permit handed over meanwhile.
  Withdrawn withdraw_async(AsyncWaiter& w) noexcept;

  /// Permits available right now (a snapshot).
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed) >> 1; }

 private:
  WaitStatus acquire_slow(Deadline deadline, bool interruptible) noexcept;
  std::atomic<std::uint64_t> v_;
};

}  // namespace interlock
