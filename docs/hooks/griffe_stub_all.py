"""Griffe extension for the API reference: the public names of a module are
its runtime ``__all__`` (as tests/python/test_stubs.py has it). A stub may
declare ``__all__: Final[list[str]]`` without a value, and a module may
re-export names from the extension, which griffe's static rules would both
hide; so, when the installed package imports, each module's ``__all__`` is
read from it and its names are marked public."""

from __future__ import annotations

import importlib

import griffe


class RuntimeAll(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: object) -> None:
        self._fix(pkg)

    def _fix(self, mod: griffe.Module) -> None:
        if mod.name == "__main__":  # importing it would run it
            return
        try:
            names = list(importlib.import_module(mod.path).__all__)
        except Exception:  # noqa: BLE001 - not importable here: griffe's own rules apply
            names = None
        if names is not None:
            mod.exports = names
            for name in names:
                if name in mod.members:
                    mod.members[name].public = True
        for sub in list(mod.modules.values()):
            if not sub.is_alias:
                self._fix(sub)
