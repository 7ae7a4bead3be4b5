// bindings/ipc_futex.cpp — interlock.ipc's futex primitives on caller-supplied
// buffers (FutexWord, AtomicU32, AtomicU64, Mutex, Semaphore, Event, Barrier),
// the named ones (NamedMutex, NamedSemaphore, NamedEvent), and the native
// classes of the fastipc façade (submodule _fastipc).
//
// Thin: the algorithms and layouts are the core's (interlock/shm_*.hpp,
// named_region.hpp). This file acquires and validates buffers, applies the
// timeout conventions (threading's for interlock.ipc, nanoseconds for the
// fastipc façade), and runs every wait through interlock::py::blocking(),
// which releases the GIL / detaches around the sleep and runs signal handlers
// (a handler's exception ends the wait with the primitive unchanged).
//
// Memory (buffer exports, named regions) and its lifetime: ipc_memory.hpp.
// (mmap.close() / SharedMemory.close() raise BufferError while a primitive on
// them lives; a thread still waiting in a closed named object never touches
// unmapped memory.)
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/optional.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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

constexpr const char* kModule = "interlock.ipc";
constexpr const char* kFastipcModule = "interlock.compat.fastipc";

// ============================================================ layouts

void check_attach(shm::AttachResult r, const char* what) {
  if (r == shm::AttachResult::created || r == shm::AttachResult::attached) return;
  PyErr_Format(PyExc_ValueError, "%s: cannot attach: %s", what, shm::describe(r));
  throw nb::python_error();
}

// ============================================================ results

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

std::uint32_t read_n(ilpy::passed n_arg, const char* what) {
  if (!n_arg.given()) return 1;
  PyObject* idx = PyNumber_Index(n_arg.obj);
  if (!idx) throw nb::python_error();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  Py_DECREF(idx);
  if (v == -1 && !overflow && PyErr_Occurred()) throw nb::python_error();
  if (overflow < 0 || (!overflow && v < 1)) {
    PyErr_Format(PyExc_ValueError, "%s must be one or more", what);
    throw nb::python_error();
  }
  if (overflow > 0 || v > static_cast<long long>(UINT32_MAX)) {
    PyErr_SetString(PyExc_OverflowError, "semaphore value would exceed 2**32-1");
    throw nb::python_error();
  }
  return static_cast<std::uint32_t>(v);
}

// ============================================================ FutexWord

struct IpcFutexWord : ShmBase {
  std::atomic<std::uint32_t>* word = nullptr;
};
struct IpcFxFutexWord : IpcFutexWord {};

void futex_init(IpcFutexWord* self, nb::handle buffer, std::size_t offset, bool shared) {
  construct(self, [&](IpcFutexWord& o) {
    export_buffer(o, buffer, offset, 4, 4, "FutexWord");
    o.word = static_cast<std::atomic<std::uint32_t>*>(o.mem);
    o.shared = shared;
  });
}

std::uint32_t futex_load(IpcFutexWord& f) noexcept { return f.word->load(std::memory_order_acquire); }
void futex_store(IpcFutexWord& f, std::uint32_t v) noexcept {
  f.word->store(v, std::memory_order_release);
}
int futex_wake(IpcFutexWord& f, std::optional<int> n) noexcept {
  int count = n.value_or(1);
  if (count < 0) count = INT_MAX;
  return shm::futex_wake(f.word, count, f.shared);
}

// wait(expected, timeout=None): False only on timeout.
PyObject* futex_wait(IpcFutexWord& f, std::uint32_t expected, std::optional<PyObject*> timeout) noexcept {
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  if (f.word->load(std::memory_order_acquire) != expected) Py_RETURN_TRUE;
  if (d.is_immediate()) Py_RETURN_FALSE;
  const auto r = ilpy::blocking([&] { return shm::futex_wait(f.word, expected, d, f.shared); });
  if (r == shm::FutexWait::interrupted) return status_result(WaitStatus::interrupted);
  return Py_NewRef(r == shm::FutexWait::timed_out ? Py_False : Py_True);
}

