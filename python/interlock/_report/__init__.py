"""``python -m interlock``: the report a user runs first.

It says where it runs (platform, CPUs, the Python build: GIL or
free-threaded, interlock's version and build flags), checks that the native
primitives work here, and measures interlock against the standard library's
equivalent of each operation and, when they are installed, against the peer
libraries (syncx, ft_utils, fastipc, atomics, cereggii, faster-fifo, janus).
Every implementation of a row is timed in the same interleaved rounds, so the
ratios hold even on a noisy machine.

Options: ``--json`` (the report as JSON on stdout), ``--quick`` (a run of a
few seconds), ``--plot FILE.png`` (a bar chart of the ratios; needs
``interlock[plot]``), ``--progress`` (rich / tqdm bars need
``interlock[report]``), ``--only AREA`` (e.g. ``locks``), ``--list``.

The machinery: :mod:`._rows` (the row model and the runner), the rows
themselves in :mod:`.rows` (one module per area), :mod:`._timing`,
:mod:`._checks`, :mod:`._env`, :mod:`._progress`, :mod:`._plot`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import _env, _progress, _rows
from ._checks import functional_checks
from ._extras import MissingExtra, need

SCHEMA = 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m interlock", description=(__doc__ or "").split("\n\n")[0],
                                epilog="ratio = interlock's time / the counterpart's: below 1, interlock is faster")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--quick", action="store_true", help="short rounds: the whole run takes seconds")
    p.add_argument("--plot", metavar="FILE.png", help="also write a bar chart of the ratios (needs interlock[plot])")
    p.add_argument("--progress", choices=_progress.CHOICES, default="auto",
                   help="progress display on stderr (auto: rich, else tqdm, else plain text)")
    p.add_argument("--only", action="append", metavar="AREA_OR_NAME",
                   help="only rows of this area (atomic, locks, collections, ipc) or whose name contains it; "
                        "repeatable")
    p.add_argument("--no-checks", action="store_true", help="skip the self-check")
    p.add_argument("--list", action="store_true", help="list the rows and exit")
    return p


def _checks() -> list[dict[str, object]]:
    try:
        return [{"check": name, "ok": ok} for name, ok in functional_checks()]
    except Exception as e:  # noqa: BLE001 - a crash in a check is a failed check
        return [{"check": "self-check", "ok": False, "error": f"{type(e).__name__}: {e}"}]


def build_report(args: argparse.Namespace, progress_kind: str) -> dict[str, object]:
    settings = _rows.Settings(quick=args.quick)
    rows = _rows.select(_rows.load_rows(), args.only)
    t0 = time.perf_counter()
    checks = [] if args.no_checks else _checks()
    bar = _progress.make(progress_kind, sum(settings.rounds(r) for r in rows))
    results = []
    try:
        for row in rows:
            bar.start(f"{row.group}: {row.name}")
            ticks = [0]

            def tick() -> None:
                ticks[0] += 1
                bar.advance()

            results.append(_rows.run_row(row, settings, tick))
            bar.advance(settings.rounds(row) - ticks[0])  # a skipped row's rounds
    finally:
        bar.close()
    return {
        "schema": SCHEMA,
        "version": _env.interlock.__version__,
        "interlock": _env.interlock_info(),
        "build": _env.interlock.build_info(),
        "environment": _env.environment(),
        "peers": _env.peers(),
        "settings": settings.as_dict(),
        "checks": checks,
        "benchmarks": [r for r in results if "interlock" in r],
        "skipped": [{"group": r["group"], "name": r["name"], "reason": r["skipped"]}
                    for r in results if "skipped" in r],
        "errors": [{"group": r["group"], "name": r["name"], "error": r["error"],
                    "traceback": r.get("traceback", "")} for r in results if "error" in r],
        "seconds": time.perf_counter() - t0,
    }


def _fmt_ns(v: float) -> str:
    return f"{v:,.1f}" if v < 10_000 else f"{v:,.0f}"


def render(report: dict) -> str:
    env, il = report["environment"], report["interlock"]
    info = il["build"]
    out = [f"interlock {il['version']}  —  python -m interlock" + ("  (--quick)" if report["settings"]["quick"] else ""),
           "",
           f"  platform   {env['platform']} ({env['machine']})",
           f"  CPUs       {env['cpu_count']} ({env['cpus_usable']} usable)"
           + (f", load {env['load_average'][0]:.2f}" if env.get("load_average") else ""),
           f"  python     {env['python']}, {'free-threaded build' if env['free_threaded_build'] else 'GIL build'}"
           f", GIL {'enabled' if env['gil_enabled'] else 'disabled'} now",
           f"  build      {info.get('build_type')}, {info.get('compiler_id')} {info.get('compiler_version')}, "
           f"C++ {info.get('cxx_standard')}, assertions {'on' if info.get('assertions') else 'off'}, "
           f"nanobind {info.get('nanobind_version')}, for Python {info.get('python_version')}"]
    installed = [f"{m} {p['version']}" for m, p in report["peers"].items() if p["installed"]]
    missing = [p["dist"] for p in report["peers"].values() if not p["installed"]]
    out.append(f"  peers      {', '.join(installed) if installed else 'none installed'}")
    if missing:
        out.append(f"             not installed: {', '.join(missing)}")
    if report["checks"]:
        out += ["", "self-check"]
        out += [f"  [{'ok' if c['ok'] else 'FAIL'}] {c['check']}" + (f": {c['error']}" if c.get("error") else "")
                for c in report["checks"]]
    s = report["settings"]
    out += ["", f"benchmarks: best of {s['repeat']} interleaved rounds (workloads: {s['workload_repeat']} runs of "
                f"{s['workload_operations']:,} operations); ns per operation;",
            "ratio = interlock's time / the counterpart's (below 1: interlock is faster)"]
    rows = report["benchmarks"]
    w_name = max([len(r["name"]) for r in rows] + [9])
    w_label = max([len(c["label"]) for r in rows for c in r["compared"]] + [13])
    group = None
    for r in rows:
        if r["group"] != group:
            group = r["group"]
            out += ["", f"  {group}",
                    f"  {'operation':<{w_name}}  {'interlock':>10}  {'compared with':<{w_label}}  {'ns':>10}  {'ratio':>6}"]
        first = True
        for c in r["compared"] or [None]:
            name = r["name"] if first else ""
            mine = _fmt_ns(r["interlock"]["ns"]) if first else ""
            if c is None:
                out.append(f"  {name:<{w_name}}  {mine:>10}  {'(nothing to compare with here)':<{w_label}}")
            else:
                ratio = f"{c['ratio']:6.2f}" if c["ratio"] and c["ratio"] >= 0.1 else \
                    f"{c['ratio']:6.3f}" if c["ratio"] else "     -"
                out.append(f"  {name:<{w_name}}  {mine:>10}  {c['label']:<{w_label}}  {_fmt_ns(c['ns']):>10}  {ratio}")
            first = False
        for n in r.get("not_measured", []):
            if n["reason"] != "not installed":
                out.append(f"  {'':<{w_name}}  {'':>10}  {n['label']}: {n['reason']}")
    not_installed = sorted({n["dist"] for r in rows for n in r.get("not_measured", [])
                            if n["reason"] == "not installed"})
    if not_installed:
        out += ["", f"  rows without {', '.join(not_installed)}: not installed here (pip install them to compare)"]
    if report["skipped"]:
        out += ["", "skipped rows"]
        out += [f"  {r['group']}: {r['name']}: {r['reason']}" for r in report["skipped"]]
    if report["errors"]:
        out += ["", "ERRORS"]
        for e in report["errors"]:
            out += [f"  {e['group']}: {e['name']}: {e['error']}"]
    out += ["", f"({report['seconds']:.1f} s)"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        for r in _rows.select(_rows.load_rows(), args.only):
            others = ", ".join(i.label for i in r.others)
            print(f"{r.group:<12} {r.name}  [{r.ours.label} vs {others}]")
        return 0
    try:
        if args.plot:  # fail before measuring, not after
            need("matplotlib", "--plot")
        kind = _progress.resolve(args.progress, args.json)
    except MissingExtra as e:
        print(f"python -m interlock: error: {e}", file=sys.stderr)
        return 2
    report = build_report(args, kind)
    if args.plot:
        from ._plot import plot
        plot(report, args.plot)
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(report))
        if args.plot:
            print(f"plot written to {args.plot}")
        if kind == "plain" and args.progress == "auto":
            print("(for a progress bar: python -m pip install 'interlock[report]')")
    ok = all(c["ok"] for c in report["checks"]) and not report["errors"]
    return 0 if ok else 1
