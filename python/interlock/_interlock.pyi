"""Types of the extension module ``interlock._interlock``.

Hand-written: nanobind's stubgen renders the fast methods (plain CPython
methods installed through ``Py_tp_methods``, see bindings/fast_methods.hpp) as
bare ``MethodDescriptorType`` attributes. Keep this file in step with
bindings/*.cpp: a fast method's text signature there (e.g.
``"add($self, n, /)"``) is its signature here, with types added.

The submodules ``atomic`` (with ``_syncx`` and ``_ft_utils``) and
``locks`` (with ``_syncx``) are declared as classes so that this stays one
file; use them as ``from interlock._interlock import atomic`` (a dotted
``from interlock._interlock.atomic import ...`` is not typed). The classes of
``atomic`` and ``locks`` are declared in the public stubs (interlock/atomic.pyi,
interlock/locks.pyi, interlock/compat/...) and aliased here.
"""

from collections.abc import Callable, Iterator
from typing import Any, Final, TypedDict, final

from typing_extensions import Self

import interlock.atomic as _atomic
import interlock.collections as _collections
import interlock.compat.ft_utils.concurrency as _ft_concurrency
import interlock.compat.syncx.atomic as _syncx_atomic
import interlock.compat.fastipc as _fastipc
import interlock.compat.syncx.locks as _syncx_locks
import interlock.ipc._atomics as _ipc_atomics
import interlock.ipc._futex as _ipc_futex
import interlock.ipc._queue as _ipc_queue
import interlock.locks as _locks

__version__: Final[str]

class _BuildInfo(TypedDict):
    version: str
    compiler_id: str
    compiler_version: str
    compiler_banner: str
    cxx_standard: int
    build_type: str
    assertions: bool
    free_threaded: bool
    python_version: str
    stable_abi: bool
    nanobind_version: str

def build_info() -> _BuildInfo:
    """Describe how this extension was built: version, compiler, build type,
    free-threading, nanobind version."""

@final
class atomic:
    """Submodule ``interlock._interlock.atomic``: the classes of
    ``interlock.atomic``, and the compat façades' atomics in ``_syncx`` and
    ``_ft_utils``."""

    AtomicInt = _atomic.AtomicInt
    AtomicBool = _atomic.AtomicBool
    AtomicFloat = _atomic.AtomicFloat
    AtomicReference = _atomic.AtomicReference

    @final
    class _syncx:
        """Submodule ``interlock._interlock.atomic._syncx``: the classes of
        ``interlock.compat.syncx.atomic``."""

        AtomicInt = _syncx_atomic.AtomicInt
        AtomicBool = _syncx_atomic.AtomicBool
        AtomicFloat = _syncx_atomic.AtomicFloat
        AtomicReference = _syncx_atomic.AtomicReference

    @final
    class _ft_utils:
        """Submodule ``interlock._interlock.atomic._ft_utils``: the classes of
        ``interlock.compat.ft_utils.concurrency``."""

        AtomicInt64 = _ft_concurrency.AtomicInt64
        AtomicReference = _ft_concurrency.AtomicReference
        AtomicFlag = _ft_concurrency.AtomicFlag

@final
class locks:
    """Submodule ``interlock._interlock.locks``: the native classes of
    ``interlock.locks``, and syncx's lock classes in ``_syncx``."""

    Lock = _locks.Lock
    LockGuard = _locks.LockGuard
    RLock = _locks.RLock
    RLockGuard = _locks.RLockGuard
    RWLock = _locks.RWLock
    ReadGuard = _locks.ReadGuard
    WriteGuard = _locks.WriteGuard
    Semaphore = _locks.Semaphore
    BoundedSemaphore = _locks.BoundedSemaphore
    Event = _locks.Event
    Once = _locks.Once
    CountDownLatch = _locks.CountDownLatch

    @final
    class _syncx:
        """Submodule ``interlock._interlock.locks._syncx``: the classes of
        ``interlock.compat.syncx.locks`` that are its own."""

        Lock = _syncx_locks.Lock
        RLock = _syncx_locks.RLock
        RWLock = _syncx_locks.RWLock

