// bindings/ipc_futex.cpp — interlock.ipc's futex primitives on caller-supplied
// buffers (FutexWord, AtomicU32, AtomicU64, Mutex, Semaphore, Event, Barrier),
// the named ones (NamedMutex, NamedSemaphore, NamedEvent), and the native
// classes of the fastipc façade (submodule _fastipc).
//
// Thin: the algorithms, layouts and attach rules are the core's
// (interlock/shm_*.hpp, named_region.hpp). This file acquires and validates
// buffers, applies the timeout conventions (threading's for interlock.ipc,
// nanoseconds for the fastipc façade), and runs every wait through
// interlock::py::blocking(), which releases the GIL / detaches around the
// sleep and runs signal handlers (a handler's exception ends the wait with
// the primitive unchanged).
//
// One C++ object per core primitive, Prim<P> (the core object P in a buffer
// or named region); the named and fastipc classes are empty subclasses of it
// (nanobind registers one Python class per C++ type). A named class inherits
// its buffer class's methods; the fastipc ones have tables of their own.
//
// Memory (buffer exports, named regions) and its lifetime: ipc_memory.hpp.
// (mmap.close() / SharedMemory.close() raise BufferError while a primitive on
// them lives; a thread still waiting in a closed named object never touches
// unmapped memory.)
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/optional.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <optional>

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
using interlock::WaitStatus;
using interlock::py::wait_deadline;

