"""Shared helpers of the Python test suite.

* Every test is bounded: a test without its own ``@pytest.mark.timeout(...)``
  gets ``DEFAULT_TIMEOUT`` seconds (pytest-timeout).
* ``fast_switching``: the GIL is handed over every microsecond while the test
  runs (``sys.setswitchinterval(1e-6)``, restored afterwards), so races show
  up on GIL builds too.
* ``run_threads(*targets)``: runs the callables in threads released together
  by a barrier, joins them, re-raises the first exception, and returns their
  results in order.
* ``bench_fixtures``: the test-only extension module ``_interlock_fixtures``
  (Counter, NullLock, NullMap; bench/_fixtures.py builds it on demand, it is
  not in the wheels). Skips when it cannot be had, or fails with
  INTERLOCK_REQUIRE_FIXTURES=1 (CI).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import sys
import threading
from typing import Any, Callable

import pytest

DEFAULT_TIMEOUT = 60

FREE_THREADED = not getattr(sys, "_is_gil_enabled", lambda: True)()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))
    if any("bench_fixtures" in getattr(item, "fixturenames", ()) for item in items):
        _fixtures_loader().load()  # a first build (a minute) here, outside any test's timeout


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _run_threads(*targets: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def runner(i: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def run_threads() -> Callable[..., list[Any]]:
    return _run_threads


_loader = None


def _fixtures_loader():
    global _loader
    if _loader is None:
        path = pathlib.Path(__file__).resolve().parents[2] / "bench" / "_fixtures.py"
        spec = importlib.util.spec_from_file_location("_interlock_fixtures_loader", path)
        _loader = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_loader)
    return _loader


def load_bench_fixtures():
    """The _interlock_fixtures module; pytest.skip (or fail, in CI) without it."""
    loader = _fixtures_loader()
    mod = loader.load()
    if mod is None:
        why = f"test-only module _interlock_fixtures unavailable: {loader.reason()}"
        if os.environ.get("INTERLOCK_REQUIRE_FIXTURES") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return mod


@pytest.fixture(scope="session")
def bench_fixtures():
    return load_bench_fixtures()
