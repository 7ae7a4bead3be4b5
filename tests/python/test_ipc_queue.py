"""interlock.ipc.ShmQueue / ObjectQueue: the shared-memory queue. queue.Queue's
conventions, named and buffer-backed queues, validation and layout versioning,
threads and processes (fork and spawn) with no loss and no duplicates,
pickling into multiprocessing children and Pool initializers, shutdown,
signals, the GIL, and no /dev/shm leftovers."""

from __future__ import annotations

import asyncio
import mmap
import multiprocessing as mp
import os
import pickle
import queue
import signal
import stat
import struct
import threading
import time
from multiprocessing import shared_memory

import pytest

import _ipc_children as kids
from _ipc_support import name, no_leftovers, run_procs, segment_of, shm_entries  # noqa: F401 (fixtures)
from interlock import ipc
from interlock.collections import ShutDown

_AIO_SHUTDOWN = getattr(asyncio, "QueueShutDown", ShutDown)

CONTEXTS = ["fork", "spawn"]



@pytest.fixture
def segment():
    with segment_of(ipc.ShmQueue.required_size(64, 64)) as seg:
        yield seg


# ------------------------------------------------------------------ basics

def test_fifo_bytes_like_and_properties():
    with ipc.ShmQueue(capacity=5, max_message=16) as q:
        assert q.capacity == q.maxsize == 8  # rounded up to a power of two
        assert q.max_message == 16
        assert q.nbytes == ipc.ShmQueue.required_size(5, 16)
        assert q.created and not q.closed and not q.is_shutdown
        assert q.name.startswith("anon-") and q.shm_path == "/dev/shm/interlock.queue." + q.name
        assert q.empty() and not q.full() and q.qsize() == 0
        q.put(b"hello")
        q.put(bytearray(b"ba"))
        q.put(memoryview(b"xmvx")[1:3])
        q.put_nowait(b"")
        assert q.qsize() == 4
        assert [q.get(), q.get(), q.get(), q.get_nowait()] == [b"hello", b"ba", b"mv", b""]
        for i in range(8):
            q.put(bytes([i]))
        assert q.full()
        assert [q.get() for _ in range(8)] == [bytes([i]) for i in range(8)]
    assert q.closed


def test_queue_conventions():
    q = ipc.ShmQueue(capacity=2, max_message=8)
    with pytest.raises(queue.Empty):
        q.get(block=False)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    t0 = time.monotonic()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    assert time.monotonic() - t0 >= 0.04
    q.put(b"1")
    q.put(b"2")
    with pytest.raises(queue.Full):
        q.put(b"3", block=False)
    with pytest.raises(queue.Full):
        q.put_nowait(b"3")
    with pytest.raises(queue.Full):
        q.put(b"3", timeout=0.01)
    with pytest.raises(queue.Full):
        q.put(b"3", False, 10)  # timeout ignored when not blocking, as queue.Queue
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError):
            q.put(b"3", timeout=bad)
        with pytest.raises(ValueError):
            q.get(timeout=bad)
    with pytest.raises(TypeError):
        q.get(timeout="1")
    assert q.get(timeout=0) == b"1" and q.get(True, None) == b"2"
    q.close()


def test_bad_messages_and_arguments():
    q = ipc.ShmQueue(capacity=2, max_message=8)
    with pytest.raises(ValueError, match="longer than max_message"):
        q.put(b"123456789")
    with pytest.raises(TypeError, match="bytes-like"):
        q.put("text")
    with pytest.raises(TypeError):
        q.put(12)
    assert q.empty()
    for kw in ({"capacity": 0}, {"capacity": 2**24 + 1}, {"max_message": 0},
               {"max_message": 2**30 + 1}, {"capacity": -3}):
        with pytest.raises(ValueError):
            ipc.ShmQueue(**kw)
    for kw in ({"capacity": 1.5}, {"capacity": True}, {"max_message": "8"}):
        with pytest.raises(TypeError):
            ipc.ShmQueue(**kw)
    with pytest.raises(ValueError, match="create=False"):
        ipc.ShmQueue(create=False)
    with pytest.raises(ValueError, match="not both"):
        ipc.ShmQueue("x", buffer=bytearray(4096))
    q.close()
    with pytest.raises(ValueError):
        q.put(b"1")
    with pytest.raises(ValueError):
        q.get()
    with pytest.raises(ValueError):
        q.shutdown()
    q.close()  # idempotent


