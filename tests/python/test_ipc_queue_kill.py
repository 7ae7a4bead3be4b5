"""ShmQueue survives SIGKILL of producers and consumers at random points
(issue 15): a claim left by a dead process is skipped (dead producer) or freed
(dead consumer), so healthy processes keep exchanging messages, none is lost
or duplicated, and shutdown() wakes the blocked get()."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from _ipc_support import name, no_leftovers  # noqa: F401 (fixtures)
from interlock import ipc
from interlock.collections import ShutDown

SIZE = 16_000  # a put/get copies for microseconds: kills often land mid-copy


def _msg(tag: int, seq: int) -> bytes:
    head = b"%d:%d:" % (tag, seq)
    return head + b"x" * (SIZE - len(head))


def _tag_seq(m: bytes) -> tuple[int, int]:
    tag, seq, _ = m.split(b":", 2)
    return int(tag), int(seq)


def _child(fn, log: str) -> tuple[int, str]:
    """Fork a child running fn(fd of the file `log`, where it records what it
    put or got: a file, so that it never blocks on a reader); (pid, log)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            code = 0
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    return pid, log


def _producer(q, tag: int, count: int | None):
    def run(w):
        seq = 0
        while count is None or seq < count:
            q.put(_msg(tag, seq))
            os.write(w, b"%d:%d\n" % (tag, seq))  # acknowledged: put() returned
            seq += 1
    return run


def _consumer(q):
    def run(w):
        while True:
            try:
                m = q.get()
            except ShutDown:
                return
            os.write(w, b"%d:%d\n" % _tag_seq(m))
    return run


def _wait(pid: int, timeout: float) -> int:
    """The child's exit code, or None if it is still running at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)  # polling a child's exit, bounded by the deadline
    return None


def _read_all(log: str) -> list[tuple[int, int]]:
    try:
        with open(log, "rb") as f:
            data = f.read()
    except FileNotFoundError:  # killed before it opened its log
        return []
    return [tuple(map(int, line.split(b":"))) for line in data.split()]


@pytest.mark.timeout(240)
def test_kill_storm_loses_and_duplicates_nothing(name, tmp_path):
    rng = random.Random(1234)
    q = ipc.ShmQueue(name, capacity=4, max_message=SIZE)
    healthy_consumer = _child(_consumer(q), str(tmp_path / "healthy-c"))
    acked: list[tuple[int, int]] = []
    received: list[tuple[int, int]] = []
    consumer_kills = 0
    try:
        for rnd in range(60):
            victims = []
            for k in range(2):
                victims.append(("p", _child(_producer(q, rnd * 10 + k, None),
                                              str(tmp_path / f"p{rnd}.{k}"))))
            victims.append(("c", _child(_consumer(q), str(tmp_path / f"c{rnd}"))))
            time.sleep(rng.uniform(0.0, 0.004))  # a random kill point, not synchronisation
            for kind, (pid, _) in victims:
                os.kill(pid, signal.SIGKILL)
            for kind, (pid, log) in victims:
                os.waitpid(pid, 0)
                (acked if kind == "p" else received).extend(_read_all(log))
                consumer_kills += kind == "c"
        # After the storm, healthy processes still get every message through.
        pid, log = _child(_producer(q, 999_999, 500), str(tmp_path / "healthy-p"))
        code = _wait(pid, 60)
        if code is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        assert code == 0, "healthy producer wedged or failed"
        acked.extend(_read_all(log))
        q.shutdown()  # wakes the healthy consumer once the queue is drained
        pid, log = healthy_consumer
        code = _wait(pid, 60)
        if code is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        healthy_consumer = None
        assert code == 0, "shutdown() did not release the blocked get()"
        received.extend(_read_all(log))
    finally:
        if healthy_consumer is not None:
            os.kill(healthy_consumer[0], signal.SIGKILL)
            os.waitpid(healthy_consumer[0], 0)
        q.close()
    assert len(received) == len(set(received)), "a message was received twice"
    assert set(received) <= {(t, s) for t, s in received}  # well-formed
    healthy = [(999_999, s) for s in range(500)]
    assert set(healthy) <= set(received), "a healthy producer's message was lost"
    # A killed consumer takes at most the one message it was getting with it.
    lost = set(acked) - set(received)
    assert len(lost) <= consumer_kills, (len(lost), consumer_kills)
    assert len(acked) > 100  # the storm did exchange messages
