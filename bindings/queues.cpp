// bindings/queues.cpp — interlock.collections' queues and the gathering
// iterator: Queue (queue.Queue's contract), ConcurrentQueue and
// StdConcurrentQueue (ft_utils), ConcurrentGatheringIterator (ft_utils), and
// the exceptions they raise (the stdlib's queue.Empty / queue.Full, and
// queue.ShutDown or, before Python 3.13, a fallback class).
//
// Thin: every algorithm is in the core (interlock/blocking_queue.hpp,
// interlock/gathering_map.hpp), over PyObject* values: a queued object holds
// one strong reference, moved in by put/push and out by get/pop. This file
// converts arguments, applies the stdlib's and ft_utils' conventions, and runs
// every wait through interlock::py::blocking() (GIL released / thread state
// detached while parked, signal handlers run; a wait cut short by an
// exception leaves the queue exactly as a timeout would). Nothing is decref'd
// under a core lock: the core hands drained values back after unlocking.
// Hot methods (put/get/*_nowait/push/pop/qsize/...) are fast methods.
#include <nanobind/nanobind.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>

#include "aio.hpp"
#include "fast_methods.hpp"
#include "interlock/blocking_queue.hpp"
#include "interlock/deadline.hpp"
#include "interlock/gathering_map.hpp"
#include "module.hpp"
#include "py_wait.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using namespace nb::literals;
using interlock::Deadline;
using interlock::GatherStatus;
using interlock::QueueStatus;
using interlock::WaitStatus;

namespace {

using PyQueueCore = interlock::BlockingQueue<PyObject*>;

// Strong references, set once by init_queues (module lifetime).
PyObject* g_empty = nullptr;     // queue.Empty
PyObject* g_full = nullptr;      // queue.Full
PyObject* g_shutdown = nullptr;  // queue.ShutDown, or interlock.collections.ShutDown

void decref(PyObject* o) noexcept { Py_DECREF(o); }

/// What every queue type holds.
struct QueueBase {
  PyQueueCore q;
  std::atomic<bool> failed{false};  // ft_utils: a push failed; pops raise RuntimeError

  QueueBase(std::size_t maxsize, PyQueueCore::Wait wait) noexcept : q(maxsize, wait) {}
  ~QueueBase() { q.drain(decref); }

