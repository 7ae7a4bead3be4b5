"""``syncx`` on interlock: ``from interlock.compat.syncx.atomic import AtomicInt``."""

from interlock import __version__

from . import atomic, collections, locks

__all__ = ["__version__", "atomic", "locks", "collections"]
