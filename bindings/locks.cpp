// bindings/locks.cpp — interlock._interlock.locks: Lock, RLock, RWLock and
// their guards (LockGuard, RLockGuard, ReadGuard, WriteGuard), plus, in the
// nested submodule _interlock.locks._syncx, the native classes behind
// interlock.compat.syncx.locks (Lock, RLock, RWLock with syncx's conventions;
// the guard types are shared).
//
// Each Python class is a C++ type deriving from a "core" that wraps one core
// primitive (interlock::Mutex, RecursiveMutex, RWMutex); the interlock and the
// syncx flavours of a class are distinct C++ types over the same core, each
// with its own method table, so neither pays for the other's conventions.
//
// Rules every method here follows:
//   * hot methods are fast methods (ilpy::method, fast_methods.hpp), taking
//     the Python `self` where they return it or keep it alive, and
//     ilpy::passed where an argument's None must not count as omitted
//     (threading's blocking=None is False); acquire() without arguments parses
//     nothing and tries the lock first;
//   * every wait goes through ilpy::blocking(): the GIL is released (the thread
//     state detached) while the thread sleeps, and an exception raised by a
//     signal handler ends the wait with nothing acquired (the method returns
//     NULL with that exception set);
//   * misuse (releasing what is not held) is a RuntimeError, never the core's
//     fatal error: releases use the core's checked unlocks (Mutex::try_unlock,
//     RecursiveMutex::try_unlock), atomic with respect to other releases.
#include <nanobind/nanobind.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "aio.hpp"
#include "fast_methods.hpp"
#include "interlock/mutex.hpp"
#include "interlock/recursive_mutex.hpp"
#include "interlock/rw_mutex.hpp"
#include "module.hpp"
#include "py_wait.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using interlock::Deadline;
using interlock::WaitStatus;

namespace {

// ============================================================ small helpers

IL_PY_COLD PyObject* raise_runtime(const char* msg) noexcept {
  PyErr_SetString(PyExc_RuntimeError, msg);
  return nullptr;
}

/// ok -> True, timed_out -> False, interrupted -> NULL (a signal handler's
/// exception is already set).
inline PyObject* wait_result(WaitStatus s) noexcept {
  if (IL_PY_UNLIKELY(s == WaitStatus::interrupted)) return nullptr;
  return Py_NewRef(s == WaitStatus::ok ? Py_True : Py_False);
}

inline constexpr const char kLockNotHeld[] = "release unlocked lock";
inline constexpr const char kRLockNotOwned[] = "cannot release un-acquired lock";
inline constexpr const char kReadNotHeld[] = "cannot release un-acquired read lock";
inline constexpr const char kWriteNotHeld[] = "cannot release un-acquired write lock";

/// A flavour's conventions: its timeouts (bindings/timeouts.hpp), what
/// __enter__ returns and __exit__'s signature and result.
///   threading: __enter__ returns True; __exit__ takes any 0-3 arguments and
///              returns None.
///   syncx:     __enter__ returns the lock; __exit__ takes exactly three
///              arguments and returns False.
/// Release is a hold's traits' checked release (RuntimeError when not held).
struct ThreadingRules {
  static bool deadline(ilpy::passed blocking, ilpy::passed timeout, Deadline* out) noexcept {
    return ilpy::passed_threading_deadline(blocking, timeout, out);
  }
  static PyObject* entered(PyObject*) noexcept { return Py_NewRef(Py_True); }
  template <auto Release, class C>
  static PyObject* exit(C& self, std::optional<PyObject*>, std::optional<PyObject*>,
                        std::optional<PyObject*>) noexcept {
    return Release(self);
  }
};
struct SyncxRules {
  static bool deadline(ilpy::passed blocking, ilpy::passed timeout, Deadline* out) noexcept {
    return ilpy::passed_syncx_deadline(blocking, timeout, out);
  }
  static PyObject* entered(PyObject* self) noexcept { return Py_NewRef(self); }
  template <auto Release, class C>
  static PyObject* exit(C& self, PyObject*, PyObject*, PyObject*) noexcept {
    PyObject* r = Release(self);
    if (IL_PY_UNLIKELY(!r)) return nullptr;
    Py_DECREF(r);
    return Py_NewRef(Py_False);
  }
};

/// Acquires through a core side with try_acquire() and acquire_until(Deadline).
/// Without arguments nothing is parsed: the lock is tried at once.
template <class Rules, class Side>
IL_PY_INLINE PyObject* acquire_with(Side side, ilpy::passed blocking,
                                    ilpy::passed timeout) noexcept {
  if (!blocking.given() && !timeout.given()) {
    if (INTERLOCK_LIKELY(side.try_acquire())) return Py_NewRef(Py_True);
    return wait_result(side.acquire_until(Deadline::never()));
  }
  Deadline d;
  if (!Rules::deadline(blocking, timeout, &d)) return nullptr;
  return wait_result(side.acquire_until(d));
}

/// "<locked interlock.locks.Lock object at 0x...>", threading's format.
PyObject* repr_with_state(PyObject* self, const char* state) noexcept {
  PyObject* type = reinterpret_cast<PyObject*>(Py_TYPE(self));
  PyObject* mod = PyObject_GetAttrString(type, "__module__");
  if (!mod) return nullptr;
  PyObject* qualname = PyObject_GetAttrString(type, "__qualname__");
  if (!qualname) {
    Py_DECREF(mod);
    return nullptr;
  }
  PyObject* r = PyUnicode_FromFormat("<%s %S.%S object at %p>", state, mod, qualname, self);
  Py_DECREF(mod);
  Py_DECREF(qualname);
  return r;
}

/// Type objects of the guards, for creating instances without a type lookup.
template <class G>
struct GuardType {
  static inline PyObject* type = nullptr;
};

/// A new guard instance (a new reference), or NULL with an exception set.
template <class G, class... A>
PyObject* new_guard(A&&... a) noexcept {
  try {
    nb::object o = nb::inst_alloc(GuardType<G>::type);
    new (nb::inst_ptr<G>(o)) G(std::forward<A>(a)...);
    nb::inst_mark_ready(o);
    return o.release().ptr();
  } catch (...) {
    return ilpy::detail::translate_current_exception();
  }
}

// ============================================================ Lock

/// A non-recursive lock that any thread may release (threading.Lock's
/// contract) on interlock::Mutex: one byte.
class LockCore {
 public:
  LockCore() noexcept = default;
  LockCore(const LockCore&) = delete;
  LockCore& operator=(const LockCore&) = delete;