def test_shutdown_drains_then_raises():
    q = ipc.ShmQueue(capacity=4, max_message=8)
    q.put(b"a")
    q.put(b"b")
    q.shutdown()
    assert q.is_shutdown
    with pytest.raises(ShutDown):
        q.put(b"c")
    assert q.get() == b"a" and q.get(timeout=1) == b"b"
    with pytest.raises(ShutDown):
        q.get()
    with pytest.raises(ShutDown):
        q.get_nowait()
    q.close()
    r = ipc.ShmQueue(capacity=4, max_message=8)
    r.put(b"a")
    r.shutdown(immediate=True)
    assert r.qsize() == 0
    with pytest.raises(ShutDown):
        r.get()
    r.close()
    if hasattr(queue, "ShutDown"):
        assert ShutDown is queue.ShutDown


@pytest.mark.parametrize("side", ["get", "put"])
def test_shutdown_wakes_blocked_callers(side, run_threads):
    q = ipc.ShmQueue(capacity=2, max_message=8)
    if side == "put":
        q.put(b"1")
        q.put(b"2")
    outcome = []

    def blocked():
        try:
            if side == "get":
                q.get()
            else:
                q.put(b"3")
        except ShutDown:
            outcome.append("shutdown")

    t = threading.Thread(target=blocked)
    t.start()
    q.shutdown()  # before or during the wait: either way the call raises ShutDown
    t.join(10)
    assert not t.is_alive() and outcome == ["shutdown"]
    q.close()


def test_waits_release_the_gil():
    q = ipc.ShmQueue(capacity=2, max_message=8)
    got = []
    t = threading.Thread(target=lambda: got.append(q.get(timeout=30)))
    t.start()
    q.put(b"x")  # runs while the other thread is (or is about to be) blocked
    t.join(30)
    assert got == [b"x"]
    q.close()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
@pytest.mark.parametrize("side", ["get", "put"])
def test_signal_interrupts_wait_and_leaves_queue_unchanged(side):
    q = ipc.ShmQueue(capacity=2, max_message=8)
    if side == "put":
        q.put(b"1")
        q.put(b"2")
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        q.get() if side == "get" else q.put(b"3")
    assert time.monotonic() - t0 < 5
    timer.join()
    if side == "get":
        assert q.qsize() == 0
        q.put(b"after")
        assert q.get_nowait() == b"after"
    else:
        assert q.qsize() == 2 and q.get() == b"1" and q.get() == b"2"
        with pytest.raises(queue.Empty):
            q.get_nowait()
    q.close()


