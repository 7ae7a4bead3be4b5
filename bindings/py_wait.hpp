// bindings/py_wait.hpp — the Python side of the core's wait hooks, and the
// stdlib's timeout conventions.
//
// Every blocking call of the Python API goes through `blocking(...)`: it
// installs hooks for the duration of the call, so that whenever the core is
// about to sleep it releases the GIL (detaches the thread state on
// free-threaded builds), takes it back after, and runs signal handlers when a
// sleep is cut short. On the main thread the sleep is also cut into 50 ms
// slices, so a signal delivered to another thread (or just before the sleep)
// is still handled promptly. An exception raised by a handler (e.g.
// KeyboardInterrupt) makes the core abandon the wait with
// WaitStatus::interrupted, leaving the primitive as if the call had timed out.
#pragma once

#include <Python.h>

#include "py_compat.hpp"
#include <cmath>

#include "interlock/deadline.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock::py {

namespace detail {
inline void* save_thread(void*) noexcept { return PyEval_SaveThread(); }
inline void restore_thread(void*, void* token) noexcept {
  PyEval_RestoreThread(static_cast<PyThreadState*>(token));
}
inline bool check_signals(void*) noexcept { return PyErr_CheckSignals() != 0; }

// Spinning before parking helps only when the lock holder can run meanwhile:
// on a GIL build it cannot (we hold the GIL while spinning). On a free-threaded
// build, yield as CPython's own locks do (SpinPolicy::yield says why;
// docs/design.md has the figures against the pause-loop policy of plain C++
// threads).
#ifdef Py_GIL_DISABLED
inline constexpr SpinPolicy kSpin = SpinPolicy::yield;
#else
inline constexpr SpinPolicy kSpin = SpinPolicy::none;
#endif
inline constexpr WaitHooks kWorkerHooks{save_thread, restore_thread, check_signals, nullptr, 0,
                                        kSpin};
inline constexpr WaitHooks kMainHooks{save_thread, restore_thread, check_signals, nullptr,
                                      50'000'000, kSpin};
// Identity of the thread that runs signal handlers (updated after fork).
inline unsigned long main_thread_ident = 0;
}  // namespace detail

/// Records the calling thread as the main thread: at import (the importing
/// thread is checked against threading.main_thread()) and in a forked child.
inline void set_main_thread(unsigned long ident) noexcept { detail::main_thread_ident = ident; }

inline const WaitHooks* hooks_for_this_thread() noexcept {
  return PyThread_get_thread_ident() == detail::main_thread_ident ? &detail::kMainHooks
                                                                  : &detail::kWorkerHooks;
}

/// Runs `f` (a blocking core call returning WaitStatus or similar) with the
/// Python wait hooks installed on this thread.
template <class F>
inline auto blocking(F&& f) {
  ScopedWaitHooks hooks(hooks_for_this_thread());
  return f();
}

/// The result of a blocking call whose wait was abandoned (WaitStatus /
/// QueueStatus::interrupted): null with the signal handler's exception, or a
/// SystemError if there is none (a bug).
[[gnu::cold]] inline PyObject* raise_interrupted() noexcept {
  if (!PyErr_Occurred()) PyErr_SetString(PyExc_SystemError, "wait interrupted without an exception");
  return nullptr;
}

/// queue.Queue's `block` argument (null: omitted, i.e. true): 1, 0, or -1
/// with an exception set (its __bool__ failed).
inline int block_arg(PyObject* block) noexcept {
  if (!block || block == Py_True) return 1;
  if (block == Py_False) return 0;
  return PyObject_IsTrue(block);
}

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

}  // namespace interlock::py