  IL_PY_INLINE bool try_acquire() noexcept { return mutex_.try_lock(); }

  WaitStatus acquire_until(Deadline d) noexcept {
    if (mutex_.try_lock()) return WaitStatus::ok;
    if (d.is_immediate()) return WaitStatus::timed_out;
    return ilpy::blocking([&] { return mutex_.lock_until(d); });
  }

  /// Unlocks; false (and nothing changed) if it was not locked: the core's
  /// checked unlock, atomic with respect to other releases.
  IL_PY_INLINE bool release() noexcept { return mutex_.try_unlock(); }

  /// The event loop's acquire: None if the lock was free (now taken), else a
  /// queued aio waiter (bindings/aio.hpp).
  PyObject* enqueue_async(PyObject* self, PyObject* loop, PyObject* future) noexcept {
    return interlock::py::aio::enqueue_mutex(self, mutex_, &give_back, loop, future);
  }

 private:
  /// aio's GiveBack: a lock handed to a waiter that went away is released
  /// through the checked path. Lock and SyncxLock add nothing to LockCore.
  static void give_back(PyObject* owner) noexcept {
    (void)static_cast<LockCore*>(nb::inst_ptr<void>(owner))->release();
  }

 public:

  bool locked() const noexcept { return mutex_.is_locked(); }

  /// Back to a fresh, unlocked lock (threading's _at_fork_reinit).
  void reinit() noexcept {
    mutex_.reset_after_fork();
  }

 private:
  interlock::Mutex mutex_;
};

struct LockSide {
  LockCore& c;
  IL_PY_INLINE bool try_acquire() noexcept { return c.try_acquire(); }
  WaitStatus acquire_until(Deadline d) noexcept { return c.acquire_until(d); }
};

/// interlock.locks.Lock
struct Lock final : LockCore {};
/// interlock.compat.syncx.locks.Lock
struct SyncxLock final : LockCore {};

/// The one guard: what X.guard() / acquire_read_guard() etc. return. It
/// releases its hold once (a second release is a no-op, as in syncx), on
/// release()/unlock(), on leaving a `with` block, or when it is
/// garbage-collected while still holding. H, the hold's traits, says how:
///   Core                 the core class the hold is on
///   release(Core&)       the checked release (false: not held)
///   kNotHeld             the RuntimeError's message when release() fails
///   kKeepOnFailure       whether a failed release() leaves the guard holding
///                        (RLock: released from a thread that does not own it)
/// Guards take part in garbage collection (a guard stored on a subclass
/// instance of its own lock forms a cycle): the collector sees the owner
/// through traverse(), and clear() releases the hold before dropping the
/// owner, as the destructor would.
template <class H>
class Guard {
 public:
  using Core = typename H::Core;
  using Hold = H;
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

  PyObject* release() noexcept {
    if (!take()) return Py_NewRef(Py_None);
    if (IL_PY_UNLIKELY(!H::release(*core_))) {
      if constexpr (H::kKeepOnFailure) held_.store(true, std::memory_order_release);
      return raise_runtime(H::kNotHeld);
    }
    return Py_NewRef(Py_None);
  }

  /// Claims the hold (true once): the caller then releases or converts it.
  bool take() noexcept { return held_.exchange(false, std::memory_order_acq_rel); }
  Core* core() const noexcept { return core_; }
  const nb::object& owner() const noexcept { return owner_; }

