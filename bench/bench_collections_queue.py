"""interlock.collections' queues against the standard library's, in one process.

    python bench/bench_collections_queue.py            # table
    python bench/bench_collections_queue.py --json     # JSON on stdout
    python bench/bench_collections_queue.py --quick    # shorter runs (smoke test)

One thread: put+get pairs timed with timeit (pre-bound methods and method
calls), the cases round-robin, each reporting its best round in ns per pair
(timeit loop included; its cost is the first row).

Threads: `--items` items go from producer threads to consumer threads through
a bounded queue (`--bound`, default 1024): 1 producer -> 1 consumer, and 2
producers -> 2 consumers (each consumer stops at a sentinel). Rows run
round-robin, `--repeat` rounds; each reports its best round in items/s.
Ratios are interlock / stdlib (time ratios: below 1 is faster; throughput
ratios: above 1 is faster).
"""

from __future__ import annotations

import argparse
import json
import queue
import threading
import time

import interlock
from interlock import collections as ic
from _timing import best_ns, best_seconds, environment  # noqa: E402
from _timing import ratios as ratio_table  # noqa: E402

CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("empty timeit loop (overhead, in every row)", "", "pass"),
    "il_bound": ("p(1); g()   pre-bound put/get   interlock Queue()",
                 "q = ic.Queue(); p = q.put; g = q.get", "p(1); g()"),
    "sq_bound": ("p(1); g()   pre-bound put/get   queue.SimpleQueue()",
                 "q = queue.SimpleQueue(); p = q.put; g = q.get", "p(1); g()"),
    "qq_bound": ("p(1); g()   pre-bound put/get   queue.Queue()",
                 "q = queue.Queue(); p = q.put; g = q.get", "p(1); g()"),
    "il_nowait": ("p(1); g()   put_nowait/get_nowait interlock Queue()",
                  "q = ic.Queue(); p = q.put_nowait; g = q.get_nowait", "p(1); g()"),
    "sq_nowait": ("p(1); g()   put_nowait/get_nowait queue.SimpleQueue()",
                  "q = queue.SimpleQueue(); p = q.put_nowait; g = q.get_nowait", "p(1); g()"),
    "il_method": ("q.put(1); q.get()               interlock Queue()",
                  "q = ic.Queue()", "q.put(1); q.get()"),
    "sq_method": ("q.put(1); q.get()               queue.SimpleQueue()",
                  "q = queue.SimpleQueue()", "q.put(1); q.get()"),
    "il_bounded": ("p(1); g()   pre-bound put/get   interlock Queue(1024)",
                   "q = ic.Queue(1024); p = q.put; g = q.get", "p(1); g()"),
    "cq_bound": ("p(1); g()   pre-bound push/pop  interlock ConcurrentQueue()",
                 "q = ic.ConcurrentQueue(); p = q.push; g = q.pop", "p(1); g()"),
}

RATIOS = [
    ("bound_vs_simplequeue", "Queue put+get pre-bound / SimpleQueue (goal <= 1.3)", "il_bound", "sq_bound"),
    ("nowait_vs_simplequeue", "Queue *_nowait pre-bound / SimpleQueue", "il_nowait", "sq_nowait"),
    ("method_vs_simplequeue", "Queue q.put(); q.get() / SimpleQueue", "il_method", "sq_method"),
    ("bound_vs_queue", "Queue put+get pre-bound / queue.Queue", "il_bound", "qq_bound"),
]


def transfer(make, producers: int, consumers: int, items: int) -> float:
    """Seconds to move `items` items from the producers to the consumers."""
    q = make()
    stop = object()
    per = items // producers
    start = threading.Barrier(producers + consumers + 1)

    def produce():
        put = q.put
        start.wait()
        for i in range(per):
            put(i)

    def consume():
        get = q.get
        start.wait()
        while get() is not stop:
            pass

    ps = [threading.Thread(target=produce) for _ in range(producers)]
    cs = [threading.Thread(target=consume) for _ in range(consumers)]
    for t in ps + cs:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in ps:
        t.join()
    for _ in cs:
        q.put(stop)
    for t in cs:
        t.join()
    return time.perf_counter() - t0


def measure_threads(items: int, bound: int, repeat: int) -> dict[str, float]:
    makers = {
        "interlock": lambda: ic.Queue(bound),
        "queue.Queue": lambda: queue.Queue(bound),
    }
    runs = {}
    for shape, (np, nc) in {"1p1c": (1, 1), "2p2c": (2, 2)}.items():
        for name, make in makers.items():
            runs[f"{shape} {name}"] = (lambda make=make, np=np, nc=nc:
                                       transfer(make, np, nc, items))
    best = best_seconds(runs, repeat)
    moved = {k: (items // (2 if k.startswith("2p") else 1)) * (2 if k.startswith("2p") else 1)
             for k in best}
    return {k: moved[k] / v for k, v in best.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--number", type=int, default=200_000, help="pairs per timeit round")
    ap.add_argument("--repeat", type=int, default=15, help="timeit rounds; the best counts")
    ap.add_argument("--items", type=int, default=1_000_000, help="items per threaded round")
    ap.add_argument("--bound", type=int, default=1024, help="maxsize of the threaded queues")
    ap.add_argument("--thread-repeat", type=int, default=3, help="threaded rounds")
    ap.add_argument("--quick", action="store_true",
                    help="--number 20000 --repeat 3 --items 20000 --thread-repeat 1")
    args = ap.parse_args(argv)
    if args.quick:
        args.number, args.repeat, args.items, args.thread_repeat = 20_000, 3, 20_000, 1

    ns = best_ns(CASES, {"ic": ic, "queue": queue}, args.number, args.repeat)
    ratios = ratio_table(ns, RATIOS)
    tput = measure_threads(args.items, args.bound, args.thread_repeat)
    ratios["1p1c_vs_queue"] = tput["1p1c interlock"] / tput["1p1c queue.Queue"]
    ratios["2p2c_vs_queue"] = tput["2p2c interlock"] / tput["2p2c queue.Queue"]
    labels = {key: label for key, label, _, _ in RATIOS}
    labels["1p1c_vs_queue"] = f"1 producer -> 1 consumer, Queue({args.bound}) / queue.Queue items/s (goal >= 5)"
    labels["2p2c_vs_queue"] = f"2 producers -> 2 consumers, Queue({args.bound}) / queue.Queue items/s (goal >= 5 on 3.13t)"
    report = {
        **environment(),
        "number": args.number, "repeat": args.repeat, "items": args.items,
        "bound": args.bound, "thread_repeat": args.thread_repeat,
        "ns_per_pair": ns,
        "items_per_s": tput,
        "ratios": ratios,
        "ratio_labels": labels,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ft = "free-threaded" if report["free_threaded_build"] else "GIL build"
    print(f"Python {report['python']} ({ft}; GIL enabled: {report['gil_enabled']}), "
          f"interlock {interlock.__version__}, load {report['loadavg_1min']:.2f}")
    w = max(len(d) for d, _, _ in CASES.values())
    print(f"\n  {'case (best of %d x %d)' % (args.repeat, args.number):<{w}}  ns/pair")
    for k, (desc, _, _) in CASES.items():
        print(f"  {desc:<{w}}  {ns[k]:7.1f}")
    print(f"\n  threads, {args.items} items, best of {args.thread_repeat}:")
    for k, v in tput.items():
        print(f"    {k:<22} {v:12.0f} items/s")
    w = max(len(v) for v in labels.values())
    print()
    for key, label in labels.items():
        print(f"  {label:<{w}}  {ratios[key]:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
