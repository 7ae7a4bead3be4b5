"""Optional extras of the report and the message shown when one is missing."""

from __future__ import annotations

import importlib

EXTRAS = {
    # module: (pip extra, what it is for)
    "rich": ("report", "a progress bar"),
    "tqdm": ("report", "a progress bar"),
    "matplotlib": ("plot", "--plot"),
}


class MissingExtra(Exception):
    """An optional package the chosen option needs is not installed."""

    def __init__(self, module: str, option: str) -> None:
        extra, _ = EXTRAS[module]
        super().__init__(f"{option} needs the optional package {module!r}, which is not installed here.\n"
                         f"Install it with:  python -m pip install 'interlock[{extra}]'   (or: pip install {module})")
        self.module, self.extra = module, extra


def have(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:  # also when sys.modules[module] is None
        return False
    return True


def need(module: str, option: str):
    """Import ``module`` or raise MissingExtra naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtra(module, option) from e
