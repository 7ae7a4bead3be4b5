"""The shared-memory queue: :class:`ShmQueue` (byte messages) and
:class:`ObjectQueue` (pickled objects, ``multiprocessing.Queue``'s API).

``ShmQueue``'s methods are native (``interlock._interlock.ipc``, over the
core's ``interlock::ShmQueue`` ring); this module adds what belongs to Python:
its constructor's argument rules, the pickling layer and pickling of the queues themselves, so a queue can be handed
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
import os as _os
import pickle
import secrets as _secrets
import threading as _threading
import weakref as _weakref
from queue import Empty as _Empty
from queue import Full as _Full

from .._aio import _QueueView, _running_loop, _shutdown_error, _wake
from .._interlock.collections import ShutDown as _ShutDown
from .._interlock import ipc as _ipc
from ._futex import (NamedEvent, NamedMutex, NamedSemaphore, _attach_shared_memory,
                     _named_members, _named_region)

_named_members(_ipc.ShmQueue)


def _size_arg(value, what: str, high: int) -> int:
    """None (0: as found, or the default) or an int within [1, high]."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int or None, not {type(value).__name__}")
    if not 1 <= value <= high:
        raise ValueError(f"{what} must be between 1 and {high}")
    return value


class ShmQueue(_ipc.ShmQueue):
    """ShmQueue(name=None, capacity=None, max_message=None, *, buffer=None, offset=0,
             create=True, mode=0o600, pid_dir=None)

    A bounded multi-producer multi-consumer queue of byte messages in shared
    memory, usable by threads of any number of processes at once, with
    queue.Queue's put/get/qsize/empty/full/shutdown.

    Named (name=...): created or attached under /dev/shm with PID tracking (the
    last process to close it, or exit, removes it). No name and no buffer: a new
    queue with a unique name, removed once every process using it has exited,
    killed ones included (a reaper process). buffer=...: in a caller-supplied
    writable buffer (e.g. a multiprocessing.shared_memory.SharedMemory; 64-byte
    aligned at offset): zero-filled memory is initialised, an existing queue attached.
    capacity (default 1024, rounded up to a power of two >= 2) and max_message
    (bytes, default 8192) apply when this call creates the queue; given when
    attaching, they must match. create=False only attaches.
    """

    __slots__ = ()

    def __init__(self, name=None, capacity=None, max_message=None, *, buffer=None, offset=0,
                 create=True, mode=0o600, pid_dir=None):
        cap = _size_arg(capacity, "capacity", self._max_capacity)
        msg = _size_arg(max_message, "max_message", 1 << 30)
        if buffer is not None:
            if name is not None:
                raise ValueError("ShmQueue: give a name or a buffer, not both")
            super().__init__(buffer, offset, cap, msg, create, create)
            return
        anonymous = name is None
        if anonymous:
            if not create:
                raise ValueError("ShmQueue: create=False needs the name (or buffer) of a queue")
            name = f"anon-{_os.getpid()}-{_secrets.token_hex(8)}"
        # An existing queue is attached at its own size, whatever it was created
        # with (the region's `whole` rule); a new one is sized for cap / msg.
        size = self.required_size(cap or self.default_capacity, msg or self.default_max_message)
        region = _named_region("queue", name, size, mode, pid_dir, create, True)
        super().__init__(region, 0, cap, msg, region.created, True)
        if anonymous:  # no shared memory outlives its processes (_reaper.py)
            from . import _reaper

            _reaper.track(name, self.pid_dir)

    @property
    def maxsize(self) -> int:
        """queue.Queue's name for capacity."""
        return self.capacity

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """close() on leaving a with block."""
        _ipc.ShmQueue.close(self)

    @property
    def aio(self) -> ShmQueueAio:
        """asyncio.Queue's API on this queue (ShmQueueAio)."""
        return ShmQueueAio(self)


ShmQueue.__module__ = "interlock.ipc"
__all__ = ["ShmQueue", "ObjectQueue", "SimpleQueue", "JoinableQueue", "ShmQueueAio"]

_dumps = pickle.dumps
_loads = pickle.loads
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_put = ShmQueue.put
_get = ShmQueue.get


_UnpicklingError = pickle.UnpicklingError
_Full_t = _Full

