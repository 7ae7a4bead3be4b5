"""The test-only extension module ``_interlock_fixtures`` (bench/fixtures/).

Counter (the fast-method binding proof), NullLock and NullMap (the do-nothing
ceilings of the contended benchmarks) are fixtures, not API: they are not in
the wheels. ``load()`` imports the module built for this interpreter, building
it first (CMake + nanobind, about a minute) when it is missing and the tools
are there; it returns None, with ``reason()`` saying why, when it cannot.

    python bench/_fixtures.py        # build it for this interpreter, print where

Where: $INTERLOCK_FIXTURES_DIR, else build/fixtures/<interpreter tag>/ of this
tree. Tests that need it skip when it is absent, unless
INTERLOCK_REQUIRE_FIXTURES=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
from types import ModuleType

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "bench" / "fixtures"
NAME = "_interlock_fixtures"
_reason = ""


def build_dir() -> pathlib.Path:
    env = os.environ.get("INTERLOCK_FIXTURES_DIR")
    if env:
        return pathlib.Path(env)
    tag = sys.implementation.cache_tag + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "")
    return ROOT / "build" / "fixtures" / tag


def reason() -> str:
    """Why the last load() returned None."""
    return _reason


def _tool(name: str) -> str | None:
    here = pathlib.Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def build(quiet: bool = True) -> bool:
    """Configure and build the module into build_dir(); False (reason()) on failure."""
    global _reason
    cmake = _tool("cmake")
    if cmake is None:
        _reason = "cmake is not installed"
        return False
    try:
        import nanobind  # noqa: F401
    except ImportError:
        _reason = f"nanobind is not installed for {sys.executable}"
        return False
    out = build_dir()
    gen = ["-G", "Ninja"] if _tool("ninja") else []
    steps = [[cmake, "-S", str(SOURCE), "-B", str(out / "cmake"), *gen, "-DCMAKE_BUILD_TYPE=Release",
              f"-DPython_EXECUTABLE={sys.executable}",
              f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out}"],
             [cmake, "--build", str(out / "cmake"), "-j2"]]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=quiet, text=True)
        if r.returncode != 0:
            _reason = f"building {NAME} failed: {' '.join(cmd)}\n{r.stdout or ''}{r.stderr or ''}"
            return False
    return True


def load(build_if_missing: bool = True) -> ModuleType | None:
    """The fixtures module for this interpreter, or None (see reason())."""
    global _reason
    if NAME in sys.modules:
        return sys.modules[NAME]
    where = build_dir()
    built = [p for p in where.glob(NAME + ".*") if p.is_file()] if where.is_dir() else []
    newest_source = max(p.stat().st_mtime for p in SOURCE.iterdir())
    if not built or (build_if_missing and built[0].stat().st_mtime < newest_source):
        if not build_if_missing:
            _reason = f"{NAME} is not built in {where} (python bench/_fixtures.py builds it)"
            return None
        if not build():
            return None
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(NAME)
    except ImportError as e:
        _reason = f"{NAME} in {where} does not import: {e}"
        return None
    finally:
        sys.path.remove(str(where))


def require() -> ModuleType:
    """load(), or exit with the reason (for the benchmark scripts)."""
    mod = load()
    if mod is None:
        raise SystemExit(f"this benchmark needs the test-only module {NAME}: {reason()}")
    return mod


if __name__ == "__main__":
    if load() is None:
        print(reason(), file=sys.stderr)
        sys.exit(1)
    print(build_dir())
