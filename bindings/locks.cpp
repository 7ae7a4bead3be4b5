// bindings/locks.cpp — interlock._interlock.locks: Lock, RLock, RWLock and
// their guards (LockGuard, RLockGuard, ReadGuard, WriteGuard), plus, in the
// nested submodule _interlock.locks._syncx, the native classes behind
// interlock.compat.syncx.locks (Lock, RLock, RWLock with syncx's conventions;
// the guard types are shared).
//
// Shaped like Rust's lock_api: one binding per kind of lock (a method-table
// template), generic over a small per-flavour traits struct (Threading,
// Syncx: timeouts, what __enter__/__exit__ return, syncx's alias names), and
// over the traits of a hold (LockHold, RLockHold, ReadHold, WriteHold: how the
// core acquires, waits for and releases it). The rules live in the core:
// the checked releases are Mutex::try_unlock, RecursiveMutex::try_unlock and
// CheckedRWMutex (include/interlock/rw_mutex.hpp); the timeouts are
// bindings/timeouts.hpp. The Python class of a flavour is a distinct C++ type
// deriving from the core primitive, so neither flavour pays for the other.
//
// Rules every method here follows:
//   * hot methods are fast methods (ilpy::method, fast_methods.hpp), taking
//     the Python `self` where they return it or keep it alive, and
//     ilpy::passed where an argument's None must not count as omitted
//     (threading's blocking=None is False); acquire() without arguments parses
//     nothing and tries the lock first;
//   * every wait goes through ilpy::blocking(): the GIL is released (the thread
//     state detached) while the thread sleeps, and an exception raised by a
//     signal handler ends the wait with nothing acquired (NULL is returned
//     with that exception set);
//   * misuse (releasing what is not held) is a RuntimeError, never the core's
//     fatal error.
#include <nanobind/nanobind.h>

#include <atomic>
#include <functional>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "aio.hpp"
#include "fast_methods.hpp"
#include "interlock/mutex.hpp"
#include "interlock/recursive_mutex.hpp"
#include "interlock/rw_mutex.hpp"
#include "method_table.hpp"
#include "module.hpp"
#include "py_wait.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using ilpy::alias;
using ilpy::cat;
using ilpy::fixed_string;
using ilpy::only;
using ilpy::table;
using interlock::Deadline;
using interlock::WaitStatus;

