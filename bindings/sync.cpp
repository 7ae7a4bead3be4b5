// bindings/sync.cpp — the native synchronisation primitives of
// interlock.locks: Semaphore, BoundedSemaphore, Event, Once, CountDownLatch
// (registered into interlock._interlock.locks next to the locks).
//
// Thin: each class holds one core primitive (interlock::Semaphore,
// ResettableEvent, OnceFlag, Latch); this file converts arguments, applies
// threading's conventions (timeouts, error messages) and runs every blocking
// wait through interlock::py::blocking(), which releases the GIL (detaches on
// free-threaded builds) around the sleep and runs signal handlers. A wait cut
// short by an exception from a signal handler returns with that exception
// set, leaving the primitive as if the call had timed out.
//
// Hot methods are plain CPython methods (fast_methods.hpp). A few take
// threading-style optional arguments where None is NOT the same as "omitted"
// (Semaphore.acquire(blocking=None) means non-blocking, release(None) is a
// TypeError): those take ilpy::passed, the argument as given (null when
// omitted).
#include <nanobind/nanobind.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>

#include "aio.hpp"
#include "fast_methods.hpp"
#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/latch.hpp"
#include "interlock/mutex.hpp"
#include "interlock/once.hpp"
#include "interlock/resettable_event.hpp"
#include "interlock/semaphore.hpp"
#include "method_table.hpp"
#include "module.hpp"
#include "py_wait.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using namespace nb::literals;
using interlock::Deadline;
using interlock::WaitStatus;
using interlock::py::wait_deadline;

namespace {

// ============================================================ helpers

/// Reads a count argument: an integer (TypeError otherwise, via __index__)
/// that must be >= `min` (ValueError `msg` otherwise). Values past uint64 come
/// back as UINT64_MAX (too many for any count: constructors and release()
/// reject it, count_down() clamps at zero as for any n >= count).
bool read_count(PyObject* o, std::uint64_t min, const char* msg, std::uint64_t* out) noexcept {
  PyObject* idx = PyNumber_Index(o);
  if (!idx) return false;
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  Py_DECREF(idx);
  if (v == -1 && !overflow && PyErr_Occurred()) return false;
  if (overflow < 0 || (!overflow && v < static_cast<long long>(min))) {
    PyErr_SetString(PyExc_ValueError, msg);
    return false;
  }
  *out = overflow > 0 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(v);
  return true;
}

/// threading-style repr, "<module.QualName at 0x...: STATE>", with the module
/// and qualname of type(self) (subclasses show their own) and C::state().
template <class C>
nb::str repr(nb::handle self) {
  nb::handle tp = reinterpret_cast<PyObject*>(Py_TYPE(self.ptr()));
  return nb::str("<{}.{} at {}: {}>")
      .format(tp.attr("__module__"), tp.attr("__qualname__"),
              nb::str(PyUnicode_FromFormat("%p", self.ptr()), nb::detail::steal_t{}),
              nb::inst_ptr<C>(self)->state());
}

/// __init__(count) of a counted primitive C: an integer in [0, C::max_count]
/// (ValueError C::kNegative below, OverflowError C::kTooMany above).
template <class C>
void construct(C* self, nb::handle value) {
  std::uint64_t v = 0;
  if (!read_count(value.ptr(), 0, C::kNegative, &v)) throw nb::python_error();
  if (v > C::max_count) {
    PyErr_SetString(PyExc_OverflowError, C::kTooMany);
    throw nb::python_error();
  }
  new (self) C(v);
}

/// Every wait here: True at once if (p.*Ready)(), False if the deadline is
/// immediate, else the result of the blocking (p.*Wait)(d).
template <auto Ready, auto Wait, class P>
PyObject* try_wait(P& p, Deadline d) noexcept {
  if (INTERLOCK_LIKELY((p.*Ready)())) Py_RETURN_TRUE;
  if (d.is_immediate()) Py_RETURN_FALSE;
  return ilpy::wait_result(ilpy::blocking([&] { return (p.*Wait)(d); }));
}

/// wait(timeout=None) of a one-shot primitive P (Event, CountDownLatch): True
/// at once if open (the timeout unread), else threading's wait convention.
template <auto Open, auto Wait, class P>
PyObject* wait_open(P& p, std::optional<PyObject*> timeout) noexcept {
  if (INTERLOCK_LIKELY((p.*Open)())) Py_RETURN_TRUE;
  Deadline d;
  if (!wait_deadline(timeout ? *timeout : nullptr, &d)) return nullptr;
  return try_wait<Open, Wait>(p, d);
}

// ============================================================ Semaphore

struct PySemaphore : interlock::Semaphore {
  static constexpr const char* kNegative = "semaphore initial value must be >= 0";
  static constexpr const char* kTooMany = "semaphore initial value must be < 2**62";
  std::uint64_t bound;  // release() fails past this count
  bool bounded;         // BoundedSemaphore: ValueError past bound; else OverflowError

