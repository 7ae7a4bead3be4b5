// The parking lot: a fixed table of buckets, each a RawMutex plus an intrusive
// doubly-linked FIFO of the waiters parked on addresses that hash to it.
#include "interlock/parking_lot.hpp"

#include <array>
#include <new>

#include "futex.hpp"
#include "interlock/fatal.hpp"
#include "interlock/critical_section.hpp"
#include "interlock/raw_mutex.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock::parking_lot {

namespace {

using Node = detail::WaitNode;

/// A parked thread's node: notify is null, the thread sleeps on `sema`.
struct Waiter : Node {
  interlock::detail::ThreadSemaphore sema;
};

/// Wakes a node taken out of its queue (after the bucket lock is released).
void signal(Node* n) noexcept {
  if (n->notify) n->notify(n->ctx);
  else static_cast<Waiter*>(n)->sema.post();
}

struct alignas(64) Bucket {
  RawMutex lock;
  Node* head = nullptr;
  Node* tail = nullptr;

  void push_back(Node* w) noexcept {
    w->next = nullptr;
    w->prev = tail;
    if (tail) tail->next = w; else head = w;
    tail = w;
    w->enqueued = true;
  }
  void remove(Node* w) noexcept {
    if (w->prev) w->prev->next = w->next; else head = w->next;
    if (w->next) w->next->prev = w->prev; else tail = w->prev;
    w->prev = w->next = nullptr;
    w->enqueued = false;
  }
  Node* find(const void* addr, Node* from) const noexcept {
    for (Node* w = from; w; w = w->next)
      if (w->addr == addr) return w;
    return nullptr;
  }
};

constexpr std::size_t kBucketBits = 8;
constexpr std::size_t kBuckets = std::size_t{1} << kBucketBits;
Bucket buckets[kBuckets];

Bucket& bucket_for(const void* addr) noexcept {
  // Fibonacci hashing: multiply, keep the top bits.
  auto h = reinterpret_cast<std::uintptr_t>(addr) * std::uintptr_t{0x9E3779B97F4A7C15ull};
  return buckets[h >> (sizeof(std::uintptr_t) * 8 - kBucketBits)];
}

// Sleeps on the waiter's semaphore, running the thread's wait hooks and
// suspending its critical sections around the sleep. Returns woken (the post
// was consumed), timed_out, or interrupted (EINTR, or a poll slice ran out, on
// an interruptible wait with hooks installed).
interlock::detail::SleepResult sleep(Waiter& w, Deadline deadline, bool interruptible) noexcept {
  using interlock::detail::SleepResult;
  if (w.sema.try_consume()) return SleepResult::woken;
  const WaitHooks* hooks = interlock::detail::current_wait_hooks();
  bool suspended = CriticalSection::suspend_all();
  void* token = nullptr;
  if (hooks && hooks->before_sleep) token = hooks->before_sleep(hooks->ctx);
  bool poll = interruptible && hooks && hooks->poll_interval_ns > 0;
  SleepResult r;
  for (;;) {
    Deadline slice = deadline;
    if (poll) slice = earlier(deadline, Deadline::after(std::chrono::nanoseconds(hooks->poll_interval_ns)));
    r = w.sema.wait(slice);
    if (r == SleepResult::woken) break;
    if (r == SleepResult::timed_out) {
      if (deadline.expired()) break;
      r = SleepResult::interrupted;  // a poll slice ran out
      break;
    }
    // EINTR: only an interruptible wait with hooks reports it.
    if (interruptible && hooks) break;
  }
  if (hooks && hooks->after_sleep) hooks->after_sleep(hooks->ctx, token);
  if (suspended) CriticalSection::resume_top();
  return r;
}

}  // namespace

