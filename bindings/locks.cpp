// bindings/locks.cpp — interlock._interlock.locks: Lock, RLock, RWLock and
// their guards, Semaphore, BoundedSemaphore, Event, CountDownLatch and Once;
// syncx's flavours of the locks in the nested submodule _syncx. The pattern
// (lock_api style: one method-table template over a flavour and a hold) is
// docs/design.md, "The binding pattern"; the waits, "Blocking from Python".
// Every wait goes through ilpy::blocking() and ends with nothing taken when
// a signal handler raises; releasing what is not held is a RuntimeError.
// The reprs are python/interlock/locks.py's.
#include <nanobind/nanobind.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "aio.hpp"
#include "fast_methods.hpp"
#include "interlock/latch.hpp"
#include "interlock/lock_hold.hpp"
#include "interlock/once.hpp"
#include "interlock/resettable_event.hpp"
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

// ============================================================ flavours

/// threading's: threading.Lock's acquire, __enter__ and __exit__.
struct Threading {
  static constexpr bool kSyncx = false;
  static constexpr const char* kModule = "interlock.locks";
  static constexpr auto deadline = &ilpy::passed_threading_deadline;
  template <class C>
  static PyObject* entered(PyObject*, C&) noexcept { Py_RETURN_TRUE; }
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

/// syncx's: its timeouts, __enter__ and __exit__; lock() / read_lock() / ... aliases.
struct Syncx {
  static constexpr bool kSyncx = true;
  static constexpr const char* kModule = "interlock.compat.syncx.locks";
  static constexpr auto deadline = &ilpy::passed_syncx_deadline;
  template <class C>
  static PyObject* entered(PyObject* self, C&) noexcept { return Py_NewRef(self); }
  template <auto Release, class C>
  static PyObject* exit(C& self, PyObject*, PyObject*, PyObject*) noexcept {
    PyObject* r = std::invoke(Release, self);
    if (IL_PY_UNLIKELY(!r)) return nullptr;
    Py_DECREF(r);
    Py_RETURN_FALSE;
  }
  static constexpr fixed_string kAcquire = "acquire($self, blocking=True, timeout=None) -> bool";
  static constexpr fixed_string kTimeouts =
      "\n\nsyncx's timeout rules: None waits forever, a negative timeout tries once.";
  static constexpr fixed_string kEnterDoc = "acquire(); return the lock.";
  static constexpr fixed_string kExit = "__exit__($self, exc_type, exc_value, traceback, /)";
  static constexpr fixed_string kExitDoc = "release(); return False.";
};

/// threading.Semaphore's: Threading's, with the wait() timeout convention.
struct SemaphoreRules : Threading {
  static constexpr auto deadline = &ilpy::passed_semaphore_deadline;
};

// ============================================================ holds

/// The core's holds (interlock/lock_hold.hpp) with their RuntimeError
/// (kNotHeld) and docs: docs/design.md, "Locks, lock_api style".
struct LockHold : interlock::ExclusiveHold<interlock::Mutex> {
  static void reinit(Core& c) noexcept { c.reset_after_fork(); }
  static constexpr char kNotHeld[] = "release unlocked lock";
  static constexpr fixed_string kAcquireDoc = "Acquire the lock";
  static constexpr fixed_string kReleaseDoc =
      "Release the lock (any thread may). RuntimeError if it is not locked.";
};
struct RLockHold : interlock::ExclusiveHold<interlock::RecursiveMutex> {
  static void reinit(Core& c) noexcept { c.reset(); }
  static constexpr char kNotHeld[] = "cannot release un-acquired lock";
  static constexpr fixed_string kAcquireDoc =
      "Acquire the lock (one more level if the calling thread owns it)";
  static constexpr fixed_string kReleaseDoc =
      "Release one level. RuntimeError unless the calling thread owns the lock.";
};
struct ReadHold : interlock::SharedHold {
  static constexpr char kNotHeld[] = "cannot release un-acquired read lock";
};
struct WriteHold : interlock::ExclusiveHold<interlock::CheckedRWMutex> {
  static constexpr char kNotHeld[] = "cannot release un-acquired write lock";
};
using interlock::PermitHold;

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

/// The one guard: what X.guard() / read_guard() etc. return, a HoldOnce
/// (released on release()/unlock(), on leaving a `with` block, or when
/// garbage-collected still holding) that keeps its lock alive. Guards take
/// part in garbage collection (a guard stored on a subclass instance of its
/// own lock forms a cycle): clear() releases before dropping the owner.
template <class H>
struct Guard : interlock::HoldOnce<H> {
  Guard(typename H::Core& core, nb::object o) noexcept
      : interlock::HoldOnce<H>(core), owner(std::move(o)) {}
  ~Guard() { this->drop(); }  // while owner still keeps the lock alive

