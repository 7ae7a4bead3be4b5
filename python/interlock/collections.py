"""Concurrent collections of Python objects: ``interlock.collections``.

* ``LocalWrapper(obj)``: a transparent proxy that keeps reference-count
  traffic on a thread-local object (ft_utils' ``LocalWrapper``; see
  ``interlock.compat.ft_utils.local`` for its contract).
* ``Queue(maxsize=0)``: ``queue.Queue``'s contract (put/get with block and
  timeout, ``*_nowait``, qsize/empty/full, task_done/join, Python 3.13's
  shutdown), raising the stdlib's ``queue.Empty`` / ``queue.Full`` /
  ``queue.ShutDown`` (``ShutDown`` here: ``queue.ShutDown`` on 3.13+, a
  fallback class before).
* ``ConcurrentQueue(scaling=None, lock_free=False)``, ``StdConcurrentQueue(maxsize=0)``,
  ``ConcurrentGatheringIterator(scaling=None)``: ft_utils' queues and
  gathering iterator (see ``interlock.compat.ft_utils.concurrency``).
"""

from ._interlock.collections import LocalWrapper
from ._interlock.collections import (
    ConcurrentGatheringIterator,
    ConcurrentQueue,
    Empty,
    Full,
    Queue,
    ShutDown,
    StdConcurrentQueue,
)

__all__ = ["LocalWrapper"]
__all__ += ["Queue", "ConcurrentQueue", "StdConcurrentQueue", "ConcurrentGatheringIterator",
            "Empty", "Full", "ShutDown"]