  int traverse(visitproc visit, void* arg) noexcept {
    return q.for_each_locked([&](PyObject* o) -> int {
      Py_VISIT(o);
      return 0;
    });
  }
  void clear() noexcept { q.drain(decref); }
};

struct PyQueue : QueueBase {
  Py_ssize_t maxsize_given;
  explicit PyQueue(Py_ssize_t maxsize) noexcept
      : QueueBase(maxsize > 0 ? static_cast<std::size_t>(maxsize) : 0, PyQueueCore::Wait::park),
        maxsize_given(maxsize) {}
};

struct PyConcurrentQueue : QueueBase {
  using QueueBase::QueueBase;
};

struct PyStdConcurrentQueue : PyConcurrentQueue {
  Py_ssize_t maxsize_given;
  explicit PyStdConcurrentQueue(Py_ssize_t maxsize) noexcept
      : PyConcurrentQueue(maxsize > 0 ? static_cast<std::size_t>(maxsize) : 0,
                          PyQueueCore::Wait::spin_then_park),
        maxsize_given(maxsize) {}
};

// ============================================================ shared pieces

/// Truth value of an optional `block` argument (omitted: true). -1 on error.
/// Maps a failed push to its exception (item: the reference to give back).
PyObject* push_failed(QueueBase& b, QueueStatus st, PyObject* item) noexcept {
  Py_DECREF(item);
  switch (st) {
    case QueueStatus::timed_out: PyErr_SetNone(g_full); return nullptr;
    case QueueStatus::shut_down: PyErr_SetNone(g_shutdown); return nullptr;
    case QueueStatus::no_memory:
      b.failed.store(true, std::memory_order_release);
      return PyErr_NoMemory();
    case QueueStatus::interrupted: return ilpy::raise_interrupted();
    case QueueStatus::ok: break;
  }
  Py_RETURN_NONE;
}

/// Pushes `item` (a new reference is taken) waiting until `d`.
inline PyObject* push_until(QueueBase& b, PyObject* item, Deadline d) noexcept {
  Py_INCREF(item);
  QueueStatus st = b.q.push(item, Deadline::immediate());
  if (INTERLOCK_LIKELY(st == QueueStatus::ok)) Py_RETURN_NONE;
  if (st == QueueStatus::timed_out && !d.is_immediate())
    st = ilpy::blocking([&] { return b.q.push(item, d); });
  if (st == QueueStatus::ok) Py_RETURN_NONE;
  return push_failed(b, st, item);
}

/// Pops (waiting until `d`): the value, or null with `on_empty` (or ShutDown) raised.
inline PyObject* pop_until(QueueBase& b, Deadline d) noexcept {
  PyObject* out = nullptr;
  QueueStatus st = b.q.pop(&out, Deadline::immediate());
  if (INTERLOCK_LIKELY(st == QueueStatus::ok)) return out;
  if (st == QueueStatus::timed_out && !d.is_immediate())
    st = ilpy::blocking([&] { return b.q.pop(&out, d); });
  switch (st) {
    case QueueStatus::ok: return out;
    case QueueStatus::timed_out: PyErr_SetNone(g_empty); return nullptr;
    case QueueStatus::shut_down: PyErr_SetNone(g_shutdown); return nullptr;
    case QueueStatus::interrupted: return ilpy::raise_interrupted();
    case QueueStatus::no_memory: break;
  }
  return PyErr_NoMemory();
}

// ============================================================ queue.Queue API

// put(item, block=True, timeout=None)
template <class C>
PyObject* q_put(C& c, PyObject* item, ilpy::passed block, ilpy::passed timeout) noexcept {
  const int blk = ilpy::block_arg(block.obj);
  if (blk < 0) return nullptr;
  Deadline d;
  if (!ilpy::queue_deadline(blk != 0, timeout.obj, &d)) return nullptr;
  return push_until(c, item, d);
}

template <class C>
PyObject* q_put_nowait(C& c, PyObject* item) noexcept {
  return push_until(c, item, Deadline::immediate());
}

// get(block=True, timeout=None)
template <class C>
PyObject* q_get(C& c, ilpy::passed block, ilpy::passed timeout) noexcept {
  const int blk = ilpy::block_arg(block.obj);
  if (blk < 0) return nullptr;
  Deadline d;
  if (!ilpy::queue_deadline(blk != 0, timeout.obj, &d)) return nullptr;
  return pop_until(c, d);
}

template <class C>
PyObject* q_get_nowait(C& c) noexcept {
  return pop_until(c, Deadline::immediate());
}

template <class C>
std::size_t q_qsize(const C& c) noexcept { return c.q.size(); }
template <class C>
bool q_empty(const C& c) noexcept { return c.q.empty(); }
template <class C>
bool q_full(const C& c) noexcept { return c.q.full(); }

template <class C>
PyObject* q_task_done(C& c) noexcept {
  if (!c.q.task_done()) {
    PyErr_SetString(PyExc_ValueError, "task_done() called too many times");
    return nullptr;
  }
  Py_RETURN_NONE;
}

template <class C>
PyObject* q_join(C& c) noexcept {
  if (c.q.unfinished_tasks() == 0) Py_RETURN_NONE;
  const WaitStatus st = ilpy::blocking([&] { return c.q.join(Deadline::never()); });
  if (st == WaitStatus::interrupted) return ilpy::raise_interrupted();
  Py_RETURN_NONE;
}

// shutdown(immediate=False)
template <class C>
PyObject* q_shutdown(C& c, ilpy::passed immediate) noexcept {
  int imm = 0;
  if (immediate.given() && (imm = PyObject_IsTrue(immediate.obj)) < 0) return nullptr;
  c.q.shutdown(imm != 0, decref);
  Py_RETURN_NONE;
}

// ============================================================ asyncio (bindings/aio.hpp)
// _aio_get(loop, future, prev) / _aio_put(item, loop, future, prev) /
// _aio_join(loop, future, prev): do it now (the item / None), or queue an
// event-loop waiter and return it (an AsyncWait). `prev` is the waiter whose
// wake-up led to this retry (None the first time): its registration among
// the queue's waiters is given up in the same critical section.

template <PyQueueCore::AsyncSide Side>
struct QueueAsyncOps {
  static bool cancel_queued(void* prim, interlock::parking_lot::AsyncNode& n) noexcept {
    return static_cast<PyQueueCore*>(prim)->cancel_async(n, Side);
  }
  static void pass_on(void* prim) noexcept { static_cast<PyQueueCore*>(prim)->abandon_async(Side); }
  static constexpr interlock::py::aio::CustomOps ops{&cancel_queued, &pass_on};
};

template <PyQueueCore::AsyncSide Side, class Core>
PyObject* queue_async(PyObject* self, QueueBase& b, PyObject* loop, PyObject* future,
                      PyObject* prev, Core&& core) noexcept {
  namespace aio = interlock::py::aio;
  const int registered = aio::claim_registration(prev, &b.q);
  if (registered < 0) return nullptr;
  PyObject* w = aio::make_custom(self, &b.q, &QueueAsyncOps<Side>::ops, loop, future);
  if (!w) {
    if (registered) b.q.abandon_async(Side);
    return nullptr;
  }
  aio::queue_ref(w);
  bool queued = false;
  PyObject* r = core(aio::custom_node(w), registered != 0, &queued);
  if (queued) return w;  // (r is unset)
  aio::unqueued(w);
  Py_DECREF(w);
  return r;
}

template <class C>
PyObject* q_aio_get(PyObject* self, C& c, PyObject* loop, PyObject* future, PyObject* prev) noexcept {
  PyObject* out = nullptr;  // fast path first: no waiter object at all
  if (prev == Py_None && c.q.pop(&out, Deadline::immediate()) == QueueStatus::ok) return out;
  return queue_async<PyQueueCore::AsyncSide::getter>(
      self, c, loop, future, prev,
      [&](interlock::parking_lot::AsyncNode& n, bool reg, bool* queued) -> PyObject* {
        PyObject* v = nullptr;
        switch (c.q.pop_async(&v, n, reg, queued)) {
          case QueueStatus::ok: return v;
          case QueueStatus::shut_down: PyErr_SetNone(g_shutdown); return nullptr;
          default: return nullptr;  // queued
        }
      });
}

template <class C>
PyObject* q_aio_put(PyObject* self, C& c, PyObject* item, PyObject* loop, PyObject* future,
                    PyObject* prev) noexcept {
  Py_INCREF(item);  // the queue's reference, if it takes it
  if (prev == Py_None && c.q.push(item, Deadline::immediate()) == QueueStatus::ok) Py_RETURN_NONE;
  PyObject* r = queue_async<PyQueueCore::AsyncSide::putter>(
      self, c, loop, future, prev,
      [&](interlock::parking_lot::AsyncNode& n, bool reg, bool* queued) -> PyObject* {
        const QueueStatus st = c.q.push_async(item, n, reg, queued);
        if (st == QueueStatus::ok) Py_RETURN_NONE;
        if (*queued) return nullptr;
        return push_failed(c, st, Py_NewRef(item));
      });
  if (!r || Py_TYPE(r) == interlock::py::aio::wait_type()) Py_DECREF(item);  // not queued
  return r;
}

template <class C>
PyObject* q_aio_join(PyObject* self, C& c, PyObject* loop, PyObject* future, PyObject* prev) noexcept {
  if (prev == Py_None && c.q.unfinished_tasks() == 0) Py_RETURN_NONE;
  return queue_async<PyQueueCore::AsyncSide::joiner>(
      self, c, loop, future, prev,
      [&](interlock::parking_lot::AsyncNode& n, bool reg, bool* queued) -> PyObject* {
        *queued = !c.q.join_async(n, reg);
        if (*queued) return nullptr;
        Py_RETURN_NONE;
      });
}

#define IL_QUEUE_DOC_PUT                                                                        \
  "Put item into the queue. If block is true and timeout is None (the default),\n"              \
  "wait until a free slot is available; with a non-negative timeout wait at most\n"             \
  "that many seconds and raise queue.Full if no slot became free. Otherwise\n"                  \
  "(block false) put the item if a slot is free at once, else raise queue.Full\n"               \
  "(timeout is then ignored). Raises ShutDown once shutdown() was called.\n"                    \
  "Waiting releases the GIL and is interruptible (an interrupted put puts nothing)."
#define IL_QUEUE_DOC_GET                                                                        \
  "Remove and return the oldest item. If block is true and timeout is None (the\n"              \
  "default), wait until an item is available; with a non-negative timeout wait at\n"            \
  "most that many seconds and raise queue.Empty if none arrived. Otherwise (block\n"            \
  "false) return an item if one is available at once, else raise queue.Empty.\n"               \
  "After shutdown(), raises ShutDown once the queue is empty (at once after\n"                  \
  "shutdown(immediate=True)). Waiting releases the GIL and is interruptible."

template <class C>
struct StdQueueMethods {
  static PyMethodDef put() { return ilpy::method<&q_put<C>, "put($self, /, item: T, block=True, timeout=None)", IL_QUEUE_DOC_PUT>(); }
  static PyMethodDef put_nowait() { return ilpy::method<
      &q_put_nowait<C>, "put_nowait($self, item: T, /)",
      "Put item without waiting: put(item, block=False).">(); }
  static PyMethodDef get() { return ilpy::method<&q_get<C>, "get($self, /, block=True, timeout=None) -> T", IL_QUEUE_DOC_GET>(); }
  static PyMethodDef get_nowait() { return ilpy::method<
      &q_get_nowait<C>, "get_nowait($self, /) -> T",
      "Remove and return an item without waiting: get(block=False).">(); }
  static PyMethodDef qsize() { return ilpy::method<
      &q_qsize<C>, "qsize($self, /)", "Return the number of items in the queue (a snapshot).">(); }
  static PyMethodDef full() { return ilpy::method<
      &q_full<C>, "full($self, /)",
      "Return True if the queue holds maxsize items (never for an unbounded queue).">(); }
  static PyMethodDef task_done() { return ilpy::method<
      &q_task_done<C>, "task_done($self, /)",
      "Tell the queue that a task taken from it is complete: each get() used to\n"
      "fetch a task is followed by one task_done(). When every put item was marked\n"
      "done, join() returns. ValueError if called more times than items were put.">(); }
  static PyMethodDef join() { return ilpy::method<
      &q_join<C>, "join($self, /)",
      "Block until every item put into the queue was taken and marked done with\n"
      "task_done(). Waiting releases the GIL and is interruptible.">(); }
};

// ============================================================ Queue

PyObject* queue_class_getitem(PyObject* cls, PyObject* item) noexcept {
  return Py_GenericAlias(cls, item);
}

using QM = StdQueueMethods<PyQueue>;
PyMethodDef queue_methods[] = {
    QM::put(),
    QM::get(),
    QM::put_nowait(),
    QM::get_nowait(),
    QM::qsize(),
    ilpy::method<&q_empty<PyQueue>, "empty($self, /)",
                 "Return True if the queue is empty (a snapshot).">(),
    QM::full(),
    QM::task_done(),
    QM::join(),
    ilpy::method<&q_shutdown<PyQueue>, "shutdown($self, /, immediate=False)",
                 "Shut the queue down (Python 3.13's queue.Queue.shutdown): put() raises\n"
                 "ShutDown from now on, get() once the queue is empty; blocked callers wake\n"
                 "up and raise ShutDown. With immediate=True the queued items are removed\n"
                 "(each counting as done for join()) and get() raises ShutDown at once.">(),
    {"__class_getitem__", reinterpret_cast<PyCFunction>(&queue_class_getitem),
     METH_O | METH_CLASS, "__class_getitem__($cls, item, /)\n--\n\nQueue[T]: a types.GenericAlias."},
    ilpy::method<&q_aio_get<PyQueue>, "_aio_get($self, loop, future, prev, /)",
                 "For interlock's asyncio support: an item, or a queued AsyncWait.">(),
    ilpy::method<&q_aio_put<PyQueue>, "_aio_put($self, item, loop, future, prev, /)",
                 "For interlock's asyncio support: None once put, or a queued AsyncWait.">(),
    ilpy::method<&q_aio_join<PyQueue>, "_aio_join($self, loop, future, prev, /)",
                 "For interlock's asyncio support: None if no task is unfinished, or a\n"
                 "queued AsyncWait.">(),
    ilpy::methods_end,
};

PyType_Slot queue_slots[] = {
    {Py_tp_methods, queue_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<PyQueue>)},
    {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<PyQueue>)},
    {0, nullptr},
};

