// bindings/aio.hpp — asyncio waits on the core primitives: the AsyncWait
// object (a core interlock::AsyncWait, its loop and future, and a reference to
// the primitive) that a coroutine queues instead of parking a thread. The
// protocol, ownership (the queue holds one reference until notify or cancel)
// and "no Python under an internal lock" are docs/design.md, "asyncio".
#pragma once

#include <Python.h>

#include "interlock/async_wait.hpp"
#include "interlock/function_ref.hpp"

namespace interlock::py::aio {

/// _aio_enqueue of a primitive P (Mutex, Semaphore, ResettableEvent, Latch):
/// Py_None (new reference) once the lock or permit is the caller's (taken at
/// once, or handed to `prev`), the event set or the latch open; else a queued
/// AsyncWait, or null with an error.
template <class P>
PyObject* enqueue(PyObject* owner, P& prim, PyObject* loop, PyObject* future,
                  PyObject* prev) noexcept;

/// Waiters of other primitives (the queues), whose wake-ups hand nothing over:
/// the retry gives up the registration among the primitive's waiters.
using CustomOps = AsyncWait::CustomOps;

/// A custom wait on `prim` (inside `owner`): step(node, registered, &queued),
/// the primitive's attempt, either finishes (its result: a new reference, or
/// null with an error) or queues `node` (then the AsyncWait is returned).
/// TypeError if prev is neither None nor a waiter of this prim.
PyObject* custom(PyObject* owner, void* prim, const CustomOps& ops, PyObject* loop,
                 PyObject* future, PyObject* prev,
                 FunctionRef<PyObject*(parking_lot::AsyncNode&, bool, bool*)> step) noexcept;

}  // namespace interlock::py::aio
