#include "interlock/raw_mutex.hpp"

#include <sched.h>

#include "futex.hpp"
#include "interlock/fatal.hpp"

namespace interlock {

namespace {
struct alignas(8) RawWaiter {
  RawWaiter* next = nullptr;
  detail::ThreadSemaphore sema;
};
constexpr int kRawSpins = 100;
}  // namespace

void RawMutex::lock_slow() noexcept {
  RawWaiter waiter;
  int spins = 0;
  std::uintptr_t v = v_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(v & kLocked)) {
      // Unlocked (maybe with queued waiters): grab it.
      if (v_.compare_exchange_weak(v, v | kLocked, std::memory_order_acquire,
                                   std::memory_order_relaxed))
        return;
      continue;
    }
    if (spins < kRawSpins) {
      ++spins;
      detail::cpu_relax();
      v = v_.load(std::memory_order_relaxed);
      continue;
    }
    // Locked: queue ourselves as the newest waiter and sleep. The lock is not
    // handed to us: once woken we compete again.
    waiter.next = reinterpret_cast<RawWaiter*>(v & ~kLocked);
    std::uintptr_t desired = reinterpret_cast<std::uintptr_t>(&waiter) | kLocked;
    if (!v_.compare_exchange_weak(v, desired, std::memory_order_release,
                                  std::memory_order_relaxed))
      continue;
    waiter.sema.wait_uninterruptibly();
    spins = 0;
    v = v_.load(std::memory_order_relaxed);
  }
}

void RawMutex::unlock_slow() noexcept {
  std::uintptr_t v = v_.load(std::memory_order_acquire);
  for (;;) {
    if (!(v & kLocked)) fatal_error("RawMutex::unlock", "unlocking a mutex that is not locked");
    auto* waiter = reinterpret_cast<RawWaiter*>(v & ~kLocked);
    if (waiter) {
      // Pop the newest waiter and release the lock in the same CAS.
      auto next = reinterpret_cast<std::uintptr_t>(waiter->next);
      if (v_.compare_exchange_weak(v, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        waiter->sema.post();
        return;
      }
    } else if (v_.compare_exchange_weak(v, 0, std::memory_order_release,
                                        std::memory_order_acquire)) {
      return;
    }
  }
}

}  // namespace interlock