namespace {

using namespace interlock::py::ipcmem;

// ============================================================ objects

/// The core primitive P in a buffer or a named region.
template <class P>
struct Prim : ShmBase {
  P p{nullptr};
};
using IpcMutex = Prim<shm::ShmMutex>;
using IpcSemaphore = Prim<shm::ShmSemaphore>;
using IpcEvent = Prim<shm::ShmEvent>;
using IpcBarrier = Prim<shm::ShmBarrier>;
struct IpcNamedMutex : IpcMutex {};
struct IpcNamedSemaphore : IpcSemaphore {};
struct IpcNamedEvent : IpcEvent {};
struct IpcFxMutex : IpcMutex {};
struct IpcFxSemaphore : IpcSemaphore {};

/// A bare word of T (FutexWord: a futex; AtomicU32 / U64).
template <class T>
struct Word : ShmBase {
  std::atomic<T>* a = nullptr;
};
struct IpcFutexWord : Word<std::uint32_t> {};
struct IpcFxFutexWord : IpcFutexWord {};

void check_attach(shm::AttachResult r, const char* what) {
  if (r == shm::AttachResult::created || r == shm::AttachResult::attached) return;
  PyErr_Format(PyExc_ValueError, "%s: cannot attach: %s", what, shm::describe(r));
  throw nb::python_error();
}

/// Constructs T in place, then runs attach(obj) (export the buffer or open
/// the region, attach the core object); if that throws, T is destroyed again
/// so that nanobind sees an uninitialised instance.
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

/// The core object in `size` bytes of buffer at offset, attached by
/// attach(P&) -> AttachResult.
template <class T, class A>
void buffer_init(T* self, nb::handle buffer, std::size_t offset, bool shared, const char* what,
                 A&& attach) {
  construct(self, [&](T& o) {
    using P = decltype(o.p);
    export_buffer(o, buffer, offset, P::size, P::alignment, what);
    o.shared = shared;
    o.p = P(o.mem, shared);
    check_attach(attach(o.p), what);
  });
}

/// The core object in the named region interlock.<kind>.<name>.
template <class T, class A>
void named_init(T* self, nb::handle name, nb::handle mode, nb::handle pid_dir, const char* kind,
                const char* what, A&& attach) {
  construct(self, [&](T& o) {
    const NamedArgs a = named_args(name, mode, pid_dir);
    open_region(o, kind, a, shm::kLayoutSize);
    o.p = decltype(o.p)(o.mem, true);
    check_attach(attach(o.p), what);
  });
}

// ============================================================ arguments, results

/// An integer argument (through __index__) within [lo, hi]: ValueError
/// `low` below, `high_type`(`high`) above.
std::uint32_t u32_arg(PyObject* v, long long lo, long long hi, const char* low,
                      PyObject* high_type, const char* high) {
  PyObject* idx = PyNumber_Index(v);
  if (!idx) throw nb::python_error();
  int overflow = 0;
  const long long n = PyLong_AsLongLongAndOverflow(idx, &overflow);
  Py_DECREF(idx);
  if (n == -1 && !overflow && PyErr_Occurred()) throw nb::python_error();
  if (overflow < 0 || (!overflow && n < lo)) {
    PyErr_SetString(PyExc_ValueError, low);
    throw nb::python_error();
  }
  if (overflow > 0 || n > hi) {
    PyErr_SetString(high_type, high);
    throw nb::python_error();
  }
  return static_cast<std::uint32_t>(n);
}

constexpr long long kU32Max = UINT32_MAX;

std::uint32_t initial_value(nb::handle value) {
  if (value.is_none()) return 0;
  return u32_arg(value.ptr(), 0, kU32Max, "semaphore initial value must be >= 0",
                 PyExc_OverflowError, "semaphore initial value must be < 2**32");
}

inline PyObject* status_result(WaitStatus s) noexcept {
  if (IL_PY_UNLIKELY(s == WaitStatus::interrupted)) return ilpy::raise_interrupted();
  return Py_NewRef(s == WaitStatus::ok ? Py_True : Py_False);
}

inline PyObject* lock_result(shm::LockResult r) noexcept {
  switch (r) {
    case shm::LockResult::ok:
    case shm::LockResult::owner_died: Py_RETURN_TRUE;
    case shm::LockResult::timed_out: Py_RETURN_FALSE;
    case shm::LockResult::interrupted: break;
  }
  return ilpy::raise_interrupted();
}

// ============================================================ FutexWord

std::uint32_t futex_load(IpcFutexWord& f) noexcept { return f.a->load(std::memory_order_acquire); }
void futex_store(IpcFutexWord& f, std::uint32_t v) noexcept {
  f.a->store(v, std::memory_order_release);
}
int futex_wake(IpcFutexWord& f, std::optional<int> n) noexcept {
  int count = n.value_or(1);
  if (count < 0) count = INT_MAX;
  return shm::futex_wake(f.a, count, f.shared);
}

/// Sleeps while the word is `expected`: the core's FutexWait, or null with
/// the signal handler's exception.
PyObject* futex_sleep(IpcFutexWord& f, std::uint32_t expected, Deadline d, bool fastipc) noexcept {
  if (f.a->load(std::memory_order_acquire) != expected) return Py_NewRef(fastipc ? Py_False : Py_True);
  if (d.is_immediate()) Py_RETURN_FALSE;
  const auto r = ilpy::blocking([&] { return shm::futex_wait(f.a, expected, d, f.shared); });
  if (r == shm::FutexWait::interrupted) return ilpy::raise_interrupted();
  // interlock.ipc: False only on timeout; fastipc: True only when woken.
  if (fastipc) return Py_NewRef(r == shm::FutexWait::woken ? Py_True : Py_False);
  return Py_NewRef(r == shm::FutexWait::timed_out ? Py_False : Py_True);
}

PyObject* futex_wait(IpcFutexWord& f, std::uint32_t expected, std::optional<PyObject*> timeout) noexcept {
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  return futex_sleep(f, expected, d, false);
}

PyObject* fx_futex_wait(IpcFxFutexWord& f, std::uint32_t expected,
                        std::optional<long long> timeout_ns) noexcept {
  Deadline d;
  if (!ilpy::fastipc_ns_deadline(timeout_ns.value_or(-1), &d)) return nullptr;
  return futex_sleep(f, expected, d, true);
}

PyMethodDef futex_methods[] = {
    ilpy::method<&futex_load, "load($self, /)", "The word's value (acquire load).">(),
    ilpy::method<&futex_store, "store($self, value, /)",
                 "Store value (0 <= value < 2**32) with release order; wakes nobody.">(),
    ilpy::method<&futex_wait, "wait($self, expected, timeout=None, /)",
                 "Sleep while the word equals expected, until a wake(), for at most timeout\n"
                 "seconds (None: forever; zero or negative: do not sleep). Return False on\n"
                 "timeout, True otherwise (woken, or the value differed; may be spurious:\n"
                 "re-check in a loop). Releases the GIL; interruptible by signals.">(),
    ilpy::method<&futex_wake, "wake($self, n=1, /)",
                 "Wake up to n sleepers (any process; n < 0: all). Return how many woke.">(),
    ilpy::methods_end,
};

PyMethodDef fx_futex_methods[] = {
    ilpy::method<+[](IpcFxFutexWord& f) noexcept { return futex_load(f); },
                 "load_acquire($self, /)", "The word's value (acquire load).">(),
    ilpy::method<+[](IpcFxFutexWord& f, std::uint32_t v) noexcept { futex_store(f, v); },
                 "store_release($self, v, /)", "Store v with release order.">(),
    ilpy::method<&fx_futex_wait, "wait($self, /, expected, timeout_ns=-1)",
                 "Sleep while the word equals expected (timeout_ns: nanoseconds, -1 =\n"
                 "forever). True if woken by wake(); False on timeout or if the word did\n"
                 "not equal expected.">(),
    ilpy::method<+[](IpcFxFutexWord& f, std::optional<int> n) noexcept { return futex_wake(f, n); },
                 "wake($self, /, n=1)", "Wake up to n waiters; return how many woke.">(),
    ilpy::methods_end,
};

// ============================================================ AtomicU32 / AtomicU64

template <class T>
struct AtomicTable {
  static T load(Word<T>& x) noexcept { return x.a->load(std::memory_order_acquire); }
  static void store(Word<T>& x, T v) noexcept { x.a->store(v, std::memory_order_release); }
  static bool cas(Word<T>& x, T expected, T desired) noexcept {
    return x.a->compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                        std::memory_order_acquire);
  }
  static T exchange(Word<T>& x, T v) noexcept { return x.a->exchange(v, std::memory_order_acq_rel); }
  static T fetch_add(Word<T>& x, T v) noexcept { return x.a->fetch_add(v, std::memory_order_acq_rel); }

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

// ============================================================ Mutex

/// Locks within d (waiting with the GIL released unless d is immediate).
PyObject* mutex_lock(IpcMutex& s, Deadline d) noexcept {
  if (d.is_immediate()) return lock_result(s.p.lock_until(d));
  return lock_result(ilpy::blocking([&] { return s.p.lock_until(d); }));
}

PyObject* mutex_enter(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.p.try_lock())) Py_RETURN_TRUE;
  return mutex_lock(s, Deadline::never());
}

