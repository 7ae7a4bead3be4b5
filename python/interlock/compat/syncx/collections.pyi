"""Types of ``interlock.compat.syncx.collections`` (syncx's ``collections``, seed 000)."""

from interlock.collections import ConcurrentDict as ConcurrentDict
from interlock.collections import ConcurrentSet as ConcurrentSet
from interlock.collections import Empty as Empty
from interlock.collections import Full as Full
from interlock.collections import Queue as Queue

__all__ = ["Queue", "Empty", "Full", "ConcurrentDict", "ConcurrentSet"]
