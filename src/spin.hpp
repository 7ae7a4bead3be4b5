// src/spin.hpp (private) — the brief adaptive spin before parking.
#pragma once

#include <sched.h>

#include "interlock/config.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock::detail {

/// Spins with exponential back-off; returns false once the budget is spent
/// (then the caller parks). On a single CPU spinning is pointless, so the
/// budget is zero there, and so it is when the thread's wait hooks say so.
class SpinWait {
 public:
  SpinWait() noexcept {
    const WaitHooks* hooks = current_wait_hooks();
    limit_ = hooks && !hooks->allow_spin ? 0 : limit();
  }
  bool spin() noexcept {
    if (count_ >= limit_) return false;
    ++count_;
    if (count_ <= 6) {
      for (int i = 0; i < (1 << count_); ++i) cpu_relax();
    } else {
      sched_yield();
    }
    return true;
  }
  void reset() noexcept { count_ = 0; }

 private:
  static int limit() noexcept;
  int count_ = 0;
  int limit_ = 0;
};

}  // namespace interlock::detail
