// bindings/local_wrapper.cpp — LocalWrapper: ft_utils' transparent proxy that
// keeps reference-count traffic on a thread-local object.
//
// On a free-threaded build, every Py_INCREF/Py_DECREF of an object owned by
// another thread is an atomic add on its shared reference count: a contended
// cache line when many threads use one object (a shared dict, a bound method,
// a module). A LocalWrapper created in a thread is owned by that thread, so the
// interpreter's reference counting of it stays local; its slots reach the
// wrapped object through a borrowed pointer and forward the operation.
//
// Invariant: `wrapped` is set once, in tp_new, and never changes until the
// wrapper is cleared by the garbage collector or deallocated. A wrapper is
// therefore immutable and safe to share between threads: every slot borrows
// `wrapped` while the caller holds a reference to the wrapper, which keeps it
// alive. In-place operators return a new wrapper around the operation's result
// (the same wrapper when the result is the wrapped object itself, as for a
// list's +=), where ft_utils rebinds the wrapper's target in place: for
// `w += x` the name `w` ends up with the same value either way; only a second
// name bound to the old wrapper differs (docs/design.md, "LocalWrapper").
//
// Python-only type: no core algorithm, so it lives entirely in the bindings.
#include <Python.h>
#include <nanobind/nanobind.h>
#include <structmember.h>

#include <cstddef>
#include <type_traits>

#include "module.hpp"

namespace nb = nanobind;

namespace interlock::py {
namespace {

struct LocalWrapperObject {
  PyObject_HEAD
  PyObject* wrapped;
  PyObject* weakreflist;
};

PyTypeObject* g_type = nullptr;  // set once at module init

inline LocalWrapperObject* lw(PyObject* o) noexcept {
  return reinterpret_cast<LocalWrapperObject*>(o);
}
inline bool is_lw(PyObject* o) noexcept { return PyObject_TypeCheck(o, g_type); }
/// The wrapped object if `o` is a LocalWrapper, else `o` itself (borrowed).
inline PyObject* unwrap(PyObject* o) noexcept { return is_lw(o) ? lw(o)->wrapped : o; }

/// Checked accessor: a wrapper whose target was cleared (only possible while
/// the garbage collector breaks a cycle) raises instead of crashing.
inline PyObject* target(PyObject* self) noexcept {
  PyObject* w = lw(self)->wrapped;
  if (!w) PyErr_SetString(PyExc_ReferenceError, "LocalWrapper: the wrapped object is gone");
  return w;
}

PyObject* make_wrapper(PyObject* obj) noexcept {
  auto* self = reinterpret_cast<LocalWrapperObject*>(PyType_GenericAlloc(g_type, 0));
  if (!self) return nullptr;
  self->wrapped = Py_NewRef(obj);
  self->weakreflist = nullptr;
  return reinterpret_cast<PyObject*>(self);
}

/// An in-place operator's result: the same wrapper when the operation
/// mutated the wrapped object and returned it, else a new wrapper.
PyObject* inplace_result(PyObject* self, PyObject* result) noexcept {
  if (!result) return nullptr;
  if (result == lw(self)->wrapped) {
    Py_DECREF(result);
    return Py_NewRef(self);
  }
  PyObject* out = make_wrapper(result);
  Py_DECREF(result);
  return out;
}

// ------------------------------------------------------------------ lifetime
PyObject* lw_new(PyTypeObject*, PyObject* args, PyObject* kwds) {
  PyObject* obj = nullptr;
  if (kwds && PyDict_GET_SIZE(kwds) != 0) {
    PyErr_SetString(PyExc_TypeError, "LocalWrapper() takes no keyword arguments");
    return nullptr;
  }
  if (!PyArg_ParseTuple(args, "O:LocalWrapper", &obj)) return nullptr;
  return make_wrapper(obj);  // `type` is LocalWrapper: the type is final
}

int lw_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(lw(self)->wrapped);
  return 0;
}

int lw_clear(PyObject* self) {
  Py_CLEAR(lw(self)->wrapped);
  return 0;
}

void lw_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_TRASHCAN_BEGIN(self, lw_dealloc)  // safe at any depth (issue 15)
  if (lw(self)->weakreflist) PyObject_ClearWeakRefs(self);
  lw_clear(self);
  IL_TP_FREE(tp)(self);
  Py_DECREF(tp);
  Py_TRASHCAN_END
}

