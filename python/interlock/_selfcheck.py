"""The self-check behind ``python -m interlock``."""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import threading
import timeit
from typing import Callable, NamedTuple

import interlock


class Pair(NamedTuple):
    name: str
    ours: Callable[[], Callable[[], object]]
    theirs_name: str
    theirs: Callable[[], Callable[[], object]]


def _pairs() -> list[Pair]:
    """Benchmarks of interlock operations against their stdlib counterparts.

    Each factory returns a zero-argument callable doing one operation, so the
    two sides are timed the same way (a pre-bound call in a timeit loop).
    """
    from interlock._interlock import _bench

    pairs = [
        Pair(
            "binding: Counter.inc()",
            lambda: _bench.Counter().inc,
            "itertools.count().__next__",
            lambda: itertools.count(10**9).__next__,
        ),
    ]
    return pairs


def _best_ns(fn: Callable[[], object], number: int, repeat: int) -> float:
    t = timeit.Timer(fn)
    return min(t.repeat(repeat=repeat, number=number)) / number * 1e9


def _functional_checks() -> list[tuple[str, bool]]:
    from interlock._interlock import _bench

    checks = []
    c = _bench.Counter()
    n_threads, n_incs = 4, 20_000

    def work() -> None:
        inc = c.inc
        for _ in range(n_incs):
            inc()

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checks.append((f"{n_threads} threads x {n_incs} increments, none lost", c.value() == n_threads * n_incs))
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
        ours = _best_ns(pair.ours(), number, repeat)
        theirs = _best_ns(pair.theirs(), number, repeat)
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
