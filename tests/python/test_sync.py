"""interlock.locks: Semaphore, BoundedSemaphore, Event, Once, CountDownLatch,
and the signal behaviour of every kind of wait (those of Condition and
Barrier included).

Behaviour is compared with threading's for the same calls wherever the
contract is threading's. Waits are bounded by the deadlines under test or by
pytest-timeout; threads meet through the primitives themselves, never
through sleeps.
"""

import gc
import inspect
import os
import signal
import threading
import time
import weakref
from contextlib import contextmanager

import pytest

from interlock import locks

# Timed waits: at least the timeout, and nowhere near forever.
SHORT = 0.05
LONG_ENOUGH = 2.0


@contextmanager
def elapsed_between(low, high):
    t0 = time.monotonic()
    yield
    dt = time.monotonic() - t0
    assert low <= dt < high, dt


def in_threads(n, target, *args):
    """Runs target(i, *args) in n threads and joins them."""
    threads = [threading.Thread(target=target, args=(i, *args)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Catcher:
    """Collects exceptions from worker threads, re-raised by check()."""

    def __init__(self):
        self.errors = []

    def wrap(self, fn):
        def run(*args):
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001
                self.errors.append(e)

        return run

    def check(self):
        if self.errors:
            raise self.errors[0]


def raises_like(call_a, call_b):
    """Both calls raise the same exception type with the same message."""
    with pytest.raises(Exception) as a:
        call_a()
    with pytest.raises(Exception) as b:
        call_b()
    assert type(a.value) is type(b.value)
    assert str(a.value) == str(b.value)


# =================================================================== Semaphore

SEMAPHORES = [
    pytest.param((threading.Semaphore, locks.Semaphore), id="Semaphore"),
    pytest.param((threading.BoundedSemaphore, locks.BoundedSemaphore), id="BoundedSemaphore"),
]


@pytest.mark.parametrize("pair", SEMAPHORES)
def test_semaphore_matches_threading(pair):
    for cls in pair:
        s = cls(2)
        assert s.acquire() is True
        assert s.acquire(True) is True
        assert s.acquire(False) is False
        assert s.acquire(blocking=False) is False
        assert s.acquire(timeout=0) is False
        assert s.acquire(True, -1) is False  # negative: do not wait
        assert s.acquire(timeout=-5.5) is False
        s.release()
        assert s.acquire(timeout=1) is True
        s.release(2)
        with s as entered:
            assert entered is True
        assert s.acquire(blocking=True, timeout=None) is True
        assert s.acquire(1, 0.5) is True
        s.release(2)
    ts, ils = pair[0](), pair[1]()
    for call in (
        lambda s: s.acquire(False, 1),
        lambda s: s.acquire(blocking=False, timeout=0),
        lambda s: s.release(0),
        lambda s: s.release(-3),
    ):
        raises_like(lambda: call(ts), lambda: call(ils))
    raises_like(lambda: pair[0](-1), lambda: pair[1](-1))
    raises_like(lambda: pair[0](value=-1), lambda: pair[1](value=-1))


def test_semaphore_blocking_none_is_false_like_threading():
    for s in (threading.Semaphore(0), locks.Semaphore(0)):
        assert s.acquire(None) is False
        assert s.acquire(blocking=None) is False
        assert s.acquire(0) is False
        assert s.acquire("") is False


def test_semaphore_value_and_repr():
    s = locks.Semaphore(3)
    assert s.value == 3
    s.acquire()
    assert s.value == 2
    with pytest.raises(AttributeError):
        s.value = 5
    assert repr(s) == f"<interlock.locks.Semaphore at {id(s):#x}: value=2>"
    b = locks.BoundedSemaphore(3)
    b.acquire()
    assert repr(b) == f"<interlock.locks.BoundedSemaphore at {id(b):#x}: value=2/3>"
    assert b.initial_value == 3
    assert locks.Semaphore().value == 1
    assert locks.BoundedSemaphore().value == 1
    assert locks.Semaphore(0).value == 0


def test_semaphore_bad_input():
    s = locks.Semaphore(1)
    with pytest.raises(ValueError, match="NaN"):
        s.acquire(timeout=float("nan"))
    with pytest.raises(TypeError):
        s.acquire(timeout="1")
    with pytest.raises(OverflowError):
        s.acquire(timeout=1e300)
    with pytest.raises(OverflowError):
        s.acquire(timeout=float("inf"))
    # Checked even when a permit is available; nothing was taken.
    assert s.value == 1
    with pytest.raises(TypeError):
        s.release(1.0)
    with pytest.raises(TypeError):
        s.release(None)
    with pytest.raises(TypeError):
        s.acquire(True, None, 3)
    with pytest.raises(TypeError):
        s.acquire(bogus=1)
    with pytest.raises(TypeError):
        s.release(1, 2)
    with pytest.raises(TypeError):
        locks.Semaphore(1.5)
    with pytest.raises(TypeError):
        locks.Semaphore("1")
    with pytest.raises(TypeError):
        locks.Semaphore(None)
    with pytest.raises(ValueError, match="must be >= 0"):
        locks.Semaphore(-(2**80))
    with pytest.raises(OverflowError):
        locks.Semaphore(2**62)
    with pytest.raises(ValueError, match="n must be one or more"):
        s.release(-(2**80))
    assert s.value == 1
    big = locks.Semaphore(2**62 - 2)
    big.release()
    with pytest.raises(OverflowError):
        big.release()
    with pytest.raises(OverflowError):
        locks.Semaphore(0).release(2**62)
    with pytest.raises(OverflowError):
        locks.Semaphore(0).release(2**70)
    # Index-able ints are fine.
    assert locks.Semaphore(True).value == 1
    s.release(True)
    assert s.value == 2


def test_semaphore_timeout():
    s = locks.Semaphore(0)
    with elapsed_between(SHORT, LONG_ENOUGH):
        assert s.acquire(timeout=SHORT) is False
    with elapsed_between(SHORT, LONG_ENOUGH):
        assert s.acquire(True, SHORT) is False
    with elapsed_between(0, 0.5):
        assert s.acquire(timeout=0) is False
    assert s.value == 0


def test_bounded_semaphore():
    for cls in (threading.BoundedSemaphore, locks.BoundedSemaphore):
        b = cls(2)
        with pytest.raises(ValueError, match="^Semaphore released too many times$"):
            b.release()
        b.acquire()
        b.acquire()
        with pytest.raises(ValueError, match="^Semaphore released too many times$"):
            b.release(3)
        b.release(2)
        with pytest.raises(ValueError):
            b.release()
    assert issubclass(locks.BoundedSemaphore, locks.Semaphore)
    b = locks.BoundedSemaphore(0)
    with pytest.raises(ValueError):
        b.release()


def test_bounded_semaphore_release_hands_to_waiter():
    b = locks.BoundedSemaphore(1)
    b.acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(b.acquire(timeout=10)))
    t.start()
    b.release()  # to the waiter, or into the count: both within the bound
    t.join()
    assert got == [True]
    assert b.value == 0
    b.release()
    with pytest.raises(ValueError):
        b.release()


def test_semaphore_wakes_waiters():
    s = locks.Semaphore(0)
    n = 4
    done = locks.CountDownLatch(n)
    results = []

    def waiter(i):
        results.append(s.acquire())
        done.count_down()

    threads = [threading.Thread(target=waiter, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    s.release(n)
    assert done.wait(10)
    for t in threads:
        t.join()
    assert results == [True] * n
    assert s.value == 0


def test_semaphore_never_exceeds_its_count(fast_switching):
    permits, nthreads, rounds = 3, 8, 400
    s = locks.Semaphore(permits)
    guard = threading.Lock()
    holders = 0
    peak = 0
    catcher = Catcher()

    def work(i):
        nonlocal holders, peak
        acquire, release = s.acquire, s.release
        for k in range(rounds):
            if k % 3 == 0:
                with s:
                    with guard:
                        holders += 1
                        peak = max(peak, holders)
                        assert holders <= permits
                    with guard:
                        holders -= 1
            else:
                ok = acquire() if k % 3 == 1 else acquire(True, 10)
                assert ok
                with guard:
                    holders += 1
                    peak = max(peak, holders)
                    assert holders <= permits
                with guard:
                    holders -= 1
                release()

    in_threads(nthreads, catcher.wrap(work))
    catcher.check()
    assert 1 <= peak <= permits
    assert s.value == permits


def test_semaphore_subclass_and_uninitialised():
    class Mine(locks.Semaphore):
        def __init__(self):
            super().__init__(2)
            self.extra = 1

    m = Mine()
    assert m.acquire() and m.value == 1 and m.extra == 1
    assert repr(m).startswith(f"<{__name__}.")
    raw = locks.Semaphore.__new__(locks.Semaphore)
    with pytest.raises(TypeError, match="not initialized"):
        raw.acquire()
    with pytest.raises(TypeError, match="not initialized"):
        raw.release(2)
    weakref.ref(locks.Semaphore())


def test_signatures():
    sig = inspect.signature(locks.Semaphore.acquire)
    assert list(sig.parameters) == ["self", "blocking", "timeout"]
    assert list(inspect.signature(locks.Event.wait).parameters) == ["self", "timeout"]
    assert list(inspect.signature(locks.Once.call).parameters) == ["self", "fn", "args", "kwargs"]
    assert list(inspect.signature(locks.CountDownLatch.count_down).parameters) == ["self", "n"]


# =================================================================== Event


def test_event_matches_threading():
    for cls in (threading.Event, locks.Event):
        e = cls()
        assert e.is_set() is False
        assert e.wait(0) is False
        assert e.wait(-1) is False
        assert e.wait(timeout=0.0) is False
        e.set()
        assert e.is_set() is True
        assert e.wait() is True
        assert e.wait(0) is True
        assert e.wait(-1) is True
        assert e.wait(timeout=None) is True
        e.set()
        e.clear()
        assert e.is_set() is False
        e.clear()
        assert e.is_set() is False
        with pytest.warns(DeprecationWarning, match=r"isSet\(\) is deprecated"):
            assert e.isSet() is False
        with pytest.raises(TypeError):
            e.wait("1")
        with pytest.raises(TypeError):
            cls(True)


def test_event_repr_and_bad_input():
    e = locks.Event()
    assert repr(e) == f"<interlock.locks.Event at {id(e):#x}: unset>"
    e.set()
    assert repr(e) == f"<interlock.locks.Event at {id(e):#x}: set>"
    e.clear()
    with pytest.raises(ValueError, match="NaN"):
        e.wait(float("nan"))
    with pytest.raises(OverflowError):
        e.wait(1e300)
    with pytest.raises(OverflowError):
        threading.Event().wait(1e300)


def test_event_timeout():
    e = locks.Event()
    with elapsed_between(SHORT, LONG_ENOUGH):
        assert e.wait(SHORT) is False
    with elapsed_between(SHORT, LONG_ENOUGH):
        assert e.wait(timeout=SHORT) is False


def test_event_wakes_all_waiters(fast_switching):
    e = locks.Event()
    n = 8
    ready = locks.CountDownLatch(n)
    results = []

    def waiter(i):
        ready.count_down()
        results.append(e.wait(30))

    threads = [threading.Thread(target=waiter, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    assert ready.wait(10)
    e.set()
    for t in threads:
        t.join()
    assert results == [True] * n


def test_event_set_clear_cycles(fast_switching):
    # Ping-pong through two events: every set() is seen by exactly the
    # waiter it is meant for, across many clear()s.
    ping, pong = locks.Event(), locks.Event()
    rounds = 500

    def other():
        for _ in range(rounds):
            assert ping.wait(10)
            ping.clear()
            pong.set()

    t = threading.Thread(target=other)
    t.start()
    for _ in range(rounds):
        ping.set()
        assert pong.wait(10)
        pong.clear()
    t.join()


# =================================================================== CountDownLatch


def test_latch_basics():
    c = locks.CountDownLatch(3)
    assert c.count == 3
    assert c.wait(0) is False
    assert c.count_down() == 2
    assert c.count_down(n=1) == 1
    assert c.wait(-1) is False
    assert c.count_down(5) == 0  # stops at zero
    assert c.count == 0
    assert c.wait() is True
    assert c.wait(0) is True
    assert c.count_down() == 0  # stays open
    assert repr(c) == f"<interlock.locks.CountDownLatch at {id(c):#x}: count=0>"
    assert locks.CountDownLatch(0).wait() is True
    assert locks.CountDownLatch(count=2).count == 2


def test_latch_bad_input():
    with pytest.raises(ValueError, match="count must be >= 0"):
        locks.CountDownLatch(-1)
    with pytest.raises(TypeError):
        locks.CountDownLatch()
    with pytest.raises(TypeError):
        locks.CountDownLatch(1.0)
    with pytest.raises(TypeError):
        locks.CountDownLatch(None)
    with pytest.raises(OverflowError):
        locks.CountDownLatch(2**62)
    c = locks.CountDownLatch(2)
    with pytest.raises(ValueError, match="n must be one or more"):
        c.count_down(0)
    with pytest.raises(ValueError, match="n must be one or more"):
        c.count_down(-1)
    with pytest.raises(TypeError):
        c.count_down(None)
    with pytest.raises(TypeError):
        c.count_down(1.5)
    with pytest.raises(ValueError, match="NaN"):
        c.wait(float("nan"))
    with pytest.raises(TypeError):
        c.wait("x")
    assert c.count == 2
    assert c.count_down(2**80) == 0  # huge n: clamps like any n >= count


def test_latch_timeout():
    c = locks.CountDownLatch(1)
    with elapsed_between(SHORT, LONG_ENOUGH):
        assert c.wait(SHORT) is False
    assert c.count == 1


def test_latch_releases_all_waiters(fast_switching):
    n_waiters, n_counters = 6, 4
    c = locks.CountDownLatch(n_counters * 50)
    results = []
    catcher = Catcher()

    def waiter(i):
        results.append(c.wait(30))
        assert c.count == 0

    def counter(i):
        for _ in range(50):
            c.count_down()

    waiters = [threading.Thread(target=catcher.wrap(waiter), args=(i,)) for i in range(n_waiters)]
    for t in waiters:
        t.start()
    in_threads(n_counters, catcher.wrap(counter))
    for t in waiters:
        t.join()
    catcher.check()
    assert results == [True] * n_waiters


# =================================================================== Once


def test_once_basics():
    o = locks.Once()
    assert o.done is False and o.is_done() is False
    assert repr(o) == f"<interlock.locks.Once at {id(o):#x}: not done>"
    calls = []

    def f(a, b=0):
        calls.append((a, b))
        return [a, b]

    r = o.call(f, 1, b=2)
    assert r == [1, 2]
    assert o.done is True and o.is_done() is True
    assert o.call(f, 3) is r  # cached, fn not called again
    assert o.call(print) is r  # fn and arguments are ignored once done
    assert calls == [(1, 2)]
    assert repr(o) == f"<interlock.locks.Once at {id(o):#x}: done>"
    o2 = locks.Once()
    assert o2.call(lambda: None) is None
    assert o2.done


def test_once_bad_input():
    o = locks.Once()
    with pytest.raises(TypeError, match="missing required argument 'fn'"):
        o.call()
    with pytest.raises(TypeError):
        o.call(fn=len)
    with pytest.raises(TypeError):
        o.call(42)  # not callable: counts as fn raising
    assert not o.done
    with pytest.raises(TypeError):
        locks.Once(1)
    assert o.call(len, "abc") == 3


def test_once_exception_then_retry():
    o = locks.Once()
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise KeyError(len(attempts))
        return "ok"

    for i in (1, 2):
        with pytest.raises(KeyError) as info:
            o.call(flaky)
        assert info.value.args == (i,)
        assert not o.done
    assert o.call(flaky) == "ok"
    assert o.call(flaky) == "ok"
    assert len(attempts) == 3


def test_once_recursive_call_raises():
    o = locks.Once()

    def recurse():
        return o.call(recurse)

    with pytest.raises(RuntimeError, match="called again from the function"):
        o.call(recurse)
    assert not o.done
    inner = []

    def catches():
        try:
            o.call(lambda: 1)
        except RuntimeError:
            inner.append("refused")
        return 2

    assert o.call(catches) == 2
    assert inner == ["refused"]
    assert o.call(lambda: 3) == 2


def test_once_result_is_collected():
    class Result:
        pass

    o = locks.Once()
    res = o.call(Result)
    ref = weakref.ref(res)
    del res
    gc.collect()
    assert ref() is not None  # kept by the Once
    del o
    gc.collect()
    assert ref() is None
    # A cycle through the result is collected too.
    o = locks.Once()
    holder = o.call(lambda: {"once": o})
    assert holder["once"] is o
    ref = weakref.ref(o)
    del o, holder
    gc.collect()
    assert ref() is None


def test_once_runs_once_under_contention(fast_switching):
    n = 8
    for _ in range(20):
        o = locks.Once()
        start = threading.Barrier(n)
        runs = []
        results = []

        def fn():
            runs.append(1)
            return object()

        def caller(i):
            start.wait()
            results.append(o.call(fn))

        in_threads(n, caller)
        assert len(runs) == 1
        assert len(results) == n
        assert all(r is results[0] for r in results)


def test_once_waiters_see_failure_then_one_retries(fast_switching):
    o = locks.Once()
    n = 6
    entered = locks.Event()
    release = locks.Event()
    runs = []
    outcomes = []
    catcher = Catcher()

    def first():
        runs.append("first")
        entered.set()
        assert release.wait(30)
        raise ValueError("first run fails")

    def second():
        runs.append("second")
        return "second"

    def runner():
        with pytest.raises(ValueError):
            o.call(first)

    def other(i):
        outcomes.append(o.call(second))

    t = threading.Thread(target=catcher.wrap(runner))
    t.start()
    assert entered.wait(10)
    others = [threading.Thread(target=catcher.wrap(other), args=(i,)) for i in range(n)]
    for th in others:
        th.start()
    release.set()
    t.join()
    for th in others:
        th.join()
    catcher.check()
    assert runs == ["first", "second"]
    assert outcomes == ["second"] * n


# =================================================================== signals
#
# For each kind of wait, the main thread blocks, a signal handler raises,
# and the exception must arrive promptly, leaving the primitive usable.


class Interrupt(Exception):
    pass


@contextmanager
def alarm(delay=SHORT):
    """SIGALRM after `delay` seconds; its handler raises Interrupt."""

    def handler(signum, frame):
        raise Interrupt

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, delay)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextmanager
def sigint_from_thread(delay=SHORT):
    """SIGINT sent by a helper thread after `delay` seconds, with the default
    handler (KeyboardInterrupt)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, old)


SIGNALS = [
    pytest.param((alarm, Interrupt), id="SIGALRM-handler"),
    pytest.param((sigint_from_thread, KeyboardInterrupt), id="SIGINT-from-thread"),
]


def interrupted(source, call):
    make, exc = source
    t0 = time.monotonic()
    with pytest.raises(exc):
        with make():
            call()
    dt = time.monotonic() - t0
    assert dt < 1.0, dt


@pytest.mark.parametrize("source", SIGNALS)
def test_signal_semaphore_acquire(source):
    s = locks.Semaphore(0)
    interrupted(source, s.acquire)
    interrupted(source, lambda: s.acquire(timeout=30))
    interrupted(source, lambda: s.__enter__())
    assert s.value == 0  # no permit taken, none lost
    s.release()
    assert s.acquire(False) is True
    assert s.acquire(False) is False


@pytest.mark.parametrize("source", SIGNALS)
def test_signal_event_wait(source):
    e = locks.Event()
    interrupted(source, e.wait)
    interrupted(source, lambda: e.wait(30))
    assert not e.is_set()
    e.set()
    assert e.wait() is True


@pytest.mark.parametrize("source", SIGNALS)
def test_signal_latch_wait(source):
    c = locks.CountDownLatch(1)
    interrupted(source, c.wait)
    interrupted(source, lambda: c.wait(timeout=30))
    assert c.count == 1
    c.count_down()
    assert c.wait() is True


@pytest.mark.parametrize("source", SIGNALS)
def test_signal_once_waiting_for_runner(source):
    o = locks.Once()
    entered, release = locks.Event(), locks.Event()

    def slow():
        entered.set()
        assert release.wait(30)
        return "slow"

    t = threading.Thread(target=o.call, args=(slow,))
    t.start()
    assert entered.wait(10)
    interrupted(source, lambda: o.call(lambda: "never"))
    assert not o.done
    release.set()
    t.join()
    assert o.done
    assert o.call(lambda: "never") == "slow"


@pytest.mark.parametrize("source", SIGNALS)
def test_signal_condition_wait(source):
    cond = locks.Condition()
    with cond:
        cond.acquire()  # recursion level 2, restored after the interruption
        interrupted(source, cond.wait)
        interrupted(source, lambda: cond.wait(30))
        interrupted(source, lambda: cond.wait_for(lambda: False))
        assert cond._is_owned()
        assert len(cond._waiters) == 0
        cond.release()
        assert cond._is_owned()
    assert not cond._is_owned()
    # Still a working condition.
    flag = []

    def setter():
        with cond:
            flag.append(1)
            cond.notify()

    with cond:
        t = threading.Thread(target=setter)
        t.start()
        assert cond.wait_for(lambda: flag, 10)
    t.join()


def test_signal_while_condition_wait_takes_the_lock_back():
    # The signal arrives as the waiter is woken and has to wait for the lock
    # (held a while by the notifier): whichever step it interrupts, wait()
    # raises with the lock held and the waiter off the queue.
    def handler(signum, frame):
        raise Interrupt

    old = signal.signal(signal.SIGALRM, handler)
    try:
        for _ in range(3):
            cond = locks.Condition()
            started = locks.Event()

            def notifier():
                assert started.wait(10)
                with cond:  # main is inside wait()
                    cond.notify()
                    os.kill(os.getpid(), signal.SIGALRM)
                    locks.Event().wait(0.1)  # keep the lock for a moment

            t = threading.Thread(target=notifier)
            t.start()
            t0 = time.monotonic()
            with cond:
                started.set()
                with pytest.raises(Interrupt):
                    cond.wait(30)
                assert cond._is_owned()
                assert len(cond._waiters) == 0
            assert time.monotonic() - t0 < 1.0
            t.join()
    finally:
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("source", SIGNALS)
def test_signal_condition_wait_plain_lock(source):
    cond = locks.Condition(locks.Lock())
    with cond:
        interrupted(source, cond.wait)
        assert len(cond._waiters) == 0
    assert cond.acquire(False)
    cond.release()


@pytest.mark.parametrize("source", SIGNALS)
def test_signal_barrier_wait(source):
    b = locks.Barrier(2)
    interrupted(source, b.wait)
    assert b.n_waiting == 0
    assert not b.broken
    # A full cycle still works.
    t = threading.Thread(target=b.wait)
    t.start()
    assert b.wait(10) in (0, 1)
    t.join()


def test_signal_in_worker_thread_does_not_disturb_waits():
    # A signal handled by the main thread while a worker waits: the worker's
    # wait goes on.
    s = locks.Semaphore(0)
    got = []
    t = threading.Thread(target=lambda: got.append(s.acquire(timeout=30)))
    t.start()
    interrupted((alarm, Interrupt), lambda: locks.Event().wait())
    s.release()
    t.join()
    assert got == [True]
