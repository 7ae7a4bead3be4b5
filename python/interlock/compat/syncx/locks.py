"""``syncx.locks`` on interlock: ``from interlock.compat.syncx.locks import Lock``.

Names, signatures, return values and exceptions are those of syncx's
``locks`` module. Every class is native: ``Lock``, ``RLock`` and ``RWLock``
are interlock's own C++ types with syncx's conventions (own method tables,
no Python wrappers); the guards are interlock's guard types.

syncx's conventions, where they differ from ``interlock.locks``:

* ``acquire(blocking=True, timeout=None)`` (and ``guard``, ``acquire_read``,
  ``acquire_write``, ``read_guard``, ``write_guard``): ``blocking=False``
  tries once and ignores the timeout; ``None``, ``inf`` and ``nan`` wait
  forever; a negative timeout tries once (no ValueError); a timeout that is
  not a real number raises TypeError.
* ``with lock:`` binds the lock itself (``__enter__`` returns ``self``) and
  ``__exit__`` returns ``False``.
* ``RLock`` follows syncx's documentation (``acquire()`` returns a bool, like
  ``Lock``), not its older guard-returning implementation.
* Aliases of syncx's original: ``Lock.lock``, ``RLock.lock``,
  ``RWLock.read_lock`` / ``try_read_lock`` / ``write_lock`` /
  ``try_write_lock``, ``WriteGuard.unlock_fair``.

Where syncx had undefined behaviour (releasing a lock that is not held), this
raises RuntimeError. Waits release the GIL and are interruptible by signals.
"""

import interlock.locks  # noqa: F401  (the reprs are interlock/locks.py's)
from interlock._interlock.locks import LockGuard, ReadGuard, RLockGuard, WriteGuard
from interlock._interlock.locks._syncx import Lock, RLock, RWLock

__all__ = [
    "Lock",
    "LockGuard",
    "RLock",
    "RLockGuard",
    "RWLock",
    "ReadGuard",
    "WriteGuard",
]
