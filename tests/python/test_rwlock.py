"""interlock.locks.RWLock, ReadGuard and WriteGuard: the syncx surface with
threading-style arguments, misuse as RuntimeError, downgrade, fairness nudges,
and the reader/writer invariants under threads (writers and readers not
starved)."""

from __future__ import annotations

import gc
import inspect
import sys
import threading
import time
import weakref

import pytest

from interlock.locks import ReadGuard, RWLock, WriteGuard
from _threads import Holder, in_thread

pytestmark = pytest.mark.timeout(60)


def test_signatures():
    for name in ["acquire_read", "acquire_write", "read_guard", "write_guard"]:
        assert str(inspect.signature(getattr(RWLock, name))) == \
            "(self, /, blocking=True, timeout=None)", name
    method_descriptor = type(str.join)
    for name in ["acquire_read", "read_release", "acquire_write", "write_release",
                 "try_acquire_read", "try_acquire_write", "is_locked"]:
        assert type(RWLock.__dict__[name]) is method_descriptor


def test_read_and_write_basics():
    rw = RWLock()
    assert rw.is_locked() is False and rw.is_write_locked() is False
    assert rw.acquire_read() is True
    assert rw.acquire_read(False) is True
    assert rw.try_acquire_read() is True
    assert rw.is_locked() is True and rw.is_write_locked() is False
    assert rw.acquire_write(False) is False
    assert rw.try_acquire_write() is False
    assert rw.acquire_write(timeout=0) is False
    assert "read-locked (3 readers)" in repr(rw)
    for _ in range(3):
        rw.read_release()
    assert not rw.is_locked()
    assert rw.acquire_write() is True
    assert rw.is_locked() and rw.is_write_locked()
    assert "write-locked" in repr(rw)
    assert rw.acquire_read(False) is False
    assert rw.try_acquire_read() is False
    assert rw.acquire_write(blocking=False) is False
    rw.write_release()
    assert repr(rw).startswith("<unlocked interlock.locks.RWLock object at 0x")
    assert rw.try_acquire_write() is True
    rw.write_release_fair()
    assert not rw.is_locked()
    assert rw.acquire_write(True, -1) is True  # threading's "forever"
    rw.write_release()
    assert rw.acquire_read(True, None) is True
    rw.read_release()


def test_misuse_is_runtime_error_and_harmless():
    rw = RWLock()
    with pytest.raises(RuntimeError, match="read"):
        rw.read_release()
    with pytest.raises(RuntimeError, match="write"):
        rw.write_release()
    with pytest.raises(RuntimeError, match="write"):
        rw.write_release_fair()
    with pytest.raises(RuntimeError):
        rw.bump_shared()
    with pytest.raises(RuntimeError):
        rw.bump_exclusive()
    rw.acquire_read()
    with pytest.raises(RuntimeError):
        rw.write_release()
    with pytest.raises(RuntimeError):
        rw.bump_exclusive()
    rw.read_release()
    rw.acquire_write()
    with pytest.raises(RuntimeError):
        rw.read_release()
    with pytest.raises(RuntimeError):
        rw.bump_shared()
    rw.write_release()
    assert not rw.is_locked()
    assert rw.acquire_write(False) and rw.write_release() is None


@pytest.mark.parametrize("method", ["acquire_read", "acquire_write", "read_guard", "write_guard"])
def test_bad_timeouts_follow_threading(method):
    rw = RWLock()
    fn = getattr(rw, method)
    cases = [((False, 1), ValueError, "can't specify a timeout for a non-blocking call"),
             ((True, -2), ValueError, "non-negative"),
             ((True, float("nan")), ValueError, "NaN"),
             ((True, "x"), TypeError, None),
             ((True, 1e300), OverflowError, None),
             ((True, float("inf")), OverflowError, None)]
    for args, exc, msg in cases:
        with pytest.raises(exc) as info:
            fn(*args)
        if msg:
            assert msg in str(info.value)
    assert not rw.is_locked()


def test_read_hold_released_by_another_thread():
    rw = RWLock()
    assert in_thread(rw.acquire_read) is True
    assert rw.is_locked()
    rw.read_release()  # read holds are not owned by threads
    assert not rw.is_locked()
    assert in_thread(rw.acquire_write) is True
    rw.write_release()


def test_timeouts():
    rw = RWLock()
    with Holder(rw.acquire_read, rw.read_release):
        t0 = time.monotonic()
        assert rw.acquire_write(timeout=0.05) is False
        assert 0.05 <= time.monotonic() - t0 < 2.0
        t0 = time.monotonic()
        assert rw.write_guard(timeout=0.05) is None
        assert 0.05 <= time.monotonic() - t0 < 2.0
        assert rw.acquire_read(timeout=0.05) is True  # readers share
        rw.read_release()
    with Holder(rw.acquire_write, rw.write_release):
        for fn in (rw.acquire_read, rw.acquire_write, rw.read_guard, rw.write_guard):
            t0 = time.monotonic()
            assert fn(timeout=0.05) in (False, None)
            assert 0.05 <= time.monotonic() - t0 < 2.0
    assert not rw.is_locked()


