// bindings/local_wrapper.cpp — LocalWrapper: ft_utils' transparent proxy that
// keeps reference-count traffic on a thread-local object (docs/design.md,
// "LocalWrapper": what forwards, and why a wrapper never changes its target).
//
// Invariant: `wrapped` is set once, in tp_new, and only cleared by the garbage
// collector or at deallocation, so every slot borrows it while the caller
// holds the wrapper (a cleared wrapper raises ReferenceError).
#include <type_traits>

#include "module.hpp"
#include "raw_type.hpp"

namespace nb = nanobind;

namespace interlock::py {
namespace {

struct LocalWrapperObject {
  PyObject_HEAD
  PyObject* wrapped;
  PyObject* weakreflist;
  ~LocalWrapperObject() { Py_CLEAR(wrapped); }
};

PyTypeObject* g_type = nullptr;  // set once at module init

inline LocalWrapperObject* lw(PyObject* o) noexcept {
  return reinterpret_cast<LocalWrapperObject*>(o);
}

/// Checked accessor: a wrapper whose target was cleared (only possible while
/// the garbage collector breaks a cycle) raises instead of crashing.
inline PyObject* target(PyObject* self) noexcept {
  PyObject* w = lw(self)->wrapped;
  if (!w) PyErr_SetString(PyExc_ReferenceError, "LocalWrapper: the wrapped object is gone");
  return w;
}

/// Replaces a LocalWrapper operand by its target; false (error set) if that
/// is gone. Other arguments (a comparison's op) pass unchanged.
inline bool unwrap(PyObject*& o) noexcept {
  if (PyObject_TypeCheck(o, g_type)) o = target(o);
  return o != nullptr;
}
template <class T>
inline bool unwrap(T&) noexcept { return true; }

PyObject* make_wrapper(PyObject* obj) noexcept {
  auto* self = reinterpret_cast<LocalWrapperObject*>(PyType_GenericAlloc(g_type, 0));
  if (!self) return nullptr;
  self->wrapped = Py_NewRef(obj);  // (weakreflist: zeroed by the allocation)
  return reinterpret_cast<PyObject*>(self);
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

PyObject* lw_getattro(PyObject* self, PyObject* name) {
  // The wrapper's own attributes first, found without raising (docs/design.md).
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

// ------------------------------------------------------------------ forwarding
/// The slots for F(target, args...), null / -1 when a target is gone: `slot`
/// (self is the wrapper), `unwrapped` (every operand: binary number slots and
/// comparison) and `inplace` (a wrapper of the result; docs/design.md).
template <auto F>
struct fwd;
template <class R, class... A, R (*F)(PyObject*, A...)>
struct fwd<F> {
  static constexpr R error() noexcept {
    if constexpr (std::is_pointer_v<R>) return nullptr;
    else return -1;
  }
  static R slot(PyObject* self, A... a) {
    PyObject* w = target(self);
    return w ? F(w, a...) : error();
  }
  static R unwrapped(PyObject* x, A... a) {
    return unwrap(x) && (unwrap(a) && ...) ? F(x, a...) : error();
  }
  static PyObject* inplace(PyObject* self, A... a) {
    PyObject* w = target(self);
    if (!w || !(unwrap(a) && ...)) return nullptr;
    PyObject* r = F(w, a...);
    if (r == w) {
      Py_DECREF(r);
      return Py_NewRef(self);
    }
    PyObject* out = r ? make_wrapper(r) : nullptr;
    Py_XDECREF(r);
    return out;
  }
};

PyObject* wrapped_of(PyObject* w, void*) { return Py_NewRef(w); }
PyObject* next_of(PyObject* w) {
  if (!PyIter_Check(w))
    return PyErr_Format(PyExc_TypeError, "'%.200s' object is not an iterator", IL_TP_NAME(w));
  // The target's own tp_iternext (not PyIter_Next: StopIteration keeps its value).
  return reinterpret_cast<iternextfunc>(PyType_GetSlot(Py_TYPE(w), Py_tp_iternext))(w);
}
int setitem_of(PyObject* w, PyObject* key, PyObject* value) {
  return value ? PyObject_SetItem(w, key, value) : PyObject_DelItem(w, key);
}

PyGetSetDef lw_getset[] = {
    {"wrapped", fwd<wrapped_of>::slot, nullptr, "The wrapped object (read-only).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

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
    IL_SLOT(Py_tp_dealloc, raw::dealloc<LocalWrapperObject>),
    IL_SLOT(Py_tp_traverse, lw_traverse),
    IL_SLOT(Py_tp_clear, lw_clear),
    IL_SLOT(Py_tp_getattro, lw_getattro),
    IL_SLOT(Py_tp_setattro, fwd<PyObject_SetAttr>::slot),
    IL_SLOT(Py_tp_str, fwd<PyObject_Str>::slot),
    IL_SLOT(Py_tp_hash, fwd<PyObject_Hash>::slot),
    IL_SLOT(Py_tp_call, fwd<PyObject_Call>::slot),
    IL_SLOT(Py_tp_richcompare, fwd<PyObject_RichCompare>::unwrapped),
    IL_SLOT(Py_tp_iter, fwd<PyObject_GetIter>::slot),
    IL_SLOT(Py_tp_iternext, fwd<next_of>::slot),
    IL_SLOT(Py_tp_getset, lw_getset),
    IL_SLOT(Py_tp_members, raw::weaklist_members<LocalWrapperObject>),
    IL_SLOT(Py_mp_length, fwd<PyObject_Size>::slot),
    IL_SLOT(Py_mp_subscript, fwd<PyObject_GetItem>::slot),
    IL_SLOT(Py_mp_ass_subscript, fwd<setitem_of>::slot),
    IL_SLOT(Py_sq_contains, fwd<PySequence_Contains>::slot),
    IL_SLOT(Py_bf_getbuffer, fwd<PyObject_GetBuffer>::slot),
    IL_SLOT(Py_nb_bool, fwd<PyObject_IsTrue>::slot),
    IL_SLOT(Py_nb_power, fwd<PyNumber_Power>::unwrapped),
    IL_SLOT(Py_nb_inplace_power, fwd<PyNumber_InPlacePower>::inplace),
    IL_SLOT(Py_nb_divmod, fwd<PyNumber_Divmod>::unwrapped),
// w OP x and w OP= x
#define IL_NB(op, Fn)                                  \
  IL_SLOT(Py_nb_##op, fwd<PyNumber_##Fn>::unwrapped), \
      IL_SLOT(Py_nb_inplace_##op, fwd<PyNumber_InPlace##Fn>::inplace)
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

}  // namespace

void init_local_wrapper(nb::module_& m) {
  g_type = raw::add_type<LocalWrapperObject>(m, "interlock.collections.LocalWrapper", lw_slots);
}

}  // namespace interlock::py
