"""``syncx.atomic`` on interlock: ``AtomicInt``, ``AtomicBool``, ``AtomicFloat``,
``AtomicReference``.

The classes are native (``interlock._interlock.atomic._syncx``), with syncx's
names, signatures and return conventions:

* ``AtomicInt``: ``add``/``sub``/``mul``/``div``/``inc``/``dec`` return the
  PRIOR value (Rust's ``fetch_*``); ``update(func)`` returns the new value;
  ``swap`` is the exchange; ``div`` truncates toward zero and raises
  ``ZeroDivisionError("division by zero")`` for 0 and for ``MIN / -1`` (the
  value is unchanged). Arithmetic wraps at 64 bits. ``+=``, ``-=``, ``*=``
  and (syncx's ``__idiv__``) ``//=`` work in place.
* ``AtomicBool``: ``flip()`` returns the prior value; arguments must be
  ``True``/``False`` (TypeError otherwise, as in syncx); ``repr`` is
  ``AtomicBool(true)`` (Rust's formatting).
* ``AtomicFloat``: ``add``/``sub``/``mul``/``div`` return the prior value;
  ``fetch_max``/``fetch_min`` as syncx's loops; ``repr``/``str`` format the
  number as Rust does (``AtomicFloat(1)`` for 1.0).
* ``AtomicReference(obj=None)``: ``get``/``set``/``exchange`` and
  ``compare_exchange(expected, obj) -> bool``, which matches the current
  object by identity or equality (``__eq__``, run with no lock held).

Pickling round-trips to these same classes.
"""

import interlock.atomic  # noqa: F401  (installs the scalars' __repr__ and __reduce__)
from interlock._interlock.atomic import _syncx as _native

AtomicInt = _native.AtomicInt
AtomicBool = _native.AtomicBool
AtomicFloat = _native.AtomicFloat
AtomicReference = _native.AtomicReference

__all__ = ["AtomicInt", "AtomicBool", "AtomicFloat", "AtomicReference"]
