// interlock/shm_queue.hpp — a bounded multi-producer multi-consumer queue of
// byte messages living in caller-supplied (typically MAP_SHARED) memory, usable
// from several processes at once.
//
// Layout (all offsets from the start of the region, which must be 64-byte
// aligned; every field is address-free, so each process may map it anywhere):
//
//   [0, 64)     ShmQueueHeader: magic, layout version, capacity, slot size,
//               max message, total size, flags, ready word (immutable after
//               create() except `ready`: 0 fresh, 2 being initialised by
//               open(), 1 ready; a futex word, woken when it becomes 1)
//   [64, 128)   enqueue position (u64, producers' CAS)
//   [128, 192)  dequeue position (u64, consumers' CAS)
//   [192, 256)  items epoch (u32 futex word) + get waiter count (u32)
//   [256, 320)  space epoch (u32 futex word) + put waiter count (u32)
//   [320, 384)  state (u32: 0 open, 1 shut down)
//   [384, ...)  `capacity` slots of `slot_size` bytes: {u64 seq, u32 len,
//               u32 owner, payload[max_message]}
//
// Algorithm: Dmitry Vyukov's bounded MPMC ring. Slot i's sequence number says
// whose turn it is: seq == pos means "free for the producer at pos",
// seq == pos + 1 "full, for the consumer at pos". A producer claims pos by CAS
// on the enqueue position, copies the message, then publishes with a release
// store seq = pos + 1; a consumer claims by CAS on the dequeue position, copies
// out, then frees with seq = pos + capacity. Capacity is a power of two, at
// least 2 (a requested capacity is rounded up).
//
// Blocking: a caller that finds the queue empty (full) first spins briefly
// (spin_until_ready). Then a blocked consumer increments the get waiter count, reads the
// items epoch, retries, and sleeps on the epoch (a process-shared futex). A
// producer, after publishing, bumps the epoch and wakes only if the waiter
// count is non-zero, so the uncontended fast path makes no system call. (All
// four are seq_cst: the producer's "epoch++, load waiters" and the consumer's
// "waiters++, load epoch, retry" cannot both miss each other.) Symmetrically
// for blocked producers on the space epoch. Wakes are broadcasts: a woken
// waiter that then times out or is interrupted cannot swallow the hand-off.
//
// Sleeps go through the thread's WaitHooks (before_sleep/after_sleep around
// each kernel sleep, poll slices, on_interrupt after EINTR or a slice), so the
// Python layer releases the GIL and runs signal handlers; an interrupted call
// has claimed nothing, so the queue is unchanged.
//
// Shutdown: state = 1 and both epochs bumped and broadcast. put() then fails
// with shut_down; get() drains what is published and fails with shut_down
// once the queue is empty (queue.Queue.shutdown(immediate=False)). A put that
// claimed its slot just as shutdown() ran publishes a tombstone instead and
// fails, and a get reports shut_down only when no claimed slot is still
// unpublished (both seq_cst): so a message is either received or its put
// failed, never stranded behind a get that already reported shut_down.
//
// Process death (layout version 2): every slot has an owner word, a
// process-shared try-lock on the slot. A claimer first takes it (CAS 0 -> its
// PID), then claims the position (CAS on the enqueue / dequeue position; on a
// lost race it gives the word back), copies, publishes / frees the slot with
// the release store of seq, and only then clears the word (release). So the
// word names whoever may still move the slot, and a PID is never missing from
// a slot that a process could leave half-done: a process killed at ANY
// instruction between its reservation and its clear leaves its PID there.
// Whoever finds the slot in the way (a get at an empty-looking position, a put
// at a full-looking one, a claimer finding the word taken, shutdown(immediate))
// and sees that the PID's process no longer runs takes the word over (CAS dead
// pid -> own PID: exactly one recoverer; the dead process cannot move), reads
// what the dead process did from the slot's seq and the positions, repairs,
// and clears the word:
//  - seq free for the producer at position p and the enqueue position past p:
//    the dead producer claimed p but never published: a tombstone is
//    published in its place (consumers skip it: that message was never sent);
//  - seq published for the consumer at position p and the dequeue position
//    past p: the dead consumer took it: the slot is freed (its message went
//    with that consumer: received at most once, never twice);
//  - otherwise the dead process had only reserved the word, or had already
//    published / freed the slot: nothing to repair.
// (Nobody can claim a slot's position while another process holds its word,
// so "the position moved past p" means exactly "the word's holder claimed p".)
// A recoverer killed mid-repair leaves its own PID in the word, and the next
// one finishes from the slot's state. Healthy messages are neither lost nor
// duplicated. A waiter blocked behind a slot claimed by another live process
// re-checks every kDeadCheckInterval, so it notices the claimant's later death
// without a wake-up. A reused PID looks alive (its slot stays stuck until that
// process exits). shutdown() wakes every waiter, and a get reports shut_down
// once every claim is published or recovered.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/shm_layout.hpp"

