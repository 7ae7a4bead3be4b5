"""``syncx.collections`` on interlock (seed 000): ``Queue``, ``Empty``, ``Full``,
``ConcurrentDict`` and ``ConcurrentSet``, which are interlock.collections' own classes.

* ``Queue(maxsize=0)``: interlock's native ``Queue`` (zero means unbounded):
  ``put(item, block=True, timeout=None)`` / ``get(block=True, timeout=None)``
  with the standard library's contract, ``put_nowait`` / ``get_nowait``,
  ``qsize`` / ``empty`` / ``full`` (and, beyond syncx, ``task_done`` / ``join``
  / ``shutdown``). Blocking calls release the GIL (detach on free-threaded
  builds) and are interruptible.
* ``Empty`` and ``Full`` are the standard library's ``queue.Empty`` and
  ``queue.Full``, so ``except queue.Empty`` catches them too.
* ``ConcurrentDict()``: item access, ``in``, ``len``/``bool``, ``get``,
  ``setdefault``, ``pop`` (with optional defaults; atomic per key), ``clear``,
  and pickling through ``__getstate__()`` (a plain ``dict``) /
  ``__setstate__(state)``, plus the rest of ``MutableMapping``.
* ``ConcurrentSet()``: ``in``, ``add``, ``discard``, ``remove``, ``clear``,
  ``copy``, pickling through lists (``__getstate__()`` is a ``list``).
"""

from interlock.collections import ConcurrentDict, ConcurrentSet, Empty, Full, Queue

__all__ = ["Queue", "Empty", "Full", "ConcurrentDict", "ConcurrentSet"]