// fastipc: wait(expected, timeout_ns=-1): True only when woken by a wake.
PyObject* fx_futex_wait(IpcFxFutexWord& f, std::uint32_t expected,
                        std::optional<long long> timeout_ns) noexcept {
  Deadline d;
  if (!ilpy::fastipc_ns_deadline(timeout_ns.value_or(-1), &d)) return nullptr;
  if (f.word->load(std::memory_order_acquire) != expected) Py_RETURN_FALSE;
  if (d.is_immediate()) Py_RETURN_FALSE;
  const auto r = ilpy::blocking([&] { return shm::futex_wait(f.word, expected, d, f.shared); });
  if (r == shm::FutexWait::interrupted) return status_result(WaitStatus::interrupted);
  return Py_NewRef(r == shm::FutexWait::woken ? Py_True : Py_False);
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
struct IpcAtomicU : ShmBase {
  std::atomic<T>* a = nullptr;
};
using IpcAtomicU32 = IpcAtomicU<std::uint32_t>;
using IpcAtomicU64 = IpcAtomicU<std::uint64_t>;

template <class T>
void atomic_init(IpcAtomicU<T>* self, nb::handle buffer, std::size_t offset) {
  construct(self, [&](IpcAtomicU<T>& o) {
    export_buffer(o, buffer, offset, sizeof(T), sizeof(T),
                  sizeof(T) == 4 ? "AtomicU32" : "AtomicU64");
    o.a = static_cast<std::atomic<T>*>(o.mem);
  });
}

template <class T>
T atomic_load(IpcAtomicU<T>& x) noexcept { return x.a->load(std::memory_order_acquire); }
template <class T>
void atomic_store(IpcAtomicU<T>& x, T v) noexcept { x.a->store(v, std::memory_order_release); }
template <class T>
bool atomic_cas(IpcAtomicU<T>& x, T expected, T desired) noexcept {
  return x.a->compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                      std::memory_order_acquire);
}
template <class T>
T atomic_exchange(IpcAtomicU<T>& x, T v) noexcept { return x.a->exchange(v, std::memory_order_acq_rel); }
template <class T>
T atomic_fetch_add(IpcAtomicU<T>& x, T v) noexcept {
  return x.a->fetch_add(v, std::memory_order_acq_rel);
}

template <class T>
struct AtomicTable {
  static inline PyMethodDef methods[] = {
      ilpy::method<&atomic_load<T>, "load($self, /)", "The value (acquire load).">(),
      ilpy::method<&atomic_store<T>, "store($self, v, /)", "Store v (release).">(),
      ilpy::method<&atomic_cas<T>, "cas($self, /, expected, new)",
                   "If the value is expected, replace it with new (acq_rel); return whether it\n"
                   "did (strong compare-and-swap).">(),
      ilpy::method<&atomic_exchange<T>, "exchange($self, v, /)",
                   "Store v and return the previous value (acq_rel).">(),
      ilpy::method<&atomic_fetch_add<T>, "fetch_add($self, v, /)",
                   "Add v (wrapping around) and return the previous value (acq_rel).">(),
      ilpy::methods_end,
  };
};

// ============================================================ Mutex

struct IpcMutex : ShmBase {
  shm::ShmMutex m{nullptr};
};
struct IpcNamedMutex : IpcMutex {};
struct IpcFxMutex : IpcMutex {};

void mutex_init(IpcMutex* self, nb::handle buffer, std::size_t offset, bool shared) {
  construct(self, [&](IpcMutex& o) {
    export_buffer(o, buffer, offset, shm::ShmMutex::size, shm::ShmMutex::alignment, "Mutex");
    o.shared = shared;
    o.m = shm::ShmMutex(o.mem, shared);
    check_attach(o.m.attach(), "Mutex");
  });
}

PyObject* mutex_acquire(IpcMutex& s, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  IL_CHECK_OPEN(s);
  if (!blocking.given() && !timeout.given()) {
    if (INTERLOCK_LIKELY(s.m.try_lock())) Py_RETURN_TRUE;
    return lock_result(ilpy::blocking([&] { return s.m.lock_until(Deadline::never()); }));
  }
  Deadline d;
  if (!ilpy::passed_threading_deadline(blocking, timeout, &d)) return nullptr;
  if (d.is_immediate()) return lock_result(s.m.lock_until(d));
  return lock_result(ilpy::blocking([&] { return s.m.lock_until(d); }));
}

PyObject* mutex_enter(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.m.try_lock())) Py_RETURN_TRUE;
  return lock_result(ilpy::blocking([&] { return s.m.lock_until(Deadline::never()); }));
}

