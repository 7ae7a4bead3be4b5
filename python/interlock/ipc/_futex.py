"""Futex primitives on caller-supplied (shared) memory, and named ones.

The buffer classes are native (``interlock._interlock.ipc``); this module adds
what belongs to Python: the named classes (a buffer class on a
``_NamedRegion``, opened here with checked arguments), pickling (so a
primitive can be handed to a ``multiprocessing`` child started by *spawn* or
*forkserver*, e.g. as a ``Pool`` initializer argument), and the documentation.

Pickling:

* a buffer-backed primitive pickles by shared-memory handle when its buffer
  is a :class:`multiprocessing.shared_memory.SharedMemory` (pass the
  SharedMemory object itself, optionally with ``offset=``): the receiver
  attaches to the same segment by name. Other buffers (bytearray, mmap,
  memoryview slices) cannot be pickled (``TypeError``); under the *fork*
  start method nothing needs pickling, children inherit the objects;
* a named primitive pickles by name (and ``pid_dir``): the receiver attaches
  and registers itself as a user.
"""

from __future__ import annotations

import copyreg
import operator
import os
import sys
from typing import cast

from .._interlock import ipc as _ipc

FutexWord = _ipc.FutexWord
AtomicU32 = _ipc.AtomicU32
AtomicU64 = _ipc.AtomicU64
Mutex = _ipc.Mutex
Semaphore = _ipc.Semaphore
Event = _ipc.Event
Barrier = _ipc.Barrier


def _named_region(kind: str, name: str, size: int, mode: int = 0o600, pid_dir=None,
                  create: bool = True, whole: bool = False) -> _ipc._NamedRegion:
    """The region /dev/shm/interlock.<kind>.<name> (the name's own rules are
    the core's: ValueError)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be str, not {type(name).__name__}")
    mode = operator.index(mode)
    if not 0 <= mode <= 0o777:
        raise ValueError("mode must be within 0o000..0o777")
    if pid_dir is not None:
        pid_dir = os.fsdecode(pid_dir)
        if not pid_dir:
            raise ValueError("pid_dir must not be empty")
    return _ipc._NamedRegion(kind, name, size, mode, pid_dir or "", create, whole)


class NamedMutex(Mutex):
    """NamedMutex(name, *, mode=0o600, pid_dir=None)

    A Mutex created or attached by name under /dev/shm, with PID tracking."""

    __slots__ = ()

    def __init__(self, name: str, *, mode: int = 0o600, pid_dir: str | None = None) -> None:
        super().__init__(_named_region("mutex", name, Mutex.size, mode, pid_dir))

    @property
    def created(self) -> bool:
        """Whether this process created the object (rather than attached to it)."""
        return cast(_ipc._NamedRegion, self._source).created


class NamedSemaphore(Semaphore):
    """NamedSemaphore(name, value=0, *, mode=0o600, pid_dir=None)

    A Semaphore created or attached by name under /dev/shm, with PID tracking;
    value applies when this call creates it."""

    __slots__ = ()

    def __init__(self, name: str, value: int | None = 0, *, mode: int = 0o600,
                 pid_dir: str | None = None) -> None:
        super().__init__(_named_region("semaphore", name, Semaphore.size, mode, pid_dir), value)

    created = NamedMutex.created


class NamedEvent(Event):
    """NamedEvent(name, *, mode=0o600, pid_dir=None)

    An Event created or attached by name under /dev/shm, with PID tracking."""

    __slots__ = ()

    def __init__(self, name: str, *, mode: int = 0o600, pid_dir: str | None = None) -> None:
        super().__init__(_named_region("event", name, Event.size, mode, pid_dir))

    created = NamedMutex.created


for _cls in (NamedMutex, NamedSemaphore, NamedEvent):
    _cls.__module__ = "interlock.ipc"

__all__ = [
    "FutexWord", "AtomicU32", "AtomicU64", "Mutex", "Semaphore", "Event", "Barrier",
    "NamedMutex", "NamedSemaphore", "NamedEvent",
]

# ------------------------------------------------------------------ pickling


def _attach_shared_memory(name: str):
    from multiprocessing import shared_memory

    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    return shared_memory.SharedMemory(name=name)


def _rebuild_buffer(cls, shm_name: str, offset: int, shared: bool):
    shm = _attach_shared_memory(shm_name)
    if cls in (AtomicU32, AtomicU64):
        return cls(shm, offset)
    if cls is Semaphore:
        return cls(shm, None, offset, shared)
    if cls is Barrier:
        return cls(shm, None, offset, shared)
    return cls(shm, offset, shared)


def _reduce_buffer(obj):
    source = obj._source
    from multiprocessing import shared_memory

    if not isinstance(source, shared_memory.SharedMemory):
        raise TypeError(
            f"cannot pickle a {type(obj).__name__} on a {type(source).__name__}: only one "
            "on a multiprocessing.shared_memory.SharedMemory (passed as the buffer) pickles, "
            "by the segment's name")
    shared = getattr(obj, "shared", True)
    return _rebuild_buffer, (type(obj), source.name, obj._offset, shared)


def _rebuild_named(cls, name: str, pid_dir: str):
    return cls(name, pid_dir=pid_dir)


def _reduce_named(obj):
    if obj.closed:
        raise ValueError(f"cannot pickle a closed {type(obj).__name__}")
    return _rebuild_named, (type(obj), obj.name, obj.pid_dir)


for _cls in (FutexWord, AtomicU32, AtomicU64, Mutex, Semaphore, Event, Barrier):
    copyreg.pickle(_cls, _reduce_buffer)
for _cls in (NamedMutex, NamedSemaphore, NamedEvent):
    copyreg.pickle(_cls, _reduce_named)
del _cls

# Named objects' lifetime (fork adoption, closing at exit): bindings/ipc_futex.cpp.
