"""atomics.ctx: the view context classes (atomicview())."""

from ...ipc._atomics import (
    AtomicBytesViewContext,
    AtomicIntegralViewContext,
    AtomicIntViewContext,
    AtomicUintViewContext,
    AtomicViewContext,
)

__all__ = ["AtomicViewContext", "AtomicBytesViewContext", "AtomicIntegralViewContext",
           "AtomicIntViewContext", "AtomicUintViewContext"]
