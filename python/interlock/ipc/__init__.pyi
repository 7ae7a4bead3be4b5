"""Types of ``interlock.ipc``."""

from typing import Final

from ._futex import (
    AtomicU32 as AtomicU32,
    AtomicU64 as AtomicU64,
    Barrier as Barrier,
    Event as Event,
    FutexWord as FutexWord,
    Mutex as Mutex,
    NamedEvent as NamedEvent,
    NamedMutex as NamedMutex,
    NamedSemaphore as NamedSemaphore,
    Semaphore as Semaphore,
)

__all__: Final[list[str]]
