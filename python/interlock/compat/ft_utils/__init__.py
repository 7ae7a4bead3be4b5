"""``ft_utils`` on interlock: ``from interlock.compat.ft_utils.concurrency import AtomicInt64``."""

from . import concurrency

__all__ = ["concurrency"]
