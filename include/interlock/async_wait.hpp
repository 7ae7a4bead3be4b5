// interlock/async_wait.hpp — an event loop's wait on one primitive: the node
// it queues in the parking lot and the rules for what the wait ends with.
//
// An AsyncWait is made for one primitive (a Mutex, Semaphore,
// ResettableEvent or Latch, or a "custom" one whose wake-ups hand nothing
// over: the queues), queued once (enqueue(); a custom owner queues
// custom_node() itself), and then ended by the coroutine with one of
//   * consume(): it was woken; reads the outcome (a lock or permit handed
//     over, the event set, the latch open; custom: a plain wake-up, call
//     the primitive again, which gives up the registration consume() claims);
//   * cancel(): it gives up (cancelled, timed out): the node is withdrawn if
//     still queued, else what a release handed it is given back (a lock
//     unlocked through the checked unlock, a permit returned) and a plain
//     wake-up passed on, so the primitive is as if it had never waited;
// while the notification itself may be lost (its loop is gone): then the
// notifier calls abandon(), which gives back the same way.
//
// Invariants: `claimed_` is set exactly once, by the first of consume(),
// cancel()'s give-back and abandon(), which may run on different threads (a
// notify on a releasing thread, the coroutine on its loop's thread); only
// that one owns what the release handed over. `finished_` is the coroutine's
// side only (enqueue/consume/cancel run on one thread).
// The node must stay alive and unmoved while queued (parking_lot.hpp).
#pragma once

#include <atomic>
#include <new>
#include <type_traits>

#include "interlock/latch.hpp"
#include "interlock/mutex.hpp"
#include "interlock/parking_lot.hpp"
#include "interlock/resettable_event.hpp"
#include "interlock/semaphore.hpp"

namespace interlock {

class AsyncWait {
 public:
  enum class Kind : unsigned char { mutex, semaphore, event, latch, custom };
  /// The Kind of a wait on a P (Mutex, Semaphore, ResettableEvent, Latch).
  template <class P>
  static constexpr Kind kind_of = std::is_same_v<P, Mutex>       ? Kind::mutex
                                  : std::is_same_v<P, Semaphore> ? Kind::semaphore
                                  : std::is_same_v<P, Latch>     ? Kind::latch
                                                                 : Kind::event;
  /// A custom primitive's half of the protocol.
  struct CustomOps {
    /// Withdraws a queued node: true if it was still queued (and is now
    /// unregistered); false if a wake-up already took it.
    bool (*cancel_queued)(void* prim, parking_lot::AsyncNode& node) noexcept;
    /// A woken node whose coroutine will not call again: unregister it and
    /// pass the wake-up on.
    void (*pass_on)(void* prim) noexcept;
  };
  using Notify = void (*)(void* ctx) noexcept;

  AsyncWait(Kind kind, void* prim, const CustomOps* ops, Notify notify, void* ctx) noexcept
      : kind_(kind), prim_(prim), ops_(ops) {
    switch (kind) {
      case Kind::mutex: new (&node_.mutex) Mutex::AsyncWaiter(notify, ctx); break;
      case Kind::semaphore: new (&node_.semaphore) Semaphore::AsyncWaiter(notify, ctx); break;
      case Kind::event: new (&node_.event) ResettableEvent::AsyncWaiter(notify, ctx); break;
      case Kind::latch: new (&node_.latch) Latch::AsyncWaiter(notify, ctx); break;
      case Kind::custom: new (&node_.custom) parking_lot::AsyncNode(notify, ctx); break;
    }
  }
  AsyncWait(const AsyncWait&) = delete;
  AsyncWait& operator=(const AsyncWait&) = delete;

  Kind kind() const noexcept { return kind_; }
  void* prim() const noexcept { return prim_; }
  parking_lot::AsyncNode& custom_node() noexcept { return node_.custom; }

