"""Condition and Barrier for interlock.locks, in Python on interlock's locks.

Both follow the contracts of threading.Condition and threading.Barrier. The
waits underneath are acquisitions of interlock ``BoundedSemaphore`` objects (one
private "waiter" per waiting thread), so they release the GIL (detach on
free-threaded builds) and are interruptible by signal handlers, like every
other interlock wait. ``BrokenBarrierError`` *is* threading.BrokenBarrierError,
so ``except`` clauses written for either module catch both.

Thread-safety: a Condition's list of waiters is only read or changed by a
thread that holds the condition's lock (wait() and notify() check that first),
so nothing here relies on the GIL.

ConditionAio and BarrierAio (``cond.aio``, ``barrier.aio``) are here too, beside
the state machines they drive; this module imports _aio, never the reverse.
"""

from __future__ import annotations

import time
from collections import deque
from threading import BrokenBarrierError
from typing import Any, Awaitable, Callable, Generator, TypeVar

from ._aio import LockAio, _acquire
from ._interlock import locks as _native_locks

Lock = _native_locks.Lock
RLock = _native_locks.RLock
BoundedSemaphore = _native_locks.BoundedSemaphore

__all__ = ["Condition", "Barrier", "BrokenBarrierError", "ConditionAio", "BarrierAio"]

_T = TypeVar("_T")
_monotonic = time.monotonic

def _new_waiter() -> Any:
    """A waiting thread's (or coroutine's) private wake-up: a taken
    BoundedSemaphore(1). Its acquire(timeout=...) is threading's wait()
    convention (None forever, zero or negative no wait; NaN ValueError, too
    large OverflowError, not a number TypeError: bindings/py_wait.hpp), and
    a second release() raises ValueError, which tells _notify that an
    interrupted notify() had already woken it."""
    waiter = BoundedSemaphore(1)
    waiter.acquire()
    return waiter


