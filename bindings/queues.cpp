// bindings/queues.cpp — interlock.collections' Queue (queue.Queue's contract),
// ft_utils' ConcurrentQueue / StdConcurrentQueue / ConcurrentGatheringIterator
// and queue.Empty / Full / ShutDown (a fallback ShutDown before 3.13): the
// core's BlockingQueue / GatheringMap over PyObject* (a queued object holds one
// strong reference). Waits, conventions and "no decref under a core lock":
// docs/design.md, "Queues".
#include <nanobind/nanobind.h>

#include <atomic>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>

#include "aio.hpp"
#include "fast_methods.hpp"
#include "method_table.hpp"
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

/// A core container of owned PyObject* (BlockingQueue, GatheringMap) with the
/// GC's traverse / clear (ilpy::traverse_slot / clear_slot) and release at death.
template <class Core>
struct Owning {
  Core core;
  template <class... A>
  explicit Owning(A... a) noexcept : core(a...) {}
  ~Owning() { core.drain(decref); }
  int traverse(visitproc visit, void* arg) noexcept {
    return core.for_each_locked([&](PyObject* o) -> int {
      Py_VISIT(o);
      return 0;
    });
  }
  void clear() noexcept { core.drain(decref); }
};

/// What every queue type holds.
struct QueueBase : Owning<PyQueueCore> {
  std::atomic<bool> failed{false};  // ft_utils: a push failed; pops raise RuntimeError
  QueueBase(std::size_t maxsize, PyQueueCore::Wait wait) noexcept : Owning(maxsize, wait) {}
};

struct PyConcurrentQueue : QueueBase {
  using QueueBase::QueueBase;
};

/// queue.Queue's constructor over a base, by policy: Queue parks at once,
/// StdConcurrentQueue (a ConcurrentQueue, as in ft_utils) spins first.
template <class Base, PyQueueCore::Wait W>
struct StdQueue : Base {
  Py_ssize_t maxsize_given;
  explicit StdQueue(Py_ssize_t maxsize) noexcept
      : Base(maxsize > 0 ? static_cast<std::size_t>(maxsize) : 0, W), maxsize_given(maxsize) {}
};
using PyQueue = StdQueue<QueueBase, PyQueueCore::Wait::park>;
using PyStdConcurrentQueue = StdQueue<PyConcurrentQueue, PyQueueCore::Wait::spin_then_park>;

// ============================================================ shared pieces

/// The exception of a failed push or pop (timed_out: `timed_out`, queue.Full
/// or Empty); only a push can run out of memory, which marks the queue failed.
PyObject* queue_error(QueueBase& b, QueueStatus st, PyObject* timed_out) noexcept {
  switch (st) {
    case QueueStatus::timed_out: PyErr_SetNone(timed_out); return nullptr;
    case QueueStatus::shut_down: PyErr_SetNone(g_shutdown); return nullptr;
    case QueueStatus::interrupted: return ilpy::raise_interrupted();
    default: b.failed.store(true, std::memory_order_release); return PyErr_NoMemory();
  }
}

/// A failed push's exception (item: the reference to give back).
PyObject* push_failed(QueueBase& b, QueueStatus st, PyObject* item) noexcept {
  Py_DECREF(item);
  return queue_error(b, st, g_full);
}

/// Pushes `item` (a new reference is taken) waiting until `d`.
inline PyObject* push_until(QueueBase& b, PyObject* item, Deadline d) noexcept {
  Py_INCREF(item);
  QueueStatus st = b.core.push(item, Deadline::immediate());
  if (INTERLOCK_LIKELY(st == QueueStatus::ok)) Py_RETURN_NONE;
  if (st == QueueStatus::timed_out && !d.is_immediate())
    st = ilpy::blocking([&] { return b.core.push(item, d); });
  if (st == QueueStatus::ok) Py_RETURN_NONE;
  return push_failed(b, st, item);
}

