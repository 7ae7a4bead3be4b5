"""Concurrent collections of Python objects: ``interlock.collections``.

* ``ConcurrentDict(data=None, /, *, scaling=None, **kwargs)``: a
  ``collections.abc.MutableMapping`` split into independently locked shards
  (``scaling`` of them, default 17), with atomic per-key ``setdefault``,
  ``pop`` and ``update_item(key, fn[, default])``, ``as_dict()``, pickling and
  ``ConcurrentDict[K, V]``. ``d[k]``, ``k in d`` and ``d.get`` take no lock
  (writers do). Iteration never raises while other threads
  mutate: it walks the shards one at a time, taking a snapshot of each shard
  when it reaches it (docs/design.md, "ConcurrentDict and ConcurrentSet").
* ``ConcurrentSet(iterable=None, /, *, scaling=None)``: a
  ``collections.abc.MutableSet`` on the same core; the set operators
  (``| & - ^``) return ConcurrentSets.
* ``LocalWrapper(obj)``: a transparent proxy that keeps reference-count
  traffic on a thread-local object (ft_utils' ``LocalWrapper``; see
  ``interlock.compat.ft_utils.local`` for its contract).
* ``Queue(maxsize=0)``: ``queue.Queue``'s contract (put/get with block and
  timeout, ``*_nowait``, qsize/empty/full, task_done/join, Python 3.13's
  shutdown), raising the stdlib's ``queue.Empty`` / ``queue.Full`` /
  ``queue.ShutDown`` (``ShutDown`` here: ``queue.ShutDown`` on 3.13+, a
  fallback class before). ``q.aio`` is asyncio.Queue's API and raises
  asyncio's ``QueueEmpty`` / ``QueueFull`` / ``QueueShutDown`` (3.13+).
  Subclasses may override the public methods; queue.Queue's hooks (``_init``,
  ``_qsize``, ``_put``, ``_get``, ``mutex``, ``not_empty``, ``not_full``,
  ``all_tasks_done``, ``unfinished_tasks``, ``queue``) are not used by this
  native queue, so a subclass defining one is refused with a ``TypeError``
  naming it (at class creation) rather than silently ignored.
* ``ConcurrentDeque(iterable=(), maxlen=None)``: ``collections.deque``'s API and
  contract, every method atomic (one thread's append/pop never interleaves
  with another's), iteration raising ``RuntimeError`` when the deque changes
  under it, as ``deque`` does. ft_utils' ``ConcurrentDeque`` adds
  ``contains(value)``.
* ``ConcurrentQueue(scaling=None, lock_free=False)``, ``StdConcurrentQueue(maxsize=0)``,
  ``ConcurrentGatheringIterator(scaling=None)``: ft_utils' queues and
  gathering iterator (see ``interlock.compat.ft_utils.concurrency``).
"""

from collections import deque as _deque
from collections.abc import Callable as _Callable
from collections.abc import ItemsView, KeysView, Mapping, MutableMapping, MutableSet, ValuesView
from collections.abc import Iterator as _Iterator
from operator import index as _index
from reprlib import recursive_repr
from typing import Any as _Any
from types import GenericAlias

from ._interlock.collections import ConcurrentDictBase as _DictBase
from ._interlock.collections import ConcurrentSetBase as _SetBase
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
from ._aio import QueueAio  # also adds Queue.aio (see _aio.py)

# queue.Queue's subclass hooks. interlock's Queue is native: put/get never call
# _put/_get/_qsize/_init and there is no mutex or condition to share, so a
# subclass overriding one would be silently ignored. It is refused instead, at
# class creation (docs/design.md, "Decisions where the issues were silent").
_QUEUE_HOOKS = ("_init", "_qsize", "_put", "_get", "mutex", "not_empty", "not_full",
                "all_tasks_done", "unfinished_tasks", "queue")


def _queue_init_subclass(cls, **kwargs):
    for hook in _QUEUE_HOOKS:
        if hook in cls.__dict__:
            raise TypeError(
                f"{cls.__qualname__} defines {hook!r}, a queue.Queue subclass hook that "
                "interlock.collections.Queue does not use (its put/get are native and "
                "have no mutex or conditions): subclass queue.Queue for a custom "
                "container, or override put/get themselves")
    super(Queue, cls).__init_subclass__(**kwargs)


