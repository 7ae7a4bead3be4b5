// bindings/locks.hpp — pieces of bindings/locks.cpp that other binding sources
// may reuse: syncx's timeout convention (threading's is in py_wait.hpp).
#pragma once

#include <nanobind/nanobind.h>

#include <cmath>

#include "fast_methods.hpp"
#include "interlock/deadline.hpp"
#include "py_wait.hpp"

namespace interlock::py {

/// syncx's (blocking=True, timeout=None) conventions, as its Rust original
/// implemented them: the timeout must be a real number or None (TypeError
/// otherwise, checked first); blocking=False tries once and ignores the
/// timeout; None, +inf and NaN wait forever; a negative timeout (even -0.0)
/// tries once; anything else waits that many seconds.
inline bool syncx_deadline(bool blocking_, PyObject* timeout, Deadline* out) {
  const bool has_timeout = timeout && timeout != Py_None;
  double t = 0.0;
  if (has_timeout) {
    t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred()) return false;
  }
  if (!blocking_) *out = Deadline::immediate();
  else if (!has_timeout) *out = Deadline::never();
  else if (std::signbit(t)) *out = Deadline::immediate();
  else if (!std::isfinite(t)) *out = Deadline::never();
  else *out = Deadline::after_seconds(t);  // saturates: past ~95 years is never()
  return true;
}

}  // namespace interlock::py
