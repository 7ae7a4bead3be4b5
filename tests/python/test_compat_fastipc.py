"""interlock.compat.fastipc: seed 003's names, units (nanoseconds) and return
values, on interlock's core."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
import threading
import time
import uuid
from multiprocessing import shared_memory

import pytest

import _ipc_pids
import interlock.compat.fastipc as fastipc
from interlock.compat.fastipc import (
    AtomicU32, AtomicU64, FutexWord, Mutex, NamedEvent, NamedMutex, NamedSemaphore, Semaphore,
)


@pytest.fixture(autouse=True)
def pid_dir(tmp_path, monkeypatch):
    """A private FASTIPC_PID_DIR; no /dev/shm entry made by this test's
    processes (any prefix: GuardedSharedMemory's are fastipc's bare names)
    survives it. Other runs' entries are not looked at (_ipc_pids)."""
    d = tmp_path / "fastipc-pids"
    pids_file = tmp_path / "run-pids"
    monkeypatch.setenv("FASTIPC_PID_DIR", str(d))
    monkeypatch.setenv(_ipc_pids.ENV, str(pids_file))
    before = set(os.listdir("/dev/shm"))
    yield d
    import gc

    gc.collect()
    left = _ipc_pids.made_by(set(os.listdir("/dev/shm")) - before, _ipc_pids.recorded(pids_file))
    assert left == set(), f"left in /dev/shm: {sorted(left)}"


@pytest.fixture
def name():
    return f"fx-{os.getpid()}-{uuid.uuid4().hex[:10]}"


def test_names():
    assert sorted(fastipc.__all__) == sorted([
        "FutexWord", "AtomicU32", "AtomicU64", "Mutex", "Semaphore",
        "NamedEvent", "NamedMutex", "NamedSemaphore",
        "GuardedSharedMemory", "NoShmFoundError", "align_to_cacheline_size"])


def test_seed_buffer_example():
    shm = shared_memory.SharedMemory(create=True, size=4)
    try:
        fw = FutexWord(shm.buf, shared=True)
        assert fw.load_acquire() == 0
        del fw
    finally:
        shm.close()
        shm.unlink()
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        mtx = Mutex(shm.buf)
        with mtx as got:
            assert got is mtx
        del mtx, got
    finally:
        shm.close()
        shm.unlink()


def test_futex_word():
    fw = FutexWord(bytearray(4))
    fw.store_release(5)
    assert fw.load_acquire() == 5
    assert fw.wait(4, 0) is False  # value differs
    assert fw.wait(5, timeout_ns=1_000_000) is False  # timed out
    assert fw.wake() == 0 and fw.wake(n=3) == 0
    got = []
    t = threading.Thread(target=lambda: got.append(fw.wait(expected=5, timeout_ns=10**10)))
    t.start()
    while fw.wake() == 0:
        time.sleep(0.001)
    t.join()
    assert got == [True]
    with pytest.raises(ValueError):
        FutexWord(bytearray(3))


def test_atomics():
    a = AtomicU32(bytearray(4))
    a.store(7)
    assert a.load() == 7 and a.cas(7, 8) is True and a.cas(7, 9) is False and a.load() == 8
    b = AtomicU64(bytearray(8))
    b.store(2**64 - 1)
    assert b.cas(expected=2**64 - 1, new=1) and b.load() == 1
    with pytest.raises(OverflowError):
        a.store(2**32)


def test_mutex():
    m = Mutex(bytearray(64))
    assert m.acquire() is True
    assert m.try_acquire() is False
    assert m.acquire_ns(1_000_000) is False
    assert m.acquire_ns(timeout_ns=0) is False
    assert m.owner_pid() == os.getpid()
    m.release()
    m.release()  # double release is a no-op, as in fastipc
    assert m.owner_pid() == 0
    assert m.try_acquire() is True
    m.release()
    assert m.acquire_ns() is True
    m.release()
    with pytest.raises(ValueError):
        Mutex(bytearray(63))


