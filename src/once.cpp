#include "interlock/once.hpp"

#include "interlock/fatal.hpp"
#include "interlock/mutex.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

OnceFlag::Begin OnceFlag::begin_slow(Deadline deadline, bool interruptible) noexcept {
  for (;;) {
    std::uint8_t v = v_.load(std::memory_order_acquire);
    if (v == kDone) return Begin::done;
    if (v == kUnset) {
      if (v_.compare_exchange_weak(v, kRunning, std::memory_order_acquire,
                                   std::memory_order_relaxed))
        return Begin::run;
      continue;
    }
    // Another thread runs the initialiser: wait for it.
    if (deadline.expired()) return Begin::timed_out;
    if (!(v & kParked)) {
      if (!v_.compare_exchange_weak(v, v | kParked, std::memory_order_relaxed,
                                    std::memory_order_relaxed))
        continue;
    }
    auto validate = [&] { return v_.load(std::memory_order_relaxed) == (kRunning | kParked); };
    parking_lot::ParkOptions options{validate};
    options.deadline = deadline;
    options.interruptible = interruptible;
    switch (parking_lot::park(&v_, options)) {
      case parking_lot::ParkResult::timed_out:
        if (is_done()) return Begin::done;
        return Begin::timed_out;
      case parking_lot::ParkResult::interrupted:
        return Begin::interrupted;
      default:
        break;
    }
  }
}

void OnceFlag::finish(bool success) noexcept {
  std::uint8_t prev = v_.exchange(success ? kDone : kUnset, std::memory_order_acq_rel);
  if ((prev & ~kParked) != kRunning)
    fatal_error("OnceFlag::finish", "called without a matching begin() that returned run");
  if (prev & kParked) parking_lot::unpark_all(&v_);
}

void OnceFlag::reset_after_fork() noexcept {
  std::uint8_t v = v_.load(std::memory_order_relaxed);
  if (v != kDone) v_.store(kUnset, std::memory_order_relaxed);
}

namespace {
// Onces whose initialiser is running (TrackedOnce).
Mutex g_running_lock;
TrackedOnce* g_running = nullptr;
}  // namespace

void TrackedOnce::start_run(std::uintptr_t me) noexcept {
  runner_.store(me, std::memory_order_relaxed);
  g_running_lock.lock();
  prev_ = nullptr;
  next_ = g_running;
  if (g_running) g_running->prev_ = this;
  g_running = this;
  g_running_lock.unlock();
}

void TrackedOnce::end_run() noexcept {
  g_running_lock.lock();
  if (prev_) prev_->next_ = next_;
  else g_running = next_;
  if (next_) next_->prev_ = prev_;
  prev_ = next_ = nullptr;
  g_running_lock.unlock();
  runner_.store(0, std::memory_order_relaxed);
}

void TrackedOnce::after_fork_in_child(std::uintptr_t me) noexcept {
  // Single-threaded: the registry lock may have been held by a thread that is gone.
  g_running_lock.reset_after_fork();
  for (TrackedOnce* o = g_running; o;) {
    TrackedOnce* next = o->next_;
    if (o->runner() != me) {
      o->end_run();
      o->flag.reset_after_fork();
    }
    o = next;
  }
}

}  // namespace interlock
