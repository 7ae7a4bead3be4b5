"""``ft_utils`` on interlock: ``from interlock.compat.ft_utils.concurrency import AtomicInt64``."""

from . import concurrency, local, synchronization

__all__ = ["concurrency", "local", "synchronization"]
