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

* ``ConcurrentDict(scaling=17, dictionary=None)``: ft_utils's concurrent dict,
  an ``interlock.collections.ConcurrentDict`` with ft_utils's positional
  ``scaling`` (the number of shards; ft_utils calls it ``initial_capacity``),
  its initial data from ``dictionary`` (a ``dict``, else TypeError), and
  ``keys()`` / ``values()`` / ``items()`` returning lists (snapshots), as
  ft_utils 0.2.0 does.
* ``ConcurrentDeque(iterable=())``: ``interlock.collections.ConcurrentDeque``
  (``collections.deque``'s API, every method atomic, plus ``contains``).
* ``ProcessSemaphore(value)``: a fair semaphore shared by every event loop of
  the process (``await acquire()``, ``release()``, ``async with``): the ``.aio``
  view of an ``interlock.locks.LoopSemaphore``; ``value < 1`` is a ValueError
  as in ft_utils.
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
* ``ShutDown`` (``queue.ShutDown`` on 3.13+, a fallback class before),
  ``Empty`` (``queue.Empty``) and ``Full`` (``queue.Full``).
"""

from types import GenericAlias as _GenericAlias

from interlock import collections as _collections
from interlock.collections import ConcurrentGatheringIterator, ConcurrentQueue, Empty, Full, ShutDown
from interlock.collections import StdConcurrentQueue
from interlock._interlock.atomic import _ft_utils as _native
from interlock.locks import LoopSemaphore, LoopSemaphoreAio

AtomicInt64 = _native.AtomicInt64
AtomicReference = _native.AtomicReference
setattr(AtomicReference, "__class_getitem__", classmethod(_GenericAlias))  # AtomicReference[T]
AtomicFlag = _native.AtomicFlag


def _format_int64(self, format_spec, /):
    """Format the value like an int."""
    return format(self.get(), format_spec)


setattr(AtomicInt64, "__format__", _format_int64)  # a cold path; the operators stay native


def _reference_arg(*args, **kwargs):
    """The object of ft_utils's ``AtomicReference(...)`` (called by its native
    ``__init__``): zero or one argument, positional or as ``value`` (its stubs)
    or ``obj`` (its documentation); None when there is none."""
    for key in kwargs:
        if key not in ("value", "obj"):
            raise TypeError(f"AtomicReference() got an unexpected keyword argument '{key}'")
    given = [*args, *kwargs.values()]
    if len(given) > 1:
        raise TypeError("AtomicReference() takes zero or one argument")
    return given[0] if given else None


class ConcurrentDict(_collections.ConcurrentDict):
    """ft_utils's ``ConcurrentDict(scaling=17, dictionary=None)``."""

    __slots__ = ()

    def __new__(cls, scaling=17, dictionary=None):
        return super().__new__(cls, scaling=17 if scaling is None else scaling)

    def __init__(self, scaling=17, dictionary=None):
        if dictionary is not None:
            if not isinstance(dictionary, dict):
                raise TypeError(f"dictionary must be a dict, not {type(dictionary).__name__}")
            self.update(dictionary)

    def __reduce__(self):
        return (type(self), (self.scaling, self.as_dict()))

    # ft_utils 0.2.0 returns lists (snapshots), not views.
    def keys(self):
        return list(self)

    def values(self):
        return list(self._iter_values())

    def items(self):
        return list(self._iter_items())


ConcurrentDeque = _collections.ConcurrentDeque


class ProcessSemaphore(LoopSemaphoreAio):
    """ft_utils's ``ProcessSemaphore(value)``: ``interlock.locks.LoopSemaphore(value).aio``."""

    __slots__ = ()

    def __init__(self, value):
        if value < 1:
            raise ValueError(f"value must be >= 1, got {value}")
        super().__init__(LoopSemaphore(value))


__all__ = ["AtomicInt64", "AtomicReference", "AtomicFlag", "ConcurrentDict", "ConcurrentDeque",
           "ConcurrentQueue", "StdConcurrentQueue", "ConcurrentGatheringIterator",
           "ProcessSemaphore", "ShutDown", "Empty", "Full"]
