// bindings/aio.hpp — asyncio waits on the core primitives: the AsyncWait
// object (a core interlock::AsyncWait, its loop and future, and a reference to
// the primitive) that a coroutine queues instead of parking a thread. The
// protocol, ownership (the queue holds one reference until notify or cancel)
// and "no Python under an internal lock" are docs/design.md, "asyncio".
#pragma once

#include <Python.h>

#include <type_traits>

#include "interlock/async_wait.hpp"

namespace interlock::py::aio {

// Every `_aio_*(..., loop, future, prev)` call either finishes (its result) or
// queues a waiter and returns it (a new AsyncWait); after the wake-up the
// coroutine calls again with that waiter as `prev` (None the first time).

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
/// step(node, registered, &queued): the primitive's attempt, which either
/// finishes (a new reference, or null with an error) or queues `node`.
using Step = PyObject* (*)(void* ctx, parking_lot::AsyncNode& node, bool registered,
                           bool* queued) noexcept;

/// A custom wait on `prim` (inside `owner`): step's result, or the queued
/// AsyncWait. TypeError if prev is neither None nor a waiter of this prim.
PyObject* custom(PyObject* owner, void* prim, const CustomOps& ops, PyObject* loop,
                 PyObject* future, PyObject* prev, Step step, void* ctx) noexcept;
template <class F>  // F: the step as a callable
PyObject* custom(PyObject* owner, void* prim, const CustomOps& ops, PyObject* loop,
                 PyObject* future, PyObject* prev, F&& f) noexcept {
  return custom(owner, prim, ops, loop, future, prev,
                [](void* c, parking_lot::AsyncNode& n, bool r, bool* q) noexcept -> PyObject* {
                  return (*static_cast<std::remove_reference_t<F>*>(c))(n, r, q);
                }, &f);
}

}  // namespace interlock::py::aio
