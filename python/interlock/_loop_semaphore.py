"""A fair counting semaphore shared by every event loop of a process.

``LoopSemaphore(value)``: ``sem.aio`` is asyncio.Semaphore's API
(``await acquire()``, ``release()``, ``locked()``, ``async with``) usable from
any number of event loops at once -- one per thread, the natural shape on
free-threaded builds -- and from plain threads for ``release()``. An
``asyncio.Semaphore`` belongs to one loop; a ``threading.Semaphore`` blocks the
loop's thread. Here a waiting task is parked on its own loop's future and woken
there (``call_soon_threadsafe`` when the releaser runs elsewhere, a plain
``set_result`` when it runs on the waiter's loop).

Invariants (under ``_lock``, a ``threading.Lock`` held for a few field updates,
never across an await, a callback or a Python-level call that could re-enter):

* ``0 <= _held <= _max``; a slot released while tasks wait goes straight to
  the oldest waiter (``_held`` unchanged), so waiters are served in arrival
  order and an arriving task cannot barge past a queued one (asyncio's
  fairness);
* a waiter cancelled after it was handed a slot passes that slot on (never
  leaked); one cancelled before is simply removed;
* a waiter whose loop has closed is skipped and the slot goes to the next.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

__all__ = ["LoopSemaphore", "LoopSemaphoreAio"]


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Waiter:
    __slots__ = ("loop", "future", "granted")

    def __init__(self, loop):
        self.loop = loop
        self.future = loop.create_future()
        self.granted = False

    def _wake(self):
        if not self.future.done():
            self.future.set_result(None)

    def grant(self, running_loop) -> bool:
        try:
            if running_loop is self.loop:
                self._wake()
            else:
                self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # its loop is closed
            return False
        self.granted = True
        return True


class LoopSemaphore:
    """A fair semaphore shared by several event loops; use it through ``.aio``."""

    __slots__ = ("_lock", "_max", "_held", "_waiters", "aio", "__weakref__")

    def __init__(self, value: int = 1) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"value must be int, not {type(value).__name__}")
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._lock = threading.Lock()
        self._max = value
        self._held = 0
        self._waiters: deque[_Waiter] = deque()
        self.aio = LoopSemaphoreAio(self)

    @property
    def value(self) -> int:
        """Free slots now."""
        return self._max - self._held

    def release(self) -> None:
        """Return a slot (to the oldest waiter if any); ValueError when none is held."""
        running = _running_loop()
        with self._lock:
            self._release_locked(running)

    def _release_locked(self, running) -> None:
        if self._held == 0:
            raise ValueError("release() called more times than acquire()")
        while self._waiters:
            if self._waiters.popleft().grant(running):
                return
        self._held -= 1

    async def _acquire(self) -> bool:
        with self._lock:
            if self._held < self._max and not self._waiters:
                self._held += 1
                return True
            waiter = _Waiter(asyncio.get_running_loop())
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                if waiter.granted:
                    self._release_locked(_running_loop())
                else:
                    try:
                        self._waiters.remove(waiter)
                    except ValueError:
                        pass
            raise
        return True

    def __repr__(self) -> str:
        return f"<LoopSemaphore value={self.value}/{self._max} waiters={len(self._waiters)}>"


class LoopSemaphoreAio:
    """``sem.aio``: asyncio.Semaphore's API, shared by every loop of the process."""

    __slots__ = ("_sem",)

    def __init__(self, sem: LoopSemaphore) -> None:
        self._sem = sem

    async def acquire(self) -> bool:
        """Take a slot, parking this task (not its thread) while none is free; True."""
        return await self._sem._acquire()

    def release(self) -> None:
        """Return a slot (from any thread or loop)."""
        self._sem.release()

    def locked(self) -> bool:
        """Whether acquire() would have to wait."""
        sem = self._sem
        return sem._held >= sem._max or bool(sem._waiters)

    async def __aenter__(self) -> None:
        await self._sem._acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._sem.release()

    def __repr__(self) -> str:
        return f"<aio view of {self._sem!r}>"
