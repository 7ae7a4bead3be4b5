#include "interlock/critical_section.hpp"

#include <functional>

#include "interlock/fatal.hpp"

namespace interlock {

namespace {
thread_local CriticalSection* tls_top = nullptr;
}

CriticalSection* CriticalSection::top() noexcept { return tls_top; }

void CriticalSection::begin(Mutex* a, Mutex* b) noexcept {
  if (b == a) b = nullptr;
  if (b && std::less<Mutex*>()(b, a)) std::swap(a, b);  // fixed order: lower address first
  CriticalSection* top = tls_top;
  // Re-entering the innermost section's single mutex: nothing to lock, and
  // the section is not pushed, so that the outer one stays the one resumed.
  if (!b && top && top->m1_ == a && !top->m2_) {
    pushed_ = false;
    return;
  }
  prev_ = top;
  tls_top = this;
  // Not held yet: if locking blocks, suspend_all() must skip this section.
  a->lock();
  if (b) b->lock();
  m1_ = a;
  m2_ = b;
  held_ = true;
}

void CriticalSection::lock_mutexes() noexcept {
  if (m1_) m1_->lock();
  if (m2_) m2_->lock();
  held_ = m1_ != nullptr;
}

void CriticalSection::unlock_mutexes() noexcept {
  if (m2_) m2_->unlock();
  if (m1_) m1_->unlock();
  held_ = false;
}

void CriticalSection::end() noexcept {
  if (ended_) fatal_error("CriticalSection::end", "critical section ended twice");
  if (!pushed_) {
    ended_ = true;
    return;
  }
  if (tls_top != this)
    fatal_error("CriticalSection::end", "ending a critical section that is not the innermost one");
  ended_ = true;
  if (held_) unlock_mutexes();
  tls_top = prev_;
  // The section below us may have been suspended while we blocked.
  if (prev_ && !prev_->held_ && prev_->m1_) prev_->lock_mutexes();
}

bool CriticalSection::suspend_all() noexcept {
  bool any = false;
  for (CriticalSection* c = tls_top; c; c = c->prev_) {
    if (c->held_) {
      c->unlock_mutexes();
      any = true;
    }
  }
  return any;
}

void CriticalSection::resume_top() noexcept {
  CriticalSection* c = tls_top;
  if (c && !c->held_ && c->m1_) c->lock_mutexes();
}

}  // namespace interlock
