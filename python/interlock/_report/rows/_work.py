"""Helpers for the workload rows' setup code."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def timed_threads(*workers: Callable[[], object]) -> float:
    """Run each worker in its own thread, all released together by a barrier;
    return the seconds from the release until the last one finished."""
    go = threading.Barrier(len(workers) + 1)

    def body(fn: Callable[[], object]) -> None:
        go.wait()
        fn()

    threads = [threading.Thread(target=body, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0
