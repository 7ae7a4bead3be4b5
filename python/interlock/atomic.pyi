"""Thread atomics: AtomicInt, AtomicBool, AtomicFloat, AtomicReference.

fetch_<op> returns the value before the operation, <op>_fetch the value after
it (GCC's __atomic builtins' convention).
"""

from types import GenericAlias
from typing import Any, Callable, Generic, SupportsFloat, SupportsIndex, TypeVar, overload

from typing_extensions import Self

_T = TypeVar("_T")

_Real = SupportsFloat | SupportsIndex

__all__ = ["AtomicInt", "AtomicBool", "AtomicFloat", "AtomicReference"]

class AtomicInt:
    """A signed 64-bit integer that any number of threads may update at once.

    Arithmetic wraps at 64 bits (two's complement); an argument outside int64
    raises OverflowError. Division and modulo follow Python's // and %; by
    zero they raise ZeroDivisionError and leave the value unchanged. Equality
    and hashing are by identity (the value is mutable).
    """

    def __init__(self, value: SupportsIndex = 0) -> None: ...
    def load(self, /) -> int:
        """Return the current value."""
    def store(self, value: SupportsIndex, /) -> None:
        """Set the value."""
    def exchange(self, value: SupportsIndex, /) -> int:
        """Set the value; return the prior one."""
    def compare_exchange(self, expected: SupportsIndex, desired: SupportsIndex) -> tuple[bool, int]:
        """If the value is expected, set it to desired. Return (succeeded, prior):
        prior is the value before the call (on failure, the current value)."""
    def fetch_add(self, n: SupportsIndex, /) -> int:
        """Add n (wrapping at 64 bits); return the prior value."""
    def add_fetch(self, n: SupportsIndex, /) -> int:
        """Add n (wrapping at 64 bits); return the new value."""
    def fetch_sub(self, n: SupportsIndex, /) -> int:
        """Subtract n (wrapping); return the prior value."""
    def sub_fetch(self, n: SupportsIndex, /) -> int:
        """Subtract n (wrapping); return the new value."""
    def fetch_mul(self, n: SupportsIndex, /) -> int:
        """Multiply by n (wrapping); return the prior value."""
    def mul_fetch(self, n: SupportsIndex, /) -> int:
        """Multiply by n (wrapping); return the new value."""
    def fetch_div(self, n: SupportsIndex, /) -> int:
        """Floor-divide by n (like //; MIN // -1 wraps to MIN); return the prior
        value. ZeroDivisionError for n == 0 (the value is unchanged)."""
    def div_fetch(self, n: SupportsIndex, /) -> int:
        """Floor-divide by n (like //); return the new value."""
    def fetch_mod(self, n: SupportsIndex, /) -> int:
        """Replace the value by value % n (Python's %); return the prior value."""
    def mod_fetch(self, n: SupportsIndex, /) -> int:
        """Replace the value by value % n; return the new value."""
    def fetch_and(self, n: SupportsIndex, /) -> int:
        """Bitwise AND with n; return the prior value."""
    def and_fetch(self, n: SupportsIndex, /) -> int:
        """Bitwise AND with n; return the new value."""
    def fetch_or(self, n: SupportsIndex, /) -> int:
        """Bitwise OR with n; return the prior value."""
    def or_fetch(self, n: SupportsIndex, /) -> int:
        """Bitwise OR with n; return the new value."""
    def fetch_xor(self, n: SupportsIndex, /) -> int:
        """Bitwise XOR with n; return the prior value."""
    def xor_fetch(self, n: SupportsIndex, /) -> int:
        """Bitwise XOR with n; return the new value."""
    def fetch_max(self, n: SupportsIndex, /) -> int:
        """Set the value to max(value, n); return the prior value."""
    def max_fetch(self, n: SupportsIndex, /) -> int:
        """Set the value to max(value, n); return the new value."""
    def fetch_min(self, n: SupportsIndex, /) -> int:
        """Set the value to min(value, n); return the prior value."""
    def min_fetch(self, n: SupportsIndex, /) -> int:
        """Set the value to min(value, n); return the new value."""
    def fetch_inc(self, /) -> int:
        """Add one; return the prior value (like x++)."""
    def inc_fetch(self, /) -> int:
        """Add one; return the new value (like ++x)."""
    def fetch_dec(self, /) -> int:
        """Subtract one; return the prior value (like x--)."""
    def dec_fetch(self, /) -> int:
        """Subtract one; return the new value (like --x)."""
    def inc(self, /) -> int:
        """Add one; return the new value (like ++x; same as inc_fetch())."""
    def dec(self, /) -> int:
        """Subtract one; return the new value (like --x; same as dec_fetch())."""
    def update(self, fn: Callable[[int], SupportsIndex], /) -> int:
        """Replace the value by fn(value); return the new value. fn runs with no
        lock held and is called again if another thread changed the value
        meanwhile."""
    def fetch_update(self, fn: Callable[[int], SupportsIndex], /) -> int:
        """Like update(fn), but return the prior value."""
    def __iadd__(self, n: SupportsIndex, /) -> Self: ...
    def __isub__(self, n: SupportsIndex, /) -> Self: ...
    def __imul__(self, n: SupportsIndex, /) -> Self: ...
    def __ifloordiv__(self, n: SupportsIndex, /) -> Self: ...
    def __imod__(self, n: SupportsIndex, /) -> Self: ...
    def __iand__(self, n: SupportsIndex, /) -> Self: ...
    def __ior__(self, n: SupportsIndex, /) -> Self: ...
    def __ixor__(self, n: SupportsIndex, /) -> Self: ...
    def __ilshift__(self, n: SupportsIndex, /) -> Self: ...
    def __irshift__(self, n: SupportsIndex, /) -> Self: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    def __float__(self) -> float: ...
    def __bool__(self) -> bool: ...
    def __reduce__(self) -> tuple[type[Self], tuple[int]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...

class AtomicBool:
    """A boolean that any number of threads may update at once. Arguments are
    taken by truth value, like bool(x)."""

    def __init__(self, value: object = False) -> None: ...
    def load(self, /) -> bool:
        """Return the current value."""
    def store(self, value: object, /) -> None:
        """Set the value to bool(value)."""
    def exchange(self, value: object, /) -> bool:
        """Set the value to bool(value); return the prior one."""
    def compare_exchange(self, expected: object, desired: object) -> tuple[bool, bool]:
        """If the value is bool(expected), set it to bool(desired). Return
        (succeeded, prior)."""
    def fetch_and(self, value: object, /) -> bool:
        """value AND bool(value); return the prior value."""
    def and_fetch(self, value: object, /) -> bool:
        """value AND bool(value); return the new value."""
    def fetch_or(self, value: object, /) -> bool:
        """value OR bool(value); return the prior value."""
    def or_fetch(self, value: object, /) -> bool:
        """value OR bool(value); return the new value."""
    def fetch_xor(self, value: object, /) -> bool:
        """value XOR bool(value); return the prior value."""
    def xor_fetch(self, value: object, /) -> bool:
        """value XOR bool(value); return the new value."""
    def fetch_flip(self, /) -> bool:
        """Negate the value; return the prior value."""
    def flip_fetch(self, /) -> bool:
        """Negate the value; return the new value."""
    def update(self, fn: Callable[[bool], object], /) -> bool:
        """Replace the value by bool(fn(value)); return the new value."""
    def fetch_update(self, fn: Callable[[bool], object], /) -> bool:
        """Like update(fn), but return the prior value."""
    def __bool__(self) -> bool: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    def __reduce__(self) -> tuple[type[Self], tuple[bool]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...

class AtomicFloat:
    """A 64-bit float that any number of threads may update at once.

    compare_exchange compares bit patterns (a NaN can be compare-exchanged;
    -0.0 does not match 0.0). fetch_max/fetch_min ignore a NaN operand (IEEE
    754 maximumNumber / minimumNumber) and order -0.0 below +0.0.
    """

    def __init__(self, value: _Real = 0.0) -> None: ...
    def load(self, /) -> float:
        """Return the current value."""
    def store(self, value: _Real, /) -> None:
        """Set the value."""
    def exchange(self, value: _Real, /) -> float:
        """Set the value; return the prior one."""
    def compare_exchange(self, expected: _Real, desired: _Real) -> tuple[bool, float]:
        """If the stored double has the same bits as expected, set it to desired.
        Return (succeeded, prior)."""
    def fetch_add(self, n: _Real, /) -> float:
        """Add n; return the prior value."""
    def add_fetch(self, n: _Real, /) -> float:
        """Add n; return the new value."""
    def fetch_sub(self, n: _Real, /) -> float:
        """Subtract n; return the prior value."""
    def sub_fetch(self, n: _Real, /) -> float:
        """Subtract n; return the new value."""
    def fetch_mul(self, n: _Real, /) -> float:
        """Multiply by n; return the prior value."""
    def mul_fetch(self, n: _Real, /) -> float:
        """Multiply by n; return the new value."""
    def fetch_div(self, n: _Real, /) -> float:
        """Divide by n; return the prior value. ZeroDivisionError for 0.0 (the
        value is unchanged)."""
    def div_fetch(self, n: _Real, /) -> float:
        """Divide by n; return the new value."""
    def fetch_max(self, n: _Real, /) -> float:
        """Set the value to the larger of value and n; return the prior value."""
    def max_fetch(self, n: _Real, /) -> float:
        """Like fetch_max(n), but return the new value."""
    def fetch_min(self, n: _Real, /) -> float:
        """Set the value to the smaller of value and n; return the prior value."""
    def min_fetch(self, n: _Real, /) -> float:
        """Like fetch_min(n), but return the new value."""
    def update(self, fn: Callable[[float], _Real], /) -> float:
        """Replace the value by float(fn(value)); return the new value."""
    def fetch_update(self, fn: Callable[[float], _Real], /) -> float:
        """Like update(fn), but return the prior value."""
    def __iadd__(self, n: _Real, /) -> Self: ...
    def __isub__(self, n: _Real, /) -> Self: ...
    def __imul__(self, n: _Real, /) -> Self: ...
    def __itruediv__(self, n: _Real, /) -> Self: ...
    def __float__(self) -> float: ...
    def __int__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def __reduce__(self) -> tuple[type[Self], tuple[float]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...

class AtomicReference(Generic[_T]):
    """A reference to any object that any number of threads may read and
    replace at once. compare_exchange compares by identity."""

    @overload
    def __init__(self: AtomicReference[None]) -> None: ...
    @overload
    def __init__(self, obj: _T) -> None: ...
    def load(self, /) -> _T:
        """Return the current object."""
    def get(self, /) -> _T:
        """Return the current object (same as load())."""
    def store(self, obj: _T, /) -> None:
        """Replace the object."""
    def set(self, obj: _T, /) -> None:
        """Replace the object (same as store())."""
    def exchange(self, obj: _T, /) -> _T:
        """Replace the object; return the prior one."""
    def compare_exchange(self, expected: object, desired: _T) -> tuple[bool, _T]:
        """If the current object IS expected (identity), replace it by desired.
        Return (succeeded, prior)."""
    def update(self, fn: Callable[[_T], _T], /) -> _T:
        """Replace the object by fn(object); return the new object."""
    def fetch_update(self, fn: Callable[[_T], _T], /) -> _T:
        """Like update(fn), but return the prior object."""
    def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...
    def __reduce__(self) -> tuple[type[Self], tuple[_T]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...
