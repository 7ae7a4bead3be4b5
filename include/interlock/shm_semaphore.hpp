// interlock/shm_semaphore.hpp — a counting semaphore in caller-supplied
// (shared) memory. A view over a 64-byte layout.
//
// Layout (64 bytes, 4-byte aligned):
//   0  Header          magic, kind_version (Kind::semaphore)
//   8  u32 count       the futex word: tokens available (0..UINT32_MAX)
//  12  u32 sleepers    threads (of any process) inside the futex wait, or about
//                      to enter it
//  16  reserved (zero)
//
// Invariants:
//  - Tokens are only taken by CAS count -> count - 1 (never below zero) and
//    only added by post(n) (CAS, refusing to pass UINT32_MAX), so tokens are
//    conserved: every token posted is taken exactly once.
//  - No lost wake-up: a waiter increments `sleepers` (seq_cst) before the
//    futex wait, which sleeps only while count == 0; post() adds to count
//    (seq_cst) before it reads `sleepers`. Either post() sees the sleeper and
//    wakes, or the sleeper's futex sees the token.
//  - Exact delivery: post(n) wakes at most min(n, sleepers) sleepers, so n
//    tokens never cause more than n wake-ups; a woken sleeper that loses the
//    race for a token sleeps again.
//  - A process killed while sleeping leaves `sleepers` one too high: the only
//    cost is a spare wake-up syscall in later posts.
#pragma once

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/shm_layout.hpp"

namespace interlock::shm {

struct SemaphoreLayout {
  Header header;
  std::atomic<std::uint32_t> count;
  std::atomic<std::uint32_t> sleepers;
  std::uint32_t reserved[12];
};
static_assert(sizeof(SemaphoreLayout) == kLayoutSize);

class ShmSemaphore {
 public:
  static constexpr std::size_t size = kLayoutSize;
  static constexpr std::size_t alignment = kLayoutAlign;
  static constexpr std::uint32_t max_value = UINT32_MAX;

  explicit ShmSemaphore(void* mem, bool shared = true) noexcept
      : l_(static_cast<SemaphoreLayout*>(mem)), shared_(shared) {}

  /// Initialises fresh memory with `initial` tokens, or checks an existing
  /// layout (whose count is left alone).
  AttachResult attach(std::uint32_t initial, bool force_stalled = false) noexcept {
    return attach_or_init(
        &l_->header, Kind::semaphore,
        [&](Header*) { l_->count.store(initial, std::memory_order_relaxed); }, force_stalled);
  }

  INTERLOCK_ALWAYS_INLINE bool try_wait() noexcept {
    std::uint32_t v = l_->count.load(std::memory_order_relaxed);
    while (v > 0) {
      if (l_->count.compare_exchange_weak(v, v - 1, std::memory_order_acquire,
                                          std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  /// Takes one token, waiting until the deadline. ok / timed_out / interrupted.
  WaitStatus wait_until(Deadline d) noexcept {
    if (INTERLOCK_LIKELY(try_wait())) return WaitStatus::ok;
    if (d.is_immediate()) return WaitStatus::timed_out;
    return wait_slow(d);
  }

  /// Adds n tokens and wakes up to n sleepers. False (nothing added) if the
  /// count would pass max_value.
  INTERLOCK_ALWAYS_INLINE bool post(std::uint32_t n = 1) noexcept {
    std::uint32_t v = l_->count.load(std::memory_order_relaxed);
    do {
      if (INTERLOCK_UNLIKELY(v > max_value - n)) return false;
    } while (!l_->count.compare_exchange_weak(v, v + n, std::memory_order_seq_cst,
                                              std::memory_order_relaxed));
    const std::uint32_t s = l_->sleepers.load(std::memory_order_seq_cst);
    if (INTERLOCK_UNLIKELY(s != 0))
      futex_wake(&l_->count, static_cast<int>(std::min<std::uint32_t>({n, s, INT_MAX})), shared_);
    return true;
  }

  /// Overwrites the count (fastipc's Semaphore(buffer, initial=n) on an
  /// existing layout); wakes every sleeper if tokens appear.
  void store_value(std::uint32_t v) noexcept {
    l_->count.store(v, std::memory_order_seq_cst);
    if (v != 0 && l_->sleepers.load(std::memory_order_seq_cst) != 0)
      futex_wake(&l_->count, INT_MAX, shared_);
  }

  std::uint32_t value() const noexcept { return l_->count.load(std::memory_order_relaxed); }
  bool shared() const noexcept { return shared_; }

 private:
  INTERLOCK_API WaitStatus wait_slow(Deadline d) noexcept;

  SemaphoreLayout* l_;
  bool shared_;
};

}  // namespace interlock::shm
