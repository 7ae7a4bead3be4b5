// interlock/grace.hpp — grace periods for lock-free readers: what lets a
// writer know that no reader can still hold a pointer it has unlinked, so the
// pointee may be released (ShardedMap's lock-free find/contains use it).
//
// Every thread that reads owns a slot (one cache line of its own, in a global
// registry; registered on its first read, given back when the thread exits).
// A slot holds a counter, odd while its thread is inside a read section:
//   ReadSection()   ctr = c + 1; seq_cst fence      (one fence: ~2.5 ns)
//   ~ReadSection()  ctr = c + 2 (release store)
// Nothing shared is written by a reader: only its own slot's line.
// A writer that has unlinked something (made it unreachable for readers that
// start later) calls wait_for_readers(): a seq_cst fence, then for every slot
// found odd, a wait until that slot's counter moves. By the fences, either a
// reader's section started after the writer's fence (and cannot see what was
// unlinked before it) or the writer saw the reader's odd counter and waits for
// its release store (after which everything the reader read, and any
// reference it took, happens-before the writer's release).
//
// Sections must be short and must not block, take locks, call back into user
// code, nor nest (a writer waiting inside its own section would wait for
// itself). wait_for_readers() is bounded (a spin budget): a reader descheduled
// inside its section makes it return false, and the caller then defers the
// release (ShardedMap keeps such items in a list released at a later call).
#pragma once

#include <atomic>
#include <cstdint>

#include "interlock/config.hpp"

namespace interlock {

namespace detail {

struct alignas(64) GraceSlot {
  std::atomic<std::uint64_t> ctr{0};  // odd while the owning thread is in a section
  std::atomic<bool> in_use{false};    // owned by a live thread
  GraceSlot* next = nullptr;          // registry link, immutable once published
};

/// Registers the calling thread (the slow path of its first ReadSection);
/// null if memory ran out (the caller then reads under its locks).
INTERLOCK_API GraceSlot* grace_attach() noexcept;

/// The calling thread's slot, or null before its first read section. The
/// initial-exec TLS model makes the read one instruction also inside a shared
/// object (a Python extension); it takes 8 bytes of the static TLS surplus.
#if defined(__GNUC__) || defined(__clang__)
extern INTERLOCK_API constinit thread_local GraceSlot* tls_grace_slot
    __attribute__((tls_model("initial-exec")));
#else
extern INTERLOCK_API constinit thread_local GraceSlot* tls_grace_slot;
#endif

}  // namespace detail

/// A lock-free read section of the calling thread (RAII). If the thread could
/// not be registered (out of memory), active() is false and the caller must
/// not read optimistically.
class ReadSection {
 public:
  INTERLOCK_ALWAYS_INLINE ReadSection() noexcept {
    detail::GraceSlot* s = slot();
    slot_ = s;
    if (INTERLOCK_UNLIKELY(!s)) return;
    ctr_ = s->ctr.load(std::memory_order_relaxed) + 1;  // only this thread writes it
    s->ctr.store(ctr_, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  INTERLOCK_ALWAYS_INLINE ~ReadSection() {
    if (slot_) slot_->ctr.store(ctr_ + 1, std::memory_order_release);
  }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;

  bool active() const noexcept { return slot_ != nullptr; }

 private:
  static INTERLOCK_ALWAYS_INLINE detail::GraceSlot* slot() noexcept {
    detail::GraceSlot* s = detail::tls_grace_slot;
    if (INTERLOCK_LIKELY(s != nullptr)) return s;
    return detail::grace_attach();
  }
  detail::GraceSlot* slot_;
  std::uint64_t ctr_ = 0;
};

/// Waits until every read section that was in progress when this was called
/// has ended, spinning at most about `spins` CPU pauses in all. true: done
/// (whatever the caller unlinked before the call is unreachable for every
/// reader); false: some reader is still inside (descheduled, say).
/// Must not be called inside a ReadSection.
INTERLOCK_API bool wait_for_readers(unsigned spins) noexcept;

/// Number of registered slots (threads that have read; freed slots are
/// reused). For tests and diagnostics.
INTERLOCK_API std::size_t grace_slot_count() noexcept;

}  // namespace interlock
