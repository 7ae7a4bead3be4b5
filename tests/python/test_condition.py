"""interlock.locks.Condition: threading.Condition's contract, on interlock's
locks. Threads meet through the primitives under test (or interlock Events),
never through sleeps."""

import threading
import time
from collections import deque
from contextlib import contextmanager

import pytest

from interlock import locks

SHORT = 0.05
LONG_ENOUGH = 2.0


@contextmanager
def elapsed_between(low, high):
    t0 = time.monotonic()
    yield
    dt = time.monotonic() - t0
    assert low <= dt < high, dt


LOCK_FACTORIES = [
    pytest.param(lambda: None, id="default-RLock"),
    pytest.param(lambda: locks.Lock(), id="interlock-Lock"),
    pytest.param(lambda: locks.RLock(), id="interlock-RLock"),
    pytest.param(threading.Lock, id="threading-Lock"),
    pytest.param(threading.RLock, id="threading-RLock"),
]


def test_default_lock_is_interlock_rlock():
    c = locks.Condition()
    assert type(c._lock) is type(locks.RLock())
    assert type(c._lock) is not type(threading.RLock())


def test_waiters_are_interlock_primitives():
    c = locks.Condition()
    seen = []
    with c:
        # Peek at the waiter queue from inside a wait, through a notifier.
        def notifier():
            with c:
                seen.append(type(c._waiters[0]))
                c.notify()

        t = threading.Thread(target=notifier)
        t.start()
        assert c.wait(10)
    t.join()
    assert seen == [locks.BoundedSemaphore]  # a native wait: GIL released, interruptible


@pytest.mark.parametrize("make_lock", LOCK_FACTORIES)
def test_unowned_lock_raises_like_threading(make_lock):
    for cls in (threading.Condition, locks.Condition):
        c = cls(make_lock())
        with pytest.raises(RuntimeError, match="^cannot wait on un-acquired lock$"):
            c.wait()
        with pytest.raises(RuntimeError, match="^cannot wait on un-acquired lock$"):
            c.wait_for(lambda: False, 0.01)
        with pytest.raises(RuntimeError, match="^cannot notify on un-acquired lock$"):
            c.notify()
        with pytest.raises(RuntimeError, match="^cannot notify on un-acquired lock$"):
            c.notify_all()
        with pytest.raises(RuntimeError, match="^cannot notify on un-acquired lock$"):
            c.notify(0)


@pytest.mark.parametrize("make_rlock", [lambda: None, lambda: locks.RLock(), threading.RLock])
def test_notify_from_other_thread_than_owner_raises(make_rlock):
    # An owner-aware lock held by another thread: notify()/wait() must refuse.
    c = locks.Condition(make_rlock())
    c.acquire()
    errors = []

    def other():
        for call in (c.notify, c.notify_all, c.wait):
            try:
                call()
            except RuntimeError as e:
                errors.append(str(e))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    c.release()
    assert errors == [
        "cannot notify on un-acquired lock",
        "cannot notify on un-acquired lock",
        "cannot wait on un-acquired lock",
    ]


@pytest.mark.parametrize("make_lock", LOCK_FACTORIES)
def test_basics(make_lock):
    c = locks.Condition(make_lock())
    assert c.acquire()
    c.release()
    with c as entered:
        assert entered is True
        c.notify()  # nobody waiting: fine
        c.notify(5)
        c.notify_all()
        with pytest.warns(DeprecationWarning, match=r"notifyAll\(\) is deprecated"):
            c.notifyAll()
        assert c.wait(0) is False
        assert c.wait(-1) is False
        assert c.wait_for(lambda: 0, 0) == 0
        assert c.wait_for(lambda: "yes") == "yes"
        assert c.wait_for(lambda: "yes", 0) == "yes"
        assert len(c._waiters) == 0
    assert "Condition(" in repr(c)


