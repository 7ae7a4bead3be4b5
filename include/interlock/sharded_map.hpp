// interlock/sharded_map.hpp — a hash map split into independently locked
// shards, over a policy that says what keys and values are (ConcurrentDict and
// ConcurrentSet in the bindings; plain C++ types in the tests).
//
// Layout. `ShardedMap` has a fixed number of shards (chosen at construction),
// each on two cache lines of its own (one for lock-free readers, one for the
// lock). A key's shard is picked from its (already
// computed) hash by a multiplicative mix, so the shard choice and the probe
// position inside the shard use different bits. Each shard is a compact table
// in the layout of CPython's dict: an index array of int32 slots (capacity a
// power of two, probed with CPython's perturbation sequence) pointing into a
// dense entry array {hash, key, value} filled in insertion order. Deleting an
// entry clears its key (a hole) and marks its slot DUMMY; a resize rebuilds the
// shard with an index of the next power of two >= 3 * live entries and squeezes the holes out.
//
// Invariants (per shard, all guarded by the shard's RawMutex `mu`):
//   * indices[i] is EMPTY (-1), DUMMY (-2) or an index < nentries into entries;
//   * entries[j].key is a live key, or Policy's null key (K{}) for a hole;
//   * size == number of live entries <= nentries <= usable == capacity*2/3;
//   * left + (index slots not EMPTY) == usable, so an EMPTY slot always
//     remains and every probe ends (a deletion turns a slot DUMMY and does
//     not give it back; trailing holes of the entry array are trimmed);
//   * `size` may be read without the lock.
// The map never calls into the policy's "outside" hooks (slow_equal, release_*)
// while any shard lock is held or inside a read section; under a lock it calls
// only `match` and `retain_*`, which must not block or call back into the map.
//
// Lock-free reads (find, contains). A shard's table is one allocation {mask,
// index array, entry array} reached through the atomic pointer `table`; every
// store into a published table is an atomic (relaxed) store made under `mu`
// between two bumps of the shard's sequence counter `seq` (odd while a
// mutation is in progress: seqlock). A reader, inside a ReadSection
// (grace.hpp), reads `seq`, the table pointer and the probe's slots and
// entries with atomic loads, then re-reads `seq`: unchanged and even means
// what it read was the shard's state at one moment, so the result is
// linearisable; it then retains the value it found. Keys are compared there
// only by identity or Policy::match (immutable contents); `unknown`, an odd or
// moving `seq` (twice), or a probe longer than the table send the read to the
// locked path. What a reader may still be looking at is never released while
// it can: every key, value or table array that leaves a table (replaced,
// erased, popped, cleared, or an array replaced by a resize) is *retired*:
// after the shard lock is dropped the writer calls wait_for_readers() (a
// fence, and a bounded wait for the read sections in progress, which are a
// few dozen instructions); if they all ended, the items are released at once,
// before the writing call returns, exactly as before. If some reader did not
// leave in time (descheduled inside its section) the items go on the map's
// limbo list (a key or value handed to the caller, as by erase or pop_any,
// gets an extra reference there) and are released by a later operation on
// the map — any write, or a read that sees the list non-empty — once the
// readers are gone, or when the map is cleared or destroyed. Each thread's
// read section writes only its own slot's cache line.
//
// Key resolution (why there are two equality tests). `Policy::match(stored,
// probe)` runs under the lock (or in a read section: it may only read what
// cannot change) and may answer `unknown` (for Python objects:
// anything but identity and exact str/int/bytes). The scan walks the probe
// sequence in order, as dict does, and stops at the first such candidate:
// the map retains it, notes the shard's `layout` stamp (bumped by every
// insert, remove and clear under the lock), unlocks, calls
// `Policy::slow_equal` (arbitrary user code: it may throw by returning -1,
// re-enter the map, or take long), and relocks:
//   * stamp unchanged (no key or slot moved): equal -> the candidate is the
//     entry; unequal -> the scan resumes at the next slot of the sequence;
//   * stamp changed: the scan restarts from the start of the sequence, with
//     the stored keys already proved unequal in a hash set (kept retained so
//     their addresses cannot be reused; skipped in O(1)) and a key proved
//     equal taken as an identity alias of the probe.
// So each stored key is compared at most once per operation: n colliding
// keys cost n comparisons and O(n) probe steps (dict's bound), whatever
// other threads do meanwhile (a change costs a rescan, not new comparisons).
// An operation commits only under the lock, in a scan that met no unresolved
// candidate, so it is atomic (linearisable) per key. Keys retained on the way
// are released after the lock is dropped.
//
// Policy requirements (K and V trivially copyable, lock-free atomic handles,
// K{} = no key):
//   using key_type; using mapped_type;           // V may be an empty struct
//   static KeyMatch match(K stored, K probe) noexcept;  // under the lock / in a read section
//   static void retain_key(K) noexcept; static void retain_value(V) noexcept;
//   static void release_key(K) noexcept; static void release_value(V) noexcept;
//   static int slow_equal(K stored, K probe);  // 1 equal, 0 unequal, -1 error
// The table owns one reference (retain) to each stored key and value: the map
// retains what it stores and releases (outside the lock) what it drops; what
// an operation hands back to the caller is a reference the caller now owns.
// A stored key or value must stay readable (by match) while the table's
// reference to it is held: releasing that reference is what the grace period
// delays.
//
// Iteration is by shard snapshots (`snapshot`): a caller copies one shard's
// live entries (retained) under its lock and walks them unlocked
// (`for_each_snapshot`, or `SnapshotIterator`, which threads may share).
// `update` is the read-compute-store loop over compare_and_set: the
// computation runs unlocked and is retried when the value moved meanwhile.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "interlock/config.hpp"
#include "interlock/grace.hpp"
#include "interlock/raw_mutex.hpp"