// ============================================================ ConcurrentQueue

/// ft_utils' pop timeout: None waits forever; zero or negative does not wait
/// (queue.Empty at once, as its Condition.wait would); NaN -> ValueError.
bool cq_deadline(PyObject* timeout, Deadline* out) noexcept {
  if (!timeout || timeout == Py_None) {
    *out = Deadline::never();
    return true;
  }
  const double t = PyFloat_AsDouble(timeout);
  if (t == -1.0 && PyErr_Occurred()) return false;
  if (std::isnan(t)) {
    PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
    return false;
  }
  *out = Deadline::after_seconds(t);
  return true;
}

PyObject* cq_push(PyConcurrentQueue& c, PyObject* value) noexcept {
  return push_until(c, value, Deadline::never());
}

PyObject* cq_pop_impl(PyConcurrentQueue& c, PyObject* timeout) noexcept {
  if (IL_PY_UNLIKELY(c.failed.load(std::memory_order_acquire))) {
    PyErr_SetString(PyExc_RuntimeError, "Queue failed");
    return nullptr;
  }
  Deadline d;
  if (!cq_deadline(timeout, &d)) return nullptr;
  return pop_until(c, d);
}

PyObject* cq_pop(PyConcurrentQueue& c, std::optional<PyObject*> timeout) noexcept {
  return cq_pop_impl(c, timeout ? *timeout : nullptr);
}

