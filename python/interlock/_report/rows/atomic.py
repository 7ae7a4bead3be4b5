"""interlock.atomic against the stdlib's nearest equivalent and the peers' atomics."""

from .._rows import Row, ours, peer, std


def _counter(imports: str, bound: str, extra: str = "") -> str:
    """Workload setup: N increments of one counter split over 2 threads."""
    return f"""{imports}
from interlock._report.rows._work import timed_threads
{extra}
f = {bound}
def work():
    g = f
    for _ in range(N // 2):
        g()
def run():
    return timed_threads(work, work)
"""

ROWS = [
    Row("atomic", "AtomicInt increment",
        ours("interlock AtomicInt.inc", "from interlock.atomic import AtomicInt\nf = AtomicInt().inc"),
        std("itertools.count().__next__", "import itertools\nf = itertools.count().__next__"),
        peer("ft_utils", "ft_utils AtomicInt64.incr",
             "from ft_utils.concurrency import AtomicInt64\nf = AtomicInt64().incr", dist="ft-utils"),
        peer("cereggii", "cereggii AtomicInt64.increment_and_get",
             "from cereggii import AtomicInt64\nf = AtomicInt64().increment_and_get"),
        peer("atomics", "atomics atomic(width=8).inc",
             "import atomics\n_a = atomics.atomic(width=8, atype=atomics.INT)\nf = _a.inc"),
        peer("syncx", "syncx AtomicInt.inc", "from syncx.atomic import AtomicInt\nf = AtomicInt().inc"),
        description="one thread, method pre-bound: the cost of the call itself"),
    Row("atomic", "AtomicInt load",
        ours("interlock AtomicInt.load", "from interlock.atomic import AtomicInt\nf = AtomicInt(7).load"),
        std("a list item read (not atomic)", "b = [7]", "b[0]"),
        peer("ft_utils", "ft_utils AtomicInt64.get",
             "from ft_utils.concurrency import AtomicInt64\nf = AtomicInt64(7).get", dist="ft-utils"),
        peer("cereggii", "cereggii AtomicInt64.get", "from cereggii import AtomicInt64\nf = AtomicInt64(7).get"),
        peer("atomics", "atomics atomic(width=8).load",
             "import atomics\n_a = atomics.atomic(width=8, atype=atomics.INT)\nf = _a.load"),
        peer("syncx", "syncx AtomicInt.load", "from syncx.atomic import AtomicInt\nf = AtomicInt(7).load")),
    Row("atomic", "AtomicInt compare-exchange",
        ours("interlock AtomicInt.compare_exchange",
             "from interlock.atomic import AtomicInt\nf = AtomicInt(7).compare_exchange", "f(7, 7)"),
        std("threading.Lock + int", "import threading\nl = threading.Lock()\nb = [7]\n"
            "def f(e, d):\n    with l:\n        if b[0] == e:\n            b[0] = d\n            return True\n"
            "        return False", "f(7, 7)"),
        peer("ft_utils", "ft_utils AtomicReference.compare_exchange",
             "from ft_utils.concurrency import AtomicReference\n_v = 7\nf = AtomicReference(_v).compare_exchange",
             "f(_v, _v)", dist="ft-utils"),
        peer("cereggii", "cereggii AtomicInt64.compare_and_set",
             "from cereggii import AtomicInt64\nf = AtomicInt64(7).compare_and_set", "f(7, 7)"),
        peer("atomics", "atomics atomic(width=8).cmpxchg_strong",
             "import atomics\n_a = atomics.atomic(width=8, atype=atomics.INT)\nf = _a.cmpxchg_strong", "f(0, 0)")),
    Row("atomic", "AtomicReference exchange",
        ours("interlock AtomicReference.exchange",
             "from interlock.atomic import AtomicReference\n_o = object()\nf = AtomicReference(_o).exchange", "f(_o)"),
        std("threading.Lock + list item", "import threading\nl = threading.Lock()\n_o = object()\nb = [_o]\n"
            "def f(v):\n    with l:\n        old = b[0]\n        b[0] = v\n        return old", "f(_o)"),
        peer("ft_utils", "ft_utils AtomicReference.exchange",
             "from ft_utils.concurrency import AtomicReference\n_o = object()\nf = AtomicReference(_o).exchange",
             "f(_o)", dist="ft-utils"),
        peer("cereggii", "cereggii AtomicRef.get_and_set",
             "from cereggii import AtomicRef\n_o = object()\nf = AtomicRef(_o).get_and_set", "f(_o)")),
    Row("atomic", "2 threads incrementing one counter",
        ours("interlock AtomicInt.inc", _counter("from interlock.atomic import AtomicInt", "AtomicInt().inc")),
        std("threading.Lock + int", _counter("import threading\n_l = threading.Lock()\n_b = [0]",
                                             "_inc", "def _inc():\n    with _l:\n        _b[0] += 1")),
        peer("ft_utils", "ft_utils AtomicInt64.incr",
             _counter("from ft_utils.concurrency import AtomicInt64", "AtomicInt64().incr"), dist="ft-utils"),
        peer("cereggii", "cereggii AtomicInt64.increment_and_get",
             _counter("from cereggii import AtomicInt64", "AtomicInt64().increment_and_get")),
        workload=True, description="N increments split over 2 threads started together; ns per increment"),
]

