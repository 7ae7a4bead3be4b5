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
// allow_spin = false turns off the brief spin before parking: a thread that
// holds a GIL while it spins only keeps the lock holder from running (CPython's
// lock.c spins only on free-threaded builds for the same reason).
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

namespace interlock {

struct WaitHooks {
  void* (*before_sleep)(void* ctx) noexcept = nullptr;
  void (*after_sleep)(void* ctx, void* token) noexcept = nullptr;
  bool (*on_interrupt)(void* ctx) noexcept = nullptr;
  void* ctx = nullptr;
  std::int64_t poll_interval_ns = 0;
  bool allow_spin = true;
};

namespace detail {
// Defined in src/wait_hooks.cpp; the pointer is thread-local.
const WaitHooks* current_wait_hooks() noexcept;
const WaitHooks* exchange_wait_hooks(const WaitHooks* hooks) noexcept;
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
