"""``syncx`` on interlock: ``from interlock.compat.syncx.atomic import AtomicInt``."""

from interlock import __version__

from . import atomic, locks
from . import collections

__all__ = ["__version__", "atomic", "locks"]
__all__ += ["collections"]
