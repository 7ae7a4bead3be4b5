"""Thread atomics: ``AtomicInt``, ``AtomicBool``, ``AtomicFloat``, ``AtomicReference``.

Native types (``interlock._interlock.atomic``); every hot method is a plain
CPython method, so a call costs about what a call to a builtin does. All of
them are safe to share between threads, including on free-threaded builds
(3.13t), where they rely on no GIL.

Naming rule (GCC's ``__atomic`` builtins): ``fetch_<op>`` returns the value
*before* the operation, ``<op>_fetch`` the value *after* it::

    >>> from interlock.atomic import AtomicInt
    >>> n = AtomicInt(5)
    >>> n.fetch_add(2), n.add_fetch(2), n.inc(), n.load()
    (5, 9, 10, 10)

``inc()`` / ``dec()`` are like ``++x`` / ``--x`` (the new value).
``AtomicInt`` wraps at 64 bits like C++ atomics; its division and modulo are
Python's ``//`` and ``%``. ``update(fn)`` runs ``fn`` with no lock held in a
compare-exchange retry loop and returns the new value; ``fetch_update(fn)``
returns the prior one. ``AtomicReference.compare_exchange`` compares by
identity. Equality and hashing of the atomics are by identity (their values
are mutable).
"""

import copy as _copy
import reprlib as _reprlib
from types import GenericAlias as _GenericAlias

from ._interlock import atomic as _native

AtomicInt = _native.AtomicInt
AtomicBool = _native.AtomicBool
AtomicFloat = _native.AtomicFloat
AtomicReference = _native.AtomicReference


def _load_repr(self):
    """repr() of the value."""
    return repr(self.load())


_value_repr = _reprlib.recursive_repr()(_load_repr)  # "..." where a reference reaches itself


def _repr(self):
    """``AtomicInt(5)``: the type's name (a subclass's too) and repr(value)."""
    return f"{type(self).__name__}({_value_repr(self)})"


def _sx_repr(self):
    """syncx's ``AtomicBool(true)``: the value as Rust displays it (its str())."""
    return f"{type(self).__name__}({self})"


def _reduce(self):
    """Pickle support: (type(self), (value,))."""
    return type(self), (self.load(),)


def _getstate(self):
    """The value (pickle support)."""
    return self.load()


def _setstate(self, value):
    """Set the value (pickle support)."""
    self.store(value)


def _copy_value(self):
    """A new object holding the current value."""
    return type(self)(self.load())


def _deepcopy_value(self, memo, /):
    """A new object holding the current value (which is immutable)."""
    return type(self)(self.load())


def _deepcopy_reference(self, memo, /):
    """A new AtomicReference to a deep copy of the object, registered in
    ``memo`` first, so that a reference that reaches itself is copied into one
    that reaches the copy."""
    new = type(self)()
    if isinstance(memo, dict):
        memo[id(self)] = new
    new.store(_copy.deepcopy(self.load(), memo))
    return new


# repr, pickling and copying (cold paths) are Python functions installed into
# the native classes; the hot methods are native. syncx's scalars
# (compat/syncx) pickle the same way, with syncx's __getstate__/__setstate__.
for _sx in (_native._syncx.AtomicInt, _native._syncx.AtomicBool, _native._syncx.AtomicFloat):
    setattr(_sx, "__repr__", _sx_repr)
    setattr(_sx, "__reduce__", _reduce)
    setattr(_sx, "__getstate__", _getstate)
    setattr(_sx, "__setstate__", _setstate)
for _cls in (AtomicInt, AtomicBool, AtomicFloat, AtomicReference):
    setattr(_cls, "__repr__", _repr)
    setattr(_cls, "__reduce__", _reduce)
    setattr(_cls, "__copy__", _copy_value)
    setattr(_cls, "__deepcopy__", _deepcopy_reference if _cls is AtomicReference else _deepcopy_value)
setattr(AtomicReference, "__class_getitem__", classmethod(_GenericAlias))  # AtomicReference[T]

__all__ = ["AtomicInt", "AtomicBool", "AtomicFloat", "AtomicReference"]
