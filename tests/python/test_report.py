"""``python -m interlock``, the report: its JSON structure, the text form, the
missing-extra messages, ``--plot``, and the declarative rows themselves (every
standard-library and installed-peer counterpart sets up and runs).

The full report runs once, with ``--quick --json``; everything else runs only a
few rows (``--only``) or exits before measuring.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import sysconfig
import timeit

import pytest

import interlock
from interlock._report import _env, _progress, _rows
from interlock._report._extras import MissingExtra

FREE_THREADED_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def _run(*args: str, pre: str = "", timeout: float = 110) -> subprocess.CompletedProcess:
    """python -m interlock ARGS in a subprocess; ``pre`` runs first (e.g. to hide a module)."""
    code = f"{pre}\nimport runpy\nrunpy.run_module('interlock', run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(60)
def test_importing_main_does_not_run_the_report():
    # python -m interlock runs the report; importing interlock.__main__ (as
    # tools that scan a package do) must not.
    code = "import sys, interlock.__main__ as m; assert callable(m.main); print('imported')"
    out = subprocess.run([sys.executable, "-c", code, "--json"], capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "imported\n"


@pytest.fixture(scope="module")
def report() -> dict:
    out = subprocess.run([sys.executable, "-m", "interlock", "--quick", "--json"],
                         capture_output=True, text=True, timeout=110)
    assert out.returncode == 0, out.stderr + out.stdout
    return json.loads(out.stdout)


@pytest.mark.timeout(120)
def test_json_report_says_where_it_runs(report):
    assert report["schema"] == 1
    assert report["version"] == interlock.__version__
    assert report["interlock"]["version"] == interlock.__version__
    assert report["interlock"]["build"] == report["build"] == interlock.build_info()
    env = report["environment"]
    assert env["free_threaded_build"] is FREE_THREADED_BUILD
    assert env["gil_enabled"] is getattr(sys, "_is_gil_enabled", lambda: True)()
    assert env["cpu_count"] >= 1 and 1 <= env["cpus_usable"] <= env["cpu_count"]
    assert env["python"].endswith(".".join(map(str, sys.version_info[:2])) + "." + str(sys.version_info[2]))
    assert set(report["peers"]) == set(_env.PEERS)
    for p in report["peers"].values():
        assert p["installed"] is (p["version"] is not None)
    assert report["settings"]["quick"] is True
    assert report["seconds"] > 0


@pytest.mark.timeout(120)
def test_json_report_self_check_passes(report):
    assert report["checks"] and all(c["ok"] for c in report["checks"]), report["checks"]


@pytest.mark.timeout(120)
def test_json_report_rows(report):
    assert not report["errors"], report["errors"]
    every = {(r.group, r.name) for r in _rows.load_rows()}
    measured = {(r["group"], r["name"]) for r in report["benchmarks"]}
    skipped = {(r["group"], r["name"]) for r in report["skipped"]}
    assert measured | skipped == every and not measured & skipped  # each row once
    assert {"atomic", "locks"} <= {g for g, _ in measured}
    for r in report["skipped"]:
        assert "not in this build" in r["reason"]
    for r in report["benchmarks"]:
        ours = r["interlock"]["ns"]
        assert ours > 0
        assert any(c["kind"] == "stdlib" for c in r["compared"]), r["name"]
        for c in r["compared"]:
            assert c["kind"] in ("stdlib", "peer") and c["ns"] > 0
            assert c["ratio"] == pytest.approx(ours / c["ns"])
        for n in r["not_measured"]:
            assert n["kind"] in ("stdlib", "peer") and n["reason"]
        assert r["number" if not r["workload"] else "operations"] > 0


@pytest.mark.timeout(120)
def test_text_report_with_plain_progress():
    out = _run("--quick", "--no-checks", "--only", "Lock acquire", "--progress", "plain")
    assert out.returncode == 0, out.stderr
    for text in ("platform", "CPUs", "python", "build", "ratio", "Lock acquire+release", "threading.Lock"):
        assert text in out.stdout, text
    assert "Semaphore" not in out.stdout  # --only selects rows by area or name
    assert "[100%" in out.stderr and "locks: Lock acquire+release" in out.stderr


def test_list_names_every_row():
    out = _run("--list")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == len(_rows.load_rows())


@pytest.mark.parametrize("module, args, extra", [
    ("matplotlib", ["--plot", "never-written.png"], "interlock[plot]"),
    ("rich", ["--progress", "rich"], "interlock[report]"),
    ("tqdm", ["--progress", "tqdm"], "interlock[report]"),
])
def test_missing_extra_is_a_clear_message(module, args, extra, tmp_path):
    out = _run("--quick", *args, pre=f"import sys\nsys.modules[{module!r}] = None")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert module in out.stderr and extra in out.stderr and "pip install" in out.stderr
    assert out.stdout == ""  # nothing was measured


def test_no_progress_bar_package_falls_back_to_plain_text(monkeypatch):
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    assert _progress.resolve("auto", json_mode=False, stream=tty) == "plain"
    assert _progress.resolve("auto", json_mode=True, stream=io.StringIO()) == "none"
    with pytest.raises(MissingExtra, match=r"interlock\[report\]"):
        _progress.resolve("rich", json_mode=False)


@pytest.mark.parametrize("kind", ["plain", "none", "rich", "tqdm"])
def test_progress_displays(kind):
    if kind in ("rich", "tqdm") and importlib.util.find_spec(kind) is None:
        pytest.skip(f"{kind} not installed")
    stream = io.StringIO()
    bar = _progress.make(kind, 3, stream)
    bar.start("locks: Lock")
    bar.advance()
    bar.advance(2)
    bar.close()
    if kind == "plain":
        assert "locks: Lock" in stream.getvalue() and "[100%" in stream.getvalue()
    if kind == "none":
        assert stream.getvalue() == ""


@pytest.mark.timeout(120)
def test_plot_writes_a_png(tmp_path):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib not installed (pip install 'interlock[plot]')")
    png = tmp_path / "ratios.png"
    out = _run("--quick", "--no-checks", "--only", "Lock acquire", "--only", "AtomicInt increment",
               "--json", "--plot", str(png))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_interlock_name_or_peer_is_skipped_with_a_note():
    settings = _rows.Settings(quick=True)
    row = _rows.Row("collections", "not yet", _rows.ours("x", "from interlock.collections import NoSuchThing"),
                    _rows.std("dict", "d = {}", "d"))
    res = _rows.run_row(row, settings, lambda: None)
    assert res["skipped"] == "interlock.collections.NoSuchThing is not in this build yet"
    row = _rows.Row("atomic", "peer absent", _rows.ours("AtomicInt", "from interlock.atomic import AtomicInt\n"
                                                                   "f = AtomicInt().inc"),
                    _rows.std("count", "import itertools\nf = itertools.count().__next__"),
                    _rows.peer("no_such_peer_pkg_xyz", "nobody", "import no_such_peer_pkg_xyz"),
                    _rows.peer("itertools", "broken", "raise RuntimeError('boom')"))
    res = _rows.run_row(row, settings, lambda: None)
    assert [c["label"] for c in res["compared"]] == ["count"]
    notes = {n["label"]: n["reason"] for n in res["not_measured"]}
    assert notes == {"nobody": "not installed", "broken": "setup failed: RuntimeError: boom"}


def test_rows_are_discovered_per_area():
    groups = [r.group for r in _rows.load_rows()]
    assert {"atomic", "locks", "collections", "ipc"} <= set(groups)
    order = list(dict.fromkeys(groups))
    assert order[:4] == ["atomic", "locks", "collections", "ipc"]
    assert _rows.select(_rows.load_rows(), ["ipc"]) == [r for r in _rows.load_rows() if r.group == "ipc"]


def _counterparts() -> list:
    return [pytest.param(row, impl, id=f"{row.name} / {impl.label}")
            for row in _rows.load_rows() for impl in row.others]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("row, impl", _counterparts())
def test_every_counterpart_sets_up_and_runs(row, impl):
    # The stdlib side of every row (and each installed peer) runs here, even for
    # rows whose interlock side is not in this build yet.
    if impl.kind == "peer":
        why = _rows.peer_available(impl.package)
        if why is not None:
            pytest.skip(f"{impl.package}: {why}")
    settings = _rows.Settings(quick=True)
    settings.workload_n = 200
    ns = _rows._prepare(impl, row, settings)
    try:
        if row.workload:
            assert ns["run"]() > 0
        else:
            assert timeit.Timer(impl.stmt, globals=ns).timeit(50) > 0
    finally:
        _rows._cleanup([ns])