  explicit PySemaphore(std::uint64_t value, bool is_bounded = false) noexcept
      : Semaphore(value), bound(is_bounded ? value : max_count), bounded(is_bounded) {}
  nb::str state() const {
    return bounded ? nb::str("value={}/{}").format(value(), bound)
                   : nb::str("value={}").format(value());
  }
};

struct PyBoundedSemaphore : PySemaphore {
  explicit PyBoundedSemaphore(std::uint64_t value) noexcept : PySemaphore(value, true) {}
};

using interlock::Semaphore;
constexpr auto semaphore_wait =
    &try_wait<&Semaphore::try_acquire, &Semaphore::acquire_until, PySemaphore>;

// acquire() without arguments, and __enter__: wait for a permit, trying first.
PyObject* semaphore_enter(PySemaphore& s) noexcept { return semaphore_wait(s, Deadline::never()); }

// acquire(blocking=True, timeout=None); without arguments nothing is parsed.
PyObject* semaphore_acquire(PySemaphore& s, ilpy::passed blocking,
                            ilpy::passed timeout) noexcept {
  Deadline d = Deadline::never();
  if ((blocking.given() || timeout.given()) &&
      !ilpy::passed_semaphore_deadline(blocking, timeout, &d))
    return nullptr;
  return semaphore_wait(s, d);
}

PyObject* semaphore_release_n(PySemaphore& s, std::uint64_t n) noexcept {
  if (IL_PY_UNLIKELY(!s.release_bounded(n, s.bound))) {
    if (s.bounded) PyErr_SetString(PyExc_ValueError, "Semaphore released too many times");
    else PyErr_SetString(PyExc_OverflowError, "semaphore value would exceed 2**62-1");
    return nullptr;
  }
  Py_RETURN_NONE;
}

// release(n=1); None is a TypeError, as in threading.
PyObject* semaphore_release(PySemaphore& s, ilpy::passed n_arg) noexcept {
  std::uint64_t n = 1;
  if (n_arg.given() && !read_count(n_arg.obj, 1, "n must be one or more", &n)) return nullptr;
  return semaphore_release_n(s, n);
}

PyObject* semaphore_exit(PySemaphore& s, PyObject*, PyObject*, PyObject*) noexcept {
  return semaphore_release_n(s, 1);
}

PyMethodDef semaphore_methods[] = {
    ilpy::method<&semaphore_acquire, "acquire($self, /, blocking=True, timeout=None) -> bool",
                 "Take a permit, waiting for one while blocking is true: for at most timeout\n"
                 "seconds (None: forever; zero or negative: do not wait). Return whether a\n"
                 "permit was taken. Waiting releases the GIL and is interruptible (an\n"
                 "interrupted call takes no permit).">(),
    ilpy::method<&semaphore_release, "release($self, /, n=1) -> None",
                 "Return n permits (n >= 1), waking up to n waiting threads in FIFO order.\n"
                 "BoundedSemaphore: ValueError if the value would exceed the initial one.">(),
    ilpy::method<&semaphore_enter, "__enter__($self, /) -> bool",
                 "acquire(); return True. Waiting releases the GIL and is interruptible.">(),
    ilpy::method<&semaphore_exit, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release().">(),
    ilpy::aio_method<&ilpy::aio::enqueue<interlock::Semaphore>, "take a permit (None) or">(),
    ilpy::methods_end,
};

// ============================================================ Event

using interlock::ResettableEvent;
struct PyEvent final : ResettableEvent {
  nb::str state() const { return nb::str(is_set() ? "set" : "unset"); }
};

PyObject* event_is_set_deprecated(ResettableEvent& e) noexcept {
  if (PyErr_WarnEx(PyExc_DeprecationWarning, "isSet() is deprecated, use is_set() instead", 1) < 0)
    return nullptr;
  return Py_NewRef(e.is_set() ? Py_True : Py_False);
}

PyMethodDef event_methods[] = {
    ilpy::method<&ResettableEvent::is_set, "is_set($self, /)", "Return whether the flag is set.">(),
    ilpy::method<&event_is_set_deprecated, "isSet($self, /)",
                 "Deprecated alias of is_set() (DeprecationWarning).">(),
    ilpy::method<&ResettableEvent::set, "set($self, /)",
                 "Set the flag and wake every waiting thread.">(),
    ilpy::method<&ResettableEvent::clear, "clear($self, /)", "Clear the flag.">(),
    ilpy::method<&wait_open<&ResettableEvent::is_set, &ResettableEvent::wait_until, ResettableEvent>,
                 "wait($self, /, timeout=None) -> bool",
                 "Wait until the flag is set, for at most timeout seconds (None: forever;\n"
                 "zero or negative: do not wait). Return True if the flag was set (a thread\n"
                 "woken by set() returns True even if clear() followed), False on timeout.\n"
                 "Waiting releases the GIL and is interruptible.">(),
    ilpy::aio_method<&ilpy::aio::enqueue<ResettableEvent>, "None if set, else">(),
    ilpy::methods_end,
};

// ============================================================ CountDownLatch

using interlock::Latch;
struct PyLatch final : Latch {
  static constexpr const char* kNegative = "count must be >= 0";
  static constexpr const char* kTooMany = "count must be < 2**62";
  using Latch::Latch;
  nb::str state() const { return nb::str("count={}").format(count()); }
};

// count_down(n=1)
PyObject* latch_count_down(Latch& l, ilpy::passed n_arg) noexcept {
  std::uint64_t n = 1;
  if (n_arg.given() && !read_count(n_arg.obj, 1, "n must be one or more", &n)) return nullptr;
  return PyLong_FromUnsignedLongLong(l.count_down(n));
}

PyMethodDef latch_methods[] = {
    ilpy::method<&latch_count_down, "count_down($self, /, n=1)",
                 "Lower the count by n (n >= 1; it stops at zero) and return the count after;\n"
                 "the call that reaches zero releases every waiting thread.">(),
    ilpy::method<&wait_open<&Latch::try_wait, &Latch::wait_until, Latch>, "wait($self, /, timeout=None) -> bool",
                 "Wait until the count is zero, for at most timeout seconds (None: forever;\n"
                 "zero or negative: do not wait). Return True once it is zero, False on\n"
                 "timeout. Waiting releases the GIL and is interruptible.">(),
    ilpy::aio_method<&ilpy::aio::enqueue<Latch>, "None if open, else">(),
    ilpy::methods_end,
};

// ============================================================ Once

struct PyOnce {
  // The flag, and who runs fn (the core's fork-safe registry, once.hpp).
  interlock::TrackedOnce once;
  // Written by the runner before finish(true), whose release publishes it to
  // every thread that then sees the flag done (acquire); immutable after.
  std::atomic<PyObject*> result{nullptr};

