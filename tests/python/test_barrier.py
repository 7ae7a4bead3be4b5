"""interlock.locks.Barrier: threading.Barrier's contract, on interlock's
Condition. Threads meet through the barrier itself (or interlock Events),
never through sleeps."""

import sys
import threading
import time
from contextlib import contextmanager

import pytest

from interlock import locks

SHORT = 0.05
LONG_ENOUGH = 2.0

BARRIERS = [
    pytest.param(threading.Barrier, id="threading"),
    pytest.param(locks.Barrier, id="interlock"),
]


@contextmanager
def elapsed_between(low, high):
    t0 = time.monotonic()
    yield
    dt = time.monotonic() - t0
    assert low <= dt < high, dt


def run_parties(n, target):
    """Runs target(i) in n threads; returns the exceptions they raised."""
    errors = []

    def run(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def watch_waits(b, parties):
    """Makes `b` count the threads that go to sleep inside its wait(); the
    returned function blocks until `parties` of them are asleep there."""
    asleep = locks.CountDownLatch(parties)

    class Watched(type(b._cond)):
        def wait(self, timeout=None):
            asleep.count_down()  # under the barrier's lock, before releasing it
            return super().wait(timeout)

    b._cond = Watched(b._cond._lock)

    def until_asleep():
        assert asleep.wait(10)
        with b._cond:  # the last one has released the lock inside wait()
            pass

    return until_asleep


def test_broken_barrier_error_is_threadings():
    assert locks.BrokenBarrierError is threading.BrokenBarrierError
    assert issubclass(locks.BrokenBarrierError, RuntimeError)


@pytest.mark.parametrize("cls", BARRIERS)
def test_construction_and_properties(cls):
    # threading.Barrier checks parties from 3.13 on ("> 0" in 3.13.0, ">= 1"
    # in later releases; ours says ">= 1").
    if cls is locks.Barrier or sys.version_info >= (3, 13):
        msg = "^parties must be >= 1$" if cls is locks.Barrier else "^parties must be "
        with pytest.raises(ValueError, match=msg):
            cls(0)
        with pytest.raises(ValueError, match=msg):
            cls(-3)
    b = cls(3)
    assert b.parties == 3
    assert b.n_waiting == 0
    assert b.broken is False
    b = cls(parties=2, action=None, timeout=5)
    assert b.parties == 2


def test_repr():
    b = locks.Barrier(3)
    assert repr(b) == f"<interlock.locks.Barrier at {id(b):#x}: waiters=0/3>"
    b.abort()
    assert repr(b) == f"<interlock.locks.Barrier at {id(b):#x}: broken>"


@pytest.mark.parametrize("cls", BARRIERS)
def test_single_party(cls):
    runs = []
    b = cls(1, action=lambda: runs.append(1))
    assert b.wait() == 0
    assert b.wait(0) == 0
    assert runs == [1, 1]


@pytest.mark.parametrize("cls", BARRIERS)
def test_indices_and_action(cls):
    n = 5
    actions = []
    b = cls(n, action=lambda: actions.append(b.n_waiting))
    indices = []
    assert run_parties(n, lambda i: indices.append(b.wait())) == []
    assert sorted(indices) == list(range(n))
    assert len(actions) == 1
    assert b.n_waiting == 0 and not b.broken


def test_cycles_many_parties(fast_switching):
    parties, cycles = 8, 60
    action_runs = []
    b = locks.Barrier(parties, action=lambda: action_runs.append(1))
    per_thread = [[] for _ in range(parties)]

    def party(i):
        for _ in range(cycles):
            per_thread[i].append(b.wait())

    assert run_parties(parties, party) == []
    assert len(action_runs) == cycles  # once per cycle
    for c in range(cycles):
        # The c-th wait of every thread is in cycle c: the indices of a cycle
        # are 0 .. parties-1.
        assert sorted(t[c] for t in per_thread) == list(range(parties))
    assert b.n_waiting == 0 and not b.broken


def test_action_runs_before_release(fast_switching):
    parties, cycles = 4, 30
    stage = [0]
    seen = []
    b = locks.Barrier(parties, action=lambda: stage.__setitem__(0, stage[0] + 1))

    def party(i):
        for c in range(cycles):
            b.wait()
            seen.append((c, stage[0]))
            b.wait()  # keeps the next cycle's action from running early

    assert run_parties(parties, party) == []
    for c, s in seen:
        assert s == 2 * c + 1


@pytest.mark.parametrize("cls", BARRIERS)
def test_action_raising_breaks_the_barrier(cls):
    class Oops(Exception):
        pass

    def action():
        raise Oops

    n = 3
    b = cls(n, action=action)
    errors = run_parties(n, lambda i: b.wait())
    assert sorted(type(e).__name__ for e in errors) == sorted(
        ["Oops", "BrokenBarrierError", "BrokenBarrierError"]
    )
    assert b.broken
    with pytest.raises(threading.BrokenBarrierError):
        b.wait()
    b.reset()
    assert not b.broken


@pytest.mark.parametrize("cls", BARRIERS)
def test_timeout_breaks_the_barrier(cls):
    b = cls(2)
    with elapsed_between(SHORT, LONG_ENOUGH):
        with pytest.raises(locks.BrokenBarrierError):
            b.wait(SHORT)
    assert b.broken
    with pytest.raises(locks.BrokenBarrierError):
        b.wait()
    b.reset()
    assert not b.broken and b.n_waiting == 0


@pytest.mark.parametrize("cls", BARRIERS)
def test_default_timeout(cls):
    b = cls(2, timeout=SHORT)
    with elapsed_between(SHORT, LONG_ENOUGH):
        with pytest.raises(threading.BrokenBarrierError):
            b.wait()
    assert b.broken


@pytest.mark.parametrize("cls", BARRIERS)
def test_zero_and_negative_timeout(cls):
    for t in (0, -1):
        b = cls(2)
        with elapsed_between(0, 0.5):
            with pytest.raises(threading.BrokenBarrierError):
                b.wait(t)
        assert b.broken


def test_bad_timeout():
    b = locks.Barrier(2)
    with pytest.raises(ValueError, match="NaN"):
        b.wait(float("nan"))
    with pytest.raises(TypeError):
        b.wait("1")
    assert b.n_waiting == 0


@pytest.mark.parametrize("cls", BARRIERS)
def test_abort_wakes_waiters(cls):
    n = 4
    b = cls(n)
    until_asleep = watch_waits(b, n - 1)
    errors = []

    def party():
        try:
            b.wait(30)
        except threading.BrokenBarrierError as e:
            errors.append(e)

    threads = [threading.Thread(target=party) for _ in range(n - 1)]
    for t in threads:
        t.start()
    until_asleep()  # abort once every party is asleep inside wait()
    assert b.n_waiting == n - 1
    b.abort()
    for t in threads:
        t.join()
    assert len(errors) == n - 1
    assert b.broken
    with pytest.raises(threading.BrokenBarrierError):
        b.wait()


def test_waiting_parties_can_be_observed():
    # n_waiting counts the threads inside wait() of the current cycle.
    n = 3
    b = locks.Barrier(n)
    until_asleep = watch_waits(b, n - 1)
    threads = [threading.Thread(target=b.wait, args=(30,)) for _ in range(n - 1)]
    for t in threads:
        t.start()
    until_asleep()
    assert b.n_waiting == n - 1
    assert b.wait(10) == n - 1
    for t in threads:
        t.join()
    assert b.n_waiting == 0


@pytest.mark.parametrize("cls", BARRIERS)
def test_reset_while_waiting(cls):
    n = 3
    b = cls(n)
    until_asleep = watch_waits(b, n - 1)
    results = []

    def party():
        try:
            b.wait(30)
            results.append("passed")
        except threading.BrokenBarrierError:
            results.append("broken")

    threads = [threading.Thread(target=party) for _ in range(n - 1)]
    for t in threads:
        t.start()
    until_asleep()
    b.reset()
    for t in threads:
        t.join()
    assert results == ["broken"] * (n - 1)
    assert not b.broken
    # Usable again for a full cycle.
    assert run_parties(n, lambda i: b.wait(30)) == []


def test_reset_of_a_broken_barrier_with_waiters_inside(fast_switching):
    # Mirrors threading's test_reset/test_abort_and_reset: after a break, the
    # parties reset and go through a full cycle again.
    n = 4
    b = locks.Barrier(n)
    b2 = locks.Barrier(n)
    outcomes = []

    def party(i):
        try:
            idx = b.wait(30)
            if idx == n - 1:
                raise RuntimeError("only one raises")
            b.wait(30)
            outcomes.append("second")
        except threading.BrokenBarrierError:
            outcomes.append("broken")
        except RuntimeError:
            b.abort()
        if b2.wait(30) == n - 1:
            b.reset()
        b2.wait(30)
        b.wait(30)
        outcomes.append("final")

    assert run_parties(n, party) == []
    assert outcomes.count("broken") == n - 1
    assert outcomes.count("final") == n
    assert not b.broken