namespace {

// ============================================================ small helpers

IL_PY_COLD PyObject* raise_runtime(const char* msg) noexcept {
  PyErr_SetString(PyExc_RuntimeError, msg);
  return nullptr;
}

/// "<locked interlock.locks.Lock object at 0x...>", threading's format.
PyObject* repr_with_state(PyObject* self, const char* state) noexcept {
  PyObject* type = reinterpret_cast<PyObject*>(Py_TYPE(self));
  PyObject* mod = PyObject_GetAttrString(type, "__module__");
  PyObject* qualname = mod ? PyObject_GetAttrString(type, "__qualname__") : nullptr;
  PyObject* r =
      qualname ? PyUnicode_FromFormat("<%s %S.%S object at %p>", state, mod, qualname, self)
               : nullptr;
  Py_XDECREF(mod);
  Py_XDECREF(qualname);
  return r;
}

// ============================================================ flavours

/// threading's: (blocking, timeout) as threading.Lock.acquire (-1 or None
/// forever); __enter__ returns True; __exit__ takes 0-3 arguments, returns None.
struct Threading {
  static constexpr bool kSyncx = false;
  static bool deadline(ilpy::passed blocking, ilpy::passed timeout, Deadline* out) noexcept {
    return ilpy::passed_threading_deadline(blocking, timeout, out);
  }
  template <class C>
  static PyObject* entered(PyObject*, C&) noexcept { return Py_NewRef(Py_True); }
  template <auto Release, class C>
  static PyObject* exit(C& self, std::optional<PyObject*>, std::optional<PyObject*>,
                        std::optional<PyObject*>) noexcept {
    return Release(self);
  }
  static constexpr fixed_string kAcquire = "acquire($self, blocking=True, timeout=-1) -> bool";
  static constexpr fixed_string kTimeouts =
      "\n\nthreading's timeout rules: -1 or None waits forever; other negatives and NaN\n"
      "are ValueError; blocking=False with a timeout is ValueError.";
  static constexpr fixed_string kEnterDoc = "acquire(); return True.";
  static constexpr fixed_string kExit =
      "__exit__($self, exc_type=None, exc_value=None, traceback=None, /)";
  static constexpr fixed_string kExitDoc = "release().";
};

/// syncx's: None/inf/NaN forever, a negative timeout tries once; __enter__
/// returns the lock; __exit__ takes exactly three arguments, returns False;
/// lock() / read_lock() / ... aliases.
struct Syncx {
  static constexpr bool kSyncx = true;
  static bool deadline(ilpy::passed blocking, ilpy::passed timeout, Deadline* out) noexcept {
    return ilpy::passed_syncx_deadline(blocking, timeout, out);
  }
  template <class C>
  static PyObject* entered(PyObject* self, C&) noexcept { return Py_NewRef(self); }
  template <auto Release, class C>
  static PyObject* exit(C& self, PyObject*, PyObject*, PyObject*) noexcept {
    PyObject* r = std::invoke(Release, self);
    if (IL_PY_UNLIKELY(!r)) return nullptr;
    Py_DECREF(r);
    return Py_NewRef(Py_False);
  }
  static constexpr fixed_string kAcquire = "acquire($self, blocking=True, timeout=None) -> bool";
  static constexpr fixed_string kTimeouts =
      "\n\nsyncx's timeout rules: None waits forever, a negative timeout tries once.";
  static constexpr fixed_string kEnterDoc = "acquire(); return the lock.";
  static constexpr fixed_string kExit = "__exit__($self, exc_type, exc_value, traceback, /)";
  static constexpr fixed_string kExitDoc = "release(); return False.";
};

// ============================================================ holds

/// What a hold is on and how the core takes, waits for and releases it:
///   Core                   the core primitive (the Python class derives from it)
///   try_acquire / wait     take it now / by a deadline (GIL handling is ours)
///   release                the core's checked release (false: not held)
///   kNotHeld               the RuntimeError's message when release fails
///   kKeepOnFailure         a guard whose release failed still holds (RLock:
///                          released from a thread that does not own it)
struct LockHold {
  using Core = interlock::Mutex;
  static bool try_acquire(Core& c) noexcept { return c.try_lock(); }
  static WaitStatus wait(Core& c, Deadline d) noexcept { return c.lock_until(d); }
  static bool release(Core& c) noexcept { return c.try_unlock(); }
  static void reinit(Core& c) noexcept { c.reset_after_fork(); }
  static constexpr char kNotHeld[] = "release unlocked lock";
  static constexpr bool kKeepOnFailure = false;
  static constexpr fixed_string kAcquireDoc = "Acquire the lock";
  static constexpr fixed_string kReleaseDoc =
      "Release the lock (any thread may). RuntimeError if it is not locked.";
};
struct RLockHold {
  using Core = interlock::RecursiveMutex;
  static bool try_acquire(Core& c) noexcept { return c.try_lock(); }
  static WaitStatus wait(Core& c, Deadline d) noexcept { return c.lock_until(d); }
  static bool release(Core& c) noexcept { return c.try_unlock(); }
  static void reinit(Core& c) noexcept { c.reset(); }
  static constexpr char kNotHeld[] = "cannot release un-acquired lock";
  static constexpr bool kKeepOnFailure = true;
  static constexpr fixed_string kAcquireDoc =
      "Acquire the lock (one more level if the calling thread owns it)";
  static constexpr fixed_string kReleaseDoc =
      "Release one level. RuntimeError unless the calling thread owns the lock.";
};
struct ReadHold {
  using Core = interlock::CheckedRWMutex;
  static bool try_acquire(Core& c) noexcept { return c.try_lock_shared(); }
  static WaitStatus wait(Core& c, Deadline d) noexcept { return c.lock_shared_until(d); }
  static bool release(Core& c) noexcept { return c.try_unlock_shared(); }
  static constexpr char kNotHeld[] = "cannot release un-acquired read lock";
  static constexpr bool kKeepOnFailure = false;
};
struct WriteHold {
  using Core = interlock::CheckedRWMutex;
  static bool try_acquire(Core& c) noexcept { return c.try_lock(); }
  static WaitStatus wait(Core& c, Deadline d) noexcept { return c.lock_until(d); }
  static bool release(Core& c) noexcept { return c.try_unlock(); }
  static constexpr char kNotHeld[] = "cannot release un-acquired write lock";
  static constexpr bool kKeepOnFailure = false;
};

/// The Python classes: one C++ type per (kind, flavour).
template <class F> struct LockT final : interlock::Mutex {};
template <class F> struct RLockT final : interlock::RecursiveMutex {};
template <class F> struct RWLockT final : interlock::CheckedRWMutex {};

template <class H>
IL_PY_INLINE WaitStatus acquire_until(typename H::Core& c, Deadline d) noexcept {
  if (INTERLOCK_LIKELY(H::try_acquire(c))) return WaitStatus::ok;
  if (d.is_immediate()) return WaitStatus::timed_out;
  return ilpy::blocking([&] { return H::wait(c, d); });
}

/// acquire(blocking, timeout) with the flavour's rules. Without arguments
/// nothing is parsed: the lock is tried at once, then waited for.
template <class F, class H>
IL_PY_INLINE PyObject* acquire(typename H::Core& c, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  Deadline d = Deadline::never();
  if ((blocking.given() || timeout.given()) && !F::deadline(blocking, timeout, &d)) return nullptr;
  return ilpy::wait_result(acquire_until<H>(c, d));
}

// ============================================================ the guard

/// The one guard: what X.guard() / read_guard() etc. return. It releases its
/// hold once (a second release is a no-op, as in syncx), on release()/unlock(),
/// on leaving a `with` block, or when it is garbage-collected while still
/// holding. Guards take part in garbage collection (a guard stored on a
/// subclass instance of its own lock forms a cycle): the collector sees the
/// owner through traverse(), and clear() releases before dropping the owner.
template <class H>
class Guard {
 public:
  using Core = typename H::Core;
  Guard(Core* core, nb::object owner) noexcept : owner_(std::move(owner)), core_(core) {}
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  ~Guard() { drop(); }

