"""``ft_utils.synchronization`` on interlock: ``RWLock``, ``RWReadContext``,
``RWWriteContext``, ``IntervalLock``.

All four stand on ``interlock.locks.RWLock`` (neither readers nor writers
starve; every wait releases the GIL / detaches, runs signal handlers and
continues when they return):

* ``RWLock()``: ``lock_read()`` / ``unlock_read()``, ``lock_write()`` /
  ``unlock_write()``, and ft_utils's counters ``readers()`` (read holds now),
  ``writers_waiting()`` (threads inside ``lock_write`` not yet holding) and
  ``writer_locked()``. Unlocking what is not held is a RuntimeError.
* ``RWReadContext(lock)`` / ``RWWriteContext(lock)``: ``with`` blocks holding
  ``lock`` for reading / writing.
* ``IntervalLock(interval=0.005)``: an exclusive lock owned by a thread
  (``lock()`` again from the owner, or ``unlock()``/``poll()``/``cede()`` from
  another thread: RuntimeError). ``cede()`` lets every waiting thread have the
  lock, then takes it back (``RWLock.bump_exclusive``: handed over, not
  raced for); ``poll()`` cedes once the lock has been held ``interval`` seconds
  since it was taken or last ceded. ``locked()``, ``with``.
"""

from __future__ import annotations

from threading import get_ident as _get_ident
from time import monotonic as _monotonic

from interlock.atomic import AtomicInt as _AtomicInt
from interlock.locks import RWLock as _RWLock

__all__ = ["RWLock", "RWReadContext", "RWWriteContext", "IntervalLock"]


class RWLock:
    """ft_utils's RWLock: interlock's RWLock plus hold/wait counters."""

    __slots__ = ("_lock", "_readers", "_writers_waiting")

    def __init__(self) -> None:
        self._lock = _RWLock()
        self._readers = _AtomicInt(0)
        self._writers_waiting = _AtomicInt(0)

    def lock_read(self) -> None:
        self._lock.acquire_read()
        self._readers.fetch_add(1)

    def unlock_read(self) -> None:
        self._readers.fetch_sub(1)
        try:
            self._lock.read_release()
        except BaseException:
            self._readers.fetch_add(1)
            raise

    def lock_write(self) -> None:
        self._writers_waiting.fetch_add(1)
        try:
            self._lock.acquire_write()
        finally:
            self._writers_waiting.fetch_sub(1)

    def unlock_write(self) -> None:
        self._lock.write_release()

    def readers(self) -> int:
        return self._readers.load()

    def writers_waiting(self) -> int:
        return self._writers_waiting.load()

    def writer_locked(self) -> bool:
        return self._lock.is_write_locked()


class _RWContext:
    __slots__ = ("_lock",)
    _acquire: str
    _release: str

    def __init__(self, lock: RWLock) -> None:
        if not isinstance(lock, RWLock):
            raise TypeError(f"lock must be an RWLock, not {type(lock).__name__}")
        self._lock = lock

    def __enter__(self) -> None:
        getattr(self._lock, self._acquire)()

    def __exit__(self, *exc_info: object) -> bool:
        getattr(self._lock, self._release)()
        return False


class RWReadContext(_RWContext):
    """``with RWReadContext(lock):`` holds ``lock`` for reading."""

    __slots__ = ()
    _acquire, _release = "lock_read", "unlock_read"


class RWWriteContext(_RWContext):
    """``with RWWriteContext(lock):`` holds ``lock`` for writing."""

    __slots__ = ()
    _acquire, _release = "lock_write", "unlock_write"


class IntervalLock:
    """ft_utils's IntervalLock (see the module docstring)."""

    __slots__ = ("_lock", "_interval", "_owner", "_since")

    def __init__(self, interval: float = 0.005) -> None:
        interval = float(interval)
        if not interval >= 0:
            raise ValueError("interval must be >= 0")
        self._lock = _RWLock()
        self._interval = interval
        self._owner = 0
        self._since = 0.0

    def _check_owner(self) -> None:
        if self._owner != _get_ident():
            raise RuntimeError("IntervalLock is not held by this thread")

    def lock(self) -> None:
        me = _get_ident()
        if self._owner == me:
            raise RuntimeError("IntervalLock is already held by this thread")
        self._lock.acquire_write()
        self._owner = me
        self._since = _monotonic()

    def unlock(self) -> None:
        self._check_owner()
        self._owner = 0
        self._lock.write_release()

    def cede(self) -> None:
        self._check_owner()
        me = self._owner
        self._owner = 0
        self._lock.bump_exclusive()
        self._owner = me
        self._since = _monotonic()

    def poll(self) -> None:
        self._check_owner()
        if _monotonic() - self._since >= self._interval:
            self.cede()

    def locked(self) -> bool:
        return self._lock.is_write_locked()

    def __enter__(self) -> IntervalLock:
        self.lock()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.unlock()
