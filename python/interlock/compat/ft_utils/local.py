"""``ft_utils.local`` on interlock: ``LocalWrapper``, ``BatchExecutor``,
``get_local_wrapper``, ``release_local_wrapper``.

``LocalWrapper(obj)`` is a transparent proxy: attribute and item access,
operators, calls, iteration, comparison, hashing, ``len``, ``in``, the buffer
protocol and ``with`` forward to ``obj``; ``wrapped`` is ``obj`` (read-only);
``repr`` is ``<LocalWrapper: repr(obj)>``. It is native
(``interlock._interlock.collections.LocalWrapper``): on free-threaded builds
the wrapper, owned by the thread that made it, takes the reference-count
traffic that would otherwise hit the shared object. ``ConcurrentQueue.pop_local``
and ``ConcurrentGatheringIterator.iterator_local`` return these.

One difference from ft_utils, by design: a wrapper never changes its target.
``w += x`` rebinds ``w`` to a wrapper of the result (the same wrapper when the
operation mutated the wrapped object and returned it, as a list's ``+=``
does), where ft_utils rebinds the target inside the wrapper. The name ``w``
sees the same value either way; a wrapper is therefore safe to share between
threads (docs/design.md, "LocalWrapper").

``BatchExecutor(source, size)``: ``load()`` returns the results of ``source()``
in call order, calling it ``size`` times at once whenever its buffer is empty
(one thread refills; the others wait for it, then take from the new batch);
an exception from ``source`` propagates to the ``load()`` that refilled and
discards that batch. ``as_local()`` is ``LocalWrapper(self)``. ``source`` must
be callable and ``size`` an int >= 1 (TypeError / ValueError otherwise).
``get_local_wrapper(obj)`` is ``LocalWrapper(obj)``; ``release_local_wrapper``
does nothing (interlock's wrappers need no release).
"""

from collections import deque as _deque
from threading import RLock as _RLock

from interlock._interlock.collections import LocalWrapper

__all__ = ["LocalWrapper", "BatchExecutor", "get_local_wrapper", "release_local_wrapper",
           "__version__"]

__version__ = "0.2.0"


class BatchExecutor:
    """ft_utils's BatchExecutor (see the module docstring)."""

    __slots__ = ("_source", "_size", "_lock", "_buffer", "__weakref__")

    def __init__(self, source, size):
        if not callable(source):
            raise TypeError("source must be callable")
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"size must be int, not {type(size).__name__}")
        if size < 1:
            raise ValueError("size must be >= 1")
        self._source = source
        self._size = size
        self._lock = _RLock()  # re-entrant: source() may itself call load()
        self._buffer = _deque()

    def load(self):
        buffer = self._buffer
        try:
            return buffer.popleft()  # atomic; no lock on the fast path
        except IndexError:
            pass
        with self._lock:
            if not buffer:
                source = self._source
                buffer.extend([source() for _ in range(self._size)])
            return buffer.popleft()

    def as_local(self):
        return LocalWrapper(self)


def get_local_wrapper(wrapped):
    return LocalWrapper(wrapped)


def release_local_wrapper(wrapper):
    if not isinstance(wrapper, LocalWrapper):
        raise TypeError(f"expected a LocalWrapper, not {type(wrapper).__name__}")
