#include "interlock/grace.hpp"

#include <new>

#include "interlock/platform/fork.hpp"

namespace interlock {

namespace detail {

constinit thread_local GraceSlot* tls_grace_slot = nullptr;

namespace {

std::atomic<GraceSlot*> g_head{nullptr};
std::atomic<std::size_t> g_count{0};

// In a forked child only the forking thread exists, and it was not inside a
// read section (fork is not called from one): every other slot is free, and
// one left odd would make every later wait_for_readers() fail.
void grace_after_fork_child() noexcept {
  GraceSlot* self = tls_grace_slot;
  for (GraceSlot* s = g_head.load(std::memory_order_relaxed); s; s = s->next) {
    if (s == self) continue;
    std::uint64_t c = s->ctr.load(std::memory_order_relaxed);
    if (c & 1) s->ctr.store(c + 1, std::memory_order_relaxed);
    s->in_use.store(false, std::memory_order_relaxed);
  }
}

// Gives the slot back when its thread exits (constructed on registration).
struct SlotOwner {
  GraceSlot* slot = nullptr;
  ~SlotOwner() {
    // Read our member before touching another thread_local: with emulated
    // TLS (MinGW) that access may reallocate this thread's TLS block, which
    // holds *this.
    GraceSlot* const s = slot;
    if (!s) return;
    tls_grace_slot = nullptr;
    s->in_use.store(false, std::memory_order_release);
  }
};
thread_local SlotOwner t_owner;

}  // namespace

GraceSlot* grace_attach() noexcept {
  static const bool atfork_registered = [] {
    platform::at_fork_child(grace_after_fork_child);
    return true;
  }();
  (void)atfork_registered;
  GraceSlot* slot = nullptr;
  for (GraceSlot* s = g_head.load(std::memory_order_acquire); s; s = s->next) {
    bool expected = false;
    if (!s->in_use.load(std::memory_order_relaxed) &&
        s->in_use.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      slot = s;
      break;
    }
  }
  if (!slot) {
    slot = new (std::nothrow) GraceSlot;  // never freed: the registry only grows
    if (!slot) return nullptr;
    slot->in_use.store(true, std::memory_order_relaxed);
    GraceSlot* head = g_head.load(std::memory_order_relaxed);
    do {
      slot->next = head;
    } while (!g_head.compare_exchange_weak(head, slot, std::memory_order_release,
                                           std::memory_order_relaxed));
    g_count.fetch_add(1, std::memory_order_relaxed);
  }
  t_owner.slot = slot;
  tls_grace_slot = slot;
  return slot;
}

}  // namespace detail

bool wait_for_readers(unsigned spins) noexcept {
  // Pairs with ReadSection's fence: see grace.hpp.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  detail::GraceSlot* self = detail::tls_grace_slot;  // never inside a section here
  for (detail::GraceSlot* s = detail::g_head.load(std::memory_order_acquire); s; s = s->next) {
    if (s == self) continue;
    std::uint64_t c = s->ctr.load(std::memory_order_acquire);
    if (!(c & 1)) continue;
    while (s->ctr.load(std::memory_order_acquire) == c) {
      if (spins == 0) return false;
      --spins;
      detail::cpu_relax();
    }
  }
  return true;
}

std::size_t grace_slot_count() noexcept {
  return detail::g_count.load(std::memory_order_relaxed);
}

}  // namespace interlock