PyObject* cq_pop_local(PyConcurrentQueue& c, std::optional<PyObject*> timeout) noexcept {
  PyObject* v = cq_pop_impl(c, timeout ? *timeout : nullptr);
  if (!v) return nullptr;
  PyObject* w = ilpy::local_wrap(v);
  Py_DECREF(v);
  return w;
}

std::size_t cq_size(const PyConcurrentQueue& c) noexcept { return c.q.size(); }
bool cq_empty(const PyConcurrentQueue& c) noexcept { return c.q.empty(); }

PyMethodDef cq_methods[] = {
    ilpy::method<&cq_push, "push($self, value, /)",
                 "Append value. Raises ShutDown once shutdown() was called.">(),
    ilpy::method<&cq_pop, "pop($self, /, timeout=None)",
                 "Remove and return the oldest value, waiting for one: forever when timeout\n"
                 "is None, else for at most timeout seconds (zero or negative: do not wait),\n"
                 "then raise Empty. After shutdown(), values still queued are handed out and\n"
                 "then ShutDown is raised (at once after shutdown(immediate=True)).\n"
                 "RuntimeError if an earlier push failed. Waiting releases the GIL and is\n"
                 "interruptible.">(),
    ilpy::method<&cq_pop_local, "pop_local($self, /, timeout=None)",
                 "pop(timeout), the value wrapped in a LocalWrapper.">(),
    ilpy::method<&q_shutdown<PyConcurrentQueue>, "shutdown($self, /, immediate=False)",
                 "Shut the queue down: push() raises ShutDown from now on, pop() once the\n"
                 "queue is empty; waiting pops wake up. immediate=True also discards the\n"
                 "queued values, so pop() raises ShutDown at once.">(),
    ilpy::method<&cq_size, "size($self, /)", "Return the number of queued values (a snapshot).">(),
    ilpy::method<&cq_empty, "empty($self, /)", "Return True if the queue is empty (a snapshot).">(),
    ilpy::methods_end,
};

