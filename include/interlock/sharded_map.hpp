// interlock/sharded_map.hpp — a hash map split into independently locked
// shards, over a policy that says what keys and values are (ConcurrentDict and
// ConcurrentSet in the bindings; plain C++ types in the tests).
//
// Layout. `ShardedMap` has a fixed number of shards (chosen at construction),
// each on its own cache line. A key's shard is picked from its (already
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
//   * used == number of live entries <= nentries <= usable == capacity*2/3;
//   * left + (index slots not EMPTY) == usable, so an EMPTY slot always
//     remains and every probe ends (a deletion turns a slot DUMMY and does
//     not give it back; trailing holes of the entry array are trimmed);
//   * `size` (an atomic copy of `used`) may be read without the lock.
// The map never calls into the policy's "outside" hooks (slow_equal, release_*)
// while any shard lock is held; under a lock it calls only `match` and
// `retain_*`, which must not block or call back into the map.
//
// Key resolution (why there are two equality tests). `Policy::match(stored,
// probe)` runs under the lock and may answer `unknown` (for Python objects:
// anything but identity and exact str/int). Then the map retains the stored
// key, unlocks, calls `Policy::slow_equal` (arbitrary user code: it may throw
// by returning -1, re-enter the map, or take long), and scans again:
//   * equal: the stored key object becomes an identity alias of the probe;
//     if it is still in the shard it is the entry, else the scan restarts;
//   * unequal: the stored key goes on a list of keys known to differ (kept
//     retained so their addresses cannot be reused), skipped by later scans.
// An operation commits only under the lock, in a scan that met no unresolved
// candidate, so it is atomic (linearisable) per key. Keys retained on the way
// are released after the lock is dropped.
//
// Policy requirements (K and V trivially copyable handles, K{} = no key):
//   using key_type; using mapped_type;           // V may be an empty struct
//   static KeyMatch match(K stored, K probe) noexcept;        // under the lock
//   static void retain_key(K) noexcept; static void retain_value(V) noexcept;
//   static void release_key(K) noexcept; static void release_value(V) noexcept;
//   static int slow_equal(K stored, K probe);  // 1 equal, 0 unequal, -1 error
// The table owns one reference (retain) to each stored key and value: the map
// retains what it stores and releases (outside the lock) what it drops; what
// an operation hands back to the caller is a reference the caller now owns.
//
// Iteration is by shard snapshots (`snapshot`): a caller copies one shard's
// live entries (retained) under its lock and walks them unlocked.
#pragma once

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

/// A value type for sets: no storage in an entry.
struct NoValue {};

