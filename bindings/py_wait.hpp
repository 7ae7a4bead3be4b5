// bindings/py_wait.hpp — blocking(...), which every blocking call runs in, and
// every timeout convention of the Python API, each with the calls it serves
// (docs/design.md, "Blocking from Python").
#pragma once

#include <Python.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

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
// Each turns a call's (blocking, timeout) into a Deadline, or returns false
// with a Python exception set; passed_* take fast-method arguments. What each
// accepts and raises: docs/design.md, "Blocking from Python", the table.

/// Largest timeout threading accepts (threading.TIMEOUT_MAX on 64-bit Linux).
inline constexpr double kTimeoutMax = 9223372036.0;

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
/// A `blocking` / `block` argument by truth value, true when omitted
/// (threading's blocking=None is False); false if its __bool__ raised.
inline bool truth(passed blocking, int* b) noexcept {
  PyObject* o = blocking.obj;
  *b = !o || o == Py_True ? 1 : o == Py_False ? 0 : PyObject_IsTrue(o);
  return *b >= 0;
}
}  // namespace detail

/// threading.Lock.acquire's, with the messages of CPython's lock.acquire().
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

/// queue.Queue's put / get.
inline bool queue_deadline(bool block, PyObject* timeout, Deadline* out) {
  double t = detail::kForever;
  if (block && detail::given(timeout)) {
    if (!detail::real(timeout, &t)) return false;
    if (!(t >= 0)) return detail::fail(PyExc_ValueError, "'timeout' must be a non-negative number");
  }
  *out = block ? Deadline::after_seconds(t) : Deadline::immediate();
  return true;
}
/// The same from fast-method arguments (the timeout parse stays off the inlined path).
INTERLOCK_ALWAYS_INLINE bool passed_queue_deadline(passed block, passed timeout, Deadline* out) noexcept {
  int b;
  return detail::truth(block, &b) && queue_deadline(b != 0, timeout.obj, out);
}

/// queue.Queue's put / put_nowait / get / get_nowait (the methods of
/// bindings/queues.cpp's queues and of ShmQueue) for a queue type S, over its
/// Push(s, item, Deadline) and Pop(s, Deadline): the value, None, or null
/// with queue.Full / Empty / ShutDown (or the wait's exception) raised.
template <class S, auto Push, auto Pop>
struct queue_api {
  static PyObject* put(S& s, PyObject* item, passed block, passed timeout) noexcept {
    Deadline d;
    return passed_queue_deadline(block, timeout, &d) ? Push(s, item, d) : nullptr;
  }
  static PyObject* put_nowait(S& s, PyObject* item) noexcept { return Push(s, item, Deadline::immediate()); }
  static PyObject* get(S& s, passed block, passed timeout) noexcept {
    Deadline d;
    return passed_queue_deadline(block, timeout, &d) ? Pop(s, d) : nullptr;
  }
  static PyObject* get_nowait(S& s) noexcept { return Pop(s, Deadline::immediate()); }
};

/// threading's wait() calls: Event.wait, Condition.wait (a Semaphore.acquire).
inline bool wait_deadline(PyObject* timeout, Deadline* out) noexcept {
  double t = detail::kForever;
  if (detail::given(timeout) && !(detail::seconds(timeout, &t) && detail::in_range(t)))
    return false;
  *out = Deadline::after_seconds(t);  // zero or negative: immediate()
  return true;
}

/// threading.Semaphore.acquire's: wait_deadline's, or non-blocking.
inline bool passed_semaphore_deadline(passed blocking, passed timeout, Deadline* out) noexcept {
  int b;
  if (!detail::truth(blocking, &b)) return false;
  if (b) return wait_deadline(timeout.obj, out);
  *out = Deadline::immediate();
  return !detail::given(timeout.obj) ||
         detail::fail(PyExc_ValueError, "can't specify timeout for non-blocking acquire");
}

/// syncx's, as its Rust original (the timeout is type-checked first).
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

/// fastipc's integer nanoseconds (any negative: forever, as its C code).
inline bool fastipc_ns_deadline(long long ns, Deadline* out) noexcept {
  *out = ns < 0    ? Deadline::never()
         : ns == 0 ? Deadline::immediate()
                   : Deadline::after(std::chrono::nanoseconds(ns));
  return true;
}

/// ft_utils' ConcurrentQueue.pop.
inline bool ft_pop_deadline(PyObject* timeout, Deadline* out) noexcept {
  double t = detail::kForever;
  if (detail::given(timeout) && !detail::real(timeout, &t)) return false;
  if (std::isnan(t)) return detail::fail(PyExc_ValueError, detail::kNaN);
  *out = Deadline::after_seconds(t);
  return true;
}

// ============================================================ Counts

/// Reads a count argument: an integer (TypeError otherwise, via __index__)
/// that must be >= `min` (ValueError `msg` otherwise). Values past uint64 come
/// back as UINT64_MAX (too many for any count: constructors and release()
/// reject it, count_down() clamps at zero as for any n >= count).
inline bool read_count(PyObject* o, std::uint64_t min, const char* msg, std::uint64_t* out) noexcept {
  PyObject* idx = PyNumber_Index(o);
  if (!idx) return false;
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  Py_DECREF(idx);
  if (v == -1 && !overflow && PyErr_Occurred()) return false;
  if (overflow < 0 || (!overflow && v < static_cast<long long>(min))) {
    PyErr_SetString(PyExc_ValueError, msg);
    return false;
  }
  *out = overflow > 0 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(v);
  return true;
}

}  // namespace interlock::py
