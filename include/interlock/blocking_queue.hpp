// interlock/blocking_queue.hpp — a bounded or unbounded MPMC FIFO queue of
// trivially copyable values (pointers, for the Python layer: PyObject* moved
// in and out; the queue never looks at them), with blocking push/pop on the
// parking lot, task accounting (queue.Queue's task_done/join) and shutdown.
//
// Layout and who touches what
//  * A ring buffer (power-of-two capacity, grown by doubling up to the bound;
//    indices head_/tail_ grow until the buffer is replaced) guarded by mu_ (detail::QueueSpinLock: one
//    exchange to lock, one store to unlock; waiters spin, then yield). Under mu_ the queue only moves values and
//    (re)allocates memory: nothing is called back, so a Python layer can never
//    run code while mu_ is held. A drained or shrunk buffer is freed, and the
//    values drained by shutdown(immediate) are released, after mu_ is released.
//  * size_ and unfinished_ mirror the ring and the task count; written only
//    under mu_ (relaxed), read without it (qsize, and the parking validators).
//  * getters_waiting_ / putters_waiting_ / joiners_waiting_ (guarded by mu_)
//    count the threads that registered to wait; their addresses are the
//    parking-lot keys. A waiter registers under mu_ in the same critical
//    section in which it found the queue empty (full, tasks unfinished), then
//    parks while the condition still holds, re-checked under the bucket lock.
//    A waker changes the state under mu_ and sees the registration there, so
//    it unparks after unlocking; if it gets to the bucket first, the waiter's
//    re-check under the bucket lock sees the new state (bucket lock release ->
//    acquire) and does not sleep. No wake-up is lost, and the fast paths are
//    one lock and one unlock with no other atomic read-modify-write.
//  * Waking costs nothing while nobody waits; a push wakes one getter, a pop
//    one putter, shutdown everyone, the last task_done every joiner.
//
// Waiting strategy (Wait::park / Wait::spin_then_park): with spin_then_park a
// waiter first re-checks the queue between sched_yield()s (budget: kSpinRounds)
// before it parks, unless the thread's WaitHooks say SpinPolicy::none (a
// thread that holds a GIL while it spins only keeps the producer from running).
// The semantics are identical; only latency and CPU use differ.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/mutex.hpp"
#include "interlock/parking_lot.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock {

enum class QueueStatus : unsigned char {
  ok,
  timed_out,    ///< push: still full at the deadline; pop: still empty
  shut_down,    ///< push after shutdown(); pop on a shut-down queue with nothing left
  interrupted,  ///< a signal handler asked to abandon the wait (nothing moved)
  no_memory,    ///< push could not grow the buffer (nothing moved)
};

namespace detail {
/// The queue's internal lock: held only for a few loads and stores (or one
/// allocation while growing), never across a wait or a call-back, so waiters
/// spin (pause, then sched_yield so that a preempted holder gets the CPU)
/// instead of parking. Lock is one exchange, unlock one release store: a
/// single read-modify-write per critical section.
class QueueSpinLock {
 public:
  INTERLOCK_ALWAYS_INLINE void lock() noexcept {
    if (INTERLOCK_LIKELY(!held_.exchange(true, std::memory_order_acquire))) return;
    lock_slow();
  }
  INTERLOCK_ALWAYS_INLINE void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  INTERLOCK_NOINLINE void lock_slow() noexcept {
    for (unsigned spins = 0;; ++spins) {
      while (held_.load(std::memory_order_relaxed)) {
        if (spins < 64) {
          cpu_relax();
          ++spins;
        } else {
          sched_yield();
        }
      }
      if (!held_.exchange(true, std::memory_order_acquire)) return;
    }
  }
  std::atomic<bool> held_{false};
};
}  // namespace detail

