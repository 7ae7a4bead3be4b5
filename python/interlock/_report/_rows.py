"""The report's benchmark rows: a declarative table, and the runner.

A **row** is one operation (``Lock acquire+release``) measured for interlock
and for its counterparts: the standard-library equivalent(s) and, when they
are installed, the peer libraries.  Each implementation is an :class:`Impl`:
a few lines of *setup* source (imports, building the object, pre-binding the
method) and the *statement* that is timed, e.g.::

    Row("locks", "Lock acquire+release",
        ours("interlock.locks.Lock", "from interlock.locks import Lock\\n"
             "l = Lock(); a = l.acquire; r = l.release", "a(); r()"),
        std("threading.Lock", "import threading\\n"
            "l = threading.Lock(); a = l.acquire; r = l.release", "a(); r()"))

Rows live in the modules of :mod:`interlock._report.rows` (one per area of
the package: ``atomic``, ``locks``, ``collections``, ``ipc``, ...), each with
a ``ROWS`` list; every module of that package is picked up.  A row whose
interlock setup fails with ImportError or AttributeError (the name does not
exist in this build) is skipped with a note, and so is a peer that is not
installed, so rows can be written before the feature they measure lands.

A **workload** row (``workload=True``) times a whole run instead of one
statement: its setup gets ``N`` (the number of operations) and defines
``run()``, which does N operations (threads and all) and returns the seconds
they took; the figure reported is nanoseconds per operation, like the others.
A setup may define ``cleanup()``, called once the row is measured.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import subprocess
import sys
import timeit
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from . import _timing

INTERLOCK, STDLIB, PEER = "interlock", "stdlib", "peer"


@dataclass(frozen=True)
class Impl:
    """One implementation of a row's operation."""

    label: str
    setup: str
    stmt: str = "f()"
    kind: str = INTERLOCK
    package: str | None = None  # a peer's import name
    dist: str | None = None     # a peer's name on PyPI, for the "not installed" note


def ours(label: str, setup: str, stmt: str = "f()") -> Impl:
    return Impl(label, setup, stmt, INTERLOCK)


def std(label: str, setup: str, stmt: str = "f()") -> Impl:
    return Impl(label, setup, stmt, STDLIB)


def peer(package: str, label: str, setup: str, stmt: str = "f()", dist: str | None = None) -> Impl:
    return Impl(label, setup, stmt, PEER, package, dist or package)


@dataclass(frozen=True)
class Row:
    group: str
    name: str
    ours: Impl
    stdlib: tuple[Impl, ...]
    peers: tuple[Impl, ...] = ()
    workload: bool = False
    description: str = ""

    def __init__(self, group: str, name: str, ours: Impl, stdlib: Impl | tuple[Impl, ...],
                 *peers: Impl, workload: bool = False, description: str = "") -> None:
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "ours", ours)
        object.__setattr__(self, "stdlib", stdlib if isinstance(stdlib, tuple) else (stdlib,))
        object.__setattr__(self, "peers", peers)
        object.__setattr__(self, "workload", workload)
        object.__setattr__(self, "description", description)

    @property
    def others(self) -> tuple[Impl, ...]:
        return self.stdlib + self.peers


# ---------------------------------------------------------------- discovery

GROUP_ORDER = ["atomic", "locks", "collections", "ipc"]


def load_rows() -> list[Row]:
    """Every row of every module of interlock._report.rows, areas in a fixed order."""
    from . import rows as rows_pkg

    names = sorted((m.name for m in pkgutil.iter_modules(rows_pkg.__path__) if not m.name.startswith("_")),
                   key=lambda n: (GROUP_ORDER.index(n) if n in GROUP_ORDER else len(GROUP_ORDER), n))
    out: list[Row] = []
    for name in names:
        mod = importlib.import_module(f"{rows_pkg.__name__}.{name}")
        out.extend(getattr(mod, "ROWS", []))
    return out


def select(rows: list[Row], only: list[str] | None) -> list[Row]:
    """Rows whose group equals, or whose name contains, one of ``only`` (case-insensitive)."""
    if not only:
        return rows
    keys = [k.lower() for k in only]
    return [r for r in rows if any(k == r.group.lower() or k in r.name.lower() for k in keys)]


# ---------------------------------------------------------------- peers

_gil_safe_cache: dict[str, bool] = {}


def _would_enable_gil(package: str) -> bool:
    """On a free-threaded interpreter running without the GIL, whether importing
    ``package`` would turn the GIL on (an extension that does not declare
    free-threading support does): that would change every figure measured
    after it, so such a peer is checked in a subprocess and skipped."""
    if getattr(sys, "_is_gil_enabled", lambda: True)() or package in sys.modules:
        return False
    if package not in _gil_safe_cache:
        code = ("import sys, warnings\nwarnings.simplefilter('ignore')\n"
                f"import {package}\nprint(sys._is_gil_enabled())")
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
            _gil_safe_cache[package] = out.returncode == 0 and out.stdout.strip() == "False"
        except (OSError, subprocess.SubprocessError):
            _gil_safe_cache[package] = False
    return not _gil_safe_cache[package]


