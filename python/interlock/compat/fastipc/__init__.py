"""``fastipc`` on interlock: ``from interlock.compat.fastipc import Mutex, NamedEvent``.

Names, units and return values are fastipc's (seed 003): timeouts are
integers of **nanoseconds** (``-1`` = forever), ``Mutex``/``Semaphore`` need a
64-byte, 4-byte aligned writable buffer, ``FutexWord``/``AtomicU32`` 4 bytes,
``AtomicU64`` 8. The buffer classes are native (interlock's core, the
``_fastipc`` classes of the extension); the named helpers are thin Python
classes over ``interlock.ipc``'s named objects, as fastipc's own are.

Differences, on purpose (docs/design.md, "Futex primitives and named
objects"): a ``Mutex`` whose holder process died is taken over by the next
acquirer (within about a second) instead of hanging it; attaching to an
existing named object never resets its state (fastipc's constructors store 0);
a named object is also removed from /dev/shm when its last process closes it
(``close()``) or exits. The PID-tracking directory is ``$FASTIPC_PID_DIR``,
else ``/dev/shm/fastipc``; it is created private (0700).

``GuardedSharedMemory(name, size, attach_only=False, *, pid_dir=...,
try_cleanup_on_exit=True)`` (``buf``, ``size``, ``name``, ``created``,
``get_num_procs()``, ``close()``, ``unlink()``, ``detach()``, ``with``),
``NoShmFoundError`` and ``align_to_cacheline_size(size)`` keep fastipc's
on-disk layout so they interoperate with fastipc processes (``_guarded``).
``interlock.compat.fastipc.nptree.schema`` is ``fastipc.nptree.schema`` (NumPy
trees in one flat buffer; needs numpy and optree: the ``nptree`` extra).
"""

from __future__ import annotations

import os
import sys

from ..._interlock import ipc as _ipc
from ...ipc import AtomicU32, AtomicU64, NamedEvent as _NamedEvent, NamedMutex as _NamedMutex
from ...ipc import NamedSemaphore as _NamedSemaphore
from ._guarded import GuardedSharedMemory, NoShmFoundError, align_to_cacheline_size

FutexWord = _ipc._fastipc.FutexWord
Mutex = _ipc._fastipc.Mutex
Semaphore = _ipc._fastipc.Semaphore

__all__ = [
    "FutexWord", "AtomicU32", "AtomicU64", "Mutex", "Semaphore",
    "NamedEvent", "NamedMutex", "NamedSemaphore",
    "GuardedSharedMemory", "NoShmFoundError", "align_to_cacheline_size",
]

# fastipc's own default; macOS has no /dev/shm (docs/design.md "Platforms").
_DEFAULT_PID_DIR = (
    "/dev/shm/fastipc" if sys.platform.startswith("linux") else f"/tmp/fastipc-{os.geteuid()}"
)


def _pid_dir() -> str:
    return os.environ.get("FASTIPC_PID_DIR") or _DEFAULT_PID_DIR


def _seconds(timeout_ns: int) -> float | None:
    """fastipc's nanoseconds (negative, i.e. -1 = forever) -> interlock's seconds
    (None = forever)."""
    if timeout_ns < 0:
        return None
    return timeout_ns / 1e9


# The façade's objects live beside interlock's own under /dev/shm (prefix
# "fastipc."), since their PID directory differs.
def _name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be str, not {type(name).__name__}")
    return "fastipc." + name


class NamedEvent:
    """fastipc's NamedEvent: set(), clear(), wait(timeout_ns=-1), is_set()."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._event = _NamedEvent(_name(name), pid_dir=_pid_dir())

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def wait(self, timeout_ns: int = -1) -> bool:
        return self._event.wait(_seconds(timeout_ns))

    def is_set(self) -> bool:
        return self._event.is_set()

    def close(self) -> None:
        self._event.close()

    def __reduce__(self):
        return NamedEvent, (self._name,)


class NamedMutex:
    """fastipc's NamedMutex: acquire(), try_acquire(), release(), ``with``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._mutex = _NamedMutex(_name(name), pid_dir=_pid_dir())
        self.acquire = self._mutex.__enter__

    def acquire(self) -> bool:  # replaced per instance by the native __enter__
        return self._mutex.acquire()

    def try_acquire(self) -> bool:
        return self._mutex.acquire(False)

    def release(self) -> None:
        if self._mutex.locked():
            self._mutex.release()

    def close(self) -> None:
        self._mutex.close()

    def __enter__(self) -> NamedMutex:
        self._mutex.__enter__()
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.release()

    def __reduce__(self):
        return NamedMutex, (self._name,)


class NamedSemaphore:
    """fastipc's NamedSemaphore: post(n)/post1(), wait(blocking, timeout in
    seconds, spin), wait_ns(blocking, timeout_ns, spin), value(); P/acquire
    alias wait, V/release alias post. ``initial`` applies when this call
    creates the semaphore."""

    def __init__(self, name: str, initial: int | None = None) -> None:
        self._name = name
        self._sem = _NamedSemaphore(_name(name), initial, pid_dir=_pid_dir())

    def post(self, n: int = 1) -> None:
        if n:
            self._sem.post(n)

    def post1(self) -> None:
        self._sem.post()

    def wait(self, blocking: bool = True, timeout: float = -1.0, spin: int = 128) -> bool:
        return self.wait_ns(blocking, -1 if timeout < 0 else int(timeout * 1_000_000_000), spin)

    def wait_ns(self, blocking: bool = True, timeout_ns: int = -1, spin: int = 128) -> bool:
        if not blocking:
            return self._sem.wait(0)
        return self._sem.wait(_seconds(timeout_ns))

    def value(self) -> int:
        return self._sem.value

    def close(self) -> None:
        self._sem.close()

    def __reduce__(self):
        return NamedSemaphore, (self._name,)

    P = wait
    acquire = wait
    V = post
    release = post
