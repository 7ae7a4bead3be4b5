// src/spin.hpp (private) — the brief adaptive spin before parking.
#pragma once

#include <sched.h>

#include "interlock/config.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock::detail {

/// One round of spinning per call, by the thread's SpinPolicy (wait_hooks.hpp);
/// returns false once the budget is spent (then the caller parks). On a single
/// CPU spinning is pointless, so every budget is zero there.
class SpinWait {
 public:
  SpinWait() noexcept {
    const WaitHooks* hooks = current_wait_hooks();
    init(hooks ? hooks->spin : SpinPolicy::adaptive);
  }
  /// A given policy, whatever the thread's hooks say (e.g. for a peer in
  /// another process, which runs whether or not this thread holds a GIL).
  explicit SpinWait(SpinPolicy policy) noexcept { init(policy); }
  bool spin() noexcept {
    if (count_ >= limit_) return false;
    ++count_;
    if (yield_only_) {
      for (int i = 0; i < kYieldsPerRound; ++i) sched_yield();
      return true;
    }
    if (count_ <= 6) {
      for (int i = 0; i < (1 << count_); ++i) cpu_relax();
    } else {
      sched_yield();
    }
    return true;
  }
  void reset() noexcept { count_ = 0; }

 private:
  static constexpr int kYieldsPerRound = 4;  // SpinPolicy::yield
  static int limit(SpinPolicy policy) noexcept;
  void init(SpinPolicy policy) noexcept {
    yield_only_ = policy == SpinPolicy::yield;
    limit_ = policy == SpinPolicy::none ? 0 : limit(policy);
  }
  int count_ = 0;
  int limit_ = 0;
  bool yield_only_ = false;
};

}  // namespace interlock::detail
