"""``fastipc.nptree`` on interlock: a tree of NumPy arrays laid out in one flat
buffer (typically shared memory), described by a *layout* tree of strings.

The functions are in :mod:`interlock.compat.fastipc.nptree.schema`, as in
fastipc 0.1.5; importing that module needs ``numpy`` and ``optree``
(``pip install 'interlock[nptree]'``). This package itself imports neither.
"""
