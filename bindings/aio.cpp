// bindings/aio.cpp — the AsyncWait object and its notify (bindings/aio.hpp).
#include "aio.hpp"

#include <nanobind/nanobind.h>

#include <atomic>
#include <new>
#include <type_traits>

#include "module.hpp"

namespace nb = nanobind;

namespace interlock::py::aio {
namespace {

using Kind = AsyncWait::Kind;

/// The Python half of a wait: the core's AsyncWait (the node and its rules,
/// include/interlock/async_wait.hpp) plus what its notify needs.
struct AsyncWaitObject {
  PyObject_HEAD
  AsyncWait wait;
  PyObject* owner;  // the primitive's Python object (keeps the primitive alive)
  PyObject* loop;
  PyObject* future;
  unsigned long loop_thread;
};

PyTypeObject* g_type = nullptr;
PyObject* g_wake = nullptr;            // _aio._wake(future): set_result(None) unless done
PyObject* g_call_soon = nullptr;       // interned method names
PyObject* g_call_soon_threadsafe = nullptr;

inline AsyncWaitObject* aw(PyObject* o) noexcept { return reinterpret_cast<AsyncWaitObject*>(o); }

/// Schedules the future's completion on its loop; drops the queue's reference.
/// Called with the GIL held / thread state attached, under no internal lock.
void deliver(AsyncWaitObject* w) noexcept {
#if PY_VERSION_HEX >= 0x030C0000
  PyObject* exc = PyErr_GetRaisedException();
#else
  PyObject *exc_type, *exc, *exc_tb;
  PyErr_Fetch(&exc_type, &exc, &exc_tb);
#endif
  PyObject* method = PyThread_get_thread_ident() == w->loop_thread ? g_call_soon
                                                                   : g_call_soon_threadsafe;
  PyObject* r = PyObject_CallMethodObjArgs(w->loop, method, g_wake, w->future, nullptr);
  if (r) {
    Py_DECREF(r);
  } else {
    PyErr_Clear();  // the loop is closed: nobody will resume the waiter
    w->wait.abandon();
  }
#if PY_VERSION_HEX >= 0x030C0000
  PyErr_SetRaisedException(exc);
#else
  PyErr_Restore(exc_type, exc, exc_tb);
#endif
  Py_DECREF(reinterpret_cast<PyObject*>(w));  // the queue's reference
}

void notify(void* ctx) noexcept {
  auto* w = static_cast<AsyncWaitObject*>(ctx);
  PyGILState_STATE g = PyGILState_Ensure();
  deliver(w);
  PyGILState_Release(g);
}

PyObject* make(Kind kind, PyObject* owner, void* prim, const CustomOps* ops, PyObject* loop,
               PyObject* future) noexcept {
  auto* w = reinterpret_cast<AsyncWaitObject*>(PyType_GenericAlloc(g_type, 0));
  if (!w) return nullptr;
  new (&w->wait) AsyncWait(kind, prim, ops, &notify, w);
  w->owner = Py_NewRef(owner);
  w->loop = Py_NewRef(loop);
  w->future = Py_NewRef(future);
  w->loop_thread = PyThread_get_thread_ident();
  return reinterpret_cast<PyObject*>(w);
}

// The queue's reference is taken before the core can hand the node to a
// notify (which may run on another thread at once).
PyObject* enqueue(PyObject* obj) noexcept {
  if (!obj) return nullptr;
  queue_ref(obj);
  if (!aw(obj)->wait.enqueue()) return obj;  // queued
  Py_DECREF(obj);  // the queue's reference, never used
  Py_DECREF(obj);
  Py_RETURN_NONE;
}

// ------------------------------------------------------------------ methods
/// cancel(): withdraw a waiter whose coroutine gives up (cancelled, timed
/// out). Leaves the primitive as if it had never waited (AsyncWait::cancel).
PyObject* aw_cancel(PyObject* self, PyObject*) {
  if (aw(self)->wait.cancel()) Py_DECREF(self);  // the queue's (the caller holds another)
  Py_RETURN_NONE;
}

/// handed_off: whether the release that woke this waiter handed it the lock
/// or permit (it owns it now). Reading it consumes the outcome.
PyObject* aw_handed_off(PyObject* self, void*) {
  return PyBool_FromLong(aw(self)->wait.consume());
}

int aw_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(aw(self)->owner);
  Py_VISIT(aw(self)->loop);
  Py_VISIT(aw(self)->future);
  return 0;
}

void aw_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  AsyncWaitObject* w = aw(self);
  // Never queued here: the queue holds a reference while it is.
  Py_CLEAR(w->owner);
  Py_CLEAR(w->loop);
  Py_CLEAR(w->future);
  IL_TP_FREE(tp)(self);
  Py_DECREF(tp);
}

