// Tests for interlock::ShardedMap: single-threaded semantics against
// std::unordered_map, key resolution through the slow equality (equal but
// distinct keys, failing and re-entrant comparisons), reference balance, and
// concurrent mixes (per-key atomicity of compare_and_set, snapshots while
// others mutate).
#include "interlock/sharded_map.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "test_util.hpp"

using interlock::KeyMatch;
using interlock::MapStatus;
using interlock::NoValue;
using interlock::ShardedMap;

namespace {

// A key object: `fast` keys compare by value under the lock; the others only
// through slow_equal (like arbitrary Python objects).
struct TKey {
  long v;
  bool fast;
  std::atomic<int> refs{0};
};

std::atomic<long> g_value_refs{0};   // retains minus releases of values
std::atomic<long> g_slow_calls{0};
std::atomic<long> g_match_calls{0};  // scan steps over hash-equal keys
thread_local int t_fail_slow = 0;    // > 0: slow_equal fails

struct Policy {
  using key_type = TKey*;
  using mapped_type = long;
  static KeyMatch match(TKey* a, TKey* b) noexcept {
    g_match_calls.fetch_add(1, std::memory_order_relaxed);
    if (a->fast && b->fast) return a->v == b->v ? KeyMatch::equal : KeyMatch::unequal;
    return KeyMatch::unknown;
  }
  static void retain_key(TKey* k) noexcept { k->refs.fetch_add(1, std::memory_order_relaxed); }
  static void release_key(TKey* k) noexcept {
    ASSERT_GT(k->refs.fetch_sub(1, std::memory_order_relaxed), 0);
  }
  static void retain_value(long) noexcept { g_value_refs.fetch_add(1, std::memory_order_relaxed); }
  static void release_value(long) noexcept {
    g_value_refs.fetch_sub(1, std::memory_order_relaxed);
  }
  static int (*reenter)(TKey*, TKey*);
  static int slow_equal(TKey* a, TKey* b) {
    g_slow_calls.fetch_add(1, std::memory_order_relaxed);
    if (t_fail_slow > 0) return -1;
    if (reenter) return reenter(a, b);
    return a->v == b->v ? 1 : 0;
  }
};
int (*Policy::reenter)(TKey*, TKey*) = nullptr;

using Map = ShardedMap<Policy>;

std::size_t hash_of(long v) { return static_cast<std::size_t>(v) * 31u; }

struct Keys {
  std::vector<std::unique_ptr<TKey>> owned;
  TKey* make(long v, bool fast = true) {
    owned.push_back(std::make_unique<TKey>());
    owned.back()->v = v;
    owned.back()->fast = fast;
    return owned.back().get();
  }
  void expect_balanced() const {
    for (const auto& k : owned) EXPECT_EQ(k->refs.load(), 0) << "key " << k->v;
  }
};

TEST(ShardedMap, MatchesUnorderedMap) {
  Keys ks;
  std::vector<TKey*> key(3000);
  for (long i = 0; i < 3000; ++i) key[i] = ks.make(i);
  {
    Map m(7);
    std::unordered_map<long, long> ref;
    std::mt19937 rng(1);
    for (int step = 0; step < 60000; ++step) {
      long i = static_cast<long>(rng() % 3000);
      switch (rng() % 4) {
        case 0:
        case 1: {
          long v = static_cast<long>(rng());
          MapStatus st = m.assign(key[i], hash_of(i), v);
          EXPECT_EQ(st, ref.count(i) ? MapStatus::found : MapStatus::inserted);
          ref[i] = v;
          break;
        }
        case 2: {
          long out = -1;
          MapStatus st = m.erase(key[i], hash_of(i), nullptr, &out);
          if (ref.count(i)) {
            EXPECT_EQ(st, MapStatus::found);
            EXPECT_EQ(out, ref[i]);
            Policy::release_value(out);
            ref.erase(i);
          } else {
            EXPECT_EQ(st, MapStatus::absent);
          }
          break;
        }
        default: {
          long out = -1;
          MapStatus st = m.find(key[i], hash_of(i), &out);
          if (ref.count(i)) {
            ASSERT_EQ(st, MapStatus::found);
            EXPECT_EQ(out, ref[i]);
            Policy::release_value(out);
          } else {
            EXPECT_EQ(st, MapStatus::absent);
          }
        }
      }
      ASSERT_EQ(m.size(), ref.size());
    }
    std::set<long> seen;
    for (std::size_t s = 0; s < m.shard_count(); ++s) {
      std::vector<TKey*> keys;
      std::vector<long> vals;
      ASSERT_TRUE(m.snapshot(s, &keys, &vals));
      ASSERT_EQ(keys.size(), vals.size());
      for (std::size_t j = 0; j < keys.size(); ++j) {
        EXPECT_TRUE(seen.insert(keys[j]->v).second);
        EXPECT_EQ(vals[j], ref[keys[j]->v]);
        Policy::release_key(keys[j]);
        Policy::release_value(vals[j]);
      }
    }
    EXPECT_EQ(seen.size(), ref.size());
    EXPECT_GT(m.memory_bytes(), ref.size() * sizeof(Map::Entry));
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, InsertionOrderWithinAShardAndPopAny) {
  Keys ks;
  Map m(1);
  for (long i = 0; i < 100; ++i) ASSERT_EQ(m.assign(ks.make(i), hash_of(i), i), MapStatus::inserted);
  std::vector<TKey*> keys;
  ASSERT_TRUE(m.snapshot(0, &keys, nullptr));
  for (long i = 0; i < 100; ++i) {
    EXPECT_EQ(keys[i]->v, i);
    Policy::release_key(keys[i]);
  }
  TKey* k;
  long v;
  for (long i = 99; i >= 0; --i) {
    ASSERT_TRUE(m.pop_any(&k, &v));  // last inserted first, like dict.popitem
    EXPECT_EQ(k->v, i);
    Policy::release_key(k);
    Policy::release_value(v);
  }
  EXPECT_FALSE(m.pop_any(&k, &v));
  EXPECT_EQ(m.size(), 0u);
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, SlowKeysResolveToTheStoredKey) {
  Keys ks;
  {
    Map m(3);
    TKey* a = ks.make(5, false);
    TKey* b = ks.make(5, false);  // equal to a, a different object
    TKey* c = ks.make(6, false);
    ASSERT_EQ(m.assign(a, 77, 1), MapStatus::inserted);
    ASSERT_EQ(m.assign(c, 77, 2), MapStatus::inserted);  // same hash, unequal: slow compare
    EXPECT_EQ(m.size(), 2u);
    long before = g_slow_calls.load();
    ASSERT_EQ(m.assign(b, 77, 3), MapStatus::found);  // replaces a's value, keeps a
    EXPECT_GE(g_slow_calls.load() - before, 1);
    TKey* k = nullptr;
    long v = 0;
    ASSERT_EQ(m.erase(b, 77, &k, &v), MapStatus::found);
    EXPECT_EQ(k, a);
    EXPECT_EQ(v, 3);
    Policy::release_key(k);
    Policy::release_value(v);
    EXPECT_EQ(m.contains(b, 77), MapStatus::absent);
    EXPECT_EQ(m.contains(c, 77), MapStatus::found);  // identity: no slow call needed
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, FailingComparisonChangesNothing) {
  Keys ks;
  {
    Map m(2);
    TKey* a = ks.make(1, false);
    TKey* b = ks.make(1, false);
    ASSERT_EQ(m.assign(a, 9, 10), MapStatus::inserted);
    t_fail_slow = 1;
    EXPECT_EQ(m.assign(b, 9, 11), MapStatus::error);
    EXPECT_EQ(m.insert_absent(b, 9, 11, nullptr), MapStatus::error);
    EXPECT_EQ(m.erase(b, 9), MapStatus::error);
    long v = 0;
    EXPECT_EQ(m.find(b, 9, &v), MapStatus::error);
    t_fail_slow = 0;
    ASSERT_EQ(m.find(a, 9, &v), MapStatus::found);
    EXPECT_EQ(v, 10);
    Policy::release_value(v);
    EXPECT_EQ(m.size(), 1u);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, ComparisonRunsUnlockedAndMayReenter) {
  // slow_equal mutates the same map (same shard: one shard only); a lock held
  // across it would deadlock here.
  Keys ks;
  {
    static Map* mp;
    static TKey* other;
    Map m(1);
    mp = &m;
    other = ks.make(1000);
    Policy::reenter = +[](TKey* a, TKey* b) {
      long v;
      if (mp->find(other, hash_of(1000), &v) == MapStatus::found) {
        Policy::release_value(v);
        mp->erase(other, hash_of(1000));
      } else {
        mp->assign(other, hash_of(1000), 1);
      }
      return a->v == b->v ? 1 : 0;
    };
    TKey* a = ks.make(1, false);
    TKey* b = ks.make(1, false);
    TKey* c = ks.make(2, false);
    ASSERT_EQ(m.assign(a, 5, 1), MapStatus::inserted);
    EXPECT_EQ(m.assign(c, 5, 2), MapStatus::inserted);
    EXPECT_EQ(m.assign(b, 5, 3), MapStatus::found);
    long v = 0;
    ASSERT_EQ(m.find(a, 5, &v), MapStatus::found);
    EXPECT_EQ(v, 3);
    Policy::release_value(v);
    Policy::reenter = nullptr;
    m.clear();
    EXPECT_EQ(m.size(), 0u);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

// Issue 15: n keys with one hash. Each stored key is compared at most once
// per operation, as in dict: n inserts make n(n-1)/2 slow comparisons, a
// lookup that misses makes n, one that hits the i-th key (0-based) i + 1.
// And the scan visits each hash-equal key O(1) times per operation (counted
// by Policy::match calls): the old design rescanned from the start after
// every comparison, n(n+1)/2 match calls for one insert, ~n^3/6 for n.
TEST(ShardedMap, CollidingKeysCostWhatDictCosts) {
  Keys ks;
  constexpr long kN = 1500;
  std::vector<TKey*> key, twin;
  for (long i = 0; i < kN; ++i) key.push_back(ks.make(i, false));
  for (long i = 0; i < kN; ++i) twin.push_back(ks.make(i, false));  // equal, other objects
  {
    Map m(5);
    long before = g_slow_calls.load();
    long steps = g_match_calls.load();
    for (long i = 0; i < kN; ++i) ASSERT_EQ(m.assign(key[i], 42, i), MapStatus::inserted);
    EXPECT_EQ(g_slow_calls.load() - before, kN * (kN - 1) / 2);
    EXPECT_LE(g_match_calls.load() - steps, kN * (kN - 1) / 2 + 2 * kN);
    TKey* miss = ks.make(-1, false);
    before = g_slow_calls.load();
    steps = g_match_calls.load();
    EXPECT_EQ(m.contains(miss, 42), MapStatus::absent);
    EXPECT_EQ(g_slow_calls.load() - before, kN);
    EXPECT_LE(g_match_calls.load() - steps, kN + 2);
    for (long i : {0L, 1L, kN / 2, kN - 1}) {
      long v = -1;
      before = g_slow_calls.load();
      ASSERT_EQ(m.find(twin[i], 42, &v), MapStatus::found);
      EXPECT_EQ(v, i);
      EXPECT_EQ(g_slow_calls.load() - before, i + 1);
      Policy::release_value(v);
    }
    // Replace through an equal twin, erase half through twins: still linear per op.
    before = g_slow_calls.load();
    for (long i = 0; i < kN; i += 2) ASSERT_EQ(m.erase(twin[i], 42), MapStatus::found);
    long erase_calls = g_slow_calls.load() - before;
    EXPECT_LE(erase_calls, kN * kN / 2);
    EXPECT_EQ(m.size(), static_cast<std::size_t>(kN / 2));
    for (long i = 0; i < kN; ++i)
      EXPECT_EQ(m.contains(key[i], 42), i % 2 ? MapStatus::found : MapStatus::absent);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

// A comparison that mutates the shard (inserting and erasing other keys of
// the same hash) makes the scan restart; keys already proved unequal are not
// compared again, and the result is the one a sequential map gives.
TEST(ShardedMap, CollidingKeysStayCorrectWhenTheShardChangesDuringAComparison) {
  Keys ks;
  {
    static Map* mp;
    static std::vector<TKey*>* noise;
    static int depth = 0;
    static long tick = 0;
    static std::set<std::pair<TKey*, TKey*>> seen;  // (stored, probe) pairs compared
    static bool repeated = false;
    std::vector<TKey*> nz;
    for (long i = 0; i < 40; ++i) nz.push_back(ks.make(100000 + i, false));
    Map m(1);
    mp = &m;
    noise = &nz;
    Policy::reenter = +[](TKey* a, TKey* b) {
      if (depth == 0) {
        if (!seen.insert({a, b}).second) repeated = true;
        ++depth;
        TKey* k = (*noise)[static_cast<std::size_t>(tick++ % 40)];
        if (mp->erase(k, 42) == MapStatus::absent) mp->assign(k, 42, 0);
        --depth;
      }
      return a->v == b->v ? 1 : 0;
    };
    constexpr long kN = 200;
    std::vector<TKey*> key, twin;
    for (long i = 0; i < kN; ++i) key.push_back(ks.make(i, false));
    for (long i = 0; i < kN; ++i) twin.push_back(ks.make(i, false));
    for (long i = 0; i < kN; ++i) {
      seen.clear();
      ASSERT_EQ(m.assign(key[i], 42, i), MapStatus::inserted);
    }
    for (long i = 0; i < kN; ++i) {
      seen.clear();
      long v = -1;
      ASSERT_EQ(m.find(twin[i], 42, &v), MapStatus::found);
      EXPECT_EQ(v, i);
      Policy::release_value(v);
      seen.clear();
      ASSERT_EQ(m.assign(twin[i], 42, i + 1), MapStatus::found);  // keeps key[i]
    }
    EXPECT_FALSE(repeated) << "a stored key was compared twice in one operation";
    Policy::reenter = nullptr;
    std::vector<TKey*> got;
    m.snapshot(0, &got, nullptr);
    long ours = 0;
    for (TKey* k : got) {
      if (k->v < kN) {
        EXPECT_EQ(k, key[k->v]);
        ++ours;
      }
      Policy::release_key(k);
    }
    EXPECT_EQ(ours, kN);
    m.clear();
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

// Another thread inserts and erases colliding keys while this one resolves
// its own (the comparison yields, so the two interleave): every operation
// still reports what a sequential map would for this thread's keys.
TEST(ShardedMap, CollidingKeysUnderConcurrentMutation) {
  Keys ks;
  constexpr long kN = 300;
  std::vector<TKey*> key, twin, other;
  for (long i = 0; i < kN; ++i) key.push_back(ks.make(i, false));
  for (long i = 0; i < kN; ++i) twin.push_back(ks.make(i, false));
  for (long i = 0; i < 64; ++i) other.push_back(ks.make(50000 + i, i % 2 == 0));
  {
    Map m(2);
    std::atomic<bool> stop{false};
    Policy::reenter = +[](TKey* a, TKey* b) {
      if ((a->v ^ b->v) % 7 == 0) std::this_thread::yield();
      return a->v == b->v ? 1 : 0;
    };
    std::thread noise([&] {
      std::mt19937 rng(3);
      while (!stop.load(std::memory_order_relaxed)) {
        TKey* k = other[rng() % other.size()];
        if (m.erase(k, 42) == MapStatus::absent) m.assign(k, 42, 0);
      }
    });
    for (long i = 0; i < kN; ++i) ASSERT_EQ(m.assign(key[i], 42, i), MapStatus::inserted);
    for (long i = 0; i < kN; ++i) {
      long v = -1;
      ASSERT_EQ(m.find(twin[i], 42, &v), MapStatus::found);
      EXPECT_EQ(v, i);
      Policy::release_value(v);
      if (i % 3 == 0) {
        TKey* k = nullptr;
        ASSERT_EQ(m.erase(twin[i], 42, &k, nullptr), MapStatus::found);
        EXPECT_EQ(k, key[i]);
        Policy::release_key(k);
        EXPECT_EQ(m.contains(twin[i], 42), MapStatus::absent);
      }
    }
    stop = true;
    noise.join();
    Policy::reenter = nullptr;
    for (long i = 0; i < kN; ++i)
      EXPECT_EQ(m.contains(key[i], 42), i % 3 ? MapStatus::found : MapStatus::absent);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, CompareAndSetIsAtomicPerKey) {
  Keys ks;
  constexpr int kThreads = 4;
  const int per_thread = itest::scaled(20000);
  {
    Map m(4);
    std::vector<TKey*> counters;
    for (long i = 0; i < 3; ++i) counters.push_back(ks.make(i, i != 0));  // key 0 is slow
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        std::mt19937 rng(t);
        for (int n = 0; n < per_thread; ++n) {
          long i = static_cast<long>(rng() % 3);
          long cur = 0;
          MapStatus st = m.find(counters[i], hash_of(i), &cur);
          bool absent = st == MapStatus::absent;
          for (;;) {
            long next = absent ? 1 : cur + 1;
            long seen = 0;
            st = m.compare_and_set(counters[i], hash_of(i), absent, cur, next, &seen);
            if (!absent) Policy::release_value(cur);
            if (st == MapStatus::found || st == MapStatus::inserted) break;
            ASSERT_NE(st, MapStatus::error);
            absent = st == MapStatus::absent;
            cur = seen;
          }
        }
      });
    for (auto& t : ts) t.join();
    long total = 0;
    for (long i = 0; i < 3; ++i) {
      long v = 0;
      ASSERT_EQ(m.find(counters[i], hash_of(i), &v), MapStatus::found);
      total += v;
      Policy::release_value(v);
    }
    EXPECT_EQ(total, long{kThreads} * per_thread);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, SnapshotsWhileOthersMutate) {
  // Stable keys (never touched by the writers) are seen exactly once by every
  // snapshot pass; churn keys come and go.
  Keys ks;
  constexpr long kStable = 500, kChurn = 500;
  std::vector<TKey*> keys;
  for (long i = 0; i < kStable + kChurn; ++i) keys.push_back(ks.make(i, i % 3 != 0));
  {
    Map m(5);
    for (long i = 0; i < kStable; ++i) ASSERT_EQ(m.assign(keys[i], hash_of(i), i), MapStatus::inserted);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t)
      writers.emplace_back([&, t] {
        std::mt19937 rng(100 + t);
        while (!stop.load(std::memory_order_relaxed)) {
          long i = kStable + static_cast<long>(rng() % kChurn);
          if (rng() & 1)
            m.assign(keys[i], hash_of(i), i);
          else
            m.erase(keys[i], hash_of(i));
        }
      });
    for (int pass = 0; pass < itest::scaled(200); ++pass) {
      std::set<long> seen;
      for (std::size_t s = 0; s < m.shard_count(); ++s) {
        std::vector<TKey*> ks2;
        ASSERT_TRUE(m.snapshot(s, &ks2, nullptr));
        for (TKey* k : ks2) {
          EXPECT_TRUE(seen.insert(k->v).second);
          Policy::release_key(k);
        }
      }
      for (long i = 0; i < kStable; ++i) ASSERT_TRUE(seen.count(i)) << i;
    }
    stop.store(true);
    for (auto& t : writers) t.join();
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, UpdateRetriesUntilItsComputationLands) {
  // update(): n threads incrementing through fn lose no increment, whatever
  // interleaves between fn and the store (fn runs unlocked and is retried).
  Keys ks;
  constexpr int kThreads = 4;
  const int per_thread = itest::scaled(20000);
  std::atomic<long> calls{0};
  {
    Map m(4);
    std::vector<TKey*> counters;
    for (long i = 0; i < 3; ++i) counters.push_back(ks.make(i, i != 0));  // key 0 is slow
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        std::mt19937 rng(t);
        const long zero = 0;
        for (int n = 0; n < per_thread; ++n) {
          long i = static_cast<long>(rng() % 3);
          long out = -1;
          MapStatus st = m.update(counters[i], hash_of(i), &zero,
                                  [&](long cur, long* next) {
                                    calls.fetch_add(1, std::memory_order_relaxed);
                                    *next = cur + 1;
                                    Policy::retain_value(*next);  // the caller's reference
                                    return true;
                                  },
                                  &out);
          ASSERT_TRUE(st == MapStatus::found || st == MapStatus::inserted);
          Policy::release_value(out);
        }
      });
    for (auto& t : ts) t.join();
    long total = 0;
    for (long i = 0; i < 3; ++i) {
      long v = 0;
      ASSERT_EQ(m.find(counters[i], hash_of(i), &v), MapStatus::found);
      total += v;
      Policy::release_value(v);
    }
    EXPECT_EQ(total, long{kThreads} * per_thread);
    EXPECT_GE(calls.load(), total);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, UpdateWithoutDefaultAndFailingComputation) {
  Keys ks;
  TKey* k = ks.make(1);
  {
    Map m(2);
    auto plus = [](long cur, long* next) {
      *next = cur + 10;
      Policy::retain_value(*next);
      return true;
    };
    long out = -1;
    EXPECT_EQ(m.update(k, hash_of(1), nullptr, plus, &out), MapStatus::absent);
    EXPECT_EQ(m.size(), 0u);
    const long five = 5;
    ASSERT_EQ(m.update(k, hash_of(1), &five, plus, &out), MapStatus::inserted);
    EXPECT_EQ(out, 15);
    Policy::release_value(out);
    ASSERT_EQ(m.update(k, hash_of(1), nullptr, plus, &out), MapStatus::found);
    EXPECT_EQ(out, 25);
    Policy::release_value(out);
    // A failing fn changes nothing and reports error.
    EXPECT_EQ(m.update(k, hash_of(1), nullptr, [](long, long*) { return false; }, &out),
              MapStatus::error);
    long v = 0;
    ASSERT_EQ(m.find(k, hash_of(1), &v), MapStatus::found);
    EXPECT_EQ(v, 25);
    Policy::release_value(v);
    // fn may re-enter the map (it runs unlocked): here it removes the key,
    // so the store finds it absent and fn runs again on the default.
    int runs = 0;
    ASSERT_EQ(m.update(k, hash_of(1), &five,
                       [&](long cur, long* next) {
                         if (runs++ == 0) {
                           EXPECT_EQ(m.erase(k, hash_of(1)), MapStatus::found);
                         }
                         *next = cur + 1;
                         Policy::retain_value(*next);
                         return true;
                       },
                       &out),
              MapStatus::inserted);
    EXPECT_EQ(runs, 2);
    EXPECT_EQ(out, 6);
    Policy::release_value(out);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, ForEachSnapshotVisitsEveryEntryAndReleasesIt) {
  Keys ks;
  {
    Map m(5);
    for (long i = 0; i < 300; ++i) ASSERT_EQ(m.assign(ks.make(i), hash_of(i), i * 2), MapStatus::inserted);
    std::set<long> seen;
    bool oom = true;
    EXPECT_TRUE(m.for_each_snapshot(
        [&](TKey* k, long v) {
          EXPECT_EQ(v, k->v * 2);
          EXPECT_TRUE(seen.insert(k->v).second);
          return true;
        },
        &oom));
    EXPECT_FALSE(oom);
    EXPECT_EQ(seen.size(), 300u);
    int n = 0;
    EXPECT_FALSE(m.for_each_snapshot([&](TKey*, long) { return ++n < 10; }, &oom));
    EXPECT_FALSE(oom);
    EXPECT_EQ(n, 10);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, AssignAllCopiesWithTheStoredHashes) {
  Keys ks;
  {
    Map src(5);
    for (long i = 0; i < 300; ++i) ASSERT_EQ(src.assign(ks.make(i, i % 3 != 0), hash_of(i), i * 2), MapStatus::inserted);
    Map dst(7);
    g_slow_calls = 0;
    ASSERT_EQ(dst.assign_all(src), MapStatus::inserted);
    EXPECT_EQ(g_slow_calls.load(), 0);  // distinct hashes: nothing to compare
    EXPECT_EQ(dst.size(), 300u);
    for (long i = 0; i < 300; ++i) {
      long v = -1;
      TKey probe{i, true};
      ASSERT_EQ(dst.find(&probe, hash_of(i), &v), MapStatus::found);
      EXPECT_EQ(v, i * 2);
      Policy::release_value(v);  // find hands out a retained value
    }
    EXPECT_EQ(src.size(), 300u);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, SharedSnapshotIteratorHandsOutEachEntryOnce) {
  // Threads share one iterator while writers churn other keys: every stable
  // key comes out exactly once over all threads; close() releases the rest.
  Keys ks;
  constexpr long kStable = 2000, kChurn = 200;
  std::vector<TKey*> keys;
  for (long i = 0; i < kStable + kChurn; ++i) keys.push_back(ks.make(i));
  {
    Map m(7);
    for (long i = 0; i < kStable; ++i) ASSERT_EQ(m.assign(keys[i], hash_of(i), i), MapStatus::inserted);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      std::mt19937 rng(7);
      while (!stop.load(std::memory_order_relaxed)) {
        long i = kStable + static_cast<long>(rng() % kChurn);
        if (rng() & 1)
          m.assign(keys[i], hash_of(i), i);
        else
          m.erase(keys[i], hash_of(i));
      }
    });
    for (int pass = 0; pass < itest::scaled(20); ++pass) {
      Map::SnapshotIterator it(true, true);
      std::vector<std::vector<long>> got(3);
      std::vector<std::thread> readers;
      for (int t = 0; t < 3; ++t)
        readers.emplace_back([&, t] {
          TKey* k = nullptr;
          long v = 0;
          for (;;) {
            auto step = it.next(m, &k, &v);
            if (step != Map::SnapshotIterator::Step::item) {
              EXPECT_EQ(step, Map::SnapshotIterator::Step::end);
              return;
            }
            EXPECT_EQ(v, k->v);
            got[t].push_back(k->v);
            Policy::release_key(k);
            Policy::release_value(v);
          }
        });
      for (auto& t : readers) t.join();
      std::vector<int> count(kStable + kChurn, 0);
      for (auto& g : got)
        for (long k : g) ++count[k];
      for (long i = 0; i < kStable + kChurn; ++i) ASSERT_LE(count[i], 1) << i;
      for (long i = 0; i < kStable; ++i) ASSERT_EQ(count[i], 1) << i;
    }
    stop.store(true);
    writer.join();
    // Keys only: values are neither copied nor retained; an abandoned
    // iterator releases what it copied.
    {
      Map::SnapshotIterator it(true, false);
      TKey* k = nullptr;
      long v = -7;
      ASSERT_EQ(it.next(m, &k, &v), Map::SnapshotIterator::Step::item);
      EXPECT_EQ(v, -7);
      Policy::release_key(k);
    }
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

TEST(ShardedMap, ConcurrentMixKeepsCountsRight) {
  // Each thread owns a key range; the final size is the sum of what each
  // thread believes it left in the map.
  Keys ks;
  constexpr int kThreads = 4;
  constexpr long kPer = 2000;
  std::vector<TKey*> keys;
  for (long i = 0; i < kThreads * kPer; ++i) keys.push_back(ks.make(i, i % 5 != 0));
  {
    Map m(3);
    std::vector<long> left(kThreads);
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        std::mt19937 rng(t);
        std::vector<bool> in(kPer);
        for (int n = 0; n < itest::scaled(40000); ++n) {
          long j = static_cast<long>(rng() % kPer), i = t * kPer + j;
          if (rng() % 3) {
            MapStatus st = m.assign(keys[i], hash_of(i), i);
            ASSERT_EQ(st, in[j] ? MapStatus::found : MapStatus::inserted);
            in[j] = true;
          } else {
            MapStatus st = m.erase(keys[i], hash_of(i));
            ASSERT_EQ(st, in[j] ? MapStatus::found : MapStatus::absent);
            in[j] = false;
          }
        }
        left[t] = std::count(in.begin(), in.end(), true);
      });
    for (auto& t : ts) t.join();
    long total = 0;
    for (long l : left) total += l;
    EXPECT_EQ(static_cast<long>(m.size()), total);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

struct SetPolicy {
  using key_type = TKey*;
  using mapped_type = NoValue;
  static KeyMatch match(TKey* a, TKey* b) noexcept { return Policy::match(a, b); }
  static void retain_key(TKey* k) noexcept { Policy::retain_key(k); }
  static void release_key(TKey* k) noexcept { Policy::release_key(k); }
  static void retain_value(NoValue) noexcept {}
  static void release_value(NoValue) noexcept {}
  static int slow_equal(TKey* a, TKey* b) { return Policy::slow_equal(a, b); }
};

TEST(ShardedMap, SetEntriesHaveNoValueStorage) {
  static_assert(sizeof(ShardedMap<SetPolicy>::Entry) == 2 * sizeof(void*));
  Keys ks;
  {
    ShardedMap<SetPolicy> s(2);
    TKey* a = ks.make(1);
    EXPECT_EQ(s.insert_absent(a, 1, {}, nullptr), MapStatus::inserted);
    EXPECT_EQ(s.insert_absent(a, 1, {}, nullptr), MapStatus::found);
    EXPECT_EQ(s.size(), 1u);
  }
  ks.expect_balanced();
}

}  // namespace

namespace {

TEST(ShardedMap, InsertPopCyclesNeverFillTheIndex) {
  // popping from the end trims the entry array; the index's DUMMY slots must
  // still force a rebuild eventually (or a probe would never end).
  Keys ks;
  {
    Map m(1);
    TKey* keep = ks.make(-1);
    ASSERT_EQ(m.assign(keep, hash_of(-1), 0), MapStatus::inserted);
    for (long i = 0; i < 5000; ++i) {
      TKey* k = ks.make(i);
      ASSERT_EQ(m.assign(k, hash_of(i), i), MapStatus::inserted);
      TKey* pk;
      long pv;
      ASSERT_TRUE(m.pop_any(&pk, &pv));
      EXPECT_EQ(pk, k);
      Policy::release_key(pk);
      Policy::release_value(pv);
      ASSERT_EQ(m.contains(ks.make(i + 100000), hash_of(i + 100000)), MapStatus::absent);
    }
    EXPECT_EQ(m.size(), 1u);
    EXPECT_LT(m.memory_bytes(), 4096u);
  }
  ks.expect_balanced();
  EXPECT_EQ(g_value_refs.load(), 0);
}

}  // namespace

// ---------------------------------------------------------------- lock-free reads
// Keys and values with real lifetimes: freed when their last reference goes,
// so a reader that touched something released too early is a use after free
// (ASan / TSan report it) and, without sanitizers, a retain of a dead object
// is counted in g_resurrected.
namespace {

std::atomic<long> g_live{0};         // LKey + LVal objects alive
std::atomic<long> g_resurrected{0};  // retains of objects whose count was 0

struct LObj {
  explicit LObj(long v_) : v(v_) { g_live.fetch_add(1, std::memory_order_relaxed); }
  ~LObj() { g_live.fetch_sub(1, std::memory_order_relaxed); }
  long v;                    // key: its number; value: the key number it was stored under
  std::atomic<int> refs{1};  // the creator's reference
};

void lretain(LObj* o) noexcept {
  if (o->refs.fetch_add(1, std::memory_order_relaxed) <= 0)
    g_resurrected.fetch_add(1, std::memory_order_relaxed);
}
void lrelease(LObj* o) noexcept {
  if (o->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete o;
}

struct LPolicy {
  using key_type = LObj*;
  using mapped_type = LObj*;
  static KeyMatch match(LObj* a, LObj* b) noexcept {
    return a->v == b->v ? KeyMatch::equal : KeyMatch::unequal;
  }
  static void retain_key(LObj* k) noexcept { lretain(k); }
  static void release_key(LObj* k) noexcept { lrelease(k); }
  static void retain_value(LObj* v) noexcept { lretain(v); }
  static void release_value(LObj* v) noexcept { lrelease(v); }
  static int slow_equal(LObj* a, LObj* b) { return a->v == b->v; }
};
using LMap = ShardedMap<LPolicy>;

std::size_t lhash(long v) { return static_cast<std::size_t>(v) * 0x9E3779B1u; }

/// Store a fresh key object and a fresh value object for key number i.
MapStatus lassign(LMap& m, long i) {
  LObj* k = new LObj(i);
  LObj* v = new LObj(i);
  MapStatus st = m.assign(k, lhash(i), v);
  lrelease(k);  // the map holds its own references (or kept its stored key)
  lrelease(v);
  return st;
}

TEST(ShardedMapLockFree, ReadersRaceWritersResizesAndClear) {
  constexpr long kKeys = 300;
  const long ops = itest::scaled(200000);
  {
    LMap m(3);
    std::vector<LObj*> probes;  // readers' own key objects: equal, never identical
    for (long i = 0; i < kKeys; ++i) probes.push_back(new LObj(i));
    std::atomic<int> running{0};
    std::atomic<long> found{0}, mismatched{0};
    std::vector<std::thread> ts;
    for (int w = 0; w < 2; ++w)
      ts.emplace_back([&, w] {
        running.fetch_add(1);
        std::mt19937 rng(10 + w);
        for (long n = 0; n < ops; ++n) {
          long i = static_cast<long>(rng() % kKeys);
          unsigned op = rng() % 1000;
          if (op < 550) {
            lassign(m, i);  // replaces a value, or inserts (resizes as it grows)
          } else if (op < 800) {
            LObj* k = nullptr;
            LObj* v = nullptr;
            if (m.erase(probes[i], lhash(i), &k, &v) == MapStatus::found) {
              lrelease(k);  // handed over: dropped at once, as dict.pop's caller may
              lrelease(v);
            }
          } else if (op < 999) {
            m.erase(probes[i], lhash(i));
          } else if (w == 0 && op == 999) {
            m.clear();  // whole tables retired while readers probe them
          } else {
            LObj* k;
            LObj* v;
            if (m.pop_any(&k, &v)) {
              lrelease(k);
              lrelease(v);
            }
          }
        }
        running.fetch_sub(1);
      });
    for (int r = 0; r < 2; ++r)
      ts.emplace_back([&, r] {
        std::mt19937 rng(20 + r);
        while (running.load() == 0) std::this_thread::yield();
        long n = 0;
        while (running.load() > 0 || n < 1000) {
          long i = static_cast<long>(rng() % kKeys);
          ++n;
          if (rng() & 1) {
            LObj* v = nullptr;
            if (m.find(probes[i], lhash(i), &v) == MapStatus::found) {
              if (v->v != i) mismatched.fetch_add(1);  // a value of another key
              found.fetch_add(1, std::memory_order_relaxed);
              lrelease(v);
            }
          } else {
            (void)m.contains(probes[i], lhash(i));
          }
        }
      });
    for (auto& t : ts) t.join();
    EXPECT_EQ(mismatched.load(), 0);
    EXPECT_GT(found.load(), 0);
    EXPECT_TRUE(m.reclaim());  // nobody reads now: the limbo list empties
    EXPECT_EQ(m.deferred_count(), 0u);
    for (LObj* p : probes) lrelease(p);
  }
  EXPECT_EQ(g_resurrected.load(), 0);
  EXPECT_EQ(g_live.load(), 0);
}

TEST(ShardedMapLockFree, StableKeysAreAlwaysFoundDuringResizes) {
  // Writers grow and shrink the tables around stable keys; a lock-free read of
  // a stable key must never miss it (a probe of a half-built or stale table
  // would).
  constexpr long kStable = 64, kChurn = 2000;
  const long rounds = itest::scaled(30);
  {
    LMap m(2);
    for (long i = 0; i < kStable; ++i) ASSERT_EQ(lassign(m, i), MapStatus::inserted);
    std::vector<LObj*> probes;
    for (long i = 0; i < kStable; ++i) probes.push_back(new LObj(i));
    std::atomic<bool> stop{false};
    std::atomic<long> misses{0}, reads{0};
    std::thread writer([&] {
      for (long r = 0; r < rounds; ++r) {
        for (long i = kStable; i < kStable + kChurn; ++i) lassign(m, i);
        for (long i = kStable; i < kStable + kChurn; ++i) {
          LObj p(i);
          m.erase(&p, lhash(i));
        }
      }
      stop.store(true);
    });
    std::thread reader([&] {
      std::mt19937 rng(3);
      while (!stop.load(std::memory_order_relaxed)) {
        long i = static_cast<long>(rng() % kStable);
        LObj* v = nullptr;
        if (m.find(probes[i], lhash(i), &v) != MapStatus::found) {
          misses.fetch_add(1);
        } else {
          if (v->v != i) misses.fetch_add(1);
          lrelease(v);
        }
        if (m.contains(probes[i], lhash(i)) != MapStatus::found) misses.fetch_add(1);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
    writer.join();
    reader.join();
    EXPECT_EQ(misses.load(), 0) << "of " << reads.load();
    for (LObj* p : probes) lrelease(p);
  }
  EXPECT_EQ(g_resurrected.load(), 0);
  EXPECT_EQ(g_live.load(), 0);
}

struct LSetPolicy {
  using key_type = LObj*;
  using mapped_type = NoValue;
  static KeyMatch match(LObj* a, LObj* b) noexcept { return LPolicy::match(a, b); }
  static void retain_key(LObj* k) noexcept { lretain(k); }
  static void release_key(LObj* k) noexcept { lrelease(k); }
  static void retain_value(NoValue) noexcept {}
  static void release_value(NoValue) noexcept {}
  static int slow_equal(LObj* a, LObj* b) { return a->v == b->v; }
};

TEST(ShardedMapLockFree, SetContainsRacesInsertAndErase) {
  // The set flavour (no value field): lock-free `contains` compares stored
  // keys that writers erase (and free) concurrently.
  constexpr long kKeys = 128;
  const long ops = itest::scaled(100000);
  {
    ShardedMap<LSetPolicy> m(2);
    std::vector<LObj*> probes;
    for (long i = 0; i < kKeys; ++i) probes.push_back(new LObj(i));
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      std::mt19937 rng(5);
      for (long n = 0; n < ops; ++n) {
        long i = static_cast<long>(rng() % kKeys);
        if (rng() & 1) {
          LObj* k = new LObj(i);
          m.insert_absent(k, lhash(i), {}, nullptr);
          lrelease(k);
        } else {
          m.erase(probes[i], lhash(i));
        }
      }
      stop.store(true);
    });
    std::atomic<long> hits{0};
    std::thread reader([&] {
      std::mt19937 rng(6);
      while (!stop.load(std::memory_order_relaxed)) {
        long i = static_cast<long>(rng() % kKeys);
        if (m.contains(probes[i], lhash(i)) == MapStatus::found) hits.fetch_add(1);
      }
    });
    writer.join();
    reader.join();
    EXPECT_TRUE(m.reclaim());
    for (LObj* p : probes) lrelease(p);
  }
  EXPECT_EQ(g_resurrected.load(), 0);
  EXPECT_EQ(g_live.load(), 0);
}

TEST(ShardedMapLockFree, ReleaseIsImmediateWithoutReadersAndDeferredWithOne) {
  {
    LMap m(1);
    LObj* key = new LObj(1);
    LObj* v1 = new LObj(1);
    ASSERT_EQ(m.assign(key, lhash(1), v1), MapStatus::inserted);
    lretain(v1);  // watch v1: our extra reference
    LObj* v2 = new LObj(1);
    ASSERT_EQ(m.assign(key, lhash(1), v2), MapStatus::found);
    // Nobody was reading: the map's reference to v1 went before assign returned.
    EXPECT_EQ(v1->refs.load(), 2);  // ours: creation + watch
    EXPECT_EQ(m.deferred_count(), 0u);
    lrelease(v1);
    lrelease(v1);

    // A thread stays inside a read section: what a write unlinks must wait.
    std::atomic<int> phase{0};
    std::thread reader([&] {
      {
        interlock::ReadSection rs;
        ASSERT_TRUE(rs.active());
        phase.store(1);
        while (phase.load() != 2) std::this_thread::yield();
      }
      phase.store(3);
    });
    while (phase.load() != 1) std::this_thread::yield();
    EXPECT_FALSE(interlock::wait_for_readers(100));
    lretain(v2);  // watch v2
    LObj* v3 = new LObj(1);
    ASSERT_EQ(m.assign(key, lhash(1), v3), MapStatus::found);
    lrelease(v3);
    EXPECT_EQ(v2->refs.load(), 3);  // creation + watch + the limbo list's
    EXPECT_EQ(m.deferred_count(), 1u);
    LObj* k = nullptr;
    LObj* v = nullptr;
    ASSERT_EQ(m.erase(key, lhash(1), &k, &v), MapStatus::found);  // handed over
    EXPECT_EQ(v, v3);
    EXPECT_EQ(v3->refs.load(), 2);  // ours now + the limbo list's extra one
    EXPECT_EQ(m.deferred_count(), 3u);
    lrelease(k);
    lrelease(v);
    EXPECT_FALSE(m.reclaim(100));  // the reader is still inside
    phase.store(2);
    reader.join();
    // The next read releases the list (nobody is inside any more).
    EXPECT_EQ(m.contains(key, lhash(1)), MapStatus::absent);
    EXPECT_EQ(m.deferred_count(), 0u);
    EXPECT_EQ(v2->refs.load(), 2);
    lrelease(v2);
    lrelease(v2);
    lrelease(key);
  }
  EXPECT_EQ(g_resurrected.load(), 0);
  EXPECT_EQ(g_live.load(), 0);
}

TEST(ShardedMapLockFree, DestroyingTheMapReleasesTheLimboList) {
  {
    LMap m(1);
    std::atomic<int> phase{0};
    std::thread reader([&] {
      interlock::ReadSection rs;
      phase.store(1);
      while (phase.load() != 2) std::this_thread::yield();
    });
    while (phase.load() != 1) std::this_thread::yield();
    for (long i = 0; i < 50; ++i) lassign(m, i);  // resizes retire arrays
    m.clear();
    EXPECT_GT(m.deferred_count(), 0u);
    phase.store(2);
    reader.join();
  }  // ~ShardedMap releases everything
  EXPECT_EQ(g_live.load(), 0);
}

TEST(ShardedMapLockFree, ReadSectionsOnManyThreadsReuseSlots) {
  // A thread's slot is given back when it exits: short-lived readers do not
  // grow the registry without bound.
  LMap m(1);
  lassign(m, 1);
  LObj probe(1);
  probe.refs.store(1000);  // never freed: a stack object
  for (int i = 0; i < 50; ++i) {
    std::thread t([&] { EXPECT_EQ(m.contains(&probe, lhash(1)), MapStatus::found); });
    t.join();
  }
  EXPECT_LE(interlock::grace_slot_count(), 8u);
}

}  // namespace
