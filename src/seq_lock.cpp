#include "interlock/seq_lock.hpp"

#include <sched.h>

#include "interlock/fatal.hpp"

namespace interlock {

namespace {
inline void backoff(int& spins) noexcept {
  if (++spins < 64) detail::cpu_relax();
  else sched_yield();
}
}  // namespace

void SeqLock::lock_write() noexcept {
  int spins = 0;
  std::uint32_t s = seq_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(s & 1)) {
      if (seq_.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
        // Order the odd sequence before the writer's data stores.
        std::atomic_thread_fence(std::memory_order_release);
        return;
      }
      continue;
    }
    backoff(spins);
    s = seq_.load(std::memory_order_relaxed);
  }
}

void SeqLock::unlock_write() noexcept {
  std::uint32_t s = seq_.load(std::memory_order_relaxed);
  if (!(s & 1)) fatal_error("SeqLock::unlock_write", "no write is in progress");
  seq_.store(s + 1, std::memory_order_release);
}

void SeqLock::abandon_write() noexcept {
  std::uint32_t s = seq_.load(std::memory_order_relaxed);
  if (!(s & 1)) fatal_error("SeqLock::abandon_write", "no write is in progress");
  seq_.store(s - 1, std::memory_order_release);
}

std::uint32_t SeqLock::begin_read_slow() const noexcept {
  int spins = 0;
  for (;;) {
    backoff(spins);
    std::uint32_t s = seq_.load(std::memory_order_acquire);
    if (!(s & 1)) return s;
  }
}

bool SeqLock::reset_after_fork() noexcept {
  std::uint32_t s = seq_.load(std::memory_order_relaxed);
  if (!(s & 1)) return false;
  seq_.store(s + 1, std::memory_order_relaxed);
  return true;
}

}  // namespace interlock
