"""``syncx.collections`` on interlock: ``ConcurrentDict`` and ``ConcurrentSet``
(seed 000), which are interlock.collections' own classes.

* ``ConcurrentDict()``: item access, ``in``, ``len``/``bool``, ``get``,
  ``setdefault``, ``pop`` (with optional defaults; atomic per key), ``clear``,
  and pickling through ``__getstate__()`` (a plain ``dict``) /
  ``__setstate__(state)``, plus the rest of ``MutableMapping``.
* ``ConcurrentSet()``: ``in``, ``add``, ``discard``, ``remove``, ``clear``,
  ``copy``, pickling through lists (``__getstate__()`` is a ``list``).
"""

from interlock.collections import ConcurrentDict, ConcurrentSet

__all__ = ["ConcurrentDict", "ConcurrentSet"]