def test_writer_timeout_does_not_strand_readers():
    """A writer that gives up must let the readers queued behind it in."""
    rw = RWLock()
    with Holder(rw.acquire_read, rw.read_release):
        writer_waiting = threading.Event()
        results = {}

        def writer():
            writer_waiting.set()
            results["w"] = rw.acquire_write(timeout=0.3)

        w = threading.Thread(target=writer)
        w.start()
        writer_waiting.wait()
        time.sleep(0.05)  # let the writer park (holds either way)
        t0 = time.monotonic()
        results["r"] = rw.acquire_read(timeout=5)  # queued behind the writer, then let in
        results["r_elapsed"] = time.monotonic() - t0
        w.join()
        assert results["w"] is False
        assert results["r"] is True and results["r_elapsed"] < 4
        rw.read_release()


# ---------------------------------------------------------------- guards


def test_guards():
    rw = RWLock()
    g1 = rw.read_guard()
    g2 = rw.read_guard(blocking=False)
    assert type(g1) is ReadGuard and type(g2) is ReadGuard
    assert rw.write_guard(False) is None
    g2.release()
    g2.release()  # once only
    g2.unlock()
    assert rw.is_locked()
    g1.unlock()
    assert not rw.is_locked()
    with rw.write_guard() as w:
        assert type(w) is WriteGuard
        assert rw.is_write_locked()
        assert rw.read_guard(False) is None
    assert not rw.is_locked()
    with rw.read_guard() as r:
        assert type(r) is ReadGuard and rw.is_locked()
    assert not rw.is_locked()
    w = rw.write_guard()
    w.release_fair()
    w.release_fair()
    w.unlock_fair()
    w.release()
    assert not rw.is_locked()
    assert w.__exit__(None, None, None) is False
    with pytest.raises(TypeError):
        ReadGuard()
    with pytest.raises(TypeError):
        WriteGuard()


def test_guard_release_after_direct_release_is_an_error():
    rw = RWLock()
    g = rw.read_guard()
    rw.read_release()
    with pytest.raises(RuntimeError):
        g.release()
    w = rw.write_guard()
    rw.write_release()
    with pytest.raises(RuntimeError):
        w.release()
    w = rw.write_guard()
    rw.write_release()
    with pytest.raises(RuntimeError):
        w.downgrade()
    assert w.downgrade() is None
    assert not rw.is_locked()


def test_guards_collected_release():
    rw = RWLock()
    g = rw.write_guard()
    del g
    gc.collect()
    assert not rw.is_locked()
    rw.read_guard()
    assert not rw.is_locked()
    ref = weakref.ref(rw)
    g = rw.read_guard()
    del rw
    gc.collect()
    assert ref() is not None and ref().is_locked()
    g.release()
    del g
    gc.collect()
    assert ref() is None


def test_downgrade():
    rw = RWLock()
    w = rw.write_guard()
    r = w.downgrade()
    assert type(r) is ReadGuard
    assert rw.is_locked() and not rw.is_write_locked()
    assert w.downgrade() is None
    w.release()  # holds nothing now
    assert rw.is_locked()
    assert in_thread(rw.acquire_read, False) is True  # another reader may come in
    rw.read_release()
    assert in_thread(rw.acquire_write, False) is False
    r.release()
    assert not rw.is_locked()


def test_downgrade_lets_waiting_readers_in():
    rw = RWLock()
    w = rw.write_guard()
    n = 3
    started = threading.Barrier(n + 1)
    all_in = threading.Barrier(n + 1, timeout=10)
    got = []

    def reader():
        started.wait()
        ok = rw.acquire_read(timeout=10)
        got.append(ok)
        all_in.wait()  # every reader holds at once, alongside the downgraded writer
        if ok:
            rw.read_release()

    threads = [threading.Thread(target=reader) for _ in range(n)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.05)  # let them park behind the writer (holds either way)
    r = w.downgrade()
    all_in.wait()
    assert got == [True] * n
    assert rw.is_locked() and not rw.is_write_locked()
    for t in threads:
        t.join()
    r.release()
    assert not rw.is_locked()


def _wait_for_event_while(event, action, timeout=10.0):
    """Repeat action() until event is set (each round waits on the event)."""
    deadline = time.monotonic() + timeout
    while not event.is_set() and time.monotonic() < deadline:
        action()
        event.wait(0.01)
    return event.is_set()


def test_bump_shared_lets_a_writer_in():
    rw = RWLock()
    rw.acquire_read()
    rw.bump_shared()  # nobody waits: a no-op
    assert rw.is_locked() and not rw.is_write_locked()
    wrote = threading.Event()

    def writer():
        with rw.write_guard():
            wrote.set()

    t = threading.Thread(target=writer)
    t.start()
    assert _wait_for_event_while(wrote, rw.bump_shared)
    t.join()
    # we are still a reader
    assert rw.is_locked() and not rw.is_write_locked()
    rw.read_release()
    assert not rw.is_locked()


