"""interlock.ipc's futex primitives on shared memory against multiprocessing's.

    python bench/bench_ipc_futex.py            # table
    python bench/bench_ipc_futex.py --json     # JSON on stdout
    python bench/bench_ipc_futex.py --quick    # shorter runs (smoke test)

Uncontended: acquire+release of interlock.ipc.Mutex on a
multiprocessing.shared_memory segment against multiprocessing.Lock (a POSIX
semaphore), timed with timeit, cases interleaved round by round, best round
in ns per operation (timeit loop included; its cost is the first row).

Ping-pong: two processes (fork) pass one message each way per round trip:
through two interlock.ipc.Events (set / wait / clear), two interlock.ipc
Semaphores (post / wait), and two multiprocessing.Queues (put / get). Best of
--repeat rounds of --trips round trips, interleaved, in microseconds per round
trip. Ratios are interlock / multiprocessing (time): below 1 is faster.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from multiprocessing import shared_memory

import interlock
from interlock import ipc
from interlock.compat import fastipc
from _timing import best_ns, best_seconds, environment  # noqa: E402
from _timing import ratios as ratio_table  # noqa: E402

CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("empty timeit loop (overhead, in every row)", "", "pass"),
    "il_pair": ("a(); r()   ipc.Mutex on shared memory, pre-bound",
                "m = env['il_mutex']; a = m.acquire; r = m.release", "a(); r()"),
    "mp_pair": ("a(); r()   multiprocessing.Lock, pre-bound",
                "m = env['mp_lock']; a = m.acquire; r = m.release", "a(); r()"),
    "il_noop": ("l(); l()   two no-op fast calls (Mutex.locked): the bound of any pair",
                "m = env['il_mutex']; l = m.locked", "l(); l()"),
    "fx_pair": ("a(); r()   compat.fastipc.Mutex, pre-bound",
                "m = env['fx_mutex']; a = m.acquire; r = m.release", "a(); r()"),
    "il_with": ("with m: pass   ipc.Mutex", "m = env['il_mutex']", "with m: pass"),
    "mp_with": ("with m: pass   multiprocessing.Lock", "m = env['mp_lock']", "with m: pass"),
    "il_method": ("m.acquire(); m.release()   ipc.Mutex", "m = env['il_mutex']",
                  "m.acquire(); m.release()"),
    "mp_method": ("m.acquire(); m.release()   multiprocessing.Lock", "m = env['mp_lock']",
                  "m.acquire(); m.release()"),
    "il_sem": ("s.post(); s.wait()   ipc.Semaphore", "s = env['il_sem']", "s.post(); s.wait()"),
    "mp_sem": ("s.release(); s.acquire()   multiprocessing.Semaphore", "s = env['mp_sem']",
               "s.release(); s.acquire()"),
}

RATIOS: list[tuple[str, str, str, str]] = [
    ("mutex_pair", "Mutex acquire+release, pre-bound (goal <= 0.8)", "il_pair", "mp_pair"),
    ("mutex_with", "with mutex: pass", "il_with", "mp_with"),
    ("mutex_method", "m.acquire(); m.release()", "il_method", "mp_method"),
    ("mutex_pair_bound", "two no-op calls / mp.Lock pair: the bound of the pair row",
     "il_noop", "mp_pair"),
    ("fastipc_pair", "fastipc façade Mutex acquire+release, pre-bound", "fx_pair", "mp_pair"),
    ("semaphore", "Semaphore post+wait (uncontended)", "il_sem", "mp_sem"),
]


# ------------------------------------------------------------------ ping-pong

def _events_child(ping, pong, trips):
    for _ in range(trips):
        ping.wait()
        ping.clear()
        pong.set()


def _sems_child(ping, pong, trips):
    for _ in range(trips):
        ping.wait()
        pong.post()


def _queues_child(q_in, q_out, trips):
    for _ in range(trips):
        q_out.put(q_in.get())


def _run(ctx, target, args, trips, one_trip) -> float:
    p = ctx.Process(target=target, args=(*args, trips))
    p.start()
    try:
        one_trip()  # the child is up
        t0 = time.perf_counter()
        for _ in range(trips - 1):
            one_trip()
        dt = time.perf_counter() - t0
        p.join(30)
        return dt / (trips - 1)
    finally:
        if p.is_alive():
            p.kill()
        p.join(5)


def ping_pong(trips: int, repeat: int) -> dict[str, float]:
    ctx = mp.get_context("fork")
    seg = shared_memory.SharedMemory(create=True, size=256)
    try:
        e1, e2 = ipc.Event(seg, offset=0), ipc.Event(seg, offset=64)
        s1, s2 = ipc.Semaphore(seg, 0, offset=128), ipc.Semaphore(seg, 0, offset=192)
        q1, q2 = ctx.Queue(), ctx.Queue()

        def ev_trip():
            e1.set()
            e2.wait()
            e2.clear()

        def sem_trip():
            s1.post()
            s2.wait()

        def q_trip():
            q1.put(1)
            q2.get()

        runs = {
            "events": lambda: _run(ctx, _events_child, (e1, e2), trips, ev_trip),
            "semaphores": lambda: _run(ctx, _sems_child, (s1, s2), trips, sem_trip),
            "mp_queues": lambda: _run(ctx, _queues_child, (q1, q2), trips, q_trip),
        }
        best = best_seconds(runs, repeat)
        q1.close()
        q2.close()
        del e1, e2, s1, s2
        return {k: v * 1e6 for k, v in best.items()}
    finally:
        seg.close()
        seg.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--number", type=int, default=200_000, help="runs per round (default 2e5)")
    ap.add_argument("--repeat", type=int, default=9, help="rounds; the best counts (default 9)")
    ap.add_argument("--trips", type=int, default=3_000, help="ping-pong round trips per round")
    ap.add_argument("--quick", action="store_true", help="--number 20000 --repeat 3 --trips 200")
    args = ap.parse_args(argv)
    if args.quick:
        args.number, args.repeat, args.trips = 20_000, 3, 200

    seg = shared_memory.SharedMemory(create=True, size=256)
    try:
        env = {
            "il_mutex": ipc.Mutex(seg, offset=0),
            "fx_mutex": fastipc.Mutex(seg.buf[64:128]),
            "il_sem": ipc.Semaphore(seg, 0, offset=128),
            "mp_lock": mp.Lock(),
            "mp_sem": mp.Semaphore(0),
        }
        ns = best_ns(CASES, {"env": env}, args.number, args.repeat)
        env.clear()
    finally:
        import gc

        gc.collect()
        seg.close()
        seg.unlink()
    ratios = ratio_table(ns, RATIOS)
    pp = ping_pong(args.trips, args.repeat)
    ratios["ping_pong_events"] = pp["events"] / pp["mp_queues"]
    ratios["ping_pong_semaphores"] = pp["semaphores"] / pp["mp_queues"]
    report = {
        **environment(),
        "number": args.number,
        "repeat": args.repeat,
        "trips": args.trips,
        "ns_per_op": ns,
        "ping_pong_us_per_round_trip": pp,
        "ratios": ratios,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ft = "free-threaded" if report["free_threaded_build"] else "GIL build"
    print(f"Python {report['python']} ({ft}), interlock {interlock.__version__}, best of "
          f"{args.repeat} x {args.number}, load {report['loadavg_1min']:.2f}")
    w = max(len(d) for d, _, _ in CASES.values())
    print(f"\n  {'case':<{w}}  ns/op")
    for k, (desc, _, _) in CASES.items():
        print(f"  {desc:<{w}}  {ns[k]:7.1f}")
    w = max(len(label) for _, label, _, _ in RATIOS)
    print(f"\n  {'interlock / multiprocessing (time)':<{w}}  ratio")
    for key, label, _, _ in RATIOS:
        print(f"  {label:<{w}}  {ratios[key]:5.2f}")
    print(f"\n  ping-pong between two processes, best of {args.repeat} x {args.trips} "
          "round trips (us per round trip):")
    for k, v in pp.items():
        print(f"    {k:<12} {v:8.2f}")
    print(f"    events / mp.Queue:     {ratios['ping_pong_events']:.3f}  (goal <= 0.25)")
    print(f"    semaphores / mp.Queue: {ratios['ping_pong_semaphores']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
