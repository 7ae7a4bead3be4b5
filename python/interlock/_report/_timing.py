"""Timing for the report: every implementation of a row is measured in the
same rounds, one after the other (interleaved), so that a noisy moment on the
machine hits all of them alike and the ratios stay meaningful even when the
absolute figures drift.

This is the installed twin of ``bench/_timing.py`` (``bench/`` is not part of
the package); the two follow the same rules: a warm-up run per case first (the
specialising interpreter settles), then ``repeat`` round-robin rounds, best
round kept.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Sequence


def calibrate(timer: timeit.Timer, target_s: float, max_number: int = 10_000_000) -> int:
    """Executions per round so that one round of ``timer`` lasts about ``target_s``."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target_s / 4 or number >= max_number:
            break
        number *= 10 if elapsed < target_s / 100 else 2
    if elapsed <= 0:
        return min(max_number, number * 10)
    return max(1, min(max_number, int(number * target_s / elapsed)))


def best_ns_interleaved(timers: Sequence[timeit.Timer], number: int, repeat: int,
                        tick: Callable[[], None] = lambda: None) -> list[float]:
    """Best nanoseconds per execution of each timer over ``repeat`` rounds;
    ``tick`` is called after every round (progress)."""
    for t in timers:  # warm-up
        t.timeit(max(1, number // 10))
    best = [float("inf")] * len(timers)
    for _ in range(repeat):
        for i, t in enumerate(timers):
            best[i] = min(best[i], t.timeit(number) / number * 1e9)
        tick()
    return best


def best_seconds_interleaved(runs: Sequence[Callable[[], float]], repeat: int,
                             tick: Callable[[], None] = lambda: None) -> list[float]:
    """Fewest seconds each run took (a run times itself and returns seconds),
    over ``repeat`` round-robin rounds after one warm-up round."""
    for run in runs:
        run()
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            best[i] = min(best[i], run())
        tick()
    return best