PyObject* mutex_acquire(IpcMutex& s, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  if (!blocking.given() && !timeout.given()) return mutex_enter(s);
  IL_CHECK_OPEN(s);
  Deadline d;
  if (!ilpy::passed_threading_deadline(blocking, timeout, &d)) return nullptr;
  return mutex_lock(s, d);
}

PyObject* mutex_release(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  if (IL_PY_UNLIKELY(!s.p.unlock())) {
    PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* mutex_exit(IpcMutex& s, PyObject*, PyObject*, PyObject*) noexcept { return mutex_release(s); }
PyObject* mutex_locked(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  return Py_NewRef(s.p.locked() ? Py_True : Py_False);
}

PyMethodDef mutex_methods[] = {
    ilpy::method<&mutex_acquire, "acquire($self, /, blocking=True, timeout=-1)",
                 "Acquire the lock, threading.Lock's way: wait while blocking is true, for at\n"
                 "most timeout seconds (-1: forever). Return whether it was acquired. If the\n"
                 "previous owner process died holding it, the lock is taken over (within about\n"
                 "a second) and owner_died is True until release(). Waiting releases the GIL\n"
                 "and is interruptible by signals.">(),
    ilpy::method<&mutex_release, "release($self, /)",
                 "Release the lock (RuntimeError if it is not locked). Any thread or process\n"
                 "may release it.">(),
    ilpy::method<&mutex_locked, "locked($self, /)", "Whether the lock is held.">(),
    ilpy::method<&mutex_enter, "__enter__($self, /)", "acquire(); return True.">(),
    ilpy::method<&mutex_exit, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release().">(),
    ilpy::methods_end,
};

// fastipc's Mutex: acquire() blocks (no arguments), release() of an unlocked
// mutex is a no-op, __enter__ returns the mutex.
PyObject* fx_mutex_acquire_ns(IpcFxMutex& s, std::optional<long long> timeout_ns,
                              std::optional<int> spin) noexcept {
  (void)spin;  // the core decides how to spin
  Deadline d;
  if (!ilpy::fastipc_ns_deadline(timeout_ns.value_or(-1), &d)) return nullptr;
  return mutex_lock(s, d);
}
PyObject* fx_mutex_enter(PyObject* self, IpcFxMutex& s) noexcept {
  if (INTERLOCK_UNLIKELY(!s.p.try_lock())) {
    if (ilpy::blocking([&] { return s.p.lock_until(Deadline::never()); }) ==
        shm::LockResult::interrupted)
      return lock_result(shm::LockResult::interrupted);
  }
  return Py_NewRef(self);
}
void fx_mutex_release(IpcFxMutex& s) noexcept { s.p.unlock(); }

PyMethodDef fx_mutex_methods[] = {
    ilpy::method<+[](IpcFxMutex& s) noexcept { return mutex_enter(s); }, "acquire($self, /)",
                 "Acquire the mutex, blocking; return True.">(),
    ilpy::method<&fx_mutex_acquire_ns, "acquire_ns($self, /, timeout_ns=-1, spin=16)",
                 "Acquire within timeout_ns nanoseconds (-1: forever); return whether it was\n"
                 "acquired.">(),
    ilpy::method<+[](IpcFxMutex& s) noexcept {
                   return s.p.lock_until(Deadline::immediate()) != shm::LockResult::timed_out;
                 },
                 "try_acquire($self, /)",
                 "Acquire without blocking; return whether it was acquired.">(),
    ilpy::method<&fx_mutex_release, "release($self, /)", "Release the mutex.">(),
    ilpy::method<+[](IpcFxMutex& s) noexcept { return s.p.owner_pid(); }, "owner_pid($self, /)",
                 "PID of the holding process, 0 when unlocked.">(),
    ilpy::method<&fx_mutex_enter, "__enter__($self, /)", "acquire(); return the mutex.">(),
    ilpy::method<+[](IpcFxMutex& s, PyObject*, PyObject*, PyObject*) noexcept { s.p.unlock(); },
                 "__exit__($self, exc_type, exc, tb, /)", "release().">(),
    ilpy::methods_end,
};

// ============================================================ Semaphore

PyObject* sem_wait_deadline(IpcSemaphore& s, Deadline d) noexcept {
  if (d.is_immediate()) return Py_NewRef(s.p.try_wait() ? Py_True : Py_False);
  return status_result(ilpy::blocking([&] { return s.p.wait_until(d); }));
}

PyObject* sem_wait(IpcSemaphore& s, std::optional<PyObject*> timeout) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.p.try_wait())) Py_RETURN_TRUE;
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  return sem_wait_deadline(s, d);
}