PyType_Slot cq_slots[] = {
    {Py_tp_methods, cq_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<PyConcurrentQueue>)},
    {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<PyConcurrentQueue>)},
    {0, nullptr},
};

// ============================================================ StdConcurrentQueue

using SM = StdQueueMethods<PyStdConcurrentQueue>;
PyMethodDef scq_methods[] = {
    SM::put(), SM::get(), SM::put_nowait(), SM::get_nowait(), SM::qsize(), SM::full(), SM::task_done(), SM::join(),
    ilpy::methods_end,
};

PyType_Slot scq_slots[] = {
    {Py_tp_methods, scq_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<PyStdConcurrentQueue>)},
    {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<PyStdConcurrentQueue>)},
    {0, nullptr},
};

// ============================================================ ConcurrentGatheringIterator

struct PyGathering {
  interlock::GatheringMap<PyObject*> map;
  ~PyGathering() { map.drain(decref); }
  int traverse(visitproc visit, void* arg) noexcept {
    return map.for_each_locked([&](PyObject* o) -> int {
      Py_VISIT(o);
      return 0;
    });
  }
  void clear() noexcept { map.drain(decref); }
};

// insert(key, value): key an int (via __index__) in the int64 range. Any
// failure marks the gatherer failed (its iterators then raise RuntimeError
// when they have to wait), and the exception propagates, as in ft_utils.
PyObject* gi_insert(PyGathering& g, PyObject* key, PyObject* value) noexcept {
  long long k = 0;
  {
    PyObject* idx = PyNumber_Index(key);
    if (idx) {
      k = PyLong_AsLongLong(idx);
      Py_DECREF(idx);
    }
    if (!idx || (k == -1 && PyErr_Occurred())) {
      g.map.fail();
      return nullptr;
    }
  }
  Py_INCREF(value);
  PyObject* old = nullptr;
  bool had_old = false;
  if (g.map.insert(k, value, &old, &had_old) != GatherStatus::ok) {
    Py_DECREF(value);
    return PyErr_NoMemory();
  }
  if (had_old) Py_DECREF(old);
  Py_RETURN_NONE;
}

