"""The shared-memory queue: :class:`ShmQueue` (byte messages) and
:class:`ObjectQueue` (pickled objects, ``multiprocessing.Queue``'s API).

``ShmQueue`` is native (``interlock._interlock.ipc``, over the core's
``interlock::ShmQueue`` ring); this module adds what belongs to Python: the
pickling layer and pickling of the queues themselves, so a queue can be handed
to a ``multiprocessing`` child started by *spawn* or *forkserver* (a
``Process`` argument, a ``Pool`` initializer argument):

* a named queue (including the default, uniquely named one) pickles by name
  and PID directory: the receiver attaches (``create=False``) and registers
  itself as a user, so the queue lives while any process uses it;
* a queue on a :class:`multiprocessing.shared_memory.SharedMemory` buffer
  pickles by the segment's name and offset; other buffers cannot be pickled
  (``TypeError``).

Under *fork* nothing needs pickling: children inherit the queue.
"""

from __future__ import annotations

import copyreg
import os as _os
import pickle
import threading as _threading
import weakref as _weakref
from queue import Empty as _Empty
from queue import Full as _Full

from .._aio import _QueueView, _running_loop, _shutdown_error, _wake
from .._interlock.collections import ShutDown as _ShutDown
from .._interlock import ipc as _ipc
from ._futex import _attach_shared_memory

ShmQueue = _ipc.ShmQueue

__all__ = ["ShmQueue", "ObjectQueue", "ShmQueueAio"]

_dumps = pickle.dumps
_loads = pickle.loads
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_put = ShmQueue.put
_get = ShmQueue.get


class ObjectQueue(ShmQueue):
    """A :class:`ShmQueue` of Python objects: each message is one object,
    pickled (highest protocol) by ``put`` and unpickled by ``get``.

    ``multiprocessing.Queue``'s API (``put``/``get`` with ``block`` and
    ``timeout``, ``put_nowait``/``get_nowait``, ``qsize``/``empty``/``full``,
    ``close``, ``join_thread``/``cancel_join_thread``), plus queue.Queue's
    ``shutdown``. Unlike ``multiprocessing.Queue`` there is no feeder thread:
    ``put`` has copied the object into shared memory when it returns, so an
    object is never lost when its process exits right after the put, and a
    full queue makes ``put`` wait (or raise ``queue.Full``) instead of buffering
    without bound. A pickle longer than ``max_message`` is a ``ValueError``.
    The constructor is ShmQueue's.
    """

    __slots__ = ()

    def put(self, obj, block=True, timeout=None):
        """Pickle obj and append it (ShmQueue.put's block/timeout rules)."""
        _put(self, _dumps(obj, _PROTOCOL), block, timeout)

    def put_nowait(self, obj):
        """put(obj, block=False)."""
        _put(self, _dumps(obj, _PROTOCOL), False)

    def get(self, block=True, timeout=None):
        """Remove and return the oldest object (ShmQueue.get's rules)."""
        return _loads(_get(self, block, timeout))

    def get_nowait(self):
        """get(block=False)."""
        return _loads(_get(self, False))

    def join_thread(self):
        """multiprocessing.Queue's: nothing to wait for (no feeder thread)."""

    def cancel_join_thread(self):
        """multiprocessing.Queue's: nothing to cancel (no feeder thread)."""


# ------------------------------------------------------------------ asyncio
#
# A coroutine cannot sleep on the queue's futex, and the wake-up may come from
# another process, which cannot reach this process's event loops. So each
# queue object has, per direction (get: "items", put: "space"), at most one
# bridge thread in this process, started by the first coroutine that has to
# wait. While coroutines wait, it sleeps on the queue's epoch futex (counted
# as a waiter, so producers in any process make the wake-up system call);
# when the queue becomes readable (writable) it wakes every waiting coroutine
# through its loop's call_soon_threadsafe, and they retry the non-blocking
# call. With no coroutine waiting it parks on a local condition, holding only
# a weak reference to the queue. No thread per waiter, no polling.
#
# Protocol (no lost wake-up): a coroutine registers its future, then retries
# get_nowait/put_nowait, and only then awaits. The bridge reads the epoch,
# checks readiness (exact: a published slot, not a claimed one), and sleeps
# while the epoch is unchanged; any publish after the coroutine's retry bumps
# the epoch after the bridge's read, so the bridge wakes and sees it.
# Cancellation: the coroutine withdraws its future; the last one to leave
# kicks the bridge (bumps the epoch) so that it stops sleeping on the queue.
# Wake-ups are broadcasts and hand nothing over: a cancelled get loses no
# message, a cancelled put queues none.

