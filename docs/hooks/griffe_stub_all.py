"""Griffe extension for the API reference: the public names of a module are
its runtime ``__all__``. A module may build ``__all__`` at run time or
re-export names from the extension, which griffe's static rules would both
hide; so, when the installed package imports, each module's ``__all__`` is
read from it and its names are marked public, and a class re-exported as
``X = _native.X`` becomes an alias of the extension's class (whose stub the
build generates)."""

from __future__ import annotations

import importlib
import sys

import griffe


def _extension_home(obj: object, name: str) -> str | None:
    if not isinstance(obj, type):
        return None
    for mod_name, module in list(sys.modules.items()):
        if mod_name.startswith("interlock._interlock") and getattr(module, name, None) is obj:
            return f"{mod_name}.{name}"
    return None


class RuntimeAll(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: object) -> None:
        self._fix(pkg)

    def _fix(self, mod: griffe.Module) -> None:
        if mod.name == "__main__":  # importing it would run it
            return
        try:
            runtime = importlib.import_module(mod.path)
            names = list(runtime.__all__)
        except Exception:  # noqa: BLE001 - not importable here: griffe's own rules apply
            names = None
        if names is not None:
            mod.exports = names
            for name in names:
                member = mod.members.get(name)
                if member is None:
                    continue
                # `X = _native.X` re-exports a class of the extension: document
                # it from the extension's (generated) stub.
                home = _extension_home(getattr(runtime, name, None), name)
                if home and not member.is_alias and member.is_attribute:
                    member = griffe.Alias(name, home, parent=mod)
                    mod.set_member(name, member)
                member.public = True
        for sub in list(mod.modules.values()):
            if not sub.is_alias:
                self._fix(sub)