 private:
  std::atomic<bool> held_{true};
  nb::object owner_;  // keeps the lock alive
  Core* core_;
};

/// The one guard factory: acquires through Side with the flavour's Rules,
/// then wraps the hold in a G; None when nothing was acquired.
template <class G, class Side, class Rules, class C>
PyObject* make_guard(PyObject* self, C& lock, ilpy::passed blocking,
                     ilpy::passed timeout) noexcept {
  PyObject* r = acquire_with<Rules>(Side{lock}, blocking, timeout);
  if (r != Py_True) {
    if (!r) return nullptr;
    Py_DECREF(r);
    return Py_NewRef(Py_None);
  }
  Py_DECREF(r);
  auto* core = static_cast<typename G::Core*>(&lock);
  PyObject* g = new_guard<G>(core, nb::borrow(self));
  if (!g) (void)G::Hold::release(*core);
  return g;
}

struct LockHold {
  using Core = LockCore;
  using Side = LockSide;
  static bool release(LockCore& c) noexcept { return c.release(); }
  static constexpr const char* kNotHeld = kLockNotHeld;
  static constexpr bool kKeepOnFailure = false;
};
using LockGuard = Guard<LockHold>;

// ------------------------------------------------------------ the one lock binding
// Every flavour's acquire / release / __enter__ / __exit__ / guard are these
// templates over its Rules and a hold's traits H (H::Side acquires, H::release
// releases, H::kNotHeld is the RuntimeError).

template <class Rules, class H, class C>
PyObject* acquire(PyObject*, C& self, ilpy::passed blocking, ilpy::passed timeout) noexcept {
  return acquire_with<Rules>(typename H::Side{self}, blocking, timeout);
}

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
template <class Rules, class H, class C>
PyObject* enter(PyObject* self, C& c) noexcept {
  typename H::Side side{c};
  if (INTERLOCK_UNLIKELY(!side.try_acquire()) &&
      side.acquire_until(Deadline::never()) != WaitStatus::ok)
    return nullptr;  // interrupted
  return Rules::entered(self);
}

template <class Rules, class H, class C>
constexpr auto exit_of = &Rules::template exit<&release<H, C>, C>;

template <class Rules, class H, class C>
constexpr auto guard_of = &make_guard<Guard<H>, typename H::Side, Rules, C>;

template <class C>
PyObject* lock_aio_enqueue(PyObject* self, C& c, PyObject* loop, PyObject* future) noexcept {
  return c.enqueue_async(self, loop, future);
}

PyObject* lock_repr(PyObject* self) noexcept {
  if (!nb::inst_ready(self)) return repr_with_state(self, "uninitialized");
  return repr_with_state(self, nb::inst_ptr<LockCore>(self)->locked() ? "locked" : "unlocked");
}

// ============================================================ RLock

/// A re-entrant lock owned by the acquiring thread (threading.RLock's
/// contract) on interlock::RecursiveMutex.
class RLockCore {
 public:
  RLockCore() noexcept = default;
  RLockCore(const RLockCore&) = delete;
  RLockCore& operator=(const RLockCore&) = delete;

  bool try_acquire() noexcept { return m_.try_lock(); }

  WaitStatus acquire_until(Deadline d) noexcept {
    if (m_.try_lock()) return WaitStatus::ok;
    if (d.is_immediate()) return WaitStatus::timed_out;
    return ilpy::blocking([&] { return m_.lock_until(d); });
  }

  /// Releases one level; false (nothing changed) unless the caller owns it.
  bool release() noexcept { return m_.try_unlock(); }

  bool locked() const noexcept { return m_.is_locked(); }
  bool owned() const noexcept { return m_.is_locked_by_current_thread(); }
  std::size_t count() const noexcept { return m_.depth_held_by_current_thread(); }

  /// Fully releases the caller's hold; returns its depth (0: not owned, nothing done).
  std::size_t release_save() noexcept { return owned() ? m_.release_all() : 0; }

  /// Takes the lock back at `depth` levels, waiting (GIL released) without
  /// giving up on signals, as threading.RLock._acquire_restore does: a
  /// condition variable must get its lock back before anything is raised.
  void acquire_restore(std::size_t depth) noexcept {
    ilpy::blocking([&] { m_.lock(); });
    if (depth > 1) (void)m_.restore_depth(depth - 1);  // re-entries only: no wait
  }

  /// Back to a fresh, unowned lock (threading's _at_fork_reinit).
  void reinit() noexcept {
    std::destroy_at(&m_);
    std::construct_at(&m_);
  }

 private:
  interlock::RecursiveMutex m_;
};

struct RLockSide {
  RLockCore& c;
  bool try_acquire() noexcept { return c.try_acquire(); }
  WaitStatus acquire_until(Deadline d) noexcept { return c.acquire_until(d); }
};

/// interlock.locks.RLock
struct RLock final : RLockCore {};
/// interlock.compat.syncx.locks.RLock
struct SyncxRLock final : RLockCore {};

/// What RLock.guard() returns: releases one level, once, from the owning
/// thread (RuntimeError from another thread, the guard then still holds).
struct RLockHold {
  using Core = RLockCore;
  using Side = RLockSide;
  static bool release(RLockCore& c) noexcept { return c.release(); }
  static constexpr const char* kNotHeld = kRLockNotOwned;
  static constexpr bool kKeepOnFailure = true;
};
using RLockGuard = Guard<RLockHold>;

template <class C>
PyObject* rlock_release_save(C& self) noexcept {
  const std::size_t depth = self.release_save();
  if (depth == 0) return raise_runtime(kRLockNotOwned);
  return Py_BuildValue("(nk)", static_cast<Py_ssize_t>(depth), PyThread_get_thread_ident());
}

template <class C>
PyObject* rlock_acquire_restore(C& self, PyObject* state) noexcept {
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
  self.acquire_restore(static_cast<std::size_t>(depth));
  return Py_NewRef(Py_None);
}

PyObject* rlock_repr(PyObject* self) noexcept {
  if (!nb::inst_ready(self)) return repr_with_state(self, "uninitialized");
  return repr_with_state(self, nb::inst_ptr<RLockCore>(self)->locked() ? "locked" : "unlocked");
}

// ============================================================ RWLock

/// A reader-writer lock on interlock::RWMutex (neither side starves). Read
/// holds are not owned by threads: any thread may release one (as any thread
/// may release a Lock). A read release is the core's checked unlock
/// (RWMutex::try_unlock_shared: false when no read hold is left, which is a
/// RuntimeError here). `writer_` claims the write hold's release: it is set
/// after the core grants the write hold and cleared by exactly one release
/// before the core is told.
class RWCore {
 public:
  RWCore() noexcept = default;
  RWCore(const RWCore&) = delete;
  RWCore& operator=(const RWCore&) = delete;

