// Tests for interlock::SeqLock.
#include "interlock/seq_lock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.hpp"

using interlock::SeqLock;

TEST(SeqLock, SequenceParity) {
  SeqLock l;
  EXPECT_EQ(l.sequence(), 0u);
  EXPECT_FALSE(l.is_writing());
  EXPECT_EQ(l.begin_read(), 0u);
  l.lock_write();
  EXPECT_TRUE(l.is_writing());
  EXPECT_EQ(l.sequence(), 1u);
  EXPECT_FALSE(l.try_lock_write());
  l.unlock_write();
  EXPECT_FALSE(l.is_writing());
  EXPECT_EQ(l.sequence(), 2u);
  EXPECT_TRUE(l.try_lock_write());
  EXPECT_EQ(l.sequence(), 3u);
  l.unlock_write();
  EXPECT_EQ(l.sequence(), 4u);
  EXPECT_EQ(l.begin_read(), 4u);
}

TEST(SeqLock, EndReadDetectsInterveningWrite) {
  SeqLock l;
  std::uint32_t s = l.begin_read();
  EXPECT_TRUE(l.end_read(s));
  l.lock_write();
  EXPECT_FALSE(l.end_read(s));
  l.unlock_write();
  EXPECT_FALSE(l.end_read(s));
  std::uint32_t s2 = l.begin_read();
  EXPECT_NE(s2, s);
  EXPECT_TRUE(l.end_read(s2));
}

TEST(SeqLock, AbandonWriteLeavesSequenceUnchanged) {
  SeqLock l;
  l.lock_write();
  l.unlock_write();
  std::uint32_t before = l.sequence();
  std::uint32_t s = l.begin_read();
  l.lock_write();
  EXPECT_TRUE(l.is_writing());
  l.abandon_write();
  EXPECT_FALSE(l.is_writing());
  EXPECT_EQ(l.sequence(), before);
  // A read begun before the abandoned write is still valid.
  EXPECT_TRUE(l.end_read(s));
  EXPECT_EQ(l.begin_read(), before);
  // And the lock is usable again.
  EXPECT_TRUE(l.try_lock_write());
  l.unlock_write();
  EXPECT_EQ(l.sequence(), before + 2);
}

TEST(SeqLock, ResetAfterForkWithWriteInProgress) {
  SeqLock l;
  EXPECT_FALSE(l.reset_after_fork());  // nothing in progress: unchanged
  EXPECT_EQ(l.sequence(), 0u);
  l.lock_write();
  std::uint32_t odd = l.sequence();
  ASSERT_TRUE(odd & 1);
  EXPECT_TRUE(l.reset_after_fork());
  EXPECT_FALSE(l.is_writing());
  EXPECT_EQ(l.sequence() & 1, 0u);
  EXPECT_NE(l.sequence(), odd);
  // begin_read no longer blocks, and a fresh write works.
  std::uint32_t s = l.begin_read();
  EXPECT_EQ(s, l.sequence());
  EXPECT_TRUE(l.end_read(s));
  EXPECT_TRUE(l.try_lock_write());
  l.unlock_write();
  EXPECT_FALSE(l.reset_after_fork());
}

TEST(SeqLock, ReadHelperReturnsValue) {
  SeqLock l;
  std::atomic<int> x{7};
  EXPECT_EQ(l.read([&] { return x.load(std::memory_order_relaxed); }), 7);
}

TEST(SeqLock, BeginReadWaitsForWriterToFinish) {
  SeqLock l;
  l.lock_write();
  std::atomic<bool> done{false};
  std::uint32_t seen = 1;
  std::thread reader([&] {
    seen = l.begin_read();
    done.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // holds either way
  EXPECT_FALSE(done.load());
  l.unlock_write();
  reader.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(seen, 2u);
}

TEST(SeqLock, ReadersNeverSeeTornData) {
  SeqLock l;
  std::atomic<std::uint64_t> a{0}, b{0};
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0}, went_back{0}, reads{0};
  const std::uint64_t writes = std::uint64_t(itest::scaled(100000));
  constexpr int kReaders = 2;

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r)
    readers.emplace_back([&, r] {
      std::uint64_t last = 0;
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        std::uint64_t x, y;
        if ((n + r) % 2 == 0) {
          // Explicit begin/end retry loop.
          for (;;) {
            std::uint32_t s = l.begin_read();
            x = a.load(std::memory_order_relaxed);
            y = b.load(std::memory_order_relaxed);
            if (l.end_read(s)) break;
          }
        } else {
          // The read(f) helper.
          auto p = l.read([&] {
            return std::pair(a.load(std::memory_order_relaxed), b.load(std::memory_order_relaxed));
          });
          x = p.first;
          y = p.second;
        }
        if (x != y) torn.fetch_add(1);
        if (x < last) went_back.fetch_add(1);
        last = x;
        ++n;
      }
      reads.fetch_add(n);
    });

  // Two writers (mutually exclusive through the seqlock itself).
  std::atomic<std::uint64_t> next{1};
  auto writer = [&](bool use_try) {
    for (;;) {
      if (use_try) {
        while (!l.try_lock_write()) std::this_thread::yield();
      } else {
        l.lock_write();
      }
      std::uint64_t v = next.fetch_add(1, std::memory_order_relaxed);
      if (v > writes) {
        l.abandon_write();
        return;
      }
      a.store(v, std::memory_order_relaxed);
      b.store(v, std::memory_order_relaxed);
      l.unlock_write();
    }
  };
  std::thread w1(writer, false), w2(writer, true);
  w1.join();
  w2.join();
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(went_back.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(a.load(), writes);
  EXPECT_EQ(b.load(), writes);
  EXPECT_FALSE(l.is_writing());
  EXPECT_EQ(l.sequence(), 2 * writes);
}

TEST(SeqLockDeathTest, UnlockWithoutWriteIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        SeqLock l;
        l.unlock_write();
      },
      "SeqLock::unlock_write");
  EXPECT_DEATH(
      {
        SeqLock l;
        l.abandon_write();
      },
      "SeqLock::abandon_write");
}
