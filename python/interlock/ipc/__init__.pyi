"""Types of ``interlock.ipc``: its ``__init__.py`` builds ``__all__`` per
platform, which type checkers cannot follow; these are the Linux/macOS names."""

from ._atomics import *
from ._futex import *
from ._queue import *
