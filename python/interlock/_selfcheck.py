"""The self-check behind ``python -m interlock``."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import threading
import timeit
from typing import Callable, NamedTuple

import interlock


class Pair(NamedTuple):
    name: str
    ours: Callable[[], object]  # -> a zero-argument callable or a (stmt, globals) pair
    theirs_name: str
    theirs: Callable[[], object]


def _pair_call(acquire: Callable[[], object], release: Callable[[], object]) -> Callable[[], object]:
    def pair() -> None:
        acquire()
        release()
    return pair


def _with_block(lock: object) -> tuple[str, dict]:
    # A timeit statement, not a function: the `with` itself is what is timed.
    return "with lk:\n    pass", {"lk": lock}


def _pairs() -> list[Pair]:
    """Benchmarks of interlock operations against their stdlib counterparts.

    Each factory returns a zero-argument callable doing one operation, so the
    two sides are timed the same way (a pre-bound call in a timeit loop).
    """
    import itertools

    from interlock import atomic, locks

    def lock_pair(make):
        lk = make()
        return _pair_call(lk.acquire, lk.release)

    def event_set():
        e = locks.Event()
        e.set()
        return e.is_set

    def thread_event_set():
        e = threading.Event()
        e.set()
        return e.is_set

    return [
        Pair("AtomicInt.inc()", lambda: atomic.AtomicInt().inc,
             "itertools.count().__next__", lambda: itertools.count(10**9).__next__),
        Pair("AtomicInt.load()", lambda: atomic.AtomicInt(10**9).load,
             "itertools.count().__next__", lambda: itertools.count(10**9).__next__),
        Pair("Lock acquire()+release()", lambda: lock_pair(locks.Lock),
             "threading.Lock", lambda: lock_pair(threading.Lock)),
        Pair("with Lock()", lambda: _with_block(locks.Lock()),
             "with threading.Lock()", lambda: _with_block(threading.Lock())),
        Pair("RLock acquire()+release()", lambda: lock_pair(locks.RLock),
             "threading.RLock", lambda: lock_pair(threading.RLock)),
        Pair("Semaphore acquire()+release()", lambda: lock_pair(locks.Semaphore),
             "threading.Semaphore", lambda: lock_pair(threading.Semaphore)),
        Pair("Event.is_set() (set)", event_set,
             "threading.Event.is_set()", thread_event_set),
    ]


def _timer(fn) -> timeit.Timer:
    """fn: a zero-argument callable, or a (statement, globals) pair."""
    return timeit.Timer(fn[0], globals=fn[1]) if isinstance(fn, tuple) else timeit.Timer(fn)


def _best_ns_pair(ours, theirs, number: int, repeat: int) -> tuple[float, float]:
    """Best time per call of each side, the two sides interleaved run by run so
    that a noisy moment on the machine cannot favour one of them."""
    a, b = _timer(ours), _timer(theirs)
    best_a = best_b = float("inf")
    for _ in range(repeat):
        best_a = min(best_a, a.timeit(number))
        best_b = min(best_b, b.timeit(number))
    return best_a / number * 1e9, best_b / number * 1e9


def _run_threads(n: int, target: Callable[[], None]) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _functional_checks() -> list[tuple[str, bool]]:
    """Short multi-threaded checks that the native primitives work here."""
    from interlock import atomic, locks

    checks = []
    n_threads, n = 4, 20_000

    counter = atomic.AtomicInt()

    def incs() -> None:
        inc = counter.inc
        for _ in range(n):
            inc()

    _run_threads(n_threads, incs)
    checks.append((f"AtomicInt: {n_threads} threads x {n} inc(), none lost",
                   counter.load() == n_threads * n))

    lock, box = locks.Lock(), [0]

    def guarded() -> None:
        for _ in range(n):
            with lock:
                box[0] += 1

    _run_threads(n_threads, guarded)
    checks.append((f"Lock: {n_threads} threads x {n} guarded read-modify-writes, none lost",
                   box[0] == n_threads * n))

    rw, state, bad = locks.RWLock(), [0, 0], []

    def writer() -> None:
        for i in range(n // 10):
            with rw.write_guard():
                state[0] = i
                state[1] = i

    def reader() -> None:
        for _ in range(n // 10):
            with rw.read_guard():
                if state[0] != state[1]:
                    bad.append(tuple(state))

    threads = [threading.Thread(target=writer), threading.Thread(target=reader),
               threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checks.append(("RWLock: readers never see a half-done write", not bad))

    event, seen = locks.Event(), []
    waiters = [threading.Thread(target=lambda: seen.append(event.wait(10))) for _ in range(3)]
    for t in waiters:
        t.start()
    event.set()
    for t in waiters:
        t.join()
    checks.append(("Event: set() wakes every waiter", seen == [True] * 3))

    lock.acquire()
    t0 = timeit.default_timer()
    got = lock.acquire(timeout=0.05)
    waited = timeit.default_timer() - t0
    lock.release()
    checks.append(("Lock: acquire(timeout=0.05) on a held lock times out on time",
                   got is False and 0.05 <= waited < 2.0))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interlock", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--quick", action="store_true", help="fewer and shorter timing runs")
    args = parser.parse_args(argv)

    info = interlock.build_info()
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    number, repeat = (50_000, 3) if args.quick else (200_000, 7)

    checks = _functional_checks()
    rows = []
    for pair in _pairs():
        ours, theirs = _best_ns_pair(pair.ours(), pair.theirs(), number, repeat)
        rows.append({"operation": pair.name, "ns": ours, "stdlib": pair.theirs_name,
                     "stdlib_ns": theirs, "ratio": ours / theirs})

    report = {
        "version": interlock.__version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "gil_enabled_now": gil,
        "build": info,
        "checks": [{"check": name, "ok": ok} for name, ok in checks],
        "benchmarks": rows,
    }
    ok = all(ok for _, ok in checks)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if ok else 1

    print(f"interlock {interlock.__version__}")
    print(f"  python    {report['python']} ({'free-threaded' if info.get('free_threaded') else 'GIL build'}"
          f"; GIL {'enabled' if gil else 'disabled'} at run time)")
    for key in sorted(info):
        print(f"  {key:<9} {info[key]}")
    print("\nchecks")
    for name, passed in checks:
        print(f"  [{'ok' if passed else 'FAIL'}] {name}")
    print(f"\nbenchmarks (best of {repeat} x {number} calls; ratio = ours / stdlib, lower is better)")
    w = max(len(r["operation"]) for r in rows)
    w2 = max(len(r["stdlib"]) for r in rows)
    print(f"  {'operation':<{w}}  {'ns':>7}  {'stdlib counterpart':<{w2}}  {'ns':>7}  {'ratio':>6}")
    for r in rows:
        print(f"  {r['operation']:<{w}}  {r['ns']:7.1f}  {r['stdlib']:<{w2}}  {r['stdlib_ns']:7.1f}  {r['ratio']:6.2f}")
    return 0 if ok else 1
