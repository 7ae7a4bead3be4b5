"""Buffer atomics: width-generic atomic operations on any writable buffer.

The model of the ``atomics`` library (seed 004): ``atomic(width, atype)``
makes an object with its own storage, ``atomicview(buffer, atype)`` a context
manager whose ``__enter__`` gives an atomic view of a caller's buffer (a
``bytearray``, an ``mmap``, a ``multiprocessing.shared_memory`` buffer, any
buffer-protocol object), usable across threads and processes. The operations
are native (``interlock/buffer_atomic.hpp``); this module holds the enums,
exceptions, type markers, ``Alignment`` and the view contexts.
"""

from __future__ import annotations

import abc
import enum
import threading
import types
from typing import TYPE_CHECKING, Any

from .. import _interlock

_ipc = _interlock.ipc

Atomic = _ipc.Atomic
AtomicBytes = _ipc.AtomicBytes
AtomicIntegral = _ipc.AtomicIntegral
AtomicInt = _ipc.AtomicInt
AtomicUint = _ipc.AtomicUint
AtomicView = _ipc.AtomicView
AtomicBytesView = _ipc.AtomicBytesView
AtomicIntegralView = _ipc.AtomicIntegralView
AtomicIntView = _ipc.AtomicIntView
AtomicUintView = _ipc.AtomicUintView
CmpxchgResult = _ipc.CmpxchgResult
_new_view = _ipc._new_view
_buffer_info = _ipc._buffer_info
# The core's rules (buffer_atomic.hpp): the OpType names, which orders each
# operation and cmpxchg's failure order take, the widths this CPU offers.
_OP_NAMES, _ORDERS, _FAIL_ORDERS, _WIDTHS = _ipc._tables()
_ORDERS, _FAIL_ORDERS = frozenset(_ORDERS), frozenset(_FAIL_ORDERS)


def supported_widths() -> tuple[int, ...]:
    """The widths (bytes) of the lock-free buffer atomics on this CPU: 1, 2, 4, 8,
    and 16 where the CPU has cmpxchg16b (16-byte objects need writable memory)."""
    return _WIDTHS

# The native classes' documentation.
for _cls, _doc in (
        (Atomic, "Atomic(*, width)\n\nAn atomic object of width bytes with its own storage "
                 "(ANY: properties only, no operations)."),
        (AtomicBytes, "AtomicBytes(*, width)\n\nAtomic byte string of width bytes with its own "
                      "storage, initially zero."),
        (AtomicIntegral, "AtomicIntegral(*, width, is_signed)\n\nAtomic integer of width bytes "
                         "with its own storage, initially zero; arithmetic wraps around."),
        (AtomicInt, "AtomicInt(*, width)\n\nSigned atomic integer of width bytes with its own "
                    "storage."),
        (AtomicUint, "AtomicUint(*, width)\n\nUnsigned atomic integer of width bytes with its "
                     "own storage."),
        (AtomicView, "An atomic view of a buffer (ANY: properties only). Obtained from "
                     "AtomicViewContext.__enter__()."),
        (AtomicBytesView, "An atomic byte-string view of a buffer."),
        (AtomicIntegralView, "An atomic integer view of a buffer."),
        (AtomicIntView, "A signed atomic integer view of a buffer."),
        (AtomicUintView, "An unsigned atomic integer view of a buffer.")):
    _cls.__doc__ = _doc
del _cls, _doc

# CmpxchgResult[int] / [bytes] for annotations evaluated at run time; its repr.
CmpxchgResult.__class_getitem__ = classmethod(types.GenericAlias)  # type: ignore[attr-defined]


def _result_repr(self) -> str:
    return f"{type(self).__name__}(success={self.success}, expected={self.expected!r})"


_result_repr.__qualname__ = "CmpxchgResult.__repr__"
CmpxchgResult.__repr__ = _result_repr  # type: ignore[method-assign]


class MemoryOrder(enum.IntEnum):
    """C++11's memory orders, without CONSUME (the atomics library's values)."""

    RELAXED = 0
    ACQUIRE = 2
    RELEASE = 3
    ACQ_REL = 4
    SEQ_CST = 5

    def is_valid_store_order(self) -> bool:
        """Whether this order may be given to store()."""
        return (2, self) in _ORDERS  # OpType.STORE

    def is_valid_load_order(self) -> bool:
        """Whether this order may be given to load() (and bit_test())."""
        return (1, self) in _ORDERS  # OpType.LOAD

    def is_valid_fail_order(self, succ: MemoryOrder | int = SEQ_CST) -> bool:
        """Whether this order may be the failure order of a cmpxchg whose
        success order is succ (default SEQ_CST): a load order no stronger
        than succ."""
        return (self, MemoryOrder(succ)) in _FAIL_ORDERS


