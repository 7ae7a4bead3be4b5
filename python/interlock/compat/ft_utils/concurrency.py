"""``ft_utils.concurrency`` on interlock: ``AtomicInt64``, ``AtomicReference``,
``AtomicFlag``.

The classes are native (``interlock._interlock.atomic._ft_utils``), with
ft_utils's names, signatures and return values:

* ``AtomicInt64(value=0)``: ``get()``, ``set(value)``, ``incr()`` / ``decr()``
  (return the new value), ``add(value)`` (the new value; used in ft_utils's
  documentation), ``__format__``, and the numeric protocol: ``+ - * // | ^ &``
  and unary ``- + abs ~`` return plain ``int`` values (exact, never wrapped);
  the in-place forms are atomic, wrap at 64 bits and return the object;
  comparisons compare the value with ints and other ``AtomicInt64``. Operands
  are ``int`` or ``AtomicInt64`` (anything else: TypeError). Floor division
  as ft_utils documents it (``//`` rounds toward negative infinity), with
  ``ZeroDivisionError("division by zero")``. Unhashable (it defines
  comparisons), like the original.
* ``AtomicReference(obj=None)``: ``get()``, ``set(obj)``, ``exchange(obj)``
  (the prior object), ``compare_exchange(expected, obj) -> bool`` by identity;
  ``AtomicReference[T]`` works at run time.
* ``AtomicFlag(value)``: ``set(value)`` and ``bool(flag)``.

* ``ConcurrentDict(scaling=17)``: ft_utils's concurrent dict (``d[k]``,
  ``d[k] = v``, ``del d[k]``, ``in``, ``as_dict()``), an
  ``interlock.collections.ConcurrentDict`` with ft_utils's positional
  ``scaling`` (the number of shards) and no initial data.
* ``ConcurrentQueue(scaling=None, lock_free=False)``: ``push(value)``,
  ``pop(timeout=None)`` (``Empty`` on timeout; zero or negative: do not wait),
  ``pop_local(timeout=None)`` (a ``LocalWrapper``), ``shutdown(immediate=False)``,
  ``size()``, ``empty()``. After shutdown, ``push`` raises ``ShutDown``; ``pop``
  hands out what is queued, then raises ``ShutDown`` (at once when immediate).
  A failed push (out of memory) makes later pops raise ``RuntimeError``.
* ``StdConcurrentQueue(maxsize=0)``: a ``ConcurrentQueue`` subclass with
  ``queue.Queue``'s API (put/get with block and timeout, ``*_nowait``, qsize,
  full, task_done, join), waiting the lock-free way, as in ft_utils.
* ``ConcurrentGatheringIterator(scaling=None)``: ``insert(key, value)`` from any
  thread; ``iterator(max_key, clear=True)`` / ``iterator_local`` yield the
  values of keys 0..max_key in order, waiting for each; after a failed
  insertion they raise ``RuntimeError`` when they would have to wait.
* ``ShutDown`` (``queue.ShutDown`` on 3.13+, a fallback class before) and
  ``Empty`` (``queue.Empty``).
"""

from interlock import collections as _collections
from interlock.collections import ConcurrentGatheringIterator, ConcurrentQueue, Empty, ShutDown
from interlock.collections import StdConcurrentQueue
from interlock._interlock.atomic import _ft_utils as _native

AtomicInt64 = _native.AtomicInt64
AtomicReference = _native.AtomicReference
AtomicFlag = _native.AtomicFlag



class ConcurrentDict(_collections.ConcurrentDict):
    """ft_utils's ``ConcurrentDict(scaling=17)``."""

    __slots__ = ()

    def __new__(cls, scaling=17):
        return super().__new__(cls, scaling=scaling)

    def __init__(self, scaling=17):
        pass


__all__ = ["AtomicInt64", "AtomicReference", "AtomicFlag", "ConcurrentDict", "ConcurrentQueue",
           "StdConcurrentQueue", "ConcurrentGatheringIterator", "ShutDown", "Empty"]
