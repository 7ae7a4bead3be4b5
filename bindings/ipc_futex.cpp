// bindings/ipc_futex.cpp — interlock.ipc's futex primitives on caller-supplied
// buffers, the named regions they also live on (_NamedRegion) and the fastipc
// façade's native classes (_fastipc): docs/design.md "Futex primitives and
// named objects" (Prim<P>, Fast<P>, the Ipc / Fx flavours). Every wait runs
// through interlock::py::blocking() (interrupted: the primitive unchanged).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "fast_methods.hpp"
#include "ipc_memory.hpp"
#include "interlock/deadline.hpp"
#include "interlock/named_region.hpp"
#include "interlock/shm_barrier.hpp"
#include "interlock/shm_event.hpp"
#include "interlock/shm_layout.hpp"
#include "interlock/shm_mutex.hpp"
#include "interlock/shm_semaphore.hpp"
#include "module.hpp"
#include "py_wait.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
namespace shm = interlock::shm;
using namespace nb::literals;
using interlock::Deadline;
using interlock::NamedRegion;

namespace {

using namespace interlock::py::ipcmem;

// ============================================================ flavours, objects

/// interlock.ipc: threading's wait() convention (seconds; None forever).
struct Ipc {
  using Timeout = std::optional<PyObject*>;
  static bool deadline(Timeout t, Deadline* d) noexcept {
    return ilpy::wait_deadline(t.value_or(nullptr), d);
  }
  static constexpr bool kWokenOnly = false;  // FutexWord.wait: False only on timeout
};
/// The fastipc façade: int nanoseconds (negative forever), fastipc's results.
struct Fx {
  using Timeout = std::optional<long long>;
  static bool deadline(Timeout t, Deadline* d) noexcept {
    return ilpy::fastipc_ns_deadline(t.value_or(-1), d);
  }
  static constexpr bool kWokenOnly = true;  // FutexWord.wait: True only when woken
};

template <class P>
struct Prim : ShmBase {
  static constexpr std::size_t size = P::size, alignment = P::alignment;
  P p{nullptr};
};
template <class P> struct Fast : Prim<P> {};

/// The core method M of an open object's P (ValueError once closed).
template <class P, auto M>
PyObject* on_open(Prim<P>& s) noexcept {
  IL_CHECK_OPEN(s);
  if constexpr (std::is_void_v<decltype((s.p.*M)())>) return (s.p.*M)(), Py_NewRef(Py_None);
  else return ilpy::detail::to_python((s.p.*M)());
}
using IpcMutex = Prim<shm::ShmMutex>;
using IpcSemaphore = Prim<shm::ShmSemaphore>;
using IpcEvent = Prim<shm::ShmEvent>;
using IpcBarrier = Prim<shm::ShmBarrier>;

/// A bare word of T; F: FutexWord's flavour (void: AtomicU32 / U64).
template <class T, class F = void>
struct Word : ShmBase {
  static constexpr std::size_t size = sizeof(T), alignment = sizeof(T);
  std::atomic<T>* a = nullptr;
};
using IpcFutexWord = Word<std::uint32_t, Ipc>;
using FxFutexWord = Word<std::uint32_t, Fx>;

// ============================================================ AtomicU32 / AtomicU64, FutexWord

/// The ops of a word W (also FutexWord's load / store).
template <class W, class T = typename std::remove_pointer_t<decltype(W::a)>::value_type>
struct AtomicTable {
  static T load(W& x) noexcept { return x.a->load(std::memory_order_acquire); }
  static void store(W& x, T v) noexcept { x.a->store(v, std::memory_order_release); }
  static bool cas(W& x, T expected, T desired) noexcept {
    return x.a->compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                        std::memory_order_acquire);
  }
  static T exchange(W& x, T v) noexcept { return x.a->exchange(v, std::memory_order_acq_rel); }
  static T fetch_add(W& x, T v) noexcept { return x.a->fetch_add(v, std::memory_order_acq_rel); }

