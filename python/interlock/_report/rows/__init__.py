"""The rows of ``python -m interlock``'s benchmark table, one module per area.

Each module defines ``ROWS``, a list of :class:`interlock._report._rows.Row`.
Every module of this package is picked up (areas in the order atomic, locks,
collections, ipc, then the rest by name). A row may name interlock features
that are not built yet: it is skipped with a note until they exist.
"""
