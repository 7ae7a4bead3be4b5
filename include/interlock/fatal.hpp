// interlock/fatal.hpp — misuse that cannot be reported through a return value
// (unlocking a mutex that is not locked, ending a critical section that is not
// the innermost one) stops the process with a clear message, as CPython's
// Py_FatalError does. Continuing would corrupt a lock that other threads rely on.
#pragma once

#include "interlock/config.hpp"

namespace interlock {

/// Prints "interlock: fatal error in <where>: <what>" to stderr and aborts.
[[noreturn]] INTERLOCK_API void fatal_error(const char* where, const char* what) noexcept;

}  // namespace interlock
