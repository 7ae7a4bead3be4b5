"""Cross-process primitives on shared memory: ``interlock.ipc``.

Each part lives in a private module of this package and is re-exported here.
"""

import sys as _sys

__all__: list[str] = []

from ._atomics import *  # noqa: E402,F403  buffer atomics (seed 004's model)
from ._atomics import __all__ as _atomics_all  # noqa: E402

__all__ += _atomics_all

from .._interlock import ipc as _ipc  # noqa: E402

if hasattr(_ipc, "Mutex"):
    from ._futex import (  # noqa: E402
        AtomicU32, AtomicU64, Barrier, Event, FutexWord, Mutex, NamedEvent, NamedMutex,
        NamedSemaphore, Semaphore,
    )
    from ._futex import __all__ as _futex_all  # noqa: E402

    __all__ += _futex_all

    from ._queue import JoinableQueue, ObjectQueue, ShmQueue, ShmQueueAio, SimpleQueue  # noqa: E402,E501
    from ._queue import __all__ as _queue_all  # noqa: E402

    __all__ += _queue_all
else:
    # Windows: the cross-process waiting primitives and named objects are not
    # built (docs/design.md "Platforms"); the buffer atomics above are.
    _UNSUPPORTED = frozenset({
        "AtomicU32", "AtomicU64", "Barrier", "Event", "FutexWord", "Mutex", "NamedEvent",
        "NamedMutex", "NamedSemaphore", "Semaphore", "ObjectQueue", "ShmQueue", "ShmQueueAio",
        "JoinableQueue", "SimpleQueue",
    })

    def __getattr__(name: str):
        if name in _UNSUPPORTED:
            raise ImportError(
                f"interlock.ipc.{name} is not supported on this platform ({_sys.platform}): "
                "the cross-process waiting primitives, named objects and shared-memory "
                "queues need Linux or macOS; the buffer atomics of interlock.ipc work here"
            )
        raise AttributeError(f"module 'interlock.ipc' has no attribute {name!r}")
