"""``fastipc.nptree`` on interlock: a tree of NumPy arrays laid out in one flat
buffer (typically shared memory), described by a *layout* tree of strings.

The functions are in :mod:`interlock.compat.fastipc.nptree.schema`, as in
fastipc 0.1.5; they need ``numpy`` and ``optree`` (``pip install
'interlock[nptree]'``), imported on first use: without them a call raises an
``ImportError`` naming the extra.
"""
