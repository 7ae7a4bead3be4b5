"""interlock.compat.syncx.locks: syncx's ``locks`` module (seed 000), exactly —
names, signatures, return values, exceptions — on native classes."""

from __future__ import annotations

import gc
import inspect
import threading
import time

import pytest

import interlock.locks as il
from interlock.compat.syncx import locks as sx
from interlock.compat.syncx.locks import Lock, LockGuard, RLock, RLockGuard, RWLock, ReadGuard, WriteGuard
from _threads import Holder, in_thread

pytestmark = pytest.mark.timeout(60)

METHOD_DESCRIPTOR = type(str.join)


# ---------------------------------------------------------------- the surface


def test_names():
    assert sorted(sx.__all__) == sorted(
        ["Lock", "LockGuard", "RLock", "RLockGuard", "RWLock", "ReadGuard", "WriteGuard"])
    for name in sx.__all__:
        assert getattr(sx, name).__name__ == name
    # the guards are interlock's; the locks are distinct native classes
    assert LockGuard is il.LockGuard and RLockGuard is il.RLockGuard
    assert ReadGuard is il.ReadGuard and WriteGuard is il.WriteGuard
    assert Lock is not il.Lock and RLock is not il.RLock and RWLock is not il.RWLock
    assert Lock.__module__ == "interlock.compat.syncx.locks"
    from interlock._interlock.locks import _syncx

    assert Lock is _syncx.Lock and RLock is _syncx.RLock and RWLock is _syncx.RWLock


def test_no_python_wrappers():
    """Every public method is a C method descriptor of a native class."""
    for cls in (Lock, RLock, RWLock, LockGuard, RLockGuard, ReadGuard, WriteGuard):
        for name in dir(cls):
            if name.startswith("_") and name not in ("__enter__", "__exit__"):
                continue
            assert type(inspect.getattr_static(cls, name)) is METHOD_DESCRIPTOR, (cls, name)


SEED_SIGNATURES = {
    Lock: {
        "acquire": "(self, /, blocking=True, timeout=None)",
        "guard": "(self, /, blocking=True, timeout=None)",
        "try_acquire": "(self, /)", "try_lock": "(self, /)", "release": "(self, /)",
        "locked": "(self, /)", "is_locked": "(self, /)",
    },
    RLock: {
        "acquire": "(self, /, blocking=True, timeout=None)",
        "guard": "(self, /, blocking=True, timeout=None)",
        "try_acquire": "(self, /)", "try_lock": "(self, /)", "release": "(self, /)",
        "locked": "(self, /)", "is_locked": "(self, /)",
    },
    RWLock: {
        "acquire_read": "(self, /, blocking=True, timeout=None)",
        "read_guard": "(self, /, blocking=True, timeout=None)",
        "acquire_write": "(self, /, blocking=True, timeout=None)",
        "write_guard": "(self, /, blocking=True, timeout=None)",
        "read_release": "(self, /)", "write_release": "(self, /)",
        "write_release_fair": "(self, /)", "bump_shared": "(self, /)",
        "bump_exclusive": "(self, /)", "is_locked": "(self, /)", "is_write_locked": "(self, /)",
    },
    LockGuard: {"release": "(self, /)", "unlock": "(self, /)"},
    RLockGuard: {"release": "(self, /)", "unlock": "(self, /)"},
    ReadGuard: {"release": "(self, /)", "unlock": "(self, /)"},
    WriteGuard: {"release": "(self, /)", "unlock": "(self, /)", "release_fair": "(self, /)",
                 "downgrade": "(self, /)"},
}


@pytest.mark.parametrize("cls", list(SEED_SIGNATURES), ids=lambda c: c.__name__)
def test_seed_signatures(cls):
    for name, sig in SEED_SIGNATURES[cls].items():
        assert str(inspect.signature(getattr(cls, name))) == sig, name
    if cls is not RWLock:  # syncx's RWLock is not a context manager; its guards are
        assert hasattr(cls, "__enter__") and hasattr(cls, "__exit__")


def test_guards_have_no_constructor():
    for cls in (LockGuard, RLockGuard, ReadGuard, WriteGuard):
        with pytest.raises(TypeError):
            cls()


# ---------------------------------------------------------------- Lock


def test_lock_seed_contract():
    mutex = Lock()
    assert mutex.acquire() is True
    assert mutex.try_acquire() is False and mutex.try_lock() is False
    assert mutex.locked() is True and mutex.is_locked() is True
    assert mutex.release() is None
    assert mutex.try_acquire() is True
    mutex.release()
    with mutex as m:
        assert m is mutex  # syncx binds the lock itself
        assert mutex.locked()
    assert not mutex.locked()
    assert mutex.__enter__() is mutex
    assert mutex.__exit__(None, None, None) is False
    assert mutex.lock() is True  # the original's alias
    mutex.release()


def test_lock_guard_lifecycle():
    # adapted from syncx's tests/test_locks.py
    mutex = Lock()
    guard = mutex.guard()
    assert guard is not None and type(guard) is LockGuard
    assert mutex.is_locked() is True
    guard.release()
    assert mutex.is_locked() is False
    guard.release()  # a second release does nothing
    with mutex:
        assert mutex.locked() is True
    assert mutex.is_locked() is False
    with mutex.guard() as g:
        assert g is not None and mutex.locked()
    assert not mutex.locked()
    g = mutex.guard()
    assert mutex.guard(blocking=False) is None
    g.unlock()
    assert not mutex.locked()


