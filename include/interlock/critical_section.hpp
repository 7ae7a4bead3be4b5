// interlock/critical_section.hpp — PEP 703 critical sections (CPython's
// critical_section.c) over interlock::Mutex.
//
// A critical section holds one mutex, or two taken in a fixed (address) order.
// Each thread keeps a stack of its active sections. Whenever the thread is
// about to block in the parking lot, every section on its stack is suspended
// (its mutexes unlocked), and after the wait the innermost one is resumed (its
// mutexes locked again); outer sections are resumed when the sections above
// them end. Nested sections therefore cannot deadlock with one another, at the
// price that an outer section's lock may be released while an inner one
// blocks: a section guarantees exclusion only while its code does not block.
// Beginning a section on the mutex of the innermost (one-mutex) section does
// not lock it again and does not push anything. Ending a section that is not the innermost is a fatal error.
//
// Invariants (all fields are touched only by the owning thread):
//   * `prev_` links to the next-outer section; the thread-local top points at
//     the innermost;
//   * `held_` is true while this section's mutexes are locked by this thread;
//     `m1_`/`m2_` are null for a section that did not lock anything.
#pragma once

#include "interlock/mutex.hpp"

namespace interlock {

class INTERLOCK_API CriticalSection {
 public:
  /// Begins a section guarding `m`.
  explicit CriticalSection(Mutex& m) noexcept { begin(&m, nullptr); }
  /// Begins a section guarding both mutexes (taken in address order; the same
  /// mutex twice is one).
  CriticalSection(Mutex& a, Mutex& b) noexcept { begin(&a, &b); }
  ~CriticalSection() {
    if (!ended_) end();
  }
  CriticalSection(const CriticalSection&) = delete;
  CriticalSection& operator=(const CriticalSection&) = delete;

  /// Ends the section early; fatal error unless it is the innermost.
  void end() noexcept;

  /// The calling thread's innermost section (null if none).
  static CriticalSection* top() noexcept;

  /// Parking-lot hooks (called around every blocking sleep of this thread).
  /// suspend_all() returns whether anything was suspended.
  static bool suspend_all() noexcept;
  static void resume_top() noexcept;

 private:
  void begin(Mutex* a, Mutex* b) noexcept;
  void lock_mutexes() noexcept;
  void unlock_mutexes() noexcept;

  Mutex* m1_ = nullptr;
  Mutex* m2_ = nullptr;
  CriticalSection* prev_ = nullptr;
  bool held_ = false;
  bool ended_ = false;
  bool pushed_ = true;  // false for a re-entry on the innermost section's mutex
};

}  // namespace interlock