Queue.__init_subclass__ = classmethod(_queue_init_subclass)
Queue.__class_getitem__ = classmethod(GenericAlias)  # Queue[T], as queue.Queue


# Python methods of the native ft_utils classes. ConcurrentGatheringIterator's
# iterators are generators, as in ft_utils: each step waits natively (_take).
def _gather(take: _Callable[[int, bool], _Any], last: int, clear: bool,
            local: bool) -> _Iterator[_Any]:
    for key in range(last + 1):
        value = take(key, clear)
        yield LocalWrapper(value) if local else value


def iterator(self, max_key: int, clear: bool = True) -> _Iterator[_Any]:
    """Return an iterator over the values of keys 0..max_key, in order, waiting
    for each key (the wait releases the GIL and is interruptible). clear=True
    removes each entry as it is read. RuntimeError if an insertion failed and
    the next key is missing."""
    return _gather(self._take, _index(max_key), clear, False)


def iterator_local(self, max_key: int, clear: bool = True) -> _Iterator[LocalWrapper]:
    """iterator(max_key, clear), each value wrapped in a LocalWrapper."""
    return _gather(self._take, _index(max_key), clear, True)


def pop_local(self, timeout: "float | None" = None) -> LocalWrapper:
    """pop(timeout), the value wrapped in a LocalWrapper."""
    return LocalWrapper(self.pop(timeout))


ConcurrentGatheringIterator.iterator = iterator
ConcurrentGatheringIterator.iterator_local = iterator_local
ConcurrentQueue.pop_local = pop_local
del iterator, iterator_local, pop_local

__all__ = ["ConcurrentDict", "ConcurrentSet", "ConcurrentDeque", "LocalWrapper", "Queue", "ConcurrentQueue",
           "StdConcurrentQueue", "ConcurrentGatheringIterator", "Empty", "Full", "ShutDown",
           "QueueAio"]


def _rebuild(cls, scaling):
    """Unpickling: an empty instance of ``cls`` with ``scaling`` shards."""
    return cls.__new__(cls, scaling=scaling)


# LocalWrapper's cold paths, on the native class (docs/design.md, "LocalWrapper").
def __reduce__(self):
    """Pickle as LocalWrapper(wrapped)."""
    return LocalWrapper, (self.wrapped,)


def __repr__(self) -> str:
    return f"<LocalWrapper: {self.wrapped!r}>"


def __enter__(self):
    """Enter the wrapped object's context."""
    return self.wrapped.__enter__()


def __exit__(self, exc_type, exc_value, traceback, /):
    """Exit the wrapped object's context."""
    return self.wrapped.__exit__(exc_type, exc_value, traceback)


for _f in (__reduce__, __repr__, __enter__, __exit__):
    setattr(LocalWrapper, _f.__name__, _f)
del _f, __reduce__, __repr__, __enter__, __exit__


class _ValuesView(ValuesView):
    __slots__ = ()

    def __iter__(self):
        return self._mapping._iter_values()

    def __contains__(self, value):
        for v in self._mapping._iter_values():
            if v is value or v == value:
                return True
        return False


class _ItemsView(ItemsView):
    __slots__ = ()

    def __iter__(self):
        return self._mapping._iter_items()