  static inline PyMethodDef methods[] = {
      ilpy::method<&load, "load($self, /)", "The value (acquire load).">(),
      ilpy::method<&store, "store($self, v, /)", "Store v (release).">(),
      ilpy::method<&cas, "cas($self, /, expected, new)",
                   "If the value is expected, replace it with new (acq_rel); return whether it\n"
                   "did (strong compare-and-swap).">(),
      ilpy::method<&exchange, "exchange($self, v, /)",
                   "Store v and return the previous value (acq_rel).">(),
      ilpy::method<&fetch_add, "fetch_add($self, v, /)",
                   "Add v (wrapping around) and return the previous value (acq_rel).">(),
      ilpy::methods_end,
  };
};

template <class W> int futex_wake(W& f, std::optional<int> n) noexcept {
  const int count = n.value_or(1);
  return shm::futex_wake(f.a, count < 0 ? INT_MAX : count, f.shared);
}

/// Sleeps while the word is `expected`, with F's timeout and results.
template <class F>
PyObject* futex_wait(Word<std::uint32_t, F>& f, std::uint32_t expected,
                     typename F::Timeout timeout) noexcept {
  Deadline d;
  if (!F::deadline(timeout, &d)) return nullptr;
  if (f.a->load(std::memory_order_acquire) != expected) return PyBool_FromLong(!F::kWokenOnly);
  if (d.is_immediate()) Py_RETURN_FALSE;
  const auto r = ilpy::blocking([&] { return shm::futex_wait(f.a, expected, d, f.shared); });
  if (r == shm::FutexWait::interrupted) return ilpy::raise_interrupted();
  return PyBool_FromLong(F::kWokenOnly ? r == shm::FutexWait::woken : r != shm::FutexWait::timed_out);
}

PyMethodDef futex_methods[] = {
    ilpy::method<&AtomicTable<IpcFutexWord>::load, "load($self, /)", "The word's value (acquire load).">(),
    ilpy::method<&AtomicTable<IpcFutexWord>::store, "store($self, value, /)",
                 "Store value (0 <= value < 2**32) with release order; wakes nobody.">(),
    ilpy::method<&futex_wait<Ipc>, "wait($self, expected, timeout=None, /) -> bool",
                 "Sleep while the word equals expected, until a wake(), for at most timeout\n"
                 "seconds (None: forever; zero or negative: do not sleep). Return False on\n"
                 "timeout, True otherwise (woken, or the value differed; may be spurious:\n"
                 "re-check in a loop). Releases the GIL; interruptible by signals.">(),
    ilpy::method<&futex_wake<IpcFutexWord>, "wake($self, n=1, /)",
                 "Wake up to n sleepers (any process; n < 0: all). Return how many woke.">(),
    ilpy::methods_end,
};

PyMethodDef fx_futex_methods[] = {
    ilpy::method<&AtomicTable<FxFutexWord>::load, "load_acquire($self, /)",
                 "The word's value (acquire load).">(),
    ilpy::method<&AtomicTable<FxFutexWord>::store, "store_release($self, v, /)",
                 "Store v with release order.">(),
    ilpy::method<&futex_wait<Fx>, "wait($self, /, expected, timeout_ns=-1) -> bool",
                 "Sleep while the word equals expected (timeout_ns: nanoseconds, -1 =\n"
                 "forever). True if woken by wake(); False on timeout or if the word did\n"
                 "not equal expected.">(),
    ilpy::method<&futex_wake<FxFutexWord>, "wake($self, /, n=1)",
                 "Wake up to n waiters; return how many woke.">(),
    ilpy::methods_end,
};

// ============================================================ Mutex

/// Locks within d (waiting with the GIL released unless d is immediate): True
/// (also when taken over from a dead owner), False on timeout.
PyObject* mutex_lock(IpcMutex& s, Deadline d) noexcept {
  const auto r = d.is_immediate() ? s.p.lock_until(d)
                                  : ilpy::blocking([&] { return s.p.lock_until(d); });
  if (IL_PY_UNLIKELY(r == shm::LockResult::interrupted)) return ilpy::raise_interrupted();
  return PyBool_FromLong(r != shm::LockResult::timed_out);
}

PyObject* mutex_enter(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.p.try_lock())) Py_RETURN_TRUE;
  return mutex_lock(s, Deadline::never());
}

