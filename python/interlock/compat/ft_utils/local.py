"""``ft_utils.local`` on interlock: ``LocalWrapper``.

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
"""

from interlock._interlock.collections import LocalWrapper

__all__ = ["LocalWrapper"]
