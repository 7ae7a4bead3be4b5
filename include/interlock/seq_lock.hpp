// interlock/seq_lock.hpp — a sequence lock (CPython's _PySeqLock) for data
// read far more often than written: readers never block writers and never write.
//
// State: a 32-bit sequence number. Even = stable, odd = a write is in progress.
//   lock_write      spins (with yields) until it moves an even value to odd
//   unlock_write    odd -> next even (publishes the write)
//   abandon_write   odd -> the previous even (nothing changed, readers' reads stay valid)
//   begin_read      waits for an even value and returns it
//   end_read(seq)   true if the sequence is still `seq`: the read was consistent
// Readers must read the protected data with atomic (relaxed) loads and retry
// until end_read() succeeds; writers are mutually exclusive and brief.
#pragma once

#include <atomic>
#include <cstdint>

#include "interlock/config.hpp"

namespace interlock {

class INTERLOCK_API SeqLock {
 public:
  constexpr SeqLock() noexcept = default;
  SeqLock(const SeqLock&) = delete;
  SeqLock& operator=(const SeqLock&) = delete;

  void lock_write() noexcept;
  bool try_lock_write() noexcept {
    std::uint32_t s = seq_.load(std::memory_order_relaxed);
    return !(s & 1) && seq_.compare_exchange_strong(s, s + 1, std::memory_order_acquire,
                                                    std::memory_order_relaxed);
  }
  void unlock_write() noexcept;
  void abandon_write() noexcept;

  INTERLOCK_ALWAYS_INLINE std::uint32_t begin_read() const noexcept {
    std::uint32_t s = seq_.load(std::memory_order_acquire);
    if (INTERLOCK_LIKELY(!(s & 1))) return s;
    return begin_read_slow();
  }
  INTERLOCK_ALWAYS_INLINE bool end_read(std::uint32_t seq) const noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return seq_.load(std::memory_order_relaxed) == seq;
  }

  /// Reads with `f` until a consistent snapshot is seen; returns f's result.
  template <class F>
  auto read(F&& f) const {
    for (;;) {
      std::uint32_t s = begin_read();
      auto result = f();
      if (end_read(s)) return result;
    }
  }

  bool is_writing() const noexcept { return seq_.load(std::memory_order_relaxed) & 1; }
  std::uint32_t sequence() const noexcept { return seq_.load(std::memory_order_relaxed); }

  /// Child side of fork(): a write in progress in the parent never finishes;
  /// returns true if the lock had to be reset.
  bool reset_after_fork() noexcept;

 private:
  std::uint32_t begin_read_slow() const noexcept;
  std::atomic<std::uint32_t> seq_{0};
};

}  // namespace interlock
