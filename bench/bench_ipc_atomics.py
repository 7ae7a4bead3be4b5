"""Cost of interlock.ipc's buffer atomics on shared memory, against a
multiprocessing.Value updated under its lock (what code shares a counter
between processes with today), the thread AtomicInt, and a no-op C method.

    python bench/bench_ipc_atomics.py            # table
    python bench/bench_ipc_atomics.py --json     # JSON on stdout
    python bench/bench_ipc_atomics.py --quick    # shorter runs (smoke test)

Every case runs in one process, round-robin (``--repeat`` rounds of
``--number`` executions), and reports its best round in ns per execution,
the timeit loop included (its cost is the ``loop`` row). The atomics are
views of an 8-byte slice of a multiprocessing.shared_memory block, as another
process would map it. Goal: ``v.add(1)`` on shared memory <= 0.25x
``with value.get_lock(): value.value += 1``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
from multiprocessing import shared_memory

import interlock
import interlock.ipc as ipc
import _fixtures
from interlock.atomic import AtomicInt
from _timing import best_ns, ratios  # noqa: E402

_bench = _fixtures.require()  # Counter, NullLock, NullMap (test-only module)

CASES = {
    "loop": ("empty timeit loop", "", "pass"),
    "noop": ("no-op C method, pre-bound: f()", "f = null.release", "f()"),
    "shm_add": ("shm INT8 view: v.add(1)", "", "v.add(1)"),
    "shm_add_bound": ("shm INT8 view, pre-bound: f(1)", "f = v.add", "f(1)"),
    "shm_fetch_add": ("shm INT8 view: v.fetch_add(1)", "", "v.fetch_add(1)"),
    "shm_inc": ("shm INT8 view: v.inc()", "", "v.inc()"),
    "shm_load": ("shm INT8 view: v.load()", "", "v.load()"),
    "shm_store": ("shm INT8 view: v.store(5)", "", "v.store(5)"),
    "shm_cmpxchg": ("shm INT8 view: v.cmpxchg_strong(0, 0)", "", "v.cmpxchg_strong(0, 0)"),
    "shm_add_order": ("shm INT8 view: v.add(1, RELAXED)", "", "v.add(1, relaxed)"),
    "owned_add": ("atomic(8, INT): a.add(1)", "", "a.add(1)"),
    "thread_atomic": ("interlock.atomic.AtomicInt: t.fetch_add(1)", "", "t.fetch_add(1)"),
    "mp_value_locked": ("multiprocessing.Value('q'): with get_lock(): value += 1", "",
                        "with mv.get_lock():\n    mv.value += 1"),
    "mp_value_nolock": ("multiprocessing.Value('q', lock=False): value += 1 (racy)", "",
                        "rv.value += 1"),
}

RATIOS = [
    ("add_vs_mp_value", "shm v.add(1) / locked Value += 1 (goal <= 0.25)",
     "shm_add", "mp_value_locked"),
    ("add_vs_thread_atomic", "shm v.add(1) / thread AtomicInt.fetch_add(1)",
     "shm_add", "thread_atomic"),
    ("add_vs_noop", "shm pre-bound add(1) / no-op C method", "shm_add_bound", "noop"),
    ("fetch_add_vs_mp_value", "shm v.fetch_add(1) / locked Value += 1",
     "shm_fetch_add", "mp_value_locked"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    if args.quick:
        args.number, args.repeat = 2_000, 2

    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        buf = shm.buf[:8]
        with ipc.atomicview(buffer=buf, atype=ipc.INT) as v:
            env = {
                "v": v,
                "a": ipc.atomic(width=8, atype=ipc.INT),
                "t": AtomicInt(),
                "null": _bench.NullLock(),
                "mv": mp.Value("q", 0),
                "rv": mp.Value("q", 0, lock=False),
                "relaxed": ipc.MemoryOrder.RELAXED,
            }
            ns = best_ns(CASES, env, args.number, args.repeat)
            env.clear()
        del buf
    finally:
        shm.close()
        shm.unlink()

    result = {
        "python": platform.python_version() + ("t" if not getattr(
            sys, "_is_gil_enabled", lambda: True)() else ""),
        "interlock": interlock.__version__,
        "number": args.number,
        "repeat": args.repeat,
        "ns": ns,
        "ratios": ratios(ns, RATIOS),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Python {result['python']}, {args.repeat} rounds x {args.number}")
    for key, (label, _, _) in CASES.items():
        print(f"  {label:62s} {ns[key]:8.1f} ns")
    for key, label, _, _ in RATIOS:
        print(f"  {label:62s} {result['ratios'][key]:8.3f}")


if __name__ == "__main__":
    main()
