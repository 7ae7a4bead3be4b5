"""Shared timing for the Python benchmarks in bench/ (run them as scripts:
``python bench/bench_locks.py``; this directory is then on sys.path)."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
import timeit
from collections.abc import Callable

# A case: (description, setup statement, timed statement).
Case = tuple[str, str, str]
# A ratio: (key, label, numerator case, denominator case).
Ratio = tuple[str, str, str, str]


def best_ns(cases: dict[str, Case], env: dict[str, object], number: int, repeat: int,
            warm_up: bool = True) -> dict[str, float]:
    """Best nanoseconds per execution of every case. Cases are interleaved
    round by round, so a noisy moment on the machine hits all of them alike;
    a short warm-up round first lets the interpreter specialise."""
    timers = {k: timeit.Timer(stmt, setup=setup, globals=env) for k, (_, setup, stmt) in cases.items()}
    if warm_up:
        for t in timers.values():
            t.timeit(min(number, 20_000))
    best = {k: float("inf") for k in cases}
    for _ in range(repeat):
        for k, t in timers.items():
            best[k] = min(best[k], t.timeit(number) / number * 1e9)
    return best


def best_seconds(runs: dict[str, Callable[[], float]], repeat: int) -> dict[str, float]:
    """Fewest seconds each run took (a run times itself and returns seconds),
    over `repeat` rounds that run every case once, round-robin."""
    best = {k: float("inf") for k in runs}
    for _ in range(repeat):
        for k, run in runs.items():
            best[k] = min(best[k], run())
    return best


def ratios(values: dict[str, float], table: list[Ratio]) -> dict[str, float]:
    """numerator / denominator for every row of a RATIOS table."""
    return {key: values[a] / values[b] for key, _, a, b in table}


def environment() -> dict[str, object]:
    """The head of every script's JSON report: interpreter, build, interlock
    version, machine load."""
    import interlock

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "interlock": interlock.__version__,
        "loadavg_1min": os.getloadavg()[0],
    }