namespace interlock {

enum class KeyMatch : std::uint8_t { equal, unequal, unknown };

/// Results of the keyed operations.
enum class MapStatus : std::uint8_t {
  found,      // the key was present (and the operation applied to it)
  absent,     // the key was not present (nothing changed, unless documented)
  inserted,   // a new entry was added
  mismatch,   // compare-and-set: the current value was not the expected one
  error,      // Policy::slow_equal failed (the policy has recorded why)
  no_memory,  // a table could not grow
};

/// What SnapshotIterator::next did.
enum class SnapshotStep : std::uint8_t { item, end, no_memory };

/// A value type for sets: no storage in an entry.
struct NoValue {};

template <class Policy>
class ShardedMap {
 public:
  using K = typename Policy::key_type;
  using V = typename Policy::mapped_type;
  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);
  static_assert(std::atomic_ref<K>::is_always_lock_free);
  static_assert(std::is_empty_v<V> || std::atomic_ref<V>::is_always_lock_free);

  struct Entry {
    std::size_t hash;
    K key;
    [[no_unique_address]] V value;
  };

  static constexpr std::size_t kDefaultShards = 17;  // ft_utils' default `scaling`
  static constexpr std::size_t kMaxShards = 4096;

  explicit ShardedMap(std::size_t shards = kDefaultShards)
      : nshards_(shards < 1 ? 1 : (shards > kMaxShards ? kMaxShards : shards)),
        shards_(new Shard[nshards_]) {}
  ShardedMap(const ShardedMap&) = delete;
  ShardedMap& operator=(const ShardedMap&) = delete;
  ~ShardedMap() {
    // Nobody can be reading this map any more: release without waiting.
    for (std::size_t i = 0; i < nshards_; ++i) {
      Table t = shards_[i].steal();
      t.release_all();
    }
    release_items(limbo_.data(), limbo_.size());
  }

  std::size_t shard_count() const noexcept { return nshards_; }