  int traverse(visitproc visit, void* arg) const noexcept {
    Py_VISIT(owner_.ptr());
    return 0;
  }
  void clear() noexcept {
    drop();
    owner_ = nb::object();
  }
  /// Releases if still held (a failure cannot be reported here).
  void drop() noexcept {
    if (take()) (void)H::release(*core_);
  }
  PyObject* release() noexcept { return release_with<&H::release>(); }
  /// Claims the hold and releases it with Release; None, or RuntimeError.
  template <auto Release>
  PyObject* release_with() noexcept {
    if (!take()) return Py_NewRef(Py_None);
    if (IL_PY_UNLIKELY(!Release(*core_))) {
      if constexpr (H::kKeepOnFailure) held_.store(true, std::memory_order_release);
      return raise_runtime(H::kNotHeld);
    }
    return Py_NewRef(Py_None);
  }
  /// Claims the hold (true once): the caller then releases or converts it.
  bool take() noexcept { return held_.exchange(false, std::memory_order_acq_rel); }
  Core* core() const noexcept { return core_; }
  const nb::object& owner() const noexcept { return owner_; }

  static inline PyObject* type = nullptr;  // the Python type, set at registration

 private:
  std::atomic<bool> held_{true};
  nb::object owner_;  // keeps the lock alive
  Core* core_;
};

/// A new guard (a new reference); on failure the hold is released, NULL.
template <class H>
PyObject* new_guard(typename H::Core* core, nb::handle owner) noexcept {
  try {
    nb::object o = nb::inst_alloc(Guard<H>::type);
    new (nb::inst_ptr<Guard<H>>(o)) Guard<H>(core, nb::borrow(owner));
    nb::inst_mark_ready(o);
    return o.release().ptr();
  } catch (...) {
    (void)H::release(*core);
    return ilpy::detail::translate_current_exception();
  }
}

bool release_fair(interlock::CheckedRWMutex& c) noexcept { return c.try_unlock(true); }
PyObject* write_guard_release_fair(Guard<WriteHold>& g) noexcept {
  return g.release_with<&release_fair>();
}

/// WriteGuard.downgrade(): a ReadGuard for the downgraded hold, or None when
/// the guard no longer holds the lock.
PyObject* write_guard_downgrade(Guard<WriteHold>& g) noexcept {
  if (!g.take()) return Py_NewRef(Py_None);
  if (IL_PY_UNLIKELY(!g.core()->try_downgrade()))
    return raise_runtime("cannot downgrade un-acquired write lock");
  return new_guard<ReadHold>(g.core(), g.owner());
}

// ============================================================ the one lock binding
// Every flavour's acquire / release / __enter__ / __exit__ / guard.

/// Op(self) as None, or RuntimeError(Msg) when it reports false.
template <auto Op, const char* Msg, class C>
PyObject* checked(C& self) noexcept {
  if (INTERLOCK_LIKELY(Op(self))) return Py_NewRef(Py_None);
  return raise_runtime(Msg);
}
template <class H, class C>
PyObject* release(C& self) noexcept {
  return checked<&H::release, H::kNotHeld>(self);
}

/// __enter__: acquire, as long as it takes (a signal's exception ends it).
template <class F, class H, class C>
PyObject* enter(PyObject* self, C& c) noexcept {
  if (IL_PY_UNLIKELY(acquire_until<H>(c, Deadline::never()) != WaitStatus::ok))
    return ilpy::raise_interrupted();
  return F::entered(self, c);
}

template <class F, class H, class C>
constexpr auto exit_of = &F::template exit<&release<H, C>, C>;

/// guard(blocking, timeout): acquire, then wrap the hold in a Guard<H>; None
/// when nothing was acquired.
template <class F, class H, class C>
PyObject* guard(PyObject* self, C& c, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  PyObject* r = acquire<F, H>(c, blocking, timeout);
  if (!r) return nullptr;
  Py_DECREF(r);  // True or False: immortal or kept alive by the module
  return r == Py_True ? new_guard<H>(&c, self) : Py_NewRef(Py_None);
}

template <class C>
PyObject* repr(PyObject* self) noexcept {
  if (!nb::inst_ready(self)) return repr_with_state(self, "uninitialized");
  const C& c = *nb::inst_ptr<C>(self);
  if constexpr (std::is_base_of_v<interlock::CheckedRWMutex, C>) {
    if (c.is_locked_exclusive()) return repr_with_state(self, "write-locked");
    const std::size_t n = c.reader_count();
    if (n == 0) return repr_with_state(self, "unlocked");
    char state[64];
    PyOS_snprintf(state, sizeof state, "read-locked (%zu reader%s)", n, n == 1 ? "" : "s");
    return repr_with_state(self, state);
  } else {
    return repr_with_state(self, c.is_locked() ? "locked" : "unlocked");
  }
}

// ---- RLock extras (threading.Condition's protocol)

PyObject* rlock_release_save(interlock::RecursiveMutex& m) noexcept {
  const std::size_t depth = m.is_locked_by_current_thread() ? m.release_all() : 0;
  if (depth == 0) return raise_runtime(RLockHold::kNotHeld);
  return Py_BuildValue("(nk)", static_cast<Py_ssize_t>(depth), PyThread_get_thread_ident());
}

/// Takes the lock back at the saved depth, waiting (GIL released) without
/// giving up on signals, as threading.RLock._acquire_restore does: a
/// condition variable must get its lock back before anything is raised.
PyObject* rlock_acquire_restore(interlock::RecursiveMutex& m, PyObject* state) noexcept {
  Py_ssize_t depth = 0;
  unsigned long owner = 0;
  if (!PyTuple_Check(state)) {
    PyErr_Format(PyExc_TypeError, "_acquire_restore() argument must be a tuple, not %.200s",
                 IL_TP_NAME(state));
    return nullptr;
  }
  if (!PyArg_ParseTuple(state, "nk:_acquire_restore", &depth, &owner)) return nullptr;
  if (depth < 1) {
    PyErr_SetString(PyExc_ValueError, "_acquire_restore(): the recursion count must be >= 1");
    return nullptr;
  }
  ilpy::blocking([&] { m.lock(); });
  if (depth > 1) (void)m.restore_depth(static_cast<std::size_t>(depth) - 1);  // no wait
  return Py_NewRef(Py_None);
}

// ---- RWLock extras

inline constexpr const char kNoReadHold[] = "bump_shared() without a read hold";
inline constexpr const char kNoWriteHold[] = "bump_exclusive() without the write hold";
bool bump_shared(interlock::CheckedRWMutex& c) noexcept {
  return ilpy::blocking([&] { return c.try_bump_shared(); });
}
bool bump_exclusive(interlock::CheckedRWMutex& c) noexcept {
  return ilpy::blocking([&] { return c.try_bump_exclusive(); });
}

// ============================================================ method tables

constexpr fixed_string kWaitDoc =
    "; return True, or False if it could not be had (blocking=False, or\n"
    "the timeout passed). Without arguments, wait as long as it takes. The wait releases\n"
    "the GIL and ends early with whatever a signal handler raises (nothing acquired).";
constexpr fixed_string kGuardDoc =
    "acquire(blocking, timeout), returning a guard that releases that hold once\n"
    "(or None if nothing was acquired).";
constexpr fixed_string kWaitArgs = ", blocking=True, timeout=None";
constexpr fixed_string kForkDoc = "Make this a fresh, unlocked lock (for a forked child).";

/// Lock and RLock: one table over the flavour F and the hold H.
template <class F, class H, class C>
PyMethodDef* mutex_methods() {
  using M = typename H::Core;
  constexpr bool rlock = std::is_same_v<H, RLockHold>;
  return table<C>({
      ilpy::method<&acquire<F, H>, F::kAcquire, cat<H::kAcquireDoc, kWaitDoc, F::kTimeouts>()>(),
      only<F::kSyncx>(alias<&acquire<F, H>, "lock", "acquire", kWaitArgs>()),
      ilpy::method<&release<H, C>, "release($self, /) -> None", H::kReleaseDoc>(),
      ilpy::method<&enter<F, H, C>, "__enter__($self, /)", F::kEnterDoc>(),
      ilpy::method<exit_of<F, H, C>, F::kExit, F::kExitDoc>(),
      ilpy::method<&guard<F, H, C>, "guard($self, blocking=True, timeout=None)", kGuardDoc>(),
      ilpy::method<&M::try_lock, "try_acquire($self, /)",
                   "Acquire the lock if it is free (RLock: or already ours); return whether it "
                   "was.">(),
      alias<&M::try_lock, "try_lock", "try_acquire">(),
      ilpy::method<&M::is_locked, "locked($self, /)",
                   "Whether some thread holds the lock (a snapshot).">(),
      alias<&M::is_locked, "is_locked", "locked">(),
      ilpy::method<&H::reinit, "_at_fork_reinit($self, /)", kForkDoc>(),
      only<!rlock && !F::kSyncx>(
          ilpy::aio_method<&ilpy::aio::enqueue<interlock::Mutex>, "take the lock (None) or">()),
      only<rlock>(ilpy::method<&interlock::RecursiveMutex::is_locked_by_current_thread,
                               "_is_owned($self, /)",
                               "Whether the calling thread holds the lock.">()),
      only<rlock>(ilpy::method<&interlock::RecursiveMutex::depth_held_by_current_thread,
                               "_recursion_count($self, /)",
                               "Levels held by the calling thread (0 if it does not hold the "
                               "lock).">()),
      only<rlock>(ilpy::method<&rlock_release_save, "_release_save($self, /)",
                               "Fully release the calling thread's hold; return the state for\n"
                               "_acquire_restore() (for threading.Condition).">()),
      only<rlock>(ilpy::method<&rlock_acquire_restore, "_acquire_restore($self, state, /)",
                               "Take the lock back with the state _release_save() returned; "
                               "waits\nwithout giving up on signals.">()),
  });
}

template <class F>
PyMethodDef* rwlock_methods() {
  using C = RWLockT<F>;
  using M = interlock::CheckedRWMutex;
  constexpr bool sx = F::kSyncx;
  return table<C>({
      ilpy::method<&acquire<F, ReadHold>, "acquire_read($self, blocking=True, timeout=None) -> bool",
                   cat<"Take a read hold", kWaitDoc, F::kTimeouts>()>(),
      only<sx>(alias<&acquire<F, ReadHold>, "read_lock", "acquire_read", kWaitArgs>()),
      ilpy::method<&acquire<F, WriteHold>, "acquire_write($self, blocking=True, timeout=None) -> bool",
                   cat<"Take the write hold", kWaitDoc, F::kTimeouts>()>(),
      only<sx>(alias<&acquire<F, WriteHold>, "write_lock", "acquire_write", kWaitArgs>()),
      ilpy::method<&guard<F, ReadHold, C>, "read_guard($self, blocking=True, timeout=None)",
                   "acquire_read(blocking, timeout), returning a ReadGuard (or None).">(),
      ilpy::method<&guard<F, WriteHold, C>, "write_guard($self, blocking=True, timeout=None)",
                   "acquire_write(blocking, timeout), returning a WriteGuard (or None).">(),
      ilpy::method<&M::try_lock_shared, "try_acquire_read($self, /)",
                   "Take a read hold if one is available now; return whether it was.">(),
      only<sx>(alias<&M::try_lock_shared, "try_read_lock", "try_acquire_read">()),
      ilpy::method<&M::try_lock, "try_acquire_write($self, /)",
                   "Take the write hold if it is available now; return whether it was.">(),
      only<sx>(alias<&M::try_lock, "try_write_lock", "try_acquire_write">()),
      ilpy::method<&release<ReadHold, C>, "read_release($self, /) -> None",
                   "Release a read hold (any thread may). RuntimeError if none is held.">(),
      ilpy::method<&release<WriteHold, C>, "write_release($self, /) -> None",
                   "Release the write hold. RuntimeError if it is not held.">(),
      ilpy::method<&checked<&release_fair, WriteHold::kNotHeld, C>, "write_release_fair($self, /)",
                   "Release the write hold, handing the lock to a waiting thread if any.">(),
      ilpy::method<&checked<&bump_shared, kNoReadHold, C>, "bump_shared($self, /)",
                   "With a read hold: let a waiting writer go first, then hold for reading "
                   "again.">(),
      ilpy::method<&checked<&bump_exclusive, kNoWriteHold, C>, "bump_exclusive($self, /)",
                   "With the write hold: let waiting threads go first, then hold for writing "
                   "again.">(),
      ilpy::method<&M::is_locked, "is_locked($self, /)",
                   "Whether any hold (read or write) exists (a snapshot).">(),
      ilpy::method<&M::is_locked_exclusive, "is_write_locked($self, /)",
                   "Whether the write hold exists (a snapshot).">(),
      ilpy::method<&M::reset_after_fork, "_at_fork_reinit($self, /)", kForkDoc>(),
  });
}

template <class H>
PyMethodDef* guard_methods() {
  using G = Guard<H>;
  constexpr bool write = std::is_same_v<H, WriteHold>;
  return table<G>({
      ilpy::method<&G::release, "release($self, /)",
                   "Release the hold, once (later calls do nothing). RuntimeError if it was\n"
                   "released some other way meanwhile (RLock: from a thread that does not own "
                   "it).">(),
      alias<&G::release, "unlock", "release">(),
      ilpy::method<&Syncx::entered<G>, "__enter__($self, /)", "Return the guard.">(),
      ilpy::method<&Syncx::exit<&G::release, G>,
                   "__exit__($self, exc_type, exc_value, traceback, /)",
                   "release(); return False.">(),
      only<write>(ilpy::method<&write_guard_release_fair,
                               "release_fair($self, /)",
                               "release(), handing the lock to a waiting thread if any.">()),
      only<write>(alias<&write_guard_release_fair, "unlock_fair", "release_fair">()),
      only<write>(ilpy::method<&write_guard_downgrade, "downgrade($self, /)",
                               "Turn the write hold into a read hold, atomically; return its "
                               "ReadGuard\n(this guard then holds nothing), or None if this "
                               "guard holds nothing.">()),
  });
}

// ============================================================ registration

template <class T>
nb::type_slots slots(PyMethodDef* methods, reprfunc repr = nullptr) noexcept {
  static PyType_Slot s[] = {{Py_tp_methods, methods},
                            {repr ? Py_tp_repr : 0, reinterpret_cast<void*>(repr)},
                            {0, nullptr}};
  return nb::type_slots(s);
}
template <class C>
void add_lock(nb::module_& m, const char* name, PyMethodDef* methods, const char* mod,
              const char* doc) {
  nb::class_<C> cls(m, name, slots<C>(methods, &repr<C>), nb::is_weak_referenceable(), doc);
  cls.def(nb::init<>());
  ilpy::set_module(cls, mod);
}

template <class H>
void add_guard(nb::module_& m, const char* name, const char* doc) {
  using G = Guard<H>;
  nb::class_<G> cls(m, name, ilpy::gc_slots<G>(guard_methods<H>()), nb::is_final(),
                    nb::pooled(), doc);
  ilpy::set_module(cls, "interlock.locks");
  G::type = cls.ptr();
}

}  // namespace