  ~PyOnce() { clear(); }

  // Garbage collection (ilpy::traverse_slot / clear_slot).
  int traverse(visitproc visit, void* arg) const noexcept {
    PyObject* r = result.load(std::memory_order_relaxed);
    Py_VISIT(r);
    return 0;
  }
  void clear() noexcept { Py_XDECREF(result.exchange(nullptr, std::memory_order_relaxed)); }
  nb::str state() const { return nb::str(once.flag.is_done() ? "done" : "not done"); }
};

IL_PY_COLD PyObject* once_call_slow(PyOnce& o, PyObject* const* argv, Py_ssize_t nargs,
                                    PyObject* kwnames) noexcept {
  using Call = interlock::TrackedOnce::Call;
  PyObject* r = nullptr;
  const Call c = o.once.call(
      PyThread_get_thread_ident(), [](auto begin) { return ilpy::blocking(begin); },
      [&] {
        // No PY_VECTORCALL_ARGUMENTS_OFFSET: argv[0] is our caller's (possibly
        // a shared tuple's item), not ours to overwrite even for a moment.
        r = PyObject_Vectorcall(argv[0], argv + 1, static_cast<std::size_t>(nargs - 1), kwnames);
        if (r) o.result.store(Py_NewRef(r), std::memory_order_relaxed);  // before finish(true)
        return r != nullptr;
      });
  switch (c) {
    case Call::ran:
    case Call::failed: return r;  // failed: fn's exception; a later caller runs fn again
    case Call::done: r = o.result.load(std::memory_order_relaxed); return Py_NewRef(r ? r : Py_None);
    case Call::interrupted: return ilpy::raise_interrupted();
    case Call::reentrant: break;
  }
  PyErr_SetString(PyExc_RuntimeError,
                  "Once.call(): called again from the function it is running (this would deadlock)");
  return nullptr;
}

}  // namespace

