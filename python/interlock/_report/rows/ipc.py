"""interlock.ipc (through its seed-exact façades, interlock.compat.fastipc and
interlock.compat.atomics, so that the very same code runs on fastipc and
atomics) against multiprocessing's equivalents, on shared memory.

Rows are skipped with a note until those façades are in this build."""

from .._rows import Row, ours, peer, std

_SHM = """
from multiprocessing import shared_memory
_shm = shared_memory.SharedMemory(create=True, size=4096)
_buf = _shm.buf[:64]
_b8 = _buf[:8]
_ctx = None
def cleanup():
    _shm.unlink()
    g = globals()
    if g.get("_ctx") is not None:
        g["_ctx"].__exit__(None, None, None)
    for name in ("a", "r", "f", "_m", "_a", "_ctx"):
        g.pop(name, None)
    _b8.release()
    _buf.release()
    _shm.close()
"""


def _mutex(imports: str) -> str:
    return f"{imports}\n{_SHM}\n_m = Mutex(_buf)\na = _m.acquire\nr = _m.release"


def _view(imports: str) -> str:
    return (f"{imports}\n{_SHM}\n_ctx = atomicview(buffer=_b8, atype=INT)\n_a = _ctx.__enter__()\n"
            "f = _a.inc")


ROWS = [
    Row("ipc", "shared-memory Mutex acquire+release",
        ours("interlock compat.fastipc Mutex", _mutex("from interlock.compat.fastipc import Mutex"), "a(); r()"),
        std("multiprocessing.Lock", "import multiprocessing\n_l = multiprocessing.Lock()\n"
            "a = _l.acquire\nr = _l.release", "a(); r()"),
        peer("fastipc", "fastipc Mutex", _mutex("try:\n    from fastipc import Mutex\nexcept ImportError:  # 0.1.5 exports it from _primitives only\n    from fastipc._primitives import Mutex"), "a(); r()"),
        description="uncontended, one process, on a SharedMemory buffer"),
    Row("ipc", "shared-memory 64-bit atomic increment",
        ours("interlock compat.atomics atomicview", _view("from interlock.compat.atomics import atomicview, INT")),
        std("multiprocessing.Value('q') += 1 under its lock",
            "import multiprocessing\n_v = multiprocessing.Value('q', 0)\n_l = _v.get_lock()\n"
            "def f():\n    with _l:\n        _v.value += 1"),
        peer("atomics", "atomics atomicview", _view("from atomics import atomicview, INT")),
        description="one process, an 8-byte atomic on a SharedMemory buffer"),
]