# The operations an atomic object may support: declared once, in the core
# (buffer_atomic.hpp's op, the atomics library's enum.auto() numbering);
# BIT_TEST_COMP is the atomics package's spelling of BIT_TEST_COMPL.
if TYPE_CHECKING:  # the members as type checkers see them; stubtest checks them (issue 19)
    class OpType(enum.IntEnum):
        LOAD = 1; STORE = 2; EXCHANGE = 3; CMPXCHG_WEAK = 4; CMPXCHG_STRONG = 5  # noqa: E702
        BIT_TEST = 6; BIT_TEST_COMPL = 7; BIT_TEST_SET = 8; BIT_TEST_RESET = 9  # noqa: E702
        OR = 10; XOR = 11; AND = 12; NOT = 13; FETCH_OR = 14; FETCH_XOR = 15  # noqa: E702
        FETCH_AND = 16; FETCH_NOT = 17; ADD = 18; SUB = 19; INC = 20; DEC = 21  # noqa: E702
        NEG = 22; FETCH_ADD = 23; FETCH_SUB = 24; FETCH_INC = 25; FETCH_DEC = 26  # noqa: E702
        FETCH_NEG = 27; BIT_TEST_COMP = 7  # noqa: E702
else:
    OpType = enum.IntEnum(
        "OpType",
        [(name, value) for value, name in enumerate(_OP_NAMES, 1)] + [("BIT_TEST_COMP", 7)],
        module=__name__, qualname="OpType")
    OpType.__doc__ = "The operations an atomic object may support (see ``ops_supported``)."


# ------------------------------------------------------------------ exceptions
# The atomics library's exceptions (same constructors, attributes, messages),
# also ValueError / TypeError so generic handlers catch them.

class AlignmentError(ValueError):
    """The buffer's address does not meet the alignment atomic operations of
    its width need."""

    __slots__ = ("width", "address", "using_recommended")

    def __init__(self, width: int, address: int, *, using_recommended: bool) -> None:
        self.width = width
        self.address = address
        self.using_recommended = using_recommended
        kind = "recommended" if using_recommended else "minimum"
        super().__init__(f"The alignment of address {hex(address)} does not meet the {kind} "
                         f"alignment requirements for atomic operations on objects with a "
                         f"width of {width}.")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(width={self.width}, address={self.address}, "
                f"using_recommended={self.using_recommended})")


class MemoryOrderError(ValueError):
    """A memory order that the operation does not allow."""

    __slots__ = ("optype", "order", "is_fail")

    def __init__(self, optype: OpType, order: MemoryOrder, *, is_fail: bool) -> None:
        self.optype = optype
        self.order = order
        self.is_fail = is_fail
        f_type = "fail " if is_fail else ""
        article = "an" if optype.name[0] in "AEIOU" else "a"
        super().__init__(f"{order.name} is not a valid {f_type}memory order for {article} "
                         f"{optype.name} operation.")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(optype=OpType.{self.optype.name}, "
                f"order=MemoryOrder.{self.order.name}, is_fail={self.is_fail})")


class UnsupportedWidthException(ValueError):
    """No (lock-free) atomic operations exist for objects of this width."""

    __slots__ = ("width", "readonly")

    def __init__(self, width: int, *, readonly: bool) -> None:
        self.width = width
        self.readonly = readonly
        r_type = "readonly " if readonly else ""
        super().__init__(f"No operations are supported on {r_type}objects with a width of "
                         f"{width} (supported widths: {', '.join(map(str, supported_widths()))}"
                         f"{'; 16 only on writable memory' if 16 in supported_widths() else ''}).")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(width={self.width}, readonly={self.readonly})"


class UnsupportedOperationException(TypeError):
    """The operation is not available on this object (its type or read-only-ness)."""

    __slots__ = ("optype", "width", "readonly")

    def __init__(self, optype: OpType, width: int, *, readonly: bool) -> None:
        self.optype = optype
        self.width = width
        self.readonly = readonly
        r_type = "readonly " if readonly else ""
        super().__init__(f"Operation {optype.name} is not supported on {r_type}objects with a "
                         f"width of {width}.")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(optype=OpType.{self.optype.name}, "
                f"width={self.width}, readonly={self.readonly})")


def _error(kind: str, a: int, b: int, flag: bool) -> ValueError | TypeError:
    """The exception the extension raises when one of the core's checks fails
    (called on error paths only)."""
    if kind == "op":
        return UnsupportedOperationException(OpType(a), b, readonly=flag)
    if kind == "width":
        return UnsupportedWidthException(a, readonly=flag)
    if kind == "alignment":
        return AlignmentError(a, b, using_recommended=flag)
    return MemoryOrderError(OpType(a), MemoryOrder(b), is_fail=flag)


