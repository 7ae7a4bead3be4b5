"""The hand-written stubs (python/interlock/**/*.pyi) against the runtime.

Stdlib only (``ast``, ``inspect``): no type checker at test time. For each
public stub and its module:

(a) every class the stub defines exists at run time, as a class;
(b) every public attribute of the runtime class, and every dunder it defines
    itself (minus ``IGNORED_DUNDERS``), is declared in the stub's class (or a
    base class the stub defines);
(c) every member the stub declares exists at run time, defined by the class
    or a base other than ``object`` (``FROM_OBJECT`` lists the exceptions);
(d) the stub's public module-level names (definitions and ``X as X``
    re-exports) are the runtime ``__all__``, and so is a literal ``__all__``;
(e) a stub method that is not overloaded takes the parameters of the runtime
    text signature (``__text_signature__``, or nanobind's first ``__doc__``
    line for ``__init__``): same kinds (``/`` and ``*`` included), same
    names where they can be passed by keyword, same defaults present.

``_interlock.pyi`` declares the extension's submodules as classes: each must
be a runtime submodule whose names are the ones declared, an alias
``X = _mod.X`` must be the very object at run time, and its nested classes
(``_bench``'s) get checks (a)-(c) and (e) too.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STUB_ROOT = Path(__file__).resolve().parents[2] / "python" / "interlock"

# stub file (relative to STUB_ROOT) -> the module it types
PUBLIC_STUBS = {
    "atomic.pyi": "interlock.atomic",
    "locks.pyi": "interlock.locks",
    "compat/syncx/locks.pyi": "interlock.compat.syncx.locks",
    "compat/syncx/atomic.pyi": "interlock.compat.syncx.atomic",
    "compat/ft_utils/concurrency.pyi": "interlock.compat.ft_utils.concurrency",
    "compat/ft_utils/local.pyi": "interlock.compat.ft_utils.local",
    "compat/ft_utils/synchronization.pyi": "interlock.compat.ft_utils.synchronization",
    "collections.pyi": "interlock.collections",
    "ipc/__init__.pyi": "interlock.ipc",
    "ipc/_atomics.pyi": "interlock.ipc._atomics",
    "compat/atomics/__init__.pyi": "interlock.compat.atomics",
    "compat/atomics/exc.pyi": "interlock.compat.atomics.exc",
    "compat/atomics/base.pyi": "interlock.compat.atomics.base",
    "compat/atomics/view.pyi": "interlock.compat.atomics.view",
    "compat/atomics/ctx.pyi": "interlock.compat.atomics.ctx",
    "compat/syncx/collections.pyi": "interlock.compat.syncx.collections",
    "ipc/_futex.pyi": "interlock.ipc._futex",
    "ipc/_queue.pyi": "interlock.ipc._queue",
    "compat/fastipc/__init__.pyi": "interlock.compat.fastipc",
}
EXTENSION_STUB = "_interlock.pyi"

# Dunders a runtime class may define without the stub declaring them: object
# machinery, pickling and printing, which typing does not need.
IGNORED_DUNDERS = frozenset({
    "__new__", "__init__", "__init_subclass__", "__subclasshook__",
    "__module__", "__qualname__", "__doc__", "__dict__", "__weakref__",
    "__slots__", "__firstlineno__", "__static_attributes__", "__annotations__",
    "__slotnames__",  # cached by copyreg once an instance was pickled or copied
    "__abstractmethods__",  # set by ABCMeta on every abc.ABC subclass
    "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__",
    "__copy__", "__deepcopy__", "__repr__", "__str__",
    "__getattribute__", "__setattr__", "__delattr__", "__dir__", "__sizeof__",
})
# Members a stub may declare that the runtime class inherits from object.
FROM_OBJECT = frozenset({"__init__"})
# Dunders CPython generates from a type slot only since some version: a stub
# declares them, and older interpreters do not have them (``__buffer__`` is
# bf_getbuffer's Python name since 3.12, PEP 688).
NEW_IN = {"__buffer__": (3, 12)}


# --------------------------------------------------------------- stub parsing

@dataclass
class StubClass:
    name: str
    node: ast.ClassDef
    bases: list[str]
    final: bool
    members: dict[str, list[ast.AST]] = field(default_factory=dict)
    classes: dict[str, StubClass] = field(default_factory=dict)

    def functions(self) -> dict[str, list[ast.FunctionDef]]:
        return {name: [n for n in nodes if isinstance(n, ast.FunctionDef)]
                for name, nodes in self.members.items()
                if any(isinstance(n, ast.FunctionDef) for n in nodes)}


def _flatten(body: list[ast.stmt]):
    """The statements of a body, looking into ``if`` blocks (version checks)."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _flatten(node.body)
            yield from _flatten(node.orelse)
        else:
            yield node


