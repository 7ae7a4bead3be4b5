"""The ``atomics`` package's API (seed 004) on interlock's buffer atomics.

``import interlock.compat.atomics as atomics`` then use it as the original:
``atomics.atomic(width=4, atype=atomics.INT)``,
``with atomics.atomicview(buffer=buf, atype=atomics.INT) as a: a.inc()``.
The classes are interlock.ipc's; submodules ``exc``, ``base``, ``view`` and
``ctx`` hold the same names as the original's.
"""

from ...ipc._atomics import (
    ANY,
    BYTES,
    INT,
    INTEGRAL,
    UINT,
    Alignment,
    AlignmentError,
    Atomic,
    AtomicBytes,
    AtomicBytesView,
    AtomicBytesViewContext,
    AtomicInt,
    AtomicIntegral,
    AtomicIntegralView,
    AtomicIntegralViewContext,
    AtomicIntView,
    AtomicIntViewContext,
    AtomicUint,
    AtomicUintView,
    AtomicUintViewContext,
    AtomicView,
    AtomicViewContext,
    CmpxchgResult,
    MemoryOrder,
    MemoryOrderError,
    OpType,
    UnsupportedOperationException,
    UnsupportedWidthException,
    atomic,
    atomicview,
)
from . import base, ctx, exc, view

__all__ = [
    "ANY", "INTEGRAL", "BYTES", "INT", "UINT",
    "atomic", "atomicview",
    "Atomic", "AtomicView", "AtomicViewContext",
    "AtomicBytes", "AtomicBytesView", "AtomicBytesViewContext",
    "AtomicIntegral", "AtomicIntegralView", "AtomicIntegralViewContext",
    "AtomicInt", "AtomicIntView", "AtomicIntViewContext",
    "AtomicUint", "AtomicUintView", "AtomicUintViewContext",
    "Alignment", "CmpxchgResult", "MemoryOrder", "OpType",
    "AlignmentError", "MemoryOrderError", "UnsupportedWidthException",
    "UnsupportedOperationException",
    "base", "ctx", "exc", "view",
]
