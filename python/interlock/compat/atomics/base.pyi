"""atomics.base: the atomic classes with their own storage (atomic())."""

from interlock.ipc._atomics import Atomic as Atomic
from interlock.ipc._atomics import AtomicBytes as AtomicBytes
from interlock.ipc._atomics import AtomicIntegral as AtomicIntegral
from interlock.ipc._atomics import AtomicInt as AtomicInt
from interlock.ipc._atomics import AtomicUint as AtomicUint