def _repr(obj: Any, ready: bool) -> str:
    """The extension's classes' repr (the seed's)."""
    name = type(obj).__name__
    if not ready:
        return f"<{name} (uninitialised)>"
    try:
        fields = f"width={obj.width}, readonly={obj.readonly}"
        if isinstance(obj, (AtomicIntegral, AtomicIntegralView)):
            return f"{name}(value={obj.load()!r}, {fields}, signed={obj.signed})"
        if isinstance(obj, (AtomicBytes, AtomicBytesView)):
            return f"{name}(value={obj.load()!r}, {fields})"
    except ValueError:  # a released view
        return f"<{name} (released)>"
    return f"{name}({fields})"


# ------------------------------------------------------------------ type markers

class ANY(abc.ABC):  # noqa: B024 - a marker: which objects are atomics at all
    """Any atomic object or view (properties only)."""


class INTEGRAL(ANY):
    """Atomic integers (signed or not)."""


class BYTES(ANY):
    """Atomic byte strings."""


class INT(INTEGRAL):
    """Signed atomic integers."""


class UINT(INTEGRAL):
    """Unsigned atomic integers."""


for _marker, _classes in (
        (ANY, (Atomic, AtomicView)),
        (BYTES, (AtomicBytes, AtomicBytesView)),
        (INTEGRAL, (AtomicIntegral, AtomicIntegralView)),
        (INT, (AtomicInt, AtomicIntView)),
        (UINT, (AtomicUint, AtomicUintView))):
    for _cls in _classes:
        _marker.register(_cls)
del _marker, _classes, _cls


# ------------------------------------------------------------------ Alignment

class Alignment:
    """The alignment atomic objects of ``width`` bytes need.

    ``recommended`` (what every atomic object checks) and ``minimum`` are the
    width; ``size_within`` is 0 (no "within a cache line" rule applies).
    """

    __slots__ = ("width", "recommended", "minimum", "size_within")

    def __init__(self, width: int) -> None:
        if type(width) is not int:
            raise TypeError("Positional argument 'width' must have type 'int'.")
        if width not in supported_widths():
            raise UnsupportedWidthException(width, readonly=False)
        self.width = width
        self.recommended = width
        self.minimum = width
        self.size_within = 0

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(width={self.width}, recommended={self.recommended}, "
                f"minimum={self.minimum}, size_within={self.size_within})")

    __str__ = __repr__

    def _address(self, buffer: Any) -> int:
        try:
            address, nbytes, _ = _buffer_info(buffer)
        except TypeError:
            raise TypeError("Positional argument 'buffer' must support the buffer "
                            "protocol.") from None
        if nbytes != self.width:
            raise ValueError(f"Positional argument 'buffer' does not have matching width "
                             f"of {self.width}.")
        return address

    def is_valid(self, buffer: Any, *, using_recommended: bool = True) -> bool:
        """Whether buffer (of exactly ``width`` bytes) is suitably aligned."""
        address = self._address(buffer)
        return address % (self.recommended if using_recommended else self.minimum) == 0

    def is_valid_recommended(self, buffer: Any) -> bool:
        return self.is_valid(buffer, using_recommended=True)

    def is_valid_minimum(self, buffer: Any) -> bool:
        return self.is_valid(buffer, using_recommended=False)


# ------------------------------------------------------------------ view contexts

class AtomicViewContext:
    """Holds an export of ``buffer`` from construction until ``release()``;
    ``with ctx as view:`` gives the atomic view (exactly once).

    Rules (the atomics library's): ``release()`` while the context is open
    raises ValueError; entering twice, or after ``release()``, raises
    ValueError; ``__exit__`` (any number of times, from anywhere) and
    ``__del__`` release. After release the view raises ValueError on use,
    and the buffer may be resized or closed again.
    """

    _which = 0

    def __init__(self, *, buffer: Any) -> None:
        self._init(buffer, False)

    def _init(self, buffer: Any, is_signed: bool) -> None:
        self._lock = threading.Lock()
        self._entered = False
        self._released = False
        self._view: Any = _new_view(self._which, buffer, is_signed)

    def __enter__(self) -> Any:
        with self._lock:
            if self._released:
                raise ValueError("Cannot open context after calling 'release'.")
            if self._entered:
                raise ValueError("Cannot open context multiple times.")
            self._entered = True
            return self._view

    def __exit__(self, exc_type: object, exc_val: object, exc_tb: object) -> None:
        self._force_release()

    def release(self) -> None:
        """Release the buffer (idempotent); not allowed while the context is open."""
        with self._lock:
            if self._entered and not self._released:
                raise ValueError("Cannot call 'release' while context is open.")
            self._released = True
        self._view._release()

    def _force_release(self) -> None:
        view = getattr(self, "_view", None)
        lock = getattr(self, "_lock", None)
        if view is None or lock is None:
            return  # __init__ failed
        with lock:
            self._released = True
        view._release()

    def __del__(self) -> None:
        self._force_release()


