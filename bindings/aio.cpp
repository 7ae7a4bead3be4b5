// bindings/aio.cpp — the AsyncWait object and its notify (bindings/aio.hpp).
#include "aio.hpp"

#include <nanobind/nanobind.h>

#include <atomic>
#include <new>

#include "module.hpp"

namespace nb = nanobind;

namespace interlock::py::aio {
namespace {

enum class Kind : unsigned char { mutex, semaphore, event, latch, custom };

struct AsyncWaitObject {
  PyObject_HEAD
  Kind kind;
  bool finished;        // cancel() ran or handed_off was read (the coroutine's side)
  // Whoever claims first owns what a release handed over: the coroutine
  // (reading handed_off, or cancel() giving it back) or a notify whose loop is
  // gone (abandon() giving it back). They may run on different threads.
  std::atomic<bool> claimed;
  PyObject* owner;      // the primitive's Python object (keeps `prim` alive)
  void* prim;           // the core primitive inside `owner`
  const CustomOps* ops; // custom only
  PyObject* loop;
  PyObject* future;
  unsigned long loop_thread;
  union Node {
    Mutex::AsyncWaiter mutex;
    Semaphore::AsyncWaiter semaphore;
    ResettableEvent::AsyncWaiter event;
    Latch::AsyncWaiter latch;
    parking_lot::AsyncNode custom;
    Node() noexcept {}
    ~Node() {}
  } node;
};

PyTypeObject* g_type = nullptr;
PyObject* g_wake = nullptr;            // _aio._wake(future): set_result(None) unless done
PyObject* g_call_soon = nullptr;       // interned method names
PyObject* g_call_soon_threadsafe = nullptr;

inline AsyncWaitObject* aw(PyObject* o) noexcept { return reinterpret_cast<AsyncWaitObject*>(o); }

/// After a lost notification (the loop is closed, or scheduling failed): give
/// back what the release handed over, so that nothing stays taken.
void give_back(AsyncWaitObject* w) noexcept {
  switch (w->kind) {
    case Kind::mutex:
      // The core's checked unlock: any thread may release a Python Lock.
      if (w->node.mutex.handed_off()) {
        w->node.mutex.state.handed_off = false;
        (void)static_cast<Mutex*>(w->prim)->try_unlock();
      } else if (static_cast<Mutex*>(w->prim)->try_lock()) {
        (void)static_cast<Mutex*>(w->prim)->try_unlock();  // pass the wake-up on
      }
      break;
    case Kind::semaphore:
      if (w->node.semaphore.handed_off()) {
        w->node.semaphore.state.handed_off = false;
        static_cast<Semaphore*>(w->prim)->release(1);
      }
      break;
    case Kind::custom:
      w->ops->pass_on(w->prim);
      break;
    case Kind::event:
    case Kind::latch:
      break;
  }
}

void abandon(AsyncWaitObject* w) noexcept {
  if (!w->claimed.exchange(true, std::memory_order_acq_rel)) give_back(w);
}

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
    abandon(w);
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

PyObject* make(Kind kind, PyObject* owner, void* prim, PyObject* loop, PyObject* future) noexcept {
  auto* w = reinterpret_cast<AsyncWaitObject*>(PyType_GenericAlloc(g_type, 0));
  if (!w) return nullptr;
  w->kind = kind;
  w->finished = false;
  new (&w->claimed) std::atomic<bool>(false);
  w->owner = Py_NewRef(owner);
  w->prim = prim;
  w->ops = nullptr;
  w->loop = Py_NewRef(loop);
  w->future = Py_NewRef(future);
  w->loop_thread = PyThread_get_thread_ident();
  void* ctx = w;
  switch (kind) {
    case Kind::mutex: new (&w->node.mutex) Mutex::AsyncWaiter(&notify, ctx); break;
    case Kind::semaphore: new (&w->node.semaphore) Semaphore::AsyncWaiter(&notify, ctx); break;
    case Kind::event: new (&w->node.event) ResettableEvent::AsyncWaiter(&notify, ctx); break;
    case Kind::latch: new (&w->node.latch) Latch::AsyncWaiter(&notify, ctx); break;
    case Kind::custom: new (&w->node.custom) parking_lot::AsyncNode(&notify, ctx); break;
  }
  return reinterpret_cast<PyObject*>(w);
}

// The queue's reference is taken before the core can hand the node to a
// notify (which may run on another thread at once). `core_enqueue` returns
// true when the primitive was ready, i.e. nothing was queued.
template <class F>
PyObject* enqueue(PyObject* obj, F&& core_enqueue) noexcept {
  if (!obj) return nullptr;
  queue_ref(obj);
  if (!core_enqueue(aw(obj))) return obj;  // queued
  unqueued(obj);
  Py_DECREF(obj);
  Py_RETURN_NONE;
}

// ------------------------------------------------------------------ methods
/// cancel(): withdraw a waiter whose coroutine gives up (cancelled, timed
/// out). Leaves the primitive as if it had never waited: a lock or permit
/// handed over meanwhile is given back, a plain wake-up is passed on.
PyObject* aw_cancel(PyObject* self, PyObject*) {
  AsyncWaitObject* w = aw(self);
  if (w->finished) Py_RETURN_NONE;
  w->finished = true;
  bool removed = false;
  switch (w->kind) {
    case Kind::mutex: {
      auto* m = static_cast<Mutex*>(w->prim);
      switch (m->withdraw_async(w->node.mutex)) {
        case Mutex::Withdrawn::queued: removed = true; break;
        case Mutex::Withdrawn::handed_off:
          abandon(w);  // give the lock back unless a closed loop's notify did
          break;
        case Mutex::Withdrawn::woken: break;  // passed on by the core
      }
      break;
    }
    case Kind::semaphore:
      // Not cancel_async: a handed permit goes back through the claim.
      switch (static_cast<Semaphore*>(w->prim)->withdraw_async(w->node.semaphore)) {
        case Semaphore::Withdrawn::queued: removed = true; break;
        case Semaphore::Withdrawn::handed_off: abandon(w); break;
        case Semaphore::Withdrawn::woken: break;
      }
      break;
    case Kind::event:
      removed = static_cast<ResettableEvent*>(w->prim)->cancel_async(w->node.event);
      break;
    case Kind::latch:
      removed = static_cast<Latch*>(w->prim)->cancel_async(w->node.latch);
      break;
    case Kind::custom:
      removed = w->ops->cancel_queued(w->prim, w->node.custom);
      if (!removed) abandon(w);  // woken: pass it on unless a closed loop's notify did
      break;
  }
  if (removed) {
    Py_DECREF(self);  // the queue's reference (the caller holds another)
  }
  Py_RETURN_NONE;
}

/// handed_off: whether the release that woke this waiter handed it the lock
/// or permit (it owns it now). Reading it consumes the outcome: a later
/// cancel() gives nothing back.
PyObject* aw_handed_off(PyObject* self, void*) {
  AsyncWaitObject* w = aw(self);
  bool h = false;
  switch (w->kind) {
    case Kind::mutex: h = w->node.mutex.handed_off(); break;
    case Kind::semaphore: h = w->node.semaphore.handed_off(); break;
    case Kind::event: h = w->node.event.state.notified; break;
    case Kind::latch: h = static_cast<Latch*>(w->prim)->try_wait(); break;
    case Kind::custom: h = true; break;  // a plain wake-up: call again
  }
  w->finished = true;
  // Consumed: a closed loop's notify or a later cancel() gives nothing back.
  if (w->claimed.exchange(true, std::memory_order_acq_rel)) h = false;
  return PyBool_FromLong(h);
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

PyObject* enqueue_mutex(PyObject* owner, Mutex& m, PyObject* loop, PyObject* future) noexcept {
  return enqueue(make(Kind::mutex, owner, &m, loop, future),
                 [&](AsyncWaitObject* w) { return m.lock_async(w->node.mutex); });
}

PyObject* enqueue_semaphore(PyObject* owner, Semaphore& s, PyObject* loop,
                            PyObject* future) noexcept {
  return enqueue(make(Kind::semaphore, owner, &s, loop, future),
                 [&](AsyncWaitObject* w) { return s.acquire_async(w->node.semaphore); });
}

PyObject* enqueue_event(PyObject* owner, ResettableEvent& e, PyObject* loop,
                        PyObject* future) noexcept {
  return enqueue(make(Kind::event, owner, &e, loop, future),
                 [&](AsyncWaitObject* w) { return e.wait_async(w->node.event); });
}

PyObject* enqueue_latch(PyObject* owner, Latch& l, PyObject* loop, PyObject* future) noexcept {
  return enqueue(make(Kind::latch, owner, &l, loop, future),
                 [&](AsyncWaitObject* w) { return l.wait_async(w->node.latch); });
}

PyObject* make_custom(PyObject* owner, void* prim, const CustomOps* ops, PyObject* loop,
                      PyObject* future) noexcept {
  PyObject* obj = make(Kind::custom, owner, prim, loop, future);
  if (obj) aw(obj)->ops = ops;
  return obj;
}

parking_lot::AsyncNode& custom_node(PyObject* wait) noexcept { return aw(wait)->node.custom; }

void queue_ref(PyObject* wait) noexcept { Py_INCREF(wait); }

void unqueued(PyObject* wait) noexcept {
  aw(wait)->finished = true;
  Py_DECREF(wait);  // the queue's reference, never used
}

int claim_registration(PyObject* prev, void* prim) noexcept {
  if (prev == Py_None) return 0;
  if (Py_TYPE(prev) != g_type || aw(prev)->kind != Kind::custom || aw(prev)->prim != prim) {
    PyErr_SetString(PyExc_TypeError, "expected None or this queue's waiter");
    return -1;
  }
  AsyncWaitObject* w = aw(prev);
  if (w->finished) return 0;  // already claimed by an earlier retry or cancel
  w->finished = true;
  return w->claimed.exchange(true, std::memory_order_acq_rel) ? 0 : 1;
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