// ------------------------------------------------------------------ attributes
PyObject* lw_getattro(PyObject* self, PyObject* name) {
  // The wrapper's own attributes (wrapped, __enter__, __class__, its slot
  // wrappers) come first, as in ft_utils; everything else is the target's.
  // Looking in the type first avoids raising and clearing an AttributeError
  // on every forwarded access.
#ifndef Py_LIMITED_API
  if (_PyType_Lookup(Py_TYPE(self), name)) return PyObject_GenericGetAttr(self, name);
#else
  // The stable ABI has no type lookup without a call: try the wrapper's own
  // attribute first and forward on AttributeError (slower, same result).
  if (PyObject* own = PyObject_GenericGetAttr(self, name)) return own;
  if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return nullptr;
  PyErr_Clear();
#endif
  PyObject* w = target(self);
  return w ? PyObject_GetAttr(w, name) : nullptr;
}

int lw_setattro(PyObject* self, PyObject* name, PyObject* value) {
  PyObject* w = target(self);
  return w ? PyObject_SetAttr(w, name, value) : -1;
}

PyObject* lw_get_wrapped(PyObject* self, void*) {
  PyObject* w = target(self);
  return w ? Py_NewRef(w) : nullptr;
}

// ------------------------------------------------------------------ protocols
PyObject* lw_repr(PyObject* self) {
  PyObject* w = target(self);
  if (!w) return nullptr;
  PyObject* r = PyObject_Repr(w);
  if (!r) return nullptr;
  PyObject* out = PyUnicode_FromFormat("<LocalWrapper: %U>", r);
  Py_DECREF(r);
  return out;
}

#define IL_LW_TARGET(ret_on_error) \
  PyObject* w = target(self);      \
  if (!w) return ret_on_error

/// A slot that forwards to F(target, args...): str, hash, call, len, w[k],
/// `in`, bool, the buffer, iter, -w, int(w), ... The error value of its
/// return type (null / -1) when the target is gone.
template <auto F>
struct fwd;
template <class R, class... A, R (*F)(PyObject*, A...)>
struct fwd<F> {
  static R slot(PyObject* self, A... a) {
    PyObject* w = target(self);
    if (w) return F(w, a...);
    if constexpr (std::is_pointer_v<R>) return nullptr;
    else return -1;
  }
};
PyObject* lw_richcompare(PyObject* self, PyObject* other, int op) {
  IL_LW_TARGET(nullptr);
  return PyObject_RichCompare(w, unwrap(other), op);
}
PyObject* lw_iternext(PyObject* self) {
  IL_LW_TARGET(nullptr);
  if (!PyIter_Check(w)) {
    PyErr_Format(PyExc_TypeError, "'%.200s' object is not an iterator", IL_TP_NAME(w));
    return nullptr;
  }
#ifndef Py_LIMITED_API
  return Py_TYPE(w)->tp_iternext(w);  // null without an error set: exhausted
#else
  return PyIter_Next(w);  // the same: null without an error set when exhausted
#endif
}
int lw_setitem(PyObject* self, PyObject* key, PyObject* value) {
  IL_LW_TARGET(-1);
  return value ? PyObject_SetItem(w, key, value) : PyObject_DelItem(w, key);
}
PyObject* lw_enter(PyObject* self, PyObject*) {
  IL_LW_TARGET(nullptr);
  return PyObject_CallMethod(w, "__enter__", nullptr);
}
PyObject* lw_exit(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  IL_LW_TARGET(nullptr);
  PyObject* exit = PyObject_GetAttrString(w, "__exit__");
  if (!exit) return nullptr;
  PyObject* r = PyObject_Vectorcall(exit, args, static_cast<size_t>(nargs), nullptr);
  Py_DECREF(exit);
  return r;
}
PyObject* lw_reduce(PyObject* self, PyObject*) {
  IL_LW_TARGET(nullptr);
  return Py_BuildValue("(O(O))", reinterpret_cast<PyObject*>(Py_TYPE(self)), w);
}

