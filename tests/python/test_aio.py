"""asyncio on interlock's primitives (interlock/_aio.py, bindings/aio.cpp).

Threads and coroutines on one object: wake-ups both ways, several loops in
several threads, cancellation and timeouts leaving every primitive consistent.
Synchronisation is by events and futures, never by sleeping; the few
``asyncio.sleep(0)`` calls only yield to the loop.
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
import threading

import pytest

from interlock.locks import (
    Barrier,
    BoundedSemaphore,
    BrokenBarrierError,
    Condition,
    CountDownLatch,
    Event,
    Lock,
    RLock,
    Semaphore,
)

if sys.version_info >= (3, 11):
    TimeoutErrors: tuple[type[BaseException], ...] = (TimeoutError,)
else:
    TimeoutErrors = (asyncio.TimeoutError,)


def run(coro):
    return asyncio.run(coro)


def thread_release_when(event: threading.Event, fn):
    """A thread that waits for `event`, then calls fn (the releasing side)."""
    t = threading.Thread(target=lambda: (event.wait(10), fn()))
    t.start()
    return t


# ------------------------------------------------------------------ Lock

def test_async_with_lock_uncontended():
    lock = Lock()

    async def main():
        async with lock:
            assert lock.locked()
        assert not lock.locked()
        assert await lock.aio.acquire() is True
        assert lock.aio.locked()
        lock.aio.release()
        assert not lock.locked()

    run(main())


def test_thread_release_wakes_coroutine():
    lock = Lock()
    lock.acquire()
    go = threading.Event()

    async def main():
        t = thread_release_when(go, lock.release)
        task = asyncio.ensure_future(lock.aio.acquire())
        await asyncio.sleep(0)
        assert not task.done()
        go.set()
        assert await task is True
        assert lock.locked()  # the coroutine holds it now
        lock.release()
        t.join()

    run(main())


def test_coroutine_release_wakes_thread():
    lock = Lock()
    got = []

    async def main():
        await lock.aio.acquire()
        started = threading.Event()

        def waiter():
            started.set()
            got.append(lock.acquire(timeout=30))
            lock.release()

        t = threading.Thread(target=waiter)
        t.start()
        started.wait(10)
        lock.aio.release()
        await asyncio.get_running_loop().run_in_executor(None, t.join)

    run(main())
    assert got == [True]
    assert not lock.locked()


def test_coroutines_serialise_fifo():
    lock = Lock()
    inside = []
    order = []

    async def worker(i):
        async with lock:
            inside.append(i)
            assert len(inside) == 1
            order.append(i)
            await asyncio.sleep(0)
            inside.remove(i)

    async def main():
        await asyncio.gather(*(worker(i) for i in range(200)))

    run(main())
    assert sorted(order) == list(range(200))
    assert not lock.locked()


def test_cancelled_acquirer_never_holds():
    lock = Lock()

    async def main():
        lock.acquire()
        task = asyncio.ensure_future(lock.aio.acquire())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        lock.release()
        assert not lock.locked()

    run(main())


def test_cancel_after_hand_off_gives_the_lock_back():
    # The release hands the lock to the queued coroutine; the coroutine is
    # cancelled before it runs again: the lock must come back free.
    lock = Lock()

    async def main():
        lock.acquire()
        task = asyncio.ensure_future(lock.aio.acquire())
        await asyncio.sleep(0)
        lock.release()  # hands off (or wakes) the queued waiter
        task.cancel()  # before the task resumes
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not lock.locked()
        assert lock.acquire(False)
        lock.release()

    run(main())


def test_timeouts_follow_asyncio():
    lock = Lock()

    async def main():
        lock.acquire()
        with pytest.raises(TimeoutErrors):
            await asyncio.wait_for(lock.aio.acquire(), 0.01)
        if sys.version_info >= (3, 11):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.01):
                    async with lock:
                        pass
        lock.release()
        assert not lock.locked()
        await asyncio.wait_for(lock.aio.acquire(), 5)
        lock.release()

    run(main())


@pytest.mark.timeout(120)
def test_cancellation_storm_keeps_lock_consistent():
    # Many coroutines and a thread compete; random cancellations. Afterwards
    # nothing is held and mutual exclusion held throughout.
    lock = Lock()
    inside = [0]
    done = threading.Event()
    errors = []

    def thread_user():
        while not done.is_set():
            with lock:
                inside[0] += 1
                if inside[0] != 1:
                    errors.append("overlap")
                inside[0] -= 1

    async def worker():
        async with lock:
            inside[0] += 1
            try:
                if inside[0] != 1:
                    errors.append("overlap")
                await asyncio.sleep(0)  # may be cancelled here, holding the lock
            finally:
                inside[0] -= 1

    async def main():
        rng = random.Random(7)
        for _ in range(30):
            tasks = [asyncio.ensure_future(worker()) for _ in range(20)]
            await asyncio.sleep(0)
            for t in tasks:
                if rng.random() < 0.5:
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    t = threading.Thread(target=thread_user)
    t.start()
    try:
        run(main())
    finally:
        done.set()
        t.join()
    assert errors == []
    assert not lock.locked()


def test_several_loops_in_several_threads_share_a_lock():
    lock = Lock()
    count = [0]
    n_threads, n_iter = 4, 300

    async def loop_body():
        for _ in range(n_iter):
            async with lock:
                v = count[0]
                await asyncio.sleep(0)
                count[0] = v + 1

    def thread_main():
        asyncio.run(loop_body())

    ts = [threading.Thread(target=thread_main) for _ in range(n_threads)]
    for t in ts:
        t.start()
    for _ in range(n_iter):  # and plain threads' blocking API at once
        with lock:
            count[0] += 1
    for t in ts:
        t.join()
    assert count[0] == (n_threads + 1) * n_iter
    assert not lock.locked()


def test_waiter_on_a_closed_loop_does_not_keep_the_lock():
    # A loop closed with a waiter queued: the release that would hand it the
    # lock cannot reach it, and gives the lock back.
    lock = Lock()
    lock.acquire()
    loop = asyncio.new_event_loop()
    fut = loop.create_future()
    waiter = lock._aio_enqueue(loop, fut, None)
    assert waiter is not None
    loop.close()
    lock.release()
    assert not lock.locked()
    del waiter, fut
    gc.collect()


def test_a_retry_takes_only_its_own_primitives_waiter():
    # prev (the _aio_* protocol's woken waiter) must be None or a waiter of
    # the same primitive: anything else is a TypeError, nothing is queued.
    from interlock.collections import Queue

    lock, other, q = Lock(), Lock(), Queue(1)
    lock.acquire()
    q.put(1)
    loop = asyncio.new_event_loop()
    try:
        w = lock._aio_enqueue(loop, loop.create_future(), None)
        qw = q._aio_put(2, loop, loop.create_future(), None)
        for prim_call, bad in ((lambda p: other._aio_enqueue(loop, loop.create_future(), p), w),
                               (lambda p: lock._aio_enqueue(loop, loop.create_future(), p), qw),
                               (lambda p: q._aio_get(loop, loop.create_future(), p), w),
                               (lambda p: q._aio_get(loop, loop.create_future(), p), 3)):
            with pytest.raises(TypeError, match="waiter"):
                prim_call(bad)
        w.cancel()
        qw.cancel()
        assert lock.locked() and q.qsize() == 1
        lock.release()
        assert not lock.locked()
    finally:
        loop.close()


def test_uvloop_if_installed():
    uvloop = pytest.importorskip("uvloop")
    lock = Lock()
    ev = Event()

    async def main():
        lock.acquire()
        t = threading.Thread(target=lambda: (ev.wait(10), lock.release()))
        t.start()
        ev.set()
        async with lock:
            pass
        t.join()

    uvloop.run(main()) if hasattr(uvloop, "run") else uvloop.install() or asyncio.run(main())
    assert not lock.locked()


# ------------------------------------------------------------------ Semaphore

@pytest.mark.parametrize("cls", [Semaphore, BoundedSemaphore])
def test_semaphore_async(cls):
    sem = cls(2)

    async def main():
        async with sem:
            assert sem.value == 1
            assert not sem.aio.locked()
            await sem.aio.acquire()
            assert sem.aio.locked()
            waiter = asyncio.ensure_future(sem.aio.acquire())
            await asyncio.sleep(0)
            assert not waiter.done()
            sem.aio.release()  # handed to the waiter
            assert await waiter is True
            sem.release()
        assert sem.value == 2

    run(main())


@pytest.mark.timeout(120)
def test_semaphore_permits_conserved_under_cancellation():
    sem = Semaphore(3)
    held = [0]
    errors = []

    async def worker():
        async with sem:
            held[0] += 1
            try:
                if held[0] > 3:
                    errors.append(held[0])
                await asyncio.sleep(0)  # may be cancelled here, holding a permit
            finally:
                held[0] -= 1

    def thread_user(stop):
        while not stop.is_set():
            with sem:
                pass

    async def main():
        rng = random.Random(3)
        for _ in range(30):
            tasks = [asyncio.ensure_future(worker()) for _ in range(12)]
            await asyncio.sleep(0)
            for t in tasks:
                if rng.random() < 0.5:
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    stop = threading.Event()
    t = threading.Thread(target=thread_user, args=(stop,))
    t.start()
    try:
        run(main())
    finally:
        stop.set()
        t.join()
    assert errors == []
    assert sem.value == 3


def test_thread_release_wakes_coroutine_on_semaphore():
    sem = Semaphore(0)
    go = threading.Event()

    async def main():
        t = thread_release_when(go, sem.release)
        task = asyncio.ensure_future(sem.aio.acquire())
        await asyncio.sleep(0)
        go.set()
        assert await task
        t.join()
        assert sem.value == 0

    run(main())


# ------------------------------------------------------------------ Event, latch

def test_event_async_wait():
    ev = Event()

    async def main():
        waiters = [asyncio.ensure_future(ev.aio.wait()) for _ in range(5)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        t = threading.Thread(target=ev.set)
        t.start()
        assert await asyncio.gather(*waiters) == [True] * 5
        t.join()
        assert ev.aio.is_set()
        ev.aio.clear()
        assert not ev.is_set()
        ev.aio.set()
        assert await ev.aio.wait() is True

    run(main())


def test_event_set_then_clear_still_wakes_waiter():
    ev = Event()

    async def main():
        w = asyncio.ensure_future(ev.aio.wait())
        await asyncio.sleep(0)
        ev.set()
        ev.clear()
        assert await w is True

    run(main())


def test_event_wait_cancelled_and_timeout():
    ev = Event()

    async def main():
        with pytest.raises(TimeoutErrors):
            await asyncio.wait_for(ev.aio.wait(), 0.01)
        w = asyncio.ensure_future(ev.aio.wait())
        await asyncio.sleep(0)
        w.cancel()
        with pytest.raises(asyncio.CancelledError):
            await w
        ev.set()  # nobody queued any more: nothing to deliver
        assert await ev.aio.wait()

    run(main())


def test_coroutine_set_wakes_thread():
    ev = Event()
    got = []

    async def main():
        t = threading.Thread(target=lambda: got.append(ev.wait(30)))
        t.start()
        ev.aio.set()
        await asyncio.get_running_loop().run_in_executor(None, t.join)

    run(main())
    assert got == [True]


def test_count_down_latch_async():
    latch = CountDownLatch(3)

    async def main():
        w = asyncio.ensure_future(latch.aio.wait())
        await asyncio.sleep(0)
        assert latch.aio.count_down() == 2
        assert latch.aio.count == 2
        assert not w.done()
        t = threading.Thread(target=lambda: latch.count_down(2))
        t.start()
        assert await w is True
        t.join()
        assert await latch.aio.wait()

    run(main())


# ------------------------------------------------------------------ Condition, Barrier

def test_condition_async_wait_notified_by_thread():
    cond = Condition(Lock())
    state = {"ready": False}

    async def main():
        async with cond:
            t = threading.Thread(target=notifier)
            t.start()
            result = await cond.aio.wait_for(lambda: state["ready"])
            assert result is True
            assert cond.aio.locked()
        t.join()

    def notifier():
        with cond:
            state["ready"] = True
            cond.notify_all()

    run(main())
    assert not cond._lock.locked()


def test_condition_coroutine_notifies_thread():
    cond = Condition(Lock())
    state = {"go": False}
    entered = threading.Event()
    got = []

    def waiter():
        with cond:
            entered.set()
            got.append(cond.wait_for(lambda: state["go"], timeout=30))

    async def main():
        t = threading.Thread(target=waiter)
        t.start()
        await asyncio.get_running_loop().run_in_executor(None, entered.wait, 10)
        async with cond.aio:
            state["go"] = True
            cond.aio.notify()
        await asyncio.get_running_loop().run_in_executor(None, t.join)

    run(main())
    assert got == [True]


def test_condition_wait_cancelled_retakes_lock_and_passes_notification():
    cond = Condition(Lock())

    async def main():
        async def waiter():
            async with cond:
                await cond.aio.wait()
                return "notified"

        first = asyncio.ensure_future(waiter())
        second = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        async with cond:
            cond.aio.notify(1)  # chooses `first` ...
            first.cancel()  # ... which is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await first
        # The notification went on to `second`.
        assert await asyncio.wait_for(second, 10) == "notified"
        assert not cond.aio.locked()

    run(main())


def test_condition_aio_needs_a_lock():
    with pytest.raises(TypeError, match="Lock"):
        Condition(RLock()).aio
    with pytest.raises(TypeError, match="Lock"):
        Condition().aio


def test_barrier_threads_and_coroutines():
    barrier = Barrier(3)
    results = []

    async def main():
        ts = [threading.Thread(target=lambda: results.append(barrier.wait(30))) for _ in range(2)]
        for t in ts:
            t.start()
        results.append(await barrier.aio.wait())
        for t in ts:
            t.join()

    run(main())
    assert sorted(results) == [0, 1, 2]
    assert not barrier.broken


def test_barrier_coroutines_only_and_cancel_breaks():
    barrier = Barrier(2)

    async def main():
        a, b = await asyncio.gather(barrier.aio.wait(), barrier.aio.wait())
        assert {a, b} == {0, 1}
        w = asyncio.ensure_future(barrier.aio.wait())
        await asyncio.sleep(0)
        w.cancel()
        with pytest.raises(asyncio.CancelledError):
            await w
        assert barrier.aio.broken
        with pytest.raises(BrokenBarrierError):
            await barrier.aio.wait()
        await barrier.aio.reset()
        assert not barrier.broken
        assert barrier.aio.parties == 2
        assert barrier.aio.n_waiting == 0

    run(main())


def test_barrier_aio_reset_and_action_share_the_one_state_machine():
    # BarrierAio drives Barrier's own state machine: a reset frees a waiting
    # coroutine with BrokenBarrierError, the action runs once per cycle
    # whoever trips it, and a coroutine arriving while the cycle drains
    # waits for the next one.
    calls = []
    barrier = Barrier(2, action=lambda: calls.append(1))

    async def main():
        w = asyncio.ensure_future(barrier.aio.wait())
        await asyncio.sleep(0)  # w runs until it waits in the barrier
        assert barrier.n_waiting == 1
        barrier.reset()
        with pytest.raises(BrokenBarrierError):
            await w
        assert not barrier.broken and barrier.n_waiting == 0
        for _ in range(3):  # cycles back to back, coroutines only
            assert sorted(await asyncio.gather(barrier.aio.wait(), barrier.aio.wait())) == [0, 1]
        t = threading.Thread(target=barrier.wait, args=(30,))
        t.start()
        assert await barrier.aio.wait() in (0, 1)
        await asyncio.to_thread(t.join)

    run(main())
    assert calls == [1, 1, 1, 1]
    assert not barrier.broken


def test_views_repr_and_no_running_loop():
    lock = Lock()
    assert "aio view" in repr(lock.aio)
    coro = lock.aio.acquire()
    # Outside a loop, a contended acquire cannot wait.
    lock.acquire()
    with pytest.raises(RuntimeError):
        coro.send(None)
    lock.release()


# ------------------------------------------------------------------ Queue

def test_queue_thread_to_coroutine_stream_and_back():
    from interlock.collections import Queue

    q = Queue(8)
    n = 20000

    async def main():
        t = threading.Thread(target=lambda: [q.put(i) for i in range(n)])
        t.start()
        got = [await q.aio.get() for _ in range(n)]
        t.join()
        assert got == list(range(n))
        out = []
        t = threading.Thread(target=lambda: out.extend(q.get() for _ in range(n)))
        t.start()
        for i in range(n):
            await q.aio.put(i)
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        assert out == list(range(n))

    run(main())


def test_queue_cancelled_get_never_loses_an_item():
    from interlock.collections import Queue

    q = Queue()

    async def main():
        g = asyncio.ensure_future(q.aio.get())
        await asyncio.sleep(0)
        q.put("x")  # wakes the queued get ...
        g.cancel()  # ... which is cancelled before it takes the item
        with pytest.raises(asyncio.CancelledError):
            await g
        assert q.get_nowait() == "x"
        with pytest.raises(TimeoutErrors):
            await asyncio.wait_for(q.aio.get(), 0.01)
        q.put("y")
        assert await q.aio.get() == "y"

    run(main())


def test_queue_cancelled_get_passes_its_wake_up_on():
    from interlock.collections import Queue

    q = Queue()

    async def main():
        first = asyncio.ensure_future(q.aio.get())
        second = asyncio.ensure_future(q.aio.get())
        await asyncio.sleep(0)
        q.put(1)  # wakes `first` only
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await asyncio.wait_for(second, 10) == 1

    run(main())


def test_queue_cancelled_put_puts_nothing_and_full_waits():
    from interlock.collections import Queue

    q = Queue(1)

    async def main():
        await q.aio.put("a")
        assert q.aio.full()
        p = asyncio.ensure_future(q.aio.put("b"))
        await asyncio.sleep(0)
        assert not p.done()
        p.cancel()
        with pytest.raises(asyncio.CancelledError):
            await p
        assert q.qsize() == 1
        p = asyncio.ensure_future(q.aio.put("c"))
        await asyncio.sleep(0)
        t = threading.Thread(target=q.get)
        t.start()
        await p
        t.join()
        assert q.get_nowait() == "c"

    run(main())


def test_queue_join_and_shutdown_async():
    from interlock.collections import Queue, ShutDown

    q = Queue()

    async def main():
        await q.aio.join()  # nothing unfinished
        q.aio.put_nowait(1)
        j = asyncio.ensure_future(q.aio.join())
        await asyncio.sleep(0)
        assert not j.done()
        t = threading.Thread(target=lambda: (q.get(), q.task_done()))
        t.start()
        await asyncio.wait_for(j, 10)
        t.join()
        g = asyncio.ensure_future(q.aio.get())
        await asyncio.sleep(0)
        q.aio.shutdown()
        with pytest.raises(_AIO_SHUTDOWN):
            await g
        with pytest.raises(_AIO_SHUTDOWN):
            await q.aio.put(2)

    run(main())


@pytest.mark.timeout(120)
def test_queue_mpmc_threads_and_coroutines_no_loss_no_duplicates():
    from interlock.collections import Queue

    q = Queue(16)
    per, producers = 3000, 2
    got = []
    lock = threading.Lock()

    def thread_consumer(k):
        mine = [q.get() for _ in range(k)]
        with lock:
            got.extend(mine)

    async def main():
        tc = threading.Thread(target=thread_consumer, args=(per,))
        tc.start()
        tp = threading.Thread(target=lambda: [q.put(("t", i)) for i in range(per)])
        tp.start()

        async def produce():
            for i in range(per):
                await q.aio.put(("c", i))

        async def consume(k):
            return [await q.aio.get() for _ in range(k)]

        _, mine = await asyncio.gather(produce(), consume(per))
        with lock:
            got.extend(mine)
        await asyncio.get_running_loop().run_in_executor(None, tp.join)
        await asyncio.get_running_loop().run_in_executor(None, tc.join)

    run(main())
    assert sorted(got) == sorted([("t", i) for i in range(per)] + [("c", i) for i in range(per)])
    assert len(got) == producers * per


# asyncio.Queue's exceptions from every queue's aio view (3.13+: QueueShutDown;
# before, asyncio has none and the queue's ShutDown stays).
_AIO_SHUTDOWN = getattr(asyncio, "QueueShutDown", None)
if _AIO_SHUTDOWN is None:
    from interlock.collections import ShutDown as _AIO_SHUTDOWN


def _aio_queues():
    from interlock import ipc
    from interlock.collections import Queue

    return [Queue(1), ipc.ShmQueue(capacity=2, max_message=8), ipc.ObjectQueue(2)]


@pytest.mark.parametrize("kind", range(3))
def test_aio_views_raise_asyncio_exceptions(kind):
    q = _aio_queues()[kind]
    item = b"x"
    v = q.aio
    with pytest.raises(asyncio.QueueEmpty) as ei:
        v.get_nowait()
    assert ei.value.__cause__ is None and ei.value.__suppress_context__
    while not q.full():
        v.put_nowait(item)
    with pytest.raises(asyncio.QueueFull):
        v.put_nowait(item)
    v.shutdown()
    with pytest.raises(_AIO_SHUTDOWN):
        v.put_nowait(item)

    async def main():
        with pytest.raises(_AIO_SHUTDOWN):
            await v.put(item)
        while not q.empty():
            await v.get()
        with pytest.raises(_AIO_SHUTDOWN):
            await v.get()
        with pytest.raises(_AIO_SHUTDOWN):
            v.get_nowait()

    run(main())
    if hasattr(q, "close"):
        q.close()
