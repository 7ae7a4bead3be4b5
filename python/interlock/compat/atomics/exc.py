"""atomics.exc: the exception types."""

from ...ipc._atomics import (
    AlignmentError,
    MemoryOrderError,
    UnsupportedOperationException,
    UnsupportedWidthException,
)

__all__ = ["AlignmentError", "MemoryOrderError", "UnsupportedOperationException",
           "UnsupportedWidthException"]