// Number protocol. A binary slot is called with the wrapper on either side
// (`w + 1` and `1 + w`), so both operands are unwrapped and the abstract
// operation runs again on the plain objects, with its own reflected-operand
// logic.
template <PyObject* (*F)(PyObject*, PyObject*)>
PyObject* lw_binary(PyObject* a, PyObject* b) {
  PyObject* x = unwrap(a);
  PyObject* y = unwrap(b);
  if (!x || !y) return target(is_lw(a) ? a : b);
  return F(x, y);
}

PyObject* lw_pow(PyObject* a, PyObject* b, PyObject* m) {
  PyObject* x = unwrap(a);
  PyObject* y = unwrap(b);
  PyObject* z = unwrap(m);
  if (!x || !y || !z) return target(is_lw(a) ? a : (is_lw(b) ? b : m));
  return PyNumber_Power(x, y, z);
}

// In-place slots are only ever called with the wrapper as the left operand.
template <PyObject* (*F)(PyObject*, PyObject*)>
PyObject* lw_inplace(PyObject* self, PyObject* other) {
  IL_LW_TARGET(nullptr);
  PyObject* o = unwrap(other);
  if (!o) return target(other);
  return inplace_result(self, F(w, o));
}

PyObject* lw_ipow(PyObject* self, PyObject* other, PyObject* m) {
  IL_LW_TARGET(nullptr);
  PyObject* o = unwrap(other);
  PyObject* z = unwrap(m);
  if (!o || !z) return target(o ? m : other);
  return inplace_result(self, PyNumber_InPlacePower(w, o, z));
}
#undef IL_LW_TARGET

