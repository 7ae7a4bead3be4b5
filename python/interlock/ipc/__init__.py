"""Cross-process primitives on shared memory: ``interlock.ipc``.

Each part lives in a private module of this package and is re-exported here.
"""

__all__: list[str] = []

from ._atomics import *  # noqa: E402,F403  buffer atomics (seed 004's model)
from ._atomics import __all__ as _atomics_all  # noqa: E402

__all__ += _atomics_all
