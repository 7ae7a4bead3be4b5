"""``syncx.collections`` on interlock: ``Queue``, ``Empty``, ``Full``.

* ``Queue(maxsize=0)``: interlock's native ``Queue`` (zero means unbounded):
  ``put(item, block=True, timeout=None)`` / ``get(block=True, timeout=None)``
  with the standard library's contract, ``put_nowait`` / ``get_nowait``,
  ``qsize`` / ``empty`` / ``full`` (and, beyond syncx, ``task_done`` / ``join``
  / ``shutdown``). Blocking calls release the GIL (detach on free-threaded
  builds) and are interruptible.
* ``Empty`` and ``Full`` are the standard library's ``queue.Empty`` and
  ``queue.Full``, so ``except queue.Empty`` catches them too.
"""

from interlock.collections import Empty, Full, Queue

__all__ = ["Queue", "Empty", "Full"]