# A message too long for the ring's slot travels in a side segment of its own
# (a POSIX shared-memory object, /dev/shm/interlock.blob.<...>): the slot holds
# _SIDE + the segment's name. _SIDE (0xff) is no pickle opcode, so an inline
# message never starts with it, and get() only looks for it after loads()
# failed: the small-message path is unchanged. The sender writes the pickle
# into the segment (one copy, as a pipe write would be) and the receiver
# unpickles straight from its mapping after unlinking the name (no second
# copy). Leftovers (a side message discarded by shutdown(immediate=True), a
# process killed between the two steps) carry the queue's name and go with
# the queue: the process that removes the queue removes them.
_SIDE = b"\xff"
_BLOB_PREFIX = "interlock.blob."
_blob_seq = iter(range(1, 1 << 62))


def _blob_stem(q) -> str:
    # Segments of queue q: "<prefix><queue's shm name>.<pid>.<n>"; the slot
    # carries "<pid>.<n>" (every process derives the stem from the queue).
    # A queue on a caller's buffer has no name: "buffer" (its leftovers are
    # not removed with it).
    path = q.shm_path
    return _BLOB_PREFIX + (path.rsplit("/", 1)[-1] if path else "buffer")


def _put_side(q, data, block, timeout) -> None:
    import _posixshmem

    suffix = f"{_os.getpid()}.{next(_blob_seq)}"
    name = f"{_blob_stem(q)}.{suffix}"
    ref = _SIDE + suffix.encode()
    if len(ref) > q.max_message:
        raise ValueError(f"max_message ({q.max_message}) is too small to pass a "
                         f"{len(data)}-byte pickle through a side segment")
    fd = _posixshmem.shm_open("/" + name, _os.O_CREAT | _os.O_EXCL | _os.O_RDWR, 0o600)
    try:
        # write(2) into tmpfs: one copy, no page faults of a fresh mapping
        # (measured 1.7x faster than ftruncate + mmap + slice assignment).
        view = memoryview(data)
        done = 0
        while done < len(view):
            done += _os.write(fd, view[done:])
    except BaseException:
        _unlink_blob(name)
        raise
    finally:
        _os.close(fd)
    try:
        _put(q, ref, block, timeout)
    except BaseException:
        _unlink_blob(name)
        raise


def _unlink_blob(name: str) -> None:
    import _posixshmem

    try:
        _posixshmem.shm_unlink("/" + name)
    except FileNotFoundError:
        pass


def _get_side(q, data: bytes):
    import _posixshmem
    import mmap as _mmap

    name = f"{_blob_stem(q)}.{data[1:].decode()}"
    fd = _posixshmem.shm_open("/" + name, _os.O_RDWR, 0o600)
    try:
        _posixshmem.shm_unlink("/" + name)  # the name goes at once: nothing to leak
        n = _os.fstat(fd).st_size
        m = _mmap.mmap(fd, n)
    finally:
        _os.close(fd)
    try:
        return _loads(m)
    finally:
        m.close()


def _remove_blobs(stem: str) -> None:
    """Remove the side segments left of a removed queue (stem: _blob_stem)."""
    try:
        names = _os.listdir("/dev/shm")
    except OSError:
        return
    for n in names:
        if n.startswith(stem + "."):
            _unlink_blob(n)


def _put_inline_or_side(q, data, block, timeout) -> None:
    try:
        _put(q, data, block, timeout)
    except ValueError:
        if q.closed or len(data) <= q.max_message:
            raise
        _put_side(q, data, block, timeout)


# ---- maxsize=0: unbounded as far as the user can tell
#
# The ring is fixed-size, so an unbounded ObjectQueue does what
# multiprocessing.Queue does: when the ring is full, put() buffers the
# pickled object in this process and a feeder thread moves it into the ring
# as space frees up. While a queue has buffered objects, later puts of this
# process go behind them (FIFO per process). _SPILL is empty unless some
# queue of this process buffers, so the fast path tests one global.
_SPILL: dict = {}
_SPILL_LOCK = _threading.Lock()


class _Spill:
    __slots__ = ("items", "thread", "drained", "cancelled")

    def __init__(self) -> None:
        import collections

        self.items = collections.deque()
        self.thread = None
        self.drained = _threading.Event()
        self.cancelled = False


