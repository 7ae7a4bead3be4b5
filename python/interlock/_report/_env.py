"""What the report says about the machine, the interpreter and the build."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import sysconfig

import interlock

# import name -> distribution name on PyPI, for every peer the rows compare with
PEERS = {
    "syncx": "syncx",
    "ft_utils": "ft-utils",
    "fastipc": "fastipc",
    "atomics": "atomics",
    "cereggii": "cereggii",
    "faster_fifo": "faster-fifo",
    "janus": "janus",
}


def gil_enabled() -> bool:
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def environment() -> dict[str, object]:
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        load = list(os.getloadavg())
    except (AttributeError, OSError):
        load = None
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "load_average": load,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "free_threaded_build": free_threaded,
        "gil_enabled": gil_enabled(),
    }


def interlock_info() -> dict[str, object]:
    return {"version": interlock.__version__, "build": interlock.build_info()}


def peers() -> dict[str, dict[str, object]]:
    """Installed version of each peer (from its metadata: nothing is imported)."""
    out: dict[str, dict[str, object]] = {}
    for module, dist in PEERS.items():
        try:
            out[module] = {"dist": dist, "installed": True, "version": importlib.metadata.version(dist)}
        except importlib.metadata.PackageNotFoundError:
            out[module] = {"dist": dist, "installed": False, "version": None}
    return out
