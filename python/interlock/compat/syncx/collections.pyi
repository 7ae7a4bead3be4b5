"""Types of ``interlock.compat.syncx.collections`` (seed 000's collections)."""

from interlock.collections import ConcurrentDict as ConcurrentDict
from interlock.collections import ConcurrentSet as ConcurrentSet

__all__ = ["ConcurrentDict", "ConcurrentSet"]