def _spill_put(q, data) -> None:
    with _SPILL_LOCK:
        sp = _SPILL.get(id(q))
        if sp is None:
            sp = _SPILL[id(q)] = _Spill()
        sp.items.append(data)
        if sp.thread is None:
            sp.drained.clear()
            sp.thread = _threading.Thread(target=_feed, args=(q, sp),
                                          name="interlock-objectqueue-feeder", daemon=True)
            sp.thread.start()
            # As multiprocessing.Queue's feeder: the process's exit (a
            # multiprocessing child's too) waits until the buffer is flushed,
            # unless cancel_join_thread() was called.
            from multiprocessing.util import Finalize

            Finalize(q, _flush, [sp], exitpriority=-5)


def _flush(sp: _Spill) -> None:
    if not sp.cancelled:
        sp.drained.wait()


def _feed(q, sp: _Spill) -> None:
    # Moves the buffered pickles into the ring. It waits for space the way the
    # aio bridge does (the ring's space epoch), so cancel_join_thread() and
    # close() can wake it (_aio_kick) instead of leaving it in a blocking put.
    while True:
        with _SPILL_LOCK:
            if not sp.items or sp.cancelled or q.closed:
                sp.items.clear()
                if _SPILL.get(id(q)) is sp:
                    del _SPILL[id(q)]
                sp.thread = None
                sp.drained.set()
                return
            data = sp.items[0]
        e = q._aio_epoch(True)
        try:
            _put_inline_or_side(q, data, False, None)
        except _Full_t:
            if not q._aio_ready(True):
                q._aio_sleep(True, e)
            continue
        except BaseException:  # shut down or closed meanwhile: drop the rest
            with _SPILL_LOCK:
                sp.cancelled = True
            continue
        with _SPILL_LOCK:
            sp.items.popleft()


def _stop_feeder(q) -> None:
    """cancel_join_thread() / close(): drop what this process still buffers
    for q and wake its feeder."""
    with _SPILL_LOCK:
        sp = _SPILL.get(id(q))
        if sp is None:
            return
        sp.cancelled = True
    q._aio_kick(True)


def _after_fork_spill() -> None:
    global _SPILL_LOCK
    _SPILL_LOCK = _threading.Lock()
    _SPILL.clear()  # the feeder threads do not exist in the child


_os.register_at_fork(after_in_child=_after_fork_spill)


