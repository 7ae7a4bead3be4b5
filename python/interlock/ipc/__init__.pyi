"""Cross-process primitives on shared memory: ``interlock.ipc``."""

from ._atomics import ANY as ANY
from ._atomics import BYTES as BYTES
from ._atomics import INT as INT
from ._atomics import INTEGRAL as INTEGRAL
from ._atomics import UINT as UINT
from ._atomics import Alignment as Alignment
from ._atomics import AlignmentError as AlignmentError
from ._atomics import Atomic as Atomic
from ._atomics import AtomicBytes as AtomicBytes
from ._atomics import AtomicBytesView as AtomicBytesView
from ._atomics import AtomicBytesViewContext as AtomicBytesViewContext
from ._atomics import AtomicInt as AtomicInt
from ._atomics import AtomicIntegral as AtomicIntegral
from ._atomics import AtomicIntegralView as AtomicIntegralView
from ._atomics import AtomicIntegralViewContext as AtomicIntegralViewContext
from ._atomics import AtomicIntView as AtomicIntView
from ._atomics import AtomicIntViewContext as AtomicIntViewContext
from ._atomics import AtomicUint as AtomicUint
from ._atomics import AtomicUintView as AtomicUintView
from ._atomics import AtomicUintViewContext as AtomicUintViewContext
from ._atomics import AtomicView as AtomicView
from ._atomics import AtomicViewContext as AtomicViewContext
from ._atomics import CmpxchgResult as CmpxchgResult
from ._atomics import MemoryOrder as MemoryOrder
from ._atomics import MemoryOrderError as MemoryOrderError
from ._atomics import OpType as OpType
from ._atomics import UnsupportedOperationException as UnsupportedOperationException
from ._atomics import UnsupportedWidthException as UnsupportedWidthException
from ._atomics import atomic as atomic
from ._atomics import atomicview as atomicview
from ._atomics import supported_widths as supported_widths
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
from ._queue import JoinableQueue as JoinableQueue
from ._queue import ObjectQueue as ObjectQueue
from ._queue import ShmQueue as ShmQueue
from ._queue import ShmQueueAio as ShmQueueAio
from ._queue import SimpleQueue as SimpleQueue