/// The iterator that iterator()/iterator_local() return: yields the values of
/// keys 0..max_key in order, waiting for each.
struct PyGatherIter {
  nb::object owner;  // the ConcurrentGatheringIterator (kept until the iterator dies)
  std::atomic<bool> running{false};  // a __next__ is in progress (like a generator's)
  std::int64_t next = 0;             // read and written only by the running __next__
  std::int64_t max_key = -1;
  bool clear = true;
  bool local = false;
  int traverse(visitproc visit, void* arg) noexcept {
    Py_VISIT(owner.ptr());
    return 0;
  }
  void clear_refs() noexcept { owner.reset(); }
  PyGatherIter() = default;
  PyGatherIter(PyGatherIter&& o) noexcept
      : owner(std::move(o.owner)), next(o.next), max_key(o.max_key), clear(o.clear),
        local(o.local) {}
};

PyObject* git_next(PyObject* self) noexcept {
  if (!nb::inst_ready(self)) {
    PyErr_SetString(PyExc_TypeError, "the iterator is not initialized");
    return nullptr;
  }
  PyGatherIter& it = *nb::inst_ptr<PyGatherIter>(self);
  if (it.running.exchange(true, std::memory_order_acquire)) {
    PyErr_SetString(PyExc_ValueError, "iterator already executing");
    return nullptr;
  }
  struct Done {
    PyGatherIter& it;
    ~Done() { it.running.store(false, std::memory_order_release); }
  } done{it};
  if (it.next > it.max_key || !it.owner.is_valid()) return nullptr;  // StopIteration
  PyGathering& g = *nb::inst_ptr<PyGathering>(it.owner);
  PyObject* v = nullptr;
  const bool erase = it.clear;
  auto on_found = [erase](PyObject* o) {
    if (!erase) Py_INCREF(o);  // the entry keeps its own reference
  };
  GatherStatus st = g.map.wait_for(it.next, erase, &v, Deadline::immediate(), on_found);
  if (st == GatherStatus::timed_out)
    st = ilpy::blocking([&] { return g.map.wait_for(it.next, erase, &v, Deadline::never(), on_found); });
  switch (st) {
    case GatherStatus::ok: break;
    case GatherStatus::failed:
      PyErr_SetString(PyExc_RuntimeError, "Iterator insertion failed");
      return nullptr;
    case GatherStatus::interrupted: return ilpy::raise_interrupted();
    default: return PyErr_NoMemory();
  }
  ++it.next;
  if (!it.local) return v;
  PyObject* w = ilpy::local_wrap(v);
  Py_DECREF(v);
  return w;
}

PyObject* git_iter(PyObject* self) noexcept { return Py_NewRef(self); }

int git_traverse(PyObject* self, visitproc visit, void* arg) noexcept {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  return nb::inst_ptr<PyGatherIter>(self)->traverse(visit, arg);
}
int git_clear(PyObject* self) noexcept {
  if (nb::inst_ready(self)) nb::inst_ptr<PyGatherIter>(self)->clear_refs();
  return 0;
}