  int traverse(visitproc visit, void* arg) const noexcept {
    Py_VISIT(owner.ptr());
    return 0;
  }
  void clear() noexcept {
    this->drop();
    owner = nb::object();
  }
  /// Releases with Release (H::release, or a fair one): None, or RuntimeError.
  template <auto Release = &H::release>
  PyObject* release_py() noexcept {
    if (INTERLOCK_LIKELY(this->template release<Release>() != Guard::Released::refused))
      Py_RETURN_NONE;
    return raise_runtime(H::kNotHeld);
  }

  nb::object owner;
  static inline PyObject* type = nullptr;  // the Python type, set at registration
};

/// A new guard (a new reference); on failure the hold is released, NULL.
template <class H>
PyObject* new_guard(typename H::Core& core, nb::handle owner) noexcept {
  try {
    nb::object o = nb::inst_alloc(Guard<H>::type);
    new (nb::inst_ptr<Guard<H>>(o)) Guard<H>(core, nb::borrow(owner));
    nb::inst_mark_ready(o);
    return o.release().ptr();
  } catch (...) {
    (void)H::release(core);
    return ilpy::detail::translate_current_exception();
  }
}

bool release_fair(interlock::CheckedRWMutex& c) noexcept { return c.try_unlock(true); }
constexpr auto write_guard_release_fair = &Guard<WriteHold>::release_py<&release_fair>;

/// WriteGuard.downgrade(): a ReadGuard for the downgraded hold, or None when
/// the guard no longer holds the lock.
PyObject* write_guard_downgrade(Guard<WriteHold>& g) noexcept {
  if (!g.take()) return Py_NewRef(Py_None);
  if (IL_PY_UNLIKELY(!g.core().try_downgrade()))
    return raise_runtime("cannot downgrade un-acquired write lock");
  return new_guard<ReadHold>(g.core(), g.owner);
}

// ============================================================ the one lock binding
// Every flavour's acquire / release / __enter__ / __exit__ / guard.

/// Op(self) as None, or RuntimeError(Msg) when it reports false.
template <auto Op, const char* Msg, class C>
PyObject* checked(C& self) noexcept {
  if (INTERLOCK_LIKELY(Op(self))) Py_RETURN_NONE;
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
  return r == Py_True ? new_guard<H>(c, self) : Py_NewRef(Py_None);
}

// ---- RLock extras (threading.Condition's protocol)

PyObject* rlock_release_save(interlock::RecursiveMutex& m) noexcept {
  const std::size_t depth = m.try_release_all();
  if (depth == 0) return raise_runtime(RLockHold::kNotHeld);
  return Py_BuildValue("(nk)", static_cast<Py_ssize_t>(depth), PyThread_get_thread_ident());
}

/// Takes the lock back at the saved depth (RecursiveMutex::lock_at_depth).
PyObject* rlock_acquire_restore(interlock::RecursiveMutex& m, PyObject* state) noexcept {
  Py_ssize_t depth = 0;
  unsigned long owner = 0;
  if (!PyArg_Parse(state, "(nk):_acquire_restore", &depth, &owner)) return nullptr;
  if (depth < 1) {
    PyErr_SetString(PyExc_ValueError, "_acquire_restore(): the recursion count must be >= 1");
    return nullptr;
  }
  ilpy::blocking([&] { m.lock_at_depth(static_cast<std::size_t>(depth)); });
  return Py_NewRef(Py_None);
}

// ---- RWLock extras

inline constexpr const char kNoReadHold[] = "bump_shared() without a read hold";
inline constexpr const char kNoWriteHold[] = "bump_exclusive() without the write hold";
template <bool (interlock::CheckedRWMutex::*Bump)() noexcept>
bool bump(interlock::CheckedRWMutex& c) noexcept {
  return ilpy::blocking([&] { return (c.*Bump)(); });
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
      ilpy::method<&checked<&bump<&M::try_bump_shared>, kNoReadHold, C>, "bump_shared($self, /)",
                   "With a read hold: let a waiting writer go first, then hold for reading "
                   "again.">(),
      ilpy::method<&checked<&bump<&M::try_bump_exclusive>, kNoWriteHold, C>, "bump_exclusive($self, /)",
                   "With the write hold: let waiting threads go first, then hold for writing "
                   "again.">(),
      ilpy::method<&M::is_locked, "is_locked($self, /)",
                   "Whether any hold (read or write) exists (a snapshot).">(),
      ilpy::method<&M::is_locked_exclusive, "is_write_locked($self, /)",
                   "Whether the write hold exists (a snapshot).">(),
      ilpy::method<&M::reader_count, "_reader_count($self, /) -> int",
                   "The number of read holds (a snapshot, for the repr).">(),
      ilpy::method<&M::reset_after_fork, "_at_fork_reinit($self, /)", kForkDoc>(),
  });
}

