// interlock/platform/fork.hpp — "run this in the child after fork()":
// pthread_atfork on POSIX; nothing on Windows, which has no fork().
#pragma once

#include "interlock/config.hpp"

#if !defined(INTERLOCK_PLATFORM_WINDOWS)
#include <pthread.h>
#endif

namespace interlock::platform {

/// Registers `fn` to run in the child process after fork() (once per call).
inline void at_fork_child(void (*fn)()) noexcept {
#if defined(INTERLOCK_PLATFORM_WINDOWS)
  (void)fn;
#else
  pthread_atfork(nullptr, nullptr, fn);
#endif
}

}  // namespace interlock::platform
