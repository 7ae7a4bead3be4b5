"""Shared helpers of the Python test suite.

* Every test is bounded: a test without its own ``@pytest.mark.timeout(...)``
  gets ``DEFAULT_TIMEOUT`` seconds (pytest-timeout).
* ``fast_switching``: the GIL is handed over every microsecond while the test
  runs (``sys.setswitchinterval(1e-6)``, restored afterwards), so races show
  up on GIL builds too.
* ``run_threads(*targets)``: runs the callables in threads released together
  by a barrier, joins them, re-raises the first exception, and returns their
  results in order.
"""

from __future__ import annotations

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
