"""Compatibility façades: each seed library's API, exactly, on interlock.

Change an import and existing code runs on interlock:

* ``interlock.compat.syncx`` (``atomic``, ``locks``) for ``syncx``;
* ``interlock.compat.ft_utils`` (``concurrency``) for ``ft_utils``;
* ``interlock.compat.fastipc`` for ``fastipc``.

A façade is a few lines of names mapped onto interlock's own types: the hot
methods are native, never Python wrappers.
"""
