"""interlock.locks.Lock / RLock and their guards: threading's contracts
(checked against threading's own behaviour for the same calls), the guard
API, timeouts, and mutual exclusion under threads."""

from __future__ import annotations

import copy
import gc
import inspect
import math
import pickle
import sys
import threading
import time
import weakref

import pytest

from interlock import locks
from interlock.locks import Lock, LockGuard, RLock, RLockGuard, RWLock
from _threads import Holder, in_thread

pytestmark = pytest.mark.timeout(60)

LOCK_PAIRS = [(Lock, threading.Lock), (RLock, threading.RLock)]

BAD_TIMEOUTS = [
    # (blocking, timeout)
    (True, float("nan")),
    (True, -2),
    (True, -0.5),
    (True, "x"),
    (True, 1e300),
    (True, float("inf")),
    (True, 10**30),
    (True, 10**400),
    (True, 9223372037.0),
    (False, 1),
    (False, 0.5),
]


def start_and_join(n, target, *args):
    threads = [threading.Thread(target=target, args=args) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ---------------------------------------------------------------- package


def test_exports():
    for name in ["Lock", "LockGuard", "RLock", "RLockGuard", "RWLock", "ReadGuard", "WriteGuard"]:
        assert name in locks.__all__
        obj = getattr(locks, name)
        assert obj.__module__ == "interlock.locks"
        assert obj.__name__ == name
    from interlock._interlock import locks as native

    assert locks.Lock is native.Lock and locks.RLock is native.RLock


@pytest.mark.parametrize("cls", [Lock, RLock])
def test_hot_methods_are_c_methods(cls):
    method_descriptor = type(str.join)
    for name in ["acquire", "release", "__enter__", "__exit__", "locked", "try_acquire"]:
        assert type(cls.__dict__[name]) is method_descriptor, name


def test_signatures():
    sig = inspect.signature(Lock.acquire)
    assert list(sig.parameters) == ["self", "blocking", "timeout"]
    assert sig.parameters["blocking"].default is True
    assert sig.parameters["timeout"].default == -1
    assert str(inspect.signature(Lock.guard)) == "(self, /, blocking=True, timeout=None)"
    assert str(inspect.signature(RLock.acquire)) == "(self, /, blocking=True, timeout=-1)"
    assert str(inspect.signature(Lock.release)) == "(self, /)"


# ---------------------------------------------------------------- Lock basics


def test_lock_basic():
    lock = Lock()
    assert lock.locked() is False and lock.is_locked() is False
    assert lock.acquire() is True
    assert lock.locked() is True and lock.is_locked() is True
    assert lock.acquire(False) is False
    assert lock.acquire(blocking=False) is False
    assert lock.try_acquire() is False and lock.try_lock() is False
    assert lock.release() is None
    assert lock.try_acquire() is True
    lock.release()
    assert lock.try_lock() is True
    lock.release()
    assert lock.acquire(True, 0) is True
    assert lock.acquire(True, 0) is False
    lock.release()
    assert not lock.locked()


def test_blocking_none_is_false_like_threading():
    lock = Lock()
    lock.acquire()
    t0 = time.monotonic()
    assert lock.acquire(None) is False
    assert lock.acquire(blocking=None) is False
    assert RLock().acquire(None) is True
    assert time.monotonic() - t0 < 1.0
    lock.release()


def test_lock_timeout_none_is_forever_extension():
    lock = Lock()
    assert lock.acquire(True, None) is True
    lock.release()
    assert lock.acquire(False, None) is True  # None counts as "no timeout"
    lock.release()


@pytest.mark.parametrize("pair", LOCK_PAIRS, ids=["Lock", "RLock"])
def test_release_unheld_matches_threading(pair):
    ours, theirs = pair
    with pytest.raises(RuntimeError) as a:
        ours().release()
    with pytest.raises(RuntimeError) as b:
        theirs().release()
    assert str(a.value) == str(b.value)


@pytest.mark.parametrize("pair", LOCK_PAIRS, ids=["Lock", "RLock"])
@pytest.mark.parametrize("args", BAD_TIMEOUTS, ids=repr)
def test_bad_timeouts_match_threading(pair, args):
    ours, theirs = pair
    with pytest.raises(Exception) as b:
        theirs().acquire(*args)
    with pytest.raises(Exception) as a:
        ours().acquire(*args)
    assert type(a.value) is type(b.value)
    if isinstance(b.value, ValueError) and (sys.version_info >= (3, 13) or args[0] is False
                                            or "NaN" in str(b.value)):
        assert str(a.value) == str(b.value)
    with pytest.raises(type(b.value)):
        ours().acquire(blocking=args[0], timeout=args[1])
    # the lock is untouched by a rejected call
    lock = ours()
    with pytest.raises(type(b.value)):
        lock.acquire(*args)
    assert not lock.locked()


@pytest.mark.parametrize("pair", LOCK_PAIRS, ids=["Lock", "RLock"])
@pytest.mark.parametrize("args", [(), (True,), (False,), (True, -1), (True, -1.0), (True, 0),
                                  (True, 0.01), (False, -1), (1,), (0,), ("yes",), (None,),
                                  ("",)], ids=repr)
def test_good_arguments_match_threading(pair, args):
    ours, theirs = pair
    a, b = ours(), theirs()
    if sys.version_info < (3, 12) and args and isinstance(args[0], (str, type(None))):
        # threading before 3.12 rejects these for blocking; we take the truth value (3.12+)
        with pytest.raises(TypeError):
            b.acquire(*args)
        assert a.acquire(*args) is True
        a.release()
        return
    assert a.acquire(*args) == b.acquire(*args) is True
    a.release()
    b.release()


@pytest.mark.parametrize("pair", LOCK_PAIRS, ids=["Lock", "RLock"])
def test_bad_calls_are_type_errors(pair):
    ours, _ = pair
    lock = ours()
    for call in [lambda: lock.acquire(1, 2, 3), lambda: lock.acquire(foo=1),
                 lambda: lock.release(1), lambda: ours(1), lambda: lock.locked(1),
                 lambda: lock.acquire(True, blocking=True)]:
        with pytest.raises(TypeError):
            call()
    assert not lock.locked()


def test_lock_context_manager_matches_threading():
    for lock in (Lock(), threading.Lock()):
        assert lock.__enter__() is True
        assert lock.locked()
        assert lock.__exit__(None, None, None) is None
        assert not lock.locked()
        with lock as value:
            assert value is True
            assert lock.locked()
        assert not lock.locked()
        with pytest.raises(KeyError):
            with lock:
                raise KeyError("x")
        assert not lock.locked()
        lock.acquire()
        assert lock.__exit__() is None  # threading takes any arguments
        assert not lock.locked()


def test_lock_release_from_another_thread():
    lock = Lock()
    assert in_thread(lock.acquire) is True
    assert lock.locked()
    lock.release()
    assert not lock.locked()


def test_lock_acquire_blocks_until_released():
    lock = Lock()
    lock.acquire()
    started = threading.Event()
    result = []

    def waiter():
        started.set()
        result.append(lock.acquire())
        lock.release()

    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    time.sleep(0.02)  # let it block (the test holds either way)
    lock.release()
    t.join(10)
    assert result == [True]
    assert not lock.locked()


@pytest.mark.parametrize("cls", [Lock, RLock])
def test_timeout_elapses(cls):
    lock = cls()
    with Holder(lock.acquire, lock.release):
        for call in [lambda: lock.acquire(timeout=0.05), lambda: lock.acquire(True, 0.05)]:
            t0 = time.monotonic()
            assert call() is False
            elapsed = time.monotonic() - t0
            assert 0.05 <= elapsed < 2.0
        t0 = time.monotonic()
        assert lock.guard(timeout=0.05) is None
        assert 0.05 <= time.monotonic() - t0 < 2.0
        assert lock.acquire(False) is False
        assert lock.acquire(timeout=0) is False
    assert lock.acquire(timeout=0.05) is True
    lock.release()


def test_lock_timeout_on_self_held_lock():
    lock = Lock()
    lock.acquire()
    t0 = time.monotonic()
    assert lock.acquire(timeout=0.05) is False
    assert 0.05 <= time.monotonic() - t0 < 2.0
    lock.release()


def test_lock_repr():
    lock = Lock()
    assert repr(lock).startswith("<unlocked interlock.locks.Lock object at 0x")
    lock.acquire()
    assert repr(lock).startswith("<locked interlock.locks.Lock object at 0x")
    lock.release()
    r = RLock()
    assert repr(r).startswith("<unlocked interlock.locks.RLock object at 0x")
    with r:
        assert repr(r).startswith("<locked interlock.locks.RLock object at 0x")


@pytest.mark.parametrize("cls", [Lock, RLock])
def test_weakref_pickle_copy(cls):
    lock = cls()
    ref = weakref.ref(lock)
    assert ref() is lock
    with pytest.raises(TypeError):
        pickle.dumps(lock)
    with pytest.raises(TypeError):
        copy.copy(lock)
    del lock
    gc.collect()
    assert ref() is None


def test_lock_size():
    assert sys.getsizeof(Lock()) <= sys.getsizeof(threading.Lock())


@pytest.mark.parametrize("cls", [Lock, RLock, LockGuard, RLockGuard])
def test_uninitialised_instances_raise(cls):
    if cls in (LockGuard, RLockGuard):
        with pytest.raises(TypeError):
            cls()
        return
    obj = cls.__new__(cls)
    with pytest.raises(TypeError, match="not initialized"):
        obj.acquire()
    with pytest.raises(TypeError, match="not initialized"):
        obj.release()
    assert "uninitialized" in repr(obj)


@pytest.mark.parametrize("cls", [Lock, RLock])
def test_at_fork_reinit(cls):
    lock = cls()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock.locked()
    assert lock.acquire(False)
    lock.release()


def test_subclass():
    class MyLock(Lock):
        pass

    lock = MyLock()
    with lock:
        assert lock.locked()
    assert "MyLock" in repr(lock)


# ---------------------------------------------------------------- LockGuard


def test_lock_guard():
    lock = Lock()
    g = lock.guard()
    assert type(g) is LockGuard
    assert lock.locked()
    assert lock.guard(blocking=False) is None
    assert lock.guard(False) is None
    assert lock.guard(timeout=0) is None
    g.release()
    assert not lock.locked()
    g.release()  # a second release does nothing (syncx)
    g.unlock()
    assert not lock.locked()

    g = lock.guard()
    g.unlock()
    assert not lock.locked()

    with lock.guard() as g2:
        assert type(g2) is LockGuard
        assert lock.locked()
    assert not lock.locked()
    assert g2.__exit__(None, None, None) is False

    with pytest.raises(ValueError):
        lock.guard(False, 1)  # threading's rules
    assert not lock.locked()


def test_lock_guard_release_after_lock_release_is_an_error():
    lock = Lock()
    g = lock.guard()
    lock.release()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        g.release()
    g.release()  # the guard no longer holds: nothing to do


def test_lock_guard_collected_releases():
    lock = Lock()
    g = lock.guard()
    assert lock.locked()
    del g
    gc.collect()
    assert not lock.locked()
    lock.guard()  # dropped at once
    assert not lock.locked()


def test_lock_guard_keeps_lock_alive():
    lock = Lock()
    ref = weakref.ref(lock)
    g = lock.guard()
    del lock
    gc.collect()
    assert ref() is not None and ref().locked()
    g.release()
    del g
    gc.collect()
    assert ref() is None


def _guard_factories():
    # (lock class, its guard-making call, "is it held?")
    return [
        (Lock, lambda l: l.guard(), lambda l: l.locked()),
        (RLock, lambda l: l.guard(), lambda l: l.is_locked()),
        (RWLock, lambda l: l.read_guard(), lambda l: l.is_locked()),
        (RWLock, lambda l: l.write_guard(), lambda l: l.is_write_locked()),
        (RWLock, lambda l: l.write_guard().downgrade(), lambda l: l.is_locked()),
    ]


@pytest.mark.parametrize("index", range(5))
def test_guard_in_a_cycle_is_collected_and_releases(index):
    cls, make_guard, held = _guard_factories()[index]
    lock = cls()
    cycle: list = []
    cycle.append(cycle)
    cycle.append(make_guard(lock))
    assert gc.is_tracked(cycle[1])
    assert held(lock)
    del cycle
    gc.collect()
    assert not held(lock)


@pytest.mark.parametrize("index", range(5))
def test_guard_stored_on_its_own_lock_is_collected(index):
    # A guard kept on a subclass instance of its own lock: lock -> __dict__ ->
    # guard -> lock. The collector frees both.
    cls, make_guard, held = _guard_factories()[index]

    class Sub(cls):
        pass

    lock = Sub()
    lock.guard_kept = make_guard(lock)
    assert held(lock)
    ref = weakref.ref(lock)
    del lock
    gc.collect()
    assert ref() is None


def test_lock_guard_released_by_another_thread():
    lock = Lock()
    g = lock.guard()
    in_thread(g.release)
    assert not lock.locked()


# ---------------------------------------------------------------- RLock


def test_rlock_recursion_and_ownership():
    lock = RLock()
    assert lock._is_owned() is False
    assert lock._recursion_count() == 0
    assert lock.acquire() is True
    assert lock.acquire() is True
    assert lock.acquire(False) is True
    assert lock.try_acquire() is True and lock.try_lock() is True
    assert lock._recursion_count() == 5
    assert lock._is_owned() and lock.locked() and lock.is_locked()
    assert in_thread(lock._is_owned) is False
    assert in_thread(lock._recursion_count) == 0
    assert in_thread(lock.acquire, False) is False
    assert in_thread(lock.try_acquire) is False
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        in_thread(lock.release)
    for _ in range(5):
        lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        lock.release()


def _rlocks_to_compare():
    """interlock's RLock, and threading's where it has _recursion_count (3.11+)."""
    theirs = threading.RLock()
    return (RLock(), theirs) if hasattr(theirs, "_recursion_count") else (RLock(),)


def test_rlock_context_manager_matches_threading():
    for lock in _rlocks_to_compare():
        with lock as v1:
            with lock as v2:
                assert v1 is True and v2 is True
                assert lock._recursion_count() == 2
        assert lock._recursion_count() == 0
        assert lock.__enter__() is True
        assert lock.__exit__(None, None, None) is None


def test_rlock_release_save_acquire_restore():
    for lock in _rlocks_to_compare():
        with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
            lock._release_save()
        lock.acquire()
        lock.acquire()
        state = lock._release_save()
        assert state[0] == 2 and state[1] == threading.get_ident()
        assert not lock._is_owned()

        def take_and_release():
            got = lock.acquire(False)
            lock.release()
            return got

        assert in_thread(take_and_release) is True  # another thread could take it meanwhile
        lock._acquire_restore(state)
        assert lock._recursion_count() == 2
        lock.release()
        lock.release()
        assert not lock._is_owned()


def test_rlock_acquire_restore_bad_state():
    lock = RLock()
    for bad, exc in [(5, TypeError), ((1,), TypeError), (("a", 1), TypeError),
                     ((0, 1), ValueError)]:
        with pytest.raises(exc):
            lock._acquire_restore(bad)
    assert not lock.locked()


def test_rlock_guard():
    lock = RLock()
    g1 = lock.guard()
    g2 = lock.guard()
    assert type(g1) is RLockGuard
    assert lock._recursion_count() == 2
    assert in_thread(lock.guard, False) is None
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        in_thread(g2.release)
    assert lock._recursion_count() == 2  # the guard still holds
    g2.release()
    g2.release()
    assert lock._recursion_count() == 1
    with g1:
        pass
    assert not lock.locked()
    with lock.guard() as g:
        assert type(g) is RLockGuard and lock._is_owned()
    assert not lock.locked()
    g = lock.guard()
    del g
    gc.collect()
    assert not lock.locked()


def test_condition_with_rlock():
    cond = threading.Condition(RLock())
    items = []
    ready = threading.Event()

    def consumer():
        with cond:
            ready.set()
            assert cond.wait_for(lambda: items, timeout=10)
            items.append("seen")

    t = threading.Thread(target=consumer)
    t.start()
    ready.wait()
    with cond:
        with cond:  # re-entered: wait() must save and restore both levels
            items.append(1)
            cond.notify()
    t.join(10)
    assert items == [1, "seen"]
    with cond:
        t0 = time.monotonic()
        assert cond.wait(0.05) is False
        assert time.monotonic() - t0 >= 0.05
        assert cond._lock._recursion_count() == 1


@pytest.mark.parametrize("cls", [Lock, RLock])
def test_condition_notify_all(cls):
    cond = threading.Condition(cls())
    n = 4
    all_waiting = threading.Event()
    state = {"go": False, "waiting": 0, "woken": 0}

    def waiter():
        with cond:
            state["waiting"] += 1
            if state["waiting"] == n:
                all_waiting.set()
            if cond.wait_for(lambda: state["go"], timeout=10):
                state["woken"] += 1

    threads = [threading.Thread(target=waiter) for _ in range(n)]
    for t in threads:
        t.start()
    assert all_waiting.wait(10)
    with cond:  # every waiter is inside wait() once we hold the lock
        state["go"] = True
        cond.notify_all()
    for t in threads:
        t.join(10)
    assert state["woken"] == n


# ---------------------------------------------------------------- threads


def _counter_stress(enter, leave, n_threads=4, n_iter=5_000):
    box = [0]

    def work():
        for _ in range(n_iter):
            enter()
            v = box[0]
            box[0] = v + 1  # not atomic: only the lock keeps updates from being lost
            leave()

    start_and_join(n_threads, work)
    return box[0], n_threads * n_iter


def test_lock_mutual_exclusion(fast_switching):
    lock = Lock()
    got, want = _counter_stress(lock.acquire, lock.release)
    assert got == want and not lock.locked()


def test_lock_mutual_exclusion_with(fast_switching):
    lock = Lock()
    box = [0]

    def work():
        for _ in range(5_000):
            with lock:
                box[0] += 1

    start_and_join(4, work)
    assert box[0] == 20_000


def test_lock_mutual_exclusion_guards_and_timeouts(fast_switching):
    lock = Lock()
    box = [0]

    def work(i):
        for k in range(3_000):
            if k % 3 == 0:
                with lock.guard():
                    box[0] += 1
            elif k % 3 == 1:
                while not lock.acquire(timeout=0.001):
                    pass
                box[0] += 1
                lock.release()
            else:
                if not lock.try_acquire():
                    lock.acquire()
                box[0] += 1
                lock.release()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box[0] == 12_000 and not lock.locked()


def test_rlock_mutual_exclusion(fast_switching):
    lock = RLock()
    box = [0]

    def work():
        for _ in range(3_000):
            with lock:
                with lock:
                    v = box[0]
                    box[0] = v + 1

    start_and_join(4, work)
    assert box[0] == 12_000 and not lock.locked()


def test_lock_handoff_between_threads(fast_switching):
    """Ping-pong through two locks: each release wakes the other thread."""
    a, b = Lock(), Lock()
    a.acquire()
    b.acquire()
    n = 2_000
    log = []

    def ping():
        for i in range(n):
            a.acquire()
            log.append(("ping", i))
            b.release()

    t = threading.Thread(target=ping)
    t.start()
    for i in range(n):
        a.release()
        b.acquire()
        log.append(("pong", i))
    t.join()
    assert log == [x for i in range(n) for x in (("ping", i), ("pong", i))]


def test_concurrent_double_release_never_aborts():
    """Racing releases of one hold: exactly one succeeds, the rest raise."""
    lock = Lock()
    n = 4
    barrier = threading.Barrier(n)
    outcomes = []
    failures = []
    mu = threading.Lock()

    def work():
        for _ in range(500):
            barrier.wait()
            try:
                lock.release()
                r = "ok"
            except RuntimeError:
                r = "err"
            with mu:
                outcomes.append(r)
            barrier.wait()
            with mu:
                if len(outcomes) == n:
                    if outcomes.count("ok") != 1:
                        failures.append(list(outcomes))
                    outcomes.clear()
                    lock.acquire()

    lock.acquire()
    start_and_join(n, work)
    assert failures == []
    assert lock.locked()
    lock.release()


def test_guards_released_concurrently(fast_switching):
    lock = Lock()
    for _ in range(200):
        g = lock.guard()
        barrier = threading.Barrier(3)
        errors = []

        def rel():
            barrier.wait()
            try:
                g.release()
            except RuntimeError as e:  # pragma: no cover - would be a bug
                errors.append(e)

        ts = [threading.Thread(target=rel) for _ in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors and not lock.locked()


def test_nan_is_rejected_before_anything():
    lock = Lock()
    lock.acquire()
    with pytest.raises(ValueError):
        lock.acquire(timeout=math.nan)
    lock.release()