  // ---- shared
  IL_PY_INLINE bool try_read() noexcept { return rw_.try_lock_shared(); }
  WaitStatus read_until(Deadline d) noexcept {
    if (try_read()) return WaitStatus::ok;
    if (d.is_immediate()) return WaitStatus::timed_out;
    return ilpy::blocking([&] { return rw_.lock_shared_until(d); });
  }
  IL_PY_INLINE bool read_release() noexcept { return rw_.try_unlock_shared(); }
  /// Lets a waiting writer in, then holds for reading again (the wait cannot
  /// be interrupted: the caller must get its hold back). The checked release
  /// and the read lock are RWMutex::bump_shared's two halves.
  bool bump_shared() noexcept {
    if (!rw_.try_unlock_shared()) return false;
    ilpy::blocking([&] { rw_.lock_shared(); });
    return true;
  }

  // ---- exclusive
  IL_PY_INLINE bool try_write() noexcept {
    if (!rw_.try_lock()) return false;
    writer_.store(true, std::memory_order_release);
    return true;
  }
  WaitStatus write_until(Deadline d) noexcept {
    if (try_write()) return WaitStatus::ok;
    if (d.is_immediate()) return WaitStatus::timed_out;
    const WaitStatus s = ilpy::blocking([&] { return rw_.lock_until(d); });
    if (s == WaitStatus::ok) writer_.store(true, std::memory_order_release);
    return s;
  }
  IL_PY_INLINE bool write_release(bool fair = false) noexcept {
    if (IL_PY_UNLIKELY(!writer_.exchange(false, std::memory_order_acq_rel))) return false;
    if (fair) rw_.unlock_fair();
    else rw_.unlock();
    return true;
  }
  /// Turns the write hold into a read hold (parked readers come in too).
  bool downgrade() noexcept {
    if (!writer_.exchange(false, std::memory_order_acq_rel)) return false;
    rw_.downgrade();
    return true;
  }
  /// Lets waiting threads in, then holds for writing again (uninterruptible).
  bool bump_exclusive() noexcept {
    if (!writer_.exchange(false, std::memory_order_acq_rel)) return false;
    ilpy::blocking([&] { rw_.bump_exclusive(); });
    writer_.store(true, std::memory_order_release);
    return true;
  }

  // ---- snapshots
  bool locked() const noexcept { return rw_.is_locked(); }
  bool write_locked() const noexcept { return rw_.is_locked_exclusive(); }
  std::size_t readers() const noexcept { return rw_.reader_count(); }

  void reinit() noexcept {
    rw_.reset_after_fork();
    writer_.store(false, std::memory_order_relaxed);
  }