PyObject* mutex_release(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  if (IL_PY_UNLIKELY(!s.m.unlock())) {
    PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* mutex_exit(IpcMutex& s, PyObject*, PyObject*, PyObject*) noexcept { return mutex_release(s); }
PyObject* mutex_locked(IpcMutex& s) noexcept {
  IL_CHECK_OPEN(s);
  return Py_NewRef(s.m.locked() ? Py_True : Py_False);
}

#define IL_MUTEX_METHODS                                                                          \
  ilpy::method<&mutex_acquire, "acquire($self, /, blocking=True, timeout=-1)",                    \
               "Acquire the lock, threading.Lock's way: wait while blocking is true, for at\n"    \
               "most timeout seconds (-1: forever). Return whether it was acquired. If the\n"     \
               "previous owner process died holding it, the lock is taken over (within about\n"   \
               "a second) and owner_died is True until release(). Waiting releases the GIL\n"     \
               "and is interruptible by signals.">(),                                             \
      ilpy::method<&mutex_release, "release($self, /)",                                           \
                   "Release the lock (RuntimeError if it is not locked). Any thread or process\n" \
                   "may release it.">(),                                                          \
      ilpy::method<&mutex_locked, "locked($self, /)", "Whether the lock is held.">(),             \
      ilpy::method<&mutex_enter, "__enter__($self, /)", "acquire(); return True.">(),             \
      ilpy::method<&mutex_exit, "__exit__($self, exc_type, exc_value, traceback, /)",             \
                   "release().">()

PyMethodDef mutex_methods[] = {IL_MUTEX_METHODS, ilpy::methods_end};
PyMethodDef named_mutex_methods[] = {IL_MUTEX_METHODS, ilpy::methods_end};

// fastipc's Mutex: acquire() blocks (no arguments), release() of an unlocked
// mutex is a no-op, __enter__ returns the mutex.
PyObject* fx_mutex_acquire(IpcFxMutex& s) noexcept { return mutex_enter(s); }
PyObject* fx_mutex_acquire_ns(IpcFxMutex& s, std::optional<long long> timeout_ns,
                              std::optional<int> spin) noexcept {
  (void)spin;  // the core decides how to spin
  Deadline d;
  if (!ilpy::fastipc_ns_deadline(timeout_ns.value_or(-1), &d)) return nullptr;
  if (d.is_immediate()) return lock_result(s.m.lock_until(d));
  return lock_result(ilpy::blocking([&] { return s.m.lock_until(d); }));
}
bool fx_mutex_try(IpcFxMutex& s) noexcept {
  return s.m.lock_until(Deadline::immediate()) != shm::LockResult::timed_out;
}
void fx_mutex_release(IpcFxMutex& s) noexcept { s.m.unlock(); }
PyObject* fx_mutex_enter(PyObject* self, IpcFxMutex& s) noexcept {
  if (INTERLOCK_UNLIKELY(!s.m.try_lock())) {
    if (ilpy::blocking([&] { return s.m.lock_until(Deadline::never()); }) ==
        shm::LockResult::interrupted)
      return lock_result(shm::LockResult::interrupted);
  }
  return Py_NewRef(self);
}
void fx_mutex_exit(IpcFxMutex& s, PyObject*, PyObject*, PyObject*) noexcept { s.m.unlock(); }

PyMethodDef fx_mutex_methods[] = {
    ilpy::method<&fx_mutex_acquire, "acquire($self, /)",
                 "Acquire the mutex, blocking; return True.">(),
    ilpy::method<&fx_mutex_acquire_ns, "acquire_ns($self, /, timeout_ns=-1, spin=16)",
                 "Acquire within timeout_ns nanoseconds (-1: forever); return whether it was\n"
                 "acquired.">(),
    ilpy::method<&fx_mutex_try, "try_acquire($self, /)",
                 "Acquire without blocking; return whether it was acquired.">(),
    ilpy::method<&fx_mutex_release, "release($self, /)", "Release the mutex.">(),
    ilpy::method<+[](IpcFxMutex& s) noexcept { return s.m.owner_pid(); }, "owner_pid($self, /)",
                 "PID of the holding process, 0 when unlocked.">(),
    ilpy::method<&fx_mutex_enter, "__enter__($self, /)", "acquire(); return the mutex.">(),
    ilpy::method<&fx_mutex_exit, "__exit__($self, exc_type, exc, tb, /)", "release().">(),
    ilpy::methods_end,
};

// ============================================================ Semaphore

struct IpcSemaphore : ShmBase {
  shm::ShmSemaphore s{nullptr};
};
struct IpcNamedSemaphore : IpcSemaphore {};
struct IpcFxSemaphore : IpcSemaphore {};

std::uint32_t initial_value(nb::handle value) {
  if (value.is_none()) return 0;
  PyObject* idx = PyNumber_Index(value.ptr());
  if (!idx) throw nb::python_error();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  Py_DECREF(idx);
  if (v == -1 && !overflow && PyErr_Occurred()) throw nb::python_error();
  if (overflow < 0 || (!overflow && v < 0)) {
    PyErr_SetString(PyExc_ValueError, "semaphore initial value must be >= 0");
    throw nb::python_error();
  }
  if (overflow > 0 || v > static_cast<long long>(UINT32_MAX)) {
    PyErr_SetString(PyExc_OverflowError, "semaphore initial value must be < 2**32");
    throw nb::python_error();
  }
  return static_cast<std::uint32_t>(v);
}

void semaphore_init(IpcSemaphore* self, nb::handle buffer, nb::handle value, std::size_t offset,
                    bool shared) {
  construct(self, [&](IpcSemaphore& o) {
    const std::uint32_t v = initial_value(value);
    export_buffer(o, buffer, offset, shm::ShmSemaphore::size, shm::ShmSemaphore::alignment,
                  "Semaphore");
    o.shared = shared;
    o.s = shm::ShmSemaphore(o.mem, shared);
    check_attach(o.s.attach(v), "Semaphore");
  });
}

PyObject* sem_wait_deadline(IpcSemaphore& s, Deadline d) noexcept {
  if (d.is_immediate()) return Py_NewRef(s.s.try_wait() ? Py_True : Py_False);
  return status_result(ilpy::blocking([&] { return s.s.wait_until(d); }));
}

PyObject* sem_wait(IpcSemaphore& s, std::optional<PyObject*> timeout) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.s.try_wait())) Py_RETURN_TRUE;
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  return sem_wait_deadline(s, d);
}

