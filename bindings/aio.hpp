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

/// _aio_enqueue(loop, future) of a primitive P (Mutex, Semaphore,
/// ResettableEvent, Latch): Py_None (new reference) if it was ready at once
/// (the lock or permit is now the caller's; the event is set; the latch is
/// open), a new AsyncWait object if it was enqueued, or null with an error.
template <class P>
PyObject* enqueue(PyObject* owner, P& prim, PyObject* loop, PyObject* future) noexcept;

/// Waiters of other primitives (the queues), whose wake-ups hand nothing over:
/// the coroutine calls the primitive again, passing the woken waiter back
/// (`prev`, None the first time), whose registration the retry gives up.
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
