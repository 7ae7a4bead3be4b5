"""The shared-memory queue: :class:`ShmQueue` (byte messages) and
:class:`ObjectQueue` (pickled objects, ``multiprocessing.Queue``'s API).

``ShmQueue`` is native (``interlock._interlock.ipc``, over the core's
``interlock::ShmQueue`` ring); this module adds what belongs to Python: the
pickling layer and pickling of the queues themselves, so a queue can be handed
to a ``multiprocessing`` child started by *spawn* or *forkserver* (a
``Process`` argument, a ``Pool`` initializer argument):

* a named queue (including the default, uniquely named one) pickles by name
  and PID directory: the receiver attaches (``create=False``) and registers
  itself as a user, so the queue lives while any process uses it;
* a queue on a :class:`multiprocessing.shared_memory.SharedMemory` buffer
  pickles by the segment's name and offset; other buffers cannot be pickled
  (``TypeError``).

Under *fork* nothing needs pickling: children inherit the queue.
"""

from __future__ import annotations

import copyreg
import pickle

from .._interlock import ipc as _ipc
from ._futex import _attach_shared_memory

ShmQueue = _ipc.ShmQueue

__all__ = ["ShmQueue", "ObjectQueue"]

_dumps = pickle.dumps
_loads = pickle.loads
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_put = ShmQueue.put
_get = ShmQueue.get


class ObjectQueue(ShmQueue):
    """A :class:`ShmQueue` of Python objects: each message is one object,
    pickled (highest protocol) by ``put`` and unpickled by ``get``.

    ``multiprocessing.Queue``'s API (``put``/``get`` with ``block`` and
    ``timeout``, ``put_nowait``/``get_nowait``, ``qsize``/``empty``/``full``,
    ``close``, ``join_thread``/``cancel_join_thread``), plus queue.Queue's
    ``shutdown``. Unlike ``multiprocessing.Queue`` there is no feeder thread:
    ``put`` has copied the object into shared memory when it returns, so an
    object is never lost when its process exits right after the put, and a
    full queue makes ``put`` wait (or raise ``queue.Full``) instead of buffering
    without bound. A pickle longer than ``max_message`` is a ``ValueError``.
    The constructor is ShmQueue's.
    """

    __slots__ = ()

    def put(self, obj, block=True, timeout=None):
        """Pickle obj and append it (ShmQueue.put's block/timeout rules)."""
        _put(self, _dumps(obj, _PROTOCOL), block, timeout)

    def put_nowait(self, obj):
        """put(obj, block=False)."""
        _put(self, _dumps(obj, _PROTOCOL), False)

    def get(self, block=True, timeout=None):
        """Remove and return the oldest object (ShmQueue.get's rules)."""
        return _loads(_get(self, block, timeout))

    def get_nowait(self):
        """get(block=False)."""
        return _loads(_get(self, False))

    def join_thread(self):
        """multiprocessing.Queue's: nothing to wait for (no feeder thread)."""

    def cancel_join_thread(self):
        """multiprocessing.Queue's: nothing to cancel (no feeder thread)."""


# ------------------------------------------------------------------ pickling


def _rebuild_named(cls, name: str, pid_dir: str):
    return cls(name, create=False, pid_dir=pid_dir)


def _rebuild_buffer(cls, shm_name: str, offset: int):
    return cls(buffer=_attach_shared_memory(shm_name), offset=offset, create=False)


def _reduce(q):
    if q.closed:
        raise ValueError(f"cannot pickle a closed {type(q).__name__}")
    if q.name is not None:
        return _rebuild_named, (type(q), q.name, q.pid_dir)
    from multiprocessing import shared_memory

    source = q._source
    if not isinstance(source, shared_memory.SharedMemory):
        raise TypeError(
            f"cannot pickle a {type(q).__name__} on a {type(source).__name__}: only a named "
            "queue, or one on a multiprocessing.shared_memory.SharedMemory (passed as the "
            "buffer), pickles")
    return _rebuild_buffer, (type(q), source.name, q._offset)


copyreg.pickle(ShmQueue, _reduce)
copyreg.pickle(ObjectQueue, _reduce)