class AtomicBytesViewContext(AtomicViewContext):
    """atomicview(buffer, BYTES): gives an AtomicBytesView."""

    _which = 1

    def __enter__(self) -> AtomicBytesView:
        return super().__enter__()


class AtomicIntegralViewContext(AtomicViewContext):
    """atomicview(buffer, INTEGRAL, is_signed=...): gives an AtomicIntegralView."""

    _which = 2

    def __init__(self, *, buffer: Any, is_signed: bool) -> None:
        self._init(buffer, bool(is_signed))

    def __enter__(self) -> AtomicIntegralView:
        return super().__enter__()


class AtomicIntViewContext(AtomicIntegralViewContext):
    """atomicview(buffer, INT): gives an AtomicIntView."""

    _which = 3

    def __init__(self, *, buffer: Any) -> None:
        self._init(buffer, True)

    def __enter__(self) -> AtomicIntView:
        return super().__enter__()


class AtomicUintViewContext(AtomicIntegralViewContext):
    """atomicview(buffer, UINT): gives an AtomicUintView."""

    _which = 4

    def __init__(self, *, buffer: Any) -> None:
        self._init(buffer, False)

    def __enter__(self) -> AtomicUintView:
        return super().__enter__()


# ------------------------------------------------------------------ constructors

_ATYPE_ERROR = "Type parameter 'atype' must be one of [ANY, INTEGRAL, BYTES, INT, UINT]."


def atomic(width: int, atype: type, **kwargs: Any) -> Any:
    """An atomic object of ``width`` bytes with its own storage (initially 0).

    atype: INT, UINT, BYTES; INTEGRAL needs ``is_signed=``; ANY has no
    operations. Raises UnsupportedWidthException for other widths.
    """
    if atype is INT or atype is AtomicInt:
        return AtomicInt(width=width, **kwargs)
    if atype is UINT or atype is AtomicUint:
        return AtomicUint(width=width, **kwargs)
    if atype is BYTES or atype is AtomicBytes:
        return AtomicBytes(width=width, **kwargs)
    if atype is INTEGRAL or atype is AtomicIntegral:
        return AtomicIntegral(width=width, **kwargs)
    if atype is ANY or atype is Atomic:
        return Atomic(width=width, **kwargs)
    raise TypeError(_ATYPE_ERROR)


def atomicview(buffer: Any, atype: type, **kwargs: Any) -> Any:
    """A context manager giving an atomic view of ``buffer`` (its whole length
    is the width); read-only buffers give views that only load.

    atype: INT, UINT, BYTES (or the matching view classes); INTEGRAL needs
    ``is_signed=``. Raises UnsupportedWidthException, AlignmentError,
    TypeError (no buffer protocol).
    """
    if atype is INT or atype is AtomicIntView:
        return AtomicIntViewContext(buffer=buffer, **kwargs)
    if atype is UINT or atype is AtomicUintView:
        return AtomicUintViewContext(buffer=buffer, **kwargs)
    if atype is BYTES or atype is AtomicBytesView:
        return AtomicBytesViewContext(buffer=buffer, **kwargs)
    if atype is INTEGRAL or atype is AtomicIntegralView:
        return AtomicIntegralViewContext(buffer=buffer, **kwargs)
    if atype is ANY or atype is AtomicView:
        return AtomicViewContext(buffer=buffer, **kwargs)
    raise TypeError(_ATYPE_ERROR)


__all__ = [
    "ANY", "INTEGRAL", "BYTES", "INT", "UINT",
    "Atomic", "AtomicBytes", "AtomicIntegral", "AtomicInt", "AtomicUint",
    "AtomicView", "AtomicBytesView", "AtomicIntegralView", "AtomicIntView", "AtomicUintView",
    "AtomicViewContext", "AtomicBytesViewContext", "AtomicIntegralViewContext",
    "AtomicIntViewContext", "AtomicUintViewContext",
    "Alignment", "CmpxchgResult", "MemoryOrder", "OpType",
    "AlignmentError", "MemoryOrderError", "UnsupportedWidthException",
    "UnsupportedOperationException",
    "atomic", "atomicview", "supported_widths",
]
