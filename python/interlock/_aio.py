"""asyncio on the same objects threads use (``x.aio``, ``async with x``).

Each primitive keeps its threading API and gains an ``aio`` view whose
methods are the names of asyncio's own primitive (``asyncio.Lock``,
``asyncio.Event``, ...): ``await lock.aio.acquire()``, ``await ev.aio.wait()``.
``Lock``, ``Semaphore``, ``BoundedSemaphore`` and ``Condition`` also support
``async with`` directly. Threads and coroutines (on any number of loops, in
any threads) may wait on one object at once; a release from either side wakes
the other.

How a coroutine waits (bindings/aio.cpp has the native half): it creates a
future on its running loop and asks the primitive, in one native call, to take
the lock / permit or else to queue an event-loop waiter (``_aio_enqueue``).
The waiter sits in the same FIFO of the parking lot as parked threads; no
thread waits for it and nothing polls. The release that takes it out runs the
waiter's notify on the releasing thread, after the parking lot's bucket lock
is released: it schedules ``_wake(future)`` on the waiter's loop, with
``call_soon`` from the loop's own thread and ``call_soon_threadsafe`` from any
other. The coroutine then calls the primitive again, passing the woken waiter
back: the call finds what the release left it (a lock or permit handed over),
or, after a plain wake-up, tries again.

Cancellation (``task.cancel()``, ``asyncio.timeout``, ``wait_for``): the
coroutine calls ``waiter.cancel()``, which takes the waiter out of the queue,
or gives back what a release handed it meanwhile (a lock is released again, a
permit returned, a plain wake-up passed on), so a cancelled acquirer never
ends up holding anything. docs/design.md ("asyncio") has the whole protocol.

The asyncio side of Condition and Barrier (ConditionAio, BarrierAio) lives
beside them in _sync.py, which imports this module (never the reverse).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from ._interlock import _aio as _native
from ._interlock.collections import Empty as _Empty
from ._interlock.collections import Full as _Full
from ._interlock.collections import Queue, ShutDown
from ._interlock.locks import BoundedSemaphore, CountDownLatch, Event, Lock, Semaphore


def _running_loop() -> Any:
    # asyncio is imported wherever a loop runs; importing it here at interlock's
    # import would cost every thread-only user its start-up time.
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        raise RuntimeError("no running event loop")
    return asyncio.get_running_loop()


def _wake(future: Any) -> None:
    # Runs on the waiter's loop. The future is done already if its task was
    # cancelled meanwhile (the coroutine then withdraws the waiter itself).
    if not future.done():
        future.set_result(None)


_AsyncWait = _native.AsyncWait
_native._wake = _wake  # what bindings/aio.cpp's notify schedules on the waiter's loop


async def _until_done(call: Callable[..., Any], *args: Any) -> Any:
    """Drive a primitive's `_aio_*` call: it does the work (and returns its
    result), or queues a waiter (an AsyncWait) to await before calling again
    with that waiter, which ends the wait if the release handed it what it
    waited for (a lock, a permit) and else gives up its registration. On
    cancellation the waiter gives back what it was handed (nothing is held
    when CancelledError leaves) and passes a plain wake-up on."""
    loop = _running_loop()
    prev = None
    while True:
        future = loop.create_future()
        r = call(*args, loop, future, prev)
        if type(r) is not _AsyncWait:
            return r
        try:
            await future
        except BaseException:
            r.cancel()
            raise
        prev = r


def _acquire(prim: Any) -> Any:
    """Take a lock or permit of `prim` (a Lock or Semaphore), or wait until an
    Event / CountDownLatch is open, on the running loop."""
    return _until_done(prim._aio_enqueue)


# ------------------------------------------------------------------ views

class _AcquireView:
    """asyncio's acquire / release / async with over a primitive whose
    `_take()` tries without waiting and whose waits go through _acquire."""

    __slots__ = ("_prim",)
    _prim: Any

    def _take(self) -> bool:
        raise NotImplementedError

    async def acquire(self) -> bool:
        """Acquire, waiting without blocking the loop; return True."""
        if not self._take():
            await _acquire(self._prim)
        return True

    def release(self) -> None:
        """Release (what the primitive's own release() raises on misuse)."""
        self._prim.release()

    async def __aenter__(self) -> None:
        if not self._take():
            await _acquire(self._prim)

    async def __aexit__(self, *exc_info: object) -> None:
        self._prim.release()

    def __repr__(self) -> str:
        return f"<aio view of {self._prim!r}>"


class LockAio(_AcquireView):
    """``lock.aio``: asyncio.Lock's API on an interlock Lock."""

    __slots__ = ()

    def __init__(self, lock: Lock) -> None:
        self._prim = lock

    def _take(self) -> bool:
        return self._prim.try_acquire()

    def locked(self) -> bool:
        """Whether the lock is held."""
        return self._prim.locked()


class SemaphoreAio(_AcquireView):
    """``sem.aio``: asyncio.Semaphore's API on an interlock (Bounded)Semaphore."""

    __slots__ = ()

    def __init__(self, sem: Semaphore) -> None:
        self._prim = sem

    def _take(self) -> bool:
        return self._prim.acquire(False)

    def locked(self) -> bool:
        """Whether acquire() would have to wait (no permit available)."""
        return self._prim.value == 0


class EventAio:
    """``ev.aio``: asyncio.Event's API on an interlock Event."""

    __slots__ = ("_ev",)

    def __init__(self, ev: Event) -> None:
        self._ev = ev

    async def wait(self) -> bool:
        """Wait until the flag is set; return True."""
        ev = self._ev
        if not ev.is_set():
            await _acquire(ev)
        return True

    def set(self) -> None:
        """Set the flag, waking every waiting thread and coroutine."""
        self._ev.set()

    def clear(self) -> None:
        """Clear the flag."""
        self._ev.clear()

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._ev.is_set()

    def __repr__(self) -> str:
        return f"<aio view of {self._ev!r}>"


class CountDownLatchAio:
    """``latch.aio``: await the latch opening."""

    __slots__ = ("_latch",)

    def __init__(self, latch: CountDownLatch) -> None:
        self._latch = latch

    async def wait(self) -> bool:
        """Wait until the count is zero; return True."""
        latch = self._latch
        if latch.count:
            await _acquire(latch)
        return True

    def count_down(self, n: int = 1) -> int:
        """Lower the count by n; return the count after (see CountDownLatch)."""
        return self._latch.count_down(n)

    @property
    def count(self) -> int:
        """The current count (a snapshot)."""
        return self._latch.count

    def __repr__(self) -> str:
        return f"<aio view of {self._latch!r}>"


# The aio views raise asyncio's queue exceptions, as asyncio.Queue does:
# asyncio.QueueEmpty / QueueFull, and asyncio.QueueShutDown on 3.13+ (before
# 3.13 asyncio has none: the queue's own ShutDown stays). The queue's
# exception is translated on the failure path only (a try costs nothing when
# nothing is raised) and is not chained, as asyncio raises its own.

def _asyncio_error(name: str) -> type[BaseException]:
    import asyncio  # loaded already wherever a view raises in a coroutine

    return getattr(asyncio, name)


def _shutdown_error(e: BaseException) -> BaseException:
    """asyncio.QueueShutDown for the queue's ShutDown `e` (3.13+), else `e`."""
    import asyncio

    cls = getattr(asyncio, "QueueShutDown", None)
    return e if cls is None else cls()


class _QueueView:
    """What the ``aio`` views of the queues share: asyncio.Queue's
    non-waiting methods, forwarded to the queue, with asyncio's exceptions."""

    __slots__ = ("_q",)

    def __init__(self, q: Any) -> None:
        self._q = q

    def get_nowait(self) -> Any:
        """An item if one is there at once, else asyncio.QueueEmpty
        (asyncio.QueueShutDown once shut down and empty, 3.13+)."""
        try:
            return self._q.get_nowait()
        except _Empty:
            raise _asyncio_error("QueueEmpty") from None
        except ShutDown as e:
            raise _shutdown_error(e) from None

    def put_nowait(self, item: Any) -> None:
        """Put the item if a slot is free at once, else asyncio.QueueFull
        (asyncio.QueueShutDown once shut down, 3.13+)."""
        try:
            self._q.put_nowait(item)
        except _Full:
            raise _asyncio_error("QueueFull") from None
        except ShutDown as e:
            raise _shutdown_error(e) from None

    def qsize(self) -> int:
        return self._q.qsize()

    def empty(self) -> bool:
        return self._q.empty()

    def full(self) -> bool:
        return self._q.full()

    def shutdown(self, immediate: bool = False) -> None:
        """Shut the queue down (asyncio.Queue.shutdown / queue.Queue.shutdown)."""
        self._q.shutdown(immediate)

    @property
    def maxsize(self) -> int:
        return self._q.maxsize

    def __repr__(self) -> str:
        return f"<aio view of {self._q!r}>"


class QueueAio(_QueueView):
    """``q.aio``: asyncio.Queue's API on an interlock Queue: coroutines await
    ``put`` / ``get`` / ``join`` while threads use the blocking API on the same
    queue. A wake-up hands nothing over (the coroutine takes the item itself),
    so a cancelled ``get`` never loses an item and a cancelled ``put`` never
    puts one; a wake-up it had been given passes on to the next waiter."""

    __slots__ = ()

    async def get(self) -> Any:
        """Remove and return an item, waiting without blocking the loop
        (asyncio.QueueShutDown once the queue is shut down and empty)."""
        try:
            return await _until_done(self._q._aio_get)
        except ShutDown as e:
            raise _shutdown_error(e) from None

    async def put(self, item: Any) -> None:
        """Put an item, waiting for a free slot without blocking the loop
        (asyncio.QueueShutDown once the queue is shut down)."""
        try:
            await _until_done(self._q._aio_put, item)
        except ShutDown as e:
            raise _shutdown_error(e) from None

    async def join(self) -> None:
        """Wait until every item put has been marked done (task_done)."""
        await _until_done(self._q._aio_join)

    def task_done(self) -> None:
        """Mark one item as processed (ValueError if called too many times)."""
        self._q.task_done()


# ------------------------------------------------------------------ wiring

def _install() -> None:
    async def lock_aenter(self: Lock) -> None:
        if not self.try_acquire():
            await _acquire(self)

    async def sem_aenter(self: Semaphore) -> None:
        if not self.acquire(False):
            await _acquire(self)

    async def aexit(self: Lock | Semaphore, *exc_info: object) -> None:
        self.release()

    Lock.aio = property(LockAio, doc="asyncio.Lock's API on this lock (LockAio).")
    Lock.__aenter__ = lock_aenter
    Lock.__aexit__ = aexit
    for sem in (Semaphore, BoundedSemaphore):
        sem.aio = property(SemaphoreAio, doc="asyncio.Semaphore's API on this semaphore (SemaphoreAio).")
        sem.__aenter__ = sem_aenter
        sem.__aexit__ = aexit
    Queue.aio = property(QueueAio, doc="asyncio.Queue's API on this queue (QueueAio).")
    Event.aio = property(EventAio, doc="asyncio.Event's API on this event (EventAio).")
    CountDownLatch.aio = property(CountDownLatchAio, doc="Await this latch (CountDownLatchAio).")
    lock_aenter.__name__ = sem_aenter.__name__ = "__aenter__"
    aexit.__name__ = "__aexit__"
    for cls in (LockAio, SemaphoreAio, EventAio, CountDownLatchAio):
        cls.__module__ = "interlock.locks"  # their public home
    QueueAio.__module__ = "interlock.collections"


_install()