@final
class collections:
    """Submodule ``interlock._interlock.collections``: the native classes of
    ``interlock.collections``."""

    LocalWrapper = _collections.LocalWrapper
    Queue = _collections.Queue
    ConcurrentQueue = _collections.ConcurrentQueue
    StdConcurrentQueue = _collections.StdConcurrentQueue
    ConcurrentGatheringIterator = _collections.ConcurrentGatheringIterator
    Empty = _collections.Empty
    Full = _collections.Full
    ShutDown = _collections.ShutDown
    @final
    class _GatheringIterator:
        """The iterator that ConcurrentGatheringIterator.iterator() returns."""

        def __iter__(self) -> collections._GatheringIterator: ...
        def __next__(self) -> Any: ...

    class ConcurrentDictBase:
        """The native base of ``interlock.collections.ConcurrentDict``."""

        @property
        def scaling(self) -> int: ...
        def __getitem__(self, key: Any, /) -> Any: ...
        def __setitem__(self, key: Any, value: Any, /) -> None: ...
        def __delitem__(self, key: Any, /) -> None: ...
        def __contains__(self, key: object, /) -> bool: ...
        def __len__(self) -> int: ...
        def __iter__(self) -> Iterator[Any]: ...
        def get(self, key: Any, default: Any = None, /) -> Any: ...
        def pop(self, key: Any, default: Any = ..., /) -> Any: ...
        def popitem(self, /) -> tuple[Any, Any]: ...
        def setdefault(self, key: Any, default: Any = None, /) -> Any: ...
        def update_item(self, key: Any, fn: Callable[[Any], Any], default: Any = ..., /) -> Any: ...
        def clear(self, /) -> None: ...
        def copy(self, /) -> Self: ...
        def as_dict(self, /) -> dict[Any, Any]: ...

    class ConcurrentSetBase:
        """The native base of ``interlock.collections.ConcurrentSet``."""

        @property
        def scaling(self) -> int: ...
        def __contains__(self, value: object, /) -> bool: ...
        def __len__(self) -> int: ...
        def __iter__(self) -> Iterator[Any]: ...
        def add(self, value: Any, /) -> None: ...
        def discard(self, value: Any, /) -> None: ...
        def remove(self, value: Any, /) -> None: ...
        def pop(self, /) -> Any: ...
        def clear(self, /) -> None: ...
        def copy(self, /) -> Self: ...

    @final
    class ConcurrentIterator:
        """Iterator over a ConcurrentDictBase / ConcurrentSetBase (one shard
        snapshot at a time)."""

        def __iter__(self) -> Self: ...
        def __next__(self) -> Any: ...

@final
class _aio:
    """Submodule ``interlock._interlock._aio``: the event-loop waiter that
    interlock/_aio.py builds asyncio support on (not public API)."""

    @final
    class AsyncWait:
        """An event-loop waiter queued on a primitive (internal)."""

        @property
        def handed_off(self) -> bool:
            """Whether the waking release handed this waiter the lock / permit."""
        def cancel(self, /) -> None:
            """Withdraw the wait, giving back whatever a release handed over."""
        @staticmethod
        def _set_wake(fn: object, /) -> None: ...

@final
class ipc:
    """Submodule ``interlock._interlock.ipc``: the native classes of
    ``interlock.ipc``."""

    # buffer atomics (bindings/ipc_atomics.cpp)
    Atomic = _ipc_atomics.Atomic
    AtomicBytes = _ipc_atomics.AtomicBytes
    AtomicIntegral = _ipc_atomics.AtomicIntegral
    AtomicInt = _ipc_atomics.AtomicInt
    AtomicUint = _ipc_atomics.AtomicUint
    AtomicView = _ipc_atomics.AtomicView
    AtomicBytesView = _ipc_atomics.AtomicBytesView
    AtomicIntegralView = _ipc_atomics.AtomicIntegralView
    AtomicIntView = _ipc_atomics.AtomicIntView
    AtomicUintView = _ipc_atomics.AtomicUintView
    CmpxchgResult = _ipc_atomics.CmpxchgResult
    supported_widths = _ipc_atomics.supported_widths
    _new_view = _ipc_atomics._new_view
    _release_view = _ipc_atomics._release_view
    _buffer_info = _ipc_atomics._buffer_info
    _setup = _ipc_atomics._setup
    _op_names = _ipc_atomics._op_names
    _order_valid = _ipc_atomics._order_valid
    _fail_order_valid = _ipc_atomics._fail_order_valid
    # futex primitives (bindings/ipc_futex.cpp)
    FutexWord = _ipc_futex.FutexWord
    AtomicU32 = _ipc_futex.AtomicU32
    AtomicU64 = _ipc_futex.AtomicU64
    Mutex = _ipc_futex.Mutex
    NamedMutex = _ipc_futex.NamedMutex
    Semaphore = _ipc_futex.Semaphore
    NamedSemaphore = _ipc_futex.NamedSemaphore
    Event = _ipc_futex.Event
    NamedEvent = _ipc_futex.NamedEvent
    Barrier = _ipc_futex.Barrier
    # shared-memory queue (bindings/ipc_queue.cpp)
    ShmQueue = _ipc_queue.ShmQueue

    @final
    class _fastipc:
        """Submodule ``interlock._interlock.ipc._fastipc``: the native classes of
        ``interlock.compat.fastipc``."""

        FutexWord = _fastipc.FutexWord
        Mutex = _fastipc.Mutex
        Semaphore = _fastipc.Semaphore