def test_threads_mpmc_no_loss_no_duplicates(run_threads, fast_switching):
    q = ipc.ShmQueue(capacity=16, max_message=8)
    producers, consumers, n = 3, 3, 3000
    received: list[list[int]] = [[] for _ in range(consumers)]

    def produce(k):
        def run():
            for i in range(n):
                q.put(struct.pack("<Q", k * n + i), timeout=30)
        return run

    def consume(k):
        def run():
            for _ in range(n):
                received[k].append(struct.unpack("<Q", q.get(timeout=30))[0])
        return run

    run_threads(*[produce(k) for k in range(producers)], *[consume(k) for k in range(consumers)])
    allv = sorted(v for r in received for v in r)
    assert allv == list(range(producers * n))
    for r in received:  # each producer's messages arrive in its order
        for k in range(producers):
            mine = [v for v in r if v // n == k]
            assert mine == sorted(mine)
    q.close()


# ------------------------------------------------------------------ names

def test_named_create_attach_and_removal(name):
    q = ipc.ShmQueue(name, capacity=4, max_message=32)
    assert q.created and q.name == name and q.pid_dir == os.environ["INTERLOCK_PID_DIR"]
    path = q.shm_path
    assert os.path.exists(path) and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    r = ipc.ShmQueue(name)  # attach: whatever the queue was created with
    assert not r.created and r.capacity == 4 and r.max_message == 32
    s = ipc.ShmQueue(name, capacity=4, max_message=32, create=False)  # matching: fine
    r.put(b"shared")
    assert q.get() == b"shared"
    with pytest.raises(ValueError, match="capacity 4 and max_message 32"):
        ipc.ShmQueue(name, capacity=8)
    with pytest.raises(ValueError, match="capacity 4 and max_message 32"):
        ipc.ShmQueue(name, max_message=64)
    q.close()
    r.close()
    assert os.path.exists(path)  # s still uses it
    s.close()
    assert not os.path.exists(path)
    with pytest.raises(FileNotFoundError):
        ipc.ShmQueue(name, create=False)
    try:  # a plain except clause matches too (on 3.10/3.11 only a normalised error does)
        ipc.ShmQueue(name, create=False)
    except FileNotFoundError:
        pass
    pid_dir = os.environ["INTERLOCK_PID_DIR"]
    if os.path.isdir(pid_dir):  # a failed attach leaves no lock file behind
        assert [f for f in os.listdir(pid_dir) if name in f] == []


@pytest.mark.timeout(60)
def test_leftover_of_a_crashed_creator_is_reclaimed(name):
    pid_dir = os.environ["INTERLOCK_PID_DIR"]
    codes = run_procs("fork", kids.queue_create_and_die, [(name, pid_dir)])
    assert codes == [0]
    path = f"/dev/shm/interlock.queue.{name}"
    assert os.path.exists(path)  # nobody closed it
    with pytest.raises(FileNotFoundError):  # attach-only: nothing alive to attach to
        ipc.ShmQueue(name, create=False)
    assert not os.path.exists(path)
    run_procs("fork", kids.queue_create_and_die, [(name, pid_dir)])
    q = ipc.ShmQueue(name)  # create-or-attach: a fresh queue, not the dead one's
    assert q.created and q.empty() and q.capacity == ipc.ShmQueue.default_capacity
    q.close()
    assert not os.path.exists(path)


def test_named_mode_and_hostile_names(name, tmp_path):
    q = ipc.ShmQueue(name, capacity=2, max_message=8, mode=0o640)
    assert stat.S_IMODE(os.stat(q.shm_path).st_mode) == 0o640
    q.close()
    for bad in ("", "a/b", "..", "a\0b", "x" * 201, "../etc"):
        with pytest.raises(ValueError):
            ipc.ShmQueue(bad)
    with pytest.raises(TypeError):
        ipc.ShmQueue(b"bytes-name")
    # A planted symlink is neither followed nor removed.
    target = tmp_path / "target"
    target.write_bytes(b"")
    link = f"/dev/shm/interlock.queue.{name}-link"
    os.symlink(target, link)
    try:
        with pytest.raises(OSError):
            ipc.ShmQueue(f"{name}-link")
        assert os.path.islink(link) and target.read_bytes() == b""
    finally:
        os.unlink(link)


# ------------------------------------------------------------------ buffers

def test_buffer_queue_validation_and_versioning():
    size = ipc.ShmQueue.required_size(4, 16)
    m = mmap.mmap(-1, size + 128)
    q = ipc.ShmQueue(buffer=m, capacity=4, max_message=16)
    assert q.created and q.name is None and q.shm_path is None and q.pid_dir is None
    r = ipc.ShmQueue(buffer=m, create=False)
    assert not r.created and r.capacity == 4
    q.put(b"via buffer")
    assert r.get() == b"via buffer"
    with pytest.raises(ValueError, match="capacity 4"):
        ipc.ShmQueue(buffer=m, capacity=16)
    with pytest.raises(BufferError):
        m.close()  # the queues hold exports of it
    # Misaligned, short, read-only, released, not a buffer.
    m2 = mmap.mmap(-1, size + 128)
    with pytest.raises(ValueError, match="aligned"):
        ipc.ShmQueue(buffer=m2, offset=8, capacity=4, max_message=16)
    with pytest.raises(ValueError, match="too small"):
        ipc.ShmQueue(buffer=m2, capacity=64, max_message=16)
    with pytest.raises(ValueError):
        ipc.ShmQueue(buffer=bytearray(100))
    with pytest.raises(BufferError):
        ipc.ShmQueue(buffer=bytes(size))
    with pytest.raises(TypeError):
        ipc.ShmQueue(buffer=12345)
    mv = memoryview(m2)
    mv.release()
    with pytest.raises(ValueError):
        ipc.ShmQueue(buffer=mv)
    with pytest.raises(ValueError, match="holds no queue"):
        ipc.ShmQueue(buffer=m2, create=False)
    # Not zero-filled, not a queue: refused, never overwritten.
    m2[:8] = b"garbage!"
    with pytest.raises(ValueError, match="neither zero-filled"):
        ipc.ShmQueue(buffer=m2, capacity=4, max_message=16)
    assert m2[:8] == b"garbage!"
    # Another layout version: a clear error.
    m3 = mmap.mmap(-1, size)
    ipc.ShmQueue(buffer=m3, capacity=4, max_message=16).close()
    m3[8:12] = struct.pack("<I", 99)
    with pytest.raises(ValueError, match="layout version 99 is not supported"):
        ipc.ShmQueue(buffer=m3)
    q.close()
    r.close()


# ------------------------------------------------------------------ objects

def test_object_queue_round_trips_and_errors():
    q = ipc.ObjectQueue(capacity=8, max_message=256)
    assert isinstance(q, ipc.ShmQueue)
    items = [None, 1, 2.5, "text", b"raw", [1, (2, 3)], {"k": {1, 2}}, ValueError("e")]
    for it in items[:-1]:
        q.put(it)
    q.put_nowait(items[-1])
    out = [q.get() for _ in range(len(items) - 1)] + [q.get_nowait()]
    assert out[:-1] == items[:-1]
    assert type(out[-1]) is ValueError and out[-1].args == ("e",)
    q.put("x" * 1000)  # longer than max_message: through a side segment
    assert q.get() == "x" * 1000
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        q.put(lambda: 0)
    assert q.empty()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    q.join_thread()
    q.cancel_join_thread()
    q.close()


def test_pickling_rules(name, segment):
    q = ipc.ObjectQueue(name=name, capacity=4, max_message=64)
    r = pickle.loads(pickle.dumps(q))
    assert type(r) is type(q) and isinstance(r, ipc.ObjectQueue) and r.name == name and not r.created
    r.put("through a pickled handle")
    assert q.get() == "through a pickled handle"
    r.close()
    b = ipc.ShmQueue(buffer=segment, capacity=64, max_message=64)
    c = pickle.loads(pickle.dumps(b))
    c.put(b"seg")
    assert b.get() == b"seg"
    c.close()
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(ipc.ShmQueue(buffer=mmap.mmap(-1, 4096), capacity=2, max_message=8))
    q.close()
    with pytest.raises(ValueError, match="closed"):
        pickle.dumps(q)
    b.close()


# ------------------------------------------------------------------ processes

@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_processes_named_no_loss_no_duplicates(ctx):
    q = ipc.ShmQueue(capacity=64, max_message=8)
    n, producers = 2000, 3
    codes = []
    got = []

    def collect():
        for _ in range(n * producers):
            got.append(struct.unpack("<Q", q.get(timeout=60))[0])

    t = threading.Thread(target=collect)
    t.start()
    codes = run_procs(ctx, kids.queue_produce, [(q, k * n, n) for k in range(producers)])
    t.join(60)
    assert codes == [0] * producers
    assert sorted(got) == list(range(n * producers))
    q.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_processes_consumers_on_shared_memory(ctx, segment):
    q = ipc.ShmQueue(buffer=segment, capacity=64, max_message=64)
    out = ipc.ShmQueue(capacity=4096, max_message=8)
    n, consumers = 1500, 2
    t = threading.Thread(target=kids.queue_produce, args=(q, 0, n * consumers))
    t.start()
    codes = run_procs(ctx, kids.queue_consume, [(q, n, out) for _ in range(consumers)])
    t.join(60)
    assert codes == [0] * consumers
    got = sorted(struct.unpack("<Q", out.get_nowait())[0] for _ in range(n * consumers))
    assert got == list(range(n * consumers))
    assert q.empty() and out.empty()
    q.close()
    out.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_pool_initializer_receives_the_queue(ctx):
    q = ipc.ObjectQueue(capacity=64, max_message=256)
    with mp.get_context(ctx).Pool(2, initializer=kids.queue_pool_init, initargs=(q,)) as pool:
        assert sorted(pool.map(kids.queue_pool_task, range(20))) == list(range(20))
    got = [q.get(timeout=30) for _ in range(20)]
    assert sorted(g["task"] for g in got) == list(range(20))
    assert all(g["pid"] != os.getpid() for g in got)
    q.close()


@pytest.mark.timeout(120)
def test_objects_across_processes_and_child_exit_keeps_name():
    q = ipc.ObjectQueue(capacity=64, max_message=128)
    codes = run_procs("spawn", kids.objects_produce, [(q, 0, 50)])
    assert codes == [0]
    assert os.path.exists(q.shm_path)  # the child's exit did not remove it
    got = [q.get(timeout=10) for _ in range(50)]
    assert got == [{"i": i, "s": "x" * (i % 7)} for i in range(50)]
    assert q._process_count() == 1
    q.close()


@pytest.mark.timeout(120)
def test_killed_consumer_does_not_wedge_the_queue():
    q = ipc.ShmQueue(capacity=4, max_message=8)
    ctx = mp.get_context("fork")
    p = ctx.Process(target=kids.queue_consume, args=(q, 1_000_000, q))
    # The child blocks in get() on the empty queue (or is about to); kill it.
    p.start()
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    assert p.exitcode == -signal.SIGKILL
    q.put(b"still")
    assert q.get(timeout=5) == b"still"
    q.close()


# ------------------------------------------------------------------ asyncio

import asyncio  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402

from interlock.ipc import _queue as queue_impl  # noqa: E402

LOOPS = ["asyncio"] + (["uvloop"] if importlib.util.find_spec("uvloop") else [])


def run_loop(kind: str, coro):
    if kind == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("loop_kind", LOOPS)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_aio_get_from_another_process(ctx, loop_kind):
    q = ipc.ObjectQueue(capacity=8, max_message=64)
    n = 1500

    async def main():
        p = mp.get_context(ctx).Process(target=kids.objects_produce, args=(q, 0, n))
        p.start()
        try:
            got = [await q.aio.get() for _ in range(n)]
        finally:
            await asyncio.get_running_loop().run_in_executor(None, p.join, 60)
        assert p.exitcode == 0
        return got

    got = run_loop(loop_kind, main())
    assert got == [{"i": i, "s": "x" * (i % 7)} for i in range(n)]
    q.close()


@pytest.mark.timeout(120)
def test_aio_put_to_another_process():
    q = ipc.ObjectQueue(capacity=4, max_message=64)
    out = ipc.ObjectQueue(capacity=512, max_message=64)
    n = 300

    async def main():
        p = mp.get_context("fork").Process(target=kids.objects_consume, args=(q, n, out))
        p.start()
        try:
            for i in range(n):
                await q.aio.put(i)  # waits for the child to make room
        finally:
            await asyncio.get_running_loop().run_in_executor(None, p.join, 60)
        assert p.exitcode == 0

    asyncio.run(main())
    assert [out.get_nowait() for _ in range(n)] == list(range(n))
    q.close()
    out.close()


def test_aio_cancellation_loses_nothing():
    q = ipc.ShmQueue(capacity=2, max_message=8)

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(q.aio.get(), 0.02)
        task = asyncio.ensure_future(q.aio.get())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        q.put(b"kept")
        assert q.get_nowait() == b"kept"  # no cancelled get took it
        await q.aio.put(b"1")
        await q.aio.put(b"2")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(q.aio.put(b"3"), 0.02)
        assert q.qsize() == 2 and q.get() == b"1" and q.get() == b"2"  # no cancelled put queued

    asyncio.run(main())
    q.close()


def test_aio_woken_by_threads_and_shutdown():
    q = ipc.ShmQueue(capacity=2, max_message=8)

    async def main():
        loop = asyncio.get_running_loop()
        t = threading.Thread(target=lambda: [q.put(bytes([i]), timeout=30) for i in range(50)])
        t.start()
        got = [await q.aio.get() for _ in range(50)]
        await loop.run_in_executor(None, t.join)
        assert got == [bytes([i]) for i in range(50)]
        waiter = asyncio.ensure_future(q.aio.get())
        await asyncio.sleep(0)
        await loop.run_in_executor(None, q.shutdown)
        with pytest.raises(_AIO_SHUTDOWN):
            await waiter
        with pytest.raises(_AIO_SHUTDOWN):
            await q.aio.put(b"x")

    asyncio.run(main())
    q.close()


def test_aio_several_loops_share_one_queue():
    q = ipc.ShmQueue(capacity=8, max_message=8)
    loops = 3
    results = [None] * loops

    def run(i):
        results[i] = asyncio.run(q.aio.get())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(loops)]
    for t in threads:
        t.start()
    for i in range(loops):
        q.put(bytes([i]), timeout=10)
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert sorted(results) == [bytes([i]) for i in range(loops)]
    q.close()


def test_aio_view_api_and_bridge_lifetime():
    q = ipc.ShmQueue(capacity=4, max_message=8)
    v = q.aio
    assert isinstance(v, ipc.ShmQueueAio) and v.maxsize == 4 and v.empty() and not v.full()
    v.put_nowait(b"a")
    assert v.qsize() == 1 and v.get_nowait() == b"a"
    with pytest.raises(asyncio.QueueEmpty):
        v.get_nowait()

    async def main():
        t = asyncio.ensure_future(q.aio.get())
        await asyncio.sleep(0)
        q.put(b"b")
        return await t

    assert asyncio.run(main()) == b"b"
    bridge = queue_impl._bridge(q, False)
    thread = bridge._thread
    assert thread is not None and thread.is_alive()
    # The parked bridge holds only a weak reference: the queue goes away and
    # its bridge thread ends.
    ref = __import__("weakref").ref(q)
    q.close()
    del q, v, bridge
    gc.collect()
    assert ref() is None
    thread.join(10)
    assert not thread.is_alive()
