// bindings/raw_type.hpp — what the PyType_FromSpec types share (ConcurrentDict's
// and ConcurrentSet's bases and their iterator, LocalWrapper): an instance is
// a C++ object O (PyObject_HEAD first) whose destructor drops what it holds.
#pragma once

#include <Python.h>
#include <nanobind/nanobind.h>
#include <structmember.h>

#include <cstddef>
#include <cstring>

#include "py_compat.hpp"

#define IL_SLOT(id, fn) {id, reinterpret_cast<void*>(fn)}

namespace interlock::py::raw {

/// tp_dealloc of a GC type of O: ~O() inside the trashcan (safe at any depth,
/// issue 15), after its weak references (if O has `weakreflist`) are cleared.
template <class O>
void dealloc(PyObject* self) {
  constexpr destructor me = dealloc<O>;
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_TRASHCAN_BEGIN(self, me)
  auto* o = reinterpret_cast<O*>(self);
  if constexpr (requires { o->weakreflist; })
    if (o->weakreflist) PyObject_ClearWeakRefs(self);
  o->~O();
  IL_TP_FREE(tp)(self);
  Py_DECREF(tp);
  Py_TRASHCAN_END
}

/// Py_tp_members making O weak-referenceable (its `weakreflist`).
template <class O>
PyMemberDef weaklist_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, static_cast<Py_ssize_t>(offsetof(O, weakreflist)), READONLY,
     nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

/// The GC type of O from `slots`, named `name` (a literal, "package.module.Class")
/// and bound in m as Class, unless `bind` is false (then kept, never freed).
template <class O>
PyTypeObject* add_type(nanobind::module_& m, const char* name, PyType_Slot* slots,
                       unsigned flags = 0, bool bind = true) {
  PyType_Spec spec{name, static_cast<int>(sizeof(O)), 0,
                   static_cast<unsigned>(Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | flags), slots};
  PyObject* t = PyType_FromSpec(&spec);
  if (!t) throw nanobind::python_error();
  if (bind) m.attr(std::strrchr(name, '.') + 1) = nanobind::borrow(t);
  return reinterpret_cast<PyTypeObject*>(t);
}

}  // namespace interlock::py::raw