def test_wait_timeout():
    c = locks.Condition()
    with c:
        with elapsed_between(SHORT, LONG_ENOUGH):
            assert c.wait(SHORT) is False
        with elapsed_between(SHORT, LONG_ENOUGH):
            assert c.wait(timeout=SHORT) is False
        with elapsed_between(SHORT, LONG_ENOUGH):
            assert c.wait_for(lambda: [], SHORT) == []
        assert len(c._waiters) == 0
        assert c._is_owned()


def test_bad_timeouts():
    c = locks.Condition()
    with c:
        with pytest.raises(ValueError, match="NaN"):
            c.wait(float("nan"))
        with pytest.raises(ValueError, match="NaN"):
            c.wait_for(lambda: False, float("nan"))
        with pytest.raises(TypeError):
            c.wait("1")
        with pytest.raises(OverflowError):
            c.wait(1e300)
        assert len(c._waiters) == 0
        assert c._is_owned()
    # threading raises the same types for these.
    tc = threading.Condition()
    with tc:
        with pytest.raises(TypeError):
            tc.wait("1")
        with pytest.raises(OverflowError):
            tc.wait(1e300)


def test_rlock_recursion_released_and_restored():
    c = locks.Condition()
    flag = []
    c.acquire()
    c.acquire()
    c.acquire()

    def setter():
        with c:  # possible only if wait() dropped all three levels
            flag.append(1)
            c.notify()

    t = threading.Thread(target=setter)
    t.start()
    assert c.wait_for(lambda: flag, 10)
    t.join()
    c.release()
    c.release()
    c.release()
    with pytest.raises(RuntimeError):
        c.release()


@pytest.mark.parametrize("make_lock", LOCK_FACTORIES)
def test_notify_wakes_exactly_n(make_lock):
    c = locks.Condition(make_lock())
    n = 5
    all_waiting = locks.Event()
    waiting = 0
    woken = 0
    woke = locks.Condition()  # the test's own bookkeeping

    def waiter():
        nonlocal waiting, woken
        with c:
            waiting += 1
            if waiting == n:
                all_waiting.set()  # the lock is held until wait() releases it
            assert c.wait(30)
        with woke:
            woken += 1
            woke.notify_all()

    threads = [threading.Thread(target=waiter) for _ in range(n)]
    for t in threads:
        t.start()
    assert all_waiting.wait(10)
    with c:  # every waiter is now queued
        assert len(c._waiters) == n
        c.notify(2)
        assert len(c._waiters) == n - 2
    with woke:
        assert woke.wait_for(lambda: woken == 2, 10)
    with c:
        assert len(c._waiters) == n - 2  # the others still wait
        c.notify(1)
    with woke:
        assert woke.wait_for(lambda: woken == 3, 10)
    with c:
        c.notify_all()
        assert len(c._waiters) == 0
    for t in threads:
        t.join()
    assert woken == n


def test_notify_is_fifo():
    c = locks.Condition()
    n = 4
    order = []
    recorded = locks.Condition()
    threads = []

    def waiter(i, started):
        with c:
            started.set()
            assert c.wait(30)
        with recorded:
            order.append(i)
            recorded.notify()

    for i in range(n):
        started = locks.Event()
        t = threading.Thread(target=waiter, args=(i, started))
        t.start()
        assert started.wait(10)
        with c:  # possible once waiter i has released c inside wait(): it is queued
            assert len(c._waiters) == i + 1
        threads.append(t)
    for k in range(n):
        with c:
            c.notify()
        with recorded:
            assert recorded.wait_for(lambda: len(order) == k + 1, 10)
    for t in threads:
        t.join()
    assert order == list(range(n))


def test_notify_picking_a_timed_out_waiter_counts_as_delivered():
    # The waiter's timeout expires while the notifier holds the lock; the
    # notifier then picks it. threading's wait() returns False there (the
    # notification is lost); ours reports it: True.
    c = locks.Condition()
    started = locks.Event()
    result = []

    def waiter():
        with c:
            started.set()
            result.append(c.wait(SHORT))

    t = threading.Thread(target=waiter)
    t.start()
    assert started.wait(10)
    with c:  # the waiter is queued
        assert len(c._waiters) == 1
        locks.Event().wait(4 * SHORT)  # let its timeout expire (it cannot leave: c is held)
        c.notify()
        assert len(c._waiters) == 0
    t.join()
    assert result == [True]


