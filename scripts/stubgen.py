"""Write the stubs of the extension module interlock._interlock (issue 19).

    python scripts/stubgen.py OUTPUT_DIR [PACKAGE_DIR...]

imports the built ``interlock._interlock`` and writes ``OUTPUT_DIR/_interlock/``
(``__init__.pyi`` and one stub per submodule). With PACKAGE_DIRs (the
directory of the built module, then python/interlock), ``interlock`` is made a
package over them without running its ``__init__.py``. The CMake build runs it after
the extension target and installs the result next to the module
(bindings/CMakeLists.txt); the files are generated, never tracked.

nanobind's stub generator does the work. It renders nanobind functions from
their ``__nb_signature__``; the fast methods (bindings/fast_methods.hpp) are
plain CPython method descriptors whose ``__text_signature__`` cannot carry
annotations, so fast_methods.hpp puts a typed line first in their ``__doc__``
("name(self, a: int, /) -> int") and this subclass emits that line.

Generic classes: their type parameters are declared in GENERIC below (one
line each) and their fast methods name them in their signature strings
("get($self, /) -> T").
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from pathlib import Path

import nanobind.stubgen as nbs

# class (qualified name) -> the stub's class line. The runtime side is a
# __class_getitem__ (Py_GenericAlias) in the class's method table.
GENERIC = {
    "interlock._interlock.atomic.AtomicReference": "class AtomicReference(typing.Generic[T])",
    "interlock._interlock.atomic._syncx.AtomicReference":
        "class AtomicReference(typing.Generic[T])",
    "interlock._interlock.atomic._ft_utils.AtomicReference":
        "class AtomicReference(typing.Generic[T])",
    "interlock._interlock.collections.Queue": "class Queue(typing.Generic[T])",
    "interlock._interlock.collections.ConcurrentDictBase":
        "class ConcurrentDictBase(typing.Generic[K, V])",
}
TYPEVARS = ("T", "K", "V")  # module-level TypeVars in the stubs (stubtest skips them)
_TYPED_LINE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\(self\b")


# Slot wrappers (tp_* / nb_* / sq_* slots: __len__, __iadd__, ...) carry no
# types at run time; their result types (parameters stay untyped: object).
DUNDER_RESULTS = {
    "__bool__": "bool", "__int__": "int", "__float__": "float", "__index__": "int",
    "__len__": "int", "__hash__": "int", "__repr__": "str", "__str__": "str",
    "__contains__": "bool", "__eq__": "bool", "__ne__": "bool", "__lt__": "bool",
    "__le__": "bool", "__gt__": "bool", "__ge__": "bool", "__setitem__": "None",
    "__delitem__": "None", "__init__": "None", "__iter__": "typing.Iterator[typing.Any]",
    "__next__": "typing.Any", "__getitem__": "typing.Any",
}
INPLACE = ("__iadd__", "__isub__", "__imul__", "__ifloordiv__", "__itruediv__", "__imod__",
           "__ipow__", "__ilshift__", "__irshift__", "__iand__", "__ior__", "__ixor__")
SLOT_TYPES = (types.WrapperDescriptorType, types.MethodWrapperType)


class StubGen(nbs.StubGen):
    def is_function(self, tp):
        return super().is_function(tp) or issubclass(
            tp, (types.MethodDescriptorType, types.ClassMethodDescriptorType))

    def put_value(self, value, name, parent=None, abbrev=True):
        if isinstance(value, (types.GetSetDescriptorType, types.MemberDescriptorType)):
            self.write_ln("@property")
            self.write_ln(f"def {name}(self) -> {self.bind('typing', 'Any')}:")
            self.depth += 1
            self.put_docstr(value.__doc__ or "")
            self.depth -= 1
            self.write("\n")
            return
        super().put_value(value, name, parent, abbrev)

    def signature_str(self, sig):
        text = super().signature_str(sig)
        fn = getattr(self, "_slot", None)
        if fn is not None and "->" not in text:
            result = "typing_extensions.Self" if fn in INPLACE else DUNDER_RESULTS.get(fn)
            if result:
                text += " -> " + self.simplify_types(result)
        return text

    def put_function(self, fn, name=None, parent=None):
        if isinstance(fn, (types.MethodDescriptorType, types.ClassMethodDescriptorType)):
            first, _, rest = (fn.__doc__ or "").partition("\n")
            if _TYPED_LINE.match(first) and first.startswith(fn.__name__ + "("):
                if isinstance(fn, types.ClassMethodDescriptorType):
                    self.write_ln("@classmethod")
                    first = first.replace("(self", "(cls", 1)
                paren = first.index("(")
                sig = (name or fn.__name__) + self.simplify_types(first[paren:])
                if rest.strip() and self.include_docstrings:
                    self.write_ln(f"def {sig}:")
                    self.depth += 1
                    self.put_docstr(rest)
                    self.depth -= 1
                else:
                    self.write_ln(f"def {sig}: ...")
                self.write("\n")
                return
        self._slot = (name or getattr(fn, "__name__", None)) if isinstance(fn, SLOT_TYPES) else None
        try:
            super().put_function(fn, name, parent)
        finally:
            self._slot = None

    def put_type(self, tp, name):
        # The extension's classes carry their public module's name
        # (interlock.atomic, ...); their stubs live here all the same, and
        # the public module re-exports them.
        mod = self.module.__name__
        native = (name == tp.__name__ and self.module.__dict__.get(name) is tp
                  and not any(isinstance(v, types.FunctionType) for v in vars(tp).values()))
        if not native:
            return super().put_type(tp, name)
        saved = tp.__module__
        line = GENERIC.get(f"{mod}.{tp.__qualname__}")
        try:
            tp.__module__ = mod
            if line:
                tp.__nb_signature__ = line  # read back by nbs.StubGen.put_type
            super().put_type(tp, name)
        finally:
            tp.__module__ = saved
            if line:
                del tp.__nb_signature__

    def get(self):
        used = [v for v in TYPEVARS if re.search(rf"\b{v}\b", self._output.getvalue())]
        typevar = self.bind("typing", "TypeVar") if used else ""
        text = super().get()
        if used:
            decl = "".join(f'{v} = {typevar}("{v}")\n' for v in used) + "\n"
            m = re.search(r"^(class |def |@|\w+: )", text, re.M)
            pos = m.start() if m else len(text)
            text = text[:pos] + decl + text[pos:]
        return text


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if len(argv) > 2:
        pkg = types.ModuleType("interlock")
        pkg.__path__ = [str(Path(d).resolve()) for d in argv[2:]]
        sys.modules["interlock"] = pkg
    out = Path(argv[1]) / "_interlock"
    out.mkdir(parents=True, exist_ok=True)
    nbs.StubGen = StubGen  # nanobind's recursion into submodules names the class
    module = importlib.import_module("interlock._interlock")
    sg = StubGen(module, recursive=True, include_docstrings=True, include_private=True,
                 quiet=True, output_file=out / "__init__.pyi")
    sg.write_ln("__version__: str\n")
    sg.put(module)
    (out / "__init__.pyi").write_text(sg.get(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
