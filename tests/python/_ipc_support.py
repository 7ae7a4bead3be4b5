"""What the ipc test modules share: a private PID directory with a check that
no /dev/shm entry of interlock's outlives the module, unique names, and
starting/reaping child processes. (Fixtures: import them into the module.)"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import time
import uuid
from multiprocessing import shared_memory

import pytest


def shm_entries() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("interlock.")}


@pytest.fixture(scope="module", autouse=True)
def no_leftovers(tmp_path_factory):
    """Every test of the module runs with a private PID directory; no /dev/shm
    entry of interlock's survives the module."""
    pid_dir = tmp_path_factory.mktemp("pids") / "d"
    old = os.environ.get("INTERLOCK_PID_DIR")
    os.environ["INTERLOCK_PID_DIR"] = str(pid_dir)
    before = shm_entries()
    yield
    gc.collect()
    after = shm_entries()
    if old is None:
        del os.environ["INTERLOCK_PID_DIR"]
    else:
        os.environ["INTERLOCK_PID_DIR"] = old
    assert after - before == set(), f"left in /dev/shm: {sorted(after - before)}"


@pytest.fixture
def name():
    return f"t-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def run_procs(ctx_name: str, target, args_list, timeout: float = 60):
    """Start one process per args tuple, join them all (killing stragglers),
    and return their exit codes."""
    ctx = mp.get_context(ctx_name)
    procs = [ctx.Process(target=target, args=args) for args in args_list]
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + timeout
        for p in procs:
            p.join(max(0.1, deadline - time.monotonic()))
        return [p.exitcode for p in procs]
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(5)


@contextlib.contextmanager
def segment_of(size: int):
    """A new SharedMemory segment, closed (once the primitives on it are
    collected) and unlinked afterwards."""
    seg = shared_memory.SharedMemory(create=True, size=size)
    try:
        yield seg
    finally:
        gc.collect()
        try:
            seg.close()
        except BufferError:
            pass
        seg.unlink()