namespace interlock {

inline constexpr std::uint64_t kShmQueueMagic = 0x3151'4d48'534c'4931ULL;  // "1ILSHMQ1"
inline constexpr std::uint32_t kShmQueueLayoutVersion = 2;  // 2: slot owner word

/// Raised by ShmQueue::create/attach for memory that is too small, misaligned,
/// not a queue, or a queue of another layout version.
class ShmQueueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ShmQueueStatus : unsigned char {
  ok,
  timed_out,    ///< full (put) / empty (get) at the deadline
  shut_down,    ///< put after shutdown; get on a shut-down, empty queue
  interrupted,  ///< the wait hooks asked to abandon the wait (nothing claimed)
  too_large,    ///< message longer than max_message
};

struct ShmQueueHeader {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t flags;
  std::uint32_t capacity;
  std::uint32_t slot_size;
  std::uint32_t max_message;
  std::uint32_t header_size;
  std::uint64_t total_size;
  std::atomic<std::uint32_t> ready;
};

class INTERLOCK_API ShmQueue {
 public:
  static constexpr std::size_t kAlign = 64;
  static constexpr std::size_t kHeaderSize = 384;
  static constexpr std::size_t kSlotHeader = 16;
  static constexpr std::uint32_t kMaxCapacity = 1u << 24;
  /// A slot's length word for "no message": a put claimed the slot, then saw
  /// the queue shut down (messages are at most 1 GiB, so it is never a length).
  static constexpr std::uint32_t kTombstone = 0xFFFF'FFFFu;
  /// How often a waiter blocked behind another live process's claim re-checks
  /// whether that process died.
  static constexpr std::chrono::milliseconds kDeadCheckInterval{200};

  /// The capacity a queue asked for `requested` messages gets: the next power
  /// of two, at least 2.
  static std::size_t capacity_for(std::size_t requested) noexcept;
  /// Bytes needed for a queue of `capacity` messages (rounded up to a power of
  /// two) of up to `max_message` bytes.
  static std::size_t required_size(std::size_t capacity, std::size_t max_message);
  /// Initialises a new queue in [memory, memory + size). Throws ShmQueueError
  /// (too small / misaligned / bad parameters).
  static ShmQueue create(void* memory, std::size_t size, std::size_t capacity,
                         std::size_t max_message);
  /// Attaches a queue created by create() (perhaps in another process).
  /// Throws ShmQueueError with a clear message for anything else.
  static ShmQueue attach(void* memory, std::size_t size);

  /// Create-or-attach, safe when several processes race on the same memory:
  /// zero-filled memory (ready word 0, no magic) is initialised by exactly one
  /// caller (CAS of the ready word 0 -> 2, then 1 when done, with a futex
  /// wake); the others wait for the ready word (up to `init_wait`) and attach.
  /// capacity == 0: attach only (fresh memory is an error). `*created` says
  /// whether this call initialised the queue. The caller checks that an
  /// attached queue is the one it asked for (matches(), check_matches()).
  static ShmQueue open(void* memory, std::size_t size, std::size_t capacity,
                       std::size_t max_message, Deadline init_wait, bool* created);

  ShmQueue() = default;

  std::uint32_t capacity() const noexcept { return capacity_; }
  std::uint32_t max_message() const noexcept { return max_message_; }
  /// Whether this queue is the one asked for (open()'s caller checks an
  /// attached queue): `capacity` rounded by capacity_for(), `max_message`
  /// exactly; 0 asks for nothing.
  bool matches(std::size_t capacity, std::size_t max_message) const noexcept {
    return (capacity == 0 || capacity_ == capacity_for(capacity)) &&
           (max_message == 0 || max_message_ == max_message);
  }
  /// Throws ShmQueueError, naming both sides, unless matches().
  void check_matches(std::size_t capacity, std::size_t max_message) const;
  std::size_t total_size() const noexcept { return hdr_->total_size; }

