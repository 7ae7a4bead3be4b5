"""Cross-process primitives on shared memory: ``interlock.ipc``.

Each part lives in a private module of this package and is re-exported here.
"""

__all__: list[str] = []

from ._atomics import *  # noqa: E402,F403  buffer atomics (seed 004's model)
from ._atomics import __all__ as _atomics_all  # noqa: E402

__all__ += _atomics_all

from ._futex import (  # noqa: E402
    AtomicU32, AtomicU64, Barrier, Event, FutexWord, Mutex, NamedEvent, NamedMutex,
    NamedSemaphore, Semaphore,
)
from ._futex import __all__ as _futex_all  # noqa: E402

__all__ += _futex_all

from ._queue import JoinableQueue, ObjectQueue, ShmQueue, ShmQueueAio, SimpleQueue  # noqa: E402
from ._queue import __all__ as _queue_all  # noqa: E402

__all__ += _queue_all
