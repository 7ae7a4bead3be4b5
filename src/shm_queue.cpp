// src/shm_queue.cpp — creation/attach checks and the sleeping side of
// ShmQueue (include/interlock/shm_queue.hpp states the layout and invariants).
#include "interlock/shm_queue.hpp"

#include <climits>
#include <cstddef>
#include <new>
#include <thread>

#include "interlock/process_futex.hpp"
#include "spin.hpp"
#include "interlock/wait_hooks.hpp"

namespace interlock {

static_assert(sizeof(ShmQueueHeader) <= 64, "header must fit its cache line");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "shared-memory atomics must be lock-free (address-free)");

namespace {

// The ring needs at least two slots: with one, "full for the consumer at pos"
// (seq == pos + 1) is also "free for the producer at pos + 1".
std::uint64_t round_pow2(std::uint64_t n) {
  std::uint64_t p = 2;
  while (p < n) p <<= 1;
  return p;
}

std::size_t slot_size_for(std::size_t max_message) {
  std::size_t s = ShmQueue::kSlotHeader + max_message;
  return (s + ShmQueue::kAlign - 1) / ShmQueue::kAlign * ShmQueue::kAlign;
}

}  // namespace

std::size_t ShmQueue::capacity_for(std::size_t requested) noexcept {
  return static_cast<std::size_t>(round_pow2(requested));
}

std::size_t ShmQueue::required_size(std::size_t capacity, std::size_t max_message) {
  if (capacity == 0 || capacity > kMaxCapacity)
    throw ShmQueueError("capacity must be between 1 and " + std::to_string(kMaxCapacity));
  if (max_message > (1u << 30))
    throw ShmQueueError("max_message must be at most 1 GiB");
  return kHeaderSize + round_pow2(capacity) * slot_size_for(max_message);
}

ShmQueue::ShmQueue(ShmQueueHeader* h) noexcept
    : hdr_(h),
      mask_(h->capacity - 1),
      capacity_(h->capacity),
      slot_size_(h->slot_size),
      max_message_(h->max_message) {}

void ShmQueue::init_layout(void* memory, std::size_t size, std::size_t capacity,
                           std::size_t max_message) {
  if (reinterpret_cast<std::uintptr_t>(memory) % kAlign != 0)
    throw ShmQueueError("shared-memory queue: memory must be 64-byte aligned");
  std::size_t need = required_size(capacity, max_message);
  if (size < need)
    throw ShmQueueError("shared-memory queue: buffer of " + std::to_string(size) +
                        " bytes is too small, need " + std::to_string(need));
  std::uint64_t cap = round_pow2(capacity);
  char* base = static_cast<char*>(memory);
  auto* h = reinterpret_cast<ShmQueueHeader*>(base);
  // Everything but the ready word (offset of ShmQueueHeader::ready), which
  // open() may be using as its "initialising" flag.
  constexpr std::size_t ready_off = offsetof(ShmQueueHeader, ready);
  std::memset(base, 0, ready_off);
  std::memset(base + ready_off + sizeof(std::uint32_t), 0,
              kHeaderSize - ready_off - sizeof(std::uint32_t));
  h->magic = kShmQueueMagic;
  h->version = kShmQueueLayoutVersion;
  h->flags = 0;
  h->capacity = static_cast<std::uint32_t>(cap);
  h->slot_size = static_cast<std::uint32_t>(slot_size_for(max_message));
  h->max_message = static_cast<std::uint32_t>(max_message);
  h->header_size = static_cast<std::uint32_t>(kHeaderSize);
  h->total_size = need;
  new (base + 64) std::atomic<std::uint64_t>(0);
  new (base + 128) std::atomic<std::uint64_t>(0);
  for (std::size_t off : {192, 196, 256, 260, 320}) new (base + off) std::atomic<std::uint32_t>(0);
  for (std::uint64_t i = 0; i < cap; ++i) {
    char* slot = base + kHeaderSize + i * h->slot_size;
    new (slot) std::atomic<std::uint64_t>(i);
    new (slot + 12) std::atomic<std::uint32_t>(0);  // owner: nobody
  }
}

