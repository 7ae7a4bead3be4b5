"""ft_utils' queues and gathering iterator (interlock.collections and the
compat.ft_utils.concurrency façade), and the syncx collections façade's Queue."""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from interlock import collections as ic
from interlock.collections import LocalWrapper
from interlock.compat.ft_utils import concurrency as ft
from interlock.compat.syncx import collections as sxc

pytestmark = pytest.mark.timeout(60, method="thread")


def test_facades():
    assert ft.ConcurrentQueue is ic.ConcurrentQueue
    assert ft.StdConcurrentQueue is ic.StdConcurrentQueue
    assert ft.ConcurrentGatheringIterator is ic.ConcurrentGatheringIterator
    assert ft.Empty is queue.Empty
    if hasattr(queue, "ShutDown"):
        assert ft.ShutDown is queue.ShutDown
    assert sxc.Queue is ic.Queue and sxc.Empty is queue.Empty and sxc.Full is queue.Full
    assert set(sxc.__all__) >= {"Queue", "Empty", "Full"}


def test_syncx_quick_start():
    q = sxc.Queue(maxsize=1)
    q.put("message")
    assert q.get_nowait() == "message"


# ------------------------------------------------------------------ ConcurrentQueue

@pytest.mark.parametrize("lock_free", [False, True])
def test_concurrent_queue_seed_example(lock_free):
    q = ft.ConcurrentQueue(lock_free=lock_free)
    for i in range(5):
        q.push(f"value{i}")
    assert q.size() == 5 and not q.empty()
    assert q.pop() == "value0"
    assert q.pop(timeout=0.1) == "value1"
    w = q.pop_local()
    assert isinstance(w, LocalWrapper) and w == "value2"
    q.shutdown()
    with pytest.raises(ft.ShutDown):
        q.push("value5")
    # values still queued are handed out, then ShutDown (as ft_utils' pop)
    assert q.pop() == "value3"
    assert q.pop() == "value4"
    with pytest.raises(ft.ShutDown):
        q.pop()
    with pytest.raises(ft.ShutDown):
        q.pop()
    assert q.empty()


def test_concurrent_queue_timeouts_and_arguments():
    q = ft.ConcurrentQueue(scaling=4)
    with pytest.raises(queue.Empty):
        q.pop(timeout=0)
    with pytest.raises(queue.Empty):
        q.pop(timeout=-1)  # negative: do not wait
    t0 = time.monotonic()
    with pytest.raises(ft.Empty):
        q.pop(0.03)
    assert time.monotonic() - t0 >= 0.025
    with pytest.raises(ValueError):
        q.pop(timeout=float("nan"))
    with pytest.raises(TypeError):
        q.pop(timeout="1")
    with pytest.raises(ValueError):
        ft.ConcurrentQueue(scaling=0)
    with pytest.raises(TypeError):
        ft.ConcurrentQueue(scaling="x")
    o = object()
    q.push(o)
    assert q.pop() is o


def test_concurrent_queue_shutdown_immediate():
    q = ft.ConcurrentQueue()
    q.push(1)
    q.shutdown(immediate=True)
    assert q.size() == 0
    with pytest.raises(ft.ShutDown):
        q.pop()


@pytest.mark.parametrize("lock_free", [False, True])
def test_concurrent_queue_shutdown_wakes_poppers(lock_free):
    q = ft.ConcurrentQueue(lock_free=lock_free)
    errors = []
    ready = threading.Barrier(3)

    def popper():
        ready.wait()
        try:
            q.pop()
        except ft.ShutDown:
            errors.append(1)

    ts = [threading.Thread(target=popper) for _ in range(2)]
    for t in ts:
        t.start()
    ready.wait()
    q.shutdown()
    for t in ts:
        t.join(10)
    assert errors == [1, 1]


@pytest.mark.parametrize("cls", ["cq", "cq_lock_free", "std"])
def test_mpmc_no_loss_no_duplicates(cls):
    q = {"cq": lambda: ft.ConcurrentQueue(), "cq_lock_free": lambda: ft.ConcurrentQueue(lock_free=True),
         "std": lambda: ft.StdConcurrentQueue(8)}[cls]()
    push = q.put if cls == "std" else q.push
    n_prod, n_cons, per = 3, 3, 4000
    got = []
    lock = threading.Lock()

    def produce(p):
        for i in range(per):
            push((p, i))

    def consume():
        mine = []
        try:
            while True:
                mine.append(q.pop())
        except ft.ShutDown:
            pass
        with lock:
            got.extend(mine)

    cs = [threading.Thread(target=consume) for _ in range(n_cons)]
    ps = [threading.Thread(target=produce, args=(p,)) for p in range(n_prod)]
    for t in cs + ps:
        t.start()
    for t in ps:
        t.join()
    q.shutdown()
    for t in cs:
        t.join()
    assert sorted(got) == sorted((p, i) for p in range(n_prod) for i in range(per))


