"""atomics.ctx: the view context classes (atomicview())."""

from interlock.ipc._atomics import AtomicViewContext as AtomicViewContext
from interlock.ipc._atomics import AtomicBytesViewContext as AtomicBytesViewContext
from interlock.ipc._atomics import AtomicIntegralViewContext as AtomicIntegralViewContext
from interlock.ipc._atomics import AtomicIntViewContext as AtomicIntViewContext
from interlock.ipc._atomics import AtomicUintViewContext as AtomicUintViewContext
