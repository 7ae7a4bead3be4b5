// interlock/parking_lot.hpp — address-keyed waiting (CPython parking_lot.c,
// WebKit ParkingLot).
//
// Any address can be waited on; no memory is needed at the address itself.
// Waiters are kept in a fixed table of buckets hashed by address; each bucket
// is a RawMutex plus an intrusive FIFO list of the waiters parked on any address
// that hashes to it. A waiter is a stack object of park() with its own futex
// word, so park() may be re-entered from a wait hook (nested waits are safe).
//
// Invariants
//  * validate, an unpark callback and the timed_out callback run with the
//    bucket lock held: they must be short, must not park or unpark, and must
//    not call into Python.
//  * A waiter is in its bucket's list exactly while it is "enqueued"; it is
//    removed either by an unparker (under the bucket lock, then signalled after
//    the lock is released) or by itself after a timeout/interruption (under the
//    bucket lock). If an unparker got there first, park() waits for the signal
//    and reports `unparked`, so a hand-off through park_arg is never lost.
//  * before_sleep runs after the waiter is enqueued and the bucket lock is
//    released, before sleeping: a wake-up racing with it is not lost (this is
//    how a condition variable releases its mutex).
//  * An AsyncNode is a waiter that parks no thread (an event loop's waiter):
//    park_async enqueues it and returns at once. The unparker that takes it
//    out calls its `notify` exactly once, after releasing the bucket lock, on
//    the unparker's own thread; cancel_async takes it out instead (and then
//    notify is never called). Whoever takes it out, under the bucket lock,
//    decides: the node is in one list at most, and notify runs at most once.
//    The node must stay alive and unmoved from park_async until notify has
//    returned or cancel_async returned true.
#pragma once

#include <cstddef>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/function_ref.hpp"

namespace interlock::parking_lot {

namespace detail {
/// A queued waiter (a thread's, or an AsyncNode's). Fields are guarded by the
/// bucket lock of `addr` while `enqueued`.
struct WaitNode {
  const void* addr = nullptr;
  void* park_arg = nullptr;
  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  bool enqueued = false;
  void (*notify)(void* ctx) noexcept = nullptr;  // null for a parked thread
  void* ctx = nullptr;
};
}  // namespace detail

/// A waiter for an event loop: enqueued by park_async, it parks no thread;
/// when an unparker takes it, `notify(ctx)` runs once on that thread, after
/// the bucket lock is released (so notify may do anything, e.g. wake a loop).
class AsyncNode {
 public:
  using Notify = void (*)(void* ctx) noexcept;
  AsyncNode(Notify notify, void* ctx) noexcept {
    node_.notify = notify;
    node_.ctx = ctx;
  }
  AsyncNode(const AsyncNode&) = delete;
  AsyncNode& operator=(const AsyncNode&) = delete;

 private:
  friend INTERLOCK_API bool park_async(const void*, AsyncNode&, FunctionRef<bool()>, void*);
  friend INTERLOCK_API bool cancel_async(AsyncNode&, FunctionRef<void(bool)>);
  detail::WaitNode node_;
};

enum class ParkResult : unsigned char {
  unparked,     ///< woken by unpark_one/unpark_all (or spuriously, after a signal that did not abort)
  timed_out,    ///< the deadline passed while parked
  invalid,      ///< validate returned false; the thread did not sleep
  interrupted,  ///< a signal arrived and the thread's WaitHooks asked to abandon the wait
};

/// Called under the bucket lock with the dequeued waiter's park_arg (nullptr
/// when no waiter was parked on the address) and whether waiters remain on it.
using UnparkCallback = FunctionRef<void(void* park_arg, bool has_more)>;

struct ParkOptions {
  /// Under the bucket lock: return false to not park (result `invalid`).
  FunctionRef<bool()> validate;
  /// After enqueueing and releasing the bucket lock, before sleeping.
  FunctionRef<void()> before_sleep = nullptr;
  /// Under the bucket lock, when the waiter removes itself after a timeout or
  /// interruption; the argument says whether waiters remain on the address.
  FunctionRef<void(bool has_more)> timed_out = nullptr;
  Deadline deadline = Deadline::never();
  /// Handed to the unpark callback; lets the unparker talk to this waiter.
  void* park_arg = nullptr;
  /// Whether a signal may end the wait (through the thread's WaitHooks). When
  /// false, EINTR is ignored and the sleep goes on.
  bool interruptible = true;
};

/// Parks the calling thread on `addr` if `validate` holds.
INTERLOCK_API ParkResult park(const void* addr, const ParkOptions& options);

/// Convenience: parks while the atomic at `addr` still holds `expected`
/// (CPython's _PyParkingLot_Park compare step).
template <class Atomic, class T>
ParkResult park_if_equal(const Atomic* addr, T expected, Deadline deadline = Deadline::never(),
                         void* park_arg = nullptr) {
  auto validate = [&] { return addr->load() == expected; };
  ParkOptions options{validate};
  options.deadline = deadline;
  options.park_arg = park_arg;
  return park(addr, options);
}

/// Enqueues `node` on `addr` if `validate` (run under the bucket lock) holds,
/// without blocking: returns true when enqueued (notify will run once an
/// unparker takes it), false when validate said no. `park_arg` is handed to
/// the unpark callback as for park(). A node is enqueued at most once at a
/// time.
INTERLOCK_API bool park_async(const void* addr, AsyncNode& node, FunctionRef<bool()> validate,
                              void* park_arg = nullptr);

/// Takes an enqueued `node` out of its queue: returns true if it was still
/// queued (notify will not run; `removed(has_more)` ran under the bucket lock,
/// as park()'s timed_out does), false if an unparker already took it (notify
/// has run or is about to run) or it was never enqueued.
INTERLOCK_API bool cancel_async(AsyncNode& node,
                                FunctionRef<void(bool has_more)> removed = nullptr);

/// Wakes the first waiter on `addr` (FIFO). `fn` runs under the bucket lock,
/// also when there is no waiter (park_arg == nullptr). Returns whether a
/// waiter was woken.
INTERLOCK_API bool unpark_one(const void* addr, UnparkCallback fn);
INTERLOCK_API bool unpark_one(const void* addr);

/// Wakes every waiter on `addr`. `fn`, if given, runs under the bucket lock
/// once per woken waiter (has_more is false for the last one), or once with
/// nullptr when there was none. Returns how many were woken.
INTERLOCK_API std::size_t unpark_all(const void* addr, UnparkCallback fn);
INTERLOCK_API std::size_t unpark_all(const void* addr);

/// Wakes at most `n` waiters on `addr`, in FIFO order; same callback rules
/// (n == 0 wakes nobody and calls nothing).
INTERLOCK_API std::size_t unpark_some(const void* addr, std::size_t n, UnparkCallback fn);

/// Forgets every parked waiter and unlocks every bucket. Call in the child
/// after fork(), while it is single-threaded: the waiters belong to threads
/// that do not exist there. Primitives whose state word still says "parked"
/// recover by themselves: their next unpark finds nobody and clears the bit.
/// Async nodes are taken out too and notified (a spurious wake-up, with no
/// hand-off): the forking thread's event loop goes on in the child, and its
/// waiters re-check their primitive.
INTERLOCK_API void after_fork() noexcept;

/// Number of threads parked on `addr` right now (a snapshot, for tests).
INTERLOCK_API std::size_t waiter_count(const void* addr);

}  // namespace interlock::parking_lot
