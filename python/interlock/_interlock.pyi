"""Types of the extension module ``interlock._interlock``.

Hand-written: nanobind's stubgen renders the fast methods (plain CPython
methods installed through ``Py_tp_methods``, see bindings/fast_methods.hpp) as
bare ``MethodDescriptorType`` attributes. Keep this file in step with
bindings/*.cpp: a fast method's text signature there (e.g.
``"add($self, n, /)"``) is its signature here, with types added.

The submodule ``_bench`` is declared as a class so that this stays one file;
use it as ``from interlock._interlock import _bench``.
"""

from typing import Final, TypedDict, final

__version__: Final[str]

class _BuildInfo(TypedDict):
    version: str
    compiler_id: str
    compiler_version: str
    compiler_banner: str
    cxx_standard: int
    build_type: str
    assertions: bool
    free_threaded: bool
    python_version: str
    nanobind_version: str

def build_info() -> _BuildInfo:
    """Describe how this extension was built: version, compiler, build type,
    free-threading, nanobind version."""

@final
class _bench:
    """Submodule ``interlock._interlock._bench``: proof and benchmark of the
    fast-method binding pattern (not public API)."""

    class Counter:
        """A thread-safe 64-bit counter."""

        def __init__(self, start: int = 0) -> None: ...
        # fast methods (bindings/fast_methods.hpp)
        def inc(self, /) -> int:
            """Add one; return the new value (OverflowError past 2**63-1)."""
        def add(self, n: int, /) -> int:
            """Add n; return the new value (OverflowError past int64)."""
        def value(self, /) -> int:
            """Return the current value."""
        def compare_exchange(self, expected: int, desired: int, /) -> bool:
            """Set the value to desired if it equals expected; return whether it did."""
        def reset(self, /, value: int | None = 0) -> int:
            """Set the value (default 0); return the previous one."""
        # benchmark variants
        def inc_noargs(self, /) -> int:
            """inc() forced to METH_NOARGS."""
        def inc_raw(self, /) -> int:
            """inc() written by hand without the helper."""
        def inc_nb(self) -> int:
            """inc() bound the plain nanobind way."""
        def add_nb(self, n: int) -> int:
            """add(n) bound the plain nanobind way."""

    class NullLock:
        """A lock whose methods do nothing, bound like interlock.locks.Lock's:
        the ceiling of the contended lock benchmarks."""

        def __init__(self) -> None: ...
        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            """Return True at once (nothing is acquired)."""
        def release(self, /) -> None:
            """Do nothing."""
        def __enter__(self, /) -> bool:
            """Return True."""
        def __exit__(self, exc_type: object = None, exc_value: object = None,
                     traceback: object = None, /) -> None:
            """Do nothing."""
