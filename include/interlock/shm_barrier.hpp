// interlock/shm_barrier.hpp — a cyclic barrier for `parties` threads of any
// processes, in caller-supplied (shared) memory (threading.Barrier's model).
//
// Layout (64 bytes, 4-byte aligned):
//   0  Header          magic, kind_version (Kind::barrier)
//   8  u32 parties     fixed at initialisation (>= 1)
//  12  u32 arrived     parties arrived in the current generation
//  16  u32 generation  the futex word: bits 0..30 generation number, bit 31
//                      BROKEN
//  20  reserved (zero)
//
// Invariants:
//  - A party reads the generation, then takes an arrival index with
//    fetch_add on `arrived`. The one taking index parties-1 resets `arrived`
//    to 0 and then publishes generation+1 (release) and wakes everyone; the
//    others sleep while the generation word is unchanged.
//  - A wait that times out or is interrupted breaks the barrier: BROKEN is
//    set on the current generation and everyone is woken; every waiter of that
//    generation, and every later wait(), reports `broken` until reset().
//  - reset() publishes a new generation without BROKEN and zero arrivals;
//    (as threading's) it is meant for when nobody waits: a party waiting
//    across a reset may see it as broken or as passed.
#pragma once

#include <atomic>
#include <cstdint>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/shm_layout.hpp"

namespace interlock::shm {

struct BarrierLayout {
  Header header;
  std::atomic<std::uint32_t> parties;
  std::atomic<std::uint32_t> arrived;
  std::atomic<std::uint32_t> generation;
  std::uint32_t reserved[11];
};
static_assert(sizeof(BarrierLayout) == kLayoutSize);

class ShmBarrier {
 public:
  static constexpr std::uint32_t kBroken = 1u << 31;
  static constexpr std::size_t size = kLayoutSize;
  static constexpr std::size_t alignment = kLayoutAlign;

  enum class Result : std::uint8_t { passed, broken, timed_out, interrupted };

  explicit ShmBarrier(void* mem, bool shared = true) noexcept
      : l_(static_cast<BarrierLayout*>(mem)), shared_(shared) {}

  /// The largest party count a barrier takes (the binding's ValueError range
  /// is 1 .. kMaxParties).
  static constexpr std::uint32_t kMaxParties = std::uint32_t{1} << 30;

  /// Initialises fresh memory for `parties` (>= 1), or checks an existing
  /// layout (whose party count wins).
  AttachResult attach(std::uint32_t parties, bool force_stalled = false) noexcept {
    return attach_or_init(
        &l_->header, Kind::barrier,
        [&](Header*) { l_->parties.store(parties, std::memory_order_relaxed); }, force_stalled);
  }

  /// What open() found, beyond attach()'s result.
  enum class Open : std::uint8_t {
    ok,                ///< see the AttachResult
    parties_required,  ///< fresh memory and no party count to initialise it with
    parties_mismatch,  ///< the memory holds a barrier for another count (parties())
  };
  /// The attach rule of an object opened with an optional party count
  /// (`parties` 0: "whatever the memory holds"): fresh memory needs a count
  /// (and is then initialised with it); a count given for an existing
  /// barrier must equal its own. *attached receives attach()'s result.
  Open open(std::uint32_t parties, AttachResult* attached) noexcept {
    if (parties == 0 && l_->header.magic.load(std::memory_order_acquire) == 0)
      return Open::parties_required;
    *attached = attach(parties);
    const bool ok = *attached == AttachResult::created || *attached == AttachResult::attached;
    if (ok && parties != 0 && this->parties() != parties) return Open::parties_mismatch;
    return Open::ok;
  }

  /// Arrives and waits for the others. On `passed`, *index is this party's
  /// arrival index (0 .. parties-1; parties-1 for the last to arrive).
  INTERLOCK_API Result wait_until(Deadline d, std::uint32_t* index) noexcept;

  /// Breaks the barrier (threading.Barrier.abort()).
  INTERLOCK_API void abort() noexcept;
  /// Back to the initial, unbroken state.
  INTERLOCK_API void reset() noexcept;

  std::uint32_t parties() const noexcept { return l_->parties.load(std::memory_order_relaxed); }
  std::uint32_t n_waiting() const noexcept {
    if (broken()) return 0;
    return l_->arrived.load(std::memory_order_relaxed);
  }
  bool broken() const noexcept {
    return (l_->generation.load(std::memory_order_acquire) & kBroken) != 0;
  }
  bool shared() const noexcept { return shared_; }

 private:
  BarrierLayout* l_;
  bool shared_;
};

}  // namespace interlock::shm