template <class H>
PyMethodDef* guard_methods() {
  using G = Guard<H>;
  constexpr bool write = std::is_same_v<H, WriteHold>;
  return table<G>({
      ilpy::method<&G::template release_py<>, "release($self, /)",
                   "Release the hold, once (later calls do nothing). RuntimeError if it was\n"
                   "released some other way meanwhile (RLock: from a thread that does not own "
                   "it).">(),
      alias<&G::template release_py<>, "unlock", "release">(),
      ilpy::method<&Syncx::entered<G>, "__enter__($self, /)", "Return the guard.">(),
      ilpy::method<&Syncx::exit<&G::template release_py<>, G>,
                   "__exit__($self, exc_type, exc_value, traceback, /)",
                   "release(); return False.">(),
      only<write>(ilpy::method<write_guard_release_fair,
                               "release_fair($self, /)",
                               "release(), handing the lock to a waiting thread if any.">()),
      only<write>(alias<write_guard_release_fair, "unlock_fair", "release_fair">()),
      only<write>(ilpy::method<&write_guard_downgrade, "downgrade($self, /)",
                               "Turn the write hold into a read hold, atomically; return its "
                               "ReadGuard\n(this guard then holds nothing), or None if this "
                               "guard holds nothing.">()),
  });
}

// ============================================================ Semaphore, Event, CountDownLatch, Once

/// __init__(count) of a counted primitive C: an integer in [0, C::max_count]
/// (ValueError C::kNegative below, OverflowError C::kTooMany above).
template <class C>
void construct(C* self, nb::handle value) {
  std::uint64_t v = 0;
  if (!ilpy::read_count(value.ptr(), 0, C::kNegative, &v)) throw nb::python_error();
  if (v > C::max_count) {
    PyErr_SetString(PyExc_OverflowError, C::kTooMany);
    throw nb::python_error();
  }
  new (self) C(v);
}

/// wait(timeout=None) of a one-shot primitive P (Event, CountDownLatch): True
/// at once if open (the timeout unread), else threading's wait convention.
template <auto Open, auto Wait, class P>
PyObject* wait_open(P& p, std::optional<PyObject*> timeout) noexcept {
  if (INTERLOCK_LIKELY((p.*Open)())) Py_RETURN_TRUE;
  Deadline d;
  if (!ilpy::wait_deadline(timeout ? *timeout : nullptr, &d)) return nullptr;
  if (d.is_immediate()) return Py_NewRef((p.*Open)() ? Py_True : Py_False);
  return ilpy::wait_result(ilpy::blocking([&] { return (p.*Wait)(d); }));
}

struct PySemaphore : interlock::Semaphore {
  static constexpr const char* kNegative = "semaphore initial value must be >= 0";
  static constexpr const char* kTooMany = "semaphore initial value must be < 2**62";
  std::uint64_t bound;  // release() fails past this count
  bool bounded;         // BoundedSemaphore: ValueError past bound; else OverflowError

  explicit PySemaphore(std::uint64_t value, bool is_bounded = false) noexcept
      : Semaphore(value), bound(is_bounded ? value : max_count), bounded(is_bounded) {}
};
struct PyBoundedSemaphore : PySemaphore {
  explicit PyBoundedSemaphore(std::uint64_t value) noexcept : PySemaphore(value, true) {}
};

PyObject* semaphore_release_n(PySemaphore& s, std::uint64_t n) noexcept {
  if (INTERLOCK_LIKELY(s.release_bounded(n, s.bound))) Py_RETURN_NONE;
  if (s.bounded) PyErr_SetString(PyExc_ValueError, "Semaphore released too many times");
  else PyErr_SetString(PyExc_OverflowError, "semaphore value would exceed 2**62-1");
  return nullptr;
}
// release(n=1); None is a TypeError, as in threading.
PyObject* semaphore_release(PySemaphore& s, ilpy::passed n_arg) noexcept {
  std::uint64_t n = 1;
  if (n_arg.given() && !ilpy::read_count(n_arg.obj, 1, "n must be one or more", &n)) return nullptr;
  return semaphore_release_n(s, n);
}
PyObject* semaphore_exit(PySemaphore& s, PyObject*, PyObject*, PyObject*) noexcept {
  return semaphore_release_n(s, 1);
}

