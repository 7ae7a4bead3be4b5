"""asyncio: interlock's primitives awaited from a coroutine while a thread
uses the blocking API, against asyncio's own way and janus."""

from .._rows import Row, ours, peer, std


def _stream(make_and_consume: str) -> str:
    """Workload setup: a plain thread puts N items, a coroutine awaits them,
    through a queue bounded at 1024; run() returns the seconds it took."""
    return f"""import asyncio, threading, time
def run():
    async def main():
{make_and_consume}
    return asyncio.run(main())
"""


_OURS = """        from interlock.collections import Queue
        q = Queue(1024)
        put, get = q.put, q.aio.get
        t = threading.Thread(target=lambda: [put(i) for i in range(N)])
        t0 = time.perf_counter()
        t.start()
        for _ in range(N):
            await get()
        dt = time.perf_counter() - t0
        t.join()
        return dt"""

_STDLIB = """        loop = asyncio.get_running_loop()
        q = asyncio.Queue()
        room = threading.Semaphore(1024)
        def produce():
            for i in range(N):
                room.acquire()
                loop.call_soon_threadsafe(q.put_nowait, i)
        t = threading.Thread(target=produce)
        t0 = time.perf_counter()
        t.start()
        for _ in range(N):
            await q.get()
            room.release()
        dt = time.perf_counter() - t0
        await loop.run_in_executor(None, t.join)
        return dt"""

_JANUS = """        import janus
        q = janus.Queue(1024)
        put, get = q.sync_q.put, q.async_q.get
        t = threading.Thread(target=lambda: [put(i) for i in range(N)])
        t0 = time.perf_counter()
        t.start()
        for _ in range(N):
            await get()
        dt = time.perf_counter() - t0
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        q.close()
        await q.wait_closed()
        return dt"""

_ASYNC_WITH = """import asyncio, time
{imports}
def run():
    async def main():
        lock = {make}
        t0 = time.perf_counter()
        for _ in range(N):
            async with lock:
                pass
        return time.perf_counter() - t0
    return asyncio.run(main())
"""

ROWS = [
    Row("asyncio", "thread -> coroutine stream, Queue(1024)",
        ours("interlock Queue (put / await q.aio.get())", _stream(_OURS)),
        std("asyncio.Queue fed by call_soon_threadsafe", _stream(_STDLIB)),
        peer("janus", "janus (sync_q.put / await async_q.get())", _stream(_JANUS)),
        workload=True, description="N items from a plain thread to a coroutine; ns per item"),
    Row("asyncio", "async with lock, uncontended",
        ours("interlock Lock", _ASYNC_WITH.format(imports="from interlock.locks import Lock", make="Lock()")),
        std("asyncio.Lock", _ASYNC_WITH.format(imports="", make="asyncio.Lock()")),
        workload=True, description="N enter+exit pairs in one coroutine; ns per pair"),
]