def test_interrupted_waiter_passes_its_notification_on(monkeypatch):
    # A waiter that was notified but leaves wait() with an exception (as when
    # a signal handler raises just as the wake-up arrives) hands the
    # notification to the next waiter instead of losing it.
    from interlock import _sync

    class Boom(Exception):
        pass

    real_waiter = _sync._new_waiter
    made = []

    class RaisesOnceWoken:
        """The first waiter: its wait ends in Boom after the wake-up."""

        def __init__(self):
            self._waiter = real_waiter()

        def acquire(self, *args):
            self._waiter.acquire(*args)
            raise Boom

        def release(self):
            self._waiter.release()

    def make_waiter():
        made.append(1)
        return RaisesOnceWoken() if len(made) == 1 else real_waiter()

    monkeypatch.setattr(_sync, "_new_waiter", make_waiter)
    c = locks.Condition()
    started_a, started_b = locks.Event(), locks.Event()
    results = {}

    def waiter(started, tag):
        with c:
            started.set()
            try:
                results[tag] = c.wait(30)
            except Boom:
                results[tag] = "boom"
                assert c._is_owned()

    a = threading.Thread(target=waiter, args=(started_a, "a"))
    a.start()
    assert started_a.wait(10)
    with c:  # a is queued
        pass
    b = threading.Thread(target=waiter, args=(started_b, "b"))
    b.start()
    assert started_b.wait(10)
    with c:  # b is queued behind a
        assert len(c._waiters) == 2
        c.notify()  # one notification: a gets it, raises, passes it to b
    a.join()
    b.join()
    assert results == {"a": "boom", "b": True}
    assert len(c._waiters) == 0


def test_bounded_buffer(fast_switching):
    capacity = 4
    producers, consumers, items = 3, 3, 1500
    buf = deque()
    cond = locks.Condition()
    received = []
    peak = 0
    produced_total = producers * items

    def produce(p):
        nonlocal peak
        for k in range(items):
            with cond:
                cond.wait_for(lambda: len(buf) < capacity)
                buf.append((p, k))
                peak = max(peak, len(buf))
                cond.notify_all()

    def consume():
        while True:
            with cond:
                cond.wait_for(lambda: buf)
                item = buf.popleft()
                cond.notify_all()
            if item is None:
                return
            received.append(item)

    cs = [threading.Thread(target=consume) for _ in range(consumers)]
    ps = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in cs + ps:
        t.start()
    for t in ps:
        t.join()
    for _ in cs:
        with cond:
            cond.wait_for(lambda: len(buf) < capacity)
            buf.append(None)
            cond.notify_all()
    for t in cs:
        t.join()
    assert peak <= capacity
    assert len(received) == produced_total
    assert sorted(received) == sorted((p, k) for p in range(producers) for k in range(items))
    # Each producer's items arrive in order at any single consumer... and
    # overall, once each.
    assert len(set(received)) == produced_total


def test_ping_pong(fast_switching):
    c = locks.Condition(locks.Lock())
    turn = 0
    rounds = 1000

    def player(me):
        nonlocal turn
        for _ in range(rounds):
            with c:
                c.wait_for(lambda: turn == me)
                turn = 1 - me
                c.notify()

    ts = [threading.Thread(target=player, args=(i,)) for i in (0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert turn == 0


def test_foreign_lock_without_extras():
    class MinimalLock:
        def __init__(self):
            self._lock = threading.Lock()

        def acquire(self, blocking=True, timeout=-1):
            return self._lock.acquire(blocking, timeout)

        def release(self):
            self._lock.release()

        def __enter__(self):
            return self.acquire()

        def __exit__(self, *a):
            self.release()

    c = locks.Condition(MinimalLock())
    flag = []
    with c:
        t = threading.Thread(target=lambda: (c.acquire(), flag.append(1), c.notify(), c.release()))
        t.start()
        assert c.wait_for(lambda: flag, 10)
    t.join()
    with pytest.raises(RuntimeError):
        c.notify()