  /// Non-blocking put: ok, timed_out (full), shut_down or too_large.
  ShmQueueStatus try_put(const void* data, std::size_t len) noexcept {
    if (len > max_message_) return ShmQueueStatus::too_large;
    if (state()->load(std::memory_order_acquire) != 0) return ShmQueueStatus::shut_down;
    std::uint64_t pos = enq()->load(std::memory_order_relaxed);
    char* s;
    for (;;) {
      s = slot(pos);
      std::uint64_t seq = seq_of(s)->load(std::memory_order_acquire);
      auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        if (reserve(s, pos)) {
          if (enq()->compare_exchange_strong(pos, pos + 1, std::memory_order_seq_cst,
                                             std::memory_order_relaxed))
            break;
          unreserve(s);  // lost the race: pos now holds the new position
        } else {
          pos = enq()->load(std::memory_order_relaxed);
        }
      } else if (diff < 0) {
        // Full at pos, unless a dead consumer holds the slot (slow path).
        if (INTERLOCK_LIKELY(!reclaim_dead(pos))) return ShmQueueStatus::timed_out;
        pos = enq()->load(std::memory_order_relaxed);
      } else {
        pos = enq()->load(std::memory_order_relaxed);
      }
    }
    // Claimed. If shutdown() came between the check above and the claim, a
    // consumer may already have reported shut_down on the empty queue: fill
    // the slot with a tombstone (consumers skip it) and fail, so that no
    // message is stranded after the last get (see try_get's empty branch).
    if (INTERLOCK_UNLIKELY(state()->load(std::memory_order_seq_cst) != 0)) {
      std::uint32_t t = kTombstone;
      std::memcpy(s + 8, &t, 4);
      seq_of(s)->store(pos + 1, std::memory_order_release);
      owner_of(s)->store(0, std::memory_order_release);
      notify(items_epoch(), get_waiters());
      return ShmQueueStatus::shut_down;
    }
    std::uint32_t n = static_cast<std::uint32_t>(len);
    std::memcpy(s + 8, &n, 4);
    if (len) std::memcpy(s + kSlotHeader, data, len);
    seq_of(s)->store(pos + 1, std::memory_order_release);  // after the copy
    owner_of(s)->store(0, std::memory_order_release);
    notify(items_epoch(), get_waiters());
    return ShmQueueStatus::ok;
  }

  /// Non-blocking get: on ok, calls sink(const char* data, std::size_t len)
  /// exactly once while the slot is claimed (the sink copies the bytes out).
  template <class Sink>
  ShmQueueStatus try_get(Sink&& sink) noexcept(noexcept(sink(nullptr, std::size_t{}))) {
    for (;;) {  // until a message, or empty (past any tombstones)
    std::uint64_t pos = deq()->load(std::memory_order_relaxed);
    char* s;
    for (;;) {
      s = slot(pos);
      std::uint64_t seq = seq_of(s)->load(std::memory_order_acquire);
      auto diff = static_cast<std::int64_t>(seq - (pos + 1));
      if (diff == 0) {
        if (reserve(s, pos)) {
          if (deq()->compare_exchange_strong(pos, pos + 1, std::memory_order_seq_cst,
                                             std::memory_order_relaxed))
            break;
          unreserve(s);  // lost the race: pos now holds the new position
        } else {
          pos = deq()->load(std::memory_order_relaxed);
        }
      } else if (diff < 0) {
        // A claim at pos that its producer has not published: if that
        // process died, publish a tombstone for it and go on (slow path).
        if (INTERLOCK_UNLIKELY(enq()->load(std::memory_order_seq_cst) != pos) &&
            reclaim_dead(pos)) {
          pos = deq()->load(std::memory_order_relaxed);
          continue;
        }
        // Empty at pos. Shut down only if no producer holds a claim at or past
        // pos that it has yet to publish (it publishes a message or, having
        // seen the shutdown after claiming, a tombstone): seq_cst pairs with
        // the producer's claim-then-check in try_put.
        if (state()->load(std::memory_order_seq_cst) != 0 &&
            enq()->load(std::memory_order_seq_cst) == pos)
          return ShmQueueStatus::shut_down;
        return ShmQueueStatus::timed_out;
      } else {
        pos = deq()->load(std::memory_order_relaxed);
      }
    }
    std::uint32_t n;
    std::memcpy(&n, s + 8, 4);
    if (INTERLOCK_UNLIKELY(n == kTombstone)) {  // a put refused by shutdown: skip it
      seq_of(s)->store(pos + capacity_, std::memory_order_release);
      owner_of(s)->store(0, std::memory_order_release);
      notify(space_epoch(), put_waiters());
      continue;
    }
    if (n > max_message_) n = max_message_;  // never read past the slot
    struct Release {
      ShmQueue* q;
      char* s;
      std::uint64_t pos;
      ~Release() {
        q->seq_of(s)->store(pos + q->capacity_, std::memory_order_release);  // after the copy
        q->owner_of(s)->store(0, std::memory_order_release);
        q->notify(q->space_epoch(), q->put_waiters());
      }
    } release{this, s, pos};
    sink(static_cast<const char*>(s + kSlotHeader), static_cast<std::size_t>(n));
    return ShmQueueStatus::ok;
    }
  }