# ------------------------------------------------------------------ StdConcurrentQueue

def test_std_concurrent_queue_is_a_queue():
    q = ft.StdConcurrentQueue(2)
    assert isinstance(q, ft.ConcurrentQueue)
    assert q.maxsize == 2 and q.empty() and not q.full()
    q.put(1)
    q.put_nowait(2)
    assert q.full() and q.qsize() == 2 and q.size() == 2
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.01)
    assert q.get() == 1 and q.get_nowait() == 2
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    q.task_done()
    q.task_done()
    q.join()
    with pytest.raises(ValueError):
        q.task_done()
    q.push(9)
    assert q.pop() == 9
    q.shutdown()
    with pytest.raises(ft.ShutDown):
        q.put(1)
    unbounded = ft.StdConcurrentQueue()
    for i in range(1000):
        unbounded.put_nowait(i)
    assert unbounded.qsize() == 1000 and not unbounded.full()


def test_std_concurrent_queue_join_waits_for_workers():
    q = ft.StdConcurrentQueue()
    results = []

    def worker():
        while True:
            item = q.get()
            if item is None:
                q.task_done()
                return
            results.append(item * 2)
            q.task_done()

    t = threading.Thread(target=worker)
    t.start()
    for i in range(100):
        q.put(i)
    q.join()
    assert sorted(results) == [i * 2 for i in range(100)]
    q.put(None)
    t.join(10)


# ------------------------------------------------------------------ gathering iterator

def test_gathering_seed_example():
    it = ft.ConcurrentGatheringIterator()
    it.insert(0, "value0")
    it.insert(1, "value1")
    it.insert(2, "value2")
    assert list(it.iterator(2)) == ["value0", "value1", "value2"]


def test_gathering_threads_seed_example():
    it = ft.ConcurrentGatheringIterator(scaling=4)
    index = ft.AtomicInt64(-1)

    def insert_value(v):
        it.insert(index.incr(), v)

    with ThreadPoolExecutor(max_workers=10) as ex:
        for f in [ex.submit(insert_value, i) for i in range(100)]:
            f.result()
    assert sorted(it.iterator(99)) == list(range(100))


def test_gathering_blocks_until_next_key():
    it = ft.ConcurrentGatheringIterator()
    go = threading.Event()

    def inserter():
        go.wait()
        for k in (3, 1, 2, 0, 4):
            it.insert(k, k * 10)

    t = threading.Thread(target=inserter)
    t.start()
    reader = it.iterator(4)
    go.set()
    assert list(reader) == [0, 10, 20, 30, 40]
    t.join()


def test_gathering_clear_false_and_local():
    it = ft.ConcurrentGatheringIterator()
    o = object()
    it.insert(0, o)
    it.insert(1, "b")
    vals = list(it.iterator(1, clear=False))
    assert vals[0] is o and vals[1] == "b"
    ws = list(it.iterator_local(1))
    assert all(isinstance(w, LocalWrapper) for w in ws)
    assert ws[0].wrapped is o
    # cleared now: the next reader waits; a failure ends the wait
    with pytest.raises(TypeError):
        it.insert("not an int", 1)
    with pytest.raises(RuntimeError, match="insertion failed"):
        next(it.iterator(0))


def test_gathering_failure_wakes_waiting_reader():
    it = ft.ConcurrentGatheringIterator()
    it.insert(0, "a")
    errors = []
    started = threading.Event()

    def reader():
        gen = it.iterator(5)
        started.set()
        try:
            for _ in gen:
                pass
        except RuntimeError:
            errors.append(1)

    t = threading.Thread(target=reader)
    t.start()
    started.wait()
    with pytest.raises(OverflowError):
        it.insert(2**70, "x")
    t.join(10)
    assert errors == [1]


def test_gathering_duplicate_key_replaces():
    it = ft.ConcurrentGatheringIterator()
    it.insert(0, "a")
    it.insert(0, "b")
    assert list(it.iterator(0)) == ["b"]
    assert list(it.iterator(-1)) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_signal_interrupts_pop_and_gathering_wait():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")

    class Boom(Exception):
        pass

    def handler(signum, frame):
        raise Boom

    old = signal.signal(signal.SIGALRM, handler)
    try:
        for lock_free in (False, True):
            q = ft.ConcurrentQueue(lock_free=lock_free)
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            t0 = time.monotonic()
            with pytest.raises(Boom):
                q.pop()
            assert time.monotonic() - t0 < 2
            q.push(1)
            assert q.pop() == 1
        it = ft.ConcurrentGatheringIterator()
        gen = it.iterator(0)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Boom):
            next(gen)
        assert next(gen, None) is None  # a generator: the exception ended it
        it.insert(0, "x")
        assert list(it.iterator(0)) == ["x"]  # nothing was taken; a new iterator resumes
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
