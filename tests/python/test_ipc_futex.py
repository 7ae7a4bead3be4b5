"""interlock.ipc's futex primitives: buffer validation, layout versioning,
threading conventions, cross-process stress (fork and spawn), owner death,
named objects (PID tracking, security), pickling into multiprocessing
children, signals and the GIL."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import pickle
import signal
import stat
import struct
import sys
import threading
import time
from multiprocessing import shared_memory

import pytest

import _ipc_children as kids
from _ipc_support import name, no_leftovers, run_procs, segment_of, shm_entries  # noqa: F401 (fixtures)
from interlock import ipc

BUFFER_CLASSES = [ipc.Mutex, ipc.Semaphore, ipc.Event, ipc.Barrier]
CONTEXTS = ["fork", "spawn"]



@pytest.fixture
def shm():
    with segment_of(4096) as seg:
        yield seg


# ------------------------------------------------------------------ buffers

@pytest.mark.parametrize("cls", BUFFER_CLASSES + [ipc.FutexWord, ipc.AtomicU32, ipc.AtomicU64])
def test_buffer_validation(cls):
    assert cls.size in (4, 8, 64) and cls.alignment in (4, 8)
    args = (2,) if cls is ipc.Barrier else ()
    ok = bytearray(cls.size + 16)
    off = (-_addr(ok)) % cls.alignment
    cls(ok, *args, offset=off)
    with pytest.raises(ValueError, match="needs"):
        cls(bytearray(cls.size - 1), *args)
    with pytest.raises(ValueError, match="needs"):
        cls(ok, *args, offset=len(ok))
    with pytest.raises(ValueError, match="aligned"):
        cls(ok, *args, offset=off + 1)
    with pytest.raises(BufferError):
        cls(bytes(cls.size), *args)
    with pytest.raises(TypeError):
        cls(12345, *args)
    mv = memoryview(bytearray(cls.size))
    mv.release()
    with pytest.raises(ValueError):
        cls(mv, *args)


def _addr(buf) -> int:
    import ctypes

    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


def test_buffer_export_pins_memory():
    import mmap

    mm = mmap.mmap(-1, 4096)
    m = ipc.Mutex(mm)
    with pytest.raises(BufferError):
        mm.close()
    del m
    mm.close()


def test_layouts_are_versioned():
    buf = bytearray(64)
    ipc.Mutex(buf)
    assert buf[:4] == b"INLK"
    ipc.Mutex(buf)  # attaches
    for cls in (ipc.Event, ipc.Semaphore):
        with pytest.raises(ValueError, match="another type"):
            cls(buf)
    struct.pack_into("<I", buf, 4, (1 << 16) | 99)
    with pytest.raises(ValueError, match="incompatible layout version"):
        ipc.Mutex(buf)
    with pytest.raises(ValueError, match="neither zero-filled"):
        ipc.Event(bytearray(b"\x01" * 64))


# ------------------------------------------------------------------ threading conventions

def test_mutex_threading_conventions():
    m = ipc.Mutex(bytearray(64))
    assert m.acquire() is True
    assert m.locked() and m.owner_pid == os.getpid() and not m.owner_died
    assert m.acquire(False) is False
    assert m.acquire(timeout=0) is False
    t0 = time.monotonic()
    assert m.acquire(True, 0.05) is False
    assert time.monotonic() - t0 >= 0.045
    for bad, exc in [(-2, ValueError), (math.nan, ValueError), (1e30, OverflowError),
                     ("x", TypeError)]:
        with pytest.raises(exc):
            m.acquire(True, bad)
    with pytest.raises(ValueError):
        m.acquire(False, 1)
    m.release()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        m.release()
    with m as got:
        assert got is True and m.locked()
    assert not m.locked()


def test_mutex_excludes_threads():
    m = ipc.Mutex(bytearray(64))
    box = [0]

    def work():
        for _ in range(2000):
            with m:
                v = box[0]
                box[0] = v + 1

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert box[0] == 8000


def test_semaphore():
    s = ipc.Semaphore(bytearray(64), 2)
    assert s.value == 2
    assert s.wait() and s.acquire() and not s.wait(0) and not s.acquire(False)
    assert s.wait(0.01) is False and s.wait(-1) is False
    s.post(3)
    s.release()
    assert s.value == 4
    with s:
        assert s.value == 3
    assert s.value == 4
    with pytest.raises(ValueError):
        s.post(0)
    with pytest.raises(ValueError):
        ipc.Semaphore(bytearray(64), -1)
    big = ipc.Semaphore(bytearray(64), 2**32 - 1)
    with pytest.raises(OverflowError):
        big.post()
    with pytest.raises(OverflowError):
        ipc.Semaphore(bytearray(64), 2**32)
    buf = bytearray(64)
    ipc.Semaphore(buf, 5)
    assert ipc.Semaphore(buf, 9).value == 5  # attaching keeps the count


def test_semaphore_wakes_exactly():
    s = ipc.Semaphore(bytearray(64), 0)
    got = []

    def take():
        got.append(s.wait(10))

    ts = [threading.Thread(target=take) for _ in range(3)]
    for t in ts:
        t.start()
    s.post(2)
    ts[0].join(0.2)
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert got == [True, True] and s.value == 0
    s.post()
    for t in ts:
        t.join()
    assert got == [True] * 3


def test_event_and_futex_word():
    e = ipc.Event(bytearray(64))
    assert not e.is_set() and e.wait(0.01) is False and e.wait(0) is False
    threading.Timer(0.02, e.set).start()
    assert e.wait(10) is True and e.is_set()
    e.clear()
    assert not e.is_set()

    f = ipc.FutexWord(bytearray(4))
    assert f.load() == 0 and f.wake() == 0
    assert f.wait(1) is True  # value differs: no sleep
    assert f.wait(0, 0.01) is False
    started = threading.Event()

    def waker():
        started.wait()
        while f.wake() == 0:
            time.sleep(0.001)

    t = threading.Thread(target=waker)
    t.start()
    started.set()
    assert f.wait(0, 10) is True
    t.join()
    f.store(2**32 - 1)
    assert f.load() == 2**32 - 1
    with pytest.raises(OverflowError):
        f.store(2**32)


def test_atomics():
    a = ipc.AtomicU32(bytearray(4))
    a.store(2**32 - 1)
    assert a.fetch_add(2) == 2**32 - 1 and a.load() == 1  # wraps
    assert a.cas(1, 5) and not a.cas(1, 6) and a.load() == 5
    assert a.exchange(7) == 5
    with pytest.raises(OverflowError):
        a.store(-1)
    b = ipc.AtomicU64(bytearray(16), offset=8)
    b.store(2**64 - 1)
    assert b.load() == 2**64 - 1 and b.cas(expected=2**64 - 1, new=0) and b.load() == 0


def test_barrier_threads_and_breaking():
    b = ipc.Barrier(bytearray(64), 3)
    assert (b.parties, b.n_waiting, b.broken) == (3, 0, False)
    out = []
    ts = [threading.Thread(target=lambda: out.append(b.wait(10))) for _ in range(2)]
    for t in ts:
        t.start()
    out.append(b.wait(10))
    for t in ts:
        t.join()
    assert sorted(out) == [0, 1, 2]
    with pytest.raises(threading.BrokenBarrierError):
        b.wait(0.02)
    assert b.broken
    with pytest.raises(threading.BrokenBarrierError):
        b.wait(1)
    b.reset()
    assert not b.broken
    with pytest.raises(ValueError, match="parties is required"):
        ipc.Barrier(bytearray(64))
    buf = bytearray(64)
    ipc.Barrier(buf, 2)
    assert ipc.Barrier(buf).parties == 2
    with pytest.raises(ValueError, match="2 parties"):
        ipc.Barrier(buf, 3)


def test_waits_release_the_gil():
    e = ipc.Event(bytearray(64))
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        assert e.wait(0.2) is False
        assert counter[0] > 1000
    finally:
        stop.set()
        t.join()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
@pytest.mark.parametrize("what", ["mutex", "semaphore", "event", "futex", "barrier"])
def test_signal_interrupts_wait(what):
    buf = bytearray(64)
    if what == "mutex":
        m = ipc.Mutex(buf)
        m.acquire()
        call = m.acquire
    elif what == "semaphore":
        s = ipc.Semaphore(buf, 0)
        call = s.wait
    elif what == "event":
        call = ipc.Event(buf).wait
    elif what == "barrier":
        call = ipc.Barrier(buf, 2).wait
    else:
        f = ipc.FutexWord(buf)
        call = lambda: f.wait(0)  # noqa: E731
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        call()
    assert time.monotonic() - t0 < 5
    timer.join()
    if what == "mutex":
        assert m.locked() and m.owner_pid == os.getpid()
        m.release()
    elif what == "semaphore":
        assert s.value == 0


# ------------------------------------------------------------------ across processes

@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_mutual_exclusion_across_processes(ctx, shm):
    m = ipc.Mutex(shm, offset=kids.MUTEX)
    n = 3000
    codes = run_procs(ctx, kids.locked_increments, [(shm.name, n)] * 3)
    assert codes == [0, 0, 0]
    assert struct.unpack_from("q", shm.buf, kids.DATA)[0] == 3 * n
    assert not m.locked()
    del m


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_semaphore_token_conservation(ctx, shm):
    sem = ipc.Semaphore(shm, 0, offset=kids.SEM)
    taken = ipc.AtomicU64(shm, offset=kids.DATA)
    n = 2000
    ctx_ = mp.get_context(ctx)
    procs = ([ctx_.Process(target=kids.consume, args=(sem, taken, n)) for _ in range(2)]
             + [ctx_.Process(target=kids.produce, args=(sem, n)) for _ in range(2)])
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 4
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(5)
    assert taken.load() == 2 * n and sem.value == 0
    del sem, taken


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_owner_killed_is_recovered(ctx, shm):
    m = ipc.Mutex(shm, offset=kids.MUTEX)
    ready = ipc.Event(shm, offset=kids.EVENT)
    trials = 8 if ctx == "fork" else 3
    c = mp.get_context(ctx)
    for trial in range(trials):
        ready.clear()
        p = c.Process(target=kids.hold_until_killed, args=(m, ready))
        p.start()
        try:
            assert ready.wait(30)
            assert m.locked() and m.owner_pid == p.pid
            assert m.acquire(False) is False
            os.kill(p.pid, signal.SIGKILL)
            t0 = time.monotonic()
            assert m.acquire(timeout=10) is True
            assert time.monotonic() - t0 < 2.0
            assert m.owner_died and m.owner_pid == os.getpid()
            m.release()
            assert not m.owner_died
        finally:
            p.kill()
            p.join(5)
    assert m.recoveries == trials
    # A non-blocking attempt on a dead owner's lock recovers it too.
    p = c.Process(target=kids.hold_until_killed, args=(m, ready))
    ready.clear()
    p.start()
    try:
        assert ready.wait(30)
        os.kill(p.pid, signal.SIGKILL)
        p.join(5)
        assert m.acquire(False) is True and m.owner_died
        m.release()
    finally:
        p.kill()
        p.join(5)
    del m, ready


@pytest.mark.timeout(120)
def test_ping_pong_between_processes(shm):
    ping = ipc.Event(shm, offset=kids.EVENT)
    pong = ipc.Event(shm, offset=kids.EVENT2)
    ctx = mp.get_context("fork")

    def child():
        for _ in range(500):
            if not ping.wait(20):
                os._exit(2)
            ping.clear()
            pong.set()
        os._exit(0)

    p = ctx.Process(target=child)
    p.start()
    try:
        for _ in range(500):
            ping.set()
            assert pong.wait(20)
            pong.clear()
        p.join(20)
        assert p.exitcode == 0
    finally:
        p.kill()
        p.join(5)
    del ping, pong


# ------------------------------------------------------------------ named objects

def test_named_create_attach_close(name):
    a = ipc.NamedMutex(name)
    assert a.created and a.name == name and not a.closed
    assert a.shm_path == f"/dev/shm/interlock.mutex.{name}"
    assert stat.S_IMODE(os.stat(a.shm_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(a.pid_dir).st_mode) == 0o700
    assert a.pid_dir == os.environ["INTERLOCK_PID_DIR"]
    b = ipc.NamedMutex(name)
    assert not b.created
    a.acquire()
    assert b.locked() and not b.acquire(False)
    a.release()
    b.close()
    assert os.path.exists(a.shm_path)  # `a` still uses it
    a.close()
    a.close()  # idempotent
    assert not os.path.exists(a.shm_path) and a.closed
    with pytest.raises(ValueError, match="closed"):
        a.acquire()
    # Other kinds with the same name are other objects.
    s = ipc.NamedSemaphore(name, 3)
    e = ipc.NamedEvent(name)
    assert s.value == 3 and not e.is_set()
    assert ipc.NamedSemaphore(name, 7).value == 3
    s.close()
    e.close()


def test_named_mode_widens(name):
    e = ipc.NamedEvent(name, mode=0o660)
    assert stat.S_IMODE(os.stat(e.shm_path).st_mode) == 0o660
    e.close()
    with pytest.raises(ValueError):
        ipc.NamedEvent(name, mode=0o1777)


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x..y", "nul\0", "n" * 201])
def test_hostile_names(bad):
    for cls in (ipc.NamedMutex, ipc.NamedSemaphore, ipc.NamedEvent):
        with pytest.raises(ValueError):
            cls(bad)
    with pytest.raises(TypeError):
        ipc.NamedMutex(b"bytes")


def test_planted_symlink_is_refused(name, tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"")
    planted = f"/dev/shm/interlock.event.{name}"
    os.symlink(target, planted)
    try:
        with pytest.raises(OSError):
            ipc.NamedEvent(name)
        assert target.read_bytes() == b""
        assert os.path.islink(planted)  # neither followed nor removed
    finally:
        os.unlink(planted)


def test_pid_dir_must_be_private(name, tmp_path):
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    with pytest.raises(PermissionError):
        ipc.NamedEvent(name, pid_dir=str(open_dir))
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(OSError):
        ipc.NamedEvent(name, pid_dir=str(link))
    # An explicit private directory works, and is created 0700.
    mine = tmp_path / "mine" / "pids"
    e = ipc.NamedEvent(name, pid_dir=str(mine))
    assert e.pid_dir == str(mine) and stat.S_IMODE(mine.stat().st_mode) == 0o700
    e.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_crashed_users_are_reaped_and_leftovers_reclaimed(ctx, name, shm):
    ready = ipc.Event(shm, offset=kids.EVENT)
    c = mp.get_context(ctx)
    p = c.Process(target=kids.open_named_until_killed, args=("NamedMutex", name, ready))
    p.start()
    try:
        assert ready.wait(30)
        path = f"/dev/shm/interlock.mutex.{name}"
        assert os.path.exists(path)
        os.kill(p.pid, signal.SIGKILL)
        p.join(5)
        assert os.path.exists(path)  # the crashed user's leftover (and it held the lock)
        m = ipc.NamedMutex(name)  # reclaimed: fresh, unlocked
        assert m.created and not m.locked()
        assert m._process_count() == 1
        m.close()
        assert not os.path.exists(path)
    finally:
        p.kill()
        p.join(5)
    del ready


@pytest.mark.timeout(120)
def test_named_mutex_owner_death_with_live_users(name, shm):
    ready = ipc.Event(shm, offset=kids.EVENT)
    m = ipc.NamedMutex(name)
    p = mp.get_context("fork").Process(target=kids.open_named_until_killed,
                                       args=("NamedMutex", name, ready))
    p.start()
    try:
        assert ready.wait(30)
        assert m.locked() and m._process_count() == 2
        os.kill(p.pid, signal.SIGKILL)
        assert m.acquire(timeout=10) and m.owner_died
        m.release()
        p.join(5)
        assert m._process_count() == 1
    finally:
        p.kill()
        p.join(5)
        m.close()
    del ready


def test_fork_child_is_registered(name):
    e = ipc.NamedEvent(name)
    to_parent, to_child = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:  # child: it was adopted at fork
        try:
            os.write(to_parent[1], b"%d" % e._process_count())
            os.read(to_child[0], 1)
        finally:
            os._exit(0)
    try:
        assert os.read(to_parent[0], 8) == b"2"
        e.close()
        assert os.path.exists(e.shm_path)  # the child still uses it
    finally:
        os.write(to_child[1], b"x")
        os.waitpid(pid, 0)
        for fd in (*to_parent, *to_child):
            os.close(fd)
    # The child exited without closing: its entry is a leftover, which the next
    # user reclaims (fresh memory); closing removes it.
    assert os.path.exists(e.shm_path)
    f = ipc.NamedEvent(name)
    assert f.created
    f.close()
    assert not os.path.exists(f.shm_path)


# ------------------------------------------------------------------ pickling

def test_pickle_round_trips(name, shm):
    m = ipc.Mutex(shm, offset=64)
    m2 = pickle.loads(pickle.dumps(m))
    assert m2._offset == 64
    m.acquire()
    assert m2.locked()
    m.release()
    n = ipc.NamedSemaphore(name, 2)
    n2 = pickle.loads(pickle.dumps(n))
    assert type(n2) is ipc.NamedSemaphore and n2.value == 2 and not n2.created
    with pytest.raises(TypeError, match="SharedMemory"):
        pickle.dumps(ipc.Event(bytearray(64)))
    n2.close()
    n.close()
    with pytest.raises(ValueError, match="closed"):
        pickle.dumps(n)
    del m, m2


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", CONTEXTS)
def test_pool_initializer_receives_primitives(ctx, name, shm):
    mutex = ipc.Mutex(shm, offset=kids.MUTEX)
    sem = ipc.NamedSemaphore(name, 0)
    with mp.get_context(ctx).Pool(2, initializer=kids.pool_init,
                                  initargs=(mutex, sem, shm.name)) as pool:
        pids = pool.map(kids.pool_task, range(1, 21))
    assert len(pids) == 20
    assert struct.unpack_from("q", shm.buf, kids.DATA)[0] == sum(range(1, 21))
    assert sem.value == 20
    sem.close()
    del mutex


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the creator as another user")
@pytest.mark.timeout(60)
def test_refused_attach_leaves_no_files(name, tmp_path):
    # Another user's NamedMutex: our attach is refused (PermissionError) and
    # leaves neither a lock file nor a PID directory of ours behind (issue 15).
    to_parent, to_child = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:  # child: becomes "nobody" and creates the object
        code = 1
        try:
            os.close(to_parent[0])
            os.close(to_child[1])
            os.setgid(65534)
            os.setuid(65534)
            m = ipc.NamedMutex(name, pid_dir=f"/tmp/interlock-test-{name}")
            os.write(to_parent[1], b"r")
            os.read(to_child[0], 1)
            m.close()
            code = 0
        finally:
            os._exit(code)
    os.close(to_parent[1])
    os.close(to_child[0])
    mine = tmp_path / "mine"
    try:
        assert os.read(to_parent[0], 1) == b"r"
        for _ in range(3):
            with pytest.raises(PermissionError):
                ipc.NamedMutex(name, pid_dir=str(mine))
        assert not mine.exists() or os.listdir(mine) == []
        assert os.path.exists(f"/dev/shm/interlock.mutex.{name}")  # theirs, untouched
    finally:
        os.write(to_child[1], b"x")
        _, status = os.waitpid(pid, 0)
        os.close(to_parent[0])
        os.close(to_child[1])
    assert os.waitstatus_to_exitcode(status) == 0
    assert not os.path.exists(f"/dev/shm/interlock.mutex.{name}")
    assert not os.path.exists(f"/tmp/interlock-test-{name}")


@pytest.mark.timeout(60)
def test_other_pid_dir_never_takes_over_a_live_object(name, tmp_path):
    # Process A holds NamedMutex(name); process B opens it with another
    # pid_dir: B attaches to A's object (liveness is recorded in the object,
    # not only in A's PID directory), so it never becomes a second holder.
    to_parent, to_child = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(to_parent[0])
            os.close(to_child[1])
            m = ipc.NamedMutex(name)
            assert m.acquire()
            os.write(to_parent[1], b"h")
            os.read(to_child[0], 1)
            m.release()
            m.close()
            os.write(to_parent[1], b"c")
            code = 0
        finally:
            os._exit(code)
    os.close(to_parent[1])
    os.close(to_child[0])
    try:
        assert os.read(to_parent[0], 1) == b"h"
        alt = str(tmp_path / "alt")
        b = ipc.NamedMutex(name, pid_dir=alt)
        assert not b.created
        assert not b.acquire(blocking=False)  # A holds it: no second holder
        os.write(to_child[1], b"x")
        assert os.read(to_parent[0], 1) == b"c"
        # A closed; B still uses the object, so A's close did not remove it.
        assert os.path.exists(b.shm_path)
        assert b.acquire(timeout=10)
        b.release()
        b.close()
        assert not os.path.exists(b.shm_path)  # the last user anywhere removed it
        assert not os.path.exists(alt)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(to_parent[0])
        os.close(to_child[1])
    assert os.waitstatus_to_exitcode(status) == 0
