// interlock/gathering_map.hpp — values keyed by a 64-bit integer, inserted by
// any thread in any order, taken by readers in key order, blocking until the
// key they need arrives (ft_utils' ConcurrentGatheringIterator).
//
// Layout and who touches what
//  * map_ (std::unordered_map<int64_t, T>) is guarded by mu_ (interlock::Mutex).
//    Under mu_ only the map changes (and may allocate): nothing is called
//    back, except the `on_found` of wait_for(), which a Python layer uses for
//    an incref (no code runs). A value replaced by a second insert of the same
//    key is handed back to the caller, to release after the lock.
//  * inserts_ counts insertions (and fail()); an event count: a reader notes
//    it under mu_ when its key is missing, then parks only while it is
//    unchanged and failed_ is clear. waiters_ ("a reader may be parked") is
//    written only under the parking-lot bucket lock of its address; an
//    inserter bumps inserts_ (seq_cst) and then reads waiters_, a reader sets
//    waiters_ and then reads inserts_: no wake-up is lost. Every insertion
//    wakes every parked reader (each waits for its own key).
//  * failed_: set by fail() (an insertion failed); readers that would have to
//    wait report `failed` instead (values already present are still handed out).
// A reader (ft_utils' iterator: a Python generator) calls wait_for(0),
// wait_for(1), ... in turn.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"
#include "interlock/mutex.hpp"
#include "interlock/parking_lot.hpp"

namespace interlock {

enum class GatherStatus : unsigned char {
  ok,
  failed,       ///< the key is missing and an insertion failed (fail() was called)
  timed_out,    ///< the key is still missing at the deadline
  interrupted,  ///< a signal handler asked to abandon the wait
  no_memory,    ///< insert could not allocate (the map is marked failed)
};

template <class T>
class GatheringMap {
  static_assert(std::is_trivially_copyable_v<T>, "GatheringMap holds trivially copyable values");

 public:
  GatheringMap() = default;
  GatheringMap(const GatheringMap&) = delete;
  GatheringMap& operator=(const GatheringMap&) = delete;

  /// Inserts (or replaces) key -> v and wakes the readers. When a value was
  /// replaced, *replaced gets it and `had_old` is set: the caller releases it.
  /// no_memory: nothing was inserted and the map is marked failed.
  GatherStatus insert(std::int64_t key, T v, T* replaced, bool* had_old) noexcept {
    *had_old = false;
    mu_.lock();
    try {
      auto [it, inserted] = map_.try_emplace(key, v);
      if (!inserted) {
        *replaced = it->second;
        it->second = v;
        *had_old = true;
      }
    } catch (const std::bad_alloc&) {
      mu_.unlock();
      fail();
      return GatherStatus::no_memory;
    }
    inserts_.fetch_add(1, std::memory_order_seq_cst);
    mu_.unlock();
    wake();
    return GatherStatus::ok;
  }

  /// Marks the map failed and wakes every reader.
  void fail() noexcept {
    failed_.store(true, std::memory_order_seq_cst);
    inserts_.fetch_add(1, std::memory_order_seq_cst);
    wake();
  }
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

  /// Waits (until `deadline`) for `key`; when found, calls on_found(T&) under
  /// the lock (it must be short and call nothing that locks), then removes the
  /// entry if `erase` (the caller then owns the value *out).
  template <class OnFound>
  GatherStatus wait_for(std::int64_t key, bool erase, T* out, Deadline deadline,
                        OnFound&& on_found) noexcept {
    for (;;) {
      mu_.lock();
      auto it = map_.find(key);
      if (it != map_.end()) {
        *out = it->second;
        on_found(it->second);
        if (erase) map_.erase(it);
        mu_.unlock();
        return GatherStatus::ok;
      }
      const std::uint64_t seen = inserts_.load(std::memory_order_seq_cst);
      mu_.unlock();
      if (failed_.load(std::memory_order_seq_cst)) return GatherStatus::failed;
      if (deadline.expired()) return GatherStatus::timed_out;
      auto validate = [&]() -> bool {
        const std::uint8_t old = waiters_.exchange(1, std::memory_order_seq_cst);
        if (inserts_.load(std::memory_order_seq_cst) == seen &&
            !failed_.load(std::memory_order_seq_cst))
          return true;
        waiters_.store(old, std::memory_order_relaxed);
        return false;
      };
      auto timed_out = [&](bool has_more) {
        if (!has_more) waiters_.store(0, std::memory_order_relaxed);
      };
      parking_lot::ParkOptions options{validate};
      options.timed_out = timed_out;
      options.deadline = deadline;
      switch (parking_lot::park(&waiters_, options)) {
        case parking_lot::ParkResult::interrupted: return GatherStatus::interrupted;
        case parking_lot::ParkResult::timed_out: deadline = Deadline::immediate(); break;
        default: break;
      }
    }
  }

  std::size_t size() const noexcept {
    mu_.lock();
    const std::size_t n = map_.size();
    mu_.unlock();
    return n;
  }

  /// Removes every entry, handing each value to release(T) after the lock.
  template <class Release>
  std::size_t drain(Release&& release) noexcept {
    std::unordered_map<std::int64_t, T> old;
    mu_.lock();
    old.swap(map_);
    mu_.unlock();
    for (auto& kv : old) release(kv.second);
    return old.size();
  }

  /// Visits each value under the lock (for a garbage collector's traverse).
  template <class Visit>
  int for_each_locked(Visit&& visit) noexcept {
    mu_.lock();
    int r = 0;
    for (auto& kv : map_)
      if ((r = visit(kv.second)) != 0) break;
    mu_.unlock();
    return r;
  }

 private:
  void wake() noexcept {
    if (!waiters_.load(std::memory_order_seq_cst)) return;
    parking_lot::unpark_all(&waiters_, [&](void*, bool has_more) {
      if (!has_more) waiters_.store(0, std::memory_order_relaxed);
    });
  }

  mutable Mutex mu_;
  std::atomic<bool> failed_{false};
  std::atomic<std::uint8_t> waiters_{0};
  std::atomic<std::uint64_t> inserts_{0};
  std::unordered_map<std::int64_t, T> map_;
};

}  // namespace interlock