namespace interlock::py {
void sync_after_fork_in_child() noexcept {
  interlock::TrackedOnce::after_fork_in_child(PyThread_get_thread_ident());
}
}  // namespace interlock::py

namespace {

// call(fn, /, *args, **kwargs)
PyObject* once_call(PyObject* self, PyObject* const* argv, Py_ssize_t nargsf,
                    PyObject* kwnames) noexcept {
  if (IL_PY_UNLIKELY(!nb::inst_ready(self))) return ilpy::detail::raise_not_ready(self, "call");
  PyOnce& o = *nb::inst_ptr<PyOnce>(self);
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  if (IL_PY_UNLIKELY(nargs < 1)) {
    PyErr_SetString(PyExc_TypeError, "Once.call() missing required argument 'fn' (pos 1)");
    return nullptr;
  }
  if (INTERLOCK_LIKELY(o.once.flag.is_done())) {
    PyObject* r = o.result.load(std::memory_order_relaxed);
    return Py_NewRef(r ? r : Py_None);
  }
  return once_call_slow(o, argv, nargs, kwnames);
}

bool once_is_done(const PyOnce& o) noexcept { return o.once.flag.is_done(); }

PyMethodDef once_methods[] = {
    {"call", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&once_call)),
     METH_FASTCALL | METH_KEYWORDS,
     "call($self, fn, /, *args, **kwargs)\n--\n\n"
     "Run fn(*args, **kwargs) if no call of this Once has completed yet, and return\n"
     "its result; once one has, return that first result (fn and the arguments are\n"
     "then ignored). Exactly one thread runs fn at a time: others wait (GIL\n"
     "released, interruptible) for it. If fn raises, the exception propagates to\n"
     "its caller and the Once stays not done, so a later call runs fn again. A\n"
     "call from inside fn on the same Once raises RuntimeError."},
    ilpy::method<&once_is_done, "is_done($self, /)",
                 "Return whether a call has completed (the result is cached).">(),
    ilpy::methods_end,
};

}  // namespace

