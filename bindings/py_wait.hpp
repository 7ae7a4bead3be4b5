// bindings/py_wait.hpp — the Python side of the core's wait hooks: every
// blocking call runs inside blocking(...), which releases the GIL (detaches)
// around each sleep, runs signal handlers when one is cut short and slices
// the main thread's sleeps (docs/design.md, "Blocking from Python"); and
// every timeout convention of the Python API (below, "Timeouts").
#pragma once

#include <Python.h>

#include <chrono>
#include <cmath>

#include "fast_methods.hpp"
#include "interlock/deadline.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock::py {

namespace detail {
inline void* save_thread(void*) noexcept { return PyEval_SaveThread(); }
inline void restore_thread(void*, void* token) noexcept {
  PyEval_RestoreThread(static_cast<PyThreadState*>(token));
}
inline bool check_signals(void*) noexcept { return PyErr_CheckSignals() != 0; }

// No spinning with the GIL held (the holder could not run); on free-threaded
// builds, CPython's yield budget (docs/design.md has the figures).
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

/// Runs `f` (a blocking core call returning WaitStatus or similar) with the
/// Python wait hooks installed on this thread.
template <class F>
inline auto blocking(F&& f) {
  ScopedWaitHooks hooks(PyThread_get_thread_ident() == detail::main_thread_ident
                            ? &detail::kMainHooks
                            : &detail::kWorkerHooks);
  return f();
}

/// The result of a blocking call whose wait was abandoned (WaitStatus /
/// QueueStatus::interrupted): null with the signal handler's exception, or a
/// SystemError if there is none (a bug).
[[gnu::cold]] inline PyObject* raise_interrupted() noexcept {
  if (!PyErr_Occurred()) PyErr_SetString(PyExc_SystemError, "wait interrupted without an exception");
  return nullptr;
}

/// A wait's result as Python: ok -> True, timed_out -> False, interrupted ->
/// NULL with the signal handler's exception.
inline PyObject* wait_result(WaitStatus s) noexcept {
  if (INTERLOCK_LIKELY(s == WaitStatus::ok)) Py_RETURN_TRUE;  // (no incref of an immortal)
  if (s == WaitStatus::timed_out) Py_RETURN_FALSE;
  return raise_interrupted();
}

// ============================================================ Timeouts
// One function per convention, documented with the call it serves
// (threading's lock acquire, wait() calls and Semaphore.acquire; queue's;
// syncx's; fastipc's; ft_utils' pop). Each turns the call's (blocking,
// timeout) into a core Deadline, or returns false with a Python exception
// set. The passed_* forms take fast-method arguments (ilpy::passed): blocking
// by truth value, true when omitted (threading's blocking=None is False).
// Condition.wait (python/interlock/_sync.py) is a Semaphore.acquire, so it
// has no convention of its own.

/// Largest timeout threading accepts (threading.TIMEOUT_MAX on 64-bit Linux).
inline constexpr double kTimeoutMax = 9223372036.0;

/// A `blocking` / `block` argument by truth value (null: omitted, i.e. true):
/// 1, 0, or -1 with an exception set (its __bool__ failed).
inline int block_arg(PyObject* block) noexcept {
  if (!block || block == Py_True) return 1;
  if (block == Py_False) return 0;
  return PyObject_IsTrue(block);
}

namespace detail {
inline constexpr char kNaN[] = "Invalid value NaN (not a number)";
inline constexpr double kForever = HUGE_VAL;  // a timeout of None: after_seconds() is never()
inline bool fail(PyObject* type, const char* msg) noexcept {
  PyErr_SetString(type, msg);
  return false;
}
/// A timeout other than None (or omitted)?
inline bool given(PyObject* timeout) noexcept { return timeout && timeout != Py_None; }
/// A timeout as a float, with float()'s errors.
inline bool real(PyObject* timeout, double* t) noexcept {
  *t = PyFloat_CheckExact(timeout) ? PyFloat_AS_DOUBLE(timeout) : PyFloat_AsDouble(timeout);
  return *t != -1.0 || !PyErr_Occurred();
}
/// threading's reading of a timeout (CPython's lock.acquire messages): a
/// number (TypeError "timeout must be a number, not X"), not NaN (ValueError).
inline bool seconds(PyObject* timeout, double* t) noexcept {
  if (!real(timeout, t)) {
    if (PyErr_ExceptionMatches(PyExc_TypeError))
      PyErr_Format(PyExc_TypeError, "timeout must be a number, not %.200s", IL_TP_NAME(timeout));
    return false;
  }
  return !std::isnan(*t) || fail(PyExc_ValueError, kNaN);
}
/// Larger than threading.TIMEOUT_MAX -> OverflowError, as lock.acquire.
inline bool in_range(double t) noexcept {
  return t <= kTimeoutMax || fail(PyExc_OverflowError, "timeout value is too large");
}
inline bool truth(passed blocking, int* b) noexcept { return (*b = block_arg(blocking.obj)) >= 0; }
}  // namespace detail

/// threading.Lock.acquire(blocking, timeout): -1 (or None) means forever.
/// Errors, with the messages of CPython's lock.acquire(): non-blocking with
/// a timeout, a negative other than -1, or NaN -> ValueError; past
/// threading.TIMEOUT_MAX -> OverflowError; not a number -> TypeError.
inline bool passed_threading_deadline(passed blocking, passed timeout, Deadline* out) noexcept {
  int b;
  double t = -1.0;
  if (!detail::truth(blocking, &b)) return false;
  if (detail::given(timeout.obj)) {
    if (!detail::seconds(timeout.obj, &t)) return false;
    if (!b && t != -1.0)
      return detail::fail(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
    if (t < 0 && t != -1.0)
      return detail::fail(PyExc_ValueError, "timeout value must be a non-negative number");
    if (!detail::in_range(t)) return false;
  }
  *out = !b ? Deadline::immediate() : t < 0 ? Deadline::never() : Deadline::after_seconds(t);
  return true;
}

/// queue-style (block, timeout): None = forever; negative or NaN ->
/// ValueError ("'timeout' must be a non-negative number"), as queue.Queue.
inline bool queue_deadline(bool block, PyObject* timeout, Deadline* out) {
  double t = detail::kForever;
  if (block && detail::given(timeout)) {
    if (!detail::real(timeout, &t)) return false;
    if (!(t >= 0)) return detail::fail(PyExc_ValueError, "'timeout' must be a non-negative number");
  }
  *out = block ? Deadline::after_seconds(t) : Deadline::immediate();
  return true;
}

/// threading's wait() calls (Event.wait, Condition.wait,
/// Semaphore.acquire(timeout=...)): None (or omitted) waits forever; zero or
/// negative does not wait. NaN is ValueError (the stdlib either returns at
/// once or spins forever on NaN, depending on the call); past TIMEOUT_MAX
/// OverflowError (as the lock acquire those calls end in); not a number
/// TypeError.
inline bool wait_deadline(PyObject* timeout, Deadline* out) noexcept {
  double t = detail::kForever;
  if (detail::given(timeout) && !(detail::seconds(timeout, &t) && detail::in_range(t)))
    return false;
  *out = Deadline::after_seconds(t);  // zero or negative: immediate()
  return true;
}

/// threading.Semaphore.acquire(blocking, timeout): a timeout (not None) with
/// blocking=False is ValueError; else wait_deadline's rule.
inline bool passed_semaphore_deadline(passed blocking, passed timeout, Deadline* out) noexcept {
  int b;
  if (!detail::truth(blocking, &b)) return false;
  if (!b && detail::given(timeout.obj))
    return detail::fail(PyExc_ValueError, "can't specify timeout for non-blocking acquire");
  if (b) return wait_deadline(timeout.obj, out);
  *out = Deadline::immediate();
  return true;
}

/// syncx's (blocking=True, timeout=None), as its Rust original: the timeout
/// must be a real number or None (TypeError otherwise, checked first);
/// blocking=False tries once and ignores the timeout; None, +inf and NaN wait
/// forever; a negative timeout (even -0.0) tries once; else that many seconds
/// (saturating: past ~95 years is never()).
inline bool passed_syncx_deadline(passed blocking, passed timeout, Deadline* out) noexcept {
  int b;
  if (!detail::truth(blocking, &b)) return false;
  double t = detail::kForever;
  if (detail::given(timeout.obj) && !detail::real(timeout.obj, &t)) return false;
  *out = !b || std::signbit(t) ? Deadline::immediate()
         : std::isnan(t)       ? Deadline::never()
                               : Deadline::after_seconds(t);
  return true;
}

/// fastipc's: an int of nanoseconds; negative (documented: -1) waits forever,
/// as fastipc's C code does for any negative value.
inline bool fastipc_ns_deadline(long long ns, Deadline* out) noexcept {
  *out = ns < 0    ? Deadline::never()
         : ns == 0 ? Deadline::immediate()
                   : Deadline::after(std::chrono::nanoseconds(ns));
  return true;
}

/// ft_utils' ConcurrentQueue.pop(timeout): None waits forever; zero or
/// negative does not wait (queue.Empty at once, as its Condition.wait would);
/// NaN -> ValueError.
inline bool ft_pop_deadline(PyObject* timeout, Deadline* out) noexcept {
  double t = detail::kForever;
  if (detail::given(timeout) && !detail::real(timeout, &t)) return false;
  if (std::isnan(t)) return detail::fail(PyExc_ValueError, detail::kNaN);
  *out = Deadline::after_seconds(t);
  return true;
}

}  // namespace interlock::py
