"""The reaper: no anonymous queue's shared memory outlives its processes.

A named queue lives while a process uses it: its last user to close it (or to
exit normally) removes it (docs/design.md, "Named objects and PID tracking").
A process killed with SIGKILL runs no exit code, so an anonymous queue whose
only process was killed would stay in /dev/shm for ever — nobody knows its
name to attach and reclaim it. So the first anonymous queue a process creates
starts a reaper process (one per process tree, like multiprocessing's
resource tracker) and sends it the queue's name over a pipe whose write end
only this process and its fork children hold. When the pipe reaches EOF,
every one of them has exited, however. The reaper then, per queue name:

* attaches with ``create=False``: a queue with no live user is reclaimed by
  that attach (the PID registry treats it as a leftover) and the attach
  fails with FileNotFoundError: done;
* else processes that attached later (spawned children, unrelated processes)
  still use it: the reaper closes its own handle and waits for those
  processes to exit (``pidfd_open`` + ``poll``: no polling loop, no timer),
  then tries again;
* removes the queue's leftover side segments (ObjectQueue's large messages)
  and a JoinableQueue's shared count.

Named queues (``name=...``) are not tracked: their lifetime stays the
documented one. The reaper ignores SIGINT and SIGTERM (a Ctrl-C of the
terminal's process group must not take it away before it has done its work).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading

_lock = threading.Lock()
_wfd: int | None = None  # write end of the pipe to this process tree's reaper
_pid: int | None = None  # the reaper's PID (tests wait for its exit)


def track(name: str, pid_dir: str) -> None:
    """Have the reaper reclaim queue `name` once every process that uses it
    has exited."""
    global _wfd
    line = f"{name}\t{pid_dir}\n".encode()
    if b"\n" in line[:-1] or len(line) > select.PIPE_BUF:
        raise ValueError(f"cannot track queue {name!r}")
    with _lock:
        try:
            _send(line)
        except BrokenPipeError:  # the reaper died (killed): start another
            os.close(_wfd)
            _wfd = None
            _send(line)


def _send(line: bytes) -> None:
    global _wfd, _pid
    if _wfd is None:
        r, w = os.pipe()
        try:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
            _pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-c", "from interlock.ipc._reaper import main; main()"],
                env,
                file_actions=[(os.POSIX_SPAWN_DUP2, r, 0)],
                setsid=True,
            )
        except BaseException:
            os.close(w)
            raise
        finally:
            os.close(r)
        _wfd = w
    os.write(_wfd, line)  # under PIPE_BUF: atomic among the writers


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the write end stays: the child keeps the reaper waiting


os.register_at_fork(after_in_child=_after_fork_in_child)


# ------------------------------------------------------------ the reaper process

def _live_pids(pid_dir: str, shm_name: str) -> list[int]:
    try:
        files = os.listdir(os.path.join(pid_dir, shm_name + ".pids"))
    except OSError:
        return []
    pids = []
    for f in files:
        try:
            pids.append(int(f.split(".", 1)[0]))
        except ValueError:
            pass
    return [p for p in pids if p != os.getpid()]


def _wait_exit(pids: list[int]) -> None:
    fds = []
    try:
        for p in pids:
            try:
                fds.append(os.pidfd_open(p))
            except ProcessLookupError:
                return  # one is gone already: look again
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        poller.poll()  # returns when one of them has exited
    finally:
        for fd in fds:
            os.close(fd)


def _reap(name: str, pid_dir: str) -> None:
    from ._queue import ShmQueue, _BLOB_PREFIX, _remove_blobs

    shm_name = "interlock.queue." + name
    for _ in range(1 << 20):  # bounded: each round waits for an exit
        try:
            q = ShmQueue(name, create=False, pid_dir=pid_dir)
        except FileNotFoundError:
            break  # removed, or reclaimed by this attach
        except Exception:
            return  # not ours to judge (changed, unreadable): leave it
        pids = _live_pids(pid_dir, shm_name)
        q.close()
        if not os.path.exists("/dev/shm/" + shm_name):
            break  # our close was the last
        if pids:
            _wait_exit(pids)
    _remove_blobs(_BLOB_PREFIX + shm_name)
    # A JoinableQueue's shared count (three named objects after the queue):
    # once the queue is gone nobody uses them; an open reclaims a leftover
    # (no live user) and the close removes it.
    from ._futex import NamedEvent, NamedMutex, NamedSemaphore

    for kind, cls, suffix in (("mutex", NamedMutex, ".join-mutex"),
                              ("semaphore", NamedSemaphore, ".join-count"),
                              ("event", NamedEvent, ".join-idle")):
        if os.path.exists(f"/dev/shm/interlock.{kind}.{name}{suffix}"):
            try:
                cls(name + suffix, pid_dir=pid_dir).close()
            except Exception:
                pass


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    data = sys.stdin.buffer.read()  # until every writer has exited
    seen = set()
    for line in data.decode(errors="replace").splitlines():
        name, _, pid_dir = line.partition("\t")
        if name and pid_dir and (name, pid_dir) not in seen:
            seen.add((name, pid_dir))
            try:
                _reap(name, pid_dir)
            except Exception:
                pass  # one queue's trouble must not keep the others
