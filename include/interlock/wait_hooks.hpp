// interlock/wait_hooks.hpp — what happens around the actual sleep of a
// blocking wait.
//
// The C++ core never knows about Python. When a thread is about to block in
// the kernel, the parking lot calls the thread's current WaitHooks (if any):
//
//   before_sleep(ctx)        -> token   e.g. release the GIL / detach the thread state
//   ... futex sleep ...
//   after_sleep(ctx, token)             e.g. take the GIL back / re-attach
//   on_interrupt(ctx)        -> bool    only after the sleep was cut short by a
//                                       signal (EINTR) or a poll slice ran out,
//                                       and only once the waiter has left the
//                                       queue: run signal handlers; true means
//                                       "abandon the wait" (WaitStatus::interrupted)
//
// spin chooses what a thread does between finding a lock taken and parking
// (SpinPolicy below). Without hooks it is SpinPolicy::adaptive.
//
// poll_interval_ns > 0 caps each kernel sleep, so that on_interrupt is asked at
// least that often: a signal that was delivered to another thread, or in the
// window between before_sleep and the sleep itself, is still seen promptly.
//
// Hooks are per thread and installed for a scope with ScopedWaitHooks; a
// thread with none installed (plain C++) sleeps uninterruptibly and retries
// after EINTR. No interlock-internal lock is held while any hook runs.
#pragma once

#include <cstdint>

#include "interlock/config.hpp"

namespace interlock {

/// What a waiter does before it parks, while nobody is parked yet.
enum class SpinPolicy : std::uint8_t {
  /// Up to 10 rounds: 6 of exponential pause back-off (2..64 pauses), then 4
  /// of sched_yield(). Right for C++ critical sections of a few nanoseconds.
  adaptive,
  /// Up to 40 sched_yield()s, re-reading the lock word after every 4th (the
  /// budget of CPython's lock.c on free-threaded builds). Right for threads
  /// running interpreter code: their critical sections are long and their
  /// holders write the lock's cache line all the time (reference counts live
  /// beside the lock word in a Python object), so every read by a waiter
  /// costs the holder a cache miss. Measured on 3.13t in docs/design.md.
  yield,
  /// Park at once: a thread that holds a GIL while it spins only keeps the
  /// lock holder from running.
  none,
};

struct WaitHooks {
  void* (*before_sleep)(void* ctx) noexcept = nullptr;
  void (*after_sleep)(void* ctx, void* token) noexcept = nullptr;
  bool (*on_interrupt)(void* ctx) noexcept = nullptr;
  void* ctx = nullptr;
  std::int64_t poll_interval_ns = 0;
  SpinPolicy spin = SpinPolicy::adaptive;
};

namespace detail {
// Defined in src/wait_hooks.cpp; the pointer is thread-local.
INTERLOCK_API const WaitHooks* current_wait_hooks() noexcept;
INTERLOCK_API const WaitHooks* exchange_wait_hooks(const WaitHooks* hooks) noexcept;
}  // namespace detail

/// Installs `hooks` for the calling thread until the end of the scope.
class ScopedWaitHooks {
 public:
  explicit ScopedWaitHooks(const WaitHooks* hooks) noexcept
      : previous_(detail::exchange_wait_hooks(hooks)) {}
  ~ScopedWaitHooks() { detail::exchange_wait_hooks(previous_); }
  ScopedWaitHooks(const ScopedWaitHooks&) = delete;
  ScopedWaitHooks& operator=(const ScopedWaitHooks&) = delete;

 private:
  const WaitHooks* previous_;
};

}  // namespace interlock