PyObject* sem_acquire(IpcSemaphore& s, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  IL_CHECK_OPEN(s);
  if (!blocking.given() && !timeout.given()) {
    if (INTERLOCK_LIKELY(s.s.try_wait())) Py_RETURN_TRUE;
    return sem_wait_deadline(s, Deadline::never());
  }
  int b = 1;
  if (blocking.given() && (b = PyObject_IsTrue(blocking.obj)) < 0) return nullptr;
  const bool has_timeout = timeout.given() && timeout.obj != Py_None;
  if (!b && has_timeout) {
    PyErr_SetString(PyExc_ValueError, "can't specify timeout for non-blocking acquire");
    return nullptr;
  }
  Deadline d = Deadline::immediate();
  if (b && !wait_deadline(timeout.obj, &d)) return nullptr;
  return sem_wait_deadline(s, d);
}

PyObject* sem_post_n(IpcSemaphore& s, std::uint32_t n) noexcept {
  if (IL_PY_UNLIKELY(!s.s.post(n))) {
    PyErr_SetString(PyExc_OverflowError, "semaphore value would exceed 2**32-1");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* sem_post(IpcSemaphore& s, ilpy::passed n) {
  IL_CHECK_OPEN(s);
  return sem_post_n(s, read_n(n, "n"));
}

PyObject* sem_enter(IpcSemaphore& s) noexcept {
  IL_CHECK_OPEN(s);
  if (INTERLOCK_LIKELY(s.s.try_wait())) Py_RETURN_TRUE;
  return sem_wait_deadline(s, Deadline::never());
}
PyObject* sem_exit(IpcSemaphore& s, PyObject*, PyObject*, PyObject*) noexcept {
  IL_CHECK_OPEN(s);
  return sem_post_n(s, 1);
}

#define IL_SEM_METHODS                                                                            \
  ilpy::method<&sem_post, "post($self, n=1, /)",                                                  \
               "Add n tokens (n >= 1) and wake up to n waiters (exact delivery: never more\n"     \
               "wake-ups than tokens). OverflowError past 2**32-1.">(),                           \
      ilpy::method<&sem_wait, "wait($self, /, timeout=None)",                                     \
                   "Take a token, waiting for at most timeout seconds (None: forever; zero or\n"  \
                   "negative: do not wait). Return whether one was taken. Releases the GIL;\n"    \
                   "interruptible by signals (nothing is taken then).">(),                        \
      ilpy::method<&sem_acquire, "acquire($self, /, blocking=True, timeout=None)",                \
                   "threading.Semaphore.acquire: take a token.">(),                               \
      ilpy::method<&sem_post, "release($self, /, n=1)", "threading.Semaphore.release: post(n).">(), \
      ilpy::method<&sem_enter, "__enter__($self, /)", "wait(); return True.">(),                  \
      ilpy::method<&sem_exit, "__exit__($self, exc_type, exc_value, traceback, /)", "post().">()

PyMethodDef sem_methods[] = {IL_SEM_METHODS, ilpy::methods_end};
PyMethodDef named_sem_methods[] = {IL_SEM_METHODS, ilpy::methods_end};

PyObject* fx_sem_post(IpcFxSemaphore& s, std::optional<std::uint32_t> n) noexcept {
  const std::uint32_t k = n.value_or(1);
  if (k == 0) Py_RETURN_NONE;
  return sem_post_n(s, k);
}
PyObject* fx_sem_post1(IpcFxSemaphore& s) noexcept { return sem_post_n(s, 1); }
PyObject* fx_sem_wait(IpcFxSemaphore& s, std::optional<bool> blocking,
                      std::optional<long long> timeout_ns, std::optional<int> spin) noexcept {
  (void)spin;
  if (INTERLOCK_LIKELY(s.s.try_wait())) Py_RETURN_TRUE;
  Deadline d = Deadline::immediate();
  if (blocking.value_or(true) && !ilpy::fastipc_ns_deadline(timeout_ns.value_or(-1), &d)) return nullptr;
  return sem_wait_deadline(s, d);
}

PyMethodDef fx_sem_methods[] = {
    ilpy::method<&fx_sem_post, "post($self, /, n=1)", "Add n tokens; wake waiters.">(),
    ilpy::method<&fx_sem_post1, "post1($self, /)", "post(1).">(),
    ilpy::method<&fx_sem_wait, "wait($self, /, blocking=True, timeout_ns=-1, spin=128)",
                 "Take a token; blocking for at most timeout_ns nanoseconds (-1: forever).\n"
                 "Return whether one was taken.">(),
    ilpy::method<+[](IpcFxSemaphore& s) noexcept { return s.s.value(); }, "value($self, /)",
                 "The current count.">(),
    ilpy::methods_end,
};

// ============================================================ Event

struct IpcShmEvent : ShmBase {
  shm::ShmEvent e{nullptr};
};
struct IpcNamedEvent : IpcShmEvent {};

void event_init(IpcShmEvent* self, nb::handle buffer, std::size_t offset, bool shared) {
  construct(self, [&](IpcShmEvent& o) {
    export_buffer(o, buffer, offset, shm::ShmEvent::size, shm::ShmEvent::alignment, "Event");
    o.shared = shared;
    o.e = shm::ShmEvent(o.mem, shared);
    check_attach(o.e.attach(), "Event");
  });
}

PyObject* event_is_set(IpcShmEvent& e) noexcept {
  IL_CHECK_OPEN(e);
  return Py_NewRef(e.e.is_set() ? Py_True : Py_False);
}
PyObject* event_set(IpcShmEvent& e) noexcept {
  IL_CHECK_OPEN(e);
  e.e.set();
  Py_RETURN_NONE;
}
PyObject* event_clear(IpcShmEvent& e) noexcept {
  IL_CHECK_OPEN(e);
  e.e.clear();
  Py_RETURN_NONE;
}
PyObject* event_wait(IpcShmEvent& e, std::optional<PyObject*> timeout) noexcept {
  IL_CHECK_OPEN(e);
  if (INTERLOCK_LIKELY(e.e.is_set())) Py_RETURN_TRUE;
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  if (d.is_immediate()) Py_RETURN_FALSE;
  return status_result(ilpy::blocking([&] { return e.e.wait_until(d); }));
}

#define IL_EVENT_METHODS                                                                       \
  ilpy::method<&event_is_set, "is_set($self, /)", "Whether the flag is set.">(),               \
      ilpy::method<&event_set, "set($self, /)",                                                \
                   "Set the flag and wake every waiter (of every process).">(),                \
      ilpy::method<&event_clear, "clear($self, /)", "Clear the flag.">(),                      \
      ilpy::method<&event_wait, "wait($self, /, timeout=None)",                                \
                   "Wait until the flag is set, for at most timeout seconds (None: forever;\n" \
                   "zero or negative: do not wait). Return whether it is set. Releases the\n"  \
                   "GIL; interruptible by signals.">()

PyMethodDef event_methods[] = {IL_EVENT_METHODS, ilpy::methods_end};
PyMethodDef named_event_methods[] = {IL_EVENT_METHODS, ilpy::methods_end};

// ============================================================ Barrier

struct IpcShmBarrier : ShmBase {
  shm::ShmBarrier b{nullptr};
};

void barrier_init(IpcShmBarrier* self, nb::handle buffer, nb::handle parties, std::size_t offset,
                  bool shared) {
  construct(self, [&](IpcShmBarrier& o) {
    std::uint32_t p = 0;
    if (!parties.is_none()) {
      const long long v = PyLong_AsLongLong(parties.ptr());
      if (v == -1 && PyErr_Occurred()) throw nb::python_error();
      if (v < 1 || v > shm::ShmBarrier::kMaxParties) {
        PyErr_SetString(PyExc_ValueError, "parties must be between 1 and 2**30");
        throw nb::python_error();
      }
      p = static_cast<std::uint32_t>(v);
    }
    export_buffer(o, buffer, offset, shm::ShmBarrier::size, shm::ShmBarrier::alignment,
                  "Barrier");
    o.shared = shared;
    o.b = shm::ShmBarrier(o.mem, shared);
    shm::AttachResult attached{};
    switch (o.b.open(p, &attached)) {
      case shm::ShmBarrier::Open::parties_required:
        PyErr_SetString(PyExc_ValueError,
                        "Barrier: parties is required to initialise fresh memory");
        throw nb::python_error();
      case shm::ShmBarrier::Open::parties_mismatch:
        PyErr_Format(PyExc_ValueError,
                     "Barrier: the memory holds a barrier for %u parties, not %u",
                     o.b.parties(), p);
        throw nb::python_error();
      case shm::ShmBarrier::Open::ok:
        check_attach(attached, "Barrier");
    }
  });
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

PyObject* barrier_wait(IpcShmBarrier& b, std::optional<PyObject*> timeout) noexcept {
  Deadline d;
  if (!wait_deadline(timeout.value_or(nullptr), &d)) return nullptr;
  std::uint32_t index = 0;
  const auto r = ilpy::blocking([&] { return b.b.wait_until(d, &index); });
  switch (r) {
    case shm::ShmBarrier::Result::passed: return PyLong_FromUnsignedLong(index);
    case shm::ShmBarrier::Result::interrupted:
      return status_result(WaitStatus::interrupted);
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
    ilpy::method<+[](IpcShmBarrier& b) noexcept { b.b.abort(); }, "abort($self, /)",
                 "Break the barrier: every waiter gets BrokenBarrierError.">(),
    ilpy::method<+[](IpcShmBarrier& b) noexcept { b.b.reset(); }, "reset($self, /)",
                 "Return to the empty, unbroken state (waiters get BrokenBarrierError).">(),
    ilpy::methods_end,
};

}  // namespace

namespace interlock::py {

void init_ipc_futex(nb::module_& m) {
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const interlock::NamedRegionError& e) {
      PyObject* args = Py_BuildValue("(is)", e.error_code(), e.what());
      if (args) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
      }
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

  // ---------------------------------------------------------- FutexWord
  auto fw = nb::class_<IpcFutexWord>(
      m, "FutexWord", ilpy::method_slots<futex_methods>(), nb::is_weak_referenceable(),
      "FutexWord(buffer, offset=0, shared=True)\n\n"
      "A 32-bit futex word in a caller-supplied writable buffer (4 bytes, 4-byte\n"
      "aligned, at offset): wait(expected, timeout) / wake(n), acquire load()\n"
      "and release store(). shared=False uses process-private futexes (threads\n"
      "of one process only; every user of the word must agree).");
  fw.def("__init__", &futex_init, "buffer"_a, "offset"_a = 0, "shared"_a = true)
      .def_prop_ro("shared", [](const IpcFutexWord& f) { return f.shared; })
      .def_prop_ro("_source", [](const IpcFutexWord& f) { return source_of(f); })
      .def_prop_ro("_offset", [](const IpcFutexWord& f) { return f.offset; });
  fw.attr("size") = 4;
  fw.attr("alignment") = 4;
  set_module(fw, kModule);

  // ---------------------------------------------------------- atomics
  auto a32 = nb::class_<IpcAtomicU32>(
      m, "AtomicU32", ilpy::method_slots<AtomicTable<std::uint32_t>::methods>(),
      nb::is_weak_referenceable(),
      "AtomicU32(buffer, offset=0)\n\n"
      "An unsigned 32-bit atomic in a caller-supplied writable buffer (4 bytes,\n"
      "4-byte aligned): load/store/cas/exchange/fetch_add.");
  a32.def("__init__", &atomic_init<std::uint32_t>, "buffer"_a, "offset"_a = 0)
      .def_prop_ro("_source", [](const IpcAtomicU32& f) { return source_of(f); })
      .def_prop_ro("_offset", [](const IpcAtomicU32& f) { return f.offset; });
  a32.attr("size") = 4;
  a32.attr("alignment") = 4;
  set_module(a32, kModule);
  auto a64 = nb::class_<IpcAtomicU64>(
      m, "AtomicU64", ilpy::method_slots<AtomicTable<std::uint64_t>::methods>(),
      nb::is_weak_referenceable(),
      "AtomicU64(buffer, offset=0)\n\n"
      "An unsigned 64-bit atomic in a caller-supplied writable buffer (8 bytes,\n"
      "8-byte aligned): load/store/cas/exchange/fetch_add.");
  a64.def("__init__", &atomic_init<std::uint64_t>, "buffer"_a, "offset"_a = 0)
      .def_prop_ro("_source", [](const IpcAtomicU64& f) { return source_of(f); })
      .def_prop_ro("_offset", [](const IpcAtomicU64& f) { return f.offset; });
  a64.attr("size") = 8;
  a64.attr("alignment") = 8;
  set_module(a64, kModule);

  // ---------------------------------------------------------- Mutex
  auto mtx = nb::class_<IpcMutex>(
      m, "Mutex", ilpy::method_slots<mutex_methods>(), nb::is_weak_referenceable(),
      "Mutex(buffer, offset=0, shared=True)\n\n"
      "A lock in a caller-supplied writable buffer (64 bytes, 4-byte aligned, at\n"
      "offset; zero-filled memory is initialised, an existing Mutex is attached,\n"
      "anything else is refused), usable by threads of any process mapping it.\n"
      "threading.Lock's API. If a process dies holding it, the next acquirer gets\n"
      "it within about a second and owner_died is True while it holds it.");
  mtx.def("__init__", &mutex_init, "buffer"_a, "offset"_a = 0, "shared"_a = true)
      .def_prop_ro("owner_pid", [](const IpcMutex& s) { return s.m.owner_pid(); },
                   "PID of the process holding the lock (0: unlocked).")
      .def_prop_ro("owner_died", [](const IpcMutex& s) { return s.m.owner_died(); },
                   "True while the current holding was taken over from a process that died\n"
                   "holding the lock: the data it protects may need repair.")
      .def_prop_ro("recoveries", [](const IpcMutex& s) { return s.m.recoveries(); },
                   "How many times the lock was taken over from a dead owner.")
      .def_prop_ro("shared", [](const IpcMutex& s) { return s.shared; })
      .def_prop_ro("_source", [](const IpcMutex& f) { return source_of(f); })
      .def_prop_ro("_offset", [](const IpcMutex& f) { return f.offset; });
  mtx.attr("size") = shm::ShmMutex::size;
  mtx.attr("alignment") = shm::ShmMutex::alignment;
  set_module(mtx, kModule);

  auto nmtx = nb::class_<IpcNamedMutex, IpcMutex>(
      m, "NamedMutex", ilpy::method_slots<named_mutex_methods>(), nb::is_weak_referenceable(),
      "NamedMutex(name, *, mode=0o600, pid_dir=None)\n\n"
      "A Mutex created or attached by name under /dev/shm, with PID tracking.");
  nmtx.def(
      "__init__",
      [](IpcNamedMutex* self, nb::handle name, nb::handle mode, nb::handle pid_dir) {
        construct(self, [&](IpcNamedMutex& o) {
          const NamedArgs a = named_args(name, mode, pid_dir);
          open_region(o, "mutex", a, shm::kLayoutSize);
          o.m = shm::ShmMutex(o.mem, true);
          check_attach(o.m.attach(true), "NamedMutex");
        });
      },
      "name"_a, nb::kw_only(), "mode"_a = 0600, "pid_dir"_a.none() = nb::none());
  add_named_members(nmtx);
  set_module(nmtx, kModule);

  // ---------------------------------------------------------- Semaphore
  auto sem = nb::class_<IpcSemaphore>(
      m, "Semaphore", ilpy::method_slots<sem_methods>(), nb::is_weak_referenceable(),
      "Semaphore(buffer, value=0, offset=0, shared=True)\n\n"
      "A counting semaphore in a caller-supplied writable buffer (64 bytes,\n"
      "4-byte aligned). value initialises fresh (zero-filled) memory; attaching to\n"
      "an existing Semaphore keeps its count. post(n) / wait(timeout), and\n"
      "threading.Semaphore's acquire/release/with.");
  sem.def("__init__", &semaphore_init, "buffer"_a, "value"_a.none() = 0, "offset"_a = 0,
          "shared"_a = true)
      .def_prop_ro("value", [](const IpcSemaphore& s) { return s.s.value(); },
                   "The tokens available now (a snapshot).")
      .def_prop_ro("shared", [](const IpcSemaphore& s) { return s.shared; })
      .def_prop_ro("_source", [](const IpcSemaphore& f) { return source_of(f); })
      .def_prop_ro("_offset", [](const IpcSemaphore& f) { return f.offset; });
  sem.attr("size") = shm::ShmSemaphore::size;
  sem.attr("alignment") = shm::ShmSemaphore::alignment;
  set_module(sem, kModule);

  auto nsem = nb::class_<IpcNamedSemaphore, IpcSemaphore>(
      m, "NamedSemaphore", ilpy::method_slots<named_sem_methods>(), nb::is_weak_referenceable(),
      "NamedSemaphore(name, value=0, *, mode=0o600, pid_dir=None)\n\n"
      "A Semaphore created or attached by name under /dev/shm, with PID tracking;\n"
      "value applies when this call creates it.");
  nsem.def(
      "__init__",
      [](IpcNamedSemaphore* self, nb::handle name, nb::handle value, nb::handle mode,
         nb::handle pid_dir) {
        construct(self, [&](IpcNamedSemaphore& o) {
          const std::uint32_t v = initial_value(value);
          const NamedArgs a = named_args(name, mode, pid_dir);
          open_region(o, "semaphore", a, shm::kLayoutSize);
          o.s = shm::ShmSemaphore(o.mem, true);
          check_attach(o.s.attach(v, true), "NamedSemaphore");
        });
      },
      "name"_a, "value"_a.none() = 0, nb::kw_only(), "mode"_a = 0600,
      "pid_dir"_a.none() = nb::none());
  add_named_members(nsem);
  set_module(nsem, kModule);

  // ---------------------------------------------------------- Event
  auto ev = nb::class_<IpcShmEvent>(
      m, "Event", ilpy::method_slots<event_methods>(), nb::is_weak_referenceable(),
      "Event(buffer, offset=0, shared=True)\n\n"
      "A flag in a caller-supplied writable buffer (64 bytes, 4-byte aligned)\n"
      "that threads of any process can wait for: threading.Event's API.");
  ev.def("__init__", &event_init, "buffer"_a, "offset"_a = 0, "shared"_a = true)
      .def_prop_ro("shared", [](const IpcShmEvent& s) { return s.shared; })
      .def_prop_ro("_source", [](const IpcShmEvent& f) { return source_of(f); })
      .def_prop_ro("_offset", [](const IpcShmEvent& f) { return f.offset; });
  ev.attr("size") = shm::ShmEvent::size;
  ev.attr("alignment") = shm::ShmEvent::alignment;
  set_module(ev, kModule);

  auto nev = nb::class_<IpcNamedEvent, IpcShmEvent>(
      m, "NamedEvent", ilpy::method_slots<named_event_methods>(), nb::is_weak_referenceable(),
      "NamedEvent(name, *, mode=0o600, pid_dir=None)\n\n"
      "An Event created or attached by name under /dev/shm, with PID tracking.");
  nev.def(
      "__init__",
      [](IpcNamedEvent* self, nb::handle name, nb::handle mode, nb::handle pid_dir) {
        construct(self, [&](IpcNamedEvent& o) {
          const NamedArgs a = named_args(name, mode, pid_dir);
          open_region(o, "event", a, shm::kLayoutSize);
          o.e = shm::ShmEvent(o.mem, true);
          check_attach(o.e.attach(true), "NamedEvent");
        });
      },
      "name"_a, nb::kw_only(), "mode"_a = 0600, "pid_dir"_a.none() = nb::none());
  add_named_members(nev);
  set_module(nev, kModule);

  // ---------------------------------------------------------- Barrier
  auto bar = nb::class_<IpcShmBarrier>(
      m, "Barrier", ilpy::method_slots<barrier_methods>(), nb::is_weak_referenceable(),
      "Barrier(buffer, parties=None, offset=0, shared=True)\n\n"
      "A cyclic barrier for parties threads of any processes, in a caller-supplied\n"
      "writable buffer (64 bytes, 4-byte aligned): threading.Barrier's wait /\n"
      "abort / reset / parties / n_waiting / broken. parties is required for fresh\n"
      "memory and, if given, must match an existing barrier.");
  bar.def("__init__", &barrier_init, "buffer"_a, "parties"_a.none() = nb::none(), "offset"_a = 0,
          "shared"_a = true)
      .def_prop_ro("parties", [](const IpcShmBarrier& b) { return b.b.parties(); })
      .def_prop_ro("n_waiting", [](const IpcShmBarrier& b) { return b.b.n_waiting(); })
      .def_prop_ro("broken", [](const IpcShmBarrier& b) { return b.b.broken(); })
      .def_prop_ro("shared", [](const IpcShmBarrier& s) { return s.shared; })
      .def_prop_ro("_source", [](const IpcShmBarrier& f) { return source_of(f); })
      .def_prop_ro("_offset", [](const IpcShmBarrier& f) { return f.offset; });
  bar.attr("size") = shm::ShmBarrier::size;
  bar.attr("alignment") = shm::ShmBarrier::alignment;
  set_module(bar, kModule);

  // ---------------------------------------------------------- fastipc
  nb::module_ fx = m.def_submodule("_fastipc", "Native classes of interlock.compat.fastipc.");
  auto ffw = nb::class_<IpcFxFutexWord>(
      fx, "FutexWord", ilpy::method_slots<fx_futex_methods>(), nb::is_weak_referenceable(),
      "FutexWord(buffer, shared=True)\n\nfastipc's buffer-backed futex word (4 bytes, 4-byte aligned).");
  ffw.def(
      "__init__",
      [](IpcFxFutexWord* self, nb::handle buffer, bool shared) {
        futex_init(self, buffer, 0, shared);
      },
      "buffer"_a, "shared"_a = true);
  set_module(ffw, kFastipcModule);

  auto fm = nb::class_<IpcFxMutex>(
      fx, "Mutex", ilpy::method_slots<fx_mutex_methods>(), nb::is_weak_referenceable(),
      "Mutex(buffer, shared=True)\n\nfastipc's buffer-backed mutex (64 bytes, 4-byte aligned).");
  fm.def(
      "__init__",
      [](IpcFxMutex* self, nb::handle buffer, bool shared) { mutex_init(self, buffer, 0, shared); },
      "buffer"_a, "shared"_a = true);
  set_module(fm, kFastipcModule);

  auto fs = nb::class_<IpcFxSemaphore>(
      fx, "Semaphore", ilpy::method_slots<fx_sem_methods>(), nb::is_weak_referenceable(),
      "Semaphore(buffer, initial=None, shared=True)\n\n"
      "fastipc's buffer-backed semaphore (64 bytes, 4-byte aligned). initial, if\n"
      "given, sets the count; None attaches without changing it.");
  fs.def(
      "__init__",
      [](IpcFxSemaphore* self, nb::handle buffer, nb::handle initial, bool shared) {
        semaphore_init(self, buffer, nb::none(), 0, shared);
        if (!initial.is_none()) {
          try {
            self->s.store_value(initial_value(initial));
          } catch (...) {
            self->~IpcFxSemaphore();
            throw;
          }
        }
      },
      "buffer"_a, "initial"_a.none() = nb::none(), "shared"_a = true);
  set_module(fs, kFastipcModule);
}

}  // namespace interlock::py
