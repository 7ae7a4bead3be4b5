// bindings/timeouts.hpp — every timeout convention of the Python API, in one
// place (one fact, one home). Each turns a call's (blocking, timeout)
// arguments into a core Deadline, or returns false with a Python exception
// set on bad input. The conventions, by caller:
//   threading_deadline   threading.Lock/RLock.acquire: -1 (or None) waits
//                        forever; other negatives and NaN are ValueError
//   wait_deadline        threading's wait() calls (Event.wait, Condition.wait):
//                        None forever, <= 0 no wait
//   semaphore_deadline   threading.Semaphore.acquire: wait_deadline's rule, and
//                        a timeout with blocking=False is ValueError
//   queue_deadline       queue.Queue.get/put: None forever, negative ValueError
//   syncx_deadline       interlock.compat.syncx: None/inf/NaN forever,
//                        negative tries once
//   fastipc_ns_deadline  interlock.compat.fastipc: int nanoseconds, negative
//                        forever
// (interlock.collections' ConcurrentQueue keeps its own in bindings/queues.cpp;
// Condition.wait in python/interlock/_sync.py is a Semaphore.acquire, so it
// has no convention of its own.)
#pragma once

#include <Python.h>

#include <chrono>
#include <cmath>

#include "fast_methods.hpp"
#include "interlock/deadline.hpp"

namespace interlock::py {

/// Largest timeout threading accepts (threading.TIMEOUT_MAX on 64-bit Linux).
inline constexpr double kTimeoutMax = 9223372036.0;

/// threading-style (blocking, timeout) -> Deadline. timeout < 0 (i.e. -1)
/// means forever. Returns false with a Python exception set on bad input,
/// with the messages of CPython's lock.acquire():
///   non-blocking with a timeout            -> ValueError
///   negative other than -1, or NaN         -> ValueError
///   larger than threading.TIMEOUT_MAX      -> OverflowError
///   not a number                           -> TypeError
inline bool threading_deadline(bool blocking_, PyObject* timeout, Deadline* out) {
  double t = -1.0;
  if (timeout && timeout != Py_None) {
    t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred()) {
      if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Format(PyExc_TypeError, "timeout must be a number, not %.200s",
                     IL_TP_NAME(timeout));
      }
      return false;
    }
    if (std::isnan(t)) {
      PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
      return false;
    }
    if (!blocking_ && t != -1.0) {
      PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
      return false;
    }
    if (t < 0 && t != -1.0) {
      PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
      return false;
    }
    if (t > kTimeoutMax) {
      PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
      return false;
    }
  }
  if (!blocking_) *out = Deadline::immediate();
  else if (t < 0) *out = Deadline::never();
  else *out = Deadline::after_seconds(t);
  return true;
}

/// queue-style (block, timeout): None = forever; negative -> ValueError
/// ("'timeout' must be a non-negative number"), as queue.Queue does.
inline bool queue_deadline(bool block, PyObject* timeout, Deadline* out) {
  if (!block) {
    *out = Deadline::immediate();
    return true;
  }
  if (!timeout || timeout == Py_None) {
    *out = Deadline::never();
    return true;
  }
  double t = PyFloat_AsDouble(timeout);
  if (t == -1.0 && PyErr_Occurred()) return false;
  if (std::isnan(t) || t < 0) {
    PyErr_SetString(PyExc_ValueError, "'timeout' must be a non-negative number");
    return false;
  }
  *out = Deadline::after_seconds(t);
  return true;
}

/// The timeout convention of threading's wait() calls (Event.wait,
/// Condition.wait, Semaphore.acquire(timeout=...)): None (or omitted) waits
/// forever; zero or negative does not wait. Errors: NaN -> ValueError (the
/// stdlib either returns at once or spins forever on NaN, depending on the
/// call); larger than threading.TIMEOUT_MAX -> OverflowError (as the stdlib's
/// lock acquire, which those calls end in, raises); not a number -> TypeError.
inline bool wait_deadline(PyObject* timeout, Deadline* out) noexcept {
  if (!timeout || timeout == Py_None) {
    *out = Deadline::never();
    return true;
  }
  double t;
  if (PyFloat_CheckExact(timeout)) {
    t = PyFloat_AS_DOUBLE(timeout);
  } else {
    t = PyFloat_AsDouble(timeout);  // int, __float__, __index__
    if (t == -1.0 && PyErr_Occurred()) {
      if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "timeout must be a number, not %.200s",
                     IL_TP_NAME(timeout));
      }
      return false;
    }
  }
  if (std::isnan(t)) {
    PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
    return false;
  }
  if (t > kTimeoutMax) {
    PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
    return false;
  }
  *out = t > 0 ? Deadline::after_seconds(t) : Deadline::immediate();
  return true;
}

/// threading.Semaphore.acquire(blocking, timeout) from fast-method
/// arguments: blocking by truth value; a timeout (not None) with
/// blocking=False is ValueError; else wait_deadline's rule.
inline bool passed_semaphore_deadline(passed blocking, passed timeout, Deadline* out) noexcept {
  int b = 1;
  if (blocking.given() && (b = PyObject_IsTrue(blocking.obj)) < 0) return false;
  const bool has_timeout = timeout.given() && timeout.obj != Py_None;
  if (!b && has_timeout) {
    PyErr_SetString(PyExc_ValueError, "can't specify timeout for non-blocking acquire");
    return false;
  }
  if (!b) {
    *out = Deadline::immediate();
    return true;
  }
  return wait_deadline(timeout.obj, out);
}

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

/// syncx's, from fast-method arguments: blocking by truth value (True when
/// omitted), then syncx_deadline.
inline bool passed_syncx_deadline(passed blocking, passed timeout, Deadline* out) {
  int b = 1;
  if (blocking.given()) {
    b = PyObject_IsTrue(blocking.obj);
    if (b < 0) return false;
  }
  return syncx_deadline(b != 0, timeout.obj, out);
}

/// fastipc's convention: an int of nanoseconds; negative (documented: -1)
/// waits forever, as fastipc's C code does for any negative value.
inline bool fastipc_ns_deadline(long long ns, Deadline* out) noexcept {
  if (ns < 0) {
    *out = Deadline::never();
    return true;
  }
  *out = ns == 0 ? Deadline::immediate() : Deadline::after(std::chrono::nanoseconds(ns));
  return true;
}

/// threading's (blocking, timeout) from fast-method arguments: blocking by
/// truth value (True when omitted; None is False), then threading_deadline.
inline bool passed_threading_deadline(passed blocking, passed timeout, Deadline* out) noexcept {
  int b = 1;
  if (blocking.given()) {
    b = PyObject_IsTrue(blocking.obj);
    if (b < 0) return false;
  }
  return threading_deadline(b != 0, timeout.obj, out);
}

}  // namespace interlock::py
