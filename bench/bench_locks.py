"""interlock.locks against threading's locks, measured in one process.

    python bench/bench_locks.py            # table
    python bench/bench_locks.py --json     # JSON on stdout
    python bench/bench_locks.py --quick    # shorter runs (smoke test)

Single-thread rows time a statement in a timeit loop whose names are locals
(methods pre-bound in the setup, e.g. ``a = lock.acquire; r = lock.release``
then ``a(); r()``), so only the callee differs between an interlock row and
its threading reference. The cases run round-robin, ``--repeat`` rounds of
``--number`` executions each; each case reports its best round (ns per
execution, the timeit loop included: its cost is the "loop" row).

The contended rows run ``--threads`` threads (default 2) that each do
``--iterations`` (default 200 000) iterations of a tiny critical section in two
forms, ``with lock: x[0] += 1`` and pre-bound ``a(); x[0] += 1; r()``, started
together by a barrier; best wall time of ``--contended-repeat`` runs, all cases
round-robin. ``NullLock`` (_interlock_fixtures) is a lock whose methods
do nothing, bound exactly like Lock's: what a lock costing nothing would reach
(on a GIL build, the ceiling of the loop; on a free-threaded build its threads
also race on ``x``, which real exclusion avoids). The "alone" rows run all the
iterations on one thread, uncontended; "bound" is Lock alone times the number
of threads that can run in parallel (1 with a GIL) over threading.Lock
contended: no lock as fast as Lock can pass it, since N threads never do more
than N times the work of one. On a GIL build the GIL serialises the threads
anyway (the lock mostly decides how often the GIL changes hands); on a
free-threaded build it is real contention.

Goals (see the brief in docs): Lock pair <= 0.9x threading.Lock's, ``with``
<= 1.0x, contended throughput >= 3x.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import sysconfig
import threading
import time

GIL_BEFORE_IMPORT = getattr(sys, "_is_gil_enabled", lambda: True)()

import interlock  # noqa: E402
from interlock.compat.syncx import locks as sx  # noqa: E402
import _fixtures  # noqa: E402
from interlock.locks import Lock, RLock, RWLock  # noqa: E402
from _timing import best_ns, best_seconds  # noqa: E402
from _timing import ratios as ratio_table  # noqa: E402

_bench = _fixtures.require()  # Counter, NullLock, NullMap (test-only module)

GIL_AFTER_IMPORT = getattr(sys, "_is_gil_enabled", lambda: True)()

# name -> (description, setup, statement); setup/statement run with the names below.
CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("empty timeit loop (included in every row)", "", "pass"),
    "lock_pair": ("Lock: a(); r()  (pre-bound acquire/release)",
                  "l = Lock(); a = l.acquire; r = l.release", "a(); r()"),
    "tlock_pair": ("threading.Lock: a(); r()",
                   "l = threading.Lock(); a = l.acquire; r = l.release", "a(); r()"),
    "sx_lock_pair": ("syncx façade Lock: a(); r()",
                     "l = sx.Lock(); a = l.acquire; r = l.release", "a(); r()"),
    "lock_mpair": ("Lock: l.acquire(); l.release()", "l = Lock()", "l.acquire(); l.release()"),
    "tlock_mpair": ("threading.Lock: l.acquire(); l.release()", "l = threading.Lock()",
                    "l.acquire(); l.release()"),
    "lock_with": ("with Lock: pass", "l = Lock()", "with l: pass"),
    "tlock_with": ("with threading.Lock: pass", "l = threading.Lock()", "with l: pass"),
    "sx_lock_with": ("with syncx façade Lock: pass", "l = sx.Lock()", "with l: pass"),
    "lock_try": ("Lock: t(); r()  (try_acquire)", "l = Lock(); t = l.try_acquire; r = l.release",
                 "t(); r()"),
    "tlock_nb": ("threading.Lock: a(False); r()",
                 "l = threading.Lock(); a = l.acquire; r = l.release", "a(False); r()"),
    "lock_nb": ("Lock: a(False); r()", "l = Lock(); a = l.acquire; r = l.release", "a(False); r()"),
    "lock_guard": ("with Lock.guard(): pass", "l = Lock(); g = l.guard", "with g(): pass"),
    "rlock_pair": ("RLock: a(); r()", "l = RLock(); a = l.acquire; r = l.release", "a(); r()"),
    "trlock_pair": ("threading.RLock: a(); r()",
                    "l = threading.RLock(); a = l.acquire; r = l.release", "a(); r()"),
    "rlock_with": ("with RLock: pass", "l = RLock()", "with l: pass"),
    "trlock_with": ("with threading.RLock: pass", "l = threading.RLock()", "with l: pass"),
    "rw_read_pair": ("RWLock: ar(); rr()  (acquire_read/read_release)",
                     "l = RWLock(); ar = l.acquire_read; rr = l.read_release", "ar(); rr()"),
    "rw_write_pair": ("RWLock: aw(); wr()  (acquire_write/write_release)",
                      "l = RWLock(); aw = l.acquire_write; wr = l.write_release", "aw(); wr()"),
    "rw_read_guard": ("with RWLock.read_guard(): pass", "l = RWLock(); g = l.read_guard",
                      "with g(): pass"),
}

RATIOS: list[tuple[str, str, str, str]] = [
    ("lock_pair", "Lock pair / threading.Lock pair  (goal <= 0.9)", "lock_pair", "tlock_pair"),
    ("lock_mpair", "l.acquire(); l.release() / threading's", "lock_mpair", "tlock_mpair"),
    ("lock_with", "with Lock / with threading.Lock  (goal <= 1.0)", "lock_with", "tlock_with"),
    ("lock_nb", "a(False); r() / threading's", "lock_nb", "tlock_nb"),
    ("sx_lock_pair", "syncx façade Lock pair / Lock pair", "sx_lock_pair", "lock_pair"),
    ("sx_lock_with", "with syncx façade Lock / with Lock", "sx_lock_with", "lock_with"),
    ("rlock_pair", "RLock pair / threading.RLock pair", "rlock_pair", "trlock_pair"),
    ("rlock_with", "with RLock / with threading.RLock", "rlock_with", "trlock_with"),
    ("rw_read_pair", "RWLock read pair / threading.Lock pair", "rw_read_pair", "tlock_pair"),
]


def measure(number: int, repeat: int) -> dict[str, float]:
    """Best ns per call of every case (bench/_timing.py)."""
    env = {"Lock": Lock, "RLock": RLock, "RWLock": RWLock, "sx": sx, "threading": threading}
    return best_ns(CASES, env, number, repeat)


def _with_body(lock, x, iterations):
    def body() -> None:
        for _ in range(iterations):
            with lock:
                x[0] += 1
    return body


def _pair_body(lock, x, iterations):
    def body() -> None:
        a = lock.acquire
        r = lock.release
        for _ in range(iterations):
            a()
            x[0] += 1
            r()
    return body


FORMS = {"with": ("`with lock: x[0] += 1`", _with_body),
         "pair": ("`a(); x[0] += 1; r()` (a, r = lock.acquire, lock.release)", _pair_body)}


def contended_once(lock, form: str, n_threads: int, iterations: int) -> float:
    x = [0]
    barrier = threading.Barrier(n_threads + 1)
    body = FORMS[form][1](lock, x, iterations)

    def work() -> None:
        barrier.wait()
        body()

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if x[0] != n_threads * iterations and not isinstance(lock, _bench.NullLock):
        raise AssertionError(f"lost updates: {x[0]} != {n_threads * iterations}")
    return elapsed


# The contended makers. NullLock's methods do nothing (bound exactly like
# Lock's): its throughput is the ceiling that no lock can pass in this loop.
MAKERS = {"Lock": Lock, "threading.Lock": threading.Lock, "NullLock": _bench.NullLock,
          "RLock": RLock, "threading.RLock": threading.RLock}


# "alone" rows: one thread runs all the iterations by itself, no contention.
ALONE = {"Lock alone": Lock, "threading.Lock alone": threading.Lock}


def contended(n_threads: int, iterations: int, repeat: int) -> dict[str, dict[str, dict]]:
    """form -> case -> {seconds, mops_per_s}; all cases run round-robin."""
    cases = {**{k: (make, n_threads, iterations) for k, make in MAKERS.items()},
             **{k: (make, 1, n_threads * iterations) for k, make in ALONE.items()}}
    runs = {(f, k): (lambda f=f, make=make, n=n, iters=iters:
                     contended_once(make(), f, n, iters))
            for f in FORMS for k, (make, n, iters) in cases.items()}
    best = best_seconds(runs, repeat)
    ops = n_threads * iterations
    return {f: {k: {"seconds": best[f, k], "mops_per_s": ops / best[f, k] / 1e6} for k in cases}
            for f in FORMS}


def contended_ratios(cont: dict, n_threads: int) -> dict[str, dict[str, float]]:
    """Throughput ratios per form. "bound" is the most Lock could reach: its
    throughput alone, times the number of threads when they run in parallel
    (no GIL), over threading.Lock's contended throughput. N threads never do
    more than N times the work of one, and the critical section is serialised,
    so the true limit is lower still."""
    parallel = 1 if getattr(sys, "_is_gil_enabled", lambda: True)() else n_threads
    out = {}
    for f, row in cont.items():
        def r(a: str, b: str) -> float:
            return row[a]["mops_per_s"] / row[b]["mops_per_s"]
        out[f] = {"Lock": r("Lock", "threading.Lock"), "RLock": r("RLock", "threading.RLock"),
                  "ceiling": r("NullLock", "threading.Lock"),
                  "bound": parallel * r("Lock alone", "threading.Lock")}
    return out


def handoff_once(make, trips: int) -> float:
    """Two threads pass two locks back and forth (a lock used as a binary
    semaphore: any thread may release it); returns seconds for `trips` round
    trips. Every acquire finds the lock taken, so this times waking a parked
    thread, twice per round trip."""
    ping, pong = make(), make()
    ping.acquire()
    pong.acquire()
    ready = threading.Barrier(2)

    def other() -> None:
        ready.wait()
        for _ in range(trips):
            ping.acquire()
            pong.release()

    t = threading.Thread(target=other)
    t.start()
    ready.wait()
    t0 = time.perf_counter()
    for _ in range(trips):
        ping.release()
        pong.acquire()
    elapsed = time.perf_counter() - t0
    t.join()
    return elapsed


def handoff(trips: int, repeat: int) -> dict[str, float]:
    """Round trips per second, best of `repeat`, round-robin."""
    makers = {"Lock": Lock, "threading.Lock": threading.Lock}
    best = best_seconds({k: lambda make=make: handoff_once(make, trips)
                         for k, make in makers.items()}, repeat)
    return {k: trips / s for k, s in best.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--number", type=int, default=1_000_000, help="executions per round")
    ap.add_argument("--repeat", type=int, default=15, help="rounds; the best counts")
    ap.add_argument("--threads", type=int, default=2, help="threads of the contended rows")
    ap.add_argument("--iterations", type=int, default=200_000,
                    help="`with lock` blocks per thread in the contended rows")
    ap.add_argument("--contended-repeat", type=int, default=5, help="contended runs; best counts")
    ap.add_argument("--trips", type=int, default=20_000,
                    help="round trips of the hand-off row")
    ap.add_argument("--quick", action="store_true", help="small numbers (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.number, args.repeat = 50_000, 3
        args.iterations, args.contended_repeat, args.trips = 20_000, 1, 2_000

    ns = measure(args.number, args.repeat)
    ratios = ratio_table(ns, RATIOS)
    cont = contended(args.threads, args.iterations, args.contended_repeat)
    cont_ratios = contended_ratios(cont, args.threads)
    trips = handoff(args.trips, args.contended_repeat)
    import threading as _t

    sizes = {"Lock": sys.getsizeof(Lock()), "threading.Lock": sys.getsizeof(_t.Lock()),
             "RLock": sys.getsizeof(RLock()), "threading.RLock": sys.getsizeof(_t.RLock()),
             "RWLock": sys.getsizeof(RWLock())}
    report = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled_before_import": GIL_BEFORE_IMPORT,
        "gil_enabled_after_import": GIL_AFTER_IMPORT,
        "interlock": interlock.__version__,
        "cpus": os.cpu_count(),
        "loadavg_1min": os.getloadavg()[0],
        "number": args.number,
        "repeat": args.repeat,
        "ns_per_op": ns,
        "ratios": ratios,
        "ratio_labels": {key: label for key, label, _, _ in RATIOS},
        "contended": {"threads": args.threads, "iterations_per_thread": args.iterations,
                      "repeat": args.contended_repeat, "results": cont,
                      "throughput_ratios": cont_ratios},
        "handoff": {"trips": args.trips, "round_trips_per_s": trips},
        "sizes": sizes,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ft = "free-threaded" if report["free_threaded_build"] else "GIL build"
    print(f"Python {report['python']} ({ft}; GIL enabled after import: {GIL_AFTER_IMPORT}), "
          f"interlock {interlock.__version__}, best of {args.repeat} x {args.number}, "
          f"load {report['loadavg_1min']:.2f}, {report['cpus']} CPUs")
    w = max(len(d) for d, _, _ in CASES.values())
    print(f"\n  {'case':<{w}}  ns/op")
    for k, (desc, _, _) in CASES.items():
        print(f"  {desc:<{w}}  {ns[k]:7.2f}")
    w = max(len(label) for _, label, _, _ in RATIOS)
    print(f"\n  {'ratio':<{w}}  value")
    for key, label, _, _ in RATIOS:
        print(f"  {label:<{w}}  {ratios[key]:5.2f}")
    print(f"\n  contended: {args.threads} threads x {args.iterations} iterations, "
          f"best of {args.contended_repeat}")
    for f, row in cont.items():
        print(f"  {FORMS[f][0]}")
        for k, v in row.items():
            print(f"    {k:<20} {v['seconds'] * 1e3:9.1f} ms  {v['mops_per_s']:6.2f} Mops/s")
        cr = cont_ratios[f]
        print(f"    throughput Lock / threading.Lock      {cr['Lock']:5.2f}  (goal >= 3)")
        print(f"    NullLock / threading.Lock             {cr['ceiling']:5.2f}  "
              "(a lock that costs nothing and excludes nobody)")
        print(f"    bound for Lock / threading.Lock       {cr['bound']:5.2f}  "
              "(Lock alone x parallel threads / threading.Lock contended)")
        print(f"    throughput RLock / threading.RLock    {cr['RLock']:5.2f}")
    print(f"\n  hand-off: 2 threads pass 2 locks back and forth, {args.trips} round trips")
    for k, v in trips.items():
        print(f"    {k:<20} {v / 1e3:9.1f} k round trips/s")
    print("\n  sys.getsizeof: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
