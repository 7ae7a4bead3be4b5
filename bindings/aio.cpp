// bindings/aio.cpp — the AsyncWait object and its notify (bindings/aio.hpp).
#include "aio.hpp"

#include <nanobind/nanobind.h>

#include <new>

#include "method_table.hpp"
#include "module.hpp"

namespace nb = nanobind;

namespace interlock::py::aio {
namespace {

using Kind = AsyncWait::Kind;

/// The Python half of a wait (a nanobind instance): the core's AsyncWait
/// (the node and its rules, include/interlock/async_wait.hpp) plus what its
/// notify needs. clear() drops nothing: a queued waiter must keep its references
/// until notify, and a cycle through one is broken when its future completes.
struct AsyncWaitObject {
  AsyncWait wait;
  nb::object owner;  // the primitive's Python object (keeps the primitive alive)
  nb::object loop;
  nb::object future;
  unsigned long loop_thread = PyThread_get_thread_ident();

  int traverse(visitproc visit, void* arg) const noexcept {
    Py_VISIT(owner.ptr());
    Py_VISIT(loop.ptr());
    Py_VISIT(future.ptr());
    return 0;
  }
  void clear() noexcept {}
  /// cancel(): withdraw a waiter whose coroutine gives up (cancelled, timed
  /// out). Leaves the primitive as if it had never waited (AsyncWait::cancel).
  static PyObject* cancel(PyObject* self, AsyncWaitObject& w) noexcept {
    if (w.wait.cancel()) Py_DECREF(self);  // the queue's (the caller holds another)
    Py_RETURN_NONE;
  }
};

PyTypeObject* g_type = nullptr;
PyObject* g_module = nullptr;  // interlock._interlock._aio, where _aio.py puts _wake
PyObject* g_call_soon = nullptr;  // interned names
PyObject* g_call_soon_threadsafe = nullptr;
PyObject* g_wake = nullptr;

inline AsyncWaitObject* aw(PyObject* o) noexcept { return nb::inst_ptr<AsyncWaitObject>(o); }

/// The core's notify (on the releasing thread, under no internal lock):
/// schedules the future's completion on its loop; drops the queue's reference.
void notify(void* ctx) noexcept {
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject* self = static_cast<PyObject*>(ctx);
  {
    nb::error_scope keep;  // an exception pending on the releasing thread
    AsyncWaitObject* w = aw(self);
    PyObject* method = PyThread_get_thread_ident() == w->loop_thread ? g_call_soon
                                                                     : g_call_soon_threadsafe;
    PyObject* wake = PyObject_GetAttr(g_module, g_wake);  // _wake(future): set unless done
    PyObject* r = wake ? PyObject_CallMethodObjArgs(w->loop.ptr(), method, wake,
                                                    w->future.ptr(), nullptr)
                       : nullptr;
    Py_XDECREF(wake);
    if (r) {
      Py_DECREF(r);
    } else {
      PyErr_Clear();  // the loop is closed: nobody will resume the waiter
      w->wait.abandon();
    }
  }
  Py_DECREF(self);  // the queue's reference
  PyGILState_Release(g);
}

/// A new waiter with two references, the caller's and the queue's (taken
/// before the core can hand the node to a notify); null with an error.
PyObject* make(Kind kind, PyObject* owner, void* prim, const CustomOps* ops, PyObject* loop,
               PyObject* future) noexcept {
  try {
    nb::object o = nb::inst_alloc(reinterpret_cast<PyObject*>(g_type));
    new (aw(o.ptr())) AsyncWaitObject{AsyncWait(kind, prim, ops, &notify, o.ptr()),
                                      nb::borrow(owner), nb::borrow(loop), nb::borrow(future)};
    nb::inst_mark_ready(o);
    return Py_NewRef(o.release().ptr());
  } catch (...) {
    return detail::translate_current_exception();
  }
}

PyMethodDef aw_methods[] = {
    method<&AsyncWaitObject::cancel, "cancel($self, /) -> None",
           "Withdraw the wait, giving back whatever a release handed over.">(),
    methods_end,
};

}  // namespace

/// What a retry's `prev` (None, or the woken waiter) holds: 1 if it ends the
/// wait (AsyncWait::consume), 0 if not (or None), -1 with a TypeError if
/// prev is not a waiter of `kind` on `prim`.
static int consume_prev(PyObject* prev, Kind kind, void* prim) noexcept {
  if (prev == Py_None) return 0;
  if (Py_TYPE(prev) != g_type || aw(prev)->wait.kind() != kind || aw(prev)->wait.prim() != prim) {
    PyErr_SetString(PyExc_TypeError, "expected None or this primitive's waiter");
    return -1;
  }
  return aw(prev)->wait.consume() ? 1 : 0;
}

template <class P>
PyObject* enqueue(PyObject* owner, P& prim, PyObject* loop, PyObject* future,
                  PyObject* prev) noexcept {
  if (const int done = consume_prev(prev, AsyncWait::kind_of<P>, &prim))
    return done < 0 ? nullptr : Py_NewRef(Py_None);  // the release handed it over
  PyObject* w = make(AsyncWait::kind_of<P>, owner, &prim, nullptr, loop, future);
  if (!w || !aw(w)->wait.enqueue()) return w;  // queued, or an error
  Py_DECREF(w);  // the queue's reference, never used
  Py_DECREF(w);
  Py_RETURN_NONE;
}
template PyObject* enqueue(PyObject*, Mutex&, PyObject*, PyObject*, PyObject*) noexcept;
template PyObject* enqueue(PyObject*, Semaphore&, PyObject*, PyObject*, PyObject*) noexcept;
template PyObject* enqueue(PyObject*, ResettableEvent&, PyObject*, PyObject*, PyObject*) noexcept;
template PyObject* enqueue(PyObject*, Latch&, PyObject*, PyObject*, PyObject*) noexcept;

PyObject* custom(PyObject* owner, void* prim, const CustomOps& ops, PyObject* loop,
                 PyObject* future, PyObject* prev,
                 FunctionRef<PyObject*(parking_lot::AsyncNode&, bool, bool*)> step) noexcept {
  const int registered = consume_prev(prev, Kind::custom, prim);
  if (registered < 0) return nullptr;
  PyObject* w = make(Kind::custom, owner, prim, &ops, loop, future);
  if (!w) {
    if (registered) ops.pass_on(prim);
    return nullptr;
  }
  bool queued = false;
  PyObject* r = step(aw(w)->wait.custom_node(), registered != 0, &queued);
  if (queued) return w;  // (r is unset)
  aw(w)->wait.unqueued();
  Py_DECREF(w);  // the queue's reference, never used
  Py_DECREF(w);
  return r;
}

}  // namespace interlock::py::aio

namespace interlock::py {

void init_aio(nb::module_& m) {
  using namespace interlock::py::aio;
  nb::class_<AsyncWaitObject> cls(m, "AsyncWait", gc_slots<AsyncWaitObject>(aw_methods),
                                  nb::is_final(),
                                  "An event-loop waiter queued on a primitive (internal).");
  set_module(cls, "interlock._interlock.aio");
  g_type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  g_module = m.ptr();  // kept alive by interlock._interlock
  g_call_soon = PyUnicode_InternFromString("call_soon");
  g_call_soon_threadsafe = PyUnicode_InternFromString("call_soon_threadsafe");
  g_wake = PyUnicode_InternFromString("_wake");
  if (!g_call_soon || !g_call_soon_threadsafe || !g_wake) throw nb::python_error();
}

}  // namespace interlock::py