PyMethodDef semaphore_methods[] = {
    ilpy::method<&acquire<SemaphoreRules, PermitHold>,
                 "acquire($self, /, blocking=True, timeout=None) -> bool",
                 "Take a permit, waiting for one while blocking is true: for at most timeout\n"
                 "seconds (None: forever; zero or negative: do not wait). Return whether a\n"
                 "permit was taken. Waiting releases the GIL and is interruptible (an\n"
                 "interrupted call takes no permit).">(),
    ilpy::method<&semaphore_release, "release($self, /, n=1) -> None",
                 "Return n permits (n >= 1), waking up to n waiting threads in FIFO order.\n"
                 "BoundedSemaphore: ValueError if the value would exceed the initial one.">(),
    ilpy::method<&enter<SemaphoreRules, PermitHold, PySemaphore>, "__enter__($self, /) -> bool",
                 "acquire(); return True. Waiting releases the GIL and is interruptible.">(),
    ilpy::method<&semaphore_exit, "__exit__($self, exc_type, exc_value, traceback, /)",
                 "release().">(),
    ilpy::aio_method<&ilpy::aio::enqueue<interlock::Semaphore>, "take a permit (None) or">(),
    ilpy::methods_end,
};

using interlock::ResettableEvent;

PyMethodDef event_methods[] = {
    ilpy::method<&ResettableEvent::is_set, "is_set($self, /)", "Return whether the flag is set.">(),
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

using interlock::Latch;
struct PyLatch final : Latch {
  static constexpr const char* kNegative = "count must be >= 0";
  static constexpr const char* kTooMany = "count must be < 2**62";
  using Latch::Latch;
};

// count_down(n=1)
PyObject* latch_count_down(Latch& l, ilpy::passed n_arg) noexcept {
  std::uint64_t n = 1;
  if (n_arg.given() && !ilpy::read_count(n_arg.obj, 1, "n must be one or more", &n)) return nullptr;
  return PyLong_FromUnsignedLongLong(l.count_down(n));
}

PyMethodDef latch_methods[] = {
    ilpy::method<&latch_count_down, "count_down($self, /, n=1)",
                 "Lower the count by n (n >= 1; it stops at zero) and return the count after;\n"
                 "the call that reaches zero releases every waiting thread.">(),
    ilpy::method<&wait_open<&Latch::try_wait, &Latch::wait_until, Latch>,
                 "wait($self, /, timeout=None) -> bool",
                 "Wait until the count is zero, for at most timeout seconds (None: forever;\n"
                 "zero or negative: do not wait). Return True once it is zero, False on\n"
                 "timeout. Waiting releases the GIL and is interruptible.">(),
    ilpy::aio_method<&ilpy::aio::enqueue<Latch>, "None if open, else">(),
    ilpy::methods_end,
};

struct PyOnce {
  // The flag, and who runs fn (the core's fork-safe registry, once.hpp).
  interlock::TrackedOnce once;
  // Written by the runner before finish(true), whose release publishes it to
  // every thread that then sees the flag done (acquire); immutable after.
  std::atomic<PyObject*> result{nullptr};

  ~PyOnce() { clear(); }
  int traverse(visitproc visit, void* arg) const noexcept {
    PyObject* r = result.load(std::memory_order_relaxed);
    Py_VISIT(r);
    return 0;
  }
  void clear() noexcept { Py_XDECREF(result.exchange(nullptr, std::memory_order_relaxed)); }
  PyObject* cached() const noexcept {
    PyObject* r = result.load(std::memory_order_relaxed);
    return Py_NewRef(r ? r : Py_None);
  }
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
    case Call::done: return o.cached();
    case Call::interrupted: return ilpy::raise_interrupted();
    case Call::reentrant: break;
  }
  PyErr_SetString(PyExc_RuntimeError,
                  "Once.call(): called again from the function it is running (this would deadlock)");
  return nullptr;
}

