// interlock/shm_event.hpp — a manual-reset event in caller-supplied (shared)
// memory. A view over a 64-byte layout.
//
// Layout (64 bytes, 4-byte aligned):
//   0  Header          magic, kind_version (Kind::event)
//   8  u32 state       the futex word: bit 0 SET, bit 1 WAITERS
//  12  reserved (zero)
//
// Invariants:
//  - set() exchanges the word with SET (which also clears WAITERS) and wakes
//    every sleeper iff WAITERS was set: no syscall when nobody waits.
//  - A waiter sets WAITERS by CAS from the unset state it saw, then sleeps
//    while the word is exactly WAITERS; set() in between changes the word, so
//    the futex returns at once (no lost wake-up).
//  - clear() only clears SET. A waiter that timed out may leave WAITERS set:
//    the next set() then makes one spare wake syscall.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/shm_layout.hpp"

namespace interlock::shm {

struct EventLayout {
  Header header;
  std::atomic<std::uint32_t> state;
  std::uint32_t reserved[13];
};
static_assert(sizeof(EventLayout) == kLayoutSize);

class ShmEvent {
 public:
  static constexpr std::uint32_t kSet = 1;
  static constexpr std::uint32_t kWaiters = 2;
  static constexpr std::size_t size = kLayoutSize;
  static constexpr std::size_t alignment = kLayoutAlign;

  explicit ShmEvent(void* mem, bool shared = true) noexcept
      : l_(static_cast<EventLayout*>(mem)), shared_(shared) {}

  AttachResult attach(bool force_stalled = false) noexcept {
    return attach_or_init(&l_->header, Kind::event, [](Header*) {}, force_stalled);
  }

  INTERLOCK_ALWAYS_INLINE bool is_set() const noexcept {
    return (l_->state.load(std::memory_order_acquire) & kSet) != 0;
  }

  INTERLOCK_ALWAYS_INLINE void set() noexcept {
    const std::uint32_t prev = l_->state.exchange(kSet, std::memory_order_acq_rel);
    if (prev & kWaiters) futex_wake(&l_->state, INT_MAX, shared_);
  }

  INTERLOCK_ALWAYS_INLINE void clear() noexcept {
    l_->state.fetch_and(~kSet, std::memory_order_relaxed);
  }

  /// Waits until set; ok / timed_out / interrupted.
  WaitStatus wait_until(Deadline d) noexcept {
    if (INTERLOCK_LIKELY(is_set())) return WaitStatus::ok;
    if (d.is_immediate()) return WaitStatus::timed_out;
    return wait_slow(d);
  }

  bool shared() const noexcept { return shared_; }

 private:
  INTERLOCK_API WaitStatus wait_slow(Deadline d) noexcept;

  EventLayout* l_;
  bool shared_;
};

}  // namespace interlock::shm