/// threading's acquire(blocking, timeout) of Lock / Semaphore (Deadl: its
/// convention): Enter(s) without arguments, else Take(s, deadline).
template <class T, auto Enter, auto Deadl, auto Take>
PyObject* acquire(T& s, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  if (!blocking.given() && !timeout.given()) return Enter(s);
  IL_CHECK_OPEN(s);
  Deadline d;
  if (!Deadl(blocking, timeout, &d)) return nullptr;
  return Take(s, d);
}

PyObject* mutex_release(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  if (IL_PY_UNLIKELY(!s.p.unlock())) {
    PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyMethodDef mutex_methods[] = {
    ilpy::method<&acquire<IpcMutex, mutex_enter, ilpy::passed_threading_deadline, mutex_lock>,
                 "acquire($self, /, blocking=True, timeout=-1) -> bool",
                 "Acquire the lock, threading.Lock's way: wait while blocking is true, for at\n"
                 "most timeout seconds (-1: forever). Return whether it was acquired. If the\n"
                 "previous owner process died holding it, the lock is taken over (within about\n"
                 "a second) and owner_died is True until release(). Waiting releases the GIL\n"
                 "and is interruptible by signals.">(),
    ilpy::method<&mutex_release, "release($self, /) -> None",
                 "Release the lock (RuntimeError if it is not locked). Any thread or process\n"
                 "may release it.">(),
    ilpy::method<&on_open<shm::ShmMutex, &shm::ShmMutex::locked>, "locked($self, /)",
                 "Whether the lock is held.">(),
    ilpy::method<&mutex_enter, "__enter__($self, /) -> bool", "acquire(); return True.">(),
    ilpy::method<+[](IpcMutex& s, PyObject*, PyObject*, PyObject*) noexcept { return mutex_release(s); },
                 "__exit__($self, exc_type, exc_value, traceback, /)", "release().">(),
    ilpy::methods_end,
};

// fastipc's Mutex: acquire() blocks (no arguments), release() of an unlocked
// mutex is a no-op, __enter__ returns the mutex; `spin` is the core's choice.
PyObject* fx_mutex_acquire_ns(IpcMutex& s, Fx::Timeout timeout_ns, std::optional<int>) noexcept {
  Deadline d;
  Fx::deadline(timeout_ns, &d);
  return mutex_lock(s, d);
}
PyObject* fx_mutex_enter(PyObject* self, IpcMutex& s) noexcept {
  PyObject* r = mutex_enter(s);
  if (!r) return nullptr;
  Py_DECREF(r);
  return Py_NewRef(self);
}

PyMethodDef fx_mutex_methods[] = {
    ilpy::method<&mutex_enter, "acquire($self, /) -> bool",
                 "Acquire the mutex, blocking; return True.">(),
    ilpy::method<&fx_mutex_acquire_ns, "acquire_ns($self, /, timeout_ns=-1, spin=16) -> bool",
                 "Acquire within timeout_ns nanoseconds (-1: forever); return whether it was\n"
                 "acquired.">(),
    ilpy::method<+[](IpcMutex& s) noexcept {
                   return s.p.lock_until(Deadline::immediate()) != shm::LockResult::timed_out;
                 },
                 "try_acquire($self, /)",
                 "Acquire without blocking; return whether it was acquired.">(),
    ilpy::method<+[](IpcMutex& s) noexcept { s.p.unlock(); }, "release($self, /)",
                 "Release the mutex.">(),
    ilpy::method<+[](IpcMutex& s) noexcept { return s.p.owner_pid(); }, "owner_pid($self, /)",
                 "PID of the holding process, 0 when unlocked.">(),
    ilpy::method<&fx_mutex_enter, "__enter__($self, /)", "acquire(); return the mutex.">(),
    ilpy::method<+[](IpcMutex& s, PyObject*, PyObject*, PyObject*) noexcept { s.p.unlock(); },
                 "__exit__($self, exc_type, exc, tb, /)", "release().">(),
    ilpy::methods_end,
};

// ============================================================ Semaphore

PyObject* sem_take(IpcSemaphore& s, Deadline d) noexcept {
  if (d.is_immediate()) return PyBool_FromLong(s.p.try_wait());
  return ilpy::wait_result(ilpy::blocking([&] { return s.p.wait_until(d); }));
}

/// Takes a token within F's timeout (block false: try once).
template <class F>
PyObject* sem_wait(IpcSemaphore& s, typename F::Timeout timeout, bool block = true) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.p.try_wait())) Py_RETURN_TRUE;
  Deadline d = Deadline::immediate();
  if (block && !F::deadline(timeout, &d)) return nullptr;
  return sem_take(s, d);
}

