"""Write the stubs of the extension module interlock._interlock (issue 19).

    python scripts/stubgen.py OUTPUT_DIR [PACKAGE_DIR...]

imports the built ``interlock._interlock`` and writes ``OUTPUT_DIR/_interlock/``
(``__init__.pyi`` and one stub per submodule). With PACKAGE_DIRs (the
directory of the built module, then python/interlock), ``interlock`` is made a
package over them without running its ``__init__.py``. The CMake build
(cmake/stubs.cmake) runs it after the extension target and installs the result
next to the module; the files are generated, never tracked. The design is in
docs/design.md, "Typed signatures and generated stubs".

nanobind's stub generator does the work. It renders nanobind functions from
their ``__nb_signature__``; the fast methods (bindings/fast_methods.hpp) are
plain CPython method descriptors whose ``__text_signature__`` cannot carry
annotations, so fast_methods.hpp puts a typed line first in their ``__doc__``
("name(self, a: int, /) -> int") and this subclass emits that line.

Generic classes: their type parameters are declared in GENERIC below (one
line each) and their methods name them in their signature strings
("get($self, /) -> T", or nb::sig for nanobind methods).
"""

from __future__ import annotations

import importlib
import io
import inspect
import re
import sys
import types
from pathlib import Path

import nanobind.stubgen as nbs

# class (its extension submodule + name) -> its Generic base in the stub. The
# runtime side is a __class_getitem__ (types.GenericAlias), native or installed
# by the Python side (PATCHERS).
GENERIC = {
    "interlock._interlock.atomic.AtomicReference": "typing.Generic[_T]",
    "interlock._interlock.atomic._syncx.AtomicReference": "typing.Generic[_T]",
    "interlock._interlock.atomic._ft_utils.AtomicReference": "typing.Generic[_T]",
    "interlock._interlock.collections.Queue": "typing.Generic[_T]",
    "interlock._interlock.collections.StdConcurrentQueue": "typing.Generic[_T]",
    "interlock._interlock.collections.ConcurrentDictBase": "typing.Generic[_K, _V]",
}
NATIVE: set[int] = set()  # the extension's classes (ids), before the Python side loads
PATCHERS = ("interlock.locks", "interlock.collections", "interlock.ipc", "interlock.atomic",
            "interlock.compat.ft_utils.concurrency")
