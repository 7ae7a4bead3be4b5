"""The leftover checks of the ipc tests (_ipc_support.no_leftovers,
test_compat_fastipc's pid_dir) attribute /dev/shm entries to this run's
processes (_ipc_pids): every forked or spawned child is recorded, entries of
those processes are caught, entries of other runs are not looked at."""

from __future__ import annotations

import multiprocessing as mp
import os

import pytest

import _ipc_children as kids
import _ipc_pids


@pytest.mark.parametrize("ctx", ["fork", "spawn"])
def test_children_are_recorded_and_their_entries_attributed(ctx, tmp_path, monkeypatch):
    pids_file = tmp_path / "run-pids"
    monkeypatch.setenv(_ipc_pids.ENV, str(pids_file))
    c = mp.get_context(ctx)
    here, there = c.Pipe()
    p = c.Process(target=kids.report_pid, args=(there,))
    p.start()
    assert here.poll(50)
    child = here.recv()
    p.join(50)
    assert p.exitcode == 0 and child == p.pid
    pids = _ipc_pids.recorded(pids_file)
    assert {os.getpid(), child} <= pids
    foreign = max(pids) + 1  # not a process of this run
    ours = {f"interlock.queue.anon-{child}-0123abcd4567ef89",
            f"interlock.blob.interlock.queue.anon-{child}-0123abcd.{child}.1",
            f"interlock.event.t-{os.getpid()}-0123abcdef01",
            f"interlock.semaphore.anon-{os.getpid()}-ab.join-count",
            f"interlock.blob.buffer.{child}.7",
            f"fx-{os.getpid()}-0123456789"}  # fastipc's bare GuardedSharedMemory names
    theirs = {f"interlock.queue.anon-{foreign}-0123abcd4567ef89",
              f"interlock.event.t-{foreign}-0123abcdef01", "psm_0123abcd", "sem.mp-x",
              f"interlock.blob.buffer.{foreign}.7",
              f"interlock.event.cat-{os.getpid()}-1"}
    assert _ipc_pids.made_by(ours | theirs, pids) == ours
