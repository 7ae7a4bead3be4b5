// bindings/py_wait.hpp — the Python side of the core's wait hooks: every
// blocking call runs inside blocking(...), which releases the GIL (detaches)
// around each sleep, runs signal handlers when one is cut short and slices
// the main thread's sleeps (docs/design.md, "Blocking from Python"). The
// timeout conventions are bindings/timeouts.hpp, included here.
#pragma once

#include <Python.h>

#include "interlock/wait_hooks.hpp"
#include "timeouts.hpp"

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

}  // namespace interlock::py
