"""Cost of calling a tiny C++ method from Python: the fast-method pattern
(bindings/fast_methods.hpp) against plain nanobind and against CPython's own
C methods, measured in one process.

    python bench/bench_binding.py            # table
    python bench/bench_binding.py --json     # JSON on stdout
    python bench/bench_binding.py --quick    # shorter runs (smoke test)

Most cases call a pre-bound callable in a timeit loop whose names are locals
(``f = c.inc`` then ``f()``), so the loop and the call opcode are the same for
every row and only the callee differs; the "method-call form" rows time
``c.inc()`` (attribute lookup + call), how code usually calls methods. The
cases run round-robin, `--repeat` rounds of `--number` calls each; each case
reports its best round. Times include the timeit loop (its cost is the first
row); ratios are of those raw times.

References (all return a fresh int object, as Counter.inc/add do):
  itertools.count(10**9).__next__   the goal's reference for c.inc (tp_iternext
                                    called through a method-wrapper)
  _thread.get_ident                 a METH_NOARGS C function (builtin method)
  operator.neg(10**9)               a METH_O C function: the reference for
                                    c.add(1), same call path (builtin method,
                                    one positional argument)
"""

from __future__ import annotations

import argparse
import _thread
import itertools
import json
import operator
import os
import platform
import sys
import sysconfig
import threading

GIL_BEFORE_IMPORT = getattr(sys, "_is_gil_enabled", lambda: True)()

import interlock  # noqa: E402
import _fixtures  # noqa: E402
from _timing import best_ns  # noqa: E402
from _timing import ratios as ratio_table  # noqa: E402

_bench = _fixtures.require()  # Counter, NullLock, NullMap (test-only module)

GIL_AFTER_IMPORT = getattr(sys, "_is_gil_enabled", lambda: True)()

# name -> (description, setup code, statement). The setup runs inside timeit's
# function, so `f` and `x` are fast locals.
CASES: dict[str, tuple[str, str, str]] = {
    "loop": ("empty timeit loop (overhead, included in every row)", "", "pass"),
    # pre-bound: f = c.inc; f()
    "inc": ("f=c.inc; f()        fast method (METH_FASTCALL)", "f = Counter().inc", "f()"),
    "inc_noargs": ("f=c.inc_noargs; f() fast method forced to METH_NOARGS", "f = Counter().inc_noargs", "f()"),
    "inc_raw": ("f=c.inc_raw; f()    hand-written C API (METH_FASTCALL)", "f = Counter().inc_raw", "f()"),
    "inc_nb": ("f=c.inc_nb; f()     plain nanobind", "f = Counter().inc_nb", "f()"),
    "count_next": ("f=itertools.count(10**9).__next__; f()", "f = itertools.count(10**9).__next__", "f()"),
    "get_ident": ("f=_thread.get_ident; f()  (METH_NOARGS)", "f = _thread.get_ident", "f()"),
    "add": ("f=c.add; f(1)       fast method (METH_O)", "f = Counter().add; x = 1", "f(x)"),
    "add_nb": ("f=c.add_nb; f(1)    plain nanobind", "f = Counter().add_nb; x = 1", "f(x)"),
    "neg": ("f=operator.neg; f(10**9)  (METH_O)", "f = operator.neg; x = 10**9", "f(x)"),
    "cas": ("f=c.compare_exchange; f(0, 0)  (METH_FASTCALL)", "f = Counter().compare_exchange; x = 0", "f(x, x)"),
    "reset_kw": ("f=c.reset; f(value=0)  (METH_FASTCALL|METH_KEYWORDS)", "f = Counter().reset; x = 0", "f(value=x)"),
    # method-call form: c.inc()
    "m_inc": ("c.inc()             fast method (METH_FASTCALL)", "c = Counter()", "c.inc()"),
    "m_inc_noargs": ("c.inc_noargs()      fast method forced to METH_NOARGS", "c = Counter()", "c.inc_noargs()"),
    "m_inc_nb": ("c.inc_nb()          plain nanobind", "c = Counter()", "c.inc_nb()"),
    "m_add": ("c.add(1)            fast method (METH_O)", "c = Counter(); x = 1", "c.add(x)"),
    "m_add_nb": ("c.add_nb(1)         plain nanobind", "c = Counter(); x = 1", "c.add_nb(x)"),
}

