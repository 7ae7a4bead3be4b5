"""The report's self-check: short multi-threaded runs showing that the native
primitives work on this machine and interpreter (no lost update, mutual
exclusion, wake-ups, timeouts)."""

from __future__ import annotations

import threading
import timeit
from collections.abc import Callable


def _run_threads(n: int, target: Callable[[], None]) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def functional_checks() -> list[tuple[str, bool]]:
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
