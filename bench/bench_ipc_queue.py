"""interlock.ipc.ShmQueue / ObjectQueue against multiprocessing's queues.

    python bench/bench_ipc_queue.py            # table
    python bench/bench_ipc_queue.py --json     # JSON on stdout
    python bench/bench_ipc_queue.py --quick    # shorter runs (smoke test)

Throughput: one producer process (fork) puts --messages messages of --size
bytes (a bytes object; ObjectQueue and multiprocessing pickle it), the
consumer (this process) gets them all; timed from the producer's release (a
multiprocessing.Event) to the last get, in messages per second. Rows:
ShmQueue (bytes), ObjectQueue (pickled), multiprocessing.Queue,
multiprocessing.SimpleQueue, and faster_fifo.Queue when it is installed.
Bounded queues hold --capacity messages (multiprocessing.Queue is unbounded
by default, as users use it; "ObjectQueue(0)" is ObjectQueue's unbounded
default, whose producer buffers in a feeder thread while the ring is full). Best of --repeat rounds, implementations
interleaved round by round.

Ping-pong: two processes pass one message each way per round trip through two
queues, microseconds per round trip; then the same with one --big-byte object
(10 MiB: ObjectQueue passes it through a side segment), milliseconds.

One process: put+get of one message on an empty queue (timeit, pre-bound, ns
per pair including the timeit loop), the per-call cost.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time

import interlock
from interlock import ipc
from _timing import best_ns, best_seconds, environment  # noqa: E402

try:  # an optional peer (interlock[peers])
    import faster_fifo  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    faster_fifo = None


# ------------------------------------------------------------------ throughput

def _producer(q, start, n, size):
    msg = b"m" * size
    start.wait()
    put = q.put
    for _ in range(n):
        put(msg)


def _throughput(ctx, make, n, size) -> float:
    """Seconds for n messages through a fresh queue from make()."""
    q = make()
    ev = ctx.Event()  # the producer's start signal (outside the timed part's hot loop)
    p = ctx.Process(target=_producer, args=(q, ev, n, size))
    p.start()
    try:
        get = q.get
        t0 = time.perf_counter()
        ev.set()
        for _ in range(n):
            get()
        dt = time.perf_counter() - t0
        p.join(60)
        return dt
    finally:
        if p.is_alive():
            p.kill()
        p.join(5)
        close = getattr(q, "close", None)
        if close:
            close()


def throughput(n: int, size: int, capacity: int, repeat: int) -> dict[str, float]:
    ctx = mp.get_context("fork")
    max_message = size + 64
    makers = {
        "ShmQueue": lambda: ipc.ShmQueue(capacity=capacity, max_message=max_message),
        "ObjectQueue": lambda: ipc.ObjectQueue(capacity, max_message=max_message),
        "ObjectQueue(0)": lambda: ipc.ObjectQueue(capacity=capacity, max_message=max_message),
        "mp.Queue": lambda: ctx.Queue(),
        "mp.SimpleQueue": lambda: ctx.SimpleQueue(),
    }
    if faster_fifo is not None:
        makers["faster_fifo.Queue"] = lambda: faster_fifo.Queue(max_size_bytes=capacity * (size + 64))
    runs = {k: (lambda mk=mk: _throughput(ctx, mk, n, size)) for k, mk in makers.items()}
    best = best_seconds(runs, repeat)
    return {k: n / v for k, v in best.items()}


# ------------------------------------------------------------------ ping-pong

def _echo(q_in, q_out, trips):
    for _ in range(trips):
        q_out.put(q_in.get())


def _ping_pong(ctx, make, trips, size) -> float:
    q1, q2 = make(), make()
    p = ctx.Process(target=_echo, args=(q1, q2, trips))
    p.start()
    msg = b"p" * size
    try:
        q1.put(msg)
        q2.get()  # the child is up
        t0 = time.perf_counter()
        for _ in range(trips - 1):
            q1.put(msg)
            q2.get()
        dt = time.perf_counter() - t0
        p.join(30)
        return dt / (trips - 1)
    finally:
        if p.is_alive():
            p.kill()
        p.join(5)
        for q in (q1, q2):
            close = getattr(q, "close", None)
            if close:
                close()


def ping_pong(trips: int, size: int, repeat: int) -> dict[str, float]:
    ctx = mp.get_context("fork")
    makers = {
        "ShmQueue": lambda: ipc.ShmQueue(capacity=16, max_message=size + 64),
        "ObjectQueue": lambda: ipc.ObjectQueue(16, max_message=size + 64),
        "mp.Queue": lambda: ctx.Queue(),
    }
    runs = {k: (lambda mk=mk: _ping_pong(ctx, mk, trips, size)) for k, mk in makers.items()}
    return {k: v * 1e6 for k, v in best_seconds(runs, repeat).items()}


def big_round_trip(size: int, trips: int, repeat: int) -> dict[str, float]:
    """Ping-pong of one `size`-byte bytes object: ObjectQueue (a pickle over
    max_message goes through a side segment) against multiprocessing.Queue."""
    ctx = mp.get_context("fork")
    makers = {
        "ObjectQueue": lambda: ipc.ObjectQueue(),
        "mp.Queue": lambda: ctx.Queue(),
    }
    runs = {k: (lambda mk=mk: _ping_pong(ctx, mk, trips, size)) for k, mk in makers.items()}
    return {k: v * 1e3 for k, v in best_seconds(runs, repeat).items()}


# ------------------------------------------------------------------ one process

CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("empty timeit loop (overhead, in every row)", "", "pass"),
    "shm": ("p(m); g()   ShmQueue, 100 bytes, pre-bound",
            "q = env['shm']; p = q.put; g = q.get; m = env['msg']", "p(m); g()"),
    "obj": ("p(m); g()   ObjectQueue, 100 bytes, pre-bound",
            "q = env['obj']; p = q.put; g = q.get; m = env['msg']", "p(m); g()"),
    "mp": ("p(m); g()   multiprocessing.Queue, 100 bytes, pre-bound",
           "q = env['mp']; p = q.put; g = q.get; m = env['msg']", "p(m); g()"),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--messages", type=int, default=200_000, help="messages per throughput round")
    ap.add_argument("--size", type=int, default=100, help="message size in bytes (default 100)")
    ap.add_argument("--capacity", type=int, default=1024, help="bounded queues' capacity")
    ap.add_argument("--repeat", type=int, default=5, help="rounds; the best counts (default 5)")
    ap.add_argument("--trips", type=int, default=3_000, help="ping-pong round trips per round")
    ap.add_argument("--number", type=int, default=100_000, help="timeit runs per round")
    ap.add_argument("--big", type=int, default=10 * 2**20,
                    help="size of the big-object round trip (default 10 MiB)")
    ap.add_argument("--big-trips", type=int, default=20, help="big-object round trips per round")
    ap.add_argument("--quick", action="store_true",
                    help="--messages 20000 --repeat 2 --trips 200 --number 5000")
    args = ap.parse_args(argv)
    if args.quick:
        args.messages, args.repeat, args.trips, args.number = 20_000, 2, 200, 5_000
        args.big_trips = 3

    tp = throughput(args.messages, args.size, args.capacity, args.repeat)
    pp = ping_pong(args.trips, args.size, args.repeat)
    big = big_round_trip(args.big, args.big_trips, args.repeat)
    ctx = mp.get_context("fork")
    env = {"shm": ipc.ShmQueue(capacity=16, max_message=args.size + 64),
           "obj": ipc.ObjectQueue(16, max_message=args.size + 64),
           "mp": ctx.Queue(), "msg": b"x" * args.size}
    ns = best_ns(CASES, {"env": env}, args.number, max(3, args.repeat))
    env["shm"].close()
    env["obj"].close()
    env["mp"].close()
    ratios = {
        "throughput_shm_vs_mp_queue": tp["ShmQueue"] / tp["mp.Queue"],
        "throughput_objects_vs_mp_queue": tp["ObjectQueue"] / tp["mp.Queue"],
        "ping_pong_shm_vs_mp_queue": pp["ShmQueue"] / pp["mp.Queue"],
        "ping_pong_objects_vs_mp_queue": pp["ObjectQueue"] / pp["mp.Queue"],
        "pair_shm_vs_mp_queue": (ns["shm"] - ns["loop"]) / (ns["mp"] - ns["loop"]),
    }
    report = {
        **environment(),
        "messages": args.messages,
        "size": args.size,
        "capacity": args.capacity,
        "repeat": args.repeat,
        "trips": args.trips,
        "messages_per_s": tp,
        "ping_pong_us_per_round_trip": pp,
        "ns_per_pair": ns,
        "big_bytes": args.big,
        "big_ms_per_round_trip": big,
        "ratios": ratios,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ft = "free-threaded" if report["free_threaded_build"] else "GIL build"
    print(f"Python {report['python']} ({ft}), interlock {interlock.__version__}, "
          f"load {report['loadavg_1min']:.2f}")
    print(f"\n  1 producer process -> 1 consumer process, {args.messages} x {args.size}-byte "
          f"messages, best of {args.repeat}:")
    for k, v in tp.items():
        print(f"    {k:<18} {v / 1e6:8.3f} M messages/s")
    print(f"    ShmQueue / mp.Queue:    {ratios['throughput_shm_vs_mp_queue']:6.1f}x  (goal >= 10)")
    print(f"    ObjectQueue / mp.Queue: {ratios['throughput_objects_vs_mp_queue']:6.1f}x")
    print(f"\n  ping-pong, best of {args.repeat} x {args.trips} round trips (us per round trip):")
    for k, v in pp.items():
        print(f"    {k:<18} {v:8.2f}")
    print(f"\n  ping-pong of one {args.big}-byte object, best of {args.repeat} x {args.big_trips} "
          "round trips (ms per round trip):")
    for k, v in big.items():
        print(f"    {k:<18} {v:8.2f}")
    print(f"\n  one process, put+get pair (ns, timeit loop included):")
    for k, (desc, _, _) in CASES.items():
        print(f"    {desc:<52} {ns[k]:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
