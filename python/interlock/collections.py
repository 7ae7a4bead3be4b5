"""Concurrent collections of Python objects: ``interlock.collections``.

* ``LocalWrapper(obj)``: a transparent proxy that keeps reference-count
  traffic on a thread-local object (ft_utils' ``LocalWrapper``; see
  ``interlock.compat.ft_utils.local`` for its contract).
"""

from ._interlock.collections import LocalWrapper

__all__ = ["LocalWrapper"]