PyObject* sem_enter(IpcSemaphore& s) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.p.try_wait())) Py_RETURN_TRUE;
  return sem_wait_deadline(s, Deadline::never());
}

PyObject* sem_acquire(IpcSemaphore& s, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  if (!blocking.given() && !timeout.given()) return sem_enter(s);
  IL_CHECK_OPEN(s);
  int b = 1;
  if (blocking.given() && (b = PyObject_IsTrue(blocking.obj)) < 0) return nullptr;
  if (!b && timeout.given() && timeout.obj != Py_None) {
    PyErr_SetString(PyExc_ValueError, "can't specify timeout for non-blocking acquire");
    return nullptr;
  }
  Deadline d = Deadline::immediate();
  if (b && !wait_deadline(timeout.obj, &d)) return nullptr;
  return sem_wait_deadline(s, d);
}

PyObject* sem_post_n(IpcSemaphore& s, std::uint32_t n) noexcept {
  if (IL_PY_UNLIKELY(!s.p.post(n))) {
    PyErr_SetString(PyExc_OverflowError, "semaphore value would exceed 2**32-1");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* sem_post(IpcSemaphore& s, ilpy::passed n) {
  IL_CHECK_OPEN(s);
  if (!n.given()) return sem_post_n(s, 1);
  return sem_post_n(s, u32_arg(n.obj, 1, kU32Max, "n must be one or more", PyExc_OverflowError,
                               "semaphore value would exceed 2**32-1"));
}

PyObject* sem_exit(IpcSemaphore& s, PyObject*, PyObject*, PyObject*) noexcept {
  IL_CHECK_OPEN(s);
  return sem_post_n(s, 1);
}

PyMethodDef sem_methods[] = {
    ilpy::method<&sem_post, "post($self, n=1, /)",
                 "Add n tokens (n >= 1) and wake up to n waiters (exact delivery: never more\n"
                 "wake-ups than tokens). OverflowError past 2**32-1.">(),
    ilpy::method<&sem_wait, "wait($self, /, timeout=None)",
                 "Take a token, waiting for at most timeout seconds (None: forever; zero or\n"
                 "negative: do not wait). Return whether one was taken. Releases the GIL;\n"
                 "interruptible by signals (nothing is taken then).">(),
    ilpy::method<&sem_acquire, "acquire($self, /, blocking=True, timeout=None)",
                 "threading.Semaphore.acquire: take a token.">(),
    ilpy::method<&sem_post, "release($self, /, n=1)", "threading.Semaphore.release: post(n).">(),
    ilpy::method<&sem_enter, "__enter__($self, /)", "wait(); return True.">(),
    ilpy::method<&sem_exit, "__exit__($self, exc_type, exc_value, traceback, /)", "post().">(),
    ilpy::methods_end,
};

PyObject* fx_sem_wait(IpcFxSemaphore& s, std::optional<bool> blocking,
                      std::optional<long long> timeout_ns, std::optional<int> spin) noexcept {
  (void)spin;
  if (INTERLOCK_LIKELY(s.p.try_wait())) Py_RETURN_TRUE;
  Deadline d = Deadline::immediate();
  if (blocking.value_or(true) && !ilpy::fastipc_ns_deadline(timeout_ns.value_or(-1), &d)) return nullptr;
  return sem_wait_deadline(s, d);
}

PyMethodDef fx_sem_methods[] = {
    ilpy::method<+[](IpcFxSemaphore& s, std::optional<std::uint32_t> n) noexcept {
                   const std::uint32_t k = n.value_or(1);
                   return k == 0 ? Py_NewRef(Py_None) : sem_post_n(s, k);
                 },
                 "post($self, /, n=1)", "Add n tokens; wake waiters.">(),
    ilpy::method<+[](IpcFxSemaphore& s) noexcept { return sem_post_n(s, 1); }, "post1($self, /)",
                 "post(1).">(),
    ilpy::method<&fx_sem_wait, "wait($self, /, blocking=True, timeout_ns=-1, spin=128)",
                 "Take a token; blocking for at most timeout_ns nanoseconds (-1: forever).\n"
                 "Return whether one was taken.">(),
    ilpy::method<+[](IpcFxSemaphore& s) noexcept { return s.p.value(); }, "value($self, /)",
                 "The current count.">(),
    ilpy::methods_end,
};

// ============================================================ Event

PyObject* event_is_set(IpcEvent& e) noexcept {
  IL_CHECK_OPEN(e);
  return Py_NewRef(e.p.is_set() ? Py_True : Py_False);
}
PyObject* event_set(IpcEvent& e) noexcept {
  IL_CHECK_OPEN(e);
  e.p.set();
  Py_RETURN_NONE;
}
PyObject* event_clear(IpcEvent& e) noexcept {
  IL_CHECK_OPEN(e);
  e.p.clear();
  Py_RETURN_NONE;
}
PyObject* event_wait(IpcEvent& e, std::optional<PyObject*> timeout) noexcept {
  IL_CHECK_OPEN(e);
  if (INTERLOCK_LIKELY(e.p.is_set())) Py_RETURN_TRUE;
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  if (d.is_immediate()) Py_RETURN_FALSE;
  return status_result(ilpy::blocking([&] { return e.p.wait_until(d); }));
}

PyMethodDef event_methods[] = {
    ilpy::method<&event_is_set, "is_set($self, /)", "Whether the flag is set.">(),
    ilpy::method<&event_set, "set($self, /)",
                 "Set the flag and wake every waiter (of every process).">(),
    ilpy::method<&event_clear, "clear($self, /)", "Clear the flag.">(),
    ilpy::method<&event_wait, "wait($self, /, timeout=None)",
                 "Wait until the flag is set, for at most timeout seconds (None: forever;\n"
                 "zero or negative: do not wait). Return whether it is set. Releases the\n"
                 "GIL; interruptible by signals.">(),
    ilpy::methods_end,
};

// ============================================================ Barrier

/// The attach rule is the core's (ShmBarrier::open); this reports it.
shm::AttachResult barrier_open(shm::ShmBarrier& b, std::uint32_t parties) {
  shm::AttachResult attached{};
  switch (b.open(parties, &attached)) {
    case shm::ShmBarrier::Open::parties_required:
      PyErr_SetString(PyExc_ValueError, "Barrier: parties is required to initialise fresh memory");
      throw nb::python_error();
    case shm::ShmBarrier::Open::parties_mismatch:
      PyErr_Format(PyExc_ValueError, "Barrier: the memory holds a barrier for %u parties, not %u",
                   b.parties(), parties);
      throw nb::python_error();
    case shm::ShmBarrier::Open::ok: break;
  }
  return attached;
}

PyObject* broken_barrier() noexcept {
  PyObject* threading = PyImport_ImportModule("threading");
  if (!threading) return nullptr;
  PyObject* exc = PyObject_GetAttrString(threading, "BrokenBarrierError");
  Py_DECREF(threading);
  if (!exc) return nullptr;
  PyErr_SetNone(exc);
  Py_DECREF(exc);
  return nullptr;
}

PyObject* barrier_wait(IpcBarrier& b, std::optional<PyObject*> timeout) noexcept {
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  std::uint32_t index = 0;
  switch (ilpy::blocking([&] { return b.p.wait_until(d, &index); })) {
    case shm::ShmBarrier::Result::passed: return PyLong_FromUnsignedLong(index);
    case shm::ShmBarrier::Result::interrupted: return ilpy::raise_interrupted();
    case shm::ShmBarrier::Result::broken:
    case shm::ShmBarrier::Result::timed_out: break;
  }
  return broken_barrier();
}

PyMethodDef barrier_methods[] = {
    ilpy::method<&barrier_wait, "wait($self, /, timeout=None)",
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

// ============================================================ constructors

/// A bare word in `sizeof(T)` bytes of buffer at offset (T-aligned).
template <class W>
void word_init(W* self, nb::handle buffer, std::size_t offset, bool shared) {
  using T = typename std::remove_pointer_t<decltype(self->a)>::value_type;
  construct(self, [&](W& o) {
    export_buffer(o, buffer, offset, sizeof(T), sizeof(T),
                  std::is_base_of_v<IpcFutexWord, W> ? "FutexWord"
                  : sizeof(T) == 4                   ? "AtomicU32"
                                                     : "AtomicU64");
    o.a = static_cast<std::atomic<T>*>(o.mem);
    o.shared = shared;
  });
}

void semaphore_init(IpcSemaphore* self, nb::handle buffer, nb::handle value, std::size_t offset,
                    bool shared) {
  const std::uint32_t v = initial_value(value);
  buffer_init(self, buffer, offset, shared, "Semaphore", [v](auto& p) { return p.attach(v); });
}

// ============================================================ classes

/// A buffer-backed class: size / alignment, shared (unless a bare atomic),
/// _source / _offset (for pickling, python/interlock/ipc/_futex.py).
template <class T, PyMethodDef* Methods>
nb::class_<T> buffer_class(nb::handle m, const char* name, const char* doc, std::size_t size,
                           std::size_t alignment, bool shared = true) {
  nb::class_<T> c(m, name, ilpy::method_slots<Methods>(), nb::is_weak_referenceable(), doc);
  c.def_prop_ro("_source", [](const T& s) { return source_of(s); })
      .def_prop_ro("_offset", [](const T& s) { return s.offset; });
  if (shared) c.def_prop_ro("shared", [](const T& s) { return s.shared; });
  c.attr("size") = size;
  c.attr("alignment") = alignment;
  return c;
}

/// A named subclass of Base (its methods), with the named objects' members.
template <class T, class Base>
nb::class_<T, Base> named_class(nb::handle m, const char* name, const char* doc) {
  nb::class_<T, Base> c(m, name, nb::is_weak_referenceable(), doc);
  add_named_members(c);
  c.def_prop_ro("created", [](const T& s) { return s.region->created(); },
                "Whether this process created the object (rather than attached to it).");
  return c;
}

/// A fastipc class (no Python base: fastipc's classes are unrelated).
template <class T, PyMethodDef* Methods>
nb::class_<T> fastipc_class(nb::handle m, const char* name, const char* doc) {
  return nb::class_<T>(m, name, ilpy::method_slots<Methods>(), nb::is_weak_referenceable(), doc);
}

}  // namespace

namespace interlock::py {

void init_ipc_futex(nb::module_& m) {
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const interlock::NamedRegionError& e) {
      set_region_error(e);
    }
  });

  // A forked child registers itself as a user of every named object it
  // inherited (so the parent's exit does not remove a name the child still
  // uses); interpreter exit closes them all (the last process to close a name
  // removes it; one that dies without closing is reaped by the next process
  // that attaches or closes).
  nb::module_::import_("os").attr("register_at_fork")(
      nb::arg("after_in_child") = nb::cpp_function(&NamedRegion::adopt_all_after_fork));
  nb::module_::import_("atexit").attr("register")(nb::cpp_function([] {
    nb::gil_scoped_release nogil;
    NamedRegion::close_all();
  }));

  // ---------------------------------------------------------- FutexWord, atomics
  auto fw = buffer_class<IpcFutexWord, futex_methods>(
      m, "FutexWord",
      "FutexWord(buffer, offset=0, shared=True)\n\n"
      "A 32-bit futex word in a caller-supplied writable buffer (4 bytes, 4-byte\n"
      "aligned, at offset): wait(expected, timeout) / wake(n), acquire load()\n"
      "and release store(). shared=False uses process-private futexes (threads\n"
      "of one process only; every user of the word must agree).", 4, 4);
  fw.def("__init__", &word_init<IpcFutexWord>, "buffer"_a, "offset"_a = 0, "shared"_a = true);
  auto a32 = buffer_class<Word<std::uint32_t>, AtomicTable<std::uint32_t>::methods>(
      m, "AtomicU32",
      "AtomicU32(buffer, offset=0)\n\n"
      "An unsigned 32-bit atomic in a caller-supplied writable buffer (4 bytes,\n"
      "4-byte aligned): load/store/cas/exchange/fetch_add.", 4, 4, false);
  a32.def("__init__", [](Word<std::uint32_t>* self, nb::handle buffer, std::size_t offset) {
    word_init(self, buffer, offset, true);
  }, "buffer"_a, "offset"_a = 0);
  auto a64 = buffer_class<Word<std::uint64_t>, AtomicTable<std::uint64_t>::methods>(
      m, "AtomicU64",
      "AtomicU64(buffer, offset=0)\n\n"
      "An unsigned 64-bit atomic in a caller-supplied writable buffer (8 bytes,\n"
      "8-byte aligned): load/store/cas/exchange/fetch_add.", 8, 8, false);
  a64.def("__init__", [](Word<std::uint64_t>* self, nb::handle buffer, std::size_t offset) {
    word_init(self, buffer, offset, true);
  }, "buffer"_a, "offset"_a = 0);

  // ---------------------------------------------------------- Mutex
  auto mtx = buffer_class<IpcMutex, mutex_methods>(
      m, "Mutex",
      "Mutex(buffer, offset=0, shared=True)\n\n"
      "A lock in a caller-supplied writable buffer (64 bytes, 4-byte aligned, at\n"
      "offset; zero-filled memory is initialised, an existing Mutex is attached,\n"
      "anything else is refused), usable by threads of any process mapping it.\n"
      "threading.Lock's API. If a process dies holding it, the next acquirer gets\n"
      "it within about a second and owner_died is True while it holds it.",
      shm::ShmMutex::size, shm::ShmMutex::alignment);
  mtx.def("__init__", [](IpcMutex* self, nb::handle buffer, std::size_t offset, bool shared) {
    buffer_init(self, buffer, offset, shared, "Mutex", [](auto& p) { return p.attach(); });
  }, "buffer"_a, "offset"_a = 0, "shared"_a = true)
      .def_prop_ro("owner_pid", [](const IpcMutex& s) { return s.p.owner_pid(); },
                   "PID of the process holding the lock (0: unlocked).")
      .def_prop_ro("owner_died", [](const IpcMutex& s) { return s.p.owner_died(); },
                   "True while the current holding was taken over from a process that died\n"
                   "holding the lock: the data it protects may need repair.")
      .def_prop_ro("recoveries", [](const IpcMutex& s) { return s.p.recoveries(); },
                   "How many times the lock was taken over from a dead owner.");
  auto nmtx = named_class<IpcNamedMutex, IpcMutex>(
      m, "NamedMutex",
      "NamedMutex(name, *, mode=0o600, pid_dir=None)\n\n"
      "A Mutex created or attached by name under /dev/shm, with PID tracking.");
  nmtx.def("__init__", [](IpcNamedMutex* self, nb::handle name, nb::handle mode, nb::handle pid_dir) {
    named_init(self, name, mode, pid_dir, "mutex", "NamedMutex",
               [](auto& p) { return p.attach(true); });
  }, "name"_a, nb::kw_only(), "mode"_a = 0600, "pid_dir"_a.none() = nb::none());

  // ---------------------------------------------------------- Semaphore
  auto sem = buffer_class<IpcSemaphore, sem_methods>(
      m, "Semaphore",
      "Semaphore(buffer, value=0, offset=0, shared=True)\n\n"
      "A counting semaphore in a caller-supplied writable buffer (64 bytes,\n"
      "4-byte aligned). value initialises fresh (zero-filled) memory; attaching to\n"
      "an existing Semaphore keeps its count. post(n) / wait(timeout), and\n"
      "threading.Semaphore's acquire/release/with.",
      shm::ShmSemaphore::size, shm::ShmSemaphore::alignment);
  sem.def("__init__", &semaphore_init, "buffer"_a, "value"_a.none() = 0,
          "offset"_a = 0, "shared"_a = true)
      .def_prop_ro("value", [](const IpcSemaphore& s) { return s.p.value(); },
                   "The tokens available now (a snapshot).");
  auto nsem = named_class<IpcNamedSemaphore, IpcSemaphore>(
      m, "NamedSemaphore",
      "NamedSemaphore(name, value=0, *, mode=0o600, pid_dir=None)\n\n"
      "A Semaphore created or attached by name under /dev/shm, with PID tracking;\n"
      "value applies when this call creates it.");
  nsem.def("__init__", [](IpcNamedSemaphore* self, nb::handle name, nb::handle value,
                          nb::handle mode, nb::handle pid_dir) {
    const std::uint32_t v = initial_value(value);
    named_init(self, name, mode, pid_dir, "semaphore", "NamedSemaphore",
               [v](auto& p) { return p.attach(v, true); });
  }, "name"_a, "value"_a.none() = 0, nb::kw_only(), "mode"_a = 0600,
     "pid_dir"_a.none() = nb::none());

  // ---------------------------------------------------------- Event
  auto ev = buffer_class<IpcEvent, event_methods>(
      m, "Event",
      "Event(buffer, offset=0, shared=True)\n\n"
      "A flag in a caller-supplied writable buffer (64 bytes, 4-byte aligned)\n"
      "that threads of any process can wait for: threading.Event's API.",
      shm::ShmEvent::size, shm::ShmEvent::alignment);
  ev.def("__init__", [](IpcEvent* self, nb::handle buffer, std::size_t offset, bool shared) {
    buffer_init(self, buffer, offset, shared, "Event", [](auto& p) { return p.attach(); });
  }, "buffer"_a, "offset"_a = 0, "shared"_a = true);
  auto nev = named_class<IpcNamedEvent, IpcEvent>(
      m, "NamedEvent",
      "NamedEvent(name, *, mode=0o600, pid_dir=None)\n\n"
      "An Event created or attached by name under /dev/shm, with PID tracking.");
  nev.def("__init__", [](IpcNamedEvent* self, nb::handle name, nb::handle mode, nb::handle pid_dir) {
    named_init(self, name, mode, pid_dir, "event", "NamedEvent",
               [](auto& p) { return p.attach(true); });
  }, "name"_a, nb::kw_only(), "mode"_a = 0600, "pid_dir"_a.none() = nb::none());

  // ---------------------------------------------------------- Barrier
  auto bar = buffer_class<IpcBarrier, barrier_methods>(
      m, "Barrier",
      "Barrier(buffer, parties=None, offset=0, shared=True)\n\n"
      "A cyclic barrier for parties threads of any processes, in a caller-supplied\n"
      "writable buffer (64 bytes, 4-byte aligned): threading.Barrier's wait /\n"
      "abort / reset / parties / n_waiting / broken. parties is required for fresh\n"
      "memory and, if given, must match an existing barrier.",
      shm::ShmBarrier::size, shm::ShmBarrier::alignment);
  bar.def("__init__", [](IpcBarrier* self, nb::handle buffer, nb::handle parties,
                         std::size_t offset, bool shared) {
    constexpr long long kMax = shm::ShmBarrier::kMaxParties;
    const char* range = "parties must be between 1 and 2**30";
    const std::uint32_t n =
        parties.is_none() ? 0 : u32_arg(parties.ptr(), 1, kMax, range, PyExc_ValueError, range);
    buffer_init(self, buffer, offset, shared, "Barrier", [n](auto& p) { return barrier_open(p, n); });
  }, "buffer"_a, "parties"_a.none() = nb::none(), "offset"_a = 0, "shared"_a = true)
      .def_prop_ro("parties", [](const IpcBarrier& b) { return b.p.parties(); })
      .def_prop_ro("n_waiting", [](const IpcBarrier& b) { return b.p.n_waiting(); })
      .def_prop_ro("broken", [](const IpcBarrier& b) { return b.p.broken(); });

  // ---------------------------------------------------------- fastipc
  nb::module_ fx = m.def_submodule("_fastipc", "Native classes of interlock.compat.fastipc.");
  auto ffw = fastipc_class<IpcFxFutexWord, fx_futex_methods>(
      fx, "FutexWord",
      "FutexWord(buffer, shared=True)\n\nfastipc's buffer-backed futex word (4 bytes, 4-byte "
      "aligned).");
  ffw.def("__init__", [](IpcFxFutexWord* self, nb::handle buffer, bool shared) {
    word_init(self, buffer, 0, shared);
  }, "buffer"_a, "shared"_a = true);
  auto fm = fastipc_class<IpcFxMutex, fx_mutex_methods>(
      fx, "Mutex",
      "Mutex(buffer, shared=True)\n\nfastipc's buffer-backed mutex (64 bytes, 4-byte aligned).");
  fm.def("__init__", [](IpcFxMutex* self, nb::handle buffer, bool shared) {
    buffer_init(self, buffer, 0, shared, "Mutex", [](auto& p) { return p.attach(); });
  }, "buffer"_a, "shared"_a = true);
  auto fs = fastipc_class<IpcFxSemaphore, fx_sem_methods>(
      fx, "Semaphore",
      "Semaphore(buffer, initial=None, shared=True)\n\n"
      "fastipc's buffer-backed semaphore (64 bytes, 4-byte aligned). initial, if\n"
      "given, sets the count; None attaches without changing it.");
  fs.def("__init__", [](IpcFxSemaphore* self, nb::handle buffer, nb::handle initial, bool shared) {
    const std::uint32_t v = initial_value(initial);
    buffer_init(self, buffer, 0, shared, "Semaphore", [&](auto& p) {
      const auto r = p.attach(0);
      if (!initial.is_none()) p.store_value(v);
      return r;
    });
  }, "buffer"_a, "initial"_a.none() = nb::none(), "shared"_a = true);

  for (nb::handle c : std::initializer_list<nb::handle>{fw, a32, a64, mtx, nmtx, sem, nsem, ev,
                                                        nev, bar})
    set_module(c, "interlock.ipc");
  for (nb::handle c : std::initializer_list<nb::handle>{ffw, fm, fs})
    set_module(c, "interlock.compat.fastipc");
}

}  // namespace interlock::py
