"""Cost of interlock.atomic's hot methods (and of the syncx / ft_utils façades'
ones) against CPython's own C methods, and, on a free-threaded build, how
increments on two threads scale.

    python bench/bench_atomic.py             # table
    python bench/bench_atomic.py --json      # JSON on stdout
    python bench/bench_atomic.py --quick     # shorter runs (smoke test)

Calls: every case calls a pre-bound callable whose name is a fast local in a
timeit loop (``f = a.inc`` then ``f()``), so only the callee differs between
rows. The cases run round-robin, ``--repeat`` rounds (15) of ``--number``
calls (10**6) each, in one process; each case reports its best round. Times
include the timeit loop (its cost is the ``loop`` row); ratios are of those
raw times. References, all C functions returning a fresh object:

  itertools.count(10**9).__next__   zero arguments, a fresh int (the goal's
                                    reference: AtomicInt().inc <= 1.15x)
  operator.neg(10**9)               one argument (METH_O), a fresh int
  divmod(10**9, 7)                  two arguments (METH_FASTCALL), a fresh tuple

Scaling (free-threaded builds; also run elsewhere, where the GIL serialises
it): T threads each increment their own AtomicInt in a loop; throughput
(increments/s over all threads, from a common start to the last finish) with
2 threads against 1 (goal on 3.13t: >= 1.8). Variants: two AtomicInts that
are neighbours in memory (consecutive allocator blocks: the worst case for
false sharing; on free-threaded builds each value has a 64-byte line of its
own), two allocated each by its own thread, and, for comparison,
_bench.Counter (a std::atomic<int64_t> without padding) with both values in
the same cache line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import operator
import os
import platform
import sys
import threading
import time

import interlock
import _fixtures
from interlock.atomic import AtomicBool, AtomicFloat, AtomicInt, AtomicReference
from interlock.compat.ft_utils.concurrency import AtomicInt64 as FtAtomicInt64
from interlock.compat.ft_utils.concurrency import AtomicReference as FtAtomicReference
from interlock.compat.syncx.atomic import AtomicInt as SxAtomicInt
from _timing import best_ns  # noqa: E402
from _timing import ratios as ratio_table  # noqa: E402

_bench = _fixtures.require()  # Counter, NullLock, NullMap (test-only module)

FREE_THREADED = not getattr(sys, "_is_gil_enabled", lambda: True)()

# name -> (label, setup, statement); the setup runs inside timeit's function,
# so `f`, `x`, `y` are fast locals.
CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("empty timeit loop (included in every row)", "", "pass"),
    "count_next": ("itertools.count(10**9).__next__()", "f = itertools.count(10**9).__next__", "f()"),
    "neg": ("operator.neg(10**9)   [METH_O reference]", "f = operator.neg; x = 10**9", "f(x)"),
    "divmod": ("divmod(10**9, 7)      [2-arg reference]", "f = divmod; x = 10**9; y = 7", "f(x, y)"),
    "inc": ("AtomicInt(10**9).inc()", "f = AtomicInt(10**9).inc", "f()"),
    "fetch_inc": ("AtomicInt(10**9).fetch_inc()", "f = AtomicInt(10**9).fetch_inc", "f()"),
    "load": ("AtomicInt(10**9).load()", "f = AtomicInt(10**9).load", "f()"),
    "store": ("AtomicInt().store(10**9)", "f = AtomicInt().store; x = 10**9", "f(x)"),
    "fetch_add": ("AtomicInt(10**9).fetch_add(1)", "f = AtomicInt(10**9).fetch_add; x = 1", "f(x)"),
    "cas": ("AtomicInt(10**9).compare_exchange(10**9, 10**9)",
            "f = AtomicInt(10**9).compare_exchange; x = 10**9", "f(x, x)"),
    "bool_load": ("AtomicBool().load()", "f = AtomicBool().load", "f()"),
    "float_add": ("AtomicFloat().add_fetch(1.0)", "f = AtomicFloat().add_fetch; x = 1.0", "f(x)"),
    "ref_get": ("AtomicReference(obj).get()", "f = AtomicReference(object()).get", "f()"),
    "ref_set": ("AtomicReference().set(obj)", "f = AtomicReference().set; x = object()", "f(x)"),
    "ref_exchange": ("AtomicReference().exchange(obj)", "f = AtomicReference(0).exchange; x = 0",
                     "f(x)"),
    "ref_cas": ("AtomicReference(x).compare_exchange(x, x)",
                "x = object(); f = AtomicReference(x).compare_exchange", "f(x, x)"),
    "sx_inc": ("syncx AtomicInt(10**9).inc()", "f = SxAtomicInt(10**9).inc", "f()"),
    "sx_add": ("syncx AtomicInt(10**9).add(1)", "f = SxAtomicInt(10**9).add; x = 1", "f(x)"),
    "ft_incr": ("ft_utils AtomicInt64(10**9).incr()", "f = FtAtomicInt64(10**9).incr", "f()"),
    "ft_get": ("ft_utils AtomicInt64(10**9).get()", "f = FtAtomicInt64(10**9).get", "f()"),
    "ft_ref_get": ("ft_utils AtomicReference(obj).get()", "f = FtAtomicReference(object()).get",
                   "f()"),
}

# (key, label, numerator, denominator)
RATIOS: list[tuple[str, str, str, str]] = [
    ("inc_vs_count", "AtomicInt.inc / count.__next__  (goal <= 1.15)", "inc", "count_next"),
    ("sx_inc_vs_count", "syncx AtomicInt.inc / count.__next__  (goal <= 1.15)", "sx_inc",
     "count_next"),
    ("ft_incr_vs_count", "ft_utils AtomicInt64.incr / count.__next__  (goal <= 1.15)", "ft_incr",
     "count_next"),
    ("load_vs_count", "AtomicInt.load / count.__next__", "load", "count_next"),
    ("fetch_add_vs_neg", "AtomicInt.fetch_add(1) / operator.neg(x)", "fetch_add", "neg"),
    ("cas_vs_divmod", "AtomicInt.compare_exchange(x, x) / divmod(x, y)", "cas", "divmod"),
    ("ref_get_vs_count", "AtomicReference.get / count.__next__", "ref_get", "count_next"),
    ("ref_set_vs_neg", "AtomicReference.set(x) / operator.neg(x)", "ref_set", "neg"),
]


def measure_calls(number: int, repeat: int) -> dict[str, float]:
    """Best time per call (seconds) of each case, rounds interleaved (bench/_timing.py)."""
    glb = {
        "itertools": itertools, "operator": operator, "AtomicInt": AtomicInt,
        "AtomicBool": AtomicBool, "AtomicFloat": AtomicFloat, "AtomicReference": AtomicReference,
        "SxAtomicInt": SxAtomicInt, "FtAtomicInt64": FtAtomicInt64,
        "FtAtomicReference": FtAtomicReference,
    }
    return {k: ns / 1e9 for k, ns in best_ns(CASES, glb, number, repeat, warm_up=False).items()}


# ------------------------------------------------------------ scaling


def _run_increments(incs: list, n: int) -> float:
    """Runs len(incs) threads, each calling its own bound method n times after
    a common start; returns the wall time until the last one finishes."""
    start = threading.Barrier(len(incs) + 1)
    done = [0.0] * len(incs)

    def work(i: int, make) -> None:
        f = make()
        start.wait()
        for _ in range(n):
            f()
        done[i] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(i, m)) for i, m in enumerate(incs)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return max(done) - t0


def _neighbours(cls, same_line: bool) -> tuple[list, tuple]:
    """Two instances of `cls` that are neighbours in memory (consecutive
    blocks of the allocator), found among a pool of fresh instances. With
    same_line, their C++ payloads (the atomic value) also share one 64-byte
    cache line, if such a pair exists. Returns (pool, pair); keep the pool
    alive while the pair is used."""
    pool = [cls() for _ in range(512)]
    size = cls.__basicsize__
    # nanobind places the C++ object right after the object header and its own
    # 8-byte header (aligned up for over-aligned types, which never share).
    payload = (32 if FREE_THREADED else 16) + 8
    by_addr = sorted(pool, key=id)
    fallback = None
    for a, b in zip(by_addr, by_addr[1:]):
        if id(b) - id(a) != size:
            continue
        if not same_line or (id(a) + payload) // 64 == (id(b) + payload) // 64:
            return pool, (a, b)
        fallback = fallback or (a, b)
    if fallback is None:
        a, b = min(zip(by_addr, by_addr[1:]), key=lambda p: id(p[1]) - id(p[0]))
        fallback = (a, b)
    return pool, fallback


def measure_scaling(n: int, repeat: int) -> dict[str, dict[str, float]]:
    """Increments per second over all threads, best of `repeat`, for 1 and 2
    threads, per variant."""

    def neighbours(cls, same_line=False):
        pool, pair = _neighbours(cls, same_line)
        return [lambda o=o, pool=pool: o.inc for o in pair]

    def own(cls):
        return [lambda: cls().inc for _ in range(2)]  # each allocated by its thread

    variants = {
        "AtomicInt, memory neighbours": lambda: neighbours(AtomicInt),
        "AtomicInt, one per thread": lambda: own(AtomicInt),
        "unpadded counter, same cache line": lambda: neighbours(_bench.Counter, same_line=True),
    }
    out: dict[str, dict[str, float]] = {}
    for name, make in variants.items():
        best1 = best2 = 0.0
        for _ in range(repeat):
            makers = make()
            best1 = max(best1, n / _run_increments(makers[:1], n))
            makers = make()
            best2 = max(best2, 2 * n / _run_increments(makers, n))
        out[name] = {"one_thread_ops_per_s": best1, "two_threads_ops_per_s": best2,
                     "speedup": best2 / best1}
    return out


# ------------------------------------------------------------ main


def environment() -> dict[str, object]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "free_threaded": FREE_THREADED,
        "interlock": interlock.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    ap.add_argument("--number", type=int, default=1_000_000, help="calls per round")
    ap.add_argument("--repeat", type=int, default=15, help="rounds (best is kept)")
    ap.add_argument("--scaling-n", type=int, default=2_000_000,
                    help="increments per thread in the scaling runs")
    ap.add_argument("--scaling-repeat", type=int, default=5)
    ap.add_argument("--only", choices=["calls", "scaling"], help="run only one half")
    args = ap.parse_args()
    if args.quick:
        args.number, args.repeat = 20_000, 3
        args.scaling_n, args.scaling_repeat = 20_000, 1

    calls: dict[str, float] = {}
    ratios: dict[str, float] = {}
    scaling: dict[str, dict[str, float]] = {}
    if args.only != "scaling":
        calls = measure_calls(args.number, args.repeat)
        ratios = ratio_table(calls, RATIOS)
    if args.only != "calls":
        scaling = measure_scaling(args.scaling_n, args.scaling_repeat)
    result = {
        "environment": environment(),
        "settings": {"number": args.number, "repeat": args.repeat,
                     "scaling_n": args.scaling_n, "scaling_repeat": args.scaling_repeat},
        "ns_per_call": {k: v * 1e9 for k, v in calls.items()},
        "ratios": ratios,
        "scaling": scaling,
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return

    env = result["environment"]
    print(f"Python {env['python']} ({'free-threaded' if env['free_threaded'] else 'GIL'}), "
          f"interlock {env['interlock']}, {env['cpus']} CPUs"
          + (f"; best of {args.repeat} x {args.number} calls" if calls else ""))
    if calls:
        print()
        print(f"{'case':<50} {'ns/call':>8}")
        for k, (label, _, _) in CASES.items():
            print(f"{label:<50} {calls[k] * 1e9:8.1f}")
        print()
        print(f"{'ratio':<62} {'value':>6}")
        for key, label, _, _ in RATIOS:
            print(f"{label:<62} {ratios[key]:6.3f}")
    if not scaling:
        return
    print()
    print(f"scaling: {args.scaling_n} increments per thread, best of {args.scaling_repeat}"
          + ("" if FREE_THREADED else "  (GIL build: threads cannot run in parallel)"))
    print(f"{'variant':<38} {'1 thread Mops/s':>16} {'2 threads Mops/s':>17} {'speedup':>8}")
    for name, s in scaling.items():
        print(f"{name:<38} {s['one_thread_ops_per_s'] / 1e6:16.2f} "
              f"{s['two_threads_ops_per_s'] / 1e6:17.2f} {s['speedup']:8.2f}")


if __name__ == "__main__":
    main()