 private:
  interlock::RWMutex rw_;
  std::atomic<bool> writer_{false};
};

struct ReadSide {
  RWCore& c;
  IL_PY_INLINE bool try_acquire() noexcept { return c.try_read(); }
  WaitStatus acquire_until(Deadline d) noexcept { return c.read_until(d); }
};

struct WriteSide {
  RWCore& c;
  IL_PY_INLINE bool try_acquire() noexcept { return c.try_write(); }
  WaitStatus acquire_until(Deadline d) noexcept { return c.write_until(d); }
};

/// interlock.locks.RWLock
struct RWLock final : RWCore {};
/// interlock.compat.syncx.locks.RWLock
struct SyncxRWLock final : RWCore {};

/// A read hold, released once (later releases are no-ops).
struct ReadHold {
  using Core = RWCore;
  using Side = ReadSide;
  static bool release(RWCore& c) noexcept { return c.read_release(); }
  static constexpr const char* kNotHeld = kReadNotHeld;
  static constexpr bool kKeepOnFailure = false;
};
using ReadGuard = Guard<ReadHold>;

/// A write hold, released (or downgraded) once.
struct WriteHold {
  using Core = RWCore;
  using Side = WriteSide;
  static bool release(RWCore& c) noexcept { return c.write_release(); }
  static constexpr const char* kNotHeld = kWriteNotHeld;
  static constexpr bool kKeepOnFailure = false;
};
using WriteGuard = Guard<WriteHold>;

PyObject* write_guard_release_fair(WriteGuard& g) noexcept {
  if (!g.take()) return Py_NewRef(Py_None);
  if (IL_PY_UNLIKELY(!g.core()->write_release(true))) return raise_runtime(kWriteNotHeld);
  return Py_NewRef(Py_None);
}

/// A ReadGuard for the downgraded hold, or None when the guard no longer
/// holds the lock.
PyObject* write_guard_downgrade(WriteGuard& g) noexcept {
  if (!g.take()) return Py_NewRef(Py_None);
  if (IL_PY_UNLIKELY(!g.core()->downgrade()))
    return raise_runtime("cannot downgrade un-acquired write lock");
  PyObject* r = new_guard<ReadGuard>(g.core(), g.owner());
  if (!r) (void)g.core()->read_release();
  return r;
}

inline constexpr const char kNoReadHold[] = "bump_shared() without a read hold";
inline constexpr const char kNoWriteHold[] = "bump_exclusive() without the write hold";
bool write_release_fair(RWCore& c) noexcept { return c.write_release(true); }
bool bump_shared(RWCore& c) noexcept { return c.bump_shared(); }
bool bump_exclusive(RWCore& c) noexcept { return c.bump_exclusive(); }

PyObject* rw_repr(PyObject* self) noexcept {
  if (!nb::inst_ready(self)) return repr_with_state(self, "uninitialized");
  const RWCore* c = nb::inst_ptr<RWCore>(self);
  if (c->write_locked()) return repr_with_state(self, "write-locked");
  const std::size_t n = c->readers();
  if (n == 0) return repr_with_state(self, "unlocked");
  char state[64];
  PyOS_snprintf(state, sizeof state, "read-locked (%zu reader%s)", n, n == 1 ? "" : "s");
  return repr_with_state(self, state);
}

// ============================================================ guards: shared methods

template <class G>
PyObject* guard_enter(PyObject* self, G&) noexcept {
  return Py_NewRef(self);
}

template <class G>
PyObject* guard_exit(G& g, PyObject*, PyObject*, PyObject*) noexcept {
  PyObject* r = g.release();
  if (!r) return nullptr;
  Py_DECREF(r);
  return Py_NewRef(Py_False);
}

// ============================================================ method tables

#define IL_ACQUIRE_DOC(what)                                                                  \
  "Acquire " what "; return True, or False if it could not be had (blocking=False, or\n"     \
  "the timeout passed). Without arguments, wait as long as it takes. The wait releases\n"   \
  "the GIL and ends early with whatever a signal handler raises (nothing acquired)."

PyMethodDef lock_methods[] = {
    ilpy::method<&acquire<ThreadingRules, LockHold, Lock>, "acquire($self, blocking=True, timeout=-1)",
                 IL_ACQUIRE_DOC("the lock") "\n\nthreading.Lock.acquire()'s contract; timeout=None "
                                            "also means forever.">(),
    ilpy::method<&release<LockHold, Lock>, "release($self, /)",
                 "Release the lock (any thread may). RuntimeError if it is not locked.">(),
    ilpy::method<&enter<ThreadingRules, LockHold, Lock>, "__enter__($self, /)", "acquire(); return True.">(),
    ilpy::method<exit_of<ThreadingRules, LockHold, Lock>, "__exit__($self, exc_type=None, exc_value=None, traceback=None, /)",
                 "release().">(),
    ilpy::method<&LockCore::locked, "locked($self, /)", "Whether the lock is held (a snapshot).">(),
    ilpy::method<&LockCore::locked, "is_locked($self, /)", "Same as locked().">(),
    ilpy::method<&LockCore::try_acquire, "try_acquire($self, /)",
                 "Acquire the lock if it is free; return whether it was.">(),
    ilpy::method<&LockCore::try_acquire, "try_lock($self, /)", "Same as try_acquire().">(),
    ilpy::method<guard_of<ThreadingRules, LockHold, Lock>, "guard($self, blocking=True, timeout=None)",
                      "acquire(blocking, timeout), returning a LockGuard that releases the lock\n"
                      "(or None if it was not acquired).">(),
    ilpy::method<&LockCore::reinit, "_at_fork_reinit($self, /)",
                 "Make this a fresh, unlocked lock (for a forked child).">(),
    ilpy::method<&lock_aio_enqueue<Lock>, "_aio_enqueue($self, loop, future, /)",
                 "For interlock's asyncio support: take the lock (None) or queue a waiter\n"
                 "that completes `future` on `loop` (an AsyncWait).">(),
    ilpy::methods_end,
};

PyMethodDef syncx_lock_methods[] = {
    ilpy::method<&acquire<SyncxRules, LockHold, SyncxLock>, "acquire($self, blocking=True, timeout=None)",
                 "Acquire the lock; return whether it was acquired. blocking=False tries once;\n"
                 "timeout=None waits forever, a negative timeout tries once.">(),
    ilpy::method<&acquire<SyncxRules, LockHold, SyncxLock>, "lock($self, blocking=True, timeout=None)",
                 "Same as acquire().">(),
    ilpy::method<&LockCore::try_acquire, "try_acquire($self, /)",
                 "Acquire the lock if it is free; return whether it was.">(),
    ilpy::method<&LockCore::try_acquire, "try_lock($self, /)", "Same as try_acquire().">(),
    ilpy::method<&release<LockHold, SyncxLock>, "release($self, /)",
                 "Release the lock. RuntimeError if it is not locked.">(),
    ilpy::method<&LockCore::locked, "locked($self, /)", "Whether the lock is held.">(),
    ilpy::method<&LockCore::locked, "is_locked($self, /)", "Same as locked().">(),
    ilpy::method<guard_of<SyncxRules, LockHold, SyncxLock>,
                      "guard($self, blocking=True, timeout=None)",
                      "acquire(blocking, timeout), returning a LockGuard (or None).">(),
    ilpy::method<&enter<SyncxRules, LockHold, SyncxLock>, "__enter__($self, /)", "acquire(); return the lock.">(),
    ilpy::method<exit_of<SyncxRules, LockHold, SyncxLock>, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release(); return False.">(),
    ilpy::method<&LockCore::reinit, "_at_fork_reinit($self, /)",
                 "Make this a fresh, unlocked lock (for a forked child).">(),
    ilpy::methods_end,
};

PyMethodDef lock_guard_methods[] = {
    ilpy::method<&LockGuard::release, "release($self, /)",
                 "Release the lock, once (later calls do nothing). RuntimeError if the lock\n"
                 "was released some other way meanwhile.">(),
    ilpy::method<&LockGuard::release, "unlock($self, /)", "Same as release().">(),
    ilpy::method<&guard_enter<LockGuard>, "__enter__($self, /)", "Return the guard.">(),
    ilpy::method<&guard_exit<LockGuard>, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release(); return False.">(),
    ilpy::methods_end,
};

#define IL_RLOCK_COMMON(C)                                                                     \
  ilpy::method<&RLockCore::try_acquire, "try_acquire($self, /)",                                 \
               "Acquire the lock if it is free or already ours; return whether it was.">(),    \
      ilpy::method<&RLockCore::try_acquire, "try_lock($self, /)", "Same as try_acquire().">(),   \
      ilpy::method<&release<RLockHold, C>, "release($self, /)",                                     \
                   "Release one level. RuntimeError unless the calling thread owns the "       \
                   "lock.">(),                                                                 \
      ilpy::method<&RLockCore::locked, "locked($self, /)",                                       \
                   "Whether some thread holds the lock (a snapshot).">(),                      \
      ilpy::method<&RLockCore::locked, "is_locked($self, /)", "Same as locked().">(),            \
      ilpy::method<&RLockCore::owned, "_is_owned($self, /)",                                  \
                   "Whether the calling thread holds the lock.">(),                            \
      ilpy::method<&RLockCore::count, "_recursion_count($self, /)",                    \
                   "Levels held by the calling thread (0 if it does not hold the lock).">(),   \
      ilpy::method<&rlock_release_save<C>, "_release_save($self, /)",                          \
                   "Fully release the calling thread's hold; return the state for "            \
                   "_acquire_restore() (for threading.Condition).">(),                         \
      ilpy::method<&rlock_acquire_restore<C>, "_acquire_restore($self, state, /)",             \
                   "Take the lock back with the state _release_save() returned; waits "        \
                   "without giving up on signals.">(),                                         \
      ilpy::method<&RLockCore::reinit, "_at_fork_reinit($self, /)",                              \
                   "Make this a fresh, unowned lock (for a forked child).">()

PyMethodDef rlock_methods[] = {
    ilpy::method<&acquire<ThreadingRules, RLockHold, RLock>, "acquire($self, blocking=True, timeout=-1)",
                 IL_ACQUIRE_DOC("the lock, or one more level of it if the calling thread\n"
                                "already owns it") "\n\nthreading.RLock.acquire()'s contract; "
                                                   "timeout=None also means forever.">(),
    ilpy::method<&enter<ThreadingRules, RLockHold, RLock>, "__enter__($self, /)", "acquire(); return True.">(),
    ilpy::method<exit_of<ThreadingRules, RLockHold, RLock>, "__exit__($self, exc_type=None, exc_value=None, traceback=None, /)",
                 "release().">(),
    ilpy::method<guard_of<ThreadingRules, RLockHold, RLock>, "guard($self, blocking=True, timeout=None)",
                      "acquire(blocking, timeout), returning an RLockGuard that releases that\n"
                      "level (or None if it was not acquired).">(),
    IL_RLOCK_COMMON(RLock),
    ilpy::methods_end,
};

PyMethodDef syncx_rlock_methods[] = {
    ilpy::method<&acquire<SyncxRules, RLockHold, SyncxRLock>,
                 "acquire($self, blocking=True, timeout=None)",
                 "Acquire the lock (one more level if already ours); return whether it was\n"
                 "acquired. blocking=False tries once; timeout=None waits forever.">(),
    ilpy::method<&acquire<SyncxRules, RLockHold, SyncxRLock>, "lock($self, blocking=True, timeout=None)",
                 "Same as acquire().">(),
    ilpy::method<guard_of<SyncxRules, RLockHold, SyncxRLock>,
                      "guard($self, blocking=True, timeout=None)",
                      "acquire(blocking, timeout), returning an RLockGuard (or None).">(),
    ilpy::method<&enter<SyncxRules, RLockHold, SyncxRLock>, "__enter__($self, /)", "acquire(); return the lock.">(),
    ilpy::method<exit_of<SyncxRules, RLockHold, SyncxRLock>, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release(); return False.">(),
    IL_RLOCK_COMMON(SyncxRLock),
    ilpy::methods_end,
};

PyMethodDef rlock_guard_methods[] = {
    ilpy::method<&RLockGuard::release, "release($self, /)",
                 "Release the level this guard holds, once (later calls do nothing).\n"
                 "RuntimeError on a thread that does not own the lock.">(),
    ilpy::method<&RLockGuard::release, "unlock($self, /)", "Same as release().">(),
    ilpy::method<&guard_enter<RLockGuard>, "__enter__($self, /)", "Return the guard.">(),
    ilpy::method<&guard_exit<RLockGuard>, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release(); return False.">(),
    ilpy::methods_end,
};

#define IL_RW_COMMON(C)                                                                        \
  ilpy::method<&RWCore::try_read, "try_acquire_read($self, /)",                                  \
               "Take a read hold if one is available now; return whether it was.">(),          \
      ilpy::method<&release<ReadHold, C>, "read_release($self, /)",                              \
                   "Release a read hold (any thread may). RuntimeError if none is held.">(),   \
      ilpy::method<&RWCore::try_write, "try_acquire_write($self, /)",                            \
                   "Take the write hold if it is available now; return whether it was.">(),    \
      ilpy::method<&release<WriteHold, C>, "write_release($self, /)",                            \
                   "Release the write hold. RuntimeError if it is not held.">(),               \
      ilpy::method<&checked<&write_release_fair, kWriteNotHeld, C>, "write_release_fair($self, /)",                  \
                   "Release the write hold, handing the lock to a waiting thread if any.">(),  \
      ilpy::method<&checked<&bump_shared, kNoReadHold, C>, "bump_shared($self, /)",                                \
                   "With a read hold: let a waiting writer go first, then hold for reading "   \
                   "again.">(),                                                                \
      ilpy::method<&checked<&bump_exclusive, kNoWriteHold, C>, "bump_exclusive($self, /)",                          \
                   "With the write hold: let waiting threads go first, then hold for "         \
                   "writing again.">(),                                                        \
      ilpy::method<&RWCore::locked, "is_locked($self, /)",                                       \
                   "Whether any hold (read or write) exists (a snapshot).">(),                 \
      ilpy::method<&RWCore::write_locked, "is_write_locked($self, /)",                           \
                   "Whether the write hold exists (a snapshot).">(),                           \
      ilpy::method<&RWCore::reinit, "_at_fork_reinit($self, /)",                                 \
                   "Make this a fresh, unlocked lock (for a forked child).">()

PyMethodDef rwlock_methods[] = {
    ilpy::method<&acquire<ThreadingRules, ReadHold, RWLock>,
                 "acquire_read($self, blocking=True, timeout=None)",
                 IL_ACQUIRE_DOC("a read hold") "\n\nthreading's timeout rules (-1 is forever "
                                               "too).">(),
    ilpy::method<&acquire<ThreadingRules, WriteHold, RWLock>,
                 "acquire_write($self, blocking=True, timeout=None)",
                 IL_ACQUIRE_DOC("the write hold") "\n\nthreading's timeout rules (-1 is forever "
                                                  "too).">(),
    ilpy::method<guard_of<ThreadingRules, ReadHold, RWLock>,
                      "read_guard($self, blocking=True, timeout=None)",
                      "acquire_read(blocking, timeout), returning a ReadGuard (or None).">(),
    ilpy::method<guard_of<ThreadingRules, WriteHold, RWLock>,
                      "write_guard($self, blocking=True, timeout=None)",
                      "acquire_write(blocking, timeout), returning a WriteGuard (or None).">(),
    IL_RW_COMMON(RWLock),
    ilpy::methods_end,
};

PyMethodDef syncx_rwlock_methods[] = {
    ilpy::method<&acquire<SyncxRules, ReadHold, SyncxRWLock>,
                 "acquire_read($self, blocking=True, timeout=None)",
                 "Take a read hold; return whether it was taken.">(),
    ilpy::method<&acquire<SyncxRules, ReadHold, SyncxRWLock>,
                 "read_lock($self, blocking=True, timeout=None)", "Same as acquire_read().">(),
    ilpy::method<&RWCore::try_read, "try_read_lock($self, /)",
                 "Same as try_acquire_read().">(),
    ilpy::method<guard_of<SyncxRules, ReadHold, SyncxRWLock>,
                      "read_guard($self, blocking=True, timeout=None)",
                      "acquire_read(blocking, timeout), returning a ReadGuard (or None).">(),
    ilpy::method<&acquire<SyncxRules, WriteHold, SyncxRWLock>,
                 "acquire_write($self, blocking=True, timeout=None)",
                 "Take the write hold; return whether it was taken.">(),
    ilpy::method<&acquire<SyncxRules, WriteHold, SyncxRWLock>,
                 "write_lock($self, blocking=True, timeout=None)", "Same as acquire_write().">(),
    ilpy::method<&RWCore::try_write, "try_write_lock($self, /)",
                 "Same as try_acquire_write().">(),
    ilpy::method<guard_of<SyncxRules, WriteHold, SyncxRWLock>,
                      "write_guard($self, blocking=True, timeout=None)",
                      "acquire_write(blocking, timeout), returning a WriteGuard (or None).">(),
    IL_RW_COMMON(SyncxRWLock),
    ilpy::methods_end,
};

PyMethodDef read_guard_methods[] = {
    ilpy::method<&ReadGuard::release, "release($self, /)",
                 "Release the read hold, once (later calls do nothing).">(),
    ilpy::method<&ReadGuard::release, "unlock($self, /)", "Same as release().">(),
    ilpy::method<&guard_enter<ReadGuard>, "__enter__($self, /)", "Return the guard.">(),
    ilpy::method<&guard_exit<ReadGuard>, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release(); return False.">(),
    ilpy::methods_end,
};

PyMethodDef write_guard_methods[] = {
    ilpy::method<&WriteGuard::release, "release($self, /)",
                 "Release the write hold, once (later calls do nothing).">(),
    ilpy::method<&WriteGuard::release, "unlock($self, /)", "Same as release().">(),
    ilpy::method<&write_guard_release_fair, "release_fair($self, /)",
                 "release(), handing the lock to a waiting thread if any.">(),
    ilpy::method<&write_guard_release_fair, "unlock_fair($self, /)", "Same as release_fair().">(),
    ilpy::method<&write_guard_downgrade, "downgrade($self, /)",
                 "Turn the write hold into a read hold, atomically; return its ReadGuard\n"
                 "(this guard then holds nothing), or None if this guard holds nothing.">(),
    ilpy::method<&guard_enter<WriteGuard>, "__enter__($self, /)", "Return the guard.">(),
    ilpy::method<&guard_exit<WriteGuard>, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release(); return False.">(),
    ilpy::methods_end,
};

#undef IL_RW_COMMON
#undef IL_RLOCK_COMMON
#undef IL_ACQUIRE_DOC

template <PyMethodDef* Methods, reprfunc Repr = nullptr>
nb::type_slots slots() noexcept {
  static PyType_Slot s[] = {{Py_tp_methods, static_cast<void*>(Methods)},
                            {Repr ? Py_tp_repr : 0, reinterpret_cast<void*>(Repr)},
                            {0, nullptr}};
  return nb::type_slots(s);
}

using interlock::py::set_module;

template <class G, PyMethodDef* Methods>
nb::type_slots guard_slots() noexcept {
  static PyType_Slot s[] = {{Py_tp_methods, static_cast<void*>(Methods)},
                            {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<G>)},
                            {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<G>)},
                            {0, nullptr}};
  return nb::type_slots(s);
}

