"""Locks and synchronisation primitives: ``interlock.locks``.

Every class here is native (the extension's submodule
``interlock._interlock.locks``), except Condition and Barrier, which are
written in Python on these locks (``interlock._sync``).

* ``Lock`` and ``RLock`` keep the contracts of ``threading.Lock`` and
  ``threading.RLock`` (``acquire(blocking=True, timeout=-1)``, ``release()``,
  ``locked()``, context manager, the same exceptions for bad timeouts and
  misuse; ``RLock`` works with ``threading.Condition``), and add syncx's
  ``try_acquire()`` / ``try_lock()``, ``is_locked()`` and ``guard()``, which
  returns a ``LockGuard`` / ``RLockGuard`` (or ``None`` when nothing was
  acquired). ``timeout=None`` is accepted as "forever" too; ``blocking`` is
  taken by its truth value (``None`` is False), as threading does since 3.12.
* ``RWLock`` is a reader-writer lock in which neither readers nor writers
  starve: ``acquire_read`` / ``read_release`` / ``read_guard``,
  ``acquire_write`` / ``write_release`` / ``write_release_fair`` /
  ``write_guard``, ``bump_shared`` / ``bump_exclusive``, ``is_locked`` /
  ``is_write_locked``, with threading's ``(blocking=True, timeout=None)``
  conventions. Read holds are neither re-entrant nor owned by a thread: any
  thread may ``read_release()`` one (as any thread may release a ``Lock``);
  releasing what is not held is a RuntimeError. ``ReadGuard`` / ``WriteGuard``
  release once; ``WriteGuard.downgrade()`` turns the write hold into a read
  hold atomically.
* ``Condition``, ``Semaphore``, ``BoundedSemaphore``, ``Event``, ``Barrier``
  keep the ``threading`` contracts (each call's own timeout convention);
  ``Once`` runs a callable once (retried after an exception) and
  ``CountDownLatch`` opens when counted down to zero.
* ``LoopSemaphore(value=1)`` is a fair counting semaphore shared by every
  event loop of the process: ``sem.aio`` has asyncio.Semaphore's API (await
  ``acquire()``, ``release()``, ``locked()``, ``async with``) and may be used
  from several loops (threads) at once; slots go to waiters in arrival order
  (``interlock._loop_semaphore``; ft_utils' ``ProcessSemaphore``).
* A guard releases once: later ``release()`` calls do nothing (syncx), and a
  guard still holding when it is garbage-collected releases then.

Every wait releases the GIL (detaches the thread state on free-threaded
builds), honours its timeout, and ends with whatever a signal handler raises
(``KeyboardInterrupt`` on Ctrl-C), having acquired nothing.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from ._interlock.locks import (
    BoundedSemaphore,
    CountDownLatch,
    Event,
    Lock,
    LockGuard,
    Once,
    ReadGuard,
    RLock,
    RLockGuard,
    RWLock,
    Semaphore,
    WriteGuard,
    _syncx,
)
from ._loop_semaphore import LoopSemaphore, LoopSemaphoreAio
from ._sync import Barrier, BarrierAio, BrokenBarrierError, Condition, ConditionAio
from ._aio import (  # also adds the .aio views and async with (see _aio.py)
    CountDownLatchAio,
    EventAio,
    LockAio,
    SemaphoreAio,
)


def _name(self: object) -> str:
    t = type(self)
    return f"{t.__module__}.{t.__qualname__}"


def _lock_repr(self: Any) -> str:
    """threading's format: "<locked interlock.locks.Lock object at 0x...>"."""
    try:
        if not isinstance(self, (RWLock, _syncx.RWLock)):
            state = "locked" if self.locked() else "unlocked"
        elif self.is_write_locked():
            state = "write-locked"
        else:
            n = self._reader_count()
            state = f"read-locked ({n} reader{'s' * (n != 1)})" if n else "unlocked"
    except TypeError:  # __init__ did not run
        state = "uninitialized"
    return f"<{state} {_name(self)} object at {id(self):#x}>"


def _state_repr(state: Callable[[Any], str]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        """threading's format: "<interlock.locks.Event at 0x...: set>"."""
        return f"<{_name(self)} at {id(self):#x}: {state(self)}>"

    return __repr__


def _isSet(self: Event) -> bool:
    """Deprecated alias of is_set() (DeprecationWarning)."""
    warnings.warn("isSet() is deprecated, use is_set() instead", DeprecationWarning, stacklevel=2)
    return self.is_set()


# Installed with setattr: the generated stubs declare these members, so plain
# assignments would look like method overrides to mypy.
for _cls, _method in (
    *((c, _lock_repr) for c in (Lock, RLock, RWLock, _syncx.Lock, _syncx.RLock, _syncx.RWLock)),
    (Semaphore, _state_repr(lambda s: f"value={s.value}")),
    (BoundedSemaphore, _state_repr(lambda s: f"value={s.value}/{s.initial_value}")),
    (Event, _state_repr(lambda e: "set" if e.is_set() else "unset")),
    (CountDownLatch, _state_repr(lambda c: f"count={c.count}")),
    (Once, _state_repr(lambda o: "done" if o.done else "not done")),
):
    setattr(_cls, "__repr__", _method)
del _cls, _method
_isSet.__name__ = "isSet"
setattr(Event, "isSet", _isSet)

__all__ = [
    "Lock",
    "LockGuard",
    "RLock",
    "RLockGuard",
    "RWLock",
    "ReadGuard",
    "WriteGuard",
    "Condition",
    "Semaphore",
    "BoundedSemaphore",
    "Event",
    "Barrier",
    "BrokenBarrierError",
    "Once",
    "CountDownLatch",
    "LockAio",
    "SemaphoreAio",
    "EventAio",
    "ConditionAio",
    "BarrierAio",
    "CountDownLatchAio",
    "LoopSemaphore",
    "LoopSemaphoreAio",
]