  /// Takes the lock or permit, or finds the event set or the latch open
  /// (true: nothing queued, the wait is over), else queues the node (false).
  bool enqueue() noexcept {
    bool ready = false;
    switch (kind_) {
      case Kind::mutex: ready = static_cast<Mutex*>(prim_)->lock_async(node_.mutex); break;
      case Kind::semaphore:
        ready = static_cast<Semaphore*>(prim_)->acquire_async(node_.semaphore);
        break;
      case Kind::event: ready = static_cast<ResettableEvent*>(prim_)->wait_async(node_.event); break;
      case Kind::latch: ready = static_cast<Latch*>(prim_)->wait_async(node_.latch); break;
      case Kind::custom: break;
    }
    if (ready) finished_ = true;
    return ready;
  }
  /// A custom node its owner did not queue after all: the wait is over.
  void unqueued() noexcept { finished_ = true; }

  /// After the wake-up: whether the release handed this waiter what it
  /// waited for (custom: whether it still holds its registration, which the
  /// retry then gives up). Consumes the outcome: false if a cancel(),
  /// abandon() or consume() came first, and a later one gives nothing back.
  bool consume() noexcept {
    if (finished_) return false;
    bool h = false;
    switch (kind_) {
      case Kind::mutex: h = node_.mutex.handed_off(); break;
      case Kind::semaphore: h = node_.semaphore.handed_off(); break;
      case Kind::event: h = node_.event.state.notified; break;
      case Kind::latch: h = static_cast<Latch*>(prim_)->try_wait(); break;
      case Kind::custom: h = true; break;
    }
    finished_ = true;
    return claim() && h;
  }

  /// Withdraws the wait (once; later calls do nothing). True if the node was
  /// still queued (its notify will never run); else a release took it and
  /// what it handed over is given back unless abandon() already did.
  bool cancel() noexcept {
    if (finished_) return false;
    finished_ = true;
    switch (kind_) {
      case Kind::mutex:
        switch (static_cast<Mutex*>(prim_)->withdraw_async(node_.mutex)) {
          case Mutex::Withdrawn::queued: return true;
          case Mutex::Withdrawn::handed_off: abandon(); return false;
          case Mutex::Withdrawn::woken: return false;  // passed on by the core
        }
        return false;
      case Kind::semaphore:
        switch (static_cast<Semaphore*>(prim_)->withdraw_async(node_.semaphore)) {
          case Semaphore::Withdrawn::queued: return true;
          case Semaphore::Withdrawn::handed_off: abandon(); return false;
          case Semaphore::Withdrawn::woken: return false;
        }
        return false;
      case Kind::event: return static_cast<ResettableEvent*>(prim_)->cancel_async(node_.event);
      case Kind::latch: return static_cast<Latch*>(prim_)->cancel_async(node_.latch);
      case Kind::custom:
        if (ops_->cancel_queued(prim_, node_.custom)) return true;
        abandon();  // woken: pass it on
        return false;
    }
    return false;
  }

  /// A lost notification (or a cancel after the wake-up): gives back what
  /// the release handed over, once, so that nothing stays taken.
  void abandon() noexcept {
    if (!claim()) return;
    switch (kind_) {
      case Kind::mutex: {
        auto* m = static_cast<Mutex*>(prim_);
        if (node_.mutex.handed_off()) {
          node_.mutex.state.handed_off = false;
          (void)m->try_unlock();  // checked: any thread may release it
        } else if (m->try_lock()) {
          (void)m->try_unlock();  // a plain wake-up: pass it on
        }
        break;
      }
      case Kind::semaphore:
        if (node_.semaphore.handed_off()) {
          node_.semaphore.state.handed_off = false;
          static_cast<Semaphore*>(prim_)->release(1);
        }
        break;
      case Kind::custom: ops_->pass_on(prim_); break;
      case Kind::event:
      case Kind::latch: break;
    }
  }

 private:
  bool claim() noexcept { return !claimed_.exchange(true, std::memory_order_acq_rel); }

  Kind kind_;
  bool finished_ = false;
  std::atomic<bool> claimed_{false};
  void* prim_;
  const CustomOps* ops_;
  union Node {
    Mutex::AsyncWaiter mutex;
    Semaphore::AsyncWaiter semaphore;
    ResettableEvent::AsyncWaiter event;
    Latch::AsyncWaiter latch;
    parking_lot::AsyncNode custom;
    Node() noexcept {}
    ~Node() {}
  } node_;
};

}  // namespace interlock