template <class G>
void register_guard(nb::module_& m, const char* name, nb::type_slots s, const char* doc) {
  nb::class_<G> cls(m, name, s, nb::is_final(), nb::pooled(), doc);
  set_module(cls, "interlock.locks");
  GuardType<G>::type = cls.ptr();
}

}  // namespace

namespace interlock::py {

void init_locks(nb::module_& m) {
  constexpr const char* mod = "interlock.locks";
  constexpr const char* syncx_mod = "interlock.compat.syncx.locks";

  nb::class_<Lock> lock(m, "Lock", slots<lock_methods, &lock_repr>(), nb::is_weak_referenceable(),
                        "A mutual-exclusion lock with threading.Lock's contract (any thread may\n"
                        "release it), plus try_acquire()/try_lock(), is_locked() and guard().\n"
                        "One byte of state (interlock::Mutex); waits release the GIL and are\n"
                        "interruptible by signals.");
  lock.def(nb::init<>());
  set_module(lock, mod);

  nb::class_<RLock> rlock(m, "RLock", slots<rlock_methods, &rlock_repr>(),
                          nb::is_weak_referenceable(),
                          "A re-entrant lock with threading.RLock's contract (owned by the\n"
                          "acquiring thread; works with threading.Condition), plus try_acquire(),\n"
                          "is_locked() and guard(). Waits release the GIL and are interruptible.");
  rlock.def(nb::init<>());
  set_module(rlock, mod);

  nb::class_<RWLock> rwlock(
      m, "RWLock", slots<rwlock_methods, &rw_repr>(), nb::is_weak_referenceable(),
      "A reader-writer lock: many readers or one writer; neither side starves (a\n"
      "waiting writer holds new readers back; a releasing writer lets all waiting\n"
      "readers in). Read holds are not re-entrant and not owned by a thread: any\n"
      "thread may release one. Waits release the GIL and are interruptible.");
  rwlock.def(nb::init<>());
  set_module(rwlock, mod);

  register_guard<LockGuard>(m, "LockGuard", guard_slots<LockGuard, lock_guard_methods>(),
                            "A held Lock (from Lock.guard()): release()/unlock() or leaving a\n"
                            "`with` block releases it once; so does garbage collection.");
  register_guard<RLockGuard>(m, "RLockGuard", guard_slots<RLockGuard, rlock_guard_methods>(),
                             "One held level of an RLock (from RLock.guard()).");
  register_guard<ReadGuard>(m, "ReadGuard", guard_slots<ReadGuard, read_guard_methods>(),
                            "A read hold of an RWLock (from read_guard() or\n"
                            "WriteGuard.downgrade()).");
  register_guard<WriteGuard>(m, "WriteGuard", guard_slots<WriteGuard, write_guard_methods>(),
                             "The write hold of an RWLock (from write_guard()).");

  nb::module_ sx = m.def_submodule(
      "_syncx", "Native classes of interlock.compat.syncx.locks (syncx's conventions).");
  nb::class_<SyncxLock> slock(sx, "Lock", slots<syncx_lock_methods, &lock_repr>(),
                              nb::is_weak_referenceable(), "syncx.locks.Lock on interlock.");
  slock.def(nb::init<>());
  set_module(slock, syncx_mod);
  nb::class_<SyncxRLock> srlock(sx, "RLock", slots<syncx_rlock_methods, &rlock_repr>(),
                                nb::is_weak_referenceable(), "syncx.locks.RLock on interlock.");
  srlock.def(nb::init<>());
  set_module(srlock, syncx_mod);
  nb::class_<SyncxRWLock> srw(sx, "RWLock", slots<syncx_rwlock_methods, &rw_repr>(),
                              nb::is_weak_referenceable(), "syncx.locks.RWLock on interlock.");
  srw.def(nb::init<>());
  set_module(srw, syncx_mod);
}

}  // namespace interlock::py