class Condition:
    """A condition variable (threading.Condition's contract).

    ``lock`` is the lock the condition is bound to: any object with acquire()
    and release() (and, optionally, the _release_save / _acquire_restore /
    _is_owned trio that reentrant locks provide). The default is a new
    interlock ``RLock``. wait() and notify() raise RuntimeError unless the
    calling thread holds it.
    """

    def __init__(self, lock: Any = None) -> None:
        if lock is None:
            lock = RLock()
        self._lock = lock
        self.acquire = lock.acquire
        self.release = lock.release
        # A lock that knows how to drop and restore all its recursion levels
        # (RLock) or who owns it provides these; otherwise the plain versions
        # below are used.
        for name in ("_release_save", "_acquire_restore", "_is_owned"):
            method = getattr(lock, name, None)
            if method is not None:
                setattr(self, name, method)
        self._waiters: deque[Any] = deque()

    # ---------------------------------------------------------- the lock

    def __enter__(self) -> Any:
        return self._lock.__enter__()

    def __exit__(self, *exc_info: Any) -> Any:
        return self._lock.__exit__(*exc_info)

    def _release_save(self) -> Any:
        self._lock.release()
        return None

    def _acquire_restore(self, state: Any) -> None:
        self._lock.acquire()

    def _is_owned(self) -> bool:
        # For locks that cannot tell: held (by someone) if it cannot be taken.
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def __repr__(self) -> str:
        return f"<Condition({self._lock}, {len(self._waiters)})>"

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._waiters.clear()

    # ---------------------------------------------------------- asyncio

    @property
    def aio(self) -> ConditionAio:
        """asyncio.Condition's API on this condition, for coroutines (its lock
        must be an interlock Lock); see ConditionAio below."""
        return ConditionAio(self)

    async def __aenter__(self) -> None:
        await self.aio.__aenter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()

    # ---------------------------------------------------------- waiting

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait until notified or until `timeout` seconds
        have passed (None: no limit; zero or negative: do not wait), then take
        the lock back (all its recursion levels) and return whether this
        thread was notified. Raises RuntimeError unless the lock is held.

        If a signal handler raises while waiting (KeyboardInterrupt, ...),
        the lock is taken back and this thread is off the waiter queue when
        the exception propagates; a notification it had already been given
        is passed on to the next waiter rather than lost. (Taking the lock
        back cannot be interrupted for RLocks, interlock's and threading's;
        for a plain lock it is the lock's own acquire(), as in threading.)
        """
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        waiter = _new_waiter()
        self._waiters.append(waiter)
        state = self._release_save()
        try:
            notified = waiter.acquire(True, timeout)
        except BaseException:
            try:
                self._acquire_restore(state)
            finally:
                # (Also if a signal handler raised as the lock came back.)
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    # A notify() had chosen this thread: hand the wake-up on.
                    if self._is_owned():
                        self._notify(1)
            raise
        try:
            self._acquire_restore(state)
        finally:
            if not notified:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    # Timed out, but a notify() took this thread off the
                    # queue before it got the lock back: the notification
                    # is its own.
                    notified = True
        return notified

    def wait_for(self, predicate: Callable[[], _T], timeout: float | None = None) -> _T:
        """Wait until predicate() is true, or for at most `timeout` seconds
        (None: no limit) in all; return the last value of predicate(). The
        lock must be held (it is released while waiting)."""
        result = predicate()
        if result:
            return result
        if timeout is None:
            while not result:
                self.wait()
                result = predicate()
            return result
        deadline = _monotonic() + timeout
        while not result:
            left = deadline - _monotonic()
            if left <= 0:
                break
            self.wait(left)
            result = predicate()
        return result

    # ---------------------------------------------------------- notifying

    def _notify(self, n: int) -> None:
        waiters = self._waiters
        while n > 0 and waiters:
            waiter = waiters[0]
            try:
                waiter.release()
            except ValueError:
                # Already released by a notify() that was interrupted (a
                # signal handler raised) before it could dequeue it.
                pass
            else:
                n -= 1
            try:
                waiters.remove(waiter)
            except ValueError:
                pass

    def notify(self, n: int = 1) -> None:
        """Wake up at most `n` threads waiting on this condition (oldest
        first); none waiting is not an error. Raises RuntimeError unless the
        lock is held."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        if self._waiters:
            self._notify(n)

    def notify_all(self) -> None:
        """Wake up every thread waiting on this condition. Raises RuntimeError
        unless the lock is held."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        if waiters:
            self._notify(len(waiters))

    def notifyAll(self) -> None:
        """Deprecated alias of notify_all()."""
        import warnings

        warnings.warn(
            "notifyAll() is deprecated, use notify_all() instead", DeprecationWarning, stacklevel=2
        )
        self.notify_all()


# Barrier states.
_FILLING, _DRAINING, _RESETTING, _BROKEN = 0, 1, -1, -2


class Barrier:
    """A cyclic barrier for a fixed number of threads (threading.Barrier's
    contract).

    Each of `parties` threads calls wait(); all block until the last one
    arrives, then all are released and the barrier is ready for the next
    cycle. `action`, if given, is called by one of them (the last to arrive)
    just before the others are released; if it raises, the barrier breaks.
    `timeout` is the default for wait(). A barrier that breaks (a wait timed
    out, the action raised, abort() was called) raises BrokenBarrierError in
    every waiting thread and in later wait() calls until reset().
    """

    def __init__(
        self, parties: int, action: Callable[[], Any] | None = None, timeout: float | None = None
    ) -> None:
        if parties < 1:
            raise ValueError("parties must be >= 1")
        # An RLock rather than threading's Lock: its _acquire_restore cannot
        # be interrupted, so a signal never leaves a waiter without the lock.
        self._cond = Condition(RLock())
        self._action = action
        self._timeout = timeout
        self._parties = parties
        self._state = _FILLING
        self._count = 0  # threads inside wait() in this cycle

    def __repr__(self) -> str:
        cls = type(self)
        head = f"<{cls.__module__}.{cls.__qualname__} at {id(self):#x}:"
        if self.broken:
            return f"{head} broken>"
        return f"{head} waiters={self.n_waiting}/{self.parties}>"

    def wait(self, timeout: float | None = None) -> int:
        """Wait until all parties have called wait() (at most `timeout`
        seconds; None: the barrier's default). Returns this thread's arrival
        index, 0 .. parties-1, different in each thread of a cycle. Raises
        BrokenBarrierError if the barrier is or becomes broken, including by
        this wait timing out (which breaks it for everyone)."""
        if timeout is None:
            timeout = self._timeout
        cond = self._cond
        with cond:
            party = self._party()
            try:
                until, timed = next(party)
                while True:
                    if cond.wait_for(until, timeout if timed else None):
                        until, timed = party.send(None)
                    else:  # timed out: nobody else can complete this cycle
                        self._break()
                        until, timed = party.throw(BrokenBarrierError())
            except StopIteration as done:
                return done.value
            finally:
                party.close()  # interrupted: the party leaves, the lock still held

    def _party(self) -> Generator[tuple[Callable[[], bool], bool], None, int]:
        """The barrier's state machine: one party's way through a cycle, run
        with the condition's lock held, returning its arrival index. It yields
        (until, timed) where the party must wait: the driver waits (the lock
        released meanwhile) until until() is true, then resumes it; `timed`
        says whether giving up breaks the barrier, and the driver that gives
        up breaks it and throws its exception in. Barrier.wait drives it with
        threads' waits, BarrierAio.wait with awaits: one state machine."""
        while self._state == _DRAINING or self._state == _RESETTING:
            # Wait for the previous cycle to drain (or a reset to finish).
            yield self._open, False
        if self._state == _BROKEN:
            raise BrokenBarrierError
        index = self._count
        self._count += 1
        try:
            if index + 1 == self._parties:
                self._trip()
            else:
                yield self._tripped, True
                if self._state < 0:  # reset or broken while we waited
                    raise BrokenBarrierError
            return index
        finally:
            self._count -= 1
            self._leave()

    def _open(self) -> bool:
        return self._state != _DRAINING and self._state != _RESETTING

    def _tripped(self) -> bool:
        return self._state != _FILLING

    def _trip(self) -> None:
        # The last party: run the action, then release everyone.
        try:
            if self._action:
                self._action()
        except BaseException:
            self._break()
            raise
        self._state = _DRAINING
        self._cond.notify_all()

    def _leave(self) -> None:
        # The last thread out of a draining/resetting cycle opens the next one.
        if self._count == 0 and (self._state == _DRAINING or self._state == _RESETTING):
            self._state = _FILLING
            self._cond.notify_all()

    def _break(self) -> None:
        self._state = _BROKEN
        self._cond.notify_all()

    def reset(self) -> None:
        """Return the barrier to its initial, unbroken state. Threads waiting
        in it get BrokenBarrierError."""
        with self._cond:
            if self._count > 0:
                if self._state == _FILLING or self._state == _BROKEN:
                    # Let the threads inside leave with BrokenBarrierError;
                    # the last one out refills.
                    self._state = _RESETTING
            else:
                self._state = _FILLING
            self._cond.notify_all()

    def abort(self) -> None:
        """Break the barrier: threads waiting in it, and later wait() calls,
        get BrokenBarrierError (until reset())."""
        with self._cond:
            self._break()

    @property
    def aio(self) -> BarrierAio:
        """asyncio.Barrier's API on this barrier: coroutines and threads may be
        parties of one barrier; see BarrierAio below."""
        return BarrierAio(self)

    @property
    def parties(self) -> int:
        """The number of threads it takes to trip the barrier."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """The number of threads waiting in the current cycle (a snapshot)."""
        return self._count if self._state == _FILLING else 0

    @property
    def broken(self) -> bool:
        """Whether the barrier is broken."""
        return self._state == _BROKEN


# ---------------------------------------------------------------- asyncio
# The asyncio side of Condition and Barrier lives here, beside them: the one
# place their state machines are driven (imports run one way: _sync -> _aio).

async def _notified_wait(cond: Condition, reacquire: Callable[[Any], Awaitable[None]]) -> bool:
    """Condition.wait's protocol with an awaited wake-up: queue a waiter lock,
    release `cond`'s lock, await the waiter, take the lock back with
    `reacquire(state)` (also when cancelled, as asyncio.Condition does)."""
    waiter = _new_waiter()
    cond._waiters.append(waiter)
    state = cond._release_save()
    error: BaseException | None = None
    try:
        await _acquire(waiter)
    except BaseException as e:  # cancelled: nothing held (see _acquire)
        error = e
    while True:  # the lock comes back before anything propagates
        try:
            await reacquire(state)
            break
        except BaseException as e:
            if error is None:
                error = e
    if error is not None:
        try:
            cond._waiters.remove(waiter)
        except ValueError:
            cond._notify(1)  # a notify had chosen this waiter: pass it on
        raise error
    return True


class ConditionAio(LockAio):
    """``cond.aio``: asyncio.Condition's API on an interlock Condition whose
    lock is an interlock ``Lock`` (as asyncio.Condition takes an asyncio.Lock:
    a coroutine cannot own a thread-owned RLock). acquire / release / locked
    / async with are the lock's."""

    __slots__ = ("_cond",)

    def __init__(self, cond: Condition) -> None:
        lock = cond._lock
        if not isinstance(lock, Lock):
            raise TypeError(
                "Condition.aio needs a Condition on an interlock.locks.Lock "
                f"(this one is on {type(lock).__qualname__}: a coroutine cannot own it)"
            )
        super().__init__(lock)
        self._cond = cond

    async def _reacquire(self, state: Any) -> None:
        await self.acquire()

    async def wait(self) -> bool:
        """Release the lock, wait until notified (by a thread's notify() or a
        coroutine's), take the lock back; return True. RuntimeError unless
        the lock is held. Cancelled, it still takes the lock back first."""
        if not self._prim.locked():
            raise RuntimeError("cannot wait on un-acquired lock")
        return await _notified_wait(self._cond, self._reacquire)

    async def wait_for(self, predicate: Callable[[], _T]) -> _T:
        """Wait until predicate() is true; return its last value."""
        result = predicate()
        while not result:
            await self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to n waiters, threads or coroutines (oldest first)."""
        self._cond.notify(n)

    def notify_all(self) -> None:
        """Wake every waiter, threads and coroutines."""
        self._cond.notify_all()

    def __repr__(self) -> str:
        return f"<aio view of {self._cond!r}>"


class BarrierAio:
    """``barrier.aio``: asyncio.Barrier's API on an interlock Barrier: threads
    and coroutines may be parties of one barrier. The barrier's own short
    critical sections are entered synchronously; the wait for the other
    parties is awaited."""

    __slots__ = ("_b",)

    def __init__(self, barrier: Barrier) -> None:
        self._b = barrier

    async def wait(self) -> int:
        """Wait until all parties have arrived; return this party's arrival
        index. BrokenBarrierError as Barrier.wait(). Cancellation (also by
        asyncio.timeout) breaks the barrier, as a timeout does in
        threading.Barrier: the threads among the parties must not wait for a
        party that left. (The barrier's default timeout does not apply.)"""
        b = self._b
        cond = b._cond
        with cond:
            party = b._party()  # Barrier's state machine, awaited
            try:
                until, timed = next(party)
                while True:
                    try:
                        while not until():
                            await _notified_wait(cond, _sync_reacquire(cond))
                    except BaseException as e:
                        if timed:
                            b._break()
                        until, timed = party.throw(e)
                    else:
                        until, timed = party.send(None)
            except StopIteration as done:
                return done.value
            finally:
                party.close()

    async def reset(self) -> None:
        """Return the barrier to its initial state (see Barrier.reset)."""
        self._b.reset()

    async def abort(self) -> None:
        """Break the barrier (see Barrier.abort)."""
        self._b.abort()

    @property
    def parties(self) -> int:
        return self._b.parties

    @property
    def n_waiting(self) -> int:
        return self._b.n_waiting

    @property
    def broken(self) -> bool:
        return self._b.broken

    def __repr__(self) -> str:
        return f"<aio view of {self._b!r}>"


def _sync_reacquire(cond: Condition) -> Callable[[Any], Awaitable[None]]:
    # The barrier's RLock is only ever held for short critical sections, none
    # across an await: take it back synchronously.
    async def reacquire(state: Any) -> None:
        cond._acquire_restore(state)

    return reacquire


# Public home: interlock.locks (reprs and help() show that name).
for _cls in (Condition, Barrier, ConditionAio, BarrierAio):
    _cls.__module__ = "interlock.locks"
del _cls