PyType_Slot git_slots[] = {
    {Py_tp_iter, reinterpret_cast<void*>(&git_iter)},
    {Py_tp_iternext, reinterpret_cast<void*>(&git_next)},
    {Py_tp_traverse, reinterpret_cast<void*>(&git_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(&git_clear)},
    {0, nullptr},
};

nb::object make_gather_iter(nb::handle self, nb::handle max_key, bool clear, bool local) {
  PyObject* idx = PyNumber_Index(max_key.ptr());
  if (!idx) throw nb::python_error();
  const long long mk = PyLong_AsLongLong(idx);
  Py_DECREF(idx);
  if (mk == -1 && PyErr_Occurred()) throw nb::python_error();
  PyGatherIter it;
  it.owner = nb::borrow(self);
  it.max_key = mk;
  it.clear = clear;
  it.local = local;
  return nb::cast(std::move(it));
}

PyMethodDef gi_methods[] = {
    ilpy::method<&gi_insert, "insert($self, key, value, /)",
                 "Insert value under the integer key (from any thread). A failure (a key that\n"
                 "is not an int in the 64-bit range) raises, and makes the iterators raise\n"
                 "RuntimeError once they have to wait.">(),
    ilpy::methods_end,
};

PyType_Slot gi_slots[] = {
    {Py_tp_methods, gi_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<PyGathering>)},
    {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<PyGathering>)},
    {0, nullptr},
};

Py_ssize_t read_maxsize(nb::handle maxsize) {
  PyObject* idx = PyNumber_Index(maxsize.ptr());
  if (!idx) throw nb::python_error();
  const Py_ssize_t v = PyLong_AsSsize_t(idx);
  Py_DECREF(idx);
  if (v == -1 && PyErr_Occurred()) throw nb::python_error();
  return v;
}

void check_scaling(nb::handle scaling) {
  if (scaling.is_none()) return;
  PyObject* idx = PyNumber_Index(scaling.ptr());
  if (!idx) throw nb::python_error();
  const long long v = PyLong_AsLongLong(idx);
  Py_DECREF(idx);
  if (v == -1 && PyErr_Occurred()) throw nb::python_error();
  if (v < 1) throw nb::value_error("scaling must be a positive integer");
}

}  // namespace

