"""Cross-process primitives on shared memory: ``interlock.ipc``.

Each part lives in a private module of this package and is re-exported here.
"""

__all__: list[str] = []
