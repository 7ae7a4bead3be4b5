// bindings/py_wait.hpp — the Python side of the core's wait hooks (the
// timeout conventions are in bindings/timeouts.hpp, included here).
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
#include "timeouts.hpp"

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

/// A wait's result as Python: ok -> True, timed_out -> False, interrupted ->
/// NULL with the signal handler's exception.
inline PyObject* wait_result(WaitStatus s) noexcept {
  if (IL_PY_UNLIKELY(s == WaitStatus::interrupted)) return raise_interrupted();
  return Py_NewRef(s == WaitStatus::ok ? Py_True : Py_False);
}

/// queue.Queue's `block` argument (null: omitted, i.e. true): 1, 0, or -1
/// with an exception set (its __bool__ failed).
inline int block_arg(PyObject* block) noexcept {
  if (!block || block == Py_True) return 1;
  if (block == Py_False) return 0;
  return PyObject_IsTrue(block);
}

}  // namespace interlock::py