def test_bump_exclusive_lets_waiters_in():
    rw = RWLock()
    rw.acquire_write()
    rw.bump_exclusive()
    assert rw.is_write_locked()
    read = threading.Event()

    def reader():
        with rw.read_guard():
            read.set()

    t = threading.Thread(target=reader)
    t.start()
    assert _wait_for_event_while(read, rw.bump_exclusive)
    t.join()
    assert rw.is_write_locked()
    rw.write_release()
    assert not rw.is_locked()


def test_at_fork_reinit():
    rw = RWLock()
    rw.acquire_write()
    rw._at_fork_reinit()
    assert not rw.is_locked()
    rw.acquire_read()
    rw._at_fork_reinit()
    with pytest.raises(RuntimeError):
        rw.read_release()
    assert rw.acquire_write(False)
    rw.write_release()


# ---------------------------------------------------------------- threads


def test_reader_writer_invariants(fast_switching):
    rw = RWLock()
    mu = threading.Lock()
    state = {"readers": 0, "writers": 0, "max_readers": 0, "value": 0}
    violations = []
    n_readers, n_writers, n_iter = 4, 2, 1_500

    def enter(kind):
        with mu:
            if state["writers"] or (kind == "w" and state["readers"]):
                violations.append((kind, dict(state)))
            state["writers" if kind == "w" else "readers"] += 1
            state["max_readers"] = max(state["max_readers"], state["readers"])

    def leave(kind):
        with mu:
            state["writers" if kind == "w" else "readers"] -= 1

    def reader(i):
        for k in range(n_iter):
            if k % 2:
                g = rw.read_guard()
                enter("r")
                leave("r")
                g.release()
            else:
                assert rw.acquire_read(timeout=30)
                enter("r")
                leave("r")
                rw.read_release()

    def writer(i):
        for k in range(n_iter):
            if k % 3 == 0:
                with rw.write_guard():
                    enter("w")
                    v = state["value"]
                    state["value"] = v + 1
                    leave("w")
            elif k % 3 == 1:
                assert rw.acquire_write(timeout=30)
                enter("w")
                v = state["value"]
                state["value"] = v + 1
                leave("w")
                rw.write_release_fair()
            else:
                w = rw.write_guard()
                enter("w")
                v = state["value"]
                state["value"] = v + 1
                leave("w")
                r = w.downgrade()
                enter("r")
                leave("r")
                r.release()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(n_readers)]
    threads += [threading.Thread(target=writer, args=(i,)) for i in range(n_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert violations == []
    assert state["value"] == n_writers * n_iter
    assert state["readers"] == 0 and state["writers"] == 0
    assert not rw.is_locked()


def test_writers_not_starved():
    """Readers overlap without pause; a writer still gets in promptly."""
    rw = RWLock()
    stop = threading.Event()
    readers_running = threading.Barrier(4)

    def reader():
        readers_running.wait()
        while not stop.is_set():
            with rw.read_guard():
                time.sleep(0.001)  # work while holding: some reader always holds

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    readers_running.wait()
    time.sleep(0.02)
    try:
        t0 = time.monotonic()
        got = rw.acquire_write(timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
    if got:
        rw.write_release()
    for t in threads:
        t.join()
    assert got and elapsed < 5


def test_readers_not_starved():
    """Writers follow each other without pause; a reader still gets in."""
    rw = RWLock()
    stop = threading.Event()
    writers_running = threading.Barrier(3)

    def writer():
        writers_running.wait()
        while not stop.is_set():
            with rw.write_guard():
                time.sleep(0.001)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    writers_running.wait()
    time.sleep(0.02)
    try:
        results = []
        for _ in range(5):
            t0 = time.monotonic()
            got = rw.acquire_read(timeout=10)
            results.append((got, time.monotonic() - t0))
            if got:
                rw.read_release()
    finally:
        stop.set()
    for t in threads:
        t.join()
    assert all(got and elapsed < 5 for got, elapsed in results), results


def test_concurrent_misuse_never_aborts():
    """Racing read_release / write_release calls: exactly the held ones succeed."""
    rw = RWLock()
    n = 4
    barrier = threading.Barrier(n)
    ok = [0]
    mu = threading.Lock()

    def work():
        for _ in range(300):
            barrier.wait()
            for fn in (rw.read_release, rw.write_release):
                try:
                    fn()
                    with mu:
                        ok[0] += 1
                except RuntimeError:
                    pass
            barrier.wait()

    for _ in range(2):
        rw.acquire_read()  # two read holds, raced for by 4 threads x 300 rounds
    run = [threading.Thread(target=work) for _ in range(n)]
    for t in run:
        t.start()
    for t in run:
        t.join()
    assert ok[0] == 2
    assert not rw.is_locked()
