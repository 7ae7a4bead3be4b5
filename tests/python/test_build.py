"""The package as built: import, build description, free-threading, the
binding pattern's proof class (Counter, in the test-only module
_interlock_fixtures: conftest.bench_fixtures). (``python -m interlock``, the
report: test_report.py.)"""

import subprocess
import sys
import sysconfig
import threading

import pytest

import interlock

FREE_THREADED_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def test_version_is_single_sourced():
    assert interlock.__version__ == interlock._interlock.__version__
    assert interlock.build_info()["version"] == interlock.__version__


def test_build_info_describes_the_build():
    info = interlock.build_info()
    assert info["free_threaded"] is FREE_THREADED_BUILD
    assert info["compiler_id"]
    assert info["build_type"] == "Release"
    if info["stable_abi"]:
        # The abi3 wheel: built against 3.12's headers, runs on 3.12 and later.
        built = tuple(int(x) for x in info["python_version"].split(".")[:2])
        assert (3, 12) <= built <= sys.version_info[:2]
        assert not FREE_THREADED_BUILD
    else:
        assert info["python_version"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")


def test_import_keeps_the_gil_state():
    # A fresh interpreter: on a free-threaded build, importing every module of
    # the package must not re-enable the GIL; on a GIL build it stays on.
    code = ("import sys, interlock, interlock.atomic, interlock.locks, interlock.compat.syncx, "
            "interlock.compat.ft_utils; print(getattr(sys, '_is_gil_enabled', lambda: True)())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(not FREE_THREADED_BUILD)
    assert "GIL" not in out.stderr  # no "enabling the GIL" RuntimeWarning


def test_fast_methods_keep_cpython_calling_conventions(bench_fixtures):
    c = bench_fixtures.Counter()
    # Fast methods are method descriptors of the type, like a C type's.
    assert type(type(c).__dict__["inc"]).__name__ == "method_descriptor"
    assert c.inc() == 1
    assert c.add(41) == 42
    assert c.value() == 42
    assert c.reset() == 42 and c.value() == 0
    assert c.inc_nb() == 1  # the plain nanobind binding of the same operation


def test_fast_method_errors_are_python_exceptions(bench_fixtures):
    c = bench_fixtures.Counter(2**63 - 1)
    with pytest.raises(OverflowError):
        c.inc()
    with pytest.raises(TypeError):
        c.add("1")
    with pytest.raises(TypeError):
        c.inc(1)
    with pytest.raises(OverflowError):
        c.add(2**64)


@pytest.mark.timeout(60)
def test_counter_loses_no_updates_across_threads(bench_fixtures):
    c = bench_fixtures.Counter()
    n_threads, n = 4, 20_000
    start = threading.Barrier(n_threads)

    def work():
        inc = c.inc
        start.wait()
        for _ in range(n):
            inc()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert c.value() == n_threads * n


def test_null_lock_does_nothing_with_lock_signatures(bench_fixtures):
    # The ceiling of the contended lock benchmark: Lock's calls, no locking.
    n = bench_fixtures.NullLock()
    assert n.acquire() is True
    assert n.acquire() is True  # a second acquire does not block
    assert n.acquire(False) is True
    assert n.acquire(blocking=True, timeout=1.0) is True
    assert n.release() is None
    assert n.release() is None
    with n as entered:
        assert entered is True
    assert n.__exit__(None, None, None) is None
    with pytest.raises(TypeError):
        n.acquire(1, 2, 3)
    with pytest.raises(TypeError):
        n.release(1)