# Type parameters: T, K, V in signature strings (nb::sig, fast methods'
# annotations) become the stub's private TypeVars _T, _K, _V.
TYPEVARS = ("_T", "_K", "_V")
_LITERAL = re.compile(r"-?[0-9.]+|True|False|None|'[^']*'|\"[^\"]*\"")
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

    def typed_params(self, text):
        """Simplify the types of "(self, a: T = d, /) -> R"; defaults other than
        plain literals become "..."."""
        body, _, ret = text.rpartition(") -> ")
        body = body[1:] + ","
        parts, depth, start = [], 0, 0
        for i, c in enumerate(body):
            depth += (c in "([{") - (c in ")]}")
            if c == "," and depth == 0:
                parts.append(body[start:i].strip())
                start = i + 1
        out = []
        for p in parts:
            head, eq, default = p.partition(" = " if " = " in p else "=")
            pname, colon, ann = head.partition(": ")
            item = pname + (": " + self.simplify_types(ann) if colon else "")
            if eq:
                item += (" = " if colon else "=") + (default if _LITERAL.fullmatch(default) else "...")
            out.append(item)
        return "(" + ", ".join(out) + ") -> " + self.simplify_types(ret)

    def put_property(self, prop, name):
        if isinstance(prop.fget, type):  # property(SomeClass): a view of the instance
            self.write_ln("@property")
            self.write_ln(f"def {name}(self) -> {self.type_str(prop.fget)}:")
            self.depth += 1
            self.put_docstr(prop.__doc__ or "")
            self.depth -= 1
            self.write("\n")
            return
        super().put_property(prop, name)

    def put_value(self, value, name, parent=None, abbrev=True):
        if name == "__hash__" and value is None:  # unhashable, as typeshed spells it
            self.write_ln(f"__hash__: {self.bind('typing', 'ClassVar')}[None]"
                          "  # type: ignore[assignment]\n")
            return
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
                sig = (name or fn.__name__) + self.typed_params(first[first.index("("):])
                if rest.strip() and self.include_docstrings:
                    self.write_ln(f"def {sig}:")
                    self.depth += 1
                    self.put_docstr(rest)
                    self.depth -= 1
                else:
                    self.write_ln(f"def {sig}: ...")
                self.write("\n")
                return
        text_sig = getattr(fn, "__text_signature__", None)
        if isinstance(fn, types.MethodDescriptorType) and text_sig:
            try:
                inspect.signature(fn)
            except ValueError:  # e.g. default=<unrepresentable>: keep the text
                any_type = self.bind("typing", "Any")
                sig = self.typed_params(text_sig.replace("$", "") + f" -> {any_type}")
                self.write_ln(f"def {name or fn.__name__}{sig}:")
                self.depth += 1
                self.put_docstr(fn.__doc__ or "")
                self.depth -= 1
                self.write("\n")
                return
        if isinstance(parent, type) and isinstance(fn, (types.FunctionType, classmethod)):
            # Python functions the Python side adds to a native class.
            is_cls = isinstance(fn, classmethod)
            fn = fn.__func__ if is_cls else fn
            if is_cls:
                self.write_ln("@classmethod")
            prefix = "async def" if inspect.iscoroutinefunction(fn) else "def"
            sig = self.signature_str(inspect.signature(fn))
            self.write_ln(f"{prefix} {name}{sig}: ...\n")
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
        if not (name == tp.__name__ and self.module.__dict__.get(name) is tp
                and id(tp) in NATIVE):
            return super().put_type(tp, name)
        try:  # nanobind's final classes keep Py_TPFLAGS_BASETYPE but refuse
            type("_probe", (tp,), {})
        except TypeError:
            self.write_ln(f"@{self.bind('typing', 'final')}")
        bases = [b.__name__ if self.module.__dict__.get(b.__name__) is b else self.type_str(b)
                 for b in tp.__bases__ if b is not object]
        generic = GENERIC.get(f"{self.module.__name__}.{tp.__qualname__}")
        if generic:
            bases.append(self.simplify_types(generic))
        if type(tp) is not type:  # nanobind's nb_type
            bases.append("metaclass=_NativeType")
            self.need_meta = True
        self.write_ln(f"class {name}" + (f"({', '.join(bases)})" if bases else "") + ":")
        self.depth += 1
        pos = self._output.tell()
        if tp.__doc__ and self.include_docstrings:
            self.put_docstr(tp.__doc__)
        for k, v in dict(tp.__dict__).items():
            any_type = self.bind("typing", "Any")
            if k == "__new__" and getattr(tp, "__text_signature__", None):
                # tp_new: its parameters are the class's text signature.
                text = re.sub(r"^\(\$\w+,? *", "(", tp.__text_signature__)
                text = "(cls, " + text[1:] if text != "()" else "(cls)"
                sig = self.typed_params(text + " -> typing_extensions.Self")
                self.write_ln(f"def __new__{sig}: ...\n")
            elif k == "__init__" and isinstance(v, types.WrapperDescriptorType):
                self.write_ln(f"def __init__(self, /, *args: {any_type}, **kwargs: {any_type})"
                              " -> None: ...\n")
            elif k == "__class_getitem__":
                self.write_ln("@classmethod")
                self.write_ln(f"def __class_getitem__(cls, item: {self.bind('typing', 'Any')}, /)"
                              f" -> {self.bind('types', 'GenericAlias')}: ...\n")
            else:
                self.put(v, k, tp)
        if pos == self._output.tell():
            self.write_ln("pass\n")
        self.depth -= 1

    need_meta = False

    def get(self):
        self._output = io.StringIO(re.sub(
            r"^( *def .*)$", lambda m: re.sub(r"(?<![\w.])([TKV])\b", r"_\1", m.group(1)),
            self._output.getvalue(), flags=re.M))
        self._output.seek(0, io.SEEK_END)
        used = [v for v in TYPEVARS if re.search(rf"\b{v}\b", self._output.getvalue())]
        typevar = self.bind("typing", "TypeVar") if used else ""
        text = super().get()
        # A slot's __ipow__(self, value, /) lacks __pow__'s mod: mypy objects.
        text = re.sub(r"^( *def __ipow__\(.*?)(:(?: \.\.\.)?)$",
                      r"\1\2  # type: ignore[misc]", text, flags=re.M)
        if used:
            decl = "".join(f'{v} = {typevar}("{v}")\n' for v in used) + "\n"
        else:
            decl = ""
        if self.need_meta:
            decl += "class _NativeType(type): ...  # nanobind's nb_type\n\n"
        if decl:
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
    NATIVE.update(id(v) for n, m in list(sys.modules.items()) if n.startswith(module.__name__)
                  for v in vars(m).values() if isinstance(v, type))
    # The Python side adds members to native classes (.aio, async with):
    # import it, so the stubs declare what the runtime has.
    for name in PATCHERS:
        importlib.import_module(name)
    sg = StubGen(module, recursive=True, include_docstrings=True, include_private=True,
                 quiet=True, output_file=out / "__init__.pyi")
    sg.write_ln("__version__: str\n")
    sg.put(module)
    (out / "__init__.pyi").write_text(sg.get(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