namespace interlock::py {

void init_locks(nb::module_& m) {
  constexpr const char* mod = "interlock.locks";
  constexpr const char* sx_mod = "interlock.compat.syncx.locks";
  add_lock<LockT<Threading>>(
      m, "Lock", mutex_methods<Threading, LockHold, LockT<Threading>>(), mod,
      "A mutual-exclusion lock with threading.Lock's contract (any thread may\n"
      "release it), plus try_acquire()/try_lock(), is_locked() and guard().\n"
      "One byte of state (interlock::Mutex); waits release the GIL and are\n"
      "interruptible by signals.");
  add_lock<RLockT<Threading>>(
      m, "RLock", mutex_methods<Threading, RLockHold, RLockT<Threading>>(), mod,
      "A re-entrant lock with threading.RLock's contract (owned by the\n"
      "acquiring thread; works with threading.Condition), plus try_acquire(),\n"
      "is_locked() and guard(). Waits release the GIL and are interruptible.");
  add_lock<RWLockT<Threading>>(
      m, "RWLock", rwlock_methods<Threading>(), mod,
      "A reader-writer lock: many readers or one writer; neither side starves (a\n"
      "waiting writer holds new readers back; a releasing writer lets all waiting\n"
      "readers in). Read holds are not re-entrant and not owned by a thread: any\n"
      "thread may release one. Waits release the GIL and are interruptible.");
  add_guard<LockHold>(m, "LockGuard",
                      "A held Lock (from Lock.guard()): release()/unlock() or leaving a\n"
                      "`with` block releases it once; so does garbage collection.");
  add_guard<RLockHold>(m, "RLockGuard", "One held level of an RLock (from RLock.guard()).");
  add_guard<ReadHold>(m, "ReadGuard",
                      "A read hold of an RWLock (from read_guard() or\n"
                      "WriteGuard.downgrade()).");
  add_guard<WriteHold>(m, "WriteGuard", "The write hold of an RWLock (from write_guard()).");

  nb::module_ sx = m.def_submodule(
      "_syncx", "Native classes of interlock.compat.syncx.locks (syncx's conventions).");
  add_lock<LockT<Syncx>>(sx, "Lock", mutex_methods<Syncx, LockHold, LockT<Syncx>>(), sx_mod,
                         "syncx.locks.Lock on interlock.");
  add_lock<RLockT<Syncx>>(sx, "RLock", mutex_methods<Syncx, RLockHold, RLockT<Syncx>>(), sx_mod,
                          "syncx.locks.RLock on interlock.");
  add_lock<RWLockT<Syncx>>(sx, "RWLock", rwlock_methods<Syncx>(), sx_mod,
                           "syncx.locks.RWLock on interlock.");
}

}  // namespace interlock::py
