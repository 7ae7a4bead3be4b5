// bindings/ipc_queue.cpp — the native base of interlock.ipc.ShmQueue
// (interlock/shm_queue.hpp's ring of byte messages) on a buffer or a named
// region: docs/design.md "The Python API: ShmQueue and ObjectQueue". Waits run
// through interlock::py::blocking() (an interrupted call has claimed nothing).
#include <nanobind/nanobind.h>

#include <chrono>
#include <cstdint>

#include "fast_methods.hpp"
#include "interlock/deadline.hpp"
#include "interlock/named_region.hpp"
#include "interlock/shm_queue.hpp"
#include "ipc_memory.hpp"
#include "module.hpp"
#include "py_wait.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using namespace nb::literals;
using interlock::Deadline;
using interlock::ShmQueue;
using interlock::ShmQueueError;
using interlock::ShmQueueStatus;

namespace {

using namespace interlock::py::ipcmem;

constexpr std::size_t kDefaultCapacity = 1024;
constexpr std::size_t kDefaultMaxMessage = 8192;
// How long an attach waits for another process to finish initialising.
constexpr auto kInitWait = std::chrono::seconds(2);

struct IpcShmQueue : ShmBase {
  ShmQueue q;
  bool created = false;  // this object initialised the queue
};

// ------------------------------------------------------------ construction

/// The native __init__, given ShmQueue.__init__'s checked arguments
/// (ipc/_queue.py): the queue in buffer (a named one: a _NamedRegion) at
/// offset, initialised if `init` and fresh, else attached (waiting for an
/// initialiser if `wait`); cap / msg 0: as found or the default.
void queue_init(IpcShmQueue* self, nb::handle buffer, std::size_t offset, std::size_t cap,
                std::size_t msg, bool init, bool wait) {
  construct(self, [&](IpcShmQueue& q) {
    export_buffer(q, buffer, offset, ShmQueue::kHeaderSize, ShmQueue::kAlign, "ShmQueue");
    const auto size = static_cast<std::size_t>(q.view.len) - offset;
    const Deadline d = wait ? Deadline::after(kInitWait) : Deadline::immediate();
    nb::gil_scoped_release nogil;  // ShmQueueError -> ValueError (init_ipc_queue's translator)
    q.q = ShmQueue::open(q.mem, size, init ? (cap ? cap : kDefaultCapacity) : 0,
                         msg ? msg : kDefaultMaxMessage, d, &q.created);
    if (!q.created) q.q.check_matches(cap, msg);  // ShmQueueError -> ValueError
  });
}

// ------------------------------------------------------------ hot methods

/// The error of a put (timed_out: queue.Full) or get (queue.Empty) ending in st.
IL_PY_COLD PyObject* failed(const IpcShmQueue& s, ShmQueueStatus st, PyObject* timed_out,
                            std::size_t len = 0) noexcept {
  switch (st) {
    case ShmQueueStatus::timed_out: PyErr_SetNone(timed_out); return nullptr;
    case ShmQueueStatus::shut_down: PyErr_SetNone(ilpy::queue_shutdown_type()); return nullptr;
    case ShmQueueStatus::too_large:
      PyErr_Format(PyExc_ValueError, "message of %zu bytes is longer than max_message (%u)", len,
                   s.q.max_message());
      return nullptr;
    case ShmQueueStatus::interrupted:
    case ShmQueueStatus::ok: break;
  }
  return ilpy::raise_interrupted();
}

inline PyObject* put_until(IpcShmQueue& s, PyObject* data, Deadline d) noexcept {
  IL_CHECK_OPEN(s);
  const char* p;
  Py_ssize_t n;
  Py_buffer view;
  bool has_view = false;
  if (PyBytes_CheckExact(data)) {
    p = PyBytes_AS_STRING(data);
    n = PyBytes_GET_SIZE(data);
  } else {
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0) {
      if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "ShmQueue messages are bytes-like objects, not %.200s",
                     IL_TP_NAME(data));
      }
      return nullptr;
    }
    has_view = true;
    p = static_cast<const char*>(view.buf);
    n = view.len;
  }
  const auto len = static_cast<std::size_t>(n);
  ShmQueueStatus st = s.q.try_put(p, len);
  if (st == ShmQueueStatus::timed_out && !d.is_immediate())
    st = ilpy::blocking([&] { return s.q.put(p, len, d); });
  if (has_view) PyBuffer_Release(&view);
  if (INTERLOCK_LIKELY(st == ShmQueueStatus::ok)) Py_RETURN_NONE;
  return failed(s, st, ilpy::queue_full_type(), len);
}

