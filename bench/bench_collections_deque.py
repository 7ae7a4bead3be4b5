"""interlock.collections.ConcurrentDeque against collections.deque and ft_utils'.

    python bench/bench_collections_deque.py            # table
    python bench/bench_collections_deque.py --json     # JSON on stdout
    python bench/bench_collections_deque.py --quick    # shorter runs (smoke test)

One thread: append+popleft pairs (pre-bound methods) timed with timeit, the
cases round-robin, best round in ns per pair (timeit loop included; its cost
is the first row). Threads: each of T threads does --items append+popleft
pairs on one shared deque; best of --thread-repeat rounds in pairs/s. The
ft_utils rows run when ``ft_utils`` (0.2.0) is importable (pip install
ft-utils into the benchmark's interpreter; it is never a dependency).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque

import interlock
from interlock import collections as ic
from _timing import best_ns, best_seconds, environment  # noqa: E402

try:
    from ft_utils.concurrency import ConcurrentDeque as FtDeque
except ImportError:  # pragma: no cover - optional comparison
    FtDeque = None

CASES = {
    "loop": ("empty timeit loop (overhead, in every row)", "", "pass"),
    "std": ("a(1); p()  collections.deque()", "d = deque(); a = d.append; p = d.popleft", "a(1); p()"),
    "il": ("a(1); p()  interlock ConcurrentDeque()",
           "d = ic.ConcurrentDeque(); a = d.append; p = d.popleft", "a(1); p()"),
}
if FtDeque is not None:
    CASES["ft"] = ("a(1); p()  ft_utils ConcurrentDeque()",
                   "d = FtDeque(); a = d.append; p = d.popleft", "a(1); p()")


def _threaded(factory, threads: int, items: int):
    def run() -> float:
        d = factory()
        start = threading.Barrier(threads + 1)

        def work():
            a, p = d.append, d.popleft
            start.wait()
            for _ in range(items):
                a(1)
                p()

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        start.wait()
        t0 = time.perf_counter()
        for t in ts:
            t.join()
        return time.perf_counter() - t0
    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--number", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--items", type=int, default=200_000, help="pairs per thread per round")
    ap.add_argument("--thread-repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.number, args.repeat, args.items, args.thread_repeat = 20_000, 3, 20_000, 1
    ns = best_ns(CASES, {"ic": ic, "deque": deque, "FtDeque": FtDeque}, args.number, args.repeat)
    factories = {"deque": deque, "interlock": ic.ConcurrentDeque}
    if FtDeque is not None:
        factories["ft_utils"] = FtDeque
    runs = {f"{t}T {name}": _threaded(f, t, args.items)
            for t in (1, 2, 4) for name, f in factories.items()}
    secs = best_seconds(runs, args.thread_repeat)
    tput = {k: (int(k[0]) * args.items) / s for k, s in secs.items()}
    loop = ns["loop"]
    ratios = {"il_vs_deque": (ns["il"] - loop) / (ns["std"] - loop)}
    if FtDeque is not None:
        ratios["il_vs_ft"] = (ns["il"] - loop) / (ns["ft"] - loop)
        for t in (1, 2, 4):
            ratios[f"{t}T_il_vs_ft_throughput"] = tput[f"{t}T interlock"] / tput[f"{t}T ft_utils"]
    report = {**environment(), "ns_per_pair": ns, "pairs_per_s": tput, "ratios": ratios}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ft = "free-threaded" if report["free_threaded_build"] else "GIL build"
    print(f"Python {report['python']} ({ft}), interlock {interlock.__version__}, "
          f"load {report['loadavg_1min']:.2f}")
    for k, (desc, _, _) in CASES.items():
        print(f"  {desc:<45} {ns[k]:8.1f} ns/pair")
    for k, v in tput.items():
        print(f"  {k:<45} {v / 1e6:8.2f} M pairs/s")
    for k, v in ratios.items():
        print(f"  {k:<45} {v:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
