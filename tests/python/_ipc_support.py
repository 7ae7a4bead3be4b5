"""What the ipc test modules share: a private PID directory with a check that
no /dev/shm entry made by the module's processes outlives the module, unique
names, and starting/reaping child processes. (Fixtures: import them into the
module.)"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import time
import uuid
from multiprocessing import shared_memory

import pytest

import _ipc_pids


def shm_entries() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("interlock.")}


@pytest.fixture(scope="module", autouse=True)
def no_leftovers(tmp_path_factory):
    """Every test of the module runs with a private PID directory; no /dev/shm
    entry made by a process of this module (this one and every child: see
    _ipc_pids) survives the module. Entries of other test runs sharing the
    machine are not looked at."""
    d = tmp_path_factory.mktemp("pids")
    pid_dir, pids_file = d / "d", d / "run-pids"
    saved = {k: os.environ.get(k) for k in ("INTERLOCK_PID_DIR", _ipc_pids.ENV)}
    os.environ["INTERLOCK_PID_DIR"] = str(pid_dir)
    os.environ[_ipc_pids.ENV] = str(pids_file)
    before = set(os.listdir("/dev/shm"))
    yield
    gc.collect()
    left = _ipc_pids.made_by(set(os.listdir("/dev/shm")) - before, _ipc_pids.recorded(pids_file))
    for k, v in saved.items():
        if v is None:
            del os.environ[k]
        else:
            os.environ[k] = v
    assert left == set(), f"left in /dev/shm: {sorted(left)}"


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