namespace interlock::py {

PyObject* queue_empty_type() noexcept { return g_empty; }
PyObject* queue_full_type() noexcept { return g_full; }
PyObject* queue_shutdown_type() noexcept { return g_shutdown; }

void init_queues(nb::module_& m) {
  nb::module_ queue = nb::module_::import_("queue");
  g_empty = Py_NewRef(queue.attr("Empty").ptr());
  g_full = Py_NewRef(queue.attr("Full").ptr());
  if (PyObject_HasAttrString(queue.ptr(), "ShutDown")) {
    g_shutdown = Py_NewRef(queue.attr("ShutDown").ptr());
  } else {
    g_shutdown = PyErr_NewExceptionWithDoc(
        "interlock.collections.ShutDown",
        "Raised by put()/get() (push()/pop()) on a queue that was shut down\n"
        "(queue.ShutDown of Python 3.13+; this class on older versions).",
        PyExc_Exception, nullptr);
    if (!g_shutdown) throw nb::python_error();
  }
  m.attr("Empty") = nb::borrow(g_empty);
  m.attr("Full") = nb::borrow(g_full);
  m.attr("ShutDown") = nb::borrow(g_shutdown);

  auto queue_cls = nb::class_<PyQueue>(m, "Queue", nb::type_slots(queue_slots), nb::is_weak_referenceable(),
                      "Queue(maxsize=0)\n\n"
                      "A FIFO queue with queue.Queue's contract (maxsize <= 0: unbounded),\n"
                      "raising queue.Empty, queue.Full and queue.ShutDown. Any number of\n"
                      "threads may put and get at once; blocked calls release the GIL.")
      .def("__init__",
           [](PyQueue* self, nb::handle maxsize) { new (self) PyQueue(read_maxsize(maxsize)); },
           "maxsize"_a = 0, nb::sig("def __init__(self, maxsize: int = 0) -> None"))
      .def_prop_ro("maxsize", [](const PyQueue& q) { return q.maxsize_given; },
                   "The maxsize given to the constructor (<= 0: unbounded).")
      .def_prop_ro("is_shutdown", [](const PyQueue& q) { return q.q.is_shutdown(); },
                   "Whether shutdown() was called.")
      .def_prop_ro("unfinished_tasks", [](const PyQueue& q) { return q.q.unfinished_tasks(); },
                   "Items put and not yet marked done with task_done().");
  ilpy::use_trashcan(queue_cls);

  auto cq = nb::class_<PyConcurrentQueue>(
      m, "ConcurrentQueue", nb::type_slots(cq_slots), nb::is_weak_referenceable(),
      "ConcurrentQueue(scaling=None, lock_free=False)\n\n"
      "ft_utils' unbounded FIFO queue: push / pop(timeout) / pop_local / shutdown /\n"
      "size / empty. lock_free=True keeps the semantics and changes how a pop waits\n"
      "for a value: it re-checks between sched_yield()s before parking (lower\n"
      "latency, more CPU); scaling is accepted for compatibility.");
  ilpy::use_trashcan(cq);
  cq.def(
      "__init__",
      [](PyConcurrentQueue* self, nb::handle scaling, bool lock_free) {
        check_scaling(scaling);
        new (self) PyConcurrentQueue(0, lock_free ? PyQueueCore::Wait::spin_then_park
                                                  : PyQueueCore::Wait::park);
      },
      "scaling"_a = nb::none(), "lock_free"_a = false,
      nb::sig("def __init__(self, scaling: int | None = None, lock_free: bool = False) -> None"));

  auto scq = nb::class_<PyStdConcurrentQueue, PyConcurrentQueue>(
      m, "StdConcurrentQueue", nb::type_slots(scq_slots),
      "StdConcurrentQueue(maxsize=0)\n\n"
      "queue.Queue's API over ConcurrentQueue (lock-free waiting), as ft_utils:\n"
      "put/get with block and timeout, *_nowait, qsize/full, task_done/join, plus\n"
      "ConcurrentQueue's push/pop/shutdown/size/empty.")
      .def("__init__",
           [](PyStdConcurrentQueue* self, nb::handle maxsize) {
             new (self) PyStdConcurrentQueue(read_maxsize(maxsize));
           },
           "maxsize"_a = 0, nb::sig("def __init__(self, maxsize: int = 0) -> None"))
      .def_prop_ro("maxsize", [](const PyStdConcurrentQueue& q) { return q.maxsize_given; },
                   "The maxsize given to the constructor (<= 0: unbounded).");
  ilpy::use_trashcan(scq);

  ilpy::use_trashcan(nb::class_<PyGatherIter>(m, "_GatheringIterator", nb::type_slots(git_slots),
                           "The iterator of ConcurrentGatheringIterator.iterator()."));

  auto gi = nb::class_<PyGathering>(
      m, "ConcurrentGatheringIterator", nb::type_slots(gi_slots), nb::is_weak_referenceable(),
      "ConcurrentGatheringIterator(scaling=None)\n\n"
      "Gathers values inserted under integer keys by any number of threads;\n"
      "iterator(max_key) yields the values of keys 0..max_key in key order,\n"
      "waiting for each key to arrive.")
      .def(
          "__init__",
          [](PyGathering* self, nb::handle scaling) {
            check_scaling(scaling);
            new (self) PyGathering();
          },
          "scaling"_a = nb::none(), nb::sig("def __init__(self, scaling: int | None = None) -> None"))
      .def(
          "iterator",
          [](nb::pointer_and_handle<PyGathering> self, nb::handle max_key, bool clear) {
            return make_gather_iter(self.h, max_key, clear, false);
          },
          "max_key"_a, "clear"_a = true,
          "Return an iterator over the values of keys 0..max_key, in order, waiting\n"
          "for each key (the wait releases the GIL and is interruptible). clear=True\n"
          "removes each entry as it is read. RuntimeError if an insertion failed and\n"
          "the next key is missing.")
      .def(
          "iterator_local",
          [](nb::pointer_and_handle<PyGathering> self, nb::handle max_key, bool clear) {
            return make_gather_iter(self.h, max_key, clear, true);
          },
          "max_key"_a, "clear"_a = true,
          "iterator(max_key, clear), each value wrapped in a LocalWrapper.");
  ilpy::use_trashcan(gi);

  for (const char* name : {"Queue", "ConcurrentQueue", "StdConcurrentQueue",
                           "ConcurrentGatheringIterator", "_GatheringIterator"})
    nb::setattr(m.attr(name), "__module__", nb::str("interlock.collections"));
}

}  // namespace interlock::py