# (key, label, numerator, denominator)
RATIOS: list[tuple[str, str, str, str]] = [
    ("inc_vs_count", "c.inc / itertools.count().__next__  (goal <= 1.15)", "inc", "count_next"),
    ("inc_nb_vs_count", "c.inc_nb / itertools.count().__next__", "inc_nb", "count_next"),
    ("inc_vs_get_ident", "c.inc / _thread.get_ident", "inc", "get_ident"),
    ("inc_noargs_vs_count", "c.inc_noargs / itertools.count().__next__", "inc_noargs", "count_next"),
    ("inc_vs_raw", "c.inc / c.inc_raw  (cost of the helper)", "inc", "inc_raw"),
    ("add_vs_neg", "c.add(1) / operator.neg(x)", "add", "neg"),
    ("add_nb_vs_neg", "c.add_nb(1) / operator.neg(x)", "add_nb", "neg"),
    ("m_inc_nb_vs_m_inc", "c.inc_nb() / c.inc()  (method-call form)", "m_inc_nb", "m_inc"),
    ("m_add_nb_vs_m_add", "c.add_nb(1) / c.add(1)  (method-call form)", "m_add_nb", "m_add"),
]


def measure(number: int, repeat: int) -> dict[str, float]:
    """Best ns per call of every case (bench/_timing.py)."""
    env = {"Counter": _bench.Counter, "itertools": itertools, "_thread": _thread,
           "operator": operator}
    return best_ns(CASES, env, number, repeat)


def thread_check(n_threads: int = 4, n_incs: int = 50_000) -> bool:
    """The counter is shared by threads without any Python-level lock."""
    c = _bench.Counter()

    def work() -> None:
        inc, add = c.inc, c.add
        for _ in range(n_incs // 2):
            inc()
            add(1)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return c.value() == n_threads * (n_incs // 2) * 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--number", type=int, default=1_000_000, help="calls per round (default 1e6)")
    ap.add_argument("--repeat", type=int, default=15, help="rounds; the best counts (default 15)")
    ap.add_argument("--quick", action="store_true", help="--number 100000 --repeat 3")
    args = ap.parse_args(argv)
    if args.quick:
        args.number, args.repeat = 100_000, 3

    threads_ok = thread_check()
    ns = measure(args.number, args.repeat)
    ratios = ratio_table(ns, RATIOS)
    report = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled_before_import": GIL_BEFORE_IMPORT,
        "gil_enabled_after_import": GIL_AFTER_IMPORT,
        "interlock": interlock.__version__,
        "build_info": interlock.build_info(),
        "number": args.number,
        "repeat": args.repeat,
        "loadavg_1min": os.getloadavg()[0],
        "ns_per_call": ns,
        "ratios": ratios,
        "ratio_labels": {key: label for key, label, _, _ in RATIOS},
        "threads_check_ok": threads_ok,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        ft = "free-threaded" if report["free_threaded_build"] else "GIL build"
        print(f"Python {report['python']} ({ft}; GIL enabled after import: {GIL_AFTER_IMPORT}), "
              f"interlock {interlock.__version__}, best of {args.repeat} x {args.number} calls, "
              f"load {report['loadavg_1min']:.2f}")
        w = max(len(d) for d, _, _ in CASES.values())
        print(f"\n  {'case':<{w}}  ns/call")
        for k, (desc, _, _) in CASES.items():
            print(f"  {desc:<{w}}  {ns[k]:7.2f}")
        w = max(len(label) for _, label, _, _ in RATIOS)
        print(f"\n  {'ratio':<{w}}  value")
        for key, label, _, _ in RATIOS:
            print(f"  {label:<{w}}  {ratios[key]:5.2f}")
        print(f"\n  threads check (4 threads sharing one Counter, no lost updates): "
              f"{'ok' if threads_ok else 'FAILED'}")
    return 0 if threads_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
