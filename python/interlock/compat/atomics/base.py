"""atomics.base: the atomic classes with their own storage (atomic())."""

from ...ipc._atomics import Atomic, AtomicBytes, AtomicInt, AtomicIntegral, AtomicUint

__all__ = ["Atomic", "AtomicBytes", "AtomicIntegral", "AtomicInt", "AtomicUint"]