// call(fn, /, *args, **kwargs): METH_FASTCALL | METH_KEYWORDS (no fast-method form for *args).
PyObject* once_call(PyObject* self, PyObject* const* argv, Py_ssize_t nargsf,
                    PyObject* kwnames) noexcept {
  if (IL_PY_UNLIKELY(!nb::inst_ready(self))) return ilpy::detail::raise_not_ready(self, "call");
  PyOnce& o = *nb::inst_ptr<PyOnce>(self);
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  if (IL_PY_UNLIKELY(nargs < 1)) {
    PyErr_SetString(PyExc_TypeError, "Once.call() missing required argument 'fn' (pos 1)");
    return nullptr;
  }
  if (INTERLOCK_LIKELY(o.once.flag.is_done())) return o.cached();
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

// ============================================================ registration

template <class C, class... Base>
nb::class_<C, Base...> add(nb::module_& m, const char* name, nb::type_slots s, const char* doc) {
  return nb::class_<C, Base...>(m, name, s, nb::is_weak_referenceable(), doc);
}
template <class F, class C>
void add_lock(nb::module_& m, const char* name, PyMethodDef* methods, const char* doc) {
  static PyType_Slot s[] = {{Py_tp_methods, methods}, {0, nullptr}};
  ilpy::set_module(add<C>(m, name, nb::type_slots(s), doc).def(nb::init<>()), F::kModule);
}
/// A flavour's Lock, RLock and RWLock.
template <class F>
void add_locks(nb::module_& m, const char* lock_doc, const char* rlock_doc, const char* rw_doc) {
  add_lock<F, LockT<F>>(m, "Lock", mutex_methods<F, LockHold, LockT<F>>(), lock_doc);
  add_lock<F, RLockT<F>>(m, "RLock", mutex_methods<F, RLockHold, RLockT<F>>(), rlock_doc);
  add_lock<F, RWLockT<F>>(m, "RWLock", rwlock_methods<F>(), rw_doc);
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
  add_locks<Threading>(
      m,
      "A mutual-exclusion lock with threading.Lock's contract (any thread may\n"
      "release it), plus try_acquire()/try_lock(), is_locked() and guard().\n"
      "One byte of state (interlock::Mutex); waits release the GIL and are\n"
      "interruptible by signals.",
      "A re-entrant lock with threading.RLock's contract (owned by the\n"
      "acquiring thread; works with threading.Condition), plus try_acquire(),\n"
      "is_locked() and guard(). Waits release the GIL and are interruptible.",
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
  add_locks<Syncx>(sx, "syncx.locks.Lock on interlock.", "syncx.locks.RLock on interlock.",
                   "syncx.locks.RWLock on interlock.");
}

void init_sync(nb::module_& m) {
  using namespace nb::literals;
  add<PySemaphore>(m, "Semaphore", ilpy::method_slots<semaphore_methods>(),
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
      "A Semaphore whose release() raises ValueError if the value would exceed\n"
      "the initial value (threading.BoundedSemaphore's contract).")
      .def("__init__", &construct<PyBoundedSemaphore>, "value"_a.none() = 1)
      .def_prop_ro("initial_value", [](const PyBoundedSemaphore& s) { return s.bound; },
                   "The initial value: the most permits there can be.");
  add<ResettableEvent>(m, "Event", ilpy::method_slots<event_methods>(),
               "A flag threads can wait for (threading.Event's contract): set(),\n"
               "clear(), is_set(), wait(timeout=None). Waiting releases the GIL\n"
               "and is interruptible by signals.")
      .def(nb::init<>());
  auto once = add<PyOnce>(m, "Once", ilpy::gc_slots<PyOnce>(once_methods),
                          "Runs a function exactly once across all threads: once.call(fn, *args,\n"
                          "**kwargs) runs fn the first time, caches its result and returns it to\n"
                          "every caller, now and later. If fn raises, the exception propagates\n"
                          "and a later call tries again.");
  once.def(nb::init<>()).def_prop_ro("done", &once_is_done, "Whether a call has completed.");
  ilpy::use_trashcan(once);
  add<PyLatch>(m, "CountDownLatch", ilpy::method_slots<latch_methods>(),
               "A one-shot gate (Java's CountDownLatch, C++'s std::latch): wait()\n"
               "blocks until count_down() has been called count times in all; from\n"
               "then on the latch stays open. Waiting releases the GIL and is\n"
               "interruptible by signals.")
      .def("__init__", &construct<PyLatch>, "count"_a.none())
      .def_prop_ro("count", [](const PyLatch& l) { return l.count(); },
                   "The current count (a snapshot).");
  // Set once every method is defined (the stub generator takes a method's
  // __module__ from its class's at def time).
  for (const char* name : {"Semaphore", "BoundedSemaphore", "Event", "Once", "CountDownLatch"})
    set_module(m.attr(name), "interlock.locks");
}

void sync_after_fork_in_child() noexcept {
  interlock::TrackedOnce::after_fork_in_child(PyThread_get_thread_ident());
}

}  // namespace interlock::py
