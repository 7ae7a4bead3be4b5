// bindings/py_compat.hpp — the few CPython spellings the bindings use that the
// limited API (Py_LIMITED_API=0x030C0000, the abi3 wheel) does not have.
//
// On a version-specific build every IL_* below is exactly today's expression
// (a struct field read or a macro), so those wheels keep their speed. Under
// Py_LIMITED_API they become the stable-ABI function calls, and the missing
// macros are defined as the matching functions.
#pragma once

#include <Python.h>

#ifndef Py_LIMITED_API

#define IL_TP_NAME(o) (Py_TYPE(o)->tp_name)
#define IL_TP_ALLOC(type) ((type)->tp_alloc)
#define IL_TP_FREE(type) ((type)->tp_free)
#define IL_TP_BASICSIZE(type) ((type)->tp_basicsize)
#define IL_TP_DEALLOC_FIELD(type) (&(type)->tp_dealloc)

#else  // ---------------------------------------------------- stable ABI

#include <cstdlib>
#include <string>

namespace interlock::py::compat {

/// The type's name (as tp_name would give for the types named in error
/// messages), valid until the next call on this thread.
inline const char* type_name(PyObject* o) noexcept {
  thread_local std::string buf;
  PyObject* exc = PyErr_GetRaisedException();  // keep any pending error
  PyObject* n = PyType_GetName(Py_TYPE(o));
  const char* s = n ? PyUnicode_AsUTF8AndSize(n, nullptr) : nullptr;
  buf = s ? s : "?";
  Py_XDECREF(n);
  PyErr_Clear();
  PyErr_SetRaisedException(exc);
  return buf.c_str();
}

inline Py_ssize_t basicsize(PyTypeObject* t) noexcept {
  PyObject* v = PyObject_GetAttrString(reinterpret_cast<PyObject*>(t), "__basicsize__");
  Py_ssize_t r = v ? PyLong_AsSsize_t(v) : 0;
  Py_XDECREF(v);
  if (r < 0) PyErr_Clear(), r = 0;
  return r;
}

/// Where the type object keeps tp_dealloc (after tp_itemsize in every CPython),
/// for use_trashcan (fast_methods.hpp) to write: nullptr unless it holds what
/// PyType_GetSlot reads (docs/design.md, "Deallocation at any depth").
inline destructor* dealloc_field(PyTypeObject* t) noexcept {
  auto* f = reinterpret_cast<destructor*>(reinterpret_cast<char*>(t) + sizeof(PyVarObject) +
                                          3 * sizeof(void*));
  return *f == reinterpret_cast<destructor>(PyType_GetSlot(t, Py_tp_dealloc)) ? f : nullptr;
}

inline PyObject* call_one_arg(PyObject* f, PyObject* a) noexcept {
  return PyObject_Vectorcall(f, &a, 1, nullptr);
}

}  // namespace interlock::py::compat

#define IL_TP_NAME(o) (::interlock::py::compat::type_name(o))
#define IL_TP_ALLOC(type) \
  (reinterpret_cast<allocfunc>(PyType_GetSlot((type), Py_tp_alloc)))
#define IL_TP_FREE(type) \
  (reinterpret_cast<freefunc>(PyType_GetSlot((type), Py_tp_free)))
#define IL_TP_BASICSIZE(type) (::interlock::py::compat::basicsize(type))
#define IL_TP_DEALLOC_FIELD(type) (::interlock::py::compat::dealloc_field(type))

#define PyObject_CallOneArg(f, a) (::interlock::py::compat::call_one_arg((f), (a)))
#define PyTuple_GET_SIZE(t) PyTuple_Size(t)
#define PyTuple_GET_ITEM(t, i) PyTuple_GetItem((t), (i))
#define PyTuple_SET_ITEM(t, i, v) ((void)PyTuple_SetItem((t), (i), (v)))
#define PyBytes_AS_STRING(b) PyBytes_AsString(b)
#define PyBytes_GET_SIZE(b) PyBytes_Size(b)
#define PyFloat_AS_DOUBLE(f) PyFloat_AsDouble(f)
#define PyDict_GET_SIZE(d) PyDict_Size(d)
#define PyUnicode_GET_LENGTH(u) PyUnicode_GetLength(u)

// The trashcan is not in the limited API: ours, for our own types' tp_dealloc
// (docs/design.md, "Deallocation at any depth"). A subclass's instance is never
// deferred: its subtype_dealloc still has work after the base dealloc returns.
namespace interlock::py::compat {
// Trivially destructible (the list is malloc'd and freed once drained): the
// thread_local needs no init guard or destructor registration.
struct Trashcan {
  static constexpr int kLimit = 50;
  struct Later {
    PyObject* op;
    destructor dealloc;
  };
  int depth = 0;
  bool draining = false;
  Later* later = nullptr;
  std::size_t n = 0, cap = 0;

  bool defer(PyObject* op, destructor dealloc) noexcept {
    if (depth >= kLimit &&
        reinterpret_cast<destructor>(PyType_GetSlot(Py_TYPE(op), Py_tp_dealloc)) == dealloc) {
      if (n == cap) {
        std::size_t c = cap ? 2 * cap : 64;
        if (auto* p = static_cast<Later*>(std::realloc(later, c * sizeof(Later)))) later = p, cap = c;
      }
      if (n < cap) {  // (no memory: freed now, one level deeper)
        later[n++] = {op, dealloc};
        return true;
      }
    }
    ++depth;
    return false;
  }

  void leave() noexcept {
    if (--depth > 0 || draining || n == 0) return;
    draining = true;  // the deallocs below defer onto `later` again, never recurse here
    while (n > 0) {
      Later l = later[--n];
      l.dealloc(l.op);
    }
    draining = false;
    std::free(later);
    later = nullptr;
    cap = 0;
  }
};
inline constinit thread_local Trashcan trashcan;
}  // namespace interlock::py::compat

// One thread-local lookup per dealloc (CPython's keeps its thread state the same way).
#define Py_TRASHCAN_BEGIN(op, dealloc)                                           \
  do {                                                                           \
    ::interlock::py::compat::Trashcan& il_trashcan_ = ::interlock::py::compat::trashcan; \
    if (il_trashcan_.defer(reinterpret_cast<PyObject*>(op),                      \
                           reinterpret_cast<destructor>(dealloc)))               \
      break;
#define Py_TRASHCAN_END \
  il_trashcan_.leave(); \
  }                     \
  while (0);

#endif  // Py_LIMITED_API
