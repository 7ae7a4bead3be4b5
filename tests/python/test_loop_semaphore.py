"""interlock.locks.LoopSemaphore: one fair semaphore for every event loop."""

import asyncio
import threading

import pytest

from interlock.locks import LoopSemaphore

pytestmark = pytest.mark.timeout(60)


def test_bad_values():
    with pytest.raises(ValueError):
        LoopSemaphore(-1)
    with pytest.raises(TypeError):
        LoopSemaphore(1.5)
    sem = LoopSemaphore(1)
    with pytest.raises(ValueError):
        sem.release()  # nothing held


def test_bounds_holders_across_loops():
    sem = LoopSemaphore(3)
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    async def task():
        async with sem.aio:
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            await asyncio.sleep(0)
            with lock:
                state["now"] -= 1

    def loop_thread():
        async def main():
            await asyncio.gather(*(task() for _ in range(50)))
        asyncio.run(main())

    threads = [threading.Thread(target=loop_thread) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["peak"] <= 3
    assert sem.value == 3


def test_fifo_on_one_loop():
    async def main():
        sem = LoopSemaphore(1)
        await sem.aio.acquire()
        order = []

        async def waiter(i):
            await sem.aio.acquire()
            order.append(i)
            sem.aio.release()

        tasks = [asyncio.create_task(waiter(i)) for i in range(5)]
        await asyncio.sleep(0)
        assert sem.aio.locked()
        sem.aio.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_cancelled_waiter_does_not_leak_a_slot():
    async def main():
        sem = LoopSemaphore(1)
        await sem.aio.acquire()
        t = asyncio.create_task(sem.aio.acquire())
        await asyncio.sleep(0)
        sem.aio.release()  # handed to t...
        t.cancel()         # ...which is cancelled before it runs: passes it on
        with pytest.raises(asyncio.CancelledError):
            await t
        return sem.value

    assert asyncio.run(main()) == 1


def test_release_from_another_loop_wakes_waiter():
    sem = LoopSemaphore(1)
    held = threading.Event()
    got = []

    def other():
        async def main():
            await sem.aio.acquire()
            held.set()
        asyncio.run(main())

    t = threading.Thread(target=other)
    t.start()
    held.wait()
    t.join()

    async def main():
        waiter = asyncio.create_task(sem.aio.acquire())
        await asyncio.sleep(0)
        threading.Thread(target=sem.release).start()
        got.append(await waiter)

    asyncio.run(main())
    assert got == [True]
