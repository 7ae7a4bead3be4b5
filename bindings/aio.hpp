// bindings/aio.hpp — asyncio waits on the core primitives.
//
// A coroutine that must wait creates a future on its running loop and asks
// the primitive to enqueue an event-loop waiter (the core's *_async calls): a
// small Python object (`AsyncWait`) holding the core's interlock::AsyncWait
// (the node, and the rules for what a cancel or a lost notification gives
// back: include/interlock/async_wait.hpp), the loop, the future, and a strong
// reference to the primitive. No thread waits
// for it. When a release (from any thread or coroutine) takes the node out of
// the parking lot, the core calls notify on the releasing thread, after the
// bucket lock is released; notify schedules `future.set_result(None)` on the
// waiter's loop: `loop.call_soon` when the releaser runs on the loop's own
// thread, `loop.call_soon_threadsafe` otherwise. The coroutine then resumes
// and reads what the release left it (a lock or permit handed over, or a
// plain wake-up after which it tries again). python/interlock/_aio.py writes
// those loops; docs/design.md ("asyncio") has the whole protocol.
//
// Ownership: the parking lot's queue holds one reference to the AsyncWait
// while it is enqueued; notify (or the cancel that takes it out instead) drops
// it. So the node stays alive until its notify has returned.
//
// Internal locks: notify calls Python (asyncio), so no release here runs
// under an internal lock of the bindings (checked releases are the core's:
// Mutex::try_unlock).
#pragma once

#include <Python.h>

#include "interlock/async_wait.hpp"

namespace interlock::py::aio {

/// _aio_enqueue(loop, future) of a primitive P (Mutex, Semaphore,
/// ResettableEvent, Latch): Py_None (new reference) if it was ready at once
/// (the lock or permit is now the caller's; the event is set; the latch is
/// open), a new AsyncWait object if it was enqueued, or null with an error
/// set. A lock handed to a waiter that went away is given back through the
/// core's checked unlock (Mutex::try_unlock: any thread may release a Lock).
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
