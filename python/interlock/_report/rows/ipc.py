"""interlock.ipc (through its seed-exact façades, interlock.compat.fastipc and
interlock.compat.atomics, so that the very same code runs on fastipc and
atomics) against multiprocessing's equivalents, on shared memory.

Rows are skipped with a note until those façades are in this build."""

from .._rows import Row, ours, peer, std

_SHM = """
from multiprocessing import shared_memory
_shm = shared_memory.SharedMemory(create=True, size=4096)
_buf = _shm.buf[:64]
_b8 = _buf[:8]
_ctx = None
def cleanup():
    _shm.unlink()
    g = globals()
    if g.get("_ctx") is not None:
        g["_ctx"].__exit__(None, None, None)
    for name in ("a", "r", "f", "_m", "_a", "_ctx"):
        g.pop(name, None)
    _b8.release()
    _buf.release()
    _shm.close()
"""


def _mutex(imports: str) -> str:
    return f"{imports}\n{_SHM}\n_m = Mutex(_buf)\na = _m.acquire\nr = _m.release"


def _view(imports: str) -> str:
    return (f"{imports}\n{_SHM}\n_ctx = atomicview(buffer=_b8, atype=INT)\n_a = _ctx.__enter__()\n"
            "f = _a.inc")


ROWS = [
    Row("ipc", "shared-memory Mutex acquire+release",
        ours("interlock compat.fastipc Mutex", _mutex("from interlock.compat.fastipc import Mutex"), "a(); r()"),
        std("multiprocessing.Lock", "import multiprocessing\n_l = multiprocessing.Lock()\n"
            "a = _l.acquire\nr = _l.release", "a(); r()"),
        peer("fastipc", "fastipc Mutex", _mutex("try:\n    from fastipc import Mutex\nexcept ImportError:  # 0.1.5 exports it from _primitives only\n    from fastipc._primitives import Mutex"), "a(); r()"),
        description="uncontended, one process, on a SharedMemory buffer"),
    Row("ipc", "shared-memory 64-bit atomic increment",
        ours("interlock compat.atomics atomicview", _view("from interlock.compat.atomics import atomicview, INT")),
        std("multiprocessing.Value('q') += 1 under its lock",
            "import multiprocessing\n_v = multiprocessing.Value('q', 0)\n_l = _v.get_lock()\n"
            "def f():\n    with _l:\n        _v.value += 1"),
        peer("atomics", "atomics atomicview", _view("from atomics import atomicview, INT")),
        description="one process, an 8-byte atomic on a SharedMemory buffer"),
]


def _process_stream(make: str, consume: str, scale: int = 1, imports: str = "") -> str:
    """Workload setup: a forked producer process puts N 100-byte messages into
    the queue `make` builds, `consume` (statements using get(), n, t0) takes
    them and returns the seconds since the producer's release. A slow
    counterpart moves N // scale messages and reports the time scaled to N
    (same ns per message, a shorter report)."""
    return f"""import asyncio, multiprocessing as mp, time
{imports}
def _produce(q, start, n):
    msg = b"m" * 100
    start.wait()
    put = q.put
    for _ in range(n):
        put(msg)
def run():
    ctx = mp.get_context("fork")
    q = {make}
    n = max(500, N // {scale})
    start = ctx.Event()
    p = ctx.Process(target=_produce, args=(q, start, n))
    p.start()
    try:
        t0 = time.perf_counter()
        start.set()
{consume}
        return dt * N / n
    finally:
        p.join(60)
        if p.is_alive():
            p.kill()
            p.join()
        q.close()
"""


# ... by blocking get() in this process, or awaited by a coroutine
_GET = """        get = q.get
        for _ in range(n):
            get()
        dt = time.perf_counter() - t0"""
_AWAIT = """        async def main(t0):
            get = {get}
            for _ in range(n):
                await get()
            return time.perf_counter() - t0
        dt = asyncio.run(main(t0))"""
_SHM = "__import__('interlock.ipc', fromlist=['ShmQueue']).ShmQueue(capacity=1024, max_message=164)"

ROWS += [
    Row("ipc", "process -> process stream, 100-byte messages",
        ours("interlock ipc.ShmQueue(1024)", _process_stream(_SHM, _GET)),
        std("multiprocessing.Queue", _process_stream("ctx.Queue()", _GET, scale=10)),
        peer("faster_fifo", "faster_fifo.Queue", _process_stream(
            "faster_fifo.Queue(max_size_bytes=1024 * 200)", _GET, 10, "import faster_fifo"),
            dist="faster-fifo"),
        workload=True, description="a forked producer puts N messages, this process gets them; "
        "ns per message"),
    Row("asyncio", "process -> coroutine stream, 100-byte messages",
        ours("interlock ipc.ShmQueue (await q.aio.get())",
             _process_stream(_SHM, _AWAIT.format(get="q.aio.get"))),
        std("multiprocessing.Queue via run_in_executor", _process_stream(
            "ctx.Queue()", _AWAIT.format(
                get="lambda: asyncio.get_running_loop().run_in_executor(None, q.get)"),
            scale=40)),
        workload=True, description="a forked producer puts N messages, a coroutine awaits them; "
        "ns per message"),
]