/// AsyncWait._set_wake(fn): installs the callback that completes a waiter's
/// future on its loop (python/interlock/_aio.py's _wake), once at import.
PyObject* aw_set_wake(PyObject*, PyObject* fn) {
  if (!PyCallable_Check(fn)) {
    PyErr_SetString(PyExc_TypeError, "_set_wake() needs a callable");
    return nullptr;
  }
  PyObject* old = g_wake;
  g_wake = Py_NewRef(fn);
  Py_XDECREF(old);
  Py_RETURN_NONE;
}

PyMethodDef aw_methods[] = {
    {"cancel", aw_cancel, METH_NOARGS,
     "cancel($self, /)\n--\n\nWithdraw the wait, giving back whatever a release handed over."},
    {"_set_wake", aw_set_wake, METH_O | METH_STATIC,
     "_set_wake(fn, /)\n--\n\nInstall the callback that completes a waiter's future."},
    {nullptr, nullptr, 0, nullptr},
};
PyGetSetDef aw_getset[] = {
    {"handed_off", aw_handed_off, nullptr,
     "Whether the waking release handed this waiter the lock / permit.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
PyType_Slot aw_slots[] = {
    {Py_tp_doc, const_cast<char*>("An event-loop waiter queued on a primitive (internal).")},
    {Py_tp_dealloc, reinterpret_cast<void*>(aw_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(aw_traverse)},
    {Py_tp_methods, aw_methods},
    {Py_tp_getset, aw_getset},
    {0, nullptr},
};
// No tp_clear: a queued waiter must keep its references until notify, and a
// cycle through one is broken when its future completes.
PyType_Spec aw_spec = {"interlock._interlock.aio.AsyncWait",
                       static_cast<int>(sizeof(AsyncWaitObject)), 0,
                       Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, aw_slots};

}  // namespace

template <class P>
PyObject* enqueue(PyObject* owner, P& prim, PyObject* loop, PyObject* future) noexcept {
  constexpr Kind kind = std::is_same_v<P, Mutex>       ? Kind::mutex
                        : std::is_same_v<P, Semaphore> ? Kind::semaphore
                        : std::is_same_v<P, Latch>     ? Kind::latch
                                                       : Kind::event;
  return enqueue(make(kind, owner, &prim, nullptr, loop, future));
}
template PyObject* enqueue(PyObject*, Mutex&, PyObject*, PyObject*) noexcept;
template PyObject* enqueue(PyObject*, Semaphore&, PyObject*, PyObject*) noexcept;
template PyObject* enqueue(PyObject*, ResettableEvent&, PyObject*, PyObject*) noexcept;
template PyObject* enqueue(PyObject*, Latch&, PyObject*, PyObject*) noexcept;

PyObject* make_custom(PyObject* owner, void* prim, const CustomOps* ops, PyObject* loop,
                      PyObject* future) noexcept {
  return make(Kind::custom, owner, prim, ops, loop, future);
}

parking_lot::AsyncNode& custom_node(PyObject* wait) noexcept { return aw(wait)->wait.custom_node(); }

void queue_ref(PyObject* wait) noexcept { Py_INCREF(wait); }

void unqueued(PyObject* wait) noexcept {
  aw(wait)->wait.unqueued();
  Py_DECREF(wait);  // the queue's reference, never used
}

int claim_registration(PyObject* prev, void* prim) noexcept {
  if (prev == Py_None) return 0;
  if (Py_TYPE(prev) != g_type || aw(prev)->wait.kind() != Kind::custom ||
      aw(prev)->wait.prim() != prim) {
    PyErr_SetString(PyExc_TypeError, "expected None or this queue's waiter");
    return -1;
  }
  return aw(prev)->wait.claim_registration() ? 1 : 0;
}

PyTypeObject* wait_type() noexcept { return g_type; }

}  // namespace interlock::py::aio

namespace interlock::py {

void init_aio(nb::module_& m) {
  using namespace interlock::py::aio;
  PyObject* type = PyType_FromSpec(&aw_spec);
  if (!type) throw nb::python_error();
  g_type = reinterpret_cast<PyTypeObject*>(type);
  m.attr("AsyncWait") = nb::steal(type);
  g_call_soon = PyUnicode_InternFromString("call_soon");
  g_call_soon_threadsafe = PyUnicode_InternFromString("call_soon_threadsafe");
  if (!g_call_soon || !g_call_soon_threadsafe) throw nb::python_error();
}

}  // namespace interlock::py
