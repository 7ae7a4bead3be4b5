"""ObjectQueue with multiprocessing.Queue's contracts (issue 16): maxsize as
the first argument, maxsize=0 unbounded, SimpleQueue, objects of any size."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import queue

import pytest

import _ipc_children as kids
import _ipc_pids
from _ipc_support import no_leftovers, run_procs, shm_entries  # noqa: F401 (fixtures)
from interlock import ipc

pytestmark = pytest.mark.timeout(120)


def blobs(q):
    """The side segments of queue q present in /dev/shm."""
    stem = "interlock.blob." + q.shm_path.rsplit("/", 1)[-1] + "."
    return [n for n in shm_entries() if n.startswith(stem)]


def test_maxsize_is_the_first_argument():
    q = ipc.ObjectQueue(8)
    assert q.maxsize == 8 and q.capacity == 8 and isinstance(q, ipc.ObjectQueue)
    for i in range(8):
        q.put_nowait(i)
    assert q.full()
    with pytest.raises(queue.Full):
        q.put_nowait(8)
    with pytest.raises(queue.Full):
        q.put(8, timeout=0.01)
    assert [q.get() for _ in range(8)] == list(range(8))
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    q.close()
    with pytest.raises(ValueError):
        q.put(1)
    with pytest.raises(ValueError):
        q.get()


@pytest.mark.parametrize("bad", ["jobs", b"jobs", None])
def test_old_positional_name_is_a_clear_error(bad):
    with pytest.raises(TypeError, match="name="):
        ipc.ObjectQueue(bad)


def test_keyword_arguments():
    with pytest.raises(TypeError):
        ipc.ObjectQueue(0, "name")  # name and the rest are keyword-only
    with pytest.raises(TypeError, match="maxsize"):
        ipc.ObjectQueue(1.5)
    q = ipc.ObjectQueue(4, max_message=64)
    assert q.max_message == 64 and q.maxsize == 4
    q.close()


def test_unbounded_burst_without_consumer():
    q = ipc.ObjectQueue()
    assert q.maxsize == 0 and isinstance(q, ipc.ObjectQueue)
    n = 20_000
    for i in range(n):
        q.put_nowait(i) if i % 2 else q.put(i, block=False)
    assert not q.full()
    assert [q.get(timeout=30) for _ in range(n)] == list(range(n))
    q.join_thread()
    assert q.empty()
    q.close()


def test_unbounded_burst_from_an_exiting_child():
    q = ipc.ObjectQueue(capacity=16)
    n = 2_000
    p = mp.get_context("fork").Process(target=kids.objectqueue_burst, args=(q, n))
    p.start()
    got = [q.get(timeout=60) for _ in range(n)]
    p.join(60)
    assert p.exitcode == 0 and got == list(range(n))
    q.close()


def test_cancel_join_thread_drops_the_buffer():
    q = ipc.ObjectQueue(capacity=2)
    for i in range(10):
        q.put(i)
    q.cancel_join_thread()
    q.join_thread()  # returns: nothing left to wait for
    q.close()


def test_simple_queue():
    q = ipc.SimpleQueue()
    assert q.empty()
    q.put({"a": 1})
    assert not q.empty() and q.get() == {"a": 1}
    q2 = pickle.loads(pickle.dumps(q))
    assert isinstance(q2, ipc.SimpleQueue)
    q2.put([1, 2])
    assert q.get() == [1, 2]
    q2.close()
    q.close()
    with pytest.raises(TypeError):
        ipc.SimpleQueue(5)


@pytest.mark.parametrize("maxsize", [0, 4])
def test_objects_of_any_size(maxsize):
    q = ipc.ObjectQueue(maxsize, max_message=256)
    big = bytes(range(256)) * 4096  # 1 MiB, far over the slot
    q.put(big)
    q.put_nowait({"k": big})
    q.put("small")
    assert len(blobs(q)) == 2
    assert q.get() == big
    assert q.get_nowait() == {"k": big}
    assert q.get() == "small"
    # the receiver unlinked each side segment
    assert blobs(q) == []
    q.close()


def test_big_object_from_another_process():
    q = ipc.ObjectQueue()
    size = 10 * 2**20
    assert run_procs("spawn", kids.objectqueue_big, [(q, size)]) == [0]
    assert q.get(timeout=60) == bytes(range(256)) * (size // 256)
    q.close()


def test_unreceived_side_segments_go_with_the_queue():
    q = ipc.ObjectQueue(max_message=64)
    q.put(bytes(10_000))
    q.put(bytes(10_000))
    assert len(blobs(q)) == 2
    q.close()
    assert blobs(q) == []


def test_side_message_on_a_full_bounded_queue():
    q = ipc.ObjectQueue(2, max_message=64)
    q.put(1)
    q.put(2)
    with pytest.raises(queue.Full):
        q.put(bytes(10_000), timeout=0.01)
    with pytest.raises(queue.Full):
        q.put_nowait(bytes(10_000))
    assert blobs(q) == []  # nothing leaked
    q.close()


# ------------------------------------------------------------ no shared memory outlives its processes

_CHILD = """
import sys
from interlock import ipc
from interlock.ipc import _reaper
q = ipc.{cls}(max_message=1024)
q.put(bytes(100_000) if issubclass(ipc.{cls}, ipc.ObjectQueue) else b"x")  # a side segment for objects
print(q.shm_path, _reaper._pid, flush=True)
sys.stdin.read()
"""


def _start(code):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    _ipc_pids.record(p.pid)  # its anonymous queue is this run's (no_leftovers)
    path, reaper = p.stdout.readline().decode().split()
    return p, path, int(reaper)


def _wait_exit(pid, timeout=60):
    import os
    import select

    fd = os.pidfd_open(pid)
    try:
        assert select.select([fd], [], [], timeout)[0], "the reaper did not finish"
    finally:
        os.close(fd)


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("cls", ["ShmQueue", "ObjectQueue", "JoinableQueue"])
def test_anonymous_queue_gone_after_its_only_process_is_killed(cls, sig):
    import os
    import signal

    p, path, reaper = _start(_CHILD.format(cls=cls))
    base = path.rsplit("/", 1)[-1]
    assert os.path.exists(path)
    if cls != "ShmQueue":
        assert any(n.startswith("interlock.blob." + base + ".") for n in shm_entries())
    p.send_signal(getattr(signal, sig))
    assert p.wait(60) == -getattr(signal, sig)
    _wait_exit(reaper)
    assert not os.path.exists(path)
    qname = base[len("interlock.queue."):]  # also in side segments and a JoinableQueue's count
    assert not any(qname in n for n in shm_entries())
    pid_dir = os.environ["INTERLOCK_PID_DIR"]
    assert not any(qname in n for n in (os.listdir(pid_dir) if os.path.isdir(pid_dir) else []))


def test_anonymous_queue_lives_while_a_late_attacher_does():
    # A process that attached by name (no fork: not a holder of the reaper's
    # pipe) keeps the queue after its creator is killed; its exit ends it.
    import os
    import signal

    p, path, reaper = _start(_CHILD.format(cls="ShmQueue"))
    name = path.rsplit("/", 1)[-1][len("interlock.queue."):]
    q = ipc.ShmQueue(name=name, create=False)
    p.send_signal(signal.SIGKILL)
    p.wait(60)
    assert q.get(timeout=10) == b"x"  # still there for the attacher
    # this test process is the attacher: its close (or exit) removes the queue
    # (the reaper, waiting for this process's exit, then finds nothing to do).
    # Unless the reaper's own attach (after the creator's death) overlaps this
    # close: then the reaper is the last user, and its close removes the queue
    # before it exits (PID registry: one of two overlapping closes is last).
    q.close()
    if os.path.exists(path):
        _wait_exit(reaper)
    assert not os.path.exists(path)


class _Tagged(ipc.ObjectQueue):
    def get(self, block=True, timeout=None):
        return ("tagged", super().get(block, timeout))


def test_subclass_keeps_the_maxsize_contract_and_pickles():
    bounded, unbounded = _Tagged(2), _Tagged(capacity=2)
    assert type(bounded) is _Tagged and isinstance(unbounded, _Tagged)
    assert bounded.maxsize == 2 and unbounded.maxsize == 0
    for i in range(5):
        unbounded.put(i)  # never Full
    assert [unbounded.get(timeout=30) for _ in range(5)] == [("tagged", i) for i in range(5)]
    for q in (bounded, unbounded, ipc.ObjectQueue(), ipc.ObjectQueue(4)):
        r = pickle.loads(pickle.dumps(q))
        assert type(r) is type(q) and r.maxsize == q.maxsize
        r.close()
    for q in (bounded, unbounded):
        q.close()


# ------------------------------------------------------------ JoinableQueue

@pytest.mark.parametrize("maxsize", [0, 4])
def test_joinable_queue_across_processes(maxsize):
    q = ipc.JoinableQueue(maxsize)
    q.join()  # nothing unfinished
    n = 50
    p = mp.get_context("spawn").Process(target=kids.joinable_worker, args=(q, n))
    p.start()
    for i in range(n):
        q.put(i, timeout=60)
    q.join()  # returns once the child marked all n done
    p.join(60)
    assert p.exitcode == 0
    with pytest.raises(ValueError, match="too many times"):
        q.task_done()
    q.close()
    with pytest.raises(ValueError):
        q.put(1)


def test_joinable_failed_put_is_not_counted():
    q = ipc.JoinableQueue(2)
    q.put(1)
    q.put(2)
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    q.get()
    q.task_done()
    q.get()
    q.task_done()
    q.join()  # the refused put left no unfinished task
    q.close()


@pytest.mark.parametrize("ctx", ["fork", "spawn"])
def test_joinable_consumer_killed_before_task_done(ctx):
    # multiprocessing's contract: the dead consumer's item stays unfinished
    # (it was never processed); join(timeout) lets a supervisor see that
    # instead of hanging, and task_done() from any process settles it.
    import signal

    q = ipc.JoinableQueue()
    for i in range(3):
        q.put(i)
    c = mp.get_context(ctx)
    here, there = c.Pipe()
    p = c.Process(target=kids.joinable_take_and_hang, args=(q, there, False))
    p.start()
    assert here.poll(60) and here.recv() == 0  # the child holds item 0
    p.kill()
    p.join(60)
    assert p.exitcode == -signal.SIGKILL
    assert q.unfinished_tasks == 3
    assert q.join(timeout=0.05) is False and q.join(0) is False
    for i in (1, 2):
        assert q.get(timeout=10) == i
        q.task_done()
    assert q.unfinished_tasks == 1 and q.join(timeout=0) is False
    q.task_done()  # the supervisor settles the abandoned item
    assert q.join(timeout=30) is True and q.join() is True and q.unfinished_tasks == 0
    with pytest.raises(ValueError, match="too many times"):
        q.task_done()
    q.close()


def test_joinable_count_survives_a_kill_inside_its_mutex():
    # a process killed while holding the count's robust mutex: the next
    # put / task_done recovers it, and the count and join stay right
    import signal

    q = ipc.JoinableQueue()
    q.put("a")
    c = mp.get_context("fork")
    here, there = c.Pipe()
    p = c.Process(target=kids.joinable_take_and_hang, args=(q, there, True))
    p.start()
    assert here.poll(60) and here.recv() == "locked"
    p.kill()
    p.join(60)
    assert p.exitcode == -signal.SIGKILL
    q.put("b")  # takes over the dead holder's mutex
    assert q.unfinished_tasks == 2 and q.join(0) is False
    for item in ("a", "b"):
        assert q.get(timeout=10) == item
        q.task_done()
    assert q.join(timeout=30) is True
    q.close()
