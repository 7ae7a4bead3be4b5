"""asyncio on interlock's primitives against asyncio's own and the peers
(janus, aiologic) when installed.

    python bench/bench_aio.py            # table
    python bench/bench_aio.py --json     # JSON on stdout
    python bench/bench_aio.py --quick    # shorter runs (smoke test)

Rows (each the best of --repeat rounds, the rounds of all rows interleaved):

* ``async with`` uncontended, in one coroutine: interlock ``Lock`` against
  ``asyncio.Lock`` (ns per enter+exit).
* thread -> coroutine stream: --items items (1 M) from a plain thread
  (blocking put) to a coroutine (awaited get) through a queue bounded at
  1024: interlock Queue (q.put / q.aio.get), janus (sync_q.put /
  async_q.get), and the stdlib (call_soon_threadsafe per item into an
  asyncio.Queue, bounded by a threading.Semaphore); items per second.
* coroutine <-> thread ping-pong: a coroutine hands a turn to a plain thread
  and awaits it back, --trips round trips per round (round trips per second):
  - interlock: two ``Semaphore(0)``; the thread blocks in ``acquire()``, the
    coroutine awaits ``sem.aio.acquire()``;
  - asyncio + threading: the thread blocks on a ``threading.Semaphore``; the
    coroutine awaits a fresh future that the thread completes with
    ``loop.call_soon_threadsafe`` (the stdlib's way);
  - janus: two ``janus.Queue`` (sync_q on the thread, async_q in the loop);
  - aiologic: two ``aiologic.Semaphore(0)`` (green_acquire / async_acquire).
* process -> coroutine stream: a forked process puts 100-byte messages
  (blocking put), a coroutine awaits them: ``interlock.ipc.ShmQueue``
  (``await q.aio.get()``) against ``multiprocessing.Queue`` awaited through
  ``loop.run_in_executor(None, q.get)``; items per second.
* coroutine <-> process ping-pong through two such queues; round trips/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import threading
import time

from _timing import best_seconds  # noqa: E402

import interlock
from interlock import locks

try:
    import janus
except ImportError:  # optional peer
    janus = None
try:
    import aiologic
except ImportError:  # optional peer
    aiologic = None


# ------------------------------------------------------------------ uncontended

def async_with_seconds(lock, n: int) -> float:
    async def body() -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            async with lock:
                pass
        return time.perf_counter() - t0

    return asyncio.run(body())


# ------------------------------------------------------------------ ping-pong

def pingpong_sems(make, thread_acquire, coro_acquire, trips: int) -> float:
    """Two semaphores made by make(0): the thread blocks in
    thread_acquire(sem), the coroutine awaits coro_acquire(sem)."""
    to_thread, to_coro = make(0), make(0)

    def thread() -> None:
        acq, rel = thread_acquire(to_thread), to_coro.release
        for _ in range(trips):
            acq()
            rel()

    async def coro() -> float:
        rel, acq = to_thread.release, coro_acquire(to_coro)
        t0 = time.perf_counter()
        for _ in range(trips):
            rel()
            await acq()
        return time.perf_counter() - t0

    t = threading.Thread(target=thread)
    t.start()
    dt = asyncio.run(coro())
    t.join()
    return dt


def pingpong_interlock(trips: int) -> float:
    return pingpong_sems(locks.Semaphore, lambda s: s.acquire, lambda s: s.aio.acquire, trips)


def pingpong_aiologic(trips: int) -> float:
    return pingpong_sems(aiologic.Semaphore, lambda s: s.green_acquire,
                         lambda s: s.async_acquire, trips)


def pingpong_stdlib(trips: int) -> float:
    to_thread = threading.Semaphore(0)
    box: list = []

    def thread(loop) -> None:
        for _ in range(trips):
            to_thread.acquire()
            fut = box.pop()
            loop.call_soon_threadsafe(fut.set_result, None)

    async def coro() -> float:
        loop = asyncio.get_running_loop()
        t = threading.Thread(target=thread, args=(loop,))
        t.start()
        t0 = time.perf_counter()
        for _ in range(trips):
            fut = loop.create_future()
            box.append(fut)
            to_thread.release()
            await fut
        dt = time.perf_counter() - t0
        await loop.run_in_executor(None, t.join)
        return dt

    return asyncio.run(coro())


def pingpong_janus(trips: int) -> float:
    async def coro() -> float:
        q1, q2 = janus.Queue(), janus.Queue()

        def thread() -> None:
            get, put = q1.sync_q.get, q2.sync_q.put
            for _ in range(trips):
                put(get())

        t = threading.Thread(target=thread)
        t.start()
        put, get = q1.async_q.put, q2.async_q.get
        t0 = time.perf_counter()
        for i in range(trips):
            await put(i)
            await get()
        dt = time.perf_counter() - t0
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        q1.close()
        q2.close()
        await q1.wait_closed()
        await q2.wait_closed()
        return dt

    return asyncio.run(coro())


# ------------------------------------------------------------------ stream

def stream_interlock(items: int, maxsize: int) -> float:
    from interlock.collections import Queue

    q = Queue(maxsize)

    async def coro() -> float:
        t = threading.Thread(target=lambda: [put(i) for i in range(items)])
        put = q.put
        get = q.aio.get
        t0 = time.perf_counter()
        t.start()
        for _ in range(items):
            await get()
        dt = time.perf_counter() - t0
        t.join()
        return dt

    return asyncio.run(coro())


def stream_janus(items: int, maxsize: int) -> float:
    async def coro() -> float:
        q = janus.Queue(maxsize)
        put = q.sync_q.put
        get = q.async_q.get
        t = threading.Thread(target=lambda: [put(i) for i in range(items)])
        t0 = time.perf_counter()
        t.start()
        for _ in range(items):
            await get()
        dt = time.perf_counter() - t0
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        q.close()
        await q.wait_closed()
        return dt

    return asyncio.run(coro())


def stream_stdlib(items: int, maxsize: int) -> float:
    """A thread feeding an asyncio.Queue through call_soon_threadsafe (one
    call per item; the stdlib's way), bounded by a threading.Semaphore."""
    async def coro() -> float:
        loop = asyncio.get_running_loop()
        q: asyncio.Queue = asyncio.Queue()
        room = threading.Semaphore(maxsize)

        def producer() -> None:
            put = q.put_nowait
            for i in range(items):
                room.acquire()
                loop.call_soon_threadsafe(put, i)

        t = threading.Thread(target=producer)
        t0 = time.perf_counter()
        t.start()
        get, rel = q.get, room.release
        for _ in range(items):
            await get()
            rel()
        dt = time.perf_counter() - t0
        await loop.run_in_executor(None, t.join)
        return dt

    return asyncio.run(coro())


# ------------------------------------------------------------------ processes

def _produce(q, start, n: int, size: int) -> None:
    msg = b"m" * size
    start.wait()
    put = q.put
    for _ in range(n):
        put(msg)


def process_stream(kind: str, items: int, maxsize: int, size: int = 100) -> float:
    """A forked producer process puts `items` messages; a coroutine awaits them:
    ShmQueue (``await q.aio.get()``: the bridge thread wakes the loop when the
    queue was empty) or multiprocessing.Queue (``run_in_executor(None,
    q.get)``, the stdlib's way to await a blocking call). Seconds."""
    import multiprocessing as mp

    from interlock.ipc import ShmQueue

    ctx = mp.get_context("fork")
    q = ShmQueue(capacity=maxsize, max_message=size + 64) if kind == "shm" else ctx.Queue()
    start = ctx.Event()
    p = ctx.Process(target=_produce, args=(q, start, items, size))
    p.start()

    async def coro() -> float:
        loop = asyncio.get_running_loop()
        get = q.aio.get if kind == "shm" else (lambda: loop.run_in_executor(None, q.get))
        t0 = time.perf_counter()
        start.set()
        for _ in range(items):
            await get()
        return time.perf_counter() - t0

    return _finish(coro, p, q)


def _finish(coro, p, *queues) -> float:
    """Run the timing coroutine, then reap the child and close the queues."""
    try:
        return asyncio.run(coro())
    finally:
        p.join(60)
        if p.is_alive():
            p.kill()
            p.join()
        for q in queues:
            q.close()


def process_pingpong(kind: str, trips: int) -> float:
    """Coroutine <-> process ping-pong through two queues (the child echoes
    with the blocking API). Seconds for `trips` round trips."""
    import multiprocessing as mp

    from interlock.ipc import ShmQueue

    ctx = mp.get_context("fork")
    make = (lambda: ShmQueue(capacity=16, max_message=64)) if kind == "shm" else ctx.Queue
    q1, q2 = make(), make()

    def echo() -> None:
        for _ in range(trips):
            q2.put(q1.get())

    p = ctx.Process(target=echo)
    p.start()

    async def coro() -> float:
        loop = asyncio.get_running_loop()
        get = q2.aio.get if kind == "shm" else (lambda: loop.run_in_executor(None, q2.get))
        q1.put(b"p")
        await get()  # the child is up
        t0 = time.perf_counter()
        for _ in range(trips - 1):
            q1.put(b"p")
            await get()
        return (time.perf_counter() - t0) * trips / (trips - 1)

    return _finish(coro, p, q1, q2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--trips", type=int, default=None)
    ap.add_argument("--number", type=int, default=None)
    ap.add_argument("--items", type=int, default=None, help="stream length (1M by default)")
    args = ap.parse_args()
    repeat = args.repeat or (2 if args.quick else 5)
    trips = args.trips or (500 if args.quick else 20_000)
    number = args.number or (5_000 if args.quick else 200_000)
    items = args.items or (5_000 if args.quick else 1_000_000)
    maxsize = 1024

    il_lock = locks.Lock()
    uncontended = best_seconds({
        "il_async_with": lambda: async_with_seconds(il_lock, number),
        # asyncio.Lock binds to the loop of its first contended use: a new one each run
        "asyncio_async_with": lambda: async_with_seconds(asyncio.Lock(), number),
    }, repeat)

    runs = {"il_pingpong": lambda: pingpong_interlock(trips),
            "stdlib_pingpong": lambda: pingpong_stdlib(trips)}
    if janus is not None:
        runs["janus_pingpong"] = lambda: pingpong_janus(trips)
    if aiologic is not None:
        runs["aiologic_pingpong"] = lambda: pingpong_aiologic(trips)
    pp = best_seconds(runs, repeat)

    sruns = {"il_stream": lambda: stream_interlock(items, maxsize),
             "stdlib_stream": lambda: stream_stdlib(items, maxsize)}
    if janus is not None:
        sruns["janus_stream"] = lambda: stream_janus(items, maxsize)
    st = best_seconds(sruns, max(1, repeat // 2))

    pruns = {"shm_process_stream": lambda: process_stream("shm", items // 5, maxsize),
             "mp_process_stream": lambda: process_stream("mp", max(200, items // 50), maxsize)}
    ps = best_seconds(pruns, max(1, repeat // 2))
    ps_items = {"shm_process_stream": items // 5, "mp_process_stream": max(200, items // 50)}
    ptrips = max(100, trips // 10)
    ppruns = {"shm_process_pingpong": lambda: process_pingpong("shm", ptrips),
              "mp_process_pingpong": lambda: process_pingpong("mp", ptrips)}
    ppp = best_seconds(ppruns, repeat)

    result = {
        "python": sys.version.split()[0],
        "free_threaded": not getattr(sys, "_is_gil_enabled", lambda: True)(),
        "platform": platform.platform(),
        "interlock": interlock.__version__,
        "ns_per_async_with": {k: v / number * 1e9 for k, v in uncontended.items()},
        "pingpong_round_trips_per_s": {k: trips / v for k, v in pp.items()},
        "stream_items_per_s": {k: items / v for k, v in st.items()},
        "process_stream_items_per_s": {k: ps_items[k] / v for k, v in ps.items()},
        "process_pingpong_round_trips_per_s": {k: ptrips / v for k, v in ppp.items()},
        "peers_missing": [n for n, m in (("janus", janus), ("aiologic", aiologic)) if m is None],
    }
    ratios = {"async_with_il_over_asyncio":
              uncontended["il_async_with"] / uncontended["asyncio_async_with"]}
    for peer in ("stdlib", "janus", "aiologic"):
        if f"{peer}_pingpong" in pp:
            # > 1: interlock makes more round trips per second
            ratios[f"pingpong_il_over_{peer}"] = pp[f"{peer}_pingpong"] / pp["il_pingpong"]
    for peer in ("stdlib", "janus"):
        if f"{peer}_stream" in st:
            ratios[f"stream_il_over_{peer}"] = st[f"{peer}_stream"] / st["il_stream"]
    ratios["process_stream_shm_over_mp"] = (result["process_stream_items_per_s"]["shm_process_stream"]
                                            / result["process_stream_items_per_s"]["mp_process_stream"])
    ratios["process_pingpong_shm_over_mp"] = (ppp["mp_process_pingpong"]
                                              / ppp["shm_process_pingpong"])
    result["ratios"] = ratios
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Python {result['python']} free-threaded={result['free_threaded']}  "
          f"interlock {result['interlock']}")
    print("async with, uncontended (ns per enter+exit):")
    for k, v in result["ns_per_async_with"].items():
        print(f"  {k:<22} {v:8.1f}")
    print(f"coroutine <-> thread ping-pong ({trips} round trips, best of {repeat}):")
    for k, v in result["pingpong_round_trips_per_s"].items():
        print(f"  {k:<22} {v:10.0f} round trips/s")
    print(f"thread -> coroutine stream ({items} items, bound {maxsize}):")
    for k, v in result["stream_items_per_s"].items():
        print(f"  {k:<22} {v:10.0f} items/s")
    print("process -> coroutine stream (100-byte messages; ShmQueue q.aio.get vs "
          "multiprocessing.Queue via run_in_executor):")
    for k, v in result["process_stream_items_per_s"].items():
        print(f"  {k:<22} {v:10.0f} items/s")
    print(f"coroutine <-> process ping-pong ({ptrips} round trips):")
    for k, v in result["process_pingpong_round_trips_per_s"].items():
        print(f"  {k:<22} {v:10.0f} round trips/s")
    print("ratios (> 1: interlock faster; async_with: < 1 faster):")
    for k, v in ratios.items():
        print(f"  {k:<30} {v:6.2f}")
    if result["peers_missing"]:
        print("not installed (rows skipped):", ", ".join(result["peers_missing"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