template <class Policy>
class ShardedMap {
 public:
  using K = typename Policy::key_type;
  using V = typename Policy::mapped_type;
  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);

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
  ~ShardedMap() { clear(); }

  std::size_t shard_count() const noexcept { return nshards_; }

  /// Number of live entries (a sum of per-shard counters; exact when quiescent).
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < nshards_; ++i) n += shards_[i].size.load(std::memory_order_relaxed);
    return n;
  }

  // ------------------------------------------------------------ keyed ops
  /// found: *out is the value, retained for the caller; absent; error.
  MapStatus find(K key, std::size_t hash, V* out) {
    return with_key(key, hash, [&](Shard&, Entry* e) {
      if (!e) return MapStatus::absent;
      Policy::retain_value(e->value);
      if (out) *out = e->value;
      return MapStatus::found;
    });
  }

  MapStatus contains(K key, std::size_t hash) {
    return with_key(key, hash,
                    [](Shard&, Entry* e) { return e ? MapStatus::found : MapStatus::absent; });
  }

  /// Set key -> value. found: replaced (the old value is released; the stored
  /// key object is kept, as dict does); inserted; error; no_memory.
  MapStatus assign(K key, std::size_t hash, V value) {
    V old{};
    bool replaced = false;
    MapStatus st = with_key(key, hash, [&](Shard& s, Entry* e) {
      if (e) {
        Policy::retain_value(value);
        old = e->value;
        e->value = value;
        replaced = true;
        return MapStatus::found;
      }
      if (!s.insert(hash, key, value)) return MapStatus::no_memory;
      Policy::retain_key(key);
      Policy::retain_value(value);
      return MapStatus::inserted;
    });
    if (replaced) Policy::release_value(old);
    return st;
  }

  /// Insert key -> value unless present. inserted; found: *existing is the
  /// current value, retained for the caller; error; no_memory.
  MapStatus insert_absent(K key, std::size_t hash, V value, V* existing) {
    return with_key(key, hash, [&](Shard& s, Entry* e) {
      if (e) {
        Policy::retain_value(e->value);
        if (existing) *existing = e->value;
        return MapStatus::found;
      }
      if (!s.insert(hash, key, value)) return MapStatus::no_memory;
      Policy::retain_key(key);
      Policy::retain_value(value);
      return MapStatus::inserted;
    });
  }

  /// Remove key. found: *old_key / *old_value are the removed entry's (the
  /// caller owns those references; pass null to have them released); absent; error.
  MapStatus erase(K key, std::size_t hash, K* old_key = nullptr, V* old_value = nullptr) {
    K k{};
    V v{};
    MapStatus st = with_key(key, hash, [&](Shard& s, Entry* e) {
      if (!e) return MapStatus::absent;
      k = e->key;
      v = e->value;
      s.remove(e);
      return MapStatus::found;
    });
    if (st == MapStatus::found) {
      if (old_key) *old_key = k; else Policy::release_key(k);
      if (old_value) *old_value = v; else Policy::release_value(v);
    }
    return st;
  }

  /// Compare-and-set by identity of the value handle: if key maps to
  /// `expected` (or is absent and `expect_absent`), store `desired`.
  ///   found: replaced; inserted: was absent as expected, now inserted;
  ///   mismatch: *current is the present value, retained for the caller;
  ///   absent: the key is absent but a value was expected; error; no_memory.
  MapStatus compare_and_set(K key, std::size_t hash, bool expect_absent, V expected, V desired,
                            V* current) {
    V old{};
    MapStatus st = with_key(key, hash, [&](Shard& s, Entry* e) {
      if (!e) {
        if (!expect_absent) return MapStatus::absent;
        if (!s.insert(hash, key, desired)) return MapStatus::no_memory;
        Policy::retain_key(key);
        Policy::retain_value(desired);
        return MapStatus::inserted;
      }
      if (expect_absent || !same_value(e->value, expected)) {
        Policy::retain_value(e->value);
        if (current) *current = e->value;
        return MapStatus::mismatch;
      }
      Policy::retain_value(desired);
      old = e->value;
      e->value = desired;
      return MapStatus::found;
    });
    if (st == MapStatus::found) Policy::release_value(old);
    return st;
  }

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
        *key = e->key;
        *value = e->value;
        s.remove(e);
        s.mu.unlock();
        return true;
      }
      s.mu.unlock();
    }
    return false;
  }

  /// Remove everything; the entries are released after each shard is unlocked.
  void clear() noexcept {
    for (std::size_t i = 0; i < nshards_; ++i) {
      Shard& s = shards_[i];
      s.mu.lock();
      Table t = s.steal();
      s.mu.unlock();
      t.release_all();
    }
  }

  /// Append shard `i`'s live entries, retained, in insertion order. Either
  /// output may be null (then that half is not copied or retained).
  /// Returns false if memory ran out (nothing appended then).
  bool snapshot(std::size_t i, std::vector<K>* keys, std::vector<V>* values) {
    Shard& s = shards_[i];
    s.mu.lock();
    std::size_t n = s.used;
    try {
      if (keys) keys->reserve(keys->size() + n);
      if (values) values->reserve(values->size() + n);
    } catch (const std::bad_alloc&) {
      s.mu.unlock();
      return false;
    }
    for (std::uint32_t j = 0; j < s.nentries; ++j) {
      Entry& e = s.entries[j];
      if (e.key == K{}) continue;
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
  template <class Fn>
  int for_each_unlocked(Fn&& fn) const {
    for (std::size_t i = 0; i < nshards_; ++i) {
      const Shard& s = shards_[i];
      for (std::uint32_t j = 0; j < s.nentries; ++j)
        if (s.entries[j].key != K{})
          if (int r = fn(s.entries[j].key, s.entries[j].value)) return r;
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

  static bool same_value(const V& a, const V& b) noexcept {
    if constexpr (std::is_empty_v<V>) {
      (void)a, (void)b;
      return true;
    } else {
      return a == b;
    }
  }

  // A detached table (for clear and resize): one allocation, indices then entries.
  struct Table {
    void* block = nullptr;
    Entry* entries = nullptr;
    std::uint32_t nentries = 0;

    static std::size_t bytes_for(std::size_t cap) noexcept {
      if (!cap) return 0;
      return entries_offset(cap) + usable_for(cap) * sizeof(Entry);
    }
    static std::size_t usable_for(std::size_t cap) noexcept { return cap * 2 / 3; }
    static std::size_t entries_offset(std::size_t cap) noexcept {
      std::size_t off = cap * sizeof(std::int32_t);
      return (off + alignof(Entry) - 1) / alignof(Entry) * alignof(Entry);
    }
    void release_all() noexcept {
      for (std::uint32_t j = 0; j < nentries; ++j) {
        if (entries[j].key == K{}) continue;
        Policy::release_key(entries[j].key);
        Policy::release_value(entries[j].value);
      }
      std::free(block);
      block = nullptr;
    }
  };

  struct alignas(64) Shard {
    RawMutex mu;
    std::atomic<std::size_t> size{0};
    std::size_t used = 0;
    std::uint32_t mask = 0;  // capacity - 1; 0 while no table is allocated
    std::uint32_t usable = 0;
    std::uint32_t nentries = 0;
    std::uint32_t left = 0;  // EMPTY index slots an insert may still consume
    std::int32_t* indices = nullptr;
    Entry* entries = nullptr;

    ~Shard() { std::free(indices); }

    Table steal() noexcept {
      Table t{indices, entries, nentries};
      indices = nullptr;
      entries = nullptr;
      mask = usable = nentries = left = 0;
      used = 0;
      size.store(0, std::memory_order_relaxed);
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

    void remove(Entry* e) noexcept {
      std::int32_t ix = static_cast<std::int32_t>(e - entries);
      indices[slot_of(e->hash, ix)] = kDummy;
      e->key = K{};
      if constexpr (!std::is_empty_v<V>) e->value = V{};
      // Trailing holes are referenced by no index slot (theirs are DUMMY):
      // give them back, so popping from the end stays O(1) as in dict.
      while (nentries > 0 && entries[nentries - 1].key == K{}) --nentries;
      --used;
      size.store(used, std::memory_order_relaxed);
    }

    static void place(std::int32_t* idx, std::size_t mask, std::size_t hash,
                      std::int32_t ix) noexcept {
      std::size_t perturb = hash, i = hash & mask;
      while (idx[i] != kEmpty) {
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & mask;
      }
      idx[i] = ix;
    }

    /// Rebuild with room for at least `need` live entries; false if out of memory.
    bool resize(std::size_t need) noexcept {
      // As CPython's dict: the index is the smallest power of two >= need
      // (need = 3 * live entries), so the entry array has room for 2x.
      std::size_t cap = kMinCapacity;
      while (cap < need || Table::usable_for(cap) <= used) cap <<= 1;
      if (cap > (std::size_t{1} << 30)) return false;
      void* block = std::malloc(Table::bytes_for(cap));
      if (!block) return false;
      auto* idx = static_cast<std::int32_t*>(block);
      std::memset(idx, 0xff, cap * sizeof(std::int32_t));  // kEmpty
      auto* ents = reinterpret_cast<Entry*>(static_cast<char*>(block) + Table::entries_offset(cap));
      std::uint32_t n = 0;
      for (std::uint32_t j = 0; j < nentries; ++j) {
        if (entries[j].key == K{}) continue;
        ents[n] = entries[j];
        place(idx, cap - 1, ents[n].hash, static_cast<std::int32_t>(n));
        ++n;
      }
      std::free(indices);
      indices = idx;
      entries = ents;
      mask = static_cast<std::uint32_t>(cap - 1);
      usable = static_cast<std::uint32_t>(Table::usable_for(cap));
      nentries = n;
      left = usable - n;
      return true;
    }

    /// Append a new entry (the caller has checked the key is absent).
    bool insert(std::size_t hash, K key, V value) noexcept {
      if (left == 0 && !resize(used * 3)) return false;
      --left;
      std::int32_t ix = static_cast<std::int32_t>(nentries++);
      entries[ix].hash = hash;
      entries[ix].key = key;
      entries[ix].value = value;
      place(indices, mask, hash, ix);
      ++used;
      size.store(used, std::memory_order_relaxed);
      return true;
    }
  };

  // Keys met during resolution, retained until the operation ends.
  struct Resolution {
    K alias{};                 // a stored key proved equal to the probe
    std::vector<K> unequal;    // stored keys proved different from the probe
    ~Resolution() {
      if (alias != K{}) Policy::release_key(alias);
      for (K k : unequal) Policy::release_key(k);
    }
    bool known_unequal(K k) const noexcept {
      for (K u : unequal)
        if (u == k) return true;
      return false;
    }
  };

  struct Probe {
    Entry* entry;
    K candidate;  // a hash-equal stored key whose equality is still unknown
  };

  // Under s.mu.
  static Probe scan(Shard& s, K key, std::size_t hash, const Resolution* r) noexcept {
    if (!s.mask) return {nullptr, K{}};
    K cand{};
    std::size_t perturb = hash, i = hash & s.mask;
    for (;;) {
      std::int32_t ix = s.indices[i];
      if (ix == kEmpty) return {nullptr, cand};
      if (ix >= 0) {
        Entry& e = s.entries[ix];
        if (e.key == key) return {&e, K{}};
        if (e.hash == hash) {
          if (r && e.key == r->alias) return {&e, K{}};
          KeyMatch m = Policy::match(e.key, key);
          if (m == KeyMatch::equal) return {&e, K{}};
          if (m == KeyMatch::unknown && cand == K{} && !(r && r->known_unequal(e.key)))
            cand = e.key;
        }
      }
      perturb >>= 5;
      i = (i * 5 + perturb + 1) & s.mask;
    }
  }

  /// Resolve `key` in its shard and run `fn(shard, entry-or-null)` under the
  /// shard's lock; fn returns the operation's status.
  template <class Fn>
  MapStatus with_key(K key, std::size_t hash, Fn&& fn) {
    Shard& s = shards_[shard_of(hash)];
    s.mu.lock();
    Probe p = scan(s, key, hash, nullptr);
    if (INTERLOCK_LIKELY(p.candidate == K{} || p.entry)) {
      MapStatus st = fn(s, p.entry);
      s.mu.unlock();
      return st;
    }
    return with_key_slow(s, key, hash, p.candidate, fn);
  }

  template <class Fn>
  INTERLOCK_NOINLINE MapStatus with_key_slow(Shard& s, K key, std::size_t hash, K cand, Fn& fn) {
    // Entered with s.mu held and an unresolved candidate.
    Resolution r;
    for (;;) {
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
      } else {
        try {
          r.unequal.push_back(cand);
        } catch (const std::bad_alloc&) {
          Policy::release_key(cand);
          return MapStatus::no_memory;
        }
      }
      s.mu.lock();
      Probe p = scan(s, key, hash, &r);
      if (p.entry || p.candidate == K{}) {
        MapStatus st = fn(s, p.entry);
        s.mu.unlock();
        return st;  // r releases what it holds, unlocked
      }
      cand = p.candidate;
    }
  }

  std::size_t nshards_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::size_t> pop_cursor_{0};
};

}  // namespace interlock