  /// Number of live entries (a sum of per-shard counters; exact when quiescent).
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < nshards_; ++i) n += shards_[i].size.load(std::memory_order_relaxed);
    return n;
  }

  // ------------------------------------------------------------ keyed ops
  /// found: *out is the value, retained for the caller; absent; error.
  /// Lock-free unless the key needs Policy::slow_equal or writers keep the
  /// shard busy.
  MapStatus find(K key, std::size_t hash, V* out) {
    int r = read_fast<true>(shards_[shard_of(hash)], key, hash, out);
    if (INTERLOCK_LIKELY(r >= 0)) {
      after_read();
      return r ? MapStatus::found : MapStatus::absent;
    }
    return find_locked(key, hash, out);
  }

  MapStatus contains(K key, std::size_t hash) {
    int r = read_fast<false>(shards_[shard_of(hash)], key, hash, nullptr);
    if (INTERLOCK_LIKELY(r >= 0)) {
      after_read();
      return r ? MapStatus::found : MapStatus::absent;
    }
    return contains_locked(key, hash);
  }

  /// Set key -> value. found: replaced (the old value is released; the stored
  /// key object is kept, as dict does); inserted; error; no_memory.
  MapStatus assign(K key, std::size_t hash, V value) {
    Retiring rt;
    MapStatus st = with_key(key, hash, [&](Shard& s, Entry* e) {
      if (e) {
        if (same_value(e->value, value)) return MapStatus::found;  // nothing changes
        Policy::retain_value(value);
        rt.drop_value(e->value);
        s.set_value(e, value);
        return MapStatus::found;
      }
      if (!s.insert(hash, key, value, rt)) return MapStatus::no_memory;
      Policy::retain_key(key);
      Policy::retain_value(value);
      return MapStatus::inserted;
    });
    finish(rt);
    return st;
  }

  /// Insert key -> value unless present. inserted; found: *existing is the
  /// current value, retained for the caller; error; no_memory.
  MapStatus insert_absent(K key, std::size_t hash, V value, V* existing) {
    Retiring rt;
    MapStatus st = with_key(key, hash, [&](Shard& s, Entry* e) {
      if (e) {
        Policy::retain_value(e->value);
        if (existing) *existing = e->value;
        return MapStatus::found;
      }
      if (!s.insert(hash, key, value, rt)) return MapStatus::no_memory;
      Policy::retain_key(key);
      Policy::retain_value(value);
      return MapStatus::inserted;
    });
    finish(rt);
    return st;
  }

  /// Remove key. found: *old_key / *old_value are the removed entry's (the
  /// caller owns those references; pass null to have them released); absent; error.
  MapStatus erase(K key, std::size_t hash, K* old_key = nullptr, V* old_value = nullptr) {
    Retiring rt;
    MapStatus st = with_key(key, hash, [&](Shard& s, Entry* e) {
      if (!e) return MapStatus::absent;
      if (old_key) {
        *old_key = e->key;
        rt.hand_key(e->key);
      } else {
        rt.drop_key(e->key);
      }
      if (old_value) {
        *old_value = e->value;
        rt.hand_value(e->value);
      } else {
        rt.drop_value(e->value);
      }
      s.remove(e);
      return MapStatus::found;
    });
    finish(rt);
    return st;
  }

  /// Compare-and-set by identity of the value handle: if key maps to
  /// `expected` (or is absent and `expect_absent`), store `desired`.
  ///   found: replaced; inserted: was absent as expected, now inserted;
  ///   mismatch: *current is the present value, retained for the caller;
  ///   absent: the key is absent but a value was expected; error; no_memory.
  MapStatus compare_and_set(K key, std::size_t hash, bool expect_absent, V expected, V desired,
                            V* current) {
    Retiring rt;
    MapStatus st = with_key(key, hash, [&](Shard& s, Entry* e) {
      if (!e) {
        if (!expect_absent) return MapStatus::absent;
        if (!s.insert(hash, key, desired, rt)) return MapStatus::no_memory;
        Policy::retain_key(key);
        Policy::retain_value(desired);
        return MapStatus::inserted;
      }
      if (expect_absent || !same_value(e->value, expected)) {
        Policy::retain_value(e->value);
        if (current) *current = e->value;
        return MapStatus::mismatch;
      }
      if (same_value(e->value, desired)) return MapStatus::found;  // nothing changes
      Policy::retain_value(desired);
      rt.drop_value(e->value);
      s.set_value(e, desired);
      return MapStatus::found;
    });
    finish(rt);
    return st;
  }

  /// Replace key's value by fn(current), atomically (a compare-and-set retry
  /// loop on the value handle). fn(V arg, V* out) -> bool runs with no lock
  /// held (arbitrary code: it may re-enter the map) and may run again, on the
  /// newer value, when another thread changed key's value meanwhile; it
  /// stores a value the caller owns (a reference) in *out, or returns false
  /// (error: the policy has recorded why). When key is absent, fn gets
  /// *dflt if dflt is non-null, else the result is `absent`.
  ///   found / inserted: *result is the stored value, owned by the caller;
  ///   absent; error (slow_equal or fn failed); no_memory.
  template <class Fn>
  MapStatus update(K key, std::size_t hash, const V* dflt, Fn&& fn, V* result) {
    V cur{};  // retained while has_cur
    MapStatus st = find(key, hash, &cur);
    if (st != MapStatus::found && st != MapStatus::absent) return st;
    bool has_cur = st == MapStatus::found;
    for (;;) {
      if (!has_cur && !dflt) return MapStatus::absent;
      V desired{};
      bool ok = fn(has_cur ? cur : *dflt, &desired);
      V seen{};
      if (ok) st = compare_and_set(key, hash, !has_cur, cur, desired, &seen);
      if (has_cur) Policy::release_value(cur);
      if (!ok) return MapStatus::error;
      if (st == MapStatus::found || st == MapStatus::inserted) {
        *result = desired;
        return st;
      }
      Policy::release_value(desired);
      if (st != MapStatus::mismatch && st != MapStatus::absent) return st;
      has_cur = st == MapStatus::mismatch;
      cur = seen;
    }
  }

  /// Visit a snapshot of every entry, shard by shard: fn(K, V) -> bool (false
  /// stops) runs with no lock held, on references the map releases after.
  /// false if fn stopped or memory ran out (*no_memory tells which).
  template <class Fn>
  bool for_each_snapshot(Fn&& fn, bool* no_memory) {
    constexpr bool kValues = !std::is_empty_v<V>;
    std::vector<K> ks;
    std::vector<V> vs;
    *no_memory = false;
    bool go = true;
    for (std::size_t s = 0; go && s < nshards_; ++s) {
      ks.clear();
      vs.clear();
      if (!snapshot(s, &ks, kValues ? &vs : nullptr)) {
        *no_memory = true;
        return false;
      }
      for (std::size_t i = 0; i < ks.size(); ++i) {
        V v = kValues ? vs[i] : V{};
        if (go) go = fn(ks[i], v);
        Policy::release_key(ks[i]);
        if constexpr (kValues) Policy::release_value(vs[i]);
      }
    }
    return go;
  }

  /// Assign a snapshot of `src`'s entries (shard by shard, as
  /// for_each_snapshot) into this map with their stored hashes: no key is
  /// hashed again (a copy). inserted, or the first failure (no_memory, error).
  MapStatus assign_all(ShardedMap& src) {
    constexpr bool kValues = !std::is_empty_v<V>;
    std::vector<K> ks;
    std::vector<V> vs;
    std::vector<std::size_t> hs;
    MapStatus st = MapStatus::inserted;
    for (std::size_t s = 0; st == MapStatus::inserted && s < src.nshards_; ++s) {
      ks.clear();
      vs.clear();
      hs.clear();
      if (!src.snapshot(s, &ks, kValues ? &vs : nullptr, &hs)) return MapStatus::no_memory;
      for (std::size_t i = 0; i < ks.size(); ++i) {
        V v = kValues ? vs[i] : V{};
        if (st == MapStatus::inserted && (st = assign(ks[i], hs[i], v)) == MapStatus::found)
          st = MapStatus::inserted;
        Policy::release_key(ks[i]);
        if constexpr (kValues) Policy::release_value(vs[i]);
      }
    }
    return st;
  }

  /// An iterator over shard snapshots, which any thread may advance: on
  /// reaching a shard it copies that shard's live entries (retained) under
  /// the shard's lock, then hands them out one by one. An entry is seen at
  /// most once; one present throughout the iteration is seen exactly once.
  /// Its own lock is held only to copy or hand over handles (never across a
  /// Policy release); what it still holds is released by close().
  class SnapshotIterator {
   public:
    using Step = SnapshotStep;
    /// want_keys / want_values: which halves are copied (and handed out).
    SnapshotIterator(bool want_keys, bool want_values) noexcept
        : want_keys_(want_keys), want_values_(want_values && !std::is_empty_v<V>) {}
    SnapshotIterator(const SnapshotIterator&) = delete;
    SnapshotIterator& operator=(const SnapshotIterator&) = delete;
    ~SnapshotIterator() { close(); }

    /// item: *key / *value (the wanted halves) are references the caller now owns.
    Step next(ShardedMap& m, K* key, V* value) {
      Step r = Step::end;
      mu_.lock();
      while (pos_ == count() && next_shard_ < m.shard_count()) {
        keys_.clear();
        values_.clear();
        pos_ = 0;
        if (!m.snapshot(next_shard_, want_keys_ ? &keys_ : nullptr,
                        want_values_ ? &values_ : nullptr)) {
          mu_.unlock();
          return Step::no_memory;
        }
        ++next_shard_;
      }
      if (pos_ < count()) {
        if (want_keys_) *key = keys_[pos_];
        if (want_values_) *value = values_[pos_];
        ++pos_;
        r = Step::item;
      }
      mu_.unlock();
      return r;
    }

    /// Release what was copied and not handed out (unlocked); the iterator
    /// is exhausted from then on.
    void close() noexcept {
      std::vector<K> ks;
      std::vector<V> vs;
      mu_.lock();
      ks.swap(keys_);
      vs.swap(values_);
      std::size_t pos = pos_;
      pos_ = 0;
      next_shard_ = static_cast<std::size_t>(-1);
      mu_.unlock();
      for (std::size_t i = pos; i < ks.size(); ++i) Policy::release_key(ks[i]);
      for (std::size_t i = pos; i < vs.size(); ++i) Policy::release_value(vs[i]);
    }

    /// Visit what it holds, unlocked (stop-the-world contexts only, as
    /// for_each_unlocked): fn(K) / fn(V) -> int, non-zero stops.
    template <class FK, class FV>
    int for_each_held(FK&& on_key, FV&& on_value) const {
      for (std::size_t i = pos_; i < keys_.size(); ++i)
        if (int r = on_key(keys_[i])) return r;
      for (std::size_t i = pos_; i < values_.size(); ++i)
        if (int r = on_value(values_[i])) return r;
      return 0;
    }

   private:
    std::size_t count() const noexcept { return want_keys_ ? keys_.size() : values_.size(); }
    RawMutex mu_;  // guards everything below
    bool want_keys_, want_values_;
    std::size_t next_shard_ = 0;
    std::size_t pos_ = 0;
    std::vector<K> keys_;
    std::vector<V> values_;
  };

  /// Remove and hand over one entry (the last-inserted live entry of the first
  /// non-empty shard at or after a rotating start). false when empty.
  bool pop_any(K* key, V* value) {
    std::size_t start = pop_cursor_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t n = 0; n < nshards_; ++n) {
      Shard& s = shards_[(start + n) % nshards_];
      if (s.size.load(std::memory_order_relaxed) == 0) continue;
      s.mu.lock();
      Entry* e = s.last_live();
      if (e) {
        Retiring rt;
        *key = e->key;
        *value = e->value;
        rt.hand_key(e->key);
        rt.hand_value(e->value);
        s.remove(e);
        s.mu.unlock();
        finish(rt);
        return true;
      }
      s.mu.unlock();
    }
    return false;
  }

  /// Remove everything; the entries are released after each shard is
  /// unlocked (once no reader can still see them: see the limbo list).
  void clear() noexcept {
    for (std::size_t i = 0; i < nshards_; ++i) {
      Shard& s = shards_[i];
      s.mu.lock();
      Table t = s.steal();
      s.mu.unlock();
      Retiring rt;
      if (t.block) rt.drop_table(t.block, t.nentries, true);
      finish(rt);
    }
    if (limbo_count_.load(std::memory_order_relaxed)) finish_empty(kWriteSpins);
  }

  /// Items waiting in the limbo list (retired while some reader was inside a
  /// read section; released by a later operation). For tests and diagnostics.
  std::size_t deferred_count() const noexcept {
    return limbo_count_.load(std::memory_order_relaxed);
  }

  /// Release what the limbo list holds if no reader is inside a read section
  /// (waiting up to `spins` CPU pauses); true if the list is now empty.
  bool reclaim(unsigned spins = kWriteSpins) noexcept {
    if (limbo_count_.load(std::memory_order_relaxed)) finish_empty(spins);
    return limbo_count_.load(std::memory_order_relaxed) == 0;
  }

  /// Append shard `i`'s live entries, retained, in insertion order. Either
  /// output may be null (then that half is not copied or retained); `hashes`
  /// (optional) gets the entries' hashes. Returns false if memory ran out
  /// (nothing appended then).
  bool snapshot(std::size_t i, std::vector<K>* keys, std::vector<V>* values,
                std::vector<std::size_t>* hashes = nullptr) {
    Shard& s = shards_[i];
    s.mu.lock();
    std::size_t n = s.used();
    try {
      if (keys) keys->reserve(keys->size() + n);
      if (values) values->reserve(values->size() + n);
      if (hashes) hashes->reserve(hashes->size() + n);
    } catch (const std::bad_alloc&) {
      s.mu.unlock();
      return false;
    }
    for (std::uint32_t j = 0; j < s.nentries; ++j) {
      Entry& e = s.entries[j];
      if (e.key == K{}) continue;
      if (hashes) hashes->push_back(e.hash);
      if (keys) {
        Policy::retain_key(e.key);
        keys->push_back(e.key);
      }
      if (values) {
        Policy::retain_value(e.value);
        values->push_back(e.value);
      }
    }
    s.mu.unlock();
    return true;
  }

  /// Visit every entry without locking: only for stop-the-world contexts (a
  /// garbage collector's traversal) where no thread can be inside the map.
  /// Also visits what the limbo list still holds (the map owns it).
  template <class Fn>
  int for_each_unlocked(Fn&& fn) const {
    for (std::size_t i = 0; i < nshards_; ++i) {
      const Shard& s = shards_[i];
      for (std::uint32_t j = 0; j < s.nentries; ++j)
        if (s.entries[j].key != K{})
          if (int r = fn(s.entries[j].key, s.entries[j].value)) return r;
    }
    for (const Retired& it : limbo_) {
      switch (it.kind) {
        case Retired::kKey:
          if (int r = fn(it.key, V{})) return r;
          break;
        case Retired::kValue:
          if (int r = fn(K{}, it.value)) return r;
          break;
        case Retired::kTableEntries: {
          const Entry* ents = Table::entries_of(it.block);
          for (std::uint32_t j = 0; j < it.n; ++j)
            if (ents[j].key != K{})
              if (int r = fn(ents[j].key, ents[j].value)) return r;
          break;
        }
        default:
          break;
      }
    }
    return 0;
  }

  /// Bytes allocated by the map (the object, shard headers and tables).
  std::size_t memory_bytes() const noexcept {
    std::size_t b = sizeof(*this) + nshards_ * sizeof(Shard);
    for (std::size_t i = 0; i < nshards_; ++i) {
      Shard& s = shards_[i];
      s.mu.lock();
      b += Table::bytes_for(s.mask ? s.mask + 1 : 0);
      s.mu.unlock();
    }
    return b;
  }

  /// The shard a hash lives in (exposed for tests and diagnostics).
  std::size_t shard_of(std::size_t hash) const noexcept {
    std::uint64_t m = static_cast<std::uint64_t>(hash) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(((m >> 32) * static_cast<std::uint64_t>(nshards_)) >> 32);
  }

 private:
  static constexpr std::int32_t kEmpty = -1;
  static constexpr std::int32_t kDummy = -2;
  static constexpr std::uint32_t kMinCapacity = 8;
  // Spin budgets of wait_for_readers(): a write that retired something waits
  // longer than a read that merely found the limbo list non-empty.
  static constexpr unsigned kWriteSpins = 2048;
  static constexpr unsigned kReadSpins = 64;

  static bool same_value(const V& a, const V& b) noexcept {
    if constexpr (std::is_empty_v<V>) {
      (void)a, (void)b;
      return true;
    } else {
      return a == b;
    }
  }

  // Atomic access to table memory that lock-free readers may be reading:
  // every store into a published table goes through st(); readers use ld().
  template <class T>
  static INTERLOCK_ALWAYS_INLINE T ld(const T& x) noexcept {
    return std::atomic_ref<T>(const_cast<T&>(x)).load(std::memory_order_relaxed);
  }
  template <class T>
  static INTERLOCK_ALWAYS_INLINE void st(T& x, T v) noexcept {
    std::atomic_ref<T>(x).store(v, std::memory_order_relaxed);
  }
  // A key is dereferenced (Policy::match) before the read is validated, so
  // its pointer is published with release and read with acquire: the key
  // object's contents are visible to whoever sees the pointer.
  static INTERLOCK_ALWAYS_INLINE K ld_key(const K& x) noexcept {
    return std::atomic_ref<K>(const_cast<K&>(x)).load(std::memory_order_acquire);
  }
  static INTERLOCK_ALWAYS_INLINE void st_key(K& x, K v) noexcept {
    std::atomic_ref<K>(x).store(v, std::memory_order_release);
  }

  // One allocation: the header, the index array, then the entry array.
  struct TableHeader {
    std::uint32_t mask;  // capacity - 1
    std::uint32_t usable;
  };

  // A detached table (for clear and resize).
  struct Table {
    TableHeader* block = nullptr;
    Entry* entries = nullptr;
    std::uint32_t nentries = 0;

    static std::size_t bytes_for(std::size_t cap) noexcept {
      if (!cap) return 0;
      return entries_offset(cap) + usable_for(cap) * sizeof(Entry);
    }
    static std::size_t usable_for(std::size_t cap) noexcept { return cap * 2 / 3; }
    static std::size_t entries_offset(std::size_t cap) noexcept {
      std::size_t off = sizeof(TableHeader) + cap * sizeof(std::int32_t);
      return (off + alignof(Entry) - 1) / alignof(Entry) * alignof(Entry);
    }
    static std::int32_t* indices_of(TableHeader* h) noexcept {
      return reinterpret_cast<std::int32_t*>(h + 1);
    }
    static const std::int32_t* indices_of(const TableHeader* h) noexcept {
      return reinterpret_cast<const std::int32_t*>(h + 1);
    }
    static Entry* entries_of(TableHeader* h) noexcept {
      return reinterpret_cast<Entry*>(reinterpret_cast<char*>(h) + entries_offset(h->mask + 1u));
    }
    static const Entry* entries_of(const TableHeader* h) noexcept {
      return reinterpret_cast<const Entry*>(reinterpret_cast<const char*>(h) +
                                            entries_offset(h->mask + 1u));
    }
    static void release_entries(TableHeader* h, std::uint32_t n) noexcept {
      Entry* ents = entries_of(h);
      for (std::uint32_t j = 0; j < n; ++j) {
        if (ents[j].key == K{}) continue;
        Policy::release_key(ents[j].key);
        Policy::release_value(ents[j].value);
      }
    }
    void release_all() noexcept {
      if (!block) return;
      release_entries(block, nentries);
      std::free(block);
      block = nullptr;
    }
  };

  // Something unlinked from a table, released once no reader can see it.
  struct Retired {
    enum Kind : std::uint8_t { kKey, kValue, kTable, kTableEntries, kHandedKey, kHandedValue };
    Kind kind;
    std::uint32_t n;  // table_entries: the entry count
    K key;
    [[no_unique_address]] V value;
    TableHeader* block;
  };

  static void release_items(Retired* items, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      Retired& it = items[i];
      switch (it.kind) {
        case Retired::kKey:
          Policy::release_key(it.key);
          break;
        case Retired::kValue:
          Policy::release_value(it.value);
          break;
        case Retired::kTable:
          std::free(it.block);
          break;
        case Retired::kTableEntries:
          Table::release_entries(it.block, it.n);
          std::free(it.block);
          break;
        default:  // handed over to the caller: nothing to release
          break;
      }
    }
  }

  // What one operation unlinks (at most: a key, a value and a table array).
  struct Retiring {
    Retired items[4];
    int n = 0;
    void drop_key(K k) noexcept { items[n++] = Retired{Retired::kKey, 0, k, V{}, nullptr}; }
    void drop_value(V v) noexcept {
      if constexpr (!std::is_empty_v<V>) items[n++] = Retired{Retired::kValue, 0, K{}, v, nullptr};
    }
    void hand_key(K k) noexcept { items[n++] = Retired{Retired::kHandedKey, 0, k, V{}, nullptr}; }
    void hand_value(V v) noexcept {
      if constexpr (!std::is_empty_v<V>)
        items[n++] = Retired{Retired::kHandedValue, 0, K{}, v, nullptr};
    }
    void drop_table(TableHeader* b, std::uint32_t nentries, bool with_entries) noexcept {
      items[n++] = Retired{with_entries ? Retired::kTableEntries : Retired::kTable, nentries, K{},
                           V{}, b};
    }
  };

  // Two cache lines: what lock-free readers read (`seq`, `table`: written
  // only by a write that changes the shard) apart from the lock and the lock
  // holder's bookkeeping, so that taking the lock, or a write that changes
  // nothing, does not take the readers' line away from their cores.
  struct alignas(64) Shard {
    std::atomic<std::uint32_t> seq{0};         // odd while a mutation is in progress
    std::atomic<TableHeader*> table{nullptr};  // what lock-free readers probe
    alignas(64) RawMutex mu;
    std::atomic<std::size_t> size{0};  // live entries (written under mu)
    std::uint32_t mask = 0;            // capacity - 1; 0 while no table is allocated
    std::uint32_t usable = 0;
    std::uint32_t nentries = 0;
    std::uint32_t left = 0;  // EMPTY index slots an insert may still consume
    std::uint64_t layout = 0;  // bumped when keys or slots move (insert, remove, steal)
    std::int32_t* indices = nullptr;  // cached from `table`, for lock holders
    Entry* entries = nullptr;

    ~Shard() { std::free(table.load(std::memory_order_relaxed)); }

    std::size_t used() const noexcept { return size.load(std::memory_order_relaxed); }

    INTERLOCK_ALWAYS_INLINE void begin_write() noexcept {
      seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_release);  // odd before the data stores
    }
    INTERLOCK_ALWAYS_INLINE void end_write() noexcept {
      seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    Table steal() noexcept {
      begin_write();
      Table t{table.load(std::memory_order_relaxed), entries, nentries};
      table.store(nullptr, std::memory_order_relaxed);
      indices = nullptr;
      entries = nullptr;
      mask = usable = nentries = left = 0;
      ++layout;
      size.store(0, std::memory_order_relaxed);
      end_write();
      return t;
    }

    Entry* last_live() noexcept {
      for (std::uint32_t j = nentries; j-- > 0;)
        if (entries[j].key != K{}) return &entries[j];
      return nullptr;
    }

    /// Slot of the index array that points at entries[ix].
    std::size_t slot_of(std::size_t hash, std::int32_t ix) const noexcept {
      std::size_t perturb = hash, i = hash & mask;
      while (indices[i] != ix) {
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & mask;
      }
      return i;
    }

    void set_value(Entry* e, V v) noexcept {
      if constexpr (!std::is_empty_v<V>) {
        begin_write();
        st(e->value, v);
        end_write();
      }
    }

    void remove(Entry* e) noexcept {
      begin_write();
      std::int32_t ix = static_cast<std::int32_t>(e - entries);
      st(indices[slot_of(e->hash, ix)], kDummy);
      st(e->key, K{});
      if constexpr (!std::is_empty_v<V>) st(e->value, V{});
      // Trailing holes are referenced by no index slot (theirs are DUMMY):
      // give them back, so popping from the end stays O(1) as in dict.
      while (nentries > 0 && entries[nentries - 1].key == K{}) --nentries;
      ++layout;
      size.store(used() - 1, std::memory_order_relaxed);
      end_write();
    }

    static void place(std::int32_t* idx, std::size_t mask, std::size_t hash,
                      std::int32_t ix) noexcept {
      std::size_t perturb = hash, i = hash & mask;
      while (idx[i] != kEmpty) {
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & mask;
      }
      st(idx[i], ix);
    }

    /// Rebuild with room for at least `need` live entries (the old array is
    /// retired); false if out of memory. Inside begin_write/end_write.
    bool resize(std::size_t need, Retiring& rt) noexcept {
      // As CPython's dict: the index is the smallest power of two >= need
      // (need = 3 * live entries), so the entry array has room for 2x.
      std::size_t cap = kMinCapacity;
      while (cap < need || Table::usable_for(cap) <= used()) cap <<= 1;
      if (cap > (std::size_t{1} << 30)) return false;
      void* mem = std::malloc(Table::bytes_for(cap));
      if (!mem) return false;
      auto* h = static_cast<TableHeader*>(mem);
      h->mask = static_cast<std::uint32_t>(cap - 1);
      h->usable = static_cast<std::uint32_t>(Table::usable_for(cap));
      std::int32_t* idx = Table::indices_of(h);
      std::memset(idx, 0xff, cap * sizeof(std::int32_t));  // kEmpty
      Entry* ents = Table::entries_of(h);
      std::uint32_t n = 0;
      for (std::uint32_t j = 0; j < nentries; ++j) {
        if (entries[j].key == K{}) continue;
        ents[n] = entries[j];
        place(idx, cap - 1, ents[n].hash, static_cast<std::int32_t>(n));
        ++n;
      }
      // Not yet published: plain stores above; the release store publishes them.
      TableHeader* old = table.load(std::memory_order_relaxed);
      table.store(h, std::memory_order_release);
      if (old) rt.drop_table(old, 0, false);
      indices = idx;
      entries = ents;
      mask = h->mask;
      usable = h->usable;
      nentries = n;
      left = usable - n;
      return true;
    }

    /// Append a new entry (the caller has checked the key is absent).
    bool insert(std::size_t hash, K key, V value, Retiring& rt) noexcept {
      begin_write();
      if (left == 0 && !resize(used() * 3, rt)) {
        end_write();
        return false;
      }
      --left;
      std::int32_t ix = static_cast<std::int32_t>(nentries++);
      st(entries[ix].hash, hash);
      st_key(entries[ix].key, key);
      if constexpr (!std::is_empty_v<V>) st(entries[ix].value, value);
      place(indices, mask, hash, ix);
      ++layout;
      size.store(used() + 1, std::memory_order_relaxed);
      end_write();
      return true;
    }
  };

  // ------------------------------------------------------------ lock-free reads
  // 1 found (*out retained, if kValue and out), 0 absent, -1 undecided: take the lock.
  // One attempt inline; a moving `seq` gets one more, out of line.
  template <bool kValue>
  INTERLOCK_ALWAYS_INLINE int read_fast(Shard& s, K key, std::size_t hash, V* out) noexcept {
    ReadSection rs;
    if (INTERLOCK_UNLIKELY(!rs.active())) return -1;
    return read_once<kValue, true>(s, key, hash, out);
  }

  template <bool kValue, bool kFirst>
  INTERLOCK_ALWAYS_INLINE int read_once(Shard& s, K key, std::size_t hash, V* out) noexcept {
    std::uint32_t seq = s.seq.load(std::memory_order_acquire);
    const TableHeader* t = s.table.load(std::memory_order_acquire);
    V v{};
    int r = (seq & 1) ? -2 : t ? probe_fast<kValue>(t, key, hash, &v) : 0;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (INTERLOCK_LIKELY(r >= 0 && s.seq.load(std::memory_order_relaxed) == seq)) {
      if (kValue && r == 1) {
        Policy::retain_value(v);  // alive: a replaced value waits for this section to end
        if (out) *out = v;
      }
      return r;
    }
    if (r == -1 || !kFirst) return -1;
    return read_again<kValue>(s, key, hash, out);
  }

  // Still inside the caller's read section.
  template <bool kValue>
  INTERLOCK_NOINLINE int read_again(Shard& s, K key, std::size_t hash, V* out) noexcept {
    return read_once<kValue, false>(s, key, hash, out);
  }

  // The probe: identity hits in the loop; a hash-equal key of another
  // identity continues in probe_match (out of line: the loop makes no call).
  template <bool kValue>
  static INTERLOCK_ALWAYS_INLINE int probe_fast(const TableHeader* t, K key, std::size_t hash,
                                                V* v) noexcept {
    const std::uint32_t mask = t->mask;
    const std::int32_t* idx = Table::indices_of(t);
    const Entry* ents = Table::entries_of(t);
    std::size_t perturb = hash, i = hash & mask;
    for (std::uint32_t n = 0; n <= mask; ++n) {
      std::int32_t ix = ld(idx[i]);
      if (ix == kEmpty) return 0;
      if (ix >= 0) {
        const Entry& e = ents[ix];
        K k = ld_key(e.key);
        if (k == key) {
          if constexpr (kValue && !std::is_empty_v<V>) *v = ld(e.value);
          return 1;
        }
        if (k != K{} && ld(e.hash) == hash) return probe_match<kValue>(t, key, hash, i, perturb, n, v);
      }
      perturb >>= 5;
      i = (i * 5 + perturb + 1) & mask;
    }
    return -1;  // a probe this long only happens while the table changes under us
  }

  template <bool kValue>
  static INTERLOCK_NOINLINE int probe_match(const TableHeader* t, K key, std::size_t hash,
                                            std::size_t i, std::size_t perturb, std::uint32_t n,
                                            V* v) noexcept {
    const std::uint32_t mask = t->mask;
    const std::int32_t* idx = Table::indices_of(t);
    const Entry* ents = Table::entries_of(t);
    for (; n <= mask; ++n) {
      std::int32_t ix = ld(idx[i]);
      if (ix == kEmpty) return 0;
      if (ix >= 0) {
        const Entry& e = ents[ix];
        K k = ld_key(e.key);
        KeyMatch m = k == key ? KeyMatch::equal
                     : (k != K{} && ld(e.hash) == hash) ? Policy::match(k, key)
                                                         : KeyMatch::unequal;
        if (m == KeyMatch::equal) {
          if constexpr (kValue && !std::is_empty_v<V>) *v = ld(e.value);
          return 1;
        }
        if (m == KeyMatch::unknown) return -1;
      }
      perturb >>= 5;
      i = (i * 5 + perturb + 1) & mask;
    }
    return -1;
  }

  INTERLOCK_ALWAYS_INLINE void after_read() noexcept {
    if (INTERLOCK_UNLIKELY(limbo_count_.load(std::memory_order_relaxed))) drain_after_read();
  }
  INTERLOCK_NOINLINE void drain_after_read() noexcept { finish_empty(kReadSpins); }

  // The reads' locked path (out of line: the lock-free path stays small).
  INTERLOCK_NOINLINE MapStatus find_locked(K key, std::size_t hash, V* out) {
    return with_key(key, hash, [&](Shard&, Entry* e) {
      if (!e) return MapStatus::absent;
      Policy::retain_value(e->value);
      if (out) *out = e->value;
      return MapStatus::found;
    });
  }
  INTERLOCK_NOINLINE MapStatus contains_locked(K key, std::size_t hash) {
    return with_key(key, hash,
                    [](Shard&, Entry* e) { return e ? MapStatus::found : MapStatus::absent; });
  }

  // ------------------------------------------------------------ reclamation
  /// After an operation (no lock held, no read section): release what it
  /// unlinked once no reader can see it, and whatever the limbo list holds.
  INTERLOCK_ALWAYS_INLINE void finish(Retiring& rt) noexcept {
    if (rt.n == 0 && INTERLOCK_LIKELY(!limbo_count_.load(std::memory_order_relaxed))) return;
    finish_slow(rt, kWriteSpins);
  }

  void finish_empty(unsigned spins) noexcept {
    Retiring rt;
    finish_slow(rt, spins);
  }

  INTERLOCK_NOINLINE void finish_slow(Retiring& rt, unsigned spins) noexcept {
    std::vector<Retired> old;
    if (limbo_count_.load(std::memory_order_relaxed)) {
      limbo_mu_.lock();
      old.swap(limbo_);
      limbo_count_.store(0, std::memory_order_relaxed);
      limbo_mu_.unlock();
    }
    if (rt.n == 0 && old.empty()) return;
    // Everything in rt and old was unlinked before this call.
    if (wait_for_readers(spins)) {
      release_items(rt.items, static_cast<std::size_t>(rt.n));
      release_items(old.data(), old.size());
      return;
    }
    // Some reader is still inside: keep it all in the limbo list. What was
    // handed to the caller gets a reference of the list's own.
    for (int i = 0; i < rt.n; ++i) {
      Retired& it = rt.items[i];
      if (it.kind == Retired::kHandedKey) {
        Policy::retain_key(it.key);
        it.kind = Retired::kKey;
      } else if (it.kind == Retired::kHandedValue) {
        Policy::retain_value(it.value);
        it.kind = Retired::kValue;
      }
    }
    limbo_mu_.lock();
    bool ok = true;
    try {
      limbo_.reserve(limbo_.size() + old.size() + static_cast<std::size_t>(rt.n));
      limbo_.insert(limbo_.end(), old.begin(), old.end());
      limbo_.insert(limbo_.end(), rt.items, rt.items + rt.n);
      limbo_count_.store(limbo_.size(), std::memory_order_relaxed);
    } catch (const std::bad_alloc&) {
      ok = false;
    }
    limbo_mu_.unlock();
    if (ok) return;
    // No memory to defer: wait for the readers (sections are short).
    while (!wait_for_readers(kWriteSpins)) sched_yield();
    release_items(rt.items, static_cast<std::size_t>(rt.n));
    release_items(old.data(), old.size());
  }

  // ------------------------------------------------------------ locked path
  // A set of key handles (their bits), open addressing: what resolution has
  // proved different from the probe, looked up in O(1) by a rescan.
  class KeySet {
   public:
    ~KeySet() { std::free(slots_); }
    bool contains(K k) const noexcept {
      if (!n_) return false;
      std::uint64_t b = bits(k);
      for (std::size_t i = mix(b) & mask_;; i = (i + 1) & mask_) {
        if (slots_[i] == b) return true;
        if (slots_[i] == 0) return false;
      }
    }
    bool add(K k) noexcept {  // false: out of memory (k not added)
      if ((n_ + 1) * 2 > mask_ + 1 && !grow()) return false;
      put(slots_, mask_, bits(k));
      ++n_;
      return true;
    }
    template <class Fn>
    void each(Fn&& fn) const noexcept {
      for (std::size_t i = 0; n_ && i <= mask_; ++i)
        if (slots_[i]) fn(unbits(slots_[i]));
    }

   private:
    static_assert(sizeof(K) <= sizeof(std::uint64_t));
    static std::uint64_t bits(K k) noexcept {
      std::uint64_t b = 0;
      std::memcpy(&b, &k, sizeof(K));
      return b;  // never 0: K{} is never stored here
    }
    static K unbits(std::uint64_t b) noexcept {
      K k;
      std::memcpy(&k, &b, sizeof(K));
      return k;
    }
    static std::size_t mix(std::uint64_t b) noexcept {
      return static_cast<std::size_t>((b * 0x9E3779B97F4A7C15ull) >> 17);
    }
    static void put(std::uint64_t* sl, std::size_t mask, std::uint64_t b) noexcept {
      std::size_t i = mix(b) & mask;
      while (sl[i]) i = (i + 1) & mask;
      sl[i] = b;
    }
    bool grow() noexcept {
      std::size_t cap = slots_ ? (mask_ + 1) * 2 : 16;
      auto* sl = static_cast<std::uint64_t*>(std::calloc(cap, sizeof(std::uint64_t)));
      if (!sl) return false;
      for (std::size_t i = 0; slots_ && i <= mask_; ++i)
        if (slots_[i]) put(sl, cap - 1, slots_[i]);
      std::free(slots_);
      slots_ = sl;
      mask_ = cap - 1;
      return true;
    }
    std::uint64_t* slots_ = nullptr;
    std::size_t mask_ = 0;
    std::size_t n_ = 0;
  };

  // Keys met during resolution, retained until the operation ends.
  struct Resolution {
    K alias{};       // a stored key proved equal to the probe
    KeySet unequal;  // stored keys proved different from the probe
    ~Resolution() {
      if (alias != K{}) Policy::release_key(alias);
      unequal.each([](K k) { Policy::release_key(k); });
    }
  };

  // Where a scan stands in the probe sequence (to resume it).
  struct Cursor {
    std::size_t i, perturb;
  };

  struct Probe {
    Entry* entry;
    K candidate;  // a hash-equal stored key whose equality is still unknown
    Cursor at;    // the candidate's slot (valid when candidate != K{})
  };

  // Under s.mu. Scans the probe sequence of `hash` from `c` (the start of
  // the sequence, or the slot after a candidate that proved unequal), to the
  // entry, the first unresolved candidate, or the EMPTY slot that ends it.
  static INTERLOCK_ALWAYS_INLINE Probe scan(Shard& s, K key, std::size_t hash, const Resolution* r,
                                            Cursor c) noexcept {
    if (!s.mask) return {nullptr, K{}, c};
    for (;;) {
      std::int32_t ix = s.indices[c.i];
      if (ix == kEmpty) return {nullptr, K{}, c};
      if (ix >= 0) {
        Entry& e = s.entries[ix];
        if (e.key == key) return {&e, K{}, c};
        if (e.hash == hash) {
          if (r && e.key == r->alias) return {&e, K{}, c};
          KeyMatch m = Policy::match(e.key, key);
          if (m == KeyMatch::equal) return {&e, K{}, c};
          if (m == KeyMatch::unknown && !(r && r->unequal.contains(e.key))) return {nullptr, e.key, c};
        }
      }
      c.perturb >>= 5;
      c.i = (c.i * 5 + c.perturb + 1) & s.mask;
    }
  }

  static Cursor first(const Shard& s, std::size_t hash) noexcept { return {hash & s.mask, hash}; }

  /// Resolve `key` in its shard and run `fn(shard, entry-or-null)` under the
  /// shard's lock; fn returns the operation's status.
  template <class Fn>
  MapStatus with_key(K key, std::size_t hash, Fn&& fn) {
    Shard& s = shards_[shard_of(hash)];
    s.mu.lock();
    Probe p = scan(s, key, hash, nullptr, first(s, hash));
    if (INTERLOCK_LIKELY(p.candidate == K{})) {
      MapStatus st = fn(s, p.entry);
      s.mu.unlock();
      return st;
    }
    return with_key_slow(s, key, hash, p, fn);
  }

  // Entered with s.mu held and an unresolved candidate p. Each candidate is
  // compared once (unlocked); if the shard's key layout did not change
  // meanwhile (same `layout` stamp) the scan resumes at the candidate's slot,
  // so n colliding keys cost n comparisons and O(n) probe steps, as in dict.
  // Otherwise it restarts from the start of the probe sequence, skipping the
  // keys already proved unequal (O(1) each) and taking the proved-equal alias.
  template <class Fn>
  INTERLOCK_NOINLINE MapStatus with_key_slow(Shard& s, K key, std::size_t hash, Probe p, Fn& fn) {
    Resolution r;
    for (;;) {
      K cand = p.candidate;
      std::uint64_t stamp = s.layout;
      Policy::retain_key(cand);
      s.mu.unlock();
      int eq = Policy::slow_equal(cand, key);
      if (eq < 0) {
        Policy::release_key(cand);
        return MapStatus::error;
      }
      if (eq > 0) {
        if (r.alias != K{}) Policy::release_key(r.alias);
        r.alias = cand;
      } else if (!r.unequal.add(cand)) {
        Policy::release_key(cand);
        return MapStatus::no_memory;
      }
      s.mu.lock();
      if (s.layout == stamp) {
        // Nothing moved: the candidate is still at p.at (retained: its
        // address was not reused). Equal: it is the entry; else go on.
        if (eq > 0) {
          MapStatus st = fn(s, &s.entries[s.indices[p.at.i]]);
          s.mu.unlock();
          return st;
        }
        Cursor c = p.at;
        c.perturb >>= 5;
        c.i = (c.i * 5 + c.perturb + 1) & s.mask;
        p = scan(s, key, hash, &r, c);
      } else {
        p = scan(s, key, hash, &r, first(s, hash));
      }
      if (p.candidate == K{}) {
        MapStatus st = fn(s, p.entry);
        s.mu.unlock();
        return st;  // r releases what it holds, unlocked
      }
    }
  }

  std::size_t nshards_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::size_t> limbo_count_{0};  // read by every operation, rarely written
  std::atomic<std::size_t> pop_cursor_{0};
  RawMutex limbo_mu_;                        // guards limbo_ (never held across a release)
  std::vector<Retired> limbo_;
};

}  // namespace interlock
