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

#else  // ---------------------------------------------------- stable ABI

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

#ifndef PyObject_CallOneArg
#define PyObject_CallOneArg(f, a) (::interlock::py::compat::call_one_arg((f), (a)))
#endif
#define PyTuple_GET_SIZE(t) PyTuple_Size(t)
#define PyTuple_GET_ITEM(t, i) PyTuple_GetItem((t), (i))
#define PyTuple_SET_ITEM(t, i, v) ((void)PyTuple_SetItem((t), (i), (v)))
#define PyBytes_AS_STRING(b) PyBytes_AsString(b)
#define PyBytes_GET_SIZE(b) PyBytes_Size(b)
#define PyFloat_AS_DOUBLE(f) PyFloat_AsDouble(f)
#define PyDict_GET_SIZE(d) PyDict_Size(d)
#define PyUnicode_GET_LENGTH(u) PyUnicode_GetLength(u)
// No trashcan in the limited API: the bracket stays, without deferral.
// KNOWN GAP: very deep chains (issue 15) can exhaust the C stack in abi3.
#define Py_TRASHCAN_BEGIN(op, dealloc) {
#define Py_TRASHCAN_END }

#endif  // Py_LIMITED_API
