"""Child-process targets for the ipc tests (importable, so the *spawn* start
method can find them). Each reports through shared-memory primitives or its
exit code, never through sleeps."""

from __future__ import annotations

import os
import struct
import time

import _ipc_pids  # noqa: F401 (records this process: see _ipc_pids)
from interlock import ipc

# Layout of the test segments (offsets in a SharedMemory): primitives at
# multiples of 64, then data.
MUTEX, SEM, EVENT, EVENT2, DATA = 0, 64, 128, 192, 256


def locked_increments(shm_name: str, n: int) -> None:
    """n times: under the Mutex, read the counter, yield, write it + 1."""
    from interlock.ipc._futex import _attach_shared_memory

    shm = _attach_shared_memory(shm_name)
    m = ipc.Mutex(shm, offset=MUTEX)
    buf = shm.buf
    for i in range(n):
        with m:
            (v,) = struct.unpack_from("q", buf, DATA)
            if i % 16 == 0:
                time.sleep(0)
            struct.pack_into("q", buf, DATA, v + 1)
    del m, buf
    shm.close()


def increments_with(mutex, shm_name: str, n: int) -> None:
    """As locked_increments, with a Mutex received by pickling."""
    from interlock.ipc._futex import _attach_shared_memory

    shm = _attach_shared_memory(shm_name)
    buf = shm.buf
    for _ in range(n):
        with mutex:
            (v,) = struct.unpack_from("q", buf, DATA)
            struct.pack_into("q", buf, DATA, v + 1)
    del buf
    shm.close()


def consume(sem, taken, n: int) -> None:
    """Take n tokens (timeouts are failures), counting them in `taken`."""
    for _ in range(n):
        if not sem.wait(20):
            raise SystemExit(3)
        taken.fetch_add(1)


def produce(sem, n: int) -> None:
    """Post n tokens in batches of 1..3."""
    b = 1
    while n > 0:
        k = min(b, n)
        sem.post(k)
        n -= k
        b = b % 3 + 1


def hold_until_killed(mutex, ready) -> None:
    """Acquire, announce it, and wait to be killed."""
    mutex.acquire()
    ready.set()
    while True:
        time.sleep(10)


def open_named_until_killed(kind: str, name: str, ready) -> None:
    cls = getattr(ipc, kind)
    obj = cls(name)
    if kind == "NamedMutex":
        obj.acquire()
    ready.set()
    while True:
        time.sleep(10)


# Pool initializer: the primitives arrive by pickling (spawn) or inheritance.
_pool_state: dict = {}


def pool_init(mutex, sem, shm_name: str) -> None:
    _pool_state.update(mutex=mutex, sem=sem, shm_name=shm_name)


def pool_task(k: int) -> int:
    from interlock.ipc._futex import _attach_shared_memory

    st = _pool_state
    shm = _pool_state.get("shm")
    if shm is None:
        shm = _pool_state["shm"] = _attach_shared_memory(st["shm_name"])
    with st["mutex"]:
        (v,) = struct.unpack_from("q", shm.buf, DATA)
        struct.pack_into("q", shm.buf, DATA, v + k)
    st["sem"].post()
    return os.getpid()


# ------------------------------------------------------------------ ShmQueue

def queue_produce(q, start: int, n: int) -> None:
    """Put messages start .. start+n-1 (8-byte little-endian) into q."""
    for i in range(start, start + n):
        q.put(struct.pack("<Q", i), timeout=30)


def queue_consume(q, n: int, out) -> None:
    """Get n messages from q and put them, in order received, into out."""
    for _ in range(n):
        out.put(q.get(timeout=30), timeout=30)


def objects_produce(q, start: int, n: int) -> None:
    for i in range(start, start + n):
        q.put({"i": i, "s": "x" * (i % 7)}, timeout=30)


def queue_echo(requests, replies, n: int) -> None:
    """Ping-pong peer: n times, get a message and put it back."""
    for _ in range(n):
        replies.put(requests.get(timeout=30), timeout=30)


_pool_queue = None


def queue_pool_init(q) -> None:
    global _pool_queue
    _pool_queue = q


def queue_pool_task(k: int) -> int:
    _pool_queue.put({"task": k, "pid": os.getpid()}, timeout=30)
    return k


def objects_consume(q, n: int, out) -> None:
    """Get n objects from q, put them into out (the blocking API)."""
    for _ in range(n):
        out.put(q.get(timeout=30), timeout=30)


def queue_create_and_die(name: str, pid_dir: str) -> None:
    """Create the named queue, leave a message in it, and exit without closing
    (os._exit: no atexit hooks), as a crashed process would."""
    q = ipc.ShmQueue(name, capacity=4, max_message=16, pid_dir=pid_dir)
    q.put(b"stale")
    os._exit(0)


def objectqueue_burst(q, n):
    """Put n objects into an unbounded ObjectQueue with nobody reading, then
    exit: the process's exit flushes what the feeder still buffers."""
    for i in range(n):
        q.put(i)


def objectqueue_big(q, size):
    q.put(bytes(range(256)) * (size // 256))


def joinable_worker(q, n):
    """Get n items, marking each done."""
    for _ in range(n):
        q.get(timeout=60)
        q.task_done()


def report_pid(conn):
    """Send this process's pid (importing this module recorded it: _ipc_pids)."""
    conn.send(os.getpid())


def joinable_take_and_hang(q, conn, hold_count_lock):
    """Get one item from JoinableQueue q (or take its count's mutex), report,
    then block until killed: never task_done()."""
    if hold_count_lock:
        q._jmutex.acquire()
        conn.send("locked")
    else:
        conn.send(q.get(timeout=60))
    conn.recv()  # the parent never sends: it kills this process