  /// Blocking put until `deadline`.
  ShmQueueStatus put(const void* data, std::size_t len, Deadline deadline) noexcept {
    ShmQueueStatus r = try_put(data, len);
    if (r != ShmQueueStatus::timed_out || deadline.is_immediate()) return r;
    return put_slow(data, len, deadline);
  }

  /// Blocking get until `deadline`.
  template <class Sink>
  ShmQueueStatus get(Sink&& sink, Deadline deadline) {
    ShmQueueStatus r = try_get(sink);
    if (r != ShmQueueStatus::timed_out || deadline.is_immediate()) return r;
    if (spin_until_ready(false)) {
      r = try_get(sink);
      if (r != ShmQueueStatus::timed_out) return r;
    }
    for (;;) {
      get_waiters()->fetch_add(1, std::memory_order_seq_cst);
      std::uint32_t e = items_epoch()->load(std::memory_order_seq_cst);
      r = try_get(sink);
      if (r != ShmQueueStatus::timed_out) {
        get_waiters()->fetch_sub(1, std::memory_order_relaxed);
        return r;
      }
      WaitStatus w = sleep(items_epoch(), e, wait_slice(false, deadline), get_waiters());
      if (w == WaitStatus::interrupted) return ShmQueueStatus::interrupted;
      if (w == WaitStatus::timed_out && deadline.expired()) {
        r = try_get(sink);
        return r;
      }
    }
  }

  // ------------------------------------------------ external waiters
  // For a waiter that cannot sleep in get()/put() itself, e.g. a thread that
  // wakes event-loop coroutines when another process publishes: read the
  // epoch, check readable()/writable(), then sleep_until_changed() on that
  // epoch (it counts itself as a waiter while it sleeps, so a publish that
  // came after the check makes the system call that wakes it).

  /// A get would find a published slot (a message or a tombstone), or the
  /// queue is shut down. Exact, unlike size(), which counts claimed slots
  /// whose producer has not published yet.
  bool readable() const noexcept {
    if (is_shut_down()) return true;
    std::uint64_t pos = deq()->load(std::memory_order_acquire);
    return seq_of(slot(pos))->load(std::memory_order_acquire) == pos + 1;
  }
  /// A put would find a free slot, or the queue is shut down.
  bool writable() const noexcept {
    if (is_shut_down()) return true;
    std::uint64_t pos = enq()->load(std::memory_order_acquire);
    return seq_of(slot(pos))->load(std::memory_order_acquire) == pos;
  }
  /// The epoch bumped after every publish (items) or free (space).
  std::uint32_t epoch(bool space) const noexcept {
    return (space ? space_epoch() : items_epoch())->load(std::memory_order_seq_cst);
  }
  /// Sleeps while the epoch still reads `e` (one kernel sleep or poll slice,
  /// through the wait hooks), until `deadline`. ok: woken or the epoch moved
  /// (re-check); timed_out; interrupted (the hooks asked to abandon).
  WaitStatus sleep_until_changed(bool space, std::uint32_t e, Deadline deadline) noexcept {
    std::atomic<std::uint32_t>* w = space ? put_waiters() : get_waiters();
    std::atomic<std::uint32_t>* word = space ? space_epoch() : items_epoch();
    w->fetch_add(1, std::memory_order_seq_cst);
    if (word->load(std::memory_order_seq_cst) != e) {
      w->fetch_sub(1, std::memory_order_relaxed);
      return WaitStatus::ok;
    }
    return sleep(word, e, deadline, w);
  }
  /// Bumps the epoch and wakes its sleepers in every process (they re-check:
  /// a spurious wake-up for them), e.g. to make an external waiter re-check.
  void kick(bool space) noexcept {
    std::atomic<std::uint32_t>* word = space ? space_epoch() : items_epoch();
    word->fetch_add(1, std::memory_order_seq_cst);
    wake_all(word);
  }

  /// Approximate number of messages (exact when nobody is mid-operation).
  std::size_t size() const noexcept {
    std::uint64_t d = deq()->load(std::memory_order_acquire);
    std::uint64_t e = enq()->load(std::memory_order_acquire);
    return e > d ? static_cast<std::size_t>(e - d) : 0;
  }

