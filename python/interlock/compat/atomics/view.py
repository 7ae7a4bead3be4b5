"""atomics.view: the view classes (from an atomicview() context's __enter__)."""

from ...ipc._atomics import (
    AtomicBytesView,
    AtomicIntegralView,
    AtomicIntView,
    AtomicUintView,
    AtomicView,
)

__all__ = ["AtomicView", "AtomicBytesView", "AtomicIntegralView", "AtomicIntView",
           "AtomicUintView"]
