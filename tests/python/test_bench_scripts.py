"""The benchmark scripts in bench/ still run (a smoke test, not a timing).

Each runs with --quick --json in a subprocess of this interpreter; the test
checks that it exits cleanly and prints JSON with its main sections. Speed
itself is shown by running the scripts, with figures in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"

# script -> keys its JSON report must have
SCRIPTS = {
    "bench_binding.py": [],
    "bench_atomic.py": ["environment"],
    "bench_locks.py": ["ns_per_op", "ratios", "contended", "handoff", "sizes"],
    "bench_sync.py": [],
    "bench_collections_queue.py": ["ns_per_pair", "items_per_s", "ratios"],
    "bench_collections_deque.py": ["ns_per_pair", "pairs_per_s", "ratios"],
    "bench_collisions.py": ["rows", "ratios"],
    "bench_ipc_futex.py": ["ns_per_op", "ping_pong_us_per_round_trip", "ratios"],
    "bench_ipc_queue.py": ["messages_per_s", "ping_pong_us_per_round_trip", "ns_per_pair",
                           "ratios"],
}


# Scripts that use the test-only module _interlock_fixtures (conftest.bench_fixtures).
NEEDS_FIXTURES = {"bench_binding.py", "bench_atomic.py", "bench_locks.py"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_bench_script_runs(script, request):
    if script in NEEDS_FIXTURES:
        request.getfixturevalue("bench_fixtures")
    out = subprocess.run([sys.executable, str(BENCH / script), "--quick", "--json"],
                         capture_output=True, text=True, timeout=110, cwd=BENCH)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert isinstance(report, dict) and report
    for key in SCRIPTS[script]:
        assert key in report, key


@pytest.mark.timeout(120)
def test_contended_lock_report_is_consistent(bench_fixtures):
    out = subprocess.run([sys.executable, str(BENCH / "bench_locks.py"), "--quick", "--json"],
                         capture_output=True, text=True, timeout=110, cwd=BENCH)
    assert out.returncode == 0, out.stderr
    cont = json.loads(out.stdout)["contended"]
    for form in ("with", "pair"):
        rows = cont["results"][form]
        assert set(rows) >= {"Lock", "threading.Lock", "NullLock", "Lock alone"}
        assert all(r["mops_per_s"] > 0 for r in rows.values())
        assert set(cont["throughput_ratios"][form]) == {"Lock", "RLock", "ceiling", "bound"}
