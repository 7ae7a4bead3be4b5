"""Which processes belong to this test run: the leftover checks of the ipc
tests (``_ipc_support.no_leftovers``, test_compat_fastipc's ``pid_dir``) look
only at /dev/shm entries created by this run's processes, so that other runs
sharing the machine cannot make them fail (nor hide a leftover of ours).

Every name a test creates carries the pid of the process that made it: the
extension's anonymous names are ``anon-<pid>-<random>``, the tests' name
fixtures ``t-<pid>-<uuid>`` / ``fx-<pid>-<uuid>``, side segments embed their
queue's name (on a caller's buffer: the sender's pid). While ``$INTERLOCK_TEST_PIDS`` names a file, each process of the
run appends its pid to it: forked children through an at-fork hook, spawned
ones when they import this module (``_ipc_children`` and the test modules do),
other children by the parent calling ``record(pid)``. (A *forkserver* child
has its server's environment: start the server inside the check, or record
its children.) No pytest here: children import it.
"""

from __future__ import annotations

import os
import re

ENV = "INTERLOCK_TEST_PIDS"

# the pid in an object's name (not preceded by a letter or digit), or in a
# side segment of a queue on a caller's buffer (interlock.blob.buffer.<pid>.<n>)
MARK = re.compile(r"(?<![A-Za-z0-9])(?:anon|t|fx)-(\d+)-|^interlock\.blob\.buffer\.(\d+)\.")


def record(pid: int | None = None) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    try:  # one short O_APPEND write: atomic between processes
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b"%d\n" % (pid if pid is not None else os.getpid()))
        finally:
            os.close(fd)
    except OSError:
        pass


def recorded(path) -> set[int]:
    """The pids recorded in path, and this process's."""
    try:
        with open(path) as f:
            pids = {int(line) for line in f if line.strip()}
    except FileNotFoundError:
        pids = set()
    return pids | {os.getpid()}


def made_by(names, pids) -> set[str]:
    """The names among names that carry one of pids."""
    out = set()
    for n in names:
        m = MARK.search(n)
        if m and int(m.group(1) or m.group(2)) in pids:
            out.add(n)
    return out


os.register_at_fork(after_in_child=record)
record()