def test_semaphore():
    buf = bytearray(64)
    s = Semaphore(buf, initial=2)
    assert s.value() == 2
    assert s.wait() is True and s.wait(timeout_ns=0) is True
    assert s.wait(blocking=False) is False
    assert s.wait(timeout_ns=1_000_000) is False
    s.post(3)
    s.post1()
    assert s.value() == 4
    assert Semaphore(buf).value() == 4  # initial=None attaches
    assert Semaphore(buf, initial=1).value() == 1  # initial overwrites, as fastipc
    s.post(0)
    assert s.value() == 1


def test_semaphore_wakes_a_waiter():
    s = Semaphore(bytearray(64), 0)
    got = []
    t = threading.Thread(target=lambda: got.append(s.wait(timeout_ns=10**10)))
    t.start()
    s.post()
    t.join()
    assert got == [True]


def test_named_helpers(name, pid_dir):
    evt = NamedEvent(name)
    assert stat.S_IMODE(os.stat(pid_dir).st_mode) == 0o700  # FASTIPC_PID_DIR honoured
    evt.set()
    assert evt.is_set()
    evt.clear()
    assert evt.wait(1_000_000) is False
    evt.set()
    assert evt.wait(1_000_000_000) is True
    assert NamedEvent(name).is_set()  # attaching keeps the state

    mtx = NamedMutex(name)
    with mtx as got:
        assert got is mtx
        assert NamedMutex(name).try_acquire() is False
    assert mtx.acquire() is True
    mtx.release()
    mtx.release()

    sem = NamedSemaphore(name + "-s", initial=0)
    sem.post(3)
    assert sem.value() == 3
    assert sem.wait() is True and sem.acquire() is True and sem.P() is True
    assert sem.wait(timeout=0.01) is False
    assert sem.wait_ns(blocking=False) is False
    sem.V()
    sem.release(2)
    sem.post1()
    assert sem.value() == 4
    assert NamedSemaphore(name + "-s", initial=9).value() == 4
    for o in (evt, mtx, sem):
        o.close()


def _child_posts(name):
    NamedSemaphore(name).post(5)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ctx", ["fork", "spawn"])
def test_named_semaphore_across_processes(ctx, name):
    sem = NamedSemaphore(name, initial=0)
    p = mp.get_context(ctx).Process(target=_child_posts, args=(name,))
    p.start()
    try:
        for _ in range(5):
            assert sem.wait_ns(True, 20 * 10**9)
        p.join(30)
        assert p.exitcode == 0
    finally:
        p.kill()
        p.join(5)
        sem.close()


def _child_attaches_and_waits(name, conn):
    shm = fastipc.GuardedSharedMemory(name, 64)
    shm.buf[0] = 42
    conn.send(os.getpid())
    time.sleep(60)  # killed by the parent


def test_guarded_shared_memory_survives_kill9(name, pid_dir):
    assert fastipc.align_to_cacheline_size(1) == 64 and fastipc.align_to_cacheline_size(64) == 64
    with pytest.raises(fastipc.NoShmFoundError):
        fastipc.GuardedSharedMemory(name, 64, attach_only=True)
    parent_conn, child_conn = mp.Pipe()
    p = mp.get_context("fork").Process(target=_child_attaches_and_waits, args=(name, child_conn))
    p.start()
    pid = parent_conn.recv()
    a = fastipc.GuardedSharedMemory(name, 64)
    assert not a.created and a.buf[0] == 42 and a.get_num_procs() == 2
    a.close()  # the child still uses it: the segment stays
    assert os.path.exists(f"/dev/shm/{name}")
    os.kill(pid, 9)
    p.join()
    # Its only user was killed: the next attacher gets a fresh segment, and its
    # close removes everything.
    b = fastipc.GuardedSharedMemory(name, 64)
    assert b.created and b.buf[0] == 0
    b.close()
    assert not os.path.exists(f"/dev/shm/{name}")
    assert not os.path.exists(os.path.join(pid_dir, f"{name}.pids"))
    with pytest.raises(ValueError):
        fastipc.GuardedSharedMemory(name, 0)
    with pytest.raises(ValueError):
        fastipc.GuardedSharedMemory("a/b", 64)
