// bindings/ipc_memory.hpp — what backs an interlock.ipc object (a buffer
// export, of a named region for a named object), for ipc_futex.cpp and
// ipc_queue.cpp. Lifetimes: docs/design.md "Futex primitives and named objects".
#pragma once

#include <nanobind/nanobind.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fast_methods.hpp"
#include "module.hpp"
#include "interlock/named_region.hpp"

namespace interlock::py::ipcmem {

namespace nb = nanobind;
using interlock::NamedRegion;


/// A named /dev/shm region as a writable buffer (interlock.ipc's _NamedRegion;
/// ipc/_futex.py's _named_region opens it with checked arguments): an object
/// on it is the named object.
struct Region {
  std::unique_ptr<NamedRegion> r;
};

/// What backs an object: a buffer export (of a Region: a named object).
struct ShmBase {
  Py_buffer view{};
  bool has_view = false;
  NamedRegion* region = nullptr;  // the exported Region's, for a named object
  nb::object source;  // the object given as buffer (SharedMemory: for pickling)
  std::size_t offset = 0;
  void* mem = nullptr;
  bool shared = true;
  std::atomic<bool> closed{false};

  ~ShmBase() {
    if (has_view) PyBuffer_Release(&view);
  }
};

/// Exports `buffer` (or buffer.buf for a multiprocessing.shared_memory
/// SharedMemory) writable, and checks that `size` bytes at `offset` fit and
/// are `align`-aligned. Errors: TypeError (no buffer), BufferError (read-only),
/// ValueError (released, short, misaligned, not contiguous).
inline void export_buffer(ShmBase& b, nb::handle buffer, std::size_t offset, std::size_t size,
                   std::size_t align, const char* what) {
  nb::handle target = buffer;
  nb::object holder;
  if (!PyObject_CheckBuffer(buffer.ptr()) && nb::hasattr(buffer, "buf") &&
      nb::hasattr(buffer, "name")) {
    holder = buffer.attr("buf");  // SharedMemory-like
    if (holder.is_none()) {
      PyErr_Format(PyExc_ValueError, "%s: the shared memory is closed", what);
      throw nb::python_error();
    }
    target = holder;
  }
  if (PyObject_GetBuffer(target.ptr(), &b.view, PyBUF_WRITABLE) != 0) throw nb::python_error();
  b.has_view = true;
  const auto len = static_cast<std::size_t>(b.view.len);
  if (offset > len || len - offset < size) {
    PyErr_Format(PyExc_ValueError, "%s needs %zu bytes at offset %zu; the buffer has %zu", what,
                 size, offset, len);
    throw nb::python_error();
  }
  char* p = static_cast<char*>(b.view.buf) + offset;
  if (reinterpret_cast<std::uintptr_t>(p) % align != 0) {
    PyErr_Format(PyExc_ValueError, "%s needs a %zu-byte aligned address (buffer offset %zu is not)",
                 what, align, offset);
    throw nb::python_error();
  }
  b.mem = p;
  b.offset = offset;
  b.source = nb::borrow(buffer);
  if (nb::isinstance<Region>(buffer)) b.region = nb::inst_ptr<Region>(buffer)->r.get();
}

/// Constructs T in place, then runs attach(obj); if that throws, T is
/// destroyed again so that nanobind sees an uninitialised instance.
template <class T, class F>
void construct(T* self, F&& attach) {
  new (self) T();
  try {
    attach(*self);
  } catch (...) {
    self->~T();
    throw;
  }
}

IL_PY_COLD inline PyObject* raise_closed() noexcept {
  PyErr_SetString(PyExc_ValueError, "operation on a closed object");
  return nullptr;
}
#define IL_CHECK_OPEN(b) \
  if (IL_PY_UNLIKELY((b).closed.load(std::memory_order_relaxed))) return raise_closed()


/// close(): unregisters this process from the region (if any); idempotent.
template <class C>
void named_close(C& s) {
  if (s.closed.exchange(true) || !s.region) return;
  nb::gil_scoped_release nogil;
  s.region->close();
}

/// closed and close(); the members a named object reads from its region
/// (name, pid_dir, shm_path, _process_count()) are ipc/_futex.py's.
template <class Cls>
void add_named_members(Cls& cls) {
  using C = typename Cls::Type;
  // Not the region's own flag: close_all() at interpreter exit must not
  // stop a daemon thread (a queue's feeder) still using the object.
  cls.def_prop_ro("closed", [](const C& s) { return s.closed.load(); }, "Whether close() ran.")
      .def("close", &named_close<C>,
           "Stop using the object: later operations raise ValueError. For a named\n"
           "object, unregister this process; the last process to close it (or exit)\n"
           "removes it from /dev/shm. Other processes are unaffected (a queue's\n"
           "shutdown() stops it for all). Idempotent.");
}

}  // namespace interlock::py::ipcmem