PyObject* sem_enter(IpcSemaphore& s) noexcept { return sem_wait<Ipc>(s, std::nullopt); }

PyObject* sem_post_n(IpcSemaphore& s, std::uint64_t n) noexcept {
  if (IL_PY_UNLIKELY(n > UINT32_MAX || !s.p.post(static_cast<std::uint32_t>(n)))) {
    PyErr_SetString(PyExc_OverflowError, "semaphore value would exceed 2**32-1");
    return nullptr;
  }
  Py_RETURN_NONE;
}

/// post(n): n through __index__, from 1 (ValueError) to 2**32-1 (OverflowError).
PyObject* sem_post(IpcSemaphore& s, ilpy::passed n) noexcept {
  IL_CHECK_OPEN(s);
  std::uint64_t v = 1;
  if (n.given() && !ilpy::read_count(n.obj, 1, "n must be one or more", &v)) return nullptr;
  return sem_post_n(s, v);
}

PyMethodDef sem_methods[] = {
    ilpy::method<&sem_post, "post($self, n=1, /)",
                 "Add n tokens (n >= 1) and wake up to n waiters (exact delivery: never more\n"
                 "wake-ups than tokens). OverflowError past 2**32-1.">(),
    ilpy::method<+[](IpcSemaphore& s, Ipc::Timeout t) noexcept { return sem_wait<Ipc>(s, t); },
                 "wait($self, /, timeout=None) -> bool",
                 "Take a token, waiting for at most timeout seconds (None: forever; zero or\n"
                 "negative: do not wait). Return whether one was taken. Releases the GIL;\n"
                 "interruptible by signals (nothing is taken then).">(),
    ilpy::method<&acquire<IpcSemaphore, sem_enter, ilpy::passed_semaphore_deadline, sem_take>,
                 "acquire($self, /, blocking=True, timeout=None) -> bool",
                 "threading.Semaphore.acquire: take a token.">(),
    ilpy::method<&sem_post, "release($self, /, n=1) -> None", "threading.Semaphore.release: post(n).">(),
    ilpy::method<&sem_enter, "__enter__($self, /) -> bool", "wait(); return True.">(),
    ilpy::method<+[](IpcSemaphore& s, PyObject*, PyObject*, PyObject*) noexcept -> PyObject* {
                   IL_CHECK_OPEN(s);
                   return sem_post_n(s, 1);
                 },
                 "__exit__($self, exc_type, exc_value, traceback, /)", "post().">(),
    ilpy::methods_end,
};

PyMethodDef fx_sem_methods[] = {
    ilpy::method<+[](IpcSemaphore& s, std::uint32_t v) noexcept { s.p.store_value(v); },
                 "_store_value($self, v, /)", "Set the count (the constructor's initial).">(),
    ilpy::method<+[](IpcSemaphore& s, std::optional<std::uint32_t> n) noexcept {
                   return n == 0u ? Py_NewRef(Py_None) : sem_post_n(s, n.value_or(1));
                 },
                 "post($self, /, n=1)", "Add n tokens; wake waiters.">(),
    ilpy::method<+[](IpcSemaphore& s) noexcept { return sem_post_n(s, 1); }, "post1($self, /)",
                 "post(1).">(),
    ilpy::method<+[](IpcSemaphore& s, std::optional<bool> blocking, Fx::Timeout timeout_ns,
                     std::optional<int>) noexcept {
                   return sem_wait<Fx>(s, timeout_ns, blocking.value_or(true));
                 },
                 "wait($self, /, blocking=True, timeout_ns=-1, spin=128) -> bool",
                 "Take a token; blocking for at most timeout_ns nanoseconds (-1: forever).\n"
                 "Return whether one was taken.">(),
    ilpy::method<+[](IpcSemaphore& s) noexcept { return s.p.value(); }, "value($self, /)",
                 "The current count.">(),
    ilpy::methods_end,
};