ShmQueue ShmQueue::create(void* memory, std::size_t size, std::size_t capacity,
                          std::size_t max_message) {
  init_layout(memory, size, capacity, max_message);
  auto* h = static_cast<ShmQueueHeader*>(memory);
  h->ready.store(0, std::memory_order_relaxed);
  h->ready.store(1, std::memory_order_release);
  process_futex::wake_all(&h->ready);
  return ShmQueue(h);
}

void ShmQueue::check_matches(std::size_t capacity, std::size_t max_message) const {
  if (matches(capacity, max_message)) return;
  throw ShmQueueError(
      "shared-memory queue: the existing queue has capacity " + std::to_string(capacity_) +
      " and max_message " + std::to_string(max_message_) + ", not the capacity " +
      std::to_string(capacity ? capacity_for(capacity) : capacity_) + " and max_message " +
      std::to_string(max_message ? max_message : max_message_) +
      " asked for (omit them to attach to it)");
}

ShmQueue ShmQueue::open(void* memory, std::size_t size, std::size_t capacity,
                        std::size_t max_message, Deadline init_wait, bool* created) {
  *created = false;
  if (reinterpret_cast<std::uintptr_t>(memory) % kAlign != 0)
    throw ShmQueueError("shared-memory queue: memory must be 64-byte aligned");
  if (size < kHeaderSize)
    throw ShmQueueError("shared-memory queue: buffer of " + std::to_string(size) +
                        " bytes is too small to hold a queue");
  auto* h = static_cast<ShmQueueHeader*>(memory);
  for (;;) {
    std::uint32_t r = h->ready.load(std::memory_order_acquire);
    if (r == 1) return attach(memory, size);
    if (r == 0) {
      if (capacity == 0)
        throw ShmQueueError("shared-memory queue: the memory holds no queue (zero-filled)");
      const std::size_t need = required_size(capacity, max_message);  // errors before claiming
      if (size < need)
        throw ShmQueueError("shared-memory queue: buffer of " + std::to_string(size) +
                            " bytes is too small, need " + std::to_string(need));
      if (!h->ready.compare_exchange_strong(r, 2, std::memory_order_acq_rel)) continue;
      // Claimed: nobody else writes the layout now, so the magic can be read
      // (before the claim another process's initialisation may be writing it).
      if (h->magic != 0) {
        h->ready.store(0, std::memory_order_release);
        process_futex::wake_all(&h->ready);
        throw ShmQueueError("shared-memory queue: the memory is neither zero-filled nor "
                            "an interlock queue");
      }
      init_layout(memory, size, capacity, max_message);
      h->ready.store(1, std::memory_order_release);
      process_futex::wake_all(&h->ready);
      *created = true;
      return ShmQueue(h);
    }
    if (r != 2)
      throw ShmQueueError("shared-memory queue: the memory does not hold an interlock queue");
    // Another process is initialising it: wait (its initialisation is a few
    // stores per slot; a creator that died mid-way leaves 2 for ever).
    if (init_wait.expired())
      throw ShmQueueError("shared-memory queue: another process began initialising the "
                          "queue and did not finish");
    Deadline slice = earlier(init_wait, Deadline::after(std::chrono::milliseconds(10)));
    process_futex::wait(&h->ready, 2, slice);
  }
}

