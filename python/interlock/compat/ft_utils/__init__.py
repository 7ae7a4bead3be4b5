"""``ft_utils`` on interlock: ``from interlock.compat.ft_utils.concurrency import AtomicInt64``."""

from . import concurrency, local

__all__ = ["concurrency", "local"]
