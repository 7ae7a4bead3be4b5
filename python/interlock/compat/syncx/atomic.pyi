"""Types of ``interlock.compat.syncx.atomic`` (syncx's ``atomic``, seed 000).

syncx's return conventions: ``add``/``sub``/``mul``/``div``/``inc``/``dec``
and ``flip`` return the PRIOR value, ``update(func)`` the new one, ``swap``
the prior one. Keep in step with bindings/atomic_compat.cpp (its text
signatures take keywords: no ``/`` there, none here).
"""

from typing import Any, Callable, SupportsFloat, SupportsIndex

from typing_extensions import Self

_Real = SupportsFloat | SupportsIndex

__all__ = ["AtomicInt", "AtomicBool", "AtomicFloat", "AtomicReference"]

class AtomicInt:
    """A 64-bit integer (syncx API). Arithmetic wraps at 64 bits; an argument
    outside int64 raises OverflowError. Equality and hashing are by identity."""

    def __init__(self, value: SupportsIndex = 0) -> None: ...
    def load(self) -> int:
        """Return the current value."""
    def store(self, value: SupportsIndex) -> None:
        """Set the value."""
    def swap(self, value: SupportsIndex) -> int:
        """Set the value; return the prior one."""
    def compare_exchange(self, current: SupportsIndex, new: SupportsIndex) -> tuple[bool, int]:
        """If the value is current, set it to new. Return (succeeded, prior);
        on failure prior is the current value."""
    def add(self, value: SupportsIndex) -> int:
        """Add value (wrapping); return the PRIOR value."""
    def sub(self, value: SupportsIndex) -> int:
        """Subtract value (wrapping); return the PRIOR value."""
    def mul(self, value: SupportsIndex) -> int:
        """Multiply by value (wrapping); return the PRIOR value."""
    def div(self, value: SupportsIndex) -> int:
        """Divide by value, truncating toward zero; return the PRIOR value.
        ZeroDivisionError for 0 and for MIN / -1 (the value is unchanged)."""
    def inc(self) -> int:
        """Add one; return the PRIOR value."""
    def dec(self) -> int:
        """Subtract one; return the PRIOR value."""
    def fetch_and(self, value: SupportsIndex) -> int:
        """Bitwise AND; return the prior value."""
    def fetch_or(self, value: SupportsIndex) -> int:
        """Bitwise OR; return the prior value."""
    def fetch_xor(self, value: SupportsIndex) -> int:
        """Bitwise XOR; return the prior value."""
    def fetch_max(self, value: SupportsIndex) -> int:
        """Set the value to max(value, current); return the prior value."""
    def fetch_min(self, value: SupportsIndex) -> int:
        """Set the value to min(value, current); return the prior value."""
    def update(self, func: Callable[[int], SupportsIndex]) -> int:
        """Replace the value by func(value) (retried if another thread changed
        it meanwhile); return the NEW value."""
    def __idiv__(self, value: SupportsIndex) -> None:
        """In-place division, as div() (syncx's name; ``//=`` does the same)."""
    def __iadd__(self, value: SupportsIndex, /) -> Self: ...
    def __isub__(self, value: SupportsIndex, /) -> Self: ...
    def __imul__(self, value: SupportsIndex, /) -> Self: ...
    def __ifloordiv__(self, value: SupportsIndex, /) -> Self: ...
    def __int__(self) -> int: ...

class AtomicBool:
    """A boolean (syncx API). Arguments must be True or False (TypeError
    otherwise)."""

    def __init__(self, value: bool = False) -> None: ...
    def load(self) -> bool:
        """Return the current value."""
    def store(self, value: bool) -> None:
        """Set the value."""
    def swap(self, value: bool) -> bool:
        """Set the value; return the prior one."""
    def compare_exchange(self, current: bool, new: bool) -> tuple[bool, bool]:
        """If the value is current, set it to new. Return (succeeded, prior)."""
    def fetch_and(self, value: bool) -> bool:
        """Logical AND; return the prior value."""
    def fetch_or(self, value: bool) -> bool:
        """Logical OR; return the prior value."""
    def fetch_xor(self, value: bool) -> bool:
        """Logical XOR; return the prior value."""
    def flip(self) -> bool:
        """Toggle the value; return the PRIOR value."""
    def update(self, func: Callable[[bool], bool]) -> bool:
        """Replace the value by func(value), which must return a bool; return
        the NEW value."""
    def __bool__(self) -> bool: ...
    def __int__(self) -> int: ...
    def __invert__(self) -> bool:
        """not value (the atomic is unchanged)."""

class AtomicFloat:
    """A 64-bit float (syncx API). compare_exchange compares bit patterns."""

    def __init__(self, value: _Real = 0.0) -> None: ...
    def load(self) -> float:
        """Return the current value."""
    def store(self, value: _Real) -> None:
        """Set the value."""
    def swap(self, value: _Real) -> float:
        """Set the value; return the prior one."""
    def compare_exchange(self, current: _Real, new: _Real) -> tuple[bool, float]:
        """If the value is current (same bits), set it to new. Return
        (succeeded, prior)."""
    def add(self, value: _Real) -> float:
        """Add value; return the PRIOR value."""
    def sub(self, value: _Real) -> float:
        """Subtract value; return the PRIOR value."""
    def mul(self, value: _Real) -> float:
        """Multiply by value; return the PRIOR value."""
    def div(self, value: _Real) -> float:
        """Divide by value; return the PRIOR value. ZeroDivisionError for 0.0
        (the value is unchanged)."""
    def fetch_max(self, value: _Real) -> float:
        """Store value unless the current value is >= it; return the prior value."""
    def fetch_min(self, value: _Real) -> float:
        """Store value unless the current value is <= it; return the prior value."""
    def update(self, func: Callable[[float], _Real]) -> float:
        """Replace the value by func(value); return the NEW value."""
    def __iadd__(self, value: _Real, /) -> Self: ...
    def __isub__(self, value: _Real, /) -> Self: ...
    def __float__(self) -> float: ...

class AtomicReference:
    """A slot holding any object (syncx API; not generic at run time).
    compare_exchange matches by identity or equality."""

    def __init__(self, obj: object | None = None) -> None: ...
    def get(self) -> Any:
        """Return the current object."""
    def set(self, obj: object) -> None:
        """Replace the object."""
    def exchange(self, obj: object) -> Any:
        """Replace the object; return the prior one."""
    def compare_exchange(self, expected: object, obj: object) -> bool:
        """If the current object is expected, or equal to it (==, run with no
        lock held), replace it by obj; return whether it did."""
