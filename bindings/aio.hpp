// bindings/aio.hpp — asyncio waits on the core primitives: the AsyncWait
// object (a core interlock::AsyncWait, its loop and future, and a reference to
// the primitive) that a coroutine queues instead of parking a thread. The
// protocol, ownership (the queue holds one reference until notify or cancel)
// and "no Python under an internal lock" are docs/design.md, "asyncio".
#pragma once

#include <Python.h>

#include "interlock/async_wait.hpp"

namespace interlock::py::aio {

/// _aio_enqueue(loop, future) of a primitive P (Mutex, Semaphore,
/// ResettableEvent, Latch): Py_None (new reference) if it was ready at once
/// (the lock or permit is now the caller's; the event is set; the latch is
/// open), a new AsyncWait object if it was enqueued, or null with an error.
template <class P>
PyObject* enqueue(PyObject* owner, P& prim, PyObject* loop, PyObject* future) noexcept;

/// Waiters of other primitives (the queues), whose wake-ups hand nothing over:
/// the coroutine calls the primitive again, passing the woken waiter back.
using CustomOps = AsyncWait::CustomOps;

/// A new AsyncWait (not yet queued) for `prim` inside `owner`.
PyObject* make_custom(PyObject* owner, void* prim, const CustomOps* ops, PyObject* loop,
                      PyObject* future) noexcept;
/// The node of an AsyncWait made by make_custom.
parking_lot::AsyncNode& custom_node(PyObject* wait) noexcept;
/// The queue's reference: take it with queue_ref() before handing
/// custom_node(wait) to the core (a wake-up may drop it at once, on any
/// thread); if the core did not queue the node after all, unqueued() drops it
/// again and marks the waiter finished.
void queue_ref(PyObject* wait) noexcept;
void unqueued(PyObject* wait) noexcept;
/// For the retry after a wake-up: whether `prev` (an AsyncWait of this
/// primitive, or None) still holds its registration (claims it; false if its
/// loop's failure already passed the wake-up on). TypeError if prev is
/// neither None nor an AsyncWait.
int claim_registration(PyObject* prev, void* prim) noexcept;
/// The AsyncWait type (for Python-side `type(r) is AsyncWait` checks).
PyTypeObject* wait_type() noexcept;

}  // namespace interlock::py::aio
