"""fastipc's ``GuardedSharedMemory``, ``NoShmFoundError`` and
``align_to_cacheline_size`` (see ``interlock.compat.fastipc``).

The on-disk layout is fastipc's own, so a process using fastipc 0.1.5 and one
using this façade share a segment and see each other's PID files: the segment
is the POSIX shared memory object ``/<name>``; each user has an empty file
``<pid_root>/<name>.pids/<pid>`` (``pid_root``: ``$FASTIPC_PID_DIR``, else the
``pid_dir`` argument). ``close()`` removes our PID file and those of dead
processes; the last live user unlinks the segment and the PID directory.

One change from fastipc, for crashes: attach and close hold an exclusive
``flock`` on ``<pid_root>/<name>.lock`` (dropped by the kernel when its holder
dies), so a closing last user cannot unlink a segment another process is
attaching to, and a segment left by processes that all died (kill -9) is
unlinked and created afresh by the next attacher instead of being reused with
stale contents. fastipc's ``max_attempts`` / ``backoff_base`` are accepted and
unused (no retry loop is needed under the lock).
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import mmap
import os

from _posixshmem import shm_open as _shm_open
from _posixshmem import shm_unlink as _shm_unlink

__all__ = ["GuardedSharedMemory", "NoShmFoundError", "align_to_cacheline_size"]


def align_to_cacheline_size(size: int) -> int:
    """``size`` rounded up to a multiple of the cache line (``$CACHE_LINE_SIZE``, else 64)."""
    line = int(os.environ.get("CACHE_LINE_SIZE", 64))
    return (size + line - 1) // line * line


class NoShmFoundError(Exception):
    """``attach_only=True`` and no segment of that name exists."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


class GuardedSharedMemory:
    """A named shared-memory segment, created or attached, with PID tracking."""

    created: bool = False  #: whether this object created the segment

    def __init__(self, name: str, size: int, attach_only: bool = False, *,
                 pid_dir: str = "/dev/shm/fastipc", max_attempts: int = 128,
                 backoff_base: float = 0.002, try_cleanup_on_exit: bool = True) -> None:
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"size must be int, not {type(size).__name__}")
        if size <= 0:
            raise ValueError("size must be a positive integer")
        if not isinstance(name, str):
            raise TypeError(f"name must be str, not {type(name).__name__}")
        if not name:
            raise ValueError("name must be a non-empty string")
        if "/" in name or "\0" in name or name in (".", ".."):
            raise ValueError("name cannot contain '/' characters")
        self._name = name
        self._posix_name = "/" + name
        self._pid = os.getpid()
        self._try_cleanup_on_exit = try_cleanup_on_exit
        self._mmap: mmap.mmap | None = None
        self._buf: memoryview | None = None
        self._closed = False
        self._unlinked = False
        root = os.environ.get("FASTIPC_PID_DIR", pid_dir).rstrip("/") or "/"
        os.makedirs(root, mode=0o700, exist_ok=True)
        self._pdir = f"{root}/{name}.pids"
        self._lockpath = f"{root}/{name}.lock"
        self.created = False
        with self._locked():
            self._reap_dead()
            if not attach_only and not self._others_alive(include_self=True):
                # No live user: a leftover of crashed processes, or nothing.
                self._unlink_quiet()
            try:
                fd = _shm_open(self._posix_name, os.O_RDWR, 0o600)
            except FileNotFoundError:
                if attach_only:
                    raise NoShmFoundError(f"Shared memory segment '{name}' does not exist") from None
                fd = _shm_open(self._posix_name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                self.created = True
            try:
                if self.created:
                    os.ftruncate(fd, size)
                actual = os.fstat(fd).st_size
                if actual < size:
                    raise ValueError(f"Existing shm '{name}' size {actual} < requested {size}")
                self._mmap = mmap.mmap(fd, actual, access=mmap.ACCESS_WRITE)
            except BaseException:
                if self.created:
                    self._unlink_quiet()
                raise
            finally:
                os.close(fd)
            self._size = actual
            self._buf = memoryview(self._mmap)
            os.makedirs(self._pdir, mode=0o700, exist_ok=True)
            with open(f"{self._pdir}/{self._pid}", "w"):
                pass
        if try_cleanup_on_exit:
            atexit.register(self.close)

    # ---- fastipc's API
    @property
    def buf(self) -> memoryview:
        if self._buf is None:
            raise ValueError("Shared memory is closed")
        return self._buf

    @property
    def size(self) -> int:
        return self._size

    @property
    def name(self) -> str:
        return self._name

    def get_num_procs(self) -> int:
        """PID files present (live users, and dead ones not yet reaped)."""
        try:
            return len(os.listdir(self._pdir))
        except FileNotFoundError:
            return 0

    def close(self) -> None:
        """Detach; the last live user also unlinks the segment and PID directory."""
        if self._closed:
            return
        self._closed = True
        if self._try_cleanup_on_exit:
            atexit.unregister(self.close)
        with self._locked():
            self._reap_dead()
            try:
                os.unlink(f"{self._pdir}/{self._pid}")
            except FileNotFoundError:
                pass
            if not self._others_alive():
                self._unlink_quiet()
                try:
                    os.rmdir(self._pdir)
                except OSError:
                    pass
                try:
                    os.unlink(self._lockpath)
                except OSError:
                    pass
        self.detach()

    def unlink(self) -> None:
        if not self._unlinked:
            try:
                _shm_unlink(self._posix_name)
            except FileNotFoundError:
                pass
            self._unlinked = True

    def detach(self) -> None:
        """Unmap without touching the PID files (fastipc's detach)."""
        if self._buf is not None:
            self._buf.release()
            self._buf = None
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:  # a caller still holds a view of buf
                pass
            self._mmap = None

    def __enter__(self) -> GuardedSharedMemory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_try_cleanup_on_exit", False) and not getattr(self, "_closed", True):
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"GuardedSharedMemory({self._name!r}, size={self._size})"

    # ---- internals
    def _locked(self):
        return _FileLock(self._lockpath)

    def _reap_dead(self) -> None:
        try:
            names = os.listdir(self._pdir)
        except FileNotFoundError:
            return
        for fn in names:
            if fn.isdigit() and not _alive(int(fn)):
                try:
                    os.unlink(f"{self._pdir}/{fn}")
                except FileNotFoundError:
                    pass

    def _others_alive(self, include_self: bool = False) -> bool:
        try:
            names = os.listdir(self._pdir)
        except FileNotFoundError:
            return False
        return any(fn.isdigit() and (include_self or int(fn) != self._pid) and _alive(int(fn))
                   for fn in names)

    def _unlink_quiet(self) -> None:
        try:
            _shm_unlink(self._posix_name)
        except FileNotFoundError:
            pass


class _FileLock:
    """An exclusive flock on ``path`` for a ``with`` block (created if absent)."""

    __slots__ = ("_path", "_fd")

    def __init__(self, path: str) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        while True:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            # The last closer unlinks the lock file: if ours is no longer the
            # file at the path, start over on the new one.
            try:
                if os.stat(self._path).st_ino == os.fstat(fd).st_ino:
                    self._fd = fd
                    return
            except FileNotFoundError:
                pass
            os.close(fd)

    def __exit__(self, *exc_info: object) -> None:
        os.close(self._fd)  # drops the flock
        self._fd = -1