def _target_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return []


def _is_final(node: ast.ClassDef) -> bool:
    return any((isinstance(d, ast.Name) and d.id == "final")
               or (isinstance(d, ast.Attribute) and d.attr == "final")
               for d in node.decorator_list)


def _parse_class(node: ast.ClassDef) -> StubClass:
    cls = StubClass(node.name, node, [b.id for b in node.bases if isinstance(b, ast.Name)],
                    _is_final(node))
    for item in _flatten(node.body):
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            cls.members.setdefault(item.name, []).append(item)
        elif isinstance(item, ast.ClassDef):
            cls.members.setdefault(item.name, []).append(item)
            cls.classes[item.name] = _parse_class(item)
        else:
            for name in _target_names(item):
                cls.members.setdefault(name, []).append(item)
    return cls


@dataclass
class Stub:
    path: Path
    tree: ast.Module
    classes: dict[str, StubClass]
    public: set[str]          # definitions and `X as X` re-exports
    literal_all: list[str] | None
    module_aliases: dict[str, str]  # `import a.b as _x` -> {"_x": "a.b"}


def parse_stub(path: Path) -> Stub:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    classes: dict[str, StubClass] = {}
    public: set[str] = set()
    literal_all = None
    aliases: dict[str, str] = {}
    for node in _flatten(tree.body):
        if isinstance(node, ast.ClassDef):
            classes[node.name] = _parse_class(node)
            public.add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            public.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            public.update(a.asname for a in node.names if a.asname == a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.asname == a.name:
                    public.add(a.asname)
                elif a.asname:
                    aliases[a.asname] = a.name
        else:
            for name in _target_names(node):
                if name == "__all__":
                    value = getattr(node, "value", None)
                    if value is not None:
                        literal_all = ast.literal_eval(value)
                else:
                    public.add(name)
    public = {n for n in public if not n.startswith("_") or n.startswith("__")}
    return Stub(path, tree, classes, public, literal_all, aliases)


def stub_members(stub_classes: dict[str, StubClass], cls: StubClass) -> set[str]:
    """The names a stub class declares, with those of its bases in the stub."""
    names = set(cls.members)
    for base in cls.bases:
        if base in stub_classes and base != cls.name:
            names |= stub_members(stub_classes, stub_classes[base])
    return names


# --------------------------------------------------------------- runtime side

def runtime_lookup(cls: type, name: str) -> tuple[type, object] | None:
    """(owner, raw attribute) for name in cls's MRO, or None."""
    for owner in cls.__mro__:
        if name in vars(owner):
            return owner, vars(owner)[name]
    return None


def runtime_names(cls: type) -> set[str]:
    """Public attributes, and the dunders the class defines itself."""
    public = {n for n in dir(cls) if not n.startswith("_") and not _from_library(cls, n)}
    own_dunders = {n for n in vars(cls)
                   if n.startswith("__") and n.endswith("__") and n not in IGNORED_DUNDERS}
    if isinstance(cls, enum.EnumMeta):  # enum machinery (members are checked as names)
        own_dunders -= ENUM_DUNDERS
    return public | own_dunders


# Base classes whose members a stub class inherits without declaring them
# (an exception's args / with_traceback, an IntEnum's int methods, name, value).
LIBRARY_MODULES = frozenset({"builtins", "enum", "abc"})
# Dunders the enum machinery (and IntEnum) puts into every enum class.
ENUM_DUNDERS = frozenset({"__format__", "__new__", "__members__", "__str__", "__repr__",
                          "__reduce_ex__", "__dir__", "__hash__", "__init__",
                          "_generate_next_value_", "__deepcopy__", "__copy__"})


def _from_library(cls: type, name: str) -> bool:
    """Whether cls inherits name from a standard-library base (not its own)."""
    found = runtime_lookup(cls, name)
    return (found is not None and found[0] is not cls
            and getattr(found[0], "__module__", None) in LIBRARY_MODULES)


# ------------------------------------------------------------ signature check

Param = tuple[str, str | None, bool]  # (kind, name unless positional-only, has default)


def _params(args: ast.arguments, drop_first: bool) -> list[Param]:
    positional = [(a, "POSITIONAL_ONLY") for a in args.posonlyargs]
    positional += [(a, "POSITIONAL_OR_KEYWORD") for a in args.args]
    first_default = len(positional) - len(args.defaults)
    out: list[Param] = []
    for i, (a, kind) in enumerate(positional):
        out.append((kind, None if kind == "POSITIONAL_ONLY" else a.arg, i >= first_default))
    if args.vararg:
        out.append(("VAR_POSITIONAL", None, False))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append(("KEYWORD_ONLY", a.arg, d is not None))
    if args.kwarg:
        out.append(("VAR_KEYWORD", None, False))
    if drop_first and out:
        out.pop(0)
    return out


def runtime_params(name: str, attr: object) -> list[Param] | None:
    """The runtime parameters (self dropped unless static), or None if there is
    no signature. (nanobind's def_static functions are nb_func; its methods
    nb_method.)"""
    static = isinstance(attr, staticmethod) or type(attr).__name__ == "nb_func"
    if isinstance(attr, staticmethod):
        attr = attr.__func__
    text = getattr(attr, "__text_signature__", None)
    if text:
        src = "def f" + text.replace("$", "") + ": pass"
    else:
        # nanobind functions: the first line of __doc__ is a typed def
        doc = getattr(attr, "__doc__", None) or ""
        lines = doc.splitlines()
        if type(attr).__name__ not in ("nb_method", "nb_func") or not lines:
            return None
        if sum(1 for line in lines if line.startswith(name + "(")) != 1:
            return None  # an overloaded nanobind function
        src = "def " + lines[0].split(" -> ")[0] + ": pass"
    try:
        fn = ast.parse(src).body[0]
    except SyntaxError:
        return None
    assert isinstance(fn, ast.FunctionDef)
    return _params(fn.args, drop_first=not static)


def stub_params(fn: ast.FunctionDef) -> list[Param]:
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
    return _params(fn.args, drop_first=not static)


# ---------------------------------------------------------- the class checks

def check_class(stub_classes: dict[str, StubClass], scls: StubClass, cls: object,
                where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(cls, type):
        return [f"{where}: not a class at run time ({cls!r})"]
    declared = stub_members(stub_classes, scls)
    # (b) runtime -> stub
    for name in sorted(runtime_names(cls) - declared):
        problems.append(f"{where}.{name}: at run time, not in the stub")
    # (c) stub -> runtime
    for name in sorted(scls.members):
        found = runtime_lookup(cls, name)
        if found is None and sys.version_info < NEW_IN.get(name, (0,)):
            continue
        if found is None:
            problems.append(f"{where}.{name}: in the stub, not at run time")
        elif found[0] is object and name not in FROM_OBJECT:
            problems.append(f"{where}.{name}: in the stub, only object's at run time")
    # (e) signatures
    for name, fns in sorted(scls.functions().items()):
        if len(fns) != 1 or any(isinstance(d, ast.Name) and d.id == "property"
                                for d in fns[0].decorator_list):
            continue  # overloads and properties: not compared
        found = runtime_lookup(cls, name)
        if found is None or found[0] is object:
            continue
        rt = runtime_params(name, found[1])
        if rt is None:
            continue
        st = stub_params(fns[0])
        if st != rt:
            problems.append(f"{where}.{name}: stub parameters {st} != runtime {rt}")
    return problems


# ------------------------------------------------------------------- tests

@pytest.mark.timeout(60)
def test_every_stub_is_checked():
    found = {p.relative_to(STUB_ROOT).as_posix() for p in STUB_ROOT.rglob("*.pyi")}
    assert found == set(PUBLIC_STUBS) | {EXTENSION_STUB}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stub_file,module_name", sorted(PUBLIC_STUBS.items()),
                         ids=sorted(PUBLIC_STUBS))
def test_public_stub(stub_file: str, module_name: str):
    stub = parse_stub(STUB_ROOT / stub_file)
    module = importlib.import_module(module_name)
    problems: list[str] = []

    # (d) module-level names
    runtime_all = getattr(module, "__all__", None)
    if runtime_all is None:
        runtime_all = [n for n in vars(module) if not n.startswith("_")]
    if stub.public != set(runtime_all):
        problems.append(f"{module_name}: stub names {sorted(stub.public)} != "
                        f"__all__ {sorted(runtime_all)}")
    if stub.literal_all is not None and stub.literal_all != list(runtime_all):
        problems.append(f"{module_name}: stub __all__ {stub.literal_all} != {runtime_all}")

    # (a), (b), (c), (e)
    assert stub.classes or stub.public, stub_file  # a pure re-export stub has no classes
    for name, scls in stub.classes.items():
        if not hasattr(module, name):
            problems.append(f"{module_name}.{name}: in the stub, not at run time")
            continue
        problems += check_class(stub.classes, scls, getattr(module, name),
                                f"{module_name}.{name}")
    assert not problems, "\n".join(problems)


def _check_submodule(stub: Stub, scls: StubClass, module: object, where: str) -> list[str]:
    if not isinstance(module, types.ModuleType):
        return [f"{where}: not a module at run time ({module!r})"]
    problems: list[str] = []
    runtime = {n for n in vars(module) if not n.startswith("__")}
    if set(scls.members) != runtime:
        problems.append(f"{where}: stub names {sorted(scls.members)} != runtime {sorted(runtime)}")
    for name, nodes in sorted(scls.members.items()):
        if name not in runtime:
            continue
        value = getattr(module, name)
        node = nodes[0]
        if isinstance(node, ast.ClassDef) and isinstance(value, types.ModuleType):
            problems += _check_submodule(stub, scls.classes[name], value, f"{where}.{name}")
        elif isinstance(node, ast.ClassDef):
            problems += check_class(scls.classes, scls.classes[name], value, f"{where}.{name}")
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute)
              and isinstance(node.value.value, ast.Name)
              and node.value.value.id in stub.module_aliases):
            target_mod = stub.module_aliases[node.value.value.id]
            target = getattr(importlib.import_module(target_mod), node.value.attr, None)
            if target is not value:
                problems.append(f"{where}.{name}: is not {target_mod}.{node.value.attr} "
                                "at run time")
        else:
            problems.append(f"{where}.{name}: not a class or a `X = _module.X` alias")
    return problems


@pytest.mark.timeout(60)
def test_extension_stub():
    stub = parse_stub(STUB_ROOT / EXTENSION_STUB)
    ext = importlib.import_module("interlock._interlock")
    problems: list[str] = []
    submodules = {n for n, v in vars(ext).items() if isinstance(v, types.ModuleType)}
    # submodules are lower-case; `_BuildInfo` is a type of the stub only
    declared = {n for n in stub.classes if n.lstrip("_")[:1].islower()}
    if declared != submodules:
        problems.append(f"submodules: stub {sorted(declared)} != runtime {sorted(submodules)}")
    for name in sorted(declared & submodules):
        scls = stub.classes[name]
        if not scls.final:
            problems.append(f"{name}: a submodule's class should be @final")
        problems += _check_submodule(stub, scls, getattr(ext, name), f"_interlock.{name}")
    # module-level functions and constants
    for name in sorted(stub.public - set(stub.classes)):
        if not hasattr(ext, name):
            problems.append(f"_interlock.{name}: in the stub, not at run time")
    for name in sorted(n for n in vars(ext) if not n.startswith("_")):
        if name not in stub.public:
            problems.append(f"_interlock.{name}: at run time, not in the stub")
    assert not problems, "\n".join(problems)