namespace interlock::py {

/// A class of interlock._interlock.locks, with the threading-style repr of its
/// state() unless it inherits one.
template <class C, class... Base>
nb::class_<C, Base...> add(nb::module_& m, const char* name, nb::type_slots slots,
                           const char* doc) {
  nb::class_<C, Base...> cls(m, name, slots, nb::is_weak_referenceable(), doc);
  if constexpr (sizeof...(Base) == 0) cls.def("__repr__", &repr<C>);
  return cls;
}

void init_sync(nb::module_& m) {
  add<PySemaphore>(m, "Semaphore", ilpy::method_slots<semaphore_methods>(),
                   "Semaphore(value=1)\n\n"
                   "A counting semaphore (threading.Semaphore's contract): acquire() takes a\n"
                   "permit, waiting while there is none; release(n) returns n. Waiting threads\n"
                   "are served in FIFO order, release the GIL while they wait and are\n"
                   "interruptible by signals. value (read-only) is the current count.")
      .def("__init__", &construct<PySemaphore>, "value"_a.none() = 1)
      .def_prop_ro("value", [](const PySemaphore& s) { return s.value(); },
                   "The number of permits available right now (a snapshot).");
  // The same method table again: CPython's specialised calls of a method
  // descriptor require type(self) to be exactly the descriptor's class, so
  // inherited descriptors would take the generic call path here.
  add<PyBoundedSemaphore, PySemaphore>(
      m, "BoundedSemaphore", ilpy::method_slots<semaphore_methods>(),
      "BoundedSemaphore(value=1)\n\n"
      "A Semaphore whose release() raises ValueError if the value would exceed\n"
      "the initial value (threading.BoundedSemaphore's contract).")
      .def("__init__", &construct<PyBoundedSemaphore>, "value"_a.none() = 1)
      .def_prop_ro("initial_value", [](const PyBoundedSemaphore& s) { return s.bound; },
                   "The initial value: the most permits there can be.");
  add<PyEvent>(m, "Event", ilpy::method_slots<event_methods>(),
               "Event()\n\n"
               "A flag threads can wait for (threading.Event's contract): set(),\n"
               "clear(), is_set(), wait(timeout=None). Waiting releases the GIL\n"
               "and is interruptible by signals.")
      .def(nb::init<>());
  auto once = add<PyOnce>(m, "Once", ilpy::gc_slots<PyOnce>(once_methods),
                          "Once()\n\n"
                          "Runs a function exactly once across all threads: once.call(fn, *args,\n"
                          "**kwargs) runs fn the first time, caches its result and returns it to\n"
                          "every caller, now and later. If fn raises, the exception propagates\n"
                          "and a later call tries again.");
  once.def(nb::init<>()).def_prop_ro("done", &once_is_done, "Whether a call has completed.");
  ilpy::use_trashcan(once);
  add<PyLatch>(m, "CountDownLatch", ilpy::method_slots<latch_methods>(),
               "CountDownLatch(count)\n\n"
               "A one-shot gate (Java's CountDownLatch, C++'s std::latch): wait()\n"
               "blocks until count_down() has been called count times in all; from\n"
               "then on the latch stays open. Waiting releases the GIL and is\n"
               "interruptible by signals.")
      .def("__init__", &construct<PyLatch>, "count"_a.none())
      .def_prop_ro("count", [](const PyLatch& l) { return l.count(); },
                   "The current count (a snapshot).");
  // Re-exported by interlock.locks; set once every method is defined (the
  // stub generator takes a method's __module__ from its class's at def time).
  for (const char* name : {"Semaphore", "BoundedSemaphore", "Event", "Once", "CountDownLatch"})
    set_module(m.attr(name), "interlock.locks");
}

}  // namespace interlock::py