inline PyObject* get_until(IpcShmQueue& s, Deadline d) noexcept {
  IL_CHECK_OPEN(s);
  PyObject* out = nullptr;
  auto sink = [&out](const char* p, std::size_t n) noexcept {
    out = PyBytes_FromStringAndSize(p, static_cast<Py_ssize_t>(n));
  };
  ShmQueueStatus st = s.q.try_get(sink);
  if (st == ShmQueueStatus::timed_out && !d.is_immediate())
    st = ilpy::blocking([&] { return s.q.get(sink, d); });
  if (INTERLOCK_LIKELY(st == ShmQueueStatus::ok)) return out;  // null: MemoryError (the copy)
  return failed(s, st, ilpy::queue_empty_type());
}

using qapi = ilpy::queue_api<IpcShmQueue, &put_until, &get_until>;

std::size_t sq_qsize(const IpcShmQueue& s) noexcept { return s.q.size(); }
bool sq_empty(const IpcShmQueue& s) noexcept { return s.q.size() == 0; }
bool sq_full(const IpcShmQueue& s) noexcept { return s.q.size() >= s.q.capacity(); }

PyObject* sq_shutdown(IpcShmQueue& s, ilpy::passed immediate) noexcept {
  IL_CHECK_OPEN(s);
  int imm = 0;
  if (immediate.given() && (imm = PyObject_IsTrue(immediate.obj)) < 0) return nullptr;
  Py_BEGIN_ALLOW_THREADS  // wakes are system calls
  s.q.shutdown(imm != 0);
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

// ---- the event-loop bridge's primitives (python/interlock/ipc/_queue.py)

bool sq_aio_ready(const IpcShmQueue& s, bool space) noexcept {
  return space ? s.q.writable() : s.q.readable();
}
std::uint32_t sq_aio_epoch(const IpcShmQueue& s, bool space) noexcept { return s.q.epoch(space); }
PyObject* sq_aio_sleep(IpcShmQueue& s, bool space, std::uint32_t epoch) noexcept {
  const auto st =
      ilpy::blocking([&] { return s.q.sleep_until_changed(space, epoch, Deadline::never()); });
  if (st == interlock::WaitStatus::interrupted) return ilpy::raise_interrupted();
  Py_RETURN_NONE;
}
void sq_aio_kick(IpcShmQueue& s, bool space) noexcept {
  Py_BEGIN_ALLOW_THREADS
  s.q.kick(space);
  Py_END_ALLOW_THREADS
}

PyMethodDef queue_methods[] = {
    ilpy::method<&qapi::put, "put($self, /, data, block=True, timeout=None)",
                 "Append the message data (a bytes-like object of at most max_message\n"
                 "bytes; ValueError if longer). If block is true and timeout is None, wait\n"
                 "for a free slot; with a timeout (seconds) raise queue.Full if none became\n"
                 "free in time; with block false raise queue.Full at once. Raises ShutDown\n"
                 "after shutdown(). Releases the GIL while it waits; interruptible by\n"
                 "signals (nothing is queued then).">(),
    ilpy::method<&qapi::put_nowait, "put_nowait($self, data, /)", "put(data, block=False).">(),
    ilpy::method<&qapi::get, "get($self, /, block=True, timeout=None)",
                 "Remove and return the oldest message (bytes). If block is true and\n"
                 "timeout is None, wait for one; with a timeout (seconds) raise queue.Empty\n"
                 "if none arrived in time; with block false raise queue.Empty at once. After\n"
                 "shutdown() the queued messages are still handed out, then ShutDown is\n"
                 "raised. Releases the GIL while it waits; interruptible by signals\n"
                 "(nothing is taken then).">(),
    ilpy::method<&qapi::get_nowait, "get_nowait($self, /)", "get(block=False).">(),
    ilpy::method<&sq_qsize, "qsize($self, /)",
                 "Approximate number of messages (exact when nobody is mid-operation).">(),
    ilpy::method<&sq_empty, "empty($self, /)", "qsize() == 0 (a snapshot).">(),
    ilpy::method<&sq_full, "full($self, /)", "qsize() >= capacity (a snapshot).">(),
    ilpy::method<&sq_shutdown, "shutdown($self, /, immediate=False)",
                 "Shut the queue down for every process using it: put() raises ShutDown\n"
                 "from now on, get() once the queue is empty; blocked callers wake up.\n"
                 "immediate=True also discards the queued messages (a get racing with it\n"
                 "may still receive some).">(),
    ilpy::method<&sq_aio_ready, "_aio_ready($self, space, /)",
                 "space false: a get would find a message (or the queue is shut down);\n"
                 "true: a put would find a free slot (or shut down). Exact.">(),
    ilpy::method<&sq_aio_epoch, "_aio_epoch($self, space, /)",
                 "The items (space false) or space epoch, to read before _aio_ready().">(),
    ilpy::method<&sq_aio_sleep, "_aio_sleep($self, space, epoch, /)",
                 "Sleep (GIL released) while the epoch still reads epoch; returns when\n"
                 "woken or the epoch moved. For the event-loop bridge thread.">(),
    ilpy::method<&sq_aio_kick, "_aio_kick($self, space, /)",
                 "Bump the epoch and wake its sleepers (they re-check).">(),
    ilpy::methods_end,
};

}  // namespace