ShmQueue ShmQueue::attach(void* memory, std::size_t size) {
  if (reinterpret_cast<std::uintptr_t>(memory) % kAlign != 0)
    throw ShmQueueError("shared-memory queue: memory must be 64-byte aligned");
  if (size < kHeaderSize)
    throw ShmQueueError("shared-memory queue: buffer too small to hold a queue");
  auto* h = static_cast<ShmQueueHeader*>(memory);
  if (h->ready.load(std::memory_order_acquire) != 1 || h->magic != kShmQueueMagic)
    throw ShmQueueError("shared-memory queue: buffer does not hold an interlock queue "
                        "(bad magic or not initialised)");
  if (h->version != kShmQueueLayoutVersion)
    throw ShmQueueError("shared-memory queue: layout version " + std::to_string(h->version) +
                        " is not supported by this interlock (layout version " +
                        std::to_string(kShmQueueLayoutVersion) + ")");
  if (h->header_size != kHeaderSize || h->capacity == 0 ||
      h->capacity < 2 || (h->capacity & (h->capacity - 1)) != 0 || h->capacity > kMaxCapacity ||
      h->slot_size != slot_size_for(h->max_message) ||
      h->total_size != kHeaderSize + std::uint64_t(h->capacity) * h->slot_size)
    throw ShmQueueError("shared-memory queue: corrupt header");
  if (size < h->total_size)
    throw ShmQueueError("shared-memory queue: buffer of " + std::to_string(size) +
                        " bytes is smaller than the queue's " + std::to_string(h->total_size));
  return ShmQueue(h);
}

bool ShmQueue::reclaim_dead(std::uint64_t pos) noexcept {
  char* s = slot(pos);
  const std::uint64_t seq = seq_of(s)->load(std::memory_order_acquire);
  std::uint32_t owner = owner_of(s)->load(std::memory_order_acquire);
  // Only the word's holder moves seq, and it clears the word after moving it:
  // an unchanged seq means `owner` is the holder of this state of the slot.
  if (seq_of(s)->load(std::memory_order_acquire) != seq) return true;  // moved: retry
  const std::uint32_t me = shm::self_pid();
  if (owner == 0 || owner == me) return false;
  if (shm::process_liveness(owner, 0) == shm::Liveness::alive) return false;
  // Dead. Take the word over (one recoverer wins; a recoverer that dies
  // mid-repair leaves its own PID for the next one).
  if (!owner_of(s)->compare_exchange_strong(owner, me, std::memory_order_acq_rel)) return true;
  const std::uint64_t now = seq_of(s)->load(std::memory_order_acquire);
  const std::uint64_t index = static_cast<std::uint64_t>(s - slot(0)) / slot_size_;
  if ((now & mask_) == index) {
    // Free for the producer at position `now`: did the dead holder claim it?
    if (static_cast<std::int64_t>(enq()->load(std::memory_order_seq_cst) - now) > 0) {
      std::uint32_t t = kTombstone;  // claimed, never published: skip it
      std::memcpy(s + 8, &t, 4);
      seq_of(s)->store(now + 1, std::memory_order_release);
    }
  } else {
    // Published for the consumer at position now - 1: did the holder take it?
    if (static_cast<std::int64_t>(deq()->load(std::memory_order_seq_cst) - (now - 1)) > 0)
      seq_of(s)->store(now - 1 + capacity_, std::memory_order_release);  // gone with it
  }
  owner_of(s)->store(0, std::memory_order_release);
  notify(items_epoch(), get_waiters());
  notify(space_epoch(), put_waiters());
  return true;
}

void ShmQueue::reserve_contended(std::uint64_t pos, std::uint32_t holder) noexcept {
  // Usually a live claimer between its publish and its clear (two stores), or
  // one that lost a position race and is giving the word back: wait a moment.
  // Its death is checked each time (a system call, off the fast path).
  std::this_thread::yield();
  if (owner_of(slot(pos))->load(std::memory_order_acquire) == holder &&
      shm::process_liveness(holder, 0) != shm::Liveness::alive)
    reclaim_dead(pos);
}

void ShmQueue::unreserve(char* s) noexcept {
  owner_of(s)->store(0, std::memory_order_release);
  // A sleeper may have found the word taken and the slot otherwise ready.
  if (get_waiters()->load(std::memory_order_seq_cst) != 0) notify(items_epoch(), get_waiters());
  if (put_waiters()->load(std::memory_order_seq_cst) != 0) notify(space_epoch(), put_waiters());
}