  /// Stops the queue: puts fail, gets drain then fail. Wakes every waiter.
  /// immediate: also discard the published messages (queue.Queue's
  /// shutdown(immediate=True)); a get racing with it may still receive some,
  /// each message is received or discarded exactly once. Returns how many
  /// this call discarded.
  std::size_t shutdown(bool immediate = false) noexcept;
  bool is_shut_down() const noexcept { return state()->load(std::memory_order_acquire) != 0; }

  void* memory() const noexcept { return hdr_; }

 private:
  explicit ShmQueue(ShmQueueHeader* h) noexcept;
  // The slot of `pos` is in the way (empty for a get, full for a put): if the
  // process named by its owner word is dead, recover the slot (see "Process
  // death" above). True if the slot moved (recovered here or meanwhile):
  // retry. Out of line: only the empty/full paths call it.
  bool reclaim_dead(std::uint64_t pos) noexcept;
  // Takes slot s's owner word (0 -> this process's PID) before claiming
  // position pos. False if another process holds it: then this waits a
  // moment (or recovers the slot of a dead holder) and the caller re-reads
  // the position.
  bool reserve(char* s, std::uint64_t pos) noexcept {
    std::uint32_t held = 0;
    if (INTERLOCK_LIKELY(owner_of(s)->compare_exchange_strong(
            held, shm::self_pid(), std::memory_order_acquire, std::memory_order_relaxed)))
      return true;
    reserve_contended(pos, held);
    return false;
  }
  void reserve_contended(std::uint64_t pos, std::uint32_t holder) noexcept;
  // Gives back a reservation whose position claim was lost; wakes sleepers
  // that may have found the word taken.
  void unreserve(char* s) noexcept;
  // `deadline`, or earlier by kDeadCheckInterval while another process holds
  // a claim that blocks this waiter (get: an unpublished put; put: an
  // unfreed get), so that its death is noticed without a wake-up.
  Deadline wait_slice(bool space, Deadline deadline) const noexcept;
  // A brief adaptive spin (pause back-off, then a few sched_yield()s; none on
  // one CPU) until readable() (space false) / writable(): the peer is usually
  // another process on another CPU, which runs whether or not this thread
  // holds a GIL, and a hand-off caught by spinning costs neither side a
  // system call. True if the queue became ready.
  bool spin_until_ready(bool space) const noexcept;
  // Checks alignment/size, then writes the whole layout but the ready word.
  static void init_layout(void* memory, std::size_t size, std::size_t capacity,
                          std::size_t max_message);
  ShmQueueStatus put_slow(const void* data, std::size_t len, Deadline deadline) noexcept;
  // Sleeps on `word` while it reads `expected` (one kernel sleep or poll
  // slice, with the wait hooks). Decrements *waiters before returning and,
  // when the sleep was cut short, asks the hooks' on_interrupt.
  static WaitStatus sleep(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                          Deadline deadline, std::atomic<std::uint32_t>* waiters) noexcept;
  static void wake_all(std::atomic<std::uint32_t>* word) noexcept;

  void notify(std::atomic<std::uint32_t>* epoch, std::atomic<std::uint32_t>* waiters) noexcept {
    epoch->fetch_add(1, std::memory_order_seq_cst);
    if (waiters->load(std::memory_order_seq_cst) != 0) wake_all(epoch);
  }

  char* base() const noexcept { return reinterpret_cast<char*>(hdr_); }
  std::atomic<std::uint64_t>* enq() const noexcept {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(base() + 64);
  }
  std::atomic<std::uint64_t>* deq() const noexcept {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(base() + 128);
  }
  std::atomic<std::uint32_t>* items_epoch() const noexcept {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(base() + 192);
  }
  std::atomic<std::uint32_t>* get_waiters() const noexcept {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(base() + 196);
  }
  std::atomic<std::uint32_t>* space_epoch() const noexcept {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(base() + 256);
  }
  std::atomic<std::uint32_t>* put_waiters() const noexcept {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(base() + 260);
  }
  std::atomic<std::uint32_t>* state() const noexcept {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(base() + 320);
  }
  char* slot(std::uint64_t pos) const noexcept {
    return base() + kHeaderSize + static_cast<std::size_t>(pos & mask_) * slot_size_;
  }
  static std::atomic<std::uint64_t>* seq_of(char* s) noexcept {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(s);
  }
  static std::atomic<std::uint32_t>* owner_of(char* s) noexcept {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(s + 12);
  }

  ShmQueueHeader* hdr_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint32_t capacity_ = 0;
  std::uint32_t slot_size_ = 0;
  std::uint32_t max_message_ = 0;
};

}  // namespace interlock