@pytest.mark.parametrize("cls", [Lock, RLock])
def test_syncx_timeout_conventions(cls):
    lock = cls()
    with Holder(lock.acquire, lock.release):
        # blocking=False ignores any timeout; a negative timeout tries once
        for args in [(False,), (False, 5), (False, -1), (False, None), (None,), (True, -1),
                     (True, -0.0), (True, -1e9)]:
            t0 = time.monotonic()
            assert lock.acquire(*args) is False, args
            assert time.monotonic() - t0 < 1.0
            assert lock.guard(*args) is None
        t0 = time.monotonic()
        assert lock.acquire(timeout=0.05) is False
        assert 0.05 <= time.monotonic() - t0 < 2.0
        assert lock.guard(True, 0.05) is None
        with pytest.raises(TypeError):
            lock.acquire(True, "x")
        with pytest.raises(TypeError):
            lock.acquire(False, "x")  # checked before blocking is looked at
    # free: None / inf / nan / huge mean "forever", which returns at once
    for args in [(), (True, None), (True, float("inf")), (True, float("nan")),
                 (True, 1e300), (True, 0), (False, 3)]:
        assert lock.acquire(*args) is True, args
        lock.release()


def test_lock_release_unheld_is_runtime_error():
    with pytest.raises(RuntimeError):
        Lock().release()
    with pytest.raises(RuntimeError):
        Lock().__exit__(None, None, None)
    with pytest.raises(TypeError):
        Lock().__exit__()  # syncx's __exit__ takes exactly three arguments


# ---------------------------------------------------------------- RLock


def test_rlock_seed_contract():
    lock = RLock()
    assert lock.acquire() is True
    assert lock.acquire() is True
    assert lock.try_acquire() is True and lock.try_lock() is True
    assert lock.locked() and lock.is_locked()
    assert in_thread(lock.try_acquire) is False
    assert in_thread(lock.acquire, False) is False
    with pytest.raises(RuntimeError):
        in_thread(lock.release)
    for _ in range(4):
        lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock as a:
        with lock as b:
            assert a is lock and b is lock
    assert not lock.locked()
    assert lock.lock() is True
    lock.release()


def test_rlock_guards():
    lock = RLock()
    g1 = lock.guard()
    g2 = lock.guard()
    assert type(g1) is RLockGuard
    g2.release()
    g2.release()
    g1.unlock()
    assert not lock.locked()
    with lock.guard() as g:
        assert type(g) is RLockGuard and lock.locked()
    assert not lock.locked()

    def hold_and_drop():
        g = lock.guard()
        return g is not None and lock.locked()

    assert in_thread(hold_and_drop)
    # that thread's guard was collected on its own thread: released
    gc.collect()
    assert not lock.locked()


def test_rlock_with_condition():
    cond = threading.Condition(RLock())
    ready = threading.Event()
    seen = []

    def waiter():
        with cond:
            ready.set()
            seen.append(cond.wait_for(lambda: seen, timeout=10) is not None)

    t = threading.Thread(target=waiter)
    t.start()
    ready.wait()
    with cond:
        seen.append("go")
        cond.notify()
    t.join(10)
    assert seen == ["go", True]


# ---------------------------------------------------------------- RWLock


def test_rwlock_readers_and_exclusive_writer():
    # adapted from syncx's tests/test_locks.py
    lock = RWLock()
    read_guard = lock.read_guard()
    assert read_guard is not None
    second_reader = lock.read_guard(blocking=False)
    assert second_reader is not None
    second_reader.release()
    assert lock.try_acquire_write() is False
    read_guard.release()
    with lock.write_guard() as writer:
        assert writer is not None
        assert lock.is_locked() is True
        assert lock.try_acquire_read() is False
    assert lock.is_locked() is False


def test_rwlock_writer_blocks_readers():
    lock = RWLock()
    with Holder(lock.acquire_write, lock.write_release):
        assert in_thread(lambda: lock.read_guard(blocking=False)) is None
        assert in_thread(lambda: lock.acquire_read(False, 5)) is False
        assert lock.read_guard(True, -1) is None
    assert not lock.is_locked()


@pytest.mark.parametrize("mode", ["read", "write"])
def test_rwlock_context_manager(mode):
    lock = RWLock()
    ctx = lock.read_guard if mode == "read" else lock.write_guard
    with ctx() as guard:
        assert guard is not None
        assert lock.is_locked() is True
    assert lock.is_locked() is False


def test_rwlock_bool_path_and_aliases():
    lock = RWLock()
    assert lock.acquire_read() is True
    assert lock.read_lock() is True
    assert lock.try_read_lock() is True
    assert lock.is_locked() and not lock.is_write_locked()
    assert lock.write_lock(False) is False and lock.try_write_lock() is False
    lock.bump_shared()
    for _ in range(3):
        lock.read_release()
    assert lock.acquire_write() is True
    assert lock.is_write_locked()
    lock.bump_exclusive()
    lock.write_release_fair()
    assert lock.write_lock() is True
    lock.write_release()
    assert not lock.is_locked()
    with pytest.raises(RuntimeError):
        lock.read_release()
    with pytest.raises(RuntimeError):
        lock.write_release()


def test_write_guard_downgrade_and_fair_release():
    lock = RWLock()
    w = lock.write_guard()
    r = w.downgrade()
    assert type(r) is ReadGuard
    assert lock.is_locked() and not lock.is_write_locked()
    assert w.downgrade() is None  # no longer held
    r.unlock()
    assert not lock.is_locked()
    w = lock.write_guard()
    w.release_fair()
    assert not lock.is_locked()
    w = lock.write_guard()
    w.unlock_fair()
    assert w.downgrade() is None
    assert not lock.is_locked()


def test_threads_share_one_syncx_lock(fast_switching):
    lock = Lock()
    box = [0]

    def work():
        for _ in range(3000):
            with lock:
                box[0] += 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box[0] == 12000