ParkResult park(const void* addr, const ParkOptions& options) {
  Bucket& b = bucket_for(addr);
  Waiter w;
  w.addr = addr;
  w.park_arg = options.park_arg;

  b.lock.lock();
  if (options.validate && !options.validate()) {
    b.lock.unlock();
    return ParkResult::invalid;
  }
  b.push_back(&w);
  b.lock.unlock();

  if (options.before_sleep) options.before_sleep();

  interlock::detail::SleepResult r = sleep(w, options.deadline, options.interruptible);
  if (r == interlock::detail::SleepResult::woken) return ParkResult::unparked;

  // Timed out or interrupted: leave the queue unless an unparker already took
  // us out, in which case its signal is on the way and must be consumed.
  b.lock.lock();
  if (w.enqueued) {
    b.remove(&w);
    if (options.timed_out) options.timed_out(b.find(addr, b.head) != nullptr);
    b.lock.unlock();
  } else {
    b.lock.unlock();
    w.sema.wait_uninterruptibly();
    return ParkResult::unparked;
  }
  if (r == interlock::detail::SleepResult::timed_out) return ParkResult::timed_out;

  // Interrupted and no longer queued: let the hooks run signal handlers.
  const WaitHooks* hooks = interlock::detail::current_wait_hooks();
  if (hooks && hooks->on_interrupt && hooks->on_interrupt(hooks->ctx))
    return ParkResult::interrupted;
  return ParkResult::unparked;  // spurious: the caller re-checks its state and parks again
}

std::size_t unpark_some(const void* addr, std::size_t n, UnparkCallback fn) {
  if (n == 0) return 0;
  Bucket& b = bucket_for(addr);
  // Waiters taken out are chained through `next` and signalled after unlock.
  Node* woken_head = nullptr;
  Node** woken_tail = &woken_head;
  std::size_t count = 0;

  b.lock.lock();
  Node* w = b.find(addr, b.head);
  if (!w) {
    if (fn) fn(nullptr, false);
  }
  while (w && count < n) {
    Node* following = b.find(addr, w->next);
    b.remove(w);
    ++count;
    bool has_more = following != nullptr;
    if (fn) fn(w->park_arg, has_more);
    *woken_tail = w;
    woken_tail = &w->next;
    w = following;
  }
  b.lock.unlock();

  while (woken_head) {
    Node* next = woken_head->next;  // read before the signal: the waiter may return at once
    signal(woken_head);
    woken_head = next;
  }
  return count;
}

bool unpark_one(const void* addr, UnparkCallback fn) { return unpark_some(addr, 1, fn) != 0; }
bool unpark_one(const void* addr) { return unpark_some(addr, 1, nullptr) != 0; }
std::size_t unpark_all(const void* addr, UnparkCallback fn) {
  return unpark_some(addr, SIZE_MAX, fn);
}
std::size_t unpark_all(const void* addr) { return unpark_some(addr, SIZE_MAX, nullptr); }

bool park_async(const void* addr, AsyncNode& async, FunctionRef<bool()> validate,
                void* park_arg) {
  Node& n = async.node_;
  Bucket& b = bucket_for(addr);
  b.lock.lock();
  if (n.enqueued) fatal_error("parking_lot::park_async", "the node is already enqueued");
  if (validate && !validate()) {
    b.lock.unlock();
    return false;
  }
  n.addr = addr;
  n.park_arg = park_arg;
  b.push_back(&n);
  b.lock.unlock();
  return true;
}

bool cancel_async(AsyncNode& async, FunctionRef<void(bool has_more)> removed) {
  Node& n = async.node_;
  const void* addr = n.addr;
  if (!addr) return false;  // never enqueued
  Bucket& b = bucket_for(addr);
  b.lock.lock();
  if (!n.enqueued) {
    b.lock.unlock();
    return false;
  }
  b.remove(&n);
  if (removed) removed(b.find(addr, b.head) != nullptr);
  b.lock.unlock();
  return true;
}

void after_fork() noexcept {
  // Async nodes belong to event loops, not threads; collect them (chained
  // through `next`), forget everything, then wake them outside any lock.
  Node* async_head = nullptr;
  for (Bucket& b : buckets) {
    for (Node* n = b.head; n;) {
      Node* next = n->next;
      n->enqueued = false;
      if (n->notify) {
        n->next = async_head;
        async_head = n;
      }
      n = next;
    }
    b.lock.reset_after_fork();
    b.head = b.tail = nullptr;
  }
  while (async_head) {
    Node* next = async_head->next;
    async_head->next = nullptr;
    async_head->notify(async_head->ctx);
    async_head = next;
  }
}

std::size_t waiter_count(const void* addr) {
  Bucket& b = bucket_for(addr);
  std::size_t n = 0;
  b.lock.lock();
  for (Node* w = b.find(addr, b.head); w; w = b.find(addr, w->next)) ++n;
  b.lock.unlock();
  return n;
}

}  // namespace interlock::parking_lot
