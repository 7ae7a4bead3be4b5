"""interlock.collections against queue / dict / deque and the peers' containers.

Rows for names that are not in this build of interlock yet are skipped with a
note (they appear as the collections land)."""

from .._rows import Row, ours, peer, std

_DICT_KEYS = "_keys = [f'k{i}' for i in range(1000)]\nk = _keys[500]\n"


def _stream(imports: str, make: str, put: str = "put", get: str = "get", extra: str = "") -> str:
    """Workload setup: one producer thread -> one consumer thread, N items
    through a bounded queue (1024 slots)."""
    return f"""{imports}
from interlock._report.rows._work import timed_threads
{extra}
def run():
    q = {make}
    p, g = q.{put}, q.{get}
    def produce():
        for i in range(N):
            p(i)
    def consume():
        for _ in range(N):
            g()
    return timed_threads(produce, consume)
"""


_JANUS = """
import asyncio, threading
import janus
_loop = asyncio.new_event_loop()
_th = threading.Thread(target=_loop.run_forever, daemon=True)
_th.start()
async def _make():
    return janus.Queue(1024)
def _new():
    return asyncio.run_coroutine_threadsafe(_make(), _loop).result().sync_q
def cleanup():
    _loop.call_soon_threadsafe(_loop.stop)
    _th.join(5)
"""

ROWS = [
    Row("collections", "Queue put+get",
        ours("interlock Queue", "from interlock.collections import Queue\n_q = Queue()\np = _q.put\ng = _q.get",
             "p(1); g()"),
        (std("queue.Queue", "import queue\n_q = queue.Queue()\np = _q.put\ng = _q.get", "p(1); g()"),
         std("queue.SimpleQueue", "import queue\n_q = queue.SimpleQueue()\np = _q.put\ng = _q.get", "p(1); g()")),
        peer("ft_utils", "ft_utils StdConcurrentQueue", "from ft_utils.concurrency import StdConcurrentQueue\n"
             "_q = StdConcurrentQueue()\np = _q.put\ng = _q.get", "p(1); g()", dist="ft-utils"),
        peer("syncx", "syncx Queue", "from syncx.collections import Queue\n_q = Queue()\np = _q.put\ng = _q.get",
             "p(1); g()"),
        description="one thread, unbounded, methods pre-bound"),
    Row("collections", "ConcurrentQueue push+pop",
        ours("interlock ConcurrentQueue", "from interlock.collections import ConcurrentQueue\n"
             "_q = ConcurrentQueue()\np = _q.push\ng = _q.pop", "p(1); g()"),
        std("collections.deque append+popleft", "import collections\n_q = collections.deque()\n"
            "p = _q.append\ng = _q.popleft", "p(1); g()"),
        peer("ft_utils", "ft_utils ConcurrentQueue", "from ft_utils.concurrency import ConcurrentQueue\n"
             "_q = ConcurrentQueue()\np = _q.push\ng = _q.pop", "p(1); g()", dist="ft-utils")),
    Row("collections", "ConcurrentDict d[k] (1000 keys)",
        ours("interlock ConcurrentDict", "from interlock.collections import ConcurrentDict\n" + _DICT_KEYS +
             "d = ConcurrentDict()\nfor _k in _keys: d[_k] = 1", "d[k]"),
        std("dict", _DICT_KEYS + "d = dict.fromkeys(_keys, 1)", "d[k]"),
        peer("ft_utils", "ft_utils ConcurrentDict", "from ft_utils.concurrency import ConcurrentDict\n" +
             _DICT_KEYS + "d = ConcurrentDict()\nfor _k in _keys: d[_k] = 1", "d[k]", dist="ft-utils"),
        peer("cereggii", "cereggii AtomicDict", "from cereggii import AtomicDict\n" + _DICT_KEYS +
             "d = AtomicDict()\nfor _k in _keys: d[_k] = 1", "d[k]"),
        peer("syncx", "syncx ConcurrentDict", "from syncx.collections import ConcurrentDict\n" + _DICT_KEYS +
             "d = ConcurrentDict()\nfor _k in _keys: d[_k] = 1", "d[k]")),
    Row("collections", "ConcurrentDict d[k] = v (1000 keys)",
        ours("interlock ConcurrentDict", "from interlock.collections import ConcurrentDict\n" + _DICT_KEYS +
             "d = ConcurrentDict()\nfor _k in _keys: d[_k] = 1", "d[k] = 2"),
        std("dict", _DICT_KEYS + "d = dict.fromkeys(_keys, 1)", "d[k] = 2"),
        peer("ft_utils", "ft_utils ConcurrentDict", "from ft_utils.concurrency import ConcurrentDict\n" +
             _DICT_KEYS + "d = ConcurrentDict()\nfor _k in _keys: d[_k] = 1", "d[k] = 2", dist="ft-utils"),
        peer("cereggii", "cereggii AtomicDict", "from cereggii import AtomicDict\n" + _DICT_KEYS +
             "d = AtomicDict()\nfor _k in _keys: d[_k] = 1", "d[k] = 2"),
        peer("syncx", "syncx ConcurrentDict", "from syncx.collections import ConcurrentDict\n" + _DICT_KEYS +
             "d = ConcurrentDict()\nfor _k in _keys: d[_k] = 1", "d[k] = 2")),
    Row("collections", "ConcurrentSet `in` (1000 items)",
        ours("interlock ConcurrentSet", "from interlock.collections import ConcurrentSet\n" + _DICT_KEYS +
             "s = ConcurrentSet(_keys)", "k in s"),
        std("set", _DICT_KEYS + "s = set(_keys)", "k in s"),
        peer("syncx", "syncx ConcurrentSet", "from syncx.collections import ConcurrentSet\n" + _DICT_KEYS +
             "s = ConcurrentSet(_keys)", "k in s")),
    Row("collections", "Queue(1024): 1 producer -> 1 consumer thread",
        ours("interlock Queue", _stream("from interlock.collections import Queue", "Queue(1024)")),
        std("queue.Queue", _stream("import queue", "queue.Queue(1024)")),
        peer("janus", "janus sync_q (loop in a thread)", _stream("", "_new()", extra=_JANUS)),
        peer("ft_utils", "ft_utils StdConcurrentQueue",
             _stream("from ft_utils.concurrency import StdConcurrentQueue", "StdConcurrentQueue(1024)"),
             dist="ft-utils"),
        workload=True, description="N items through a bounded queue between two threads; ns per item"),
]
