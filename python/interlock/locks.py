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
)
from ._loop_semaphore import LoopSemaphore, LoopSemaphoreAio
from ._sync import Barrier, BarrierAio, BrokenBarrierError, Condition, ConditionAio
from ._aio import (  # also adds the .aio views and async with (see _aio.py)
    CountDownLatchAio,
    EventAio,
    LockAio,
    SemaphoreAio,
)

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