class _Bridge:
    __slots__ = ("_ref", "_space", "_cond", "_waiters", "_thread", "_sleeping",
                 "__weakref__")

    def __init__(self, q, space: bool) -> None:
        self._ref = _weakref.ref(q, self._queue_gone)
        self._space = space
        self._cond = _threading.Condition(_threading.Lock())
        self._waiters: dict[int, tuple] = {}
        self._thread = None
        self._sleeping = False

    def _queue_gone(self, _ref) -> None:
        with self._cond:
            self._cond.notify_all()

    def register(self, loop, future) -> int:
        token = id(future)
        with self._cond:
            self._waiters[token] = (loop, future)
            if self._thread is None:
                self._thread = _threading.Thread(
                    target=self._run, name="interlock-shmqueue-aio", daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        return token

    def unregister(self, token: int, q) -> None:
        with self._cond:
            if self._waiters.pop(token, None) is None or self._waiters:
                return
            kick = self._sleeping
        if kick:  # nobody left: make the bridge stop sleeping on the queue
            q._aio_kick(self._space)

    def _run(self) -> None:
        space = self._space
        while True:
            with self._cond:
                while not self._waiters:
                    if self._ref() is None:
                        self._thread = None
                        return
                    self._cond.wait()
            q = self._ref()
            if q is None:
                with self._cond:
                    self._thread = None
                    waiters, self._waiters = self._waiters, {}
                self._notify(waiters)
                return
            e = q._aio_epoch(space)
            if q._aio_ready(space):
                # Drop the queue before waking anybody: once a coroutine has
                # run, this thread holds no reference that keeps it alive.
                del q
                with self._cond:
                    waiters, self._waiters = self._waiters, {}
                self._notify(waiters)
                continue
            with self._cond:
                self._sleeping = bool(self._waiters)
            if self._sleeping:
                try:
                    q._aio_sleep(space, e)
                finally:
                    with self._cond:
                        self._sleeping = False
            del q

    @staticmethod
    def _notify(waiters: dict) -> None:
        for loop, future in waiters.values():
            try:
                loop.call_soon_threadsafe(_wake, future)
            except RuntimeError:  # that loop is closed: nobody awaits there
                pass

    def _after_fork(self) -> None:  # the thread does not exist in the child
        self._cond = _threading.Condition(_threading.Lock())
        self._waiters = {}
        self._thread = None
        self._sleeping = False


# queue -> [items bridge, space bridge] (either None until first needed)
_BRIDGE_OF: "_weakref.WeakKeyDictionary" = _weakref.WeakKeyDictionary()
_BRIDGE_LOCK = _threading.Lock()


def _after_fork_in_child() -> None:
    global _BRIDGE_LOCK
    _BRIDGE_LOCK = _threading.Lock()
    for pair in list(_BRIDGE_OF.values()):
        for b in pair:
            if b is not None:
                b._after_fork()


_os.register_at_fork(after_in_child=_after_fork_in_child)


def _bridge(q, space: bool) -> _Bridge:
    with _BRIDGE_LOCK:
        pair = _BRIDGE_OF.get(q)
        if pair is None:
            pair = _BRIDGE_OF[q] = [None, None]
        b = pair[space]
        if b is None:
            b = pair[space] = _Bridge(q, space)
        return b


async def _until(q, space: bool, attempt):
    """Run attempt() (a non-blocking get/put raising queue.Empty/Full, which
    just failed) until it succeeds, waiting on the running loop in between."""
    loop = _running_loop()
    bridge = _bridge(q, space)
    retry = _Empty if not space else _Full
    while True:  # register, retry, and only then wait: no wake-up is lost
        future = loop.create_future()
        token = bridge.register(loop, future)
        try:
            try:
                return attempt()
            except retry:
                pass
            await future
        finally:
            bridge.unregister(token, q)


class ShmQueueAio(_QueueView):
    """``q.aio``: asyncio.Queue's API on a ShmQueue / ObjectQueue. Coroutines
    (on any loops, in any threads) await ``get`` / ``put`` while threads and
    other processes use the blocking API on the same queue. The queue has no
    task accounting, so there is no ``join`` / ``task_done``. A cancelled
    ``get`` loses no message; a cancelled ``put`` queues none."""

    __slots__ = ()

    async def get(self):
        """Remove and return the oldest message (object, for an ObjectQueue),
        waiting without blocking the loop (asyncio.QueueShutDown once shut
        down and empty)."""
        q = self._q
        try:
            try:
                return q.get_nowait()
            except _Empty:
                return await _until(q, False, q.get_nowait)
        except _ShutDown as e:
            raise _shutdown_error(e) from None

    async def put(self, item) -> None:
        """Append item, waiting for a free slot without blocking the loop
        (asyncio.QueueShutDown once the queue is shut down)."""
        q = self._q
        try:
            try:
                q.put_nowait(item)
            except _Full:
                await _until(q, True, lambda: q.put_nowait(item))
        except _ShutDown as e:
            raise _shutdown_error(e) from None


ShmQueue.aio = property(ShmQueueAio, doc="asyncio.Queue's API on this queue (ShmQueueAio).")
ShmQueueAio.__module__ = "interlock.ipc"


# ------------------------------------------------------------------ pickling


def _rebuild_named(cls, name: str, pid_dir: str):
    return cls(name, create=False, pid_dir=pid_dir)


def _rebuild_buffer(cls, shm_name: str, offset: int):
    return cls(buffer=_attach_shared_memory(shm_name), offset=offset, create=False)


def _reduce(q):
    if q.closed:
        raise ValueError(f"cannot pickle a closed {type(q).__name__}")
    if q.name is not None:
        return _rebuild_named, (type(q), q.name, q.pid_dir)
    from multiprocessing import shared_memory

    source = q._source
    if not isinstance(source, shared_memory.SharedMemory):
        raise TypeError(
            f"cannot pickle a {type(q).__name__} on a {type(source).__name__}: only a named "
            "queue, or one on a multiprocessing.shared_memory.SharedMemory (passed as the "
            "buffer), pickles")
    return _rebuild_buffer, (type(q), source.name, q._offset)


copyreg.pickle(ShmQueue, _reduce)
copyreg.pickle(ObjectQueue, _reduce)
