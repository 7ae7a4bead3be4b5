"""atomics.view: the view classes (from an atomicview() context's __enter__)."""

from interlock.ipc._atomics import AtomicView as AtomicView
from interlock.ipc._atomics import AtomicBytesView as AtomicBytesView
from interlock.ipc._atomics import AtomicIntegralView as AtomicIntegralView
from interlock.ipc._atomics import AtomicIntView as AtomicIntView
from interlock.ipc._atomics import AtomicUintView as AtomicUintView