PyMethodDef lw_methods[] = {
    {"__enter__", lw_enter, METH_NOARGS, "__enter__($self, /)\n--\n\nEnter the wrapped object's context."},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(lw_exit)),
     METH_FASTCALL,
     "__exit__($self, exc_type, exc_value, traceback, /)\n--\n\nExit the wrapped object's context."},
    {"__reduce__", lw_reduce, METH_NOARGS, "__reduce__($self, /)\n--\n\nPickle as LocalWrapper(wrapped)."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef lw_getset[] = {
    {"wrapped", lw_get_wrapped, nullptr, "The wrapped object (read-only).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMemberDef lw_members[] = {
    {"__weaklistoffset__", T_PYSSIZET,
     static_cast<Py_ssize_t>(offsetof(LocalWrapperObject, weakreflist)), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

#define IL_SLOT(id, fn) {id, reinterpret_cast<void*>(fn)}
PyType_Slot lw_slots[] = {
    {Py_tp_doc, const_cast<char*>(
        "LocalWrapper(wrapped, /)\n--\n\n"
        "A transparent proxy for `wrapped` (ft_utils.local.LocalWrapper).\n\n"
        "Attribute access, item access, operators, calls, iteration, comparison,\n"
        "hashing, the buffer protocol and `with` all forward to the wrapped\n"
        "object. On free-threaded builds the wrapper, owned by the thread that\n"
        "made it, takes the reference-count traffic that would otherwise hit the\n"
        "shared object. The wrapper is immutable: in-place operators return a\n"
        "wrapper of the result (this one when the result is the wrapped object).")},
    IL_SLOT(Py_tp_new, lw_new),
    IL_SLOT(Py_tp_dealloc, lw_dealloc),
    IL_SLOT(Py_tp_traverse, lw_traverse),
    IL_SLOT(Py_tp_clear, lw_clear),
    IL_SLOT(Py_tp_getattro, lw_getattro),
    IL_SLOT(Py_tp_setattro, lw_setattro),
    IL_SLOT(Py_tp_repr, lw_repr),
    IL_SLOT(Py_tp_str, fwd<PyObject_Str>::slot),
    IL_SLOT(Py_tp_hash, fwd<PyObject_Hash>::slot),
    IL_SLOT(Py_tp_call, fwd<PyObject_Call>::slot),
    IL_SLOT(Py_tp_richcompare, lw_richcompare),
    IL_SLOT(Py_tp_iter, fwd<PyObject_GetIter>::slot),
    IL_SLOT(Py_tp_iternext, lw_iternext),
    IL_SLOT(Py_tp_methods, lw_methods),
    IL_SLOT(Py_tp_getset, lw_getset),
    IL_SLOT(Py_tp_members, lw_members),
    IL_SLOT(Py_mp_length, fwd<PyObject_Size>::slot),
    IL_SLOT(Py_mp_subscript, fwd<PyObject_GetItem>::slot),
    IL_SLOT(Py_mp_ass_subscript, lw_setitem),
    IL_SLOT(Py_sq_contains, fwd<PySequence_Contains>::slot),
    IL_SLOT(Py_bf_getbuffer, fwd<PyObject_GetBuffer>::slot),
    IL_SLOT(Py_nb_bool, fwd<PyObject_IsTrue>::slot),
    IL_SLOT(Py_nb_power, lw_pow),
    IL_SLOT(Py_nb_inplace_power, lw_ipow),
    IL_SLOT(Py_nb_divmod, lw_binary<PyNumber_Divmod>),
// w OP x and w OP= x
#define IL_NB(op, Fn) \
  IL_SLOT(Py_nb_##op, lw_binary<PyNumber_##Fn>), IL_SLOT(Py_nb_inplace_##op, lw_inplace<PyNumber_InPlace##Fn>)
    IL_NB(add, Add), IL_NB(subtract, Subtract), IL_NB(multiply, Multiply),
    IL_NB(remainder, Remainder), IL_NB(lshift, Lshift), IL_NB(rshift, Rshift),
    IL_NB(and, And), IL_NB(xor, Xor), IL_NB(or, Or),
    IL_NB(floor_divide, FloorDivide), IL_NB(true_divide, TrueDivide),
    IL_NB(matrix_multiply, MatrixMultiply),
#undef IL_NB
    IL_SLOT(Py_nb_negative, fwd<PyNumber_Negative>::slot),
    IL_SLOT(Py_nb_positive, fwd<PyNumber_Positive>::slot),
    IL_SLOT(Py_nb_absolute, fwd<PyNumber_Absolute>::slot),
    IL_SLOT(Py_nb_invert, fwd<PyNumber_Invert>::slot),
    IL_SLOT(Py_nb_int, fwd<PyNumber_Long>::slot),
    IL_SLOT(Py_nb_float, fwd<PyNumber_Float>::slot),
    IL_SLOT(Py_nb_index, fwd<PyNumber_Index>::slot),
    {0, nullptr},
};
#undef IL_SLOT

PyType_Spec lw_spec = {
    "interlock.collections.LocalWrapper",
    static_cast<int>(sizeof(LocalWrapperObject)),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    lw_slots,
};

}  // namespace

PyObject* local_wrap(PyObject* obj) noexcept { return make_wrapper(obj); }

void init_local_wrapper(nb::module_& m) {
  PyObject* type = PyType_FromSpec(&lw_spec);
  if (!type) throw nb::python_error();
  g_type = reinterpret_cast<PyTypeObject*>(type);  // kept alive by the module
  m.attr("LocalWrapper") = nb::steal(type);
}

}  // namespace interlock::py
