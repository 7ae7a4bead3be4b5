// interlock/deadline.hpp — an absolute point on the monotonic clock at which a
// wait gives up. Every timed wait in interlock takes one, so that retries after
// spurious wake-ups or signals never stretch the total time waited.
//
// Three kinds: never() (wait forever, no clock read), immediate() (already
// expired, no clock read: "try once"), and a real steady_clock time point.
// Durations are converted with saturation: a huge duration is never(), a
// negative or zero one is immediate().
#pragma once

#include <chrono>
#include <cmath>

namespace interlock {

using Clock = std::chrono::steady_clock;

class Deadline {
 public:
  /// Waits forever.
  constexpr Deadline() noexcept = default;
  static constexpr Deadline never() noexcept { return Deadline(); }
  static constexpr Deadline immediate() noexcept { return Deadline(Clock::time_point::min()); }
  static constexpr Deadline at(Clock::time_point tp) noexcept { return Deadline(tp); }

  template <class Rep, class Period>
  static Deadline after(std::chrono::duration<Rep, Period> d) noexcept {
    using namespace std::chrono;
    if (d <= d.zero()) return immediate();
    // Anything past ~100 years is treated as forever (and avoids overflow).
    if (duration<double>(d).count() > 3.0e9) return never();
    return Deadline(Clock::now() + duration_cast<Clock::duration>(d));
  }

  /// From a timeout in seconds: NaN or negative is the caller's business to
  /// reject; here <= 0 means immediate and +inf means never.
  static Deadline after_seconds(double seconds) noexcept {
    if (std::isnan(seconds) || seconds <= 0.0) return immediate();
    if (seconds > 3.0e9) return never();
    return after(std::chrono::duration<double>(seconds));
  }

  constexpr bool is_never() const noexcept { return tp_ == Clock::time_point::max(); }
  constexpr bool is_immediate() const noexcept { return tp_ == Clock::time_point::min(); }
  constexpr Clock::time_point time_point() const noexcept { return tp_; }

  bool expired() const noexcept {
    if (is_never()) return false;
    if (is_immediate()) return true;
    return Clock::now() >= tp_;
  }

  /// Time left (zero when expired, max() when never).
  Clock::duration remaining() const noexcept {
    if (is_never()) return Clock::duration::max();
    if (is_immediate()) return Clock::duration::zero();
    auto left = tp_ - Clock::now();
    return left > Clock::duration::zero() ? left : Clock::duration::zero();
  }

  friend constexpr bool operator==(Deadline a, Deadline b) noexcept { return a.tp_ == b.tp_; }
  friend constexpr Deadline earlier(Deadline a, Deadline b) noexcept { return a.tp_ < b.tp_ ? a : b; }

 private:
  constexpr explicit Deadline(Clock::time_point tp) noexcept : tp_(tp) {}
  Clock::time_point tp_ = Clock::time_point::max();
};

/// Outcome of a blocking operation that can fail.
enum class WaitStatus : unsigned char {
  ok,           ///< acquired / woken / done
  timed_out,    ///< the deadline passed first
  interrupted,  ///< a signal arrived and the wait hooks asked to abandon the wait
};

}  // namespace interlock
