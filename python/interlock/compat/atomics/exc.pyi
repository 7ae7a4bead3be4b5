"""atomics.exc: the exception types."""

from interlock.ipc._atomics import AlignmentError as AlignmentError
from interlock.ipc._atomics import MemoryOrderError as MemoryOrderError
from interlock.ipc._atomics import UnsupportedOperationException as UnsupportedOperationException
from interlock.ipc._atomics import UnsupportedWidthException as UnsupportedWidthException
