// bindings/bench.cpp — interlock._interlock._bench: the proof of the binding
// pattern (fast_methods.hpp) on a small thread-safe counter, with the same
// operations also bound the plain nanobind way for comparison.
// Not public API; bench/bench_binding.py measures it.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "fast_methods.hpp"
#include "module.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using namespace nb::literals;

namespace {

/// A 64-bit counter that any number of threads may use at once. Overflow is
/// an error (std::overflow_error), never a silent wrap.
class Counter {
 public:
  explicit Counter(std::int64_t start = 0) noexcept : value_(start) {}

  std::int64_t inc() { return add(1); }

  std::int64_t add(std::int64_t n) {
    std::int64_t cur = value_.load(std::memory_order_relaxed);
    std::int64_t next;
    do {
      if (__builtin_add_overflow(cur, n, &next))
        throw std::overflow_error("Counter: the value would overflow int64");
    } while (!value_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    return next;
  }

  std::int64_t value() const noexcept { return value_.load(std::memory_order_acquire); }

  bool compare_exchange(std::int64_t expected, std::int64_t desired) noexcept {
    return value_.compare_exchange_strong(expected, desired, std::memory_order_acq_rel);
  }

  /// Sets the value (default 0) and returns the previous one.
  std::int64_t reset(std::optional<std::int64_t> value) noexcept {
    return value_.exchange(value.value_or(0), std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::int64_t> value_;
};

/// inc() written out by hand against the CPython API, without the helper
/// but with the same checks and the same convention (METH_FASTCALL): the
/// benchmark's measure of what the helper itself costs.
PyObject* inc_by_hand(PyObject* self, PyObject* const*, Py_ssize_t nargs) noexcept {
  if (nargs != 0) {
    PyErr_Format(PyExc_TypeError, "Counter.inc_raw() takes no arguments (%zd given)", nargs);
    return nullptr;
  }
  if (!nb::inst_ready(self)) {
    PyErr_SetString(PyExc_TypeError, "Counter.inc_raw(): the instance is not initialized");
    return nullptr;
  }
  try {
    return PyLong_FromLongLong(nb::inst_ptr<Counter>(self)->inc());
  } catch (const std::overflow_error& e) {
    PyErr_SetString(PyExc_OverflowError, e.what());
    return nullptr;
  }
}

PyMethodDef counter_methods[] = {
    ilpy::method<&Counter::inc, "inc($self, /)",
                 "Add one; return the new value (OverflowError past 2**63-1).">(),
    ilpy::method<&Counter::add, "add($self, n, /)",
                 "Add n; return the new value (OverflowError past int64).">(),
    ilpy::method<&Counter::inc, "inc_noargs($self, /)",
                 "inc() forced to METH_NOARGS (benchmark of the calling convention).",
                 ilpy::call_kind::noargs>(),
    ilpy::method<&Counter::value, "value($self, /)", "Return the current value.">(),
    ilpy::method<&Counter::compare_exchange, "compare_exchange($self, expected, desired, /)",
                 "Set the value to desired if it equals expected; return whether it did.">(),
    ilpy::method<&Counter::reset, "reset($self, value=0)",
                 "Set the value (default 0); return the previous one.">(),
    {"inc_raw", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&inc_by_hand)),
     METH_FASTCALL,
     "inc_raw($self, /)\n--\n\ninc() written by hand without the helper (benchmark reference)."},
    ilpy::methods_end,
};

/// A "lock" whose acquire/release/__enter__/__exit__ do nothing, bound exactly
/// like interlock.locks.Lock's: the cost of the calls alone. Under contention
/// it is the ceiling no real lock can pass (bench/bench_locks.py).
struct NullLock {};

PyObject* null_acquire(NullLock&, std::optional<PyObject*>, std::optional<PyObject*>) noexcept {
  return Py_NewRef(Py_True);
}
PyObject* null_release(NullLock&) noexcept { return Py_NewRef(Py_None); }
PyObject* null_enter(NullLock&) noexcept { return Py_NewRef(Py_True); }
PyObject* null_exit(NullLock&, std::optional<PyObject*>, std::optional<PyObject*>,
                    std::optional<PyObject*>) noexcept {
  return Py_NewRef(Py_None);
}

PyMethodDef null_lock_methods[] = {
    ilpy::method<&null_acquire, "acquire($self, blocking=True, timeout=-1)",
                 "Return True at once (nothing is acquired).">(),
    ilpy::method<&null_release, "release($self, /)", "Do nothing.">(),
    ilpy::method<&null_enter, "__enter__($self, /)", "Return True.">(),
    ilpy::method<&null_exit, "__exit__($self, exc_type=None, exc_value=None, traceback=None, /)",
                 "Do nothing.">(),
    ilpy::methods_end,
};

/// A mapping whose d[k] returns None and d[k] = v does nothing: plain CPython
/// slots, like ConcurrentDict's, and no state at all. Shared by threads on a
/// free-threaded build, it measures what using one shared object costs by
/// itself (the interpreter's reference counting of the object and the slot
/// calls): the ceiling no shared mapping can pass (bench_collections_map.py).
PyObject* null_map_subscript(PyObject*, PyObject*) { return Py_NewRef(Py_None); }
int null_map_ass_subscript(PyObject*, PyObject*, PyObject*) { return 0; }
Py_ssize_t null_map_length(PyObject*) { return 0; }

PyType_Slot null_map_slots[] = {
    {Py_mp_subscript, reinterpret_cast<void*>(null_map_subscript)},
    {Py_mp_ass_subscript, reinterpret_cast<void*>(null_map_ass_subscript)},
    {Py_mp_length, reinterpret_cast<void*>(null_map_length)},
    {Py_tp_doc, const_cast<char*>("NullMap()\n--\n\nA mapping that stores nothing: d[k] is None, "
                                  "d[k] = v does nothing (benchmark ceiling).")},
    {0, nullptr},
};

PyType_Spec null_map_spec = {
    "interlock._interlock._bench.NullMap",
    static_cast<int>(sizeof(PyObject)),
    0,
    Py_TPFLAGS_DEFAULT,
    null_map_slots,
};

}  // namespace

namespace interlock::py {

void init_bench(nb::module_& m) {
  nb::class_<Counter>(m, "Counter", ilpy::method_slots<counter_methods>(),
                      "A thread-safe 64-bit counter. inc/add/value/compare_exchange/reset are\n"
                      "fast CPython methods; inc_nb/add_nb are the same operations bound the\n"
                      "plain nanobind way, inc_noargs/inc_raw are benchmark variants.")
      .def(nb::init<std::int64_t>(), "start"_a = 0)
      .def("inc_nb", &Counter::inc, "inc() bound the plain nanobind way.")
      .def("add_nb", &Counter::add, "n"_a, "add(n) bound the plain nanobind way.");
  nb::class_<NullLock>(m, "NullLock", ilpy::method_slots<null_lock_methods>(),
                       "A lock that does nothing, bound like interlock.locks.Lock: the\n"
                       "ceiling of the contended lock benchmarks. Excludes nobody.")
      .def(nb::init<>());
  PyObject* null_map = PyType_FromSpec(&null_map_spec);
  if (!null_map) throw nb::python_error();
  m.attr("NullMap") = nb::steal(null_map);
}

}  // namespace interlock::py