Deadline ShmQueue::wait_slice(bool space, Deadline deadline) const noexcept {
  bool blocked_by_claim;
  if (space) {  // full at enq: a consumer claimed the slot and has not freed it
    const std::uint64_t e = enq()->load(std::memory_order_acquire);
    char* s = slot(e);
    blocked_by_claim = seq_of(s)->load(std::memory_order_acquire) != e &&
                       owner_of(s)->load(std::memory_order_acquire) != 0;
  } else {  // empty at deq: a producer claimed it and has not published
    const std::uint64_t d = deq()->load(std::memory_order_acquire);
    blocked_by_claim = enq()->load(std::memory_order_acquire) != d &&
                       owner_of(slot(d))->load(std::memory_order_acquire) != 0;
  }
  if (!blocked_by_claim) return deadline;
  return earlier(deadline, Deadline::after(kDeadCheckInterval));
}

void ShmQueue::wake_all(std::atomic<std::uint32_t>* word) noexcept {
  process_futex::wake_all(word);
}

std::size_t ShmQueue::shutdown(bool immediate) noexcept {
  state()->store(1, std::memory_order_seq_cst);
  items_epoch()->fetch_add(1, std::memory_order_seq_cst);
  space_epoch()->fetch_add(1, std::memory_order_seq_cst);
  wake_all(items_epoch());
  wake_all(space_epoch());
  std::size_t discarded = 0;
  if (immediate) {
    // Puts fail from now on, so this ends: every claimed slot is published
    // (a message or a tombstone) by its producer.
    while (try_get([](const char*, std::size_t) noexcept {}) == ShmQueueStatus::ok) ++discarded;
  }
  return discarded;
}

WaitStatus ShmQueue::sleep(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                           Deadline deadline, std::atomic<std::uint32_t>* waiters) noexcept {
  const WaitHooks* hooks = detail::current_wait_hooks();
  void* token = nullptr;
  if (hooks && hooks->before_sleep) token = hooks->before_sleep(hooks->ctx);
  Deadline slice = deadline;
  bool poll = hooks && hooks->poll_interval_ns > 0;
  if (poll)
    slice = earlier(deadline, Deadline::after(std::chrono::nanoseconds(hooks->poll_interval_ns)));
  process_futex::WaitResult r = process_futex::wait(word, expected, slice);
  if (hooks && hooks->after_sleep) hooks->after_sleep(hooks->ctx, token);
  waiters->fetch_sub(1, std::memory_order_relaxed);
  if (r == process_futex::WaitResult::timed_out && deadline.expired()) return WaitStatus::timed_out;
  if (r == process_futex::WaitResult::woken) return WaitStatus::ok;
  // Plain C++ threads (no hooks) just retry after EINTR or a slice.
  if (!hooks) return WaitStatus::ok;
  // EINTR or a poll slice ran out: let the hooks run signal handlers.
  if (hooks && hooks->on_interrupt && hooks->on_interrupt(hooks->ctx))
    return WaitStatus::interrupted;
  return WaitStatus::ok;
}

bool ShmQueue::spin_until_ready(bool space) const noexcept {
  detail::SpinWait spin(SpinPolicy::adaptive);
  while (spin.spin())
    if (space ? writable() : readable()) return true;
  return false;
}

ShmQueueStatus ShmQueue::put_slow(const void* data, std::size_t len, Deadline deadline) noexcept {
  if (spin_until_ready(true)) {
    ShmQueueStatus r = try_put(data, len);
    if (r != ShmQueueStatus::timed_out) return r;
  }
  for (;;) {
    put_waiters()->fetch_add(1, std::memory_order_seq_cst);
    std::uint32_t e = space_epoch()->load(std::memory_order_seq_cst);
    ShmQueueStatus r = try_put(data, len);
    if (r != ShmQueueStatus::timed_out) {
      put_waiters()->fetch_sub(1, std::memory_order_relaxed);
      return r;
    }
    WaitStatus w = sleep(space_epoch(), e, wait_slice(true, deadline), put_waiters());
    if (w == WaitStatus::interrupted) return ShmQueueStatus::interrupted;
    if (w == WaitStatus::timed_out && deadline.expired()) return try_put(data, len);
  }
}

}  // namespace interlock