class ObjectQueue(ShmQueue):
    """A :class:`ShmQueue` of Python objects: each message is one object,
    pickled (highest protocol) by ``put`` and unpickled by ``get``.

    ``ObjectQueue(maxsize=0, *, name=None, capacity=None, max_message=None,
    buffer=None, offset=0, create=True, mode=0o600, pid_dir=None)``:
    ``multiprocessing.Queue(maxsize)``'s API (``put``/``get`` with ``block``
    and ``timeout``, ``put_nowait``/``get_nowait``, ``qsize``/``empty``/
    ``full``, ``close``, ``join_thread``/``cancel_join_thread``), plus
    queue.Queue's ``shutdown``. ``maxsize > 0`` bounds the queue (the ring's
    capacity: rounded up to a power of two); ``maxsize <= 0`` (the default) is
    unbounded as far as the user can tell: when the ring (``capacity``
    messages, default 1024) is full, ``put`` buffers the pickle in this
    process and a feeder thread moves it into shared memory as space frees up,
    as multiprocessing.Queue's feeder does (``join_thread()`` waits for it,
    ``cancel_join_thread()`` drops what is still buffered). Objects of any
    size: a pickle longer than ``max_message`` travels in a shared-memory
    segment of its own, unlinked by its receiver. The other arguments are
    ShmQueue's, keyword-only.
    """

    __slots__ = ()

    def __new__(cls, maxsize=0, *args, **kwargs):
        if not (isinstance(maxsize, int) and maxsize > 0):
            cls = cls.__dict__.get("_unbounded_twin", cls)
        return super().__new__(cls)

    def __init_subclass__(cls, **kwargs):
        # A user's subclass gets its own unbounded twin, so that maxsize=0
        # means the same for it: the subclass plus the unbounded methods it
        # does not override itself (nanobind allows one native base, so no
        # multiple inheritance); the twin pickles as the subclass (_reduce).
        super().__init_subclass__(**kwargs)
        unbounded = globals().get("_UnboundedObjectQueue")
        if unbounded is None or cls.__dict__.get("_is_twin") or issubclass(cls, unbounded):
            return
        ns = {"__slots__": (), "_is_twin": True, "__module__": cls.__module__,
              "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
        for attr in ("put", "put_nowait", "full", "maxsize"):
            if getattr(cls, attr) is getattr(ObjectQueue, attr):
                ns[attr] = unbounded.__dict__[attr]
        cls._unbounded_twin = twin = type(cls.__name__, (cls,), ns)
        late = lambda q: _reduce(q)  # noqa: E731  (_reduce comes later in the module)
        copyreg.pickle(cls, late)
        copyreg.pickle(twin, late)

    def __init__(self, maxsize=0, *, name=None, capacity=None, max_message=None, buffer=None,
                 offset=0, create=True, mode=0o600, pid_dir=None):
        if isinstance(maxsize, (str, bytes, _os.PathLike)) or maxsize is None:
            raise TypeError(
                "ObjectQueue's first argument is maxsize, as multiprocessing.Queue(maxsize)'s; "
                f"give the name as a keyword: ObjectQueue(name={maxsize!r})")
        if isinstance(maxsize, bool) or not isinstance(maxsize, int):
            raise TypeError(f"maxsize must be an int, not {type(maxsize).__name__}")
        if maxsize > 0 and capacity is None:
            capacity = max(maxsize, 2)
        super().__init__(name, capacity, max_message, buffer=buffer, offset=offset,
                         create=create, mode=mode, pid_dir=pid_dir)

    def put(self, obj, block=True, timeout=None):
        """Pickle obj and append it (ShmQueue.put's block/timeout rules)."""
        data = _dumps(obj, _PROTOCOL)
        try:
            _put(self, data, block, timeout)
        except ValueError:
            if self.closed or len(data) <= self.max_message:
                raise
            _put_side(self, data, block, timeout)

    def put_nowait(self, obj):
        """put(obj, block=False)."""
        data = _dumps(obj, _PROTOCOL)
        try:
            _put(self, data, False)
        except ValueError:
            if self.closed or len(data) <= self.max_message:
                raise
            _put_side(self, data, False, None)

    def get(self, block=True, timeout=None):
        """Remove and return the oldest object (ShmQueue.get's rules)."""
        data = _get(self, block, timeout)
        try:
            return _loads(data)
        except _UnpicklingError:
            if data[:1] != _SIDE:
                raise
        return _get_side(self, data)

    def get_nowait(self):
        """get(block=False)."""
        data = _get(self, False)
        try:
            return _loads(data)
        except _UnpicklingError:
            if data[:1] != _SIDE:
                raise
        return _get_side(self, data)

    def close(self):
        """Stop using the queue in this object (ShmQueue.close); when that
        removed the queue, its leftover side segments go with it."""
        path = self.shm_path
        stem = _blob_stem(self) if path else None
        if _SPILL:
            self.join_thread()  # as multiprocessing's close + exit: flush first
        ShmQueue.close(self)
        if stem is not None and not _os.path.exists(path):
            _remove_blobs(stem)

    def join_thread(self):
        """Wait until the objects this process buffered (unbounded queue, ring
        full) are in shared memory (multiprocessing.Queue.join_thread)."""
        sp = _SPILL.get(id(self))
        if sp is not None:
            sp.drained.wait()

    def cancel_join_thread(self):
        """Drop the objects still buffered in this process (multiprocessing's
        cancel_join_thread: they are lost); join_thread() no longer waits."""
        _stop_feeder(self)


class _UnboundedObjectQueue(ObjectQueue):
    """ObjectQueue(maxsize <= 0): a full ring makes put() buffer locally."""

    __slots__ = ()
    _is_twin = True  # pickles as ObjectQueue, unbounded

    def put(self, obj, block=True, timeout=None):
        """Pickle obj and append it; never waits and never raises queue.Full
        (the queue is unbounded: see ObjectQueue)."""
        data = _dumps(obj, _PROTOCOL)
        if _SPILL and id(self) in _SPILL:
            _spill_put(self, data)
            return
        try:
            _put(self, data, False)
        except _Full_t:
            _spill_put(self, data)
        except ValueError:
            if self.closed or len(data) <= self.max_message:
                raise
            try:
                _put_side(self, data, False, None)
            except _Full_t:
                _spill_put(self, data)

    def put_nowait(self, obj):
        """put(obj): an unbounded queue never raises queue.Full."""
        self.put(obj, False)

    def full(self):
        """False: the queue is unbounded."""
        return False

    @property
    def maxsize(self):
        """0: unbounded (the ring holds ``capacity``, more is buffered)."""
        return 0


ObjectQueue._unbounded_twin = _UnboundedObjectQueue


class SimpleQueue(_UnboundedObjectQueue):
    """``multiprocessing.SimpleQueue``'s counterpart: an unbounded
    :class:`ObjectQueue` (``put(obj)``, ``get()``, ``empty()``, ``close()``);
    its keyword arguments are ObjectQueue's."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        return ShmQueue.__new__(cls)

    def __init__(self, *, name=None, capacity=None, max_message=None, buffer=None, offset=0,
                 create=True, mode=0o600, pid_dir=None):
        super().__init__(0, name=name, capacity=capacity, max_message=max_message, buffer=buffer,
                         offset=offset, create=create, mode=mode, pid_dir=pid_dir)


class JoinableQueue(ObjectQueue):
    """``multiprocessing.JoinableQueue(maxsize)``'s counterpart: an
    :class:`ObjectQueue` with ``task_done()`` and ``join()`` across processes.

    The unfinished-task count lives in shared memory next to the queue: a
    ``NamedSemaphore`` (the count), a ``NamedEvent`` (set while the count is
    zero) and a robust ``NamedMutex`` that orders their updates, named after
    the queue. ``put`` counts the item before it is visible (and takes it back
    if the put fails); ``task_done`` raises ``ValueError`` when called more
    times than items were put; ``join`` waits until the count is zero;
    ``unfinished_tasks`` reads it (queue.Queue's attribute, read-only here).

    A consumer killed between ``get`` and ``task_done`` leaves its item
    counted, as in multiprocessing (the item was never processed, so ``join``
    must not report it done): ``join()`` then waits until some process calls
    ``task_done`` for it. ``join(timeout)`` (seconds, as
    ``threading.Event.wait``: returns False if tasks are still unfinished when
    it expires) lets a supervisor notice instead of hanging; it can then check
    its workers (``Process.exitcode``) and call ``task_done()`` for the items
    it knows were abandoned. Works on named (including the default anonymous)
    queues, not on a caller's buffer.
    """

    def __init__(self, maxsize=0, **kwargs):
        if kwargs.get("buffer") is not None:
            raise TypeError("JoinableQueue needs a named queue (no buffer=)")
        super().__init__(maxsize, **kwargs)
        try:
            self._after_attach()
        except BaseException:
            ShmQueue.close(self)
            raise
        if self.created:
            self._idle.set()

    def _after_attach(self):
        name, pid_dir = self.name, self.pid_dir
        self._jmutex = NamedMutex(name + ".join-mutex", pid_dir=pid_dir)
        self._unfinished = NamedSemaphore(name + ".join-count", 0, pid_dir=pid_dir)
        self._idle = NamedEvent(name + ".join-idle", pid_dir=pid_dir)

    def _count(self, delta):
        # Each section ends by deriving the event from the count, so a holder
        # killed inside (the robust mutex recovers) leaves at worst a stale
        # event until the next put / task_done.
        with self._jmutex:
            done = True
            if delta > 0:
                self._unfinished.release()
            else:
                done = self._unfinished.acquire(False)
            if self._unfinished.value == 0:
                self._idle.set()
            else:
                self._idle.clear()
            return done

    def put(self, obj, block=True, timeout=None):
        """Count one unfinished task and put obj (ObjectQueue.put's rules)."""
        self._check_open()
        self._count(+1)
        try:
            if type(self).__dict__.get("_is_twin"):
                _UnboundedObjectQueue.put(self, obj, block, timeout)
            else:
                ObjectQueue.put(self, obj, block, timeout)
        except BaseException:
            self._count(-1)
            raise

    def put_nowait(self, obj):
        """put(obj, block=False)."""
        self.put(obj, False)

    def task_done(self):
        """Mark one item got from the queue (by any process) as processed;
        ValueError if called more times than items were put."""
        self._check_open()
        if not self._count(-1):
            raise ValueError("task_done() called too many times")

    def join(self, timeout=None):
        """Wait until every item put (by any process) has been marked
        task_done() and return True; with a timeout (seconds; None waits
        forever) return False if tasks are still unfinished when it expires
        (multiprocessing's join() takes no timeout: join() is that call).
        Releases the GIL; interruptible by signals."""
        self._check_open()
        return self._idle.wait(timeout)

    @property
    def unfinished_tasks(self):
        """Items put and not yet marked task_done(), by every process."""
        self._check_open()
        return self._unfinished.value

    def _check_open(self):
        if self.closed:
            raise ValueError(f"{type(self).__name__} is closed")

    def close(self):
        """ObjectQueue.close, and the shared count's objects."""
        ObjectQueue.close(self)
        for attr in ("_jmutex", "_unfinished", "_idle"):
            obj = self.__dict__.get(attr)
            if obj is not None:
                obj.close()


# ------------------------------------------------------------------ asyncio
#
# A coroutine cannot sleep on the queue's futex, and the wake-up may come from
# another process, which cannot reach this process's event loops. So each
# queue object has, per direction (get: "items", put: "space"), at most one
# bridge thread in this process, started by the first coroutine that has to
# wait. While coroutines wait, it sleeps on the queue's epoch futex (counted
# as a waiter, so producers in any process make the wake-up system call);
# when the queue becomes readable (writable) it wakes every waiting coroutine
# through its loop's call_soon_threadsafe, and they retry the non-blocking
# call. With no coroutine waiting it parks on a local condition, holding only
# a weak reference to the queue. No thread per waiter, no polling.
#
# Protocol (no lost wake-up): a coroutine registers its future, then retries
# get_nowait/put_nowait, and only then awaits. The bridge reads the epoch,
# checks readiness (exact: a published slot, not a claimed one), and sleeps
# while the epoch is unchanged; any publish after the coroutine's retry bumps
# the epoch after the bridge's read, so the bridge wakes and sees it.
# Cancellation: the coroutine withdraws its future; the last one to leave
# kicks the bridge (bumps the epoch) so that it stops sleeping on the queue.
# Wake-ups are broadcasts and hand nothing over: a cancelled get loses no
# message, a cancelled put queues none.

class _Bridge:
    __slots__ = ("_ref", "_space", "_cond", "_waiters", "_thread", "_sleeping",
                 "__weakref__")

    def __init__(self, q, space: bool) -> None:
        self._ref = _weakref.ref(q, self._queue_gone)
        self._space = space
        self._cond = _threading.Condition(_threading.Lock())
        self._waiters: dict[int, tuple] = {}
        self._thread = None
        self._sleeping = False

    def _queue_gone(self, _ref) -> None:
        with self._cond:
            self._cond.notify_all()

    def register(self, loop, future) -> int:
        token = id(future)
        with self._cond:
            self._waiters[token] = (loop, future)
            if self._thread is None:
                self._thread = _threading.Thread(
                    target=self._run, name="interlock-shmqueue-aio", daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        return token

    def unregister(self, token: int, q) -> None:
        with self._cond:
            if self._waiters.pop(token, None) is None or self._waiters:
                return
            kick = self._sleeping
        if kick:  # nobody left: make the bridge stop sleeping on the queue
            q._aio_kick(self._space)

    def _run(self) -> None:
        space = self._space
        while True:
            with self._cond:
                while not self._waiters:
                    if self._ref() is None:
                        self._thread = None
                        return
                    self._cond.wait()
            q = self._ref()
            if q is None:
                with self._cond:
                    self._thread = None
                    waiters, self._waiters = self._waiters, {}
                self._notify(waiters)
                return
            e = q._aio_epoch(space)
            if q._aio_ready(space):
                # Drop the queue before waking anybody: once a coroutine has
                # run, this thread holds no reference that keeps it alive.
                del q
                with self._cond:
                    waiters, self._waiters = self._waiters, {}
                self._notify(waiters)
                continue
            with self._cond:
                self._sleeping = bool(self._waiters)
            if self._sleeping:
                try:
                    q._aio_sleep(space, e)
                finally:
                    with self._cond:
                        self._sleeping = False
            del q

    @staticmethod
    def _notify(waiters: dict) -> None:
        for loop, future in waiters.values():
            try:
                loop.call_soon_threadsafe(_wake, future)
            except RuntimeError:  # that loop is closed: nobody awaits there
                pass

    def _after_fork(self) -> None:  # the thread does not exist in the child
        self._cond = _threading.Condition(_threading.Lock())
        self._waiters = {}
        self._thread = None
        self._sleeping = False


# queue -> [items bridge, space bridge] (either None until first needed)
_BRIDGE_OF: "_weakref.WeakKeyDictionary" = _weakref.WeakKeyDictionary()
_BRIDGE_LOCK = _threading.Lock()


def _after_fork_in_child() -> None:
    global _BRIDGE_LOCK
    _BRIDGE_LOCK = _threading.Lock()
    for pair in list(_BRIDGE_OF.values()):
        for b in pair:
            if b is not None:
                b._after_fork()


_os.register_at_fork(after_in_child=_after_fork_in_child)


def _bridge(q, space: bool) -> _Bridge:
    with _BRIDGE_LOCK:
        pair = _BRIDGE_OF.get(q)
        if pair is None:
            pair = _BRIDGE_OF[q] = [None, None]
        b = pair[space]
        if b is None:
            b = pair[space] = _Bridge(q, space)
        return b


async def _until(q, space: bool, attempt):
    """Run attempt() (a non-blocking get/put raising queue.Empty/Full, which
    just failed) until it succeeds, waiting on the running loop in between."""
    loop = _running_loop()
    bridge = _bridge(q, space)
    retry = _Empty if not space else _Full
    while True:  # register, retry, and only then wait: no wake-up is lost
        future = loop.create_future()
        token = bridge.register(loop, future)
        try:
            try:
                return attempt()
            except retry:
                pass
            await future
        finally:
            bridge.unregister(token, q)


class ShmQueueAio(_QueueView):
    """``q.aio``: asyncio.Queue's API on a ShmQueue / ObjectQueue. Coroutines
    (on any loops, in any threads) await ``get`` / ``put`` while threads and
    other processes use the blocking API on the same queue. The queue has no
    task accounting, so there is no ``join`` / ``task_done``. A cancelled
    ``get`` loses no message; a cancelled ``put`` queues none."""

    __slots__ = ()

    async def get(self):
        """Remove and return the oldest message (object, for an ObjectQueue),
        waiting without blocking the loop (asyncio.QueueShutDown once shut
        down and empty)."""
        q = self._q
        try:
            try:
                return q.get_nowait()
            except _Empty:
                return await _until(q, False, q.get_nowait)
        except _ShutDown as e:
            raise _shutdown_error(e) from None

    async def put(self, item) -> None:
        """Append item, waiting for a free slot without blocking the loop
        (asyncio.QueueShutDown once the queue is shut down)."""
        q = self._q
        try:
            try:
                q.put_nowait(item)
            except _Full:
                await _until(q, True, lambda: q.put_nowait(item))
        except _ShutDown as e:
            raise _shutdown_error(e) from None


ShmQueueAio.__module__ = "interlock.ipc"


# ------------------------------------------------------------------ pickling


def _public(cls, unbounded: bool):
    if unbounded and issubclass(cls, ObjectQueue):
        return cls.__dict__.get("_unbounded_twin", cls)
    return cls


def _rebuild_named(cls, name: str, pid_dir: str, unbounded: bool = False):
    cls = _public(cls, unbounded)
    if issubclass(cls, ObjectQueue):  # attach: not ObjectQueue's constructor
        q = ShmQueue.__new__(cls)
        ShmQueue.__init__(q, name, create=False, pid_dir=pid_dir)
        attach = getattr(q, "_after_attach", None)
        if attach is not None:
            attach()
        return q
    return cls(name, create=False, pid_dir=pid_dir)


def _rebuild_buffer(cls, shm_name: str, offset: int, unbounded: bool = False):
    cls = _public(cls, unbounded)
    if issubclass(cls, ObjectQueue):
        q = ShmQueue.__new__(cls)
        ShmQueue.__init__(q, buffer=_attach_shared_memory(shm_name), offset=offset, create=False)
        return q
    return cls(buffer=_attach_shared_memory(shm_name), offset=offset, create=False)


def _reduce(q):
    if q.closed:
        raise ValueError(f"cannot pickle a closed {type(q).__name__}")
    cls = type(q)
    unbounded = cls.__dict__.get("_is_twin", False)
    if unbounded:
        cls = cls.__mro__[1]  # a subclass's unbounded twin: by the subclass's name
    if q.name is not None:
        return _rebuild_named, (cls, q.name, q.pid_dir, unbounded)
    from multiprocessing import shared_memory

    source = q._source
    if not isinstance(source, shared_memory.SharedMemory):
        raise TypeError(
            f"cannot pickle a {type(q).__name__} on a {type(source).__name__}: only a named "
            "queue, or one on a multiprocessing.shared_memory.SharedMemory (passed as the "
            "buffer), pickles")
    return _rebuild_buffer, (cls, source.name, q._offset, unbounded)


for _cls in (ShmQueue, ObjectQueue, _UnboundedObjectQueue, SimpleQueue):
    copyreg.pickle(_cls, _reduce)
