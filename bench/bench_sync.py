"""interlock.locks' synchronisation primitives against threading's, in one
process: Semaphore, Event, Condition and Once.

    python bench/bench_sync.py            # table
    python bench/bench_sync.py --json     # JSON on stdout
    python bench/bench_sync.py --quick    # shorter runs (smoke test)

Uncontended operations are timed with timeit: the cases run round-robin,
`--repeat` rounds of `--number` executions each, and each case reports its
best round in ns per execution (timeit loop included; its cost is the first
row). Ratios are interlock / threading, so below 1 means interlock is faster.

The ping-pong passes a turn back and forth between two threads through one
Condition (wait_for / notify under the lock), `--trips` round trips per round;
it reports the best round as round trips per second.
"""

from __future__ import annotations

import argparse
import functools
import json
import threading
import time

import interlock
from interlock import locks
from _timing import best_ns, best_seconds, environment  # noqa: E402
from _timing import ratios as ratio_table  # noqa: E402

# name -> (description, setup, statement). The setup runs inside timeit's
# function, so the names it binds are fast locals.
CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("empty timeit loop (overhead, in every row)", "", "pass"),
    "il_sem": ("a(); r()      Semaphore acquire+release, pre-bound  interlock",
               "s = il.Semaphore(1); a = s.acquire; r = s.release", "a(); r()"),
    "th_sem": ("a(); r()      Semaphore acquire+release, pre-bound  threading",
               "s = th.Semaphore(1); a = s.acquire; r = s.release", "a(); r()"),
    "il_sem_m": ("s.acquire(); s.release()                         interlock",
                 "s = il.Semaphore(1)", "s.acquire(); s.release()"),
    "th_sem_m": ("s.acquire(); s.release()                         threading",
                 "s = th.Semaphore(1)", "s.acquire(); s.release()"),
    "il_bsem_m": ("b.acquire(); b.release()  BoundedSemaphore       interlock",
                  "s = il.BoundedSemaphore(1)", "s.acquire(); s.release()"),
    "th_bsem_m": ("b.acquire(); b.release()  BoundedSemaphore       threading",
                  "s = th.BoundedSemaphore(1)", "s.acquire(); s.release()"),
    "il_sem_with": ("with s: pass                                     interlock",
                    "s = il.Semaphore(1)", "with s: pass"),
    "th_sem_with": ("with s: pass                                     threading",
                    "s = th.Semaphore(1)", "with s: pass"),
    "il_is_set": ("e.is_set()                                       interlock",
                  "e = il.Event()", "e.is_set()"),
    "th_is_set": ("e.is_set()                                       threading",
                  "e = th.Event()", "e.is_set()"),
    "il_set": ("e.set()  (already set)                           interlock",
               "e = il.Event(); e.set()", "e.set()"),
    "th_set": ("e.set()  (already set)                           threading",
               "e = th.Event(); e.set()", "e.set()"),
    "il_wait": ("e.wait()  (set: returns at once)                 interlock",
                "e = il.Event(); e.set()", "e.wait()"),
    "th_wait": ("e.wait()  (set: returns at once)                 threading",
                "e = th.Event(); e.set()", "e.wait()"),
    "il_notify": ("c.notify()  (lock held, no waiters)              interlock",
                  "c = il.Condition(); c.acquire()", "c.notify()"),
    "th_notify": ("c.notify()  (lock held, no waiters)              threading",
                  "c = th.Condition(); c.acquire()", "c.notify()"),
    "il_with_notify": ("with c: c.notify()                               interlock",
                       "c = il.Condition()", "with c: c.notify()"),
    "th_with_notify": ("with c: c.notify()                               threading",
                       "c = th.Condition()", "with c: c.notify()"),
    "il_once": ("call(f)  Once.call, already done                 interlock",
                "o = il.Once(); f = object; o.call(f); call = o.call", "call(f)"),
    "cache": ("g()  functools.cache'd function, cached          reference",
              "g = functools.cache(object); g()", "g()"),
}