// ============================================================ Event

PyMethodDef event_methods[] = {
    ilpy::method<&on_open<shm::ShmEvent, &shm::ShmEvent::is_set>, "is_set($self, /)",
                 "Whether the flag is set.">(),
    ilpy::method<&on_open<shm::ShmEvent, &shm::ShmEvent::set>, "set($self, /)",
                 "Set the flag and wake every waiter (of every process).">(),
    ilpy::method<&on_open<shm::ShmEvent, &shm::ShmEvent::clear>, "clear($self, /)",
                 "Clear the flag.">(),
    ilpy::method<+[](IpcEvent& e, Ipc::Timeout timeout) noexcept -> PyObject* {
                   IL_CHECK_OPEN(e);
                   if (INTERLOCK_LIKELY(e.p.is_set())) Py_RETURN_TRUE;
                   Deadline d;
                   if (!Ipc::deadline(timeout, &d)) return nullptr;
                   if (d.is_immediate()) Py_RETURN_FALSE;
                   return ilpy::wait_result(ilpy::blocking([&] { return e.p.wait_until(d); }));
                 },
                 "wait($self, /, timeout=None) -> bool",
                 "Wait until the flag is set, for at most timeout seconds (None: forever;\n"
                 "zero or negative: do not wait). Return whether it is set. Releases the\n"
                 "GIL; interruptible by signals.">(),
    ilpy::methods_end,
};

// ============================================================ Barrier

PyObject* g_broken_barrier = nullptr;  // threading.BrokenBarrierError

/// interlock.ipc's attach rules, the core's (arg: Semaphore's value, Barrier's parties).
template <class P> shm::AttachResult ipc_attach(P& p, bool named, std::uint32_t) { return p.attach(named); }
shm::AttachResult ipc_attach(shm::ShmSemaphore& p, bool named, std::uint32_t v) { return p.attach(v, named); }
shm::AttachResult ipc_attach(shm::ShmBarrier& b, bool, std::uint32_t n) {
  shm::AttachResult r{};
  const auto open = b.open(n, &r);
  if (open == shm::ShmBarrier::Open::ok) return r;
  if (open == shm::ShmBarrier::Open::parties_required)
    PyErr_SetString(PyExc_ValueError, "Barrier: parties is required to initialise fresh memory");
  else
    PyErr_Format(PyExc_ValueError, "Barrier: the memory holds a barrier for %u parties, not %u",
                 b.parties(), n);
  throw nb::python_error();
}

PyObject* barrier_wait(IpcBarrier& b, Ipc::Timeout timeout) noexcept {
  Deadline d;
  if (!Ipc::deadline(timeout, &d)) return nullptr;
  std::uint32_t index = 0;
  switch (ilpy::blocking([&] { return b.p.wait_until(d, &index); })) {
    case shm::ShmBarrier::Result::passed: return PyLong_FromUnsignedLong(index);
    case shm::ShmBarrier::Result::interrupted: return ilpy::raise_interrupted();
    case shm::ShmBarrier::Result::broken:
    case shm::ShmBarrier::Result::timed_out: break;
  }
  PyErr_SetNone(g_broken_barrier);
  return nullptr;
}

PyMethodDef barrier_methods[] = {
    ilpy::method<&barrier_wait, "wait($self, /, timeout=None) -> int",
                 "Wait until all parties have called wait(), for at most timeout seconds\n"
                 "(None: forever). Return this party's arrival index (0 .. parties-1). A\n"
                 "timeout or an interruption breaks the barrier: threading.BrokenBarrierError\n"
                 "for every party until reset(). Releases the GIL; interruptible by signals.">(),
    ilpy::method<+[](IpcBarrier& b) noexcept { b.p.abort(); }, "abort($self, /)",
                 "Break the barrier: every waiter gets BrokenBarrierError.">(),
    ilpy::method<+[](IpcBarrier& b) noexcept { b.p.reset(); }, "reset($self, /)",
                 "Return to the empty, unbroken state (waiters get BrokenBarrierError).">(),
    ilpy::methods_end,
};

// ============================================================ classes

template <class T> const char* g_name = nullptr;  // T's Python name, for errors