template <class T>
class BlockingQueue {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "BlockingQueue holds trivially copyable values (e.g. pointers)");

 public:
  enum class Wait : unsigned char { park, spin_then_park };
  static constexpr int kSpinRounds = 64;

  /// maxsize 0 means unbounded.
  explicit BlockingQueue(std::size_t maxsize = 0, Wait wait = Wait::park) noexcept
      : wait_(wait), maxsize_(maxsize) {}
  BlockingQueue(const BlockingQueue&) = delete;
  BlockingQueue& operator=(const BlockingQueue&) = delete;
  /// Values still queued are the owner's business: drain() them first.
  ~BlockingQueue() { ::operator delete(buf_); }

  std::size_t maxsize() const noexcept { return maxsize_; }
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  bool empty() const noexcept { return size() == 0; }
  bool full() const noexcept { return maxsize_ != 0 && size() >= maxsize_; }
  bool is_shutdown() const noexcept { return shutdown_.load(std::memory_order_relaxed); }
  std::size_t unfinished_tasks() const noexcept {
    return unfinished_.load(std::memory_order_relaxed);
  }

  /// Appends v, waiting (until `deadline`) while the queue is full. ok: v is
  /// queued (and counts as an unfinished task); otherwise nothing changed.
  INTERLOCK_ALWAYS_INLINE QueueStatus push(T v, Deadline deadline = Deadline::never()) noexcept {
    mu_.lock();
    if (INTERLOCK_LIKELY(!shutdown_.load(std::memory_order_relaxed) && tail_ - head_ < cap_ &&
                         (maxsize_ == 0 || tail_ - head_ < maxsize_))) {
      buf_[tail_ & (cap_ - 1)] = v;
      ++tail_;
      finish_push();
      return QueueStatus::ok;
    }
    mu_.unlock();
    return push_slow(v, deadline);
  }

  /// Takes the oldest value into *out, waiting (until `deadline`) while the
  /// queue is empty. A shut-down queue still hands out what it holds, then
  /// reports shut_down.
  INTERLOCK_ALWAYS_INLINE QueueStatus pop(T* out, Deadline deadline = Deadline::never()) noexcept {
    mu_.lock();
    if (INTERLOCK_LIKELY(tail_ != head_)) {
      *out = buf_[head_ & (cap_ - 1)];
      ++head_;
      finish_pop();
      return QueueStatus::ok;
    }
    mu_.unlock();
    return pop_slow(out, deadline);
  }

  /// queue.Queue.task_done(): false (nothing changed) if there is no
  /// unfinished task; the call that reaches zero wakes every joiner.
  bool task_done() noexcept {
    mu_.lock();
    const std::size_t n = unfinished_.load(std::memory_order_relaxed);
    if (n == 0) {
      mu_.unlock();
      return false;
    }
    unfinished_.store(n - 1, std::memory_order_relaxed);
    const bool wake = n == 1 && joiners_waiting_ != 0;
    mu_.unlock();
    if (wake) parking_lot::unpark_all(&joiners_waiting_);
    return true;
  }

  /// queue.Queue.join(): waits until every pushed value was task_done()'d.
  WaitStatus join(Deadline deadline = Deadline::never()) noexcept {
    bool registered = false;
    for (;;) {
      mu_.lock();
      if (registered) --joiners_waiting_;
      registered = false;
      if (unfinished_.load(std::memory_order_relaxed) == 0) {
        mu_.unlock();
        return WaitStatus::ok;
      }
      if (deadline.expired()) {
        mu_.unlock();
        return WaitStatus::timed_out;
      }
      ++joiners_waiting_;
      registered = true;
      mu_.unlock();
      auto cond = [this] { return unfinished_.load(std::memory_order_relaxed) != 0; };
      if (park_on(&joiners_waiting_, cond, deadline) == parking_lot::ParkResult::interrupted) {
        unregister(joiners_waiting_);
        return WaitStatus::interrupted;
      }
    }
  }

  // ------------------------------------------------------------ event loops
  // An event loop's waiter (parking_lot::AsyncNode) registers and queues like a
  // thread, but returns at once; its notify runs on the push / pop /
  // task_done / shutdown that would have woken a thread (a plain wake-up: no
  // value is handed over). The loop then calls the same function again with
  // registered = true, which unregisters it in the same critical section.

  /// Which waiters an async call queues among.
  enum class AsyncSide : unsigned char { getter, putter, joiner };

  /// pop without waiting, or queue `w` among the getters (*queued = true; the
  /// status is then timed_out and nothing moved).
  QueueStatus pop_async(T* out, parking_lot::AsyncNode& w, bool registered,
                        bool* queued) noexcept {
    *queued = false;
    for (;;) {
      mu_.lock();
      if (registered) --getters_waiting_;
      registered = false;
      if (tail_ != head_) return take_locked(out);
      if (shutdown_.load(std::memory_order_relaxed)) {
        mu_.unlock();
        return QueueStatus::shut_down;
      }
      ++getters_waiting_;
      mu_.unlock();
      registered = true;
      auto cond = [this] {
        return size_.load(std::memory_order_relaxed) == 0 &&
               !shutdown_.load(std::memory_order_relaxed);
      };
      if (parking_lot::park_async(&getters_waiting_, w, cond, nullptr)) {
        *queued = true;
        return QueueStatus::timed_out;
      }
    }
  }

  /// push without waiting, or queue `w` among the putters (*queued = true).
  QueueStatus push_async(T v, parking_lot::AsyncNode& w, bool registered, bool* queued) noexcept {
    *queued = false;
    for (;;) {
      mu_.lock();
      if (registered) --putters_waiting_;
      registered = false;
      if (shutdown_.load(std::memory_order_relaxed)) {
        mu_.unlock();
        return QueueStatus::shut_down;
      }
      if (maxsize_ == 0 || tail_ - head_ < maxsize_) return append_locked(v);
      ++putters_waiting_;
      mu_.unlock();
      registered = true;
      auto cond = [this] {
        return size_.load(std::memory_order_relaxed) >= maxsize_ &&
               !shutdown_.load(std::memory_order_relaxed);
      };
      if (parking_lot::park_async(&putters_waiting_, w, cond, nullptr)) {
        *queued = true;
        return QueueStatus::timed_out;
      }
    }
  }

  /// join without waiting (true: no unfinished task), or queue `w` among the
  /// joiners (false).
  bool join_async(parking_lot::AsyncNode& w, bool registered) noexcept {
    for (;;) {
      mu_.lock();
      if (registered) --joiners_waiting_;
      registered = false;
      if (unfinished_.load(std::memory_order_relaxed) == 0) {
        mu_.unlock();
        return true;
      }
      ++joiners_waiting_;
      mu_.unlock();
      registered = true;
      auto cond = [this] { return unfinished_.load(std::memory_order_relaxed) != 0; };
      if (parking_lot::park_async(&joiners_waiting_, w, cond, nullptr)) return false;
    }
  }

  /// Withdraws a queued async waiter of `side`: true if it was still queued
  /// (its notify will not run; it is unregistered). False if a wake-up already
  /// took it: the caller then owes abandon_async(side) unless it retries.
  bool cancel_async(parking_lot::AsyncNode& w, AsyncSide side) noexcept {
    if (!parking_lot::cancel_async(w)) return false;
    mu_.lock();
    --waiting_count(side);
    mu_.unlock();
    return true;
  }

  /// A woken async waiter that will not call again (cancelled, or its loop is
  /// gone): unregisters it and passes its wake-up on to another waiter of the
  /// same side if the state it was woken for still holds.
  void abandon_async(AsyncSide side) noexcept {
    mu_.lock();
    std::size_t& waiting = waiting_count(side);
    --waiting;
    bool wake = false;
    if (waiting != 0) {
      switch (side) {
        case AsyncSide::getter: wake = tail_ != head_; break;
        case AsyncSide::putter: wake = maxsize_ == 0 || tail_ - head_ < maxsize_; break;
        case AsyncSide::joiner: break;  // task_done wakes every joiner
      }
    }
    mu_.unlock();
    if (wake) parking_lot::unpark_one(&waiting);
  }

  /// Shuts the queue down (queue.Queue.shutdown of Python 3.13): every later
  /// push fails, pops fail once the queue is empty, and every waiter wakes.
  /// With `immediate`, the queued values are removed (each lowers the
  /// unfinished-task count, as in the stdlib) and handed to `release(T)` after
  /// the lock is released. Returns how many were drained.
  template <class Release>
  std::size_t shutdown(bool immediate, Release&& release) noexcept {
    T* old = nullptr;
    std::size_t head = 0, n = 0, cap = 0;
    mu_.lock();
    shutdown_.store(true, std::memory_order_relaxed);
    bool wake_joiners = false;
    if (immediate) {
      old = buf_;
      head = head_;
      n = tail_ - head_;
      cap = cap_;
      buf_ = nullptr;
      cap_ = 0;
      head_ = tail_ = 0;
      size_.store(0, std::memory_order_relaxed);
      const std::size_t u = unfinished_.load(std::memory_order_relaxed);
      const std::size_t dec = u < n ? u : n;
      unfinished_.store(u - dec, std::memory_order_relaxed);
      wake_joiners = dec != 0 && u == dec && joiners_waiting_ != 0;
    }
    const bool wake_getters = getters_waiting_ != 0, wake_putters = putters_waiting_ != 0;
    mu_.unlock();
    if (wake_joiners) parking_lot::unpark_all(&joiners_waiting_);
    if (wake_getters) parking_lot::unpark_all(&getters_waiting_);
    if (wake_putters) parking_lot::unpark_all(&putters_waiting_);
    for (std::size_t i = 0; i < n; ++i) release(old[(head + i) & (cap - 1)]);
    ::operator delete(old);
    return n;
  }

  /// Removes every queued value, handing each to `release(T)` after the lock
  /// is released (for the owner's destructor / garbage collection). Does not
  /// shut the queue down or touch the task count.
  template <class Release>
  std::size_t drain(Release&& release) noexcept {
    mu_.lock();
    T* old = buf_;
    const std::size_t head = head_, n = tail_ - head_, cap = cap_;
    buf_ = nullptr;
    cap_ = 0;
    head_ = tail_ = 0;
    size_.store(0, std::memory_order_relaxed);
    const bool wake = putters_waiting_ != 0;
    mu_.unlock();
    if (wake) parking_lot::unpark_all(&putters_waiting_);
    for (std::size_t i = 0; i < n; ++i) release(old[(head + i) & (cap - 1)]);
    ::operator delete(old);
    return n;
  }

  /// Calls visit(T) for each queued value, in order, under the lock: `visit`
  /// must not block or call back into anything that may take a lock (it is
  /// for a garbage collector's traverse, which only reads).
  template <class Visit>
  int for_each_locked(Visit&& visit) noexcept {
    mu_.lock();
    int r = 0;
    for (std::size_t i = head_; i != tail_ && r == 0; ++i) r = visit(buf_[i & (cap_ - 1)]);
    mu_.unlock();
    return r;
  }

 private:
  static constexpr std::size_t kMinCapacity = 16;
  static constexpr std::size_t kShrinkAbove = 4096;  // an emptied buffer this big is freed

  // Under mu_, after a value was appended: publish the size, unlock, wake one getter.
  INTERLOCK_ALWAYS_INLINE void finish_push() noexcept {
    size_.store(tail_ - head_, std::memory_order_relaxed);
    unfinished_.store(unfinished_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    const bool wake = getters_waiting_ != 0;
    mu_.unlock();
    if (INTERLOCK_UNLIKELY(wake)) parking_lot::unpark_one(&getters_waiting_);
  }

  // Under mu_, after a value was taken: publish the size, unlock, wake one putter.
  INTERLOCK_ALWAYS_INLINE void finish_pop() noexcept {
    const std::size_t n = tail_ - head_;
    size_.store(n, std::memory_order_relaxed);
    T* freed = nullptr;
    if (INTERLOCK_UNLIKELY(n == 0 && cap_ > kShrinkAbove)) {
      freed = buf_;
      buf_ = nullptr;
      cap_ = 0;
      head_ = tail_ = 0;
    }
    const bool wake = putters_waiting_ != 0;
    mu_.unlock();
    if (INTERLOCK_UNLIKELY(freed != nullptr)) ::operator delete(freed);
    if (INTERLOCK_UNLIKELY(wake)) parking_lot::unpark_one(&putters_waiting_);
  }

  // Under mu_, the queue not empty: takes the oldest value; unlocks.
  QueueStatus take_locked(T* out) noexcept {
    *out = buf_[head_ & (cap_ - 1)];
    ++head_;
    finish_pop();
    return QueueStatus::ok;
  }

  // Under mu_, below maxsize: appends v (growing the buffer); unlocks.
  QueueStatus append_locked(T v) noexcept {
    if (tail_ - head_ == cap_ && !grow()) {
      mu_.unlock();
      return QueueStatus::no_memory;
    }
    buf_[tail_ & (cap_ - 1)] = v;
    ++tail_;
    finish_push();
    return QueueStatus::ok;
  }

  // Under mu_: doubles the buffer (up to what maxsize needs). False on failure.
  bool grow() noexcept {
    std::size_t want = cap_ ? cap_ * 2 : kMinCapacity;
    if (want < cap_) return false;  // overflow
    T* nb = static_cast<T*>(::operator new(want * sizeof(T), std::nothrow));
    if (!nb) return false;
    const std::size_t n = tail_ - head_;
    for (std::size_t i = 0; i < n; ++i) nb[i] = buf_[(head_ + i) & (cap_ - 1)];
    ::operator delete(buf_);
    buf_ = nb;
    cap_ = want;
    head_ = 0;
    tail_ = n;
    return true;
  }

  INTERLOCK_NOINLINE QueueStatus push_slow(T v, Deadline deadline) noexcept {
    bool registered = false;
    for (;;) {
      mu_.lock();
      if (registered) --putters_waiting_;
      registered = false;
      if (shutdown_.load(std::memory_order_relaxed)) {
        mu_.unlock();
        return QueueStatus::shut_down;
      }
      if (maxsize_ == 0 || tail_ - head_ < maxsize_) return append_locked(v);
      if (deadline.expired()) {
        mu_.unlock();
        return QueueStatus::timed_out;
      }
      ++putters_waiting_;
      registered = true;
      mu_.unlock();
      auto cond = [this] {
        return size_.load(std::memory_order_relaxed) >= maxsize_ &&
               !shutdown_.load(std::memory_order_relaxed);
      };
      if (spin_until_not(cond)) continue;
      switch (park_on(&putters_waiting_, cond, deadline)) {
        case parking_lot::ParkResult::interrupted:
          unregister(putters_waiting_);
          return QueueStatus::interrupted;
        // Look once more (a slot may have been freed at the last moment).
        case parking_lot::ParkResult::timed_out: deadline = Deadline::immediate(); break;
        default: break;
      }
    }
  }

  INTERLOCK_NOINLINE QueueStatus pop_slow(T* out, Deadline deadline) noexcept {
    bool registered = false;
    for (;;) {
      mu_.lock();
      if (registered) --getters_waiting_;
      registered = false;
      if (tail_ != head_) return take_locked(out);
      if (shutdown_.load(std::memory_order_relaxed)) {
        mu_.unlock();
        return QueueStatus::shut_down;
      }
      if (deadline.expired()) {
        mu_.unlock();
        return QueueStatus::timed_out;
      }
      ++getters_waiting_;
      registered = true;
      mu_.unlock();
      auto cond = [this] {
        return size_.load(std::memory_order_relaxed) == 0 &&
               !shutdown_.load(std::memory_order_relaxed);
      };
      if (spin_until_not(cond)) continue;
      switch (park_on(&getters_waiting_, cond, deadline)) {
        case parking_lot::ParkResult::interrupted:
          unregister(getters_waiting_);
          return QueueStatus::interrupted;
        case parking_lot::ParkResult::timed_out: deadline = Deadline::immediate(); break;
        default: break;
      }
    }
  }

  std::size_t& waiting_count(AsyncSide side) noexcept {
    switch (side) {
      case AsyncSide::getter: return getters_waiting_;
      case AsyncSide::putter: return putters_waiting_;
      case AsyncSide::joiner: break;
    }
    return joiners_waiting_;
  }

  void unregister(std::size_t& waiting) noexcept {
    mu_.lock();
    --waiting;
    mu_.unlock();
  }

  // spin_then_park: yield while `still_waiting` holds, for a bounded time.
  // Returns true if it stopped holding (look again without parking).
  template <class Cond>
  bool spin_until_not(Cond& still_waiting) noexcept {
    if (wait_ != Wait::spin_then_park) return false;
    const WaitHooks* hooks = detail::current_wait_hooks();
    if (hooks && hooks->spin == SpinPolicy::none) return false;
    for (int i = 0; i < kSpinRounds; ++i) {
      sched_yield();
      if (!still_waiting()) return true;
    }
    return false;
  }

  // Parks on `addr` (a waiter count the caller registered in, under mu_)
  // while `still_waiting` holds, checked under the bucket lock.
  template <class Cond>
  static parking_lot::ParkResult park_on(const void* addr, Cond& still_waiting,
                                         Deadline deadline) noexcept {
    auto validate = [&]() -> bool { return still_waiting(); };
    parking_lot::ParkOptions options{validate};
    options.deadline = deadline;
    return parking_lot::park(addr, options);
  }

  detail::QueueSpinLock mu_;
  std::atomic<bool> shutdown_{false};
  // Threads registered as waiting (guarded by mu_); their addresses are the
  // parking-lot keys.
  std::size_t getters_waiting_ = 0;
  std::size_t putters_waiting_ = 0;
  std::size_t joiners_waiting_ = 0;
  const Wait wait_;
  const std::size_t maxsize_;
  T* buf_ = nullptr;
  std::size_t cap_ = 0;   // power of two, or 0
  std::size_t head_ = 0;  // guarded by mu_
  std::size_t tail_ = 0;  // guarded by mu_
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> unfinished_{0};
};

}  // namespace interlock
