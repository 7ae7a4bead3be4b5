"""ConcurrentDict against dict: item get/set cost, memory per entry, and, on
a free-threaded build, how a 50/50 get/set mix scales from one thread to two.

    python bench/bench_collections_map.py            # table
    python bench/bench_collections_map.py --json     # JSON on stdout
    python bench/bench_collections_map.py --quick    # shorter runs (smoke test)

Calls: a 1000-key mapping (keys: ints 10**6.., or interned strs); each timed
statement walks the key list once (``for k in keys: d[k]``), so a row's time
per operation includes the loop's step (the ``loop`` row). Cases run
round-robin, ``--repeat`` rounds of ``--number`` walks, best round kept, in
one process; ratios are of those raw times (goal: ConcurrentDict / dict <=
1.3 for ``d[k]`` and ``d[k] = v``). ``net`` ratios subtract the loop first.
The ``LocalWrapper(dict)`` rows are a floor for any mapping that is not an
exact dict (whose ``d[k]`` the interpreter specialises, BINARY_SUBSCR_DICT /
STORE_SUBSCR_DICT on 3.12+): the same dict lookup reached through a type
slot (LocalWrapper's mp_subscript forwards to the dict's).

Memory: ``sys.getsizeof`` of a ConcurrentDict (its ``__sizeof__`` counts the
object, the shard headers and every table allocation) and of a dict holding
the same N int keys, per entry (goal: <= 1.3x dict's). Keys and values are
shared by both and not counted.

Scaling (meaningful on free-threaded builds; under the GIL threads take
turns): T threads share one mapping of 1000 interned-str keys and each walks
its own random pairs doing ``d[a] = v; d[b]`` (50% sets, 50% gets); values
are small ints. Interned strs and small ints are immortal on 3.13t, so the
figures measure the mapping, not reference-count traffic on shared keys.
Throughput (operations/s over all threads, first worker's start to last finish) with
2 threads against 1 (goal on 3.13t: >= 1.7) for ConcurrentDict, plain dict
and a dict behind a threading.Lock; the "private dicts" row runs the same
loop with each thread on a dict of its own (nothing shared): no shared
mapping can scale better than that row on the machine at that moment.
The "NullMap" row runs the shared-mapping loop on an object whose
``__getitem__`` / ``__setitem__`` are C slots that do nothing
(_interlock_fixtures.NullMap): what sharing one object costs by
itself on that interpreter (on 3.13t every use of ``m`` increfs it, an
atomic add on the same cache line from both threads), the ceiling of any
shared mapping reached through type slots; "NullMap, one per thread" is the
same loop on unshared objects. "ConcurrentDict via LocalWrapper per thread"
shares one ConcurrentDict but each thread reaches it through a wrapper of its
own (the wrapper forwards to a borrowed reference), so the shared object's
reference count is not touched: the map's own scaling. The objects of these
two rows are made by the thread that uses them (two small objects made one
after the other would share a cache line).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import sys
import threading
import time

import interlock
import _fixtures
from interlock.collections import ConcurrentDict, LocalWrapper
from _timing import best_ns, best_seconds  # noqa: E402
from _timing import ratios as ratio_table  # noqa: E402

_bench = _fixtures.require()  # Counter, NullLock, NullMap (test-only module)

FREE_THREADED = not getattr(sys, "_is_gil_enabled", lambda: True)()
NKEYS = 1000

CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("for k in keys: pass   (in every row)", "ks = ikeys", "for k in ks: pass"),
    "dict_get": ("dict d[k]  int keys", "ks = ikeys; m = idict", "for k in ks: m[k]"),
    "cd_get": ("ConcurrentDict d[k]  int keys", "ks = ikeys; m = icd", "for k in ks: m[k]"),
    "dict_set": ("dict d[k] = v  int keys", "ks = ikeys; m = idict", "for k in ks: m[k] = k"),
    "cd_set": ("ConcurrentDict d[k] = v  int keys", "ks = ikeys; m = icd", "for k in ks: m[k] = k"),
    "dict_in": ("dict k in d  int keys", "ks = ikeys; m = idict", "for k in ks: k in m"),
    "cd_in": ("ConcurrentDict k in d  int keys", "ks = ikeys; m = icd", "for k in ks: k in m"),
    "dict_get_s": ("dict d[k]  str keys", "ks = skeys; m = sdict", "for k in ks: m[k]"),
    "cd_get_s": ("ConcurrentDict d[k]  str keys", "ks = skeys; m = scd", "for k in ks: m[k]"),
    "dict_set_s": ("dict d[k] = v  str keys", "ks = skeys; m = sdict", "for k in ks: m[k] = 1"),
    "cd_set_s": ("ConcurrentDict d[k] = v  str keys", "ks = skeys; m = scd", "for k in ks: m[k] = 1"),
    "lw_get": ("LocalWrapper(dict) d[k]  int keys  (slot floor)", "ks = ikeys; m = ilw",
               "for k in ks: m[k]"),
    "lw_set": ("LocalWrapper(dict) d[k] = v  int keys  (slot floor)", "ks = ikeys; m = ilw",
               "for k in ks: m[k] = k"),
    "dict_eqkey": ("dict d[k]  equal, non-identical int keys", "ks = ikeys2; m = idict",
                   "for k in ks: m[k]"),
    "cd_eqkey": ("ConcurrentDict d[k]  equal, non-identical int keys", "ks = ikeys2; m = icd",
                 "for k in ks: m[k]"),
}

RATIOS: list[tuple[str, str, str, str]] = [
    ("get", "d[k] int keys: ConcurrentDict / dict  (goal <= 1.3)", "cd_get", "dict_get"),
    ("set", "d[k] = v int keys: ConcurrentDict / dict  (goal <= 1.3)", "cd_set", "dict_set"),
    ("contains", "k in d int keys: ConcurrentDict / dict", "cd_in", "dict_in"),
    ("get_str", "d[k] str keys: ConcurrentDict / dict", "cd_get_s", "dict_get_s"),
    ("set_str", "d[k] = v str keys: ConcurrentDict / dict", "cd_set_s", "dict_set_s"),
    ("lw_get_vs_dict", "d[k]: LocalWrapper(dict) / dict  (slot floor)", "lw_get", "dict_get"),
    ("lw_set_vs_dict", "d[k] = v: LocalWrapper(dict) / dict  (slot floor)", "lw_set",
     "dict_set"),
    ("get_vs_lw", "d[k] int keys: ConcurrentDict / LocalWrapper(dict)", "cd_get", "lw_get"),
    ("set_vs_lw", "d[k] = v int keys: ConcurrentDict / LocalWrapper(dict)", "cd_set", "lw_set"),
    ("get_eqkey", "d[k] equal non-identical keys: ConcurrentDict / dict", "cd_eqkey", "dict_eqkey"),
]


def measure_calls(number: int, repeat: int) -> dict[str, float]:
    ikeys = [10**6 + i for i in range(NKEYS)]
    ikeys2 = [int(str(k)) for k in ikeys]  # equal values, distinct objects
    skeys = [sys.intern(f"key{i}") for i in range(NKEYS)]
    env = {
        "ikeys": ikeys, "ikeys2": ikeys2, "skeys": skeys,
        "idict": dict.fromkeys(ikeys, 1), "icd": ConcurrentDict(dict.fromkeys(ikeys, 1)),
        "sdict": dict.fromkeys(skeys, 1), "scd": ConcurrentDict(dict.fromkeys(skeys, 1)),
    }
    env["ilw"] = LocalWrapper(env["idict"])
    ns = best_ns(CASES, env, number, repeat)
    return {k: v / NKEYS for k, v in ns.items()}  # ns per operation


def measure_memory() -> dict[str, dict[str, float]]:
    out = {}
    for n in (1000, 10_000, 100_000):
        keys = list(range(10**6, 10**6 + n))
        d = dict.fromkeys(keys)
        c = ConcurrentDict(d)
        out[str(n)] = {"dict_bytes_per_entry": sys.getsizeof(d) / n,
                       "cd_bytes_per_entry": sys.getsizeof(c) / n,
                       "ratio": sys.getsizeof(c) / sys.getsizeof(d)}
    return out


class _LockedDict:
    """A dict behind a threading.Lock, with the same two operations."""

    def __init__(self, d):
        self.d, self.lock = d, threading.Lock()


def _mix_run(kind: str, m, pairs_per_thread: list[list[tuple[str, str]]]) -> float:
    nthreads = len(pairs_per_thread)
    start = threading.Barrier(nthreads + 1)
    began = [0.0] * nthreads
    done = [0.0] * nthreads

    def work(i: int) -> None:
        pairs = pairs_per_thread[i]
        if kind == "own":  # an object this thread makes (no false sharing with the other's)
            d = m()
        start.wait()
        began[i] = time.perf_counter()
        if kind in ("private", "own"):  # private: each thread its own dict, the machine's bound
            if kind == "private":
                d = m[i]
            for a, b in pairs:
                d[a] = 1
                d[b]
        elif kind == "locked":
            d, lock = m.d, m.lock
            for a, b in pairs:
                with lock:
                    d[a] = 1
                with lock:
                    d[b]
        else:
            for a, b in pairs:
                m[a] = 1
                m[b]
        done[i] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join()
    # From the first worker's start (not the main thread's: with more threads
    # than CPUs it may run late and miss part of the work) to the last finish.
    return max(done) - min(began)


def measure_scaling(n: int, repeat: int) -> dict[str, dict[str, float]]:
    keys = [sys.intern(f"key{i}") for i in range(NKEYS)]
    rng = random.Random(7)
    pairs = [[(rng.choice(keys), rng.choice(keys)) for _ in range(n)] for _ in range(2)]
    makers = {
        "ConcurrentDict": ("plain", lambda: ConcurrentDict(dict.fromkeys(keys, 1))),
        "dict": ("plain", lambda: dict.fromkeys(keys, 1)),
        "dict+Lock": ("locked", lambda: _LockedDict(dict.fromkeys(keys, 1))),
        "private dicts (bound)": ("private", lambda: [dict.fromkeys(keys, 1) for _ in range(2)]),
        "NullMap (shared, no state)": ("plain", _bench.NullMap),
        "NullMap, one per thread": ("own", lambda: _bench.NullMap),
        "ConcurrentDict via LocalWrapper per thread": (
            "own", lambda: functools.partial(LocalWrapper, ConcurrentDict(dict.fromkeys(keys, 1)))),
    }
    runs = {}
    for name, (kind, make) in makers.items():
        runs[f"{name}/1"] = lambda kind=kind, make=make: _mix_run(kind, make(), pairs[:1])
        runs[f"{name}/2"] = lambda kind=kind, make=make: _mix_run(kind, make(), pairs)
    best = best_seconds(runs, repeat)
    out = {}
    for name in makers:
        one = 2 * n / best[f"{name}/1"]       # two operations per pair
        two = 2 * 2 * n / best[f"{name}/2"]
        out[name] = {"one_thread_ops_per_s": one, "two_threads_ops_per_s": two,
                     "scaling": two / one}
    return out


def environment() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "free_threaded": FREE_THREADED,
        "interlock": interlock.__version__,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    ap.add_argument("--number", type=int, default=2000, help="walks of the 1000 keys per round")
    ap.add_argument("--repeat", type=int, default=15, help="rounds (best is kept)")
    ap.add_argument("--scaling-n", type=int, default=500_000, help="get/set pairs per thread")
    ap.add_argument("--scaling-repeat", type=int, default=5)
    ap.add_argument("--only", choices=["calls", "memory", "scaling"], help="run only one part")
    args = ap.parse_args()
    if args.quick:
        args.number, args.repeat = 20, 2
        args.scaling_n, args.scaling_repeat = 5_000, 1

    calls: dict[str, float] = {}
    ratios: dict[str, float] = {}
    net: dict[str, float] = {}
    memory: dict[str, dict[str, float]] = {}
    scaling: dict[str, dict[str, float]] = {}
    if args.only in (None, "calls"):
        calls = measure_calls(args.number, args.repeat)
        ratios = ratio_table(calls, RATIOS)
        net = {key: (calls[a] - calls["loop"]) / (calls[b] - calls["loop"])
               for key, _, a, b in RATIOS}
    if args.only in (None, "memory"):
        memory = measure_memory()
    if args.only in (None, "scaling"):
        scaling = measure_scaling(args.scaling_n, args.scaling_repeat)
    result = {"environment": environment(), "ns_per_op": calls, "ratios": ratios,
              "net_ratios": net, "memory": memory, "scaling": scaling}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    env = result["environment"]
    print(f"Python {env['python']} ({'free-threaded' if env['free_threaded'] else 'GIL'}), "
          f"interlock {env['interlock']}, {env['cpus']} CPUs")
    if calls:
        print(f"\n{'case (1000 keys)':<52} {'ns/op':>7}")
        for k, (label, _, _) in CASES.items():
            print(f"{label:<52} {calls[k]:7.1f}")
        print(f"\n{'ratio':<60} {'raw':>6} {'net':>6}")
        for key, label, _, _ in RATIOS:
            print(f"{label:<60} {ratios[key]:6.2f} {net[key]:6.2f}")
    if memory:
        print(f"\n{'entries':>8} {'dict B/entry':>13} {'ConcurrentDict B/entry':>23} {'ratio':>6}")
        for n, r in memory.items():
            print(f"{n:>8} {r['dict_bytes_per_entry']:13.1f} {r['cd_bytes_per_entry']:23.1f} "
                  f"{r['ratio']:6.2f}")
    if scaling:
        print(f"\n{'50/50 get/set, shared 1000 keys':<32} {'1 thread ops/s':>15} "
              f"{'2 threads ops/s':>16} {'2T/1T':>6}")
        for name, r in scaling.items():
            print(f"{name:<32} {r['one_thread_ops_per_s']:15.3e} "
                  f"{r['two_threads_ops_per_s']:16.3e} {r['scaling']:6.2f}")


if __name__ == "__main__":
    main()