/// tp_init of a buffer class (interlock.ipc's, fastipc's): (buffer, offset,
/// shared, arg), checked by its Python constructor (ipc/_futex.py sets it as __init__:
/// hence a slot, not nanobind's type call, which would bypass it); arg:
/// Semaphore's value, Barrier's parties; a bare word ignores shared.
template <class T>
int native_init(PyObject* self, PyObject* args, PyObject* kwargs) noexcept {
  PyObject* buffer;
  Py_ssize_t offset;
  int shared;
  unsigned int arg;
  if (nb::inst_ready(self) || kwargs) {
    PyErr_SetString(PyExc_TypeError, "__init__: an initialised object, or keyword arguments");
    return -1;
  }
  if (!PyArg_ParseTuple(args, "OnpI:__init__", &buffer, &offset, &shared, &arg)) return -1;
  if (offset < 0) return PyErr_SetString(PyExc_ValueError, "offset must be >= 0"), -1;
  try {
    construct(nb::inst_ptr<T>(self), [&](T& o) {
      export_buffer(o, buffer, static_cast<std::size_t>(offset), T::size, T::alignment, g_name<T>);
      o.shared = shared != 0;
      if constexpr (requires { o.a; }) {
        o.a = static_cast<decltype(o.a)>(o.mem);
      } else {  // named: on a _NamedRegion, whose flock makes a stalled initialiser a dead one
        o.p = decltype(o.p)(o.mem, o.shared);
        const shm::AttachResult r = ipc_attach(o.p, o.region != nullptr, arg);
        if (r == shm::AttachResult::created || r == shm::AttachResult::attached) return;
        PyErr_Format(PyExc_ValueError, "%s: cannot attach: %s", g_name<T>, shm::describe(r));
        throw nb::python_error();
      }
    });
  } catch (...) {
    return ilpy::detail::translate_current_exception(), -1;
  }
  nb::inst_mark_ready(self);
  return 0;
}

/// A class with the methods M and the constructor native_init (the
/// documentation and the Python constructor: ipc/_futex.py).
template <class T, PyMethodDef* M>
nb::class_<T> native_class(nb::handle m, const char* name) {
  g_name<T> = name;
  static PyType_Slot slots[] = {{Py_tp_methods, static_cast<void*>(M)},
                                {Py_tp_init, reinterpret_cast<void*>(&native_init<T>)},
                                {0, nullptr}};
  return nb::class_<T>(m, name, nb::type_slots(slots), nb::is_weak_referenceable());
}

/// The native base of an interlock.ipc class on a buffer: size / alignment,
/// _source / _offset (pickling), and but for a bare word shared and the named
/// objects' members.
template <class T, PyMethodDef* M>
nb::class_<T> buffer_class(nb::handle m, const char* name) {
  auto c = native_class<T, M>(m, name);
  c.def_prop_ro("_source", [](const T& s) { return s.source; })
      .def_prop_ro("_offset", [](const T& s) { return s.offset; });
  c.attr("size") = T::size;
  c.attr("alignment") = T::alignment;
  if constexpr (!std::is_same_v<T, Word<std::uint32_t>> && !std::is_same_v<T, Word<std::uint64_t>>) {
    c.def_prop_ro("shared", [](const T& s) { return s.shared; });
    add_named_members(c);
  }
  return c;
}

int region_getbuffer(PyObject* self, Py_buffer* view, int flags) noexcept {
  if (!nb::inst_ready(self)) {
    PyErr_SetString(PyExc_ValueError, "uninitialised _NamedRegion");
    return -1;
  }
  NamedRegion& r = *nb::inst_ptr<Region>(self)->r;
  return PyBuffer_FillInfo(view, self, r.data(), static_cast<Py_ssize_t>(r.size()), 0, flags);
}
PyType_Slot region_slots[] = {{Py_bf_getbuffer, reinterpret_cast<void*>(&region_getbuffer)},
                              {0, nullptr}};

}  // namespace