# (key, label, numerator, denominator)
RATIOS: list[tuple[str, str, str, str]] = [
    ("sem", "Semaphore acquire+release, pre-bound", "il_sem", "th_sem"),
    ("sem_m", "Semaphore s.acquire(); s.release()", "il_sem_m", "th_sem_m"),
    ("bsem_m", "BoundedSemaphore acquire+release", "il_bsem_m", "th_bsem_m"),
    ("sem_with", "with sem: pass", "il_sem_with", "th_sem_with"),
    ("is_set", "Event.is_set()", "il_is_set", "th_is_set"),
    ("set", "Event.set() (already set)", "il_set", "th_set"),
    ("wait", "Event.wait() on a set event", "il_wait", "th_wait"),
    ("notify", "Condition.notify(), no waiters", "il_notify", "th_notify"),
    ("with_notify", "with cond: cond.notify()", "il_with_notify", "th_with_notify"),
    ("once_vs_cache", "Once.call (done) / functools.cache'd call", "il_once", "cache"),
]


def measure(number: int, repeat: int) -> dict[str, float]:
    """Best ns per call of every case (bench/_timing.py)."""
    env = {"il": locks, "th": threading, "functools": functools}
    return best_ns(CASES, env, number, repeat)


def ping_pong(condition_cls, lock_factory, trips: int) -> float:
    """Seconds for `trips` round trips of a turn between two threads."""
    cond = condition_cls(lock_factory())
    turn = [0]

    def player(me: int, n: int) -> None:
        other = 1 - me
        with cond:
            for _ in range(n):
                while turn[0] != me:
                    cond.wait()
                turn[0] = other
                cond.notify()

    t = threading.Thread(target=player, args=(1, trips))
    t0 = time.perf_counter()
    t.start()
    player(0, trips)
    t.join()
    return time.perf_counter() - t0


# The condition class and the lock it is built on.
PING_PONG = {
    "interlock": (locks.Condition, locks.Lock),
    "threading": (threading.Condition, threading.Lock),
}


def measure_ping_pong(trips: int, repeat: int) -> dict[str, float]:
    """Best round trips per second, implementations interleaved."""
    for cond, lock in PING_PONG.values():  # warm up
        ping_pong(cond, lock, min(trips, 200))
    best = best_seconds({k: lambda cond=cond, lock=lock: ping_pong(cond, lock, trips)
                         for k, (cond, lock) in PING_PONG.items()}, repeat)
    return {k: trips / s for k, s in best.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--number", type=int, default=200_000, help="runs per round (default 2e5)")
    ap.add_argument("--repeat", type=int, default=15, help="rounds; the best counts (default 15)")
    ap.add_argument("--trips", type=int, default=2_000, help="ping-pong round trips per round")
    ap.add_argument("--quick", action="store_true", help="--number 20000 --repeat 3 --trips 300")
    args = ap.parse_args(argv)
    if args.quick:
        args.number, args.repeat, args.trips = 20_000, 3, 300

    ns = measure(args.number, args.repeat)
    ratios = ratio_table(ns, RATIOS)
    pp = measure_ping_pong(args.trips, args.repeat)
    ratios["ping_pong"] = pp["interlock"] / pp["threading"]
    report = {
        **environment(),
        "number": args.number,
        "repeat": args.repeat,
        "trips": args.trips,
        "ns_per_call": ns,
        "ping_pong_round_trips_per_s": pp,
        "ratios": ratios,
        "ratio_labels": {key: label for key, label, _, _ in RATIOS}
        | {"ping_pong": "Condition ping-pong round trips/s, interlock / threading (> 1: faster)"},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ft = "free-threaded" if report["free_threaded_build"] else "GIL build"
    print(f"Python {report['python']} ({ft}; GIL enabled: {report['gil_enabled']}), "
          f"interlock {interlock.__version__}, best of {args.repeat} x {args.number}, "
          f"load {report['loadavg_1min']:.2f}")
    w = max(len(d) for d, _, _ in CASES.values())
    print(f"\n  {'case':<{w}}  ns/op")
    for k, (desc, _, _) in CASES.items():
        print(f"  {desc:<{w}}  {ns[k]:7.1f}")
    w = max(len(label) for _, label, _, _ in RATIOS)
    print(f"\n  {'interlock / threading (time)':<{w}}  ratio")
    for key, label, _, _ in RATIOS:
        print(f"  {label:<{w}}  {ratios[key]:5.2f}")
    print(f"\n  Condition ping-pong, best of {args.repeat} x {args.trips} round trips:")
    for k, v in pp.items():
        print(f"    {k:<10} {v:10.0f} round trips/s")
    print(f"    interlock / threading: {ratios['ping_pong']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