/// Pops (waiting until `d`): the value, or null with queue.Empty (or ShutDown) raised.
inline PyObject* pop_until(QueueBase& b, Deadline d) noexcept {
  PyObject* out = nullptr;
  QueueStatus st = b.core.pop(&out, Deadline::immediate());
  if (INTERLOCK_LIKELY(st == QueueStatus::ok)) return out;
  if (st == QueueStatus::timed_out && !d.is_immediate())
    st = ilpy::blocking([&] { return b.core.pop(&out, d); });
  return st == QueueStatus::ok ? out : queue_error(b, st, g_empty);
}

// ============================================================ queue.Queue API

std::size_t q_qsize(const QueueBase& c) noexcept { return c.core.size(); }
bool q_empty(const QueueBase& c) noexcept { return c.core.empty(); }
bool q_full(const QueueBase& c) noexcept { return c.core.full(); }

PyObject* q_task_done(QueueBase& c) noexcept {
  if (!c.core.task_done()) {
    PyErr_SetString(PyExc_ValueError, "task_done() called too many times");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* q_join(QueueBase& c) noexcept {
  if (c.core.unfinished_tasks() == 0) Py_RETURN_NONE;
  const WaitStatus st = ilpy::blocking([&] { return c.core.join(Deadline::never()); });
  if (st == WaitStatus::interrupted) return ilpy::raise_interrupted();
  Py_RETURN_NONE;
}

// shutdown(immediate=False)
PyObject* q_shutdown(QueueBase& c, ilpy::passed immediate) noexcept {
  int imm = 0;
  if (immediate.given() && (imm = PyObject_IsTrue(immediate.obj)) < 0) return nullptr;
  c.core.shutdown(imm != 0, decref);
  Py_RETURN_NONE;
}

// ============================================================ asyncio (bindings/aio.hpp)
// _aio_get / _aio_put / _aio_join: aio.hpp's protocol; the fast path first
// (no waiter object at all), then aio::custom over BlockingQueue's *_async.

using interlock::parking_lot::AsyncNode;

template <PyQueueCore::AsyncSide Side, class Step>
PyObject* queue_async(PyObject* self, QueueBase& b, PyObject* loop, PyObject* future,
                      PyObject* prev, Step&& step) noexcept {
  static constexpr interlock::py::aio::CustomOps ops{
      [](void* q, AsyncNode& n) noexcept { return static_cast<PyQueueCore*>(q)->cancel_async(n, Side); },
      [](void* q) noexcept { static_cast<PyQueueCore*>(q)->abandon_async(Side); }};
  return interlock::py::aio::custom(self, &b.core, ops, loop, future, prev, step);
}

PyObject* q_aio_get(PyObject* self, QueueBase& c, PyObject* loop, PyObject* future,
                    PyObject* prev) noexcept {
  PyObject* out = nullptr;
  if (prev == Py_None && c.core.pop(&out, Deadline::immediate()) == QueueStatus::ok) return out;
  return queue_async<PyQueueCore::AsyncSide::getter>(
      self, c, loop, future, prev, [&](AsyncNode& n, bool reg, bool* queued) noexcept {
        const QueueStatus st = c.core.pop_async(&out, n, reg, queued);
        if (st == QueueStatus::shut_down) PyErr_SetNone(g_shutdown);
        return st == QueueStatus::ok ? out : nullptr;  // else queued, or ShutDown
      });
}

PyObject* q_aio_put(PyObject* self, QueueBase& c, PyObject* item, PyObject* loop, PyObject* future,
                    PyObject* prev) noexcept {
  Py_INCREF(item);  // the queue's reference, if it takes it
  if (prev == Py_None && c.core.push(item, Deadline::immediate()) == QueueStatus::ok) Py_RETURN_NONE;
  Py_DECREF(item);  // (the caller holds another)
  return queue_async<PyQueueCore::AsyncSide::putter>(
      self, c, loop, future, prev, [&](AsyncNode& n, bool reg, bool* queued) noexcept {
        const QueueStatus st = c.core.push_async(Py_NewRef(item), n, reg, queued);
        if (st == QueueStatus::ok) Py_RETURN_NONE;
        if (!*queued) return push_failed(c, st, item);
        Py_DECREF(item);
        return static_cast<PyObject*>(nullptr);
      });
}

PyObject* q_aio_join(PyObject* self, QueueBase& c, PyObject* loop, PyObject* future,
                     PyObject* prev) noexcept {
  if (prev == Py_None && c.core.unfinished_tasks() == 0) Py_RETURN_NONE;
  return queue_async<PyQueueCore::AsyncSide::joiner>(
      self, c, loop, future, prev, [&](AsyncNode& n, bool reg, bool* queued) noexcept {
        *queued = !c.core.join_async(n, reg);
        return *queued ? nullptr : Py_NewRef(Py_None);
      });
}

/// queue.Queue's methods, of Queue and StdConcurrentQueue (Queue also has
/// empty / shutdown here, StdConcurrentQueue ConcurrentQueue's; asyncio: Queue).
template <class C>
PyMethodDef* std_queue_methods() {
  constexpr bool q = std::is_same_v<C, PyQueue>;
  using qapi = ilpy::queue_api<C, &push_until, &pop_until>;  // (C: else GCC 12 never defines it)
  return ilpy::table<C>({
      ilpy::method<&qapi::put, "put($self, /, item: T, block=True, timeout=None)",
                   "Put item into the queue. If block is true and timeout is None (the default),\n"
                   "wait until a free slot is available; with a non-negative timeout wait at most\n"
                   "that many seconds and raise queue.Full if no slot became free. Otherwise\n"
                   "(block false) put the item if a slot is free at once, else raise queue.Full\n"
                   "(timeout is then ignored). Raises ShutDown once shutdown() was called.\n"
                   "Waiting releases the GIL and is interruptible (an interrupted put puts "
                   "nothing).">(),
      ilpy::method<&qapi::get, "get($self, /, block=True, timeout=None) -> T",
                   "Remove and return the oldest item. If block is true and timeout is None (the\n"
                   "default), wait until an item is available; with a non-negative timeout wait at\n"
                   "most that many seconds and raise queue.Empty if none arrived. Otherwise (block\n"
                   "false) return an item if one is available at once, else raise queue.Empty.\n"
                   "After shutdown(), raises ShutDown once the queue is empty (at once after\n"
                   "shutdown(immediate=True)). Waiting releases the GIL and is interruptible.">(),
      ilpy::method<&qapi::put_nowait, "put_nowait($self, item: T, /)",
                   "Put item without waiting: put(item, block=False).">(),
      ilpy::method<&qapi::get_nowait, "get_nowait($self, /) -> T",
                   "Remove and return an item without waiting: get(block=False).">(),
      ilpy::method<&q_qsize, "qsize($self, /)",
                   "Return the number of items in the queue (a snapshot).">(),
      ilpy::method<&q_full, "full($self, /)",
                   "Return True if the queue holds maxsize items (never for an unbounded queue).">(),
      ilpy::method<&q_task_done, "task_done($self, /)",
                   "Tell the queue that a task taken from it is complete: each get() used to\n"
                   "fetch a task is followed by one task_done(). When every put item was marked\n"
                   "done, join() returns. ValueError if called more times than items were put.">(),
      ilpy::method<&q_join, "join($self, /)",
                   "Block until every item put into the queue was taken and marked done with\n"
                   "task_done(). Waiting releases the GIL and is interruptible.">(),
      ilpy::only<q>(ilpy::method<&q_empty, "empty($self, /)",
                                 "Return True if the queue is empty (a snapshot).">()),
      ilpy::only<q>(ilpy::method<
                    &q_shutdown, "shutdown($self, /, immediate=False)",
                    "Shut the queue down (Python 3.13's queue.Queue.shutdown): put() raises\n"
                    "ShutDown from now on, get() once the queue is empty; blocked callers wake\n"
                    "up and raise ShutDown. With immediate=True the queued items are removed\n"
                    "(each counting as done for join()) and get() raises ShutDown at once.">()),
      ilpy::only<q>(ilpy::method<&q_aio_get, "_aio_get($self, loop, future, prev, /)",
                                 "For interlock's asyncio support: an item, or a queued AsyncWait.">()),
      ilpy::only<q>(ilpy::method<&q_aio_put, "_aio_put($self, item, loop, future, prev, /)",
                                 "For interlock's asyncio support: None once put, or a queued "
                                 "AsyncWait.">()),
      ilpy::only<q>(ilpy::method<&q_aio_join, "_aio_join($self, loop, future, prev, /)",
                                 "For interlock's asyncio support: None if no task is unfinished, or a\n"
                                 "queued AsyncWait.">()),
  });
}

// ============================================================ ConcurrentQueue

PyObject* cq_push(PyConcurrentQueue& c, PyObject* value) noexcept {
  return push_until(c, value, Deadline::never());
}

/// pop(timeout) (pop_local: python/interlock/collections.py).
PyObject* cq_pop(PyConcurrentQueue& c, std::optional<PyObject*> timeout) noexcept {
  if (IL_PY_UNLIKELY(c.failed.load(std::memory_order_acquire))) {
    PyErr_SetString(PyExc_RuntimeError, "Queue failed");
    return nullptr;
  }
  Deadline d;
  return ilpy::ft_pop_deadline(timeout ? *timeout : nullptr, &d) ? pop_until(c, d) : nullptr;
}

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
    ilpy::method<&q_shutdown, "shutdown($self, /, immediate=False)",
                 "Shut the queue down: push() raises ShutDown from now on, pop() once the\n"
                 "queue is empty; waiting pops wake up. immediate=True also discards the\n"
                 "queued values, so pop() raises ShutDown at once.">(),
    ilpy::method<&q_qsize, "size($self, /)", "Return the number of queued values (a snapshot).">(),
    ilpy::method<&q_empty, "empty($self, /)", "Return True if the queue is empty (a snapshot).">(),
    ilpy::methods_end,
};

// ============================================================ ConcurrentGatheringIterator

struct PyGathering : Owning<interlock::GatheringMap<PyObject*>> {};

// insert(key, value): key an int (via __index__) in the int64 range. Any
// failure marks the gatherer failed (its iterators then raise RuntimeError
// when they have to wait), and the exception propagates, as in ft_utils.
PyObject* gi_insert(PyGathering& g, PyObject* key, PyObject* value) noexcept {
  const long long k = PyLong_AsLongLong(key);  // via __index__
  if (k == -1 && PyErr_Occurred()) {
    g.core.fail();
    return nullptr;
  }
  Py_INCREF(value);
  PyObject* old = nullptr;
  bool had_old = false;
  if (g.core.insert(k, value, &old, &had_old) != GatherStatus::ok) {
    Py_DECREF(value);
    return PyErr_NoMemory();
  }
  if (had_old) Py_DECREF(old);
  Py_RETURN_NONE;
}

/// _take(key, clear): the value under key, waiting for it (the GIL released);
/// removed if clear, else a new reference.
PyObject* gi_take(PyGathering& g, std::int64_t key, bool clear) noexcept {
  PyObject* v = nullptr;
  auto incref = [clear](PyObject* o) {
    if (!clear) Py_INCREF(o);  // the entry keeps its own; under the map's lock: no code runs
  };
  GatherStatus st = g.core.wait_for(key, clear, &v, Deadline::immediate(), incref);
  if (st == GatherStatus::timed_out)
    st = ilpy::blocking([&] { return g.core.wait_for(key, clear, &v, Deadline::never(), incref); });
  switch (st) {
    case GatherStatus::ok: return v;
    case GatherStatus::failed:
      PyErr_SetString(PyExc_RuntimeError, "Iterator insertion failed");
      return nullptr;
    case GatherStatus::interrupted: return ilpy::raise_interrupted();
    default: return PyErr_NoMemory();
  }
}

PyMethodDef gi_methods[] = {
    ilpy::method<&gi_insert, "insert($self, key, value, /)",
                 "Insert value under the integer key (from any thread). A failure (a key that\n"
                 "is not an int in the 64-bit range) raises, and makes the iterators raise\n"
                 "RuntimeError once they have to wait.">(),
    ilpy::method<&gi_take, "_take($self, key, clear, /)",
                 "For iterator(): the value of key, waiting for it; removed if clear.">(),
    ilpy::methods_end,
};

/// StdQueue's __init__(maxsize=0) and maxsize property.
template <class C, class Cls>
Cls& def_std_queue(Cls&& cls) {
  cls.def("__init__", [](C* self, nb::handle maxsize) {
        const Py_ssize_t v = PyNumber_AsSsize_t(maxsize.ptr(), PyExc_OverflowError);  // __index__
        if (v == -1 && PyErr_Occurred()) throw nb::python_error();
        new (self) C(v);
      }, "maxsize"_a = 0, nb::sig("def __init__(self, maxsize: int = 0) -> None"))
      .def_prop_ro("maxsize", [](const C& q) { return q.maxsize_given; },
                   "The maxsize given to the constructor (<= 0: unbounded).");
  ilpy::use_trashcan(cls);
  return cls;
}

/// ft_utils accepts `scaling` and ignores it here (one queue, one lock).
void check_scaling(nb::handle scaling) {
  if (!ilpy::parse_scaling(scaling.ptr())) throw nb::python_error();
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

  def_std_queue<PyQueue>(nb::class_<PyQueue>(
      m, "Queue", ilpy::gc_slots<PyQueue>(std_queue_methods<PyQueue>()), nb::is_weak_referenceable(),
      "A FIFO queue with queue.Queue's contract (maxsize <= 0: unbounded),\n"
      "raising queue.Empty, queue.Full and queue.ShutDown. Any number of\n"
      "threads may put and get at once; blocked calls release the GIL."))
      .def_prop_ro("is_shutdown", [](const PyQueue& q) { return q.core.is_shutdown(); },
                   "Whether shutdown() was called.")
      .def_prop_ro("unfinished_tasks", [](const PyQueue& q) { return q.core.unfinished_tasks(); },
                   "Items put and not yet marked done with task_done().");

  auto cq = nb::class_<PyConcurrentQueue>(
      m, "ConcurrentQueue", ilpy::gc_slots<PyConcurrentQueue>(cq_methods), nb::is_weak_referenceable(),
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

  def_std_queue<PyStdConcurrentQueue>(nb::class_<PyStdConcurrentQueue, PyConcurrentQueue>(
      m, "StdConcurrentQueue", ilpy::gc_slots<PyStdConcurrentQueue>(std_queue_methods<PyStdConcurrentQueue>()),
      "queue.Queue's API over ConcurrentQueue (lock-free waiting), as ft_utils:\n"
      "put/get with block and timeout, *_nowait, qsize/full, task_done/join, plus\n"
      "ConcurrentQueue's push/pop/shutdown/size/empty."));

  auto gi = nb::class_<PyGathering>(
      m, "ConcurrentGatheringIterator", ilpy::gc_slots<PyGathering>(gi_methods), nb::is_weak_referenceable(),
      "Gathers values inserted under integer keys by any number of threads;\n"
      "iterator(max_key) yields the values of keys 0..max_key in key order,\n"
      "waiting for each key to arrive.")
      .def(
          "__init__",
          [](PyGathering* self, nb::handle scaling) {
            check_scaling(scaling);
            new (self) PyGathering();
          },
          "scaling"_a = nb::none(), nb::sig("def __init__(self, scaling: int | None = None) -> None"));
  ilpy::use_trashcan(gi);

  for (const char* name : {"Queue", "ConcurrentQueue", "StdConcurrentQueue",
                           "ConcurrentGatheringIterator"})
    nb::setattr(m.attr(name), "__module__", nb::str("interlock.collections"));
}

}  // namespace interlock::py