namespace interlock::py {

void init_ipc_futex(nb::module_& m) {
  g_broken_barrier =
      nb::object(nb::module_::import_("threading").attr("BrokenBarrierError")).release().ptr();

  // Named objects' lifetime across fork and exit: docs/design.md "Named
  // objects and PID tracking".
  nb::module_::import_("os").attr("register_at_fork")(
      nb::arg("after_in_child") = nb::cpp_function(&NamedRegion::adopt_all_after_fork));
  nb::module_::import_("atexit").attr("register")(nb::cpp_function([] {
    nb::gil_scoped_release nogil;
    NamedRegion::close_all();
  }));
  nb::class_<Region>(m, "_NamedRegion", nb::type_slots(region_slots),
                     "The region interlock.<kind>.<name> as a buffer (ipc/_futex.py).")
      .def("__init__", [](Region* self, const std::string& kind, const std::string& name,
                          std::size_t size, unsigned mode, const std::string& pid_dir,
                          bool create, bool whole) {
        NamedRegion::Options o;
        o.prefix = "interlock." + kind;
        o.pid_dir = pid_dir;
        o.mode = static_cast<mode_t>(mode);
        o.create = create;
        o.whole = whole;
        construct(self, [&](Region& g) {
          nb::gil_scoped_release nogil;  // the attach may wait for another process's flock
          g.r = std::make_unique<NamedRegion>(name, size, o);
        });
      })
      .def_prop_ro("created", [](const Region& g) { return g.r->created(); })
      .def_prop_ro("name", [](const Region& g) { return g.r->name(); })
      .def_prop_ro("pid_dir", [](const Region& g) { return g.r->pid_dir(); })
      .def_prop_ro("shm_name", [](const Region& g) { return g.r->shm_name(); })
      .def("process_count", [](const Region& g) {
        nb::gil_scoped_release nogil;
        return g.r->process_count();
      });

  // The public classes and their documentation: ipc/_futex.py.
  buffer_class<IpcFutexWord, futex_methods>(m, "FutexWord");
  buffer_class<Word<std::uint32_t>, AtomicTable<Word<std::uint32_t>>::methods>(m, "AtomicU32");
  buffer_class<Word<std::uint64_t>, AtomicTable<Word<std::uint64_t>>::methods>(m, "AtomicU64");
  buffer_class<IpcMutex, mutex_methods>(m, "Mutex")
      .def_prop_ro("owner_pid", [](const IpcMutex& s) { return s.p.owner_pid(); },
                   "PID of the process holding the lock (0: unlocked).")
      .def_prop_ro("owner_died", [](const IpcMutex& s) { return s.p.owner_died(); },
                   "True while the current holding was taken over from a process that died\n"
                   "holding the lock: the data it protects may need repair.")
      .def_prop_ro("recoveries", [](const IpcMutex& s) { return s.p.recoveries(); },
                   "How many times the lock was taken over from a dead owner.");
  buffer_class<IpcSemaphore, sem_methods>(m, "Semaphore")
      .def_prop_ro("value", [](const IpcSemaphore& s) { return s.p.value(); },
                   "The tokens available now (a snapshot).");
  buffer_class<IpcEvent, event_methods>(m, "Event");
  buffer_class<IpcBarrier, barrier_methods>(m, "Barrier")
      .def_prop_ro("parties", [](const IpcBarrier& b) { return b.p.parties(); })
      .def_prop_ro("n_waiting", [](const IpcBarrier& b) { return b.p.n_waiting(); })
      .def_prop_ro("broken", [](const IpcBarrier& b) { return b.p.broken(); });

  // ---------------------------------------------------------- fastipc
  nb::module_ fx = m.def_submodule("_fastipc", "Native classes of interlock.compat.fastipc.");
  native_class<FxFutexWord, fx_futex_methods>(fx, "FutexWord");
  native_class<Fast<shm::ShmMutex>, fx_mutex_methods>(fx, "Mutex");
  native_class<Fast<shm::ShmSemaphore>, fx_sem_methods>(fx, "Semaphore");

  // Last: nanobind's stub generator places an __init__ by its class's module.
  for (const char* c : {"FutexWord", "AtomicU32", "AtomicU64", "Mutex", "Semaphore", "Event",
                        "Barrier"})
    set_module(m.attr(c), "interlock.ipc");
  for (const char* c : {"FutexWord", "Mutex", "Semaphore"})
    set_module(fx.attr(c), "interlock.compat.fastipc");
}

}  // namespace interlock::py
