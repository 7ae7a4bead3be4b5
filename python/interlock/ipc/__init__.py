"""Cross-process primitives on shared memory: ``interlock.ipc``.

Each part lives in a private module of this package and is re-exported here.
"""

__all__: list[str] = []

from ._futex import (  # noqa: E402
    AtomicU32, AtomicU64, Barrier, Event, FutexWord, Mutex, NamedEvent, NamedMutex,
    NamedSemaphore, Semaphore,
)
from ._futex import __all__ as _futex_all  # noqa: E402

__all__ += _futex_all