class ConcurrentDict(_DictBase, MutableMapping):
    """A thread-safe dict for free-threaded scaling (see the module docstring)."""

    __slots__ = ()

    def __init__(self, data=None, /, *, scaling=None, **kwargs):
        # ``scaling`` was consumed by the native __new__.
        if data is not None:
            self.update(data)
        if kwargs:
            self.update(kwargs)

    __class_getitem__ = classmethod(GenericAlias)

    @classmethod
    def fromkeys(cls, iterable, value=None, /):
        d = cls()
        for k in iterable:
            d[k] = value
        return d

    def keys(self):
        return KeysView(self)

    def values(self):
        return _ValuesView(self)

    def items(self):
        return _ItemsView(self)

    def as_dict(self):
        """A plain dict of the items (a shard-by-shard snapshot)."""
        return dict(self._iter_items())

    def update(self, other=(), /, **kwargs):
        """Set each item of ``other`` (a mapping or an iterable of pairs) and
        of ``kwargs``; each assignment is atomic, the whole update is not."""
        if isinstance(other, _DictBase):
            for k, v in other._iter_items():
                self[k] = v
        elif isinstance(other, Mapping):
            for k in other:
                self[k] = other[k]
        elif hasattr(other, "keys"):
            for k in other.keys():
                self[k] = other[k]
        else:
            for k, v in other:
                self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def __eq__(self, other):
        if isinstance(other, _DictBase):
            return self.as_dict() == other.as_dict()
        if isinstance(other, Mapping):
            return self.as_dict() == dict(other.items())
        return NotImplemented

    __hash__ = None

    def __or__(self, other):
        if not isinstance(other, Mapping):
            return NotImplemented
        new = self.copy()
        new.update(other)
        return new

    def __ror__(self, other):
        if not isinstance(other, Mapping):
            return NotImplemented
        new = type(self)(other, scaling=self.scaling)
        new.update(self)
        return new

    def __ior__(self, other):
        self.update(other)
        return self

    @recursive_repr()
    def __repr__(self):
        return f"{type(self).__name__}({self.as_dict()!r})"

    def __getstate__(self):
        """syncx: the contents as a plain dict."""
        return self.as_dict()

    def __setstate__(self, state):
        """syncx: replace the contents by those of ``state`` (a mapping)."""
        self.clear()
        self.update(state)

    def __reduce__(self):
        return (_rebuild, (type(self), self.scaling), self.as_dict())


class ConcurrentSet(_SetBase, MutableSet):
    """A thread-safe set on ConcurrentDict's sharded core."""

    __slots__ = ()

    def __init__(self, iterable=None, /, *, scaling=None):
        if iterable is not None:
            self.update(iterable)

    __class_getitem__ = classmethod(GenericAlias)

    @classmethod
    def _from_iterable(cls, it):
        return cls(it)

    def update(self, *iterables):
        """Add every element of each iterable."""
        for it in iterables:
            for x in it:
                self.add(x)

    def union(self, *others):
        new = self.copy()
        new.update(*others)
        return new

    def intersection(self, *others):
        new = self.copy()
        for o in others:
            new &= o if isinstance(o, (set, frozenset, _SetBase)) else set(o)
        return new

    def difference(self, *others):
        new = self.copy()
        for o in others:
            for x in o:
                new.discard(x)
        return new

    def symmetric_difference(self, other):
        return self ^ (other if isinstance(other, (set, frozenset, _SetBase)) else set(other))

    def issubset(self, other):
        return self <= (other if isinstance(other, (set, frozenset, _SetBase)) else set(other))

    def issuperset(self, other):
        return self >= (other if isinstance(other, (set, frozenset, _SetBase)) else set(other))

    __hash__ = None

    @recursive_repr()
    def __repr__(self):
        items = list(self)
        return f"{type(self).__name__}({items!r})" if items else f"{type(self).__name__}()"

    def __getstate__(self):
        """syncx: the elements as a list."""
        return list(self)

    def __setstate__(self, state):
        """syncx: replace the elements by those of ``state`` (an iterable)."""
        self.clear()
        self.update(state)

    def __reduce__(self):
        return (_rebuild, (type(self), self.scaling), list(self))


class ConcurrentDeque(_deque):
    """A thread-safe double-ended queue (see the module docstring).

    ``collections.deque`` itself: each of its methods runs under the object's
    own lock on free-threaded builds (a critical section) and under the GIL
    otherwise, so a subclass adds nothing to the hot path -- append/popleft
    cost what deque's do (docs/design.md, "ConcurrentDeque")."""

    __slots__ = ()

    def contains(self, value, /):
        """``value in self`` (ft_utils' spelling)."""
        return value in self