def peer_available(package: str) -> str | None:
    """None if the peer can be measured here, else the reason it cannot."""
    try:
        importlib.util.find_spec(package)
    except (ImportError, ValueError):  # ValueError: sys.modules[package] is None
        return "not installed"
    if importlib.util.find_spec(package) is None:
        return "not installed"
    if _would_enable_gil(package):
        return "not free-threading ready: importing it would turn the GIL on"
    try:
        importlib.import_module(package)
    except Exception as e:  # noqa: BLE001 - a broken peer is a note, not a crash
        return f"import failed: {type(e).__name__}: {e}"
    return None


# ---------------------------------------------------------------- running


@dataclass
class Settings:
    quick: bool
    target_s: float = field(init=False)
    repeat: int = field(init=False)
    workload_n: int = field(init=False)
    workload_repeat: int = field(init=False)

    def __post_init__(self) -> None:
        self.target_s = 0.005 if self.quick else 0.02
        self.repeat = 3 if self.quick else 7
        self.workload_n = 20_000 if self.quick else 200_000
        self.workload_repeat = 2 if self.quick else 5

    def rounds(self, row: Row) -> int:
        return self.workload_repeat if row.workload else self.repeat

    def as_dict(self) -> dict[str, object]:
        return {"quick": self.quick, "round_target_ms": self.target_s * 1e3, "repeat": self.repeat,
                "workload_operations": self.workload_n, "workload_repeat": self.workload_repeat}


def _prepare(impl: Impl, row: Row, settings: Settings) -> dict[str, object]:
    ns: dict[str, object] = {"__name__": f"interlock_report_{row.group}"}
    if row.workload:
        ns["N"] = settings.workload_n
    exec(compile(impl.setup, f"<report row {row.name!r}: {impl.label}>", "exec"), ns)
    if row.workload and not callable(ns.get("run")):
        raise TypeError(f"workload setup of {impl.label!r} defines no run()")
    return ns


def _cleanup(namespaces: list[dict[str, object]]) -> None:
    for ns in namespaces:
        fn = ns.get("cleanup")
        if callable(fn):
            try:
                fn()
            except Exception:  # noqa: BLE001, S110 - best effort
                pass


def _one_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".splitlines()[0]
    return re.sub(r" \((/|[A-Za-z]:\\)[^)]*\)$", "", text)  # ImportError's "(/path/to/module.py)"


def _missing(e: BaseException) -> str:
    """Why an interlock row cannot run: the name that is not in this build."""
    if isinstance(e, ImportError):
        m = re.match(r"cannot import name '([^']+)' from '([^']+)'", str(e))
        if m:
            return f"{m.group(2)}.{m.group(1)} is not in this build yet"
        if e.name:
            return f"{e.name} is not in this build yet"
    return f"not in this build yet ({_one_line(e)})"


def run_row(row: Row, settings: Settings, tick: Callable[[], None]) -> dict[str, object]:
    """Measure one row; the result dict is the row's JSON form. ``tick`` is
    called once per round (the caller's progress bar)."""
    result: dict[str, object] = {
        "group": row.group, "name": row.name, "description": row.description,
        "workload": row.workload, "unit": "ns/op",
    }
    try:
        ours_ns = _prepare(row.ours, row, settings)
    except (ImportError, AttributeError) as e:
        result["skipped"] = _missing(e)
        return result
    except Exception as e:  # noqa: BLE001
        result["error"] = f"interlock setup failed: {_one_line(e)}"
        result["traceback"] = traceback.format_exc()
        return result

    measured: list[tuple[Impl, dict[str, object]]] = [(row.ours, ours_ns)]
    notes: list[dict[str, str]] = []
    for impl in row.others:
        if impl.kind == PEER and impl.package:
            why = peer_available(impl.package)
            if why is not None:
                notes.append({"label": impl.label, "kind": impl.kind, "package": impl.package,
                              "dist": impl.dist or impl.package, "reason": why})
                continue
        try:
            measured.append((impl, _prepare(impl, row, settings)))
        except Exception as e:  # noqa: BLE001 - a counterpart that cannot run here is a note
            notes.append({"label": impl.label, "kind": impl.kind, "package": impl.package or "",
                          "dist": impl.dist or "", "reason": f"setup failed: {_one_line(e)}"})

    try:
        if row.workload:
            runs = [ns["run"] for _, ns in measured]
            best = _timing.best_seconds_interleaved(runs, settings.workload_repeat, tick)  # type: ignore[arg-type]
            values = [s / settings.workload_n * 1e9 for s in best]
            result["operations"] = settings.workload_n
        else:
            timers = [timeit.Timer(impl.stmt, globals=ns) for impl, ns in measured]
            number = min(_timing.calibrate(t, settings.target_s) for t in timers)
            values = _timing.best_ns_interleaved(timers, number, settings.repeat, tick)
            result["number"] = number
    except Exception as e:  # noqa: BLE001
        result["error"] = f"measuring failed: {_one_line(e)}"
        result["traceback"] = traceback.format_exc()
        return result
    finally:
        _cleanup([ns for _, ns in measured])

    ours_value = values[0]
    result["interlock"] = {"label": row.ours.label, "ns": ours_value}
    result["compared"] = [
        {"label": impl.label, "kind": impl.kind, "ns": v, "ratio": ours_value / v if v > 0 else None}
        for (impl, _), v in zip(measured[1:], values[1:])
    ]
    result["not_measured"] = notes
    return result
