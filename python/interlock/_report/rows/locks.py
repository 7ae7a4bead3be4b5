"""interlock.locks against threading's primitives and the peers' locks."""

from .._rows import Row, ours, peer, std


def _pair(imports: str, make: str) -> str:
    return f"{imports}\n_l = {make}\na = _l.acquire\nr = _l.release"


def _contended(imports: str, make: str) -> str:
    """Workload setup: N `with lock: x += 1` split over 2 threads."""
    return f"""{imports}
from interlock._report.rows._work import timed_threads
_l = {make}
_b = [0]
def work():
    l, b = _l, _b
    for _ in range(N // 2):
        with l:
            b[0] += 1
def run():
    return timed_threads(work, work)
"""


ROWS = [
    Row("locks", "Lock acquire+release",
        ours("interlock Lock", _pair("from interlock.locks import Lock", "Lock()"), "a(); r()"),
        std("threading.Lock", _pair("import threading", "threading.Lock()"), "a(); r()"),
        peer("syncx", "syncx Lock", _pair("from syncx.locks import Lock", "Lock()"), "a(); r()"),
        description="uncontended, one thread, methods pre-bound"),
    Row("locks", "with Lock",
        ours("interlock Lock", "from interlock.locks import Lock\nl = Lock()", "with l: pass"),
        std("threading.Lock", "import threading\nl = threading.Lock()", "with l: pass"),
        peer("syncx", "syncx Lock", "from syncx.locks import Lock\nl = Lock()", "with l: pass")),
    Row("locks", "RLock acquire+release",
        ours("interlock RLock", _pair("from interlock.locks import RLock", "RLock()"), "a(); r()"),
        std("threading.RLock", _pair("import threading", "threading.RLock()"), "a(); r()"),
        peer("syncx", "syncx RLock", _pair("from syncx.locks import RLock", "RLock()"), "a(); r()")),
    Row("locks", "RWLock read acquire+release",
        ours("interlock RWLock", "from interlock.locks import RWLock\n_l = RWLock()\n"
             "a = _l.acquire_read\nr = _l.read_release", "a(); r()"),
        std("threading.Lock (no RW lock in the stdlib)", _pair("import threading", "threading.Lock()"), "a(); r()"),
        peer("ft_utils", "ft_utils RWLock", "from ft_utils.synchronization import RWLock\n_l = RWLock()\n"
             "a = _l.lock_read\nr = _l.unlock_read", "a(); r()", dist="ft-utils"),
        peer("syncx", "syncx RWLock", "from syncx.locks import RWLock\n_l = RWLock()\n"
             "a = _l.acquire_read\nr = _l.read_release", "a(); r()")),
    Row("locks", "Semaphore acquire+release",
        ours("interlock Semaphore", _pair("from interlock.locks import Semaphore", "Semaphore()"), "a(); r()"),
        std("threading.Semaphore", _pair("import threading", "threading.Semaphore()"), "a(); r()")),
    Row("locks", "BoundedSemaphore acquire+release",
        ours("interlock BoundedSemaphore",
             _pair("from interlock.locks import BoundedSemaphore", "BoundedSemaphore()"), "a(); r()"),
        std("threading.BoundedSemaphore", _pair("import threading", "threading.BoundedSemaphore()"), "a(); r()")),
    Row("locks", "Event.is_set (set)",
        ours("interlock Event", "from interlock.locks import Event\n_e = Event()\n_e.set()\nf = _e.is_set"),
        std("threading.Event", "import threading\n_e = threading.Event()\n_e.set()\nf = _e.is_set"),
        peer("cereggii", "cereggii AtomicEvent", "from cereggii import AtomicEvent\n_e = AtomicEvent()\n"
             "_e.set()\nf = _e.is_set")),
    Row("locks", "Event.wait (set)",
        ours("interlock Event", "from interlock.locks import Event\n_e = Event()\n_e.set()\nf = _e.wait"),
        std("threading.Event", "import threading\n_e = threading.Event()\n_e.set()\nf = _e.wait"),
        peer("cereggii", "cereggii AtomicEvent", "from cereggii import AtomicEvent\n_e = AtomicEvent()\n"
             "_e.set()\nf = _e.wait")),
    Row("locks", "Condition notify (no waiter)",
        ours("interlock Condition", "from interlock.locks import Condition\nc = Condition()\nn = c.notify",
             "with c: n()"),
        std("threading.Condition", "import threading\nc = threading.Condition()\nn = c.notify", "with c: n()")),
    Row("locks", "2 threads sharing a Lock",
        ours("interlock Lock", _contended("from interlock.locks import Lock", "Lock()")),
        std("threading.Lock", _contended("import threading", "threading.Lock()")),
        peer("syncx", "syncx Lock", _contended("from syncx.locks import Lock", "Lock()")),
        workload=True, description="N `with lock: x += 1` split over 2 threads; ns per critical section"),
]
