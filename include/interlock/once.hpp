// interlock/once.hpp — run-once initialisation (CPython's _PyOnceFlag).
//
// State byte: 0 = not done, 1 = a thread is running the initialiser,
// 2 = done; bit 2 (PARKED) = threads are parked waiting for the runner.
// Transitions: 0 -> 1 by the thread that wins the CAS; 1 -> 2 when its
// initialiser returns; 1 -> 0 when it throws (the exception propagates and a
// later caller runs the initialiser again). Both wake every parked thread.
// Waiters park while the byte is 1|PARKED.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/function_ref.hpp"

namespace interlock {

class INTERLOCK_API OnceFlag {
 public:
  constexpr OnceFlag() noexcept = default;
  OnceFlag(const OnceFlag&) = delete;
  OnceFlag& operator=(const OnceFlag&) = delete;

  bool is_done() const noexcept { return v_.load(std::memory_order_acquire) == kDone; }

  enum class Begin : unsigned char { done, run, timed_out, interrupted };
  /// Low-level protocol behind call_once(): returns `run` to exactly one
  /// caller, which must then call finish(); `done` once the flag is done;
  /// waits (parked) while another thread runs.
  Begin begin(Deadline deadline = Deadline::never(), bool interruptible = true) noexcept {
    if (INTERLOCK_LIKELY(is_done())) return Begin::done;
    return begin_slow(deadline, interruptible);
  }
  /// Ends a `run`: success marks the flag done; failure resets it so a later
  /// caller runs the initialiser again.
  void finish(bool success) noexcept;

  /// Child side of fork(): an initialiser running in another thread of the
  /// parent will never finish in the child; reset so the child can run it.
  void reset_after_fork() noexcept;

 private:
  static constexpr std::uint8_t kUnset = 0, kRunning = 1, kDone = 2, kParked = 4;
  Begin begin_slow(Deadline deadline, bool interruptible) noexcept;
  std::atomic<std::uint8_t> v_{kUnset};
};

/// A OnceFlag that knows which thread runs its initialiser, for owners that
/// let the initialiser call arbitrary code (the Python Once):
///   * runner() is the id the running thread passed to start_run() (0: none),
///     so a re-entrant call can be refused instead of deadlocking;
///   * while it runs, the flag is in a process-wide registry, and
///     after_fork_in_child(me) resets every registered flag run by another
///     thread than `me` (that thread does not exist in the child, so its
///     initialiser would never finish and every caller would wait forever).
/// The registry's lock is held for list operations only. Thread ids are the
/// owner's (any non-zero value per thread).
class INTERLOCK_API TrackedOnce {
 public:
  TrackedOnce() noexcept = default;
  TrackedOnce(const TrackedOnce&) = delete;
  TrackedOnce& operator=(const TrackedOnce&) = delete;

  OnceFlag flag;

  std::uintptr_t runner() const noexcept { return runner_.load(std::memory_order_relaxed); }
  /// After flag.begin() returned `run`: records `me` and registers.
  void start_run(std::uintptr_t me) noexcept;
  /// Before flag.finish(): unregisters and forgets the runner.
  void end_run() noexcept;
  /// Child side of fork(), single-threaded: resets the flags run by others.
  static void after_fork_in_child(std::uintptr_t me) noexcept;

  enum class Call : unsigned char { done, ran, failed, reentrant, interrupted };
  /// The whole protocol for caller `me`: `reentrant` (nothing done) when `me`
  /// is running the initialiser (waiting would deadlock); else begins, with
  /// `wait(begin)` running the possibly blocking begin (an owner wraps it in
  /// its wait hooks): `done` once a run has completed, `interrupted` if the
  /// wait gave up, else runs `run()` as the registered runner: true marks
  /// the flag done (`ran`); false or an exception leaves it not done for a
  /// later caller (`failed`, or the exception propagates).
  template <class Wait, class Run>
  Call call(std::uintptr_t me, Wait&& wait, Run&& run) {
    if (runner() == me) return Call::reentrant;
    OnceFlag::Begin b;
    do b = wait([this] { return flag.begin(Deadline::never(), true); });
    while (b == OnceFlag::Begin::timed_out);  // not with Deadline::never()
    if (b != OnceFlag::Begin::run) return b == OnceFlag::Begin::done ? Call::done : Call::interrupted;
    start_run(me);
    bool ok = false;
    try {
      ok = run();
    } catch (...) {
      end_run();
      flag.finish(false);
      throw;
    }
    end_run();
    flag.finish(ok);
    return ok ? Call::ran : Call::failed;
  }

 private:
  std::atomic<std::uintptr_t> runner_{0};
  TrackedOnce* prev_ = nullptr;
  TrackedOnce* next_ = nullptr;
};

/// Calls `f(args...)` exactly once per flag across all threads. If f throws,
/// the flag is reset, the exception propagates, and a later caller retries.
template <class F, class... Args>
void call_once(OnceFlag& flag, F&& f, Args&&... args) {
  if (INTERLOCK_LIKELY(flag.is_done())) return;
  if (flag.begin(Deadline::never(), false) != OnceFlag::Begin::run) return;
  try {
    std::forward<F>(f)(std::forward<Args>(args)...);
  } catch (...) {
    flag.finish(false);
    throw;
  }
  flag.finish(true);
}

}  // namespace interlock