namespace interlock::py {

void init_ipc_queue(nb::module_& m) {
  // interlock.ipc's core errors (the futex primitives' too).
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const ShmQueueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const interlock::NamedRegionError& e) {
      // OSError(errno, message) makes its errno subclass; raised as that type
      // (an unnormalised OSError does not match `except FileNotFoundError` on 3.10/3.11).
      if (PyObject* exc = PyObject_CallFunction(PyExc_OSError, "is", e.error_code(), e.what())) {
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
        Py_DECREF(exc);
      }
    }
  });
  auto cls = nb::class_<IpcShmQueue>(
      m, "ShmQueue", ilpy::method_slots<queue_methods>(), nb::is_weak_referenceable(),
      "The native base of interlock.ipc.ShmQueue (ipc/_queue.py).");
  cls.def("__init__", &queue_init, "buffer"_a, "offset"_a, "capacity"_a, "max_message"_a,
          "init"_a, "wait"_a)
      .def_prop_ro("capacity", [](const IpcShmQueue& s) { return s.q.capacity(); },
                   "How many messages fit (a power of two).")
      .def_prop_ro("max_message", [](const IpcShmQueue& s) { return s.q.max_message(); },
                   "The longest message, in bytes.")
      .def_prop_ro("nbytes", [](const IpcShmQueue& s) { return s.q.total_size(); },
                   "Bytes of shared memory the queue occupies.")
      .def_prop_ro("is_shutdown", [](const IpcShmQueue& s) { return s.q.is_shut_down(); },
                   "Whether shutdown() was called (by any process).")
      .def_prop_ro("created", [](const IpcShmQueue& s) { return s.created; },
                   "Whether this object initialised the queue (rather than attached to it).")
      .def_prop_ro("_source", [](const IpcShmQueue& s) { return s.source; })
      .def_prop_ro("_offset", [](const IpcShmQueue& s) { return s.offset; });
  add_named_members(cls);
  cls.attr("alignment") = ShmQueue::kAlign;
  cls.attr("_max_capacity") = ShmQueue::kMaxCapacity;
  cls.attr("default_capacity") = kDefaultCapacity;
  cls.attr("default_max_message") = kDefaultMaxMessage;
  cls.def_static("required_size", &ShmQueue::required_size, "capacity"_a = kDefaultCapacity,
                 "max_message"_a = kDefaultMaxMessage,
                 "Bytes of buffer a queue of capacity messages of up to max_message bytes needs.");
  set_module(cls, "interlock.ipc");
}

}  // namespace interlock::py
