"""Futex primitives on caller-supplied (shared) memory, and named ones.

The buffer classes are native (``interlock._interlock.ipc``); this module adds
what belongs to Python: their constructors (argument checks) and
documentation, the named classes (a buffer class on a ``_NamedRegion``,
opened here with checked arguments), and pickling (so a primitive can be
handed to a ``multiprocessing`` child started by *spawn* or *forkserver*,
e.g. as a ``Pool`` initializer argument).

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


# The buffer classes' documentation and constructors are set here, on the
# native classes themselves (a subclass would make method lookups slower). A
# constructor checks its arguments and calls the native one, native(self,
# buffer, offset, shared, arg) (arg: Semaphore's value, Barrier's parties).
def _public(cls: type, doc: str, make=None, word: bool = False) -> None:
    native = cls.__dict__["__init__"]  # the tp_init slot (a wrapper)
    if make is not None:
        __init__ = make(native)
    elif word:
        def __init__(self, buffer, offset: int = 0) -> None:
            native(self, buffer, offset, True, 0)
    else:
        def __init__(self, buffer, offset: int = 0, shared: bool = True) -> None:  # type: ignore[misc]
            native(self, buffer, offset, shared, 0)
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    cls.__init__ = __init__  # type: ignore[misc]
    cls.__doc__ = doc


def _u32(value, lo: int, hi: int, low: str, high_type: type[Exception], high: str) -> int:
    if value is None:
        return 0
    value = operator.index(value)
    if value < lo:
        raise ValueError(low)
    if value > hi:
        raise high_type(high)
    return value


def _semaphore_value(value) -> int:
    """A semaphore's initial value (None: 0)."""
    return _u32(value, 0, 2**32 - 1, "semaphore initial value must be >= 0", OverflowError,
                "semaphore initial value must be < 2**32")


def _semaphore(native):
    def __init__(self, buffer, value: int | None = 0, offset: int = 0, shared: bool = True) -> None:
        native(self, buffer, offset, shared, _semaphore_value(value))
    return __init__


def _barrier(native):
    def __init__(self, buffer, parties: int | None = None, offset: int = 0,
                 shared: bool = True) -> None:
        range_ = "parties must be between 1 and 2**30"
        native(self, buffer, offset, shared, _u32(parties, 1, 2**30, range_, ValueError, range_))
    return __init__


_public(FutexWord, """A 32-bit futex word in a caller-supplied writable buffer (4 bytes, 4-byte
aligned, at offset): wait(expected, timeout) / wake(n), acquire load()
and release store(). shared=False uses process-private futexes (threads
of one process only; every user of the word must agree).""")
_public(AtomicU32, """An unsigned 32-bit atomic in a caller-supplied writable buffer (4 bytes,
4-byte aligned): load/store/cas/exchange/fetch_add.""", word=True)
_public(AtomicU64, """An unsigned 64-bit atomic in a caller-supplied writable buffer (8 bytes,
8-byte aligned): load/store/cas/exchange/fetch_add.""", word=True)
_public(Mutex, """A lock in a caller-supplied writable buffer (64 bytes, 4-byte aligned, at
offset; zero-filled memory is initialised, an existing Mutex is attached,
anything else is refused), usable by threads of any process mapping it.
threading.Lock's API. If a process dies holding it, the next acquirer gets
it within about a second and owner_died is True while it holds it.""")
_public(Semaphore, """A counting semaphore in a caller-supplied writable buffer (64 bytes,
4-byte aligned). value initialises fresh (zero-filled) memory; attaching to
an existing Semaphore keeps its count. post(n) / wait(timeout), and
threading.Semaphore's acquire/release/with.""", _semaphore)
_public(Event, """A flag in a caller-supplied writable buffer (64 bytes, 4-byte aligned)
that threads of any process can wait for: threading.Event's API.""")
_public(Barrier, """A cyclic barrier for parties threads of any processes, in a caller-supplied
writable buffer (64 bytes, 4-byte aligned): threading.Barrier's wait /
abort / reset / parties / n_waiting / broken. parties is required for fresh
memory and, if given, must match an existing barrier.""", _barrier)


# The fastipc façade's classes (interlock.compat.fastipc): set here too, so
# that the generated stubs see them.
def _fastipc(native):
    def __init__(self, buffer, shared: bool = True) -> None:
        native(self, buffer, 0, shared, 0)
    return __init__


def _fastipc_semaphore(native):
    def __init__(self, buffer, initial: int | None = None, shared: bool = True) -> None:
        value = None if initial is None else _semaphore_value(initial)
        native(self, buffer, 0, shared, 0)  # attaches (fresh memory: 0)
        if value is not None:
            self._store_value(value)
    return __init__


_public(_ipc._fastipc.FutexWord,
        "fastipc's buffer-backed futex word (4 bytes, 4-byte aligned).", _fastipc)
_public(_ipc._fastipc.Mutex, "fastipc's buffer-backed mutex (64 bytes, 4-byte aligned).",
        _fastipc)
_public(_ipc._fastipc.Semaphore, """fastipc's buffer-backed semaphore (64 bytes, 4-byte aligned). initial, if
given, sets the count; None attaches without changing it.""", _fastipc_semaphore)


def _named_members(cls: type) -> None:
    """Sets on cls (ShmQueue too: _queue.py) what a named object reads from
    its _NamedRegion (its _source); None / 0 for an object on a buffer."""
    def region(self) -> _ipc._NamedRegion | None:
        source = self._source
        return source if isinstance(source, _ipc._NamedRegion) else None

    def name(self) -> str | None:
        """The object's name (None for one on a buffer)."""
        return None if (r := region(self)) is None else r.name

    def pid_dir(self) -> str | None:
        """The PID-tracking directory (None for an object on a buffer)."""
        return None if (r := region(self)) is None else r.pid_dir

    def shm_path(self) -> str | None:
        """The object's file under /dev/shm (None for one on a buffer)."""
        return None if (r := region(self)) is None else "/dev/shm/" + r.shm_name

    def _process_count(self) -> int:
        """Live processes registered as users (0 for an object on a buffer)."""
        return 0 if (r := region(self)) is None else r.process_count()

    for f in (name, pid_dir, shm_path, _process_count):
        # Members of the native class, for the stubs' generator too.
        f.__module__, f.__qualname__ = _ipc.__name__, f"{cls.__name__}.{f.__name__}"
        setattr(cls, f.__name__, f if f is _process_count else property(f))


for _cls in (FutexWord, Mutex, Semaphore, Event, Barrier):
    _named_members(_cls)


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
    if cls in (Semaphore, Barrier):
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
