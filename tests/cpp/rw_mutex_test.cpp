// Tests for interlock::RWMutex.
#include "interlock/rw_mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "interlock/event.hpp"
#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::Event;
using interlock::RWMutex;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

namespace {
// The parking keys documented in rw_mutex.hpp: readers park on &state_ (the
// only member, so the object's address), writers on &state_ + 1.
const void* reader_key(const RWMutex& m) { return &m; }
const void* writer_key(const RWMutex& m) { return reinterpret_cast<const char*>(&m) + 1; }
std::size_t parked_readers(const RWMutex& m) { return pl::waiter_count(reader_key(m)); }
std::size_t parked_writers(const RWMutex& m) { return pl::waiter_count(writer_key(m)); }

// Holds the lock (shared or exclusive) on a helper thread until release().
class Holder {
 public:
  Holder(RWMutex& m, bool exclusive) : thread_([this, &m, exclusive] {
    if (exclusive)
      m.lock();
    else
      m.lock_shared();
    locked_.notify();
    release_.wait();
    if (exclusive)
      m.unlock();
    else
      m.unlock_shared();
  }) {
    locked_.wait();
  }
  void release() {
    release_.notify();
    if (thread_.joinable()) thread_.join();
  }
  ~Holder() { release(); }

 private:
  Event locked_, release_;
  std::thread thread_;
};

void expect_free(const RWMutex& m) {
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.is_locked_exclusive());
  EXPECT_EQ(m.reader_count(), 0u);
}
}  // namespace

TEST(RWMutex, BasicExclusive) {
  RWMutex m;
  expect_free(m);
  m.lock();
  EXPECT_TRUE(m.is_locked());
  EXPECT_TRUE(m.is_locked_exclusive());
  EXPECT_EQ(m.reader_count(), 0u);
  EXPECT_FALSE(m.try_lock());
  EXPECT_FALSE(m.try_lock_shared());
  m.unlock();
  expect_free(m);
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  EXPECT_EQ(m.lock_until(Deadline::immediate()), WaitStatus::ok);
  m.unlock();
  expect_free(m);
}

TEST(RWMutex, BasicShared) {
  RWMutex m;
  m.lock_shared();
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.is_locked_exclusive());
  EXPECT_EQ(m.reader_count(), 1u);
  EXPECT_TRUE(m.try_lock_shared());
  EXPECT_EQ(m.reader_count(), 2u);
  EXPECT_EQ(m.lock_shared_until(Deadline::immediate()), WaitStatus::ok);
  EXPECT_TRUE(m.try_lock_shared_for(1ms));
  EXPECT_EQ(m.reader_count(), 4u);
  EXPECT_FALSE(m.try_lock());
  EXPECT_EQ(m.lock_until(Deadline::immediate()), WaitStatus::timed_out);
  for (int i = 0; i < 4; ++i) m.unlock_shared();
  expect_free(m);
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(RWMutex, TwoReadersInsideAtOnce) {
  RWMutex m;
  std::atomic<int> inside{0};
  std::atomic<int> both_seen{0};
  auto reader = [&] {
    m.lock_shared();
    inside.fetch_add(1);
    // Both readers must be inside together; a lock that serialised readers
    // would make this time out.
    if (eventually([&] { return inside.load() == 2; })) both_seen.fetch_add(1);
    m.unlock_shared();
  };
  std::thread a(reader), b(reader);
  a.join();
  b.join();
  EXPECT_EQ(both_seen.load(), 2);
  expect_free(m);
}

TEST(RWMutex, WriterExcludesReadersAndWriters) {
  RWMutex m;
  m.lock();
  std::atomic<bool> reader_in{false}, writer_in{false};
  std::thread r([&] {
    EXPECT_FALSE(m.try_lock_shared());
    m.lock_shared();
    reader_in.store(true);
    m.unlock_shared();
  });
  std::thread w([&] {
    EXPECT_FALSE(m.try_lock());
    m.lock();
    writer_in.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked_readers(m) == 1 && parked_writers(m) == 1; }));
  EXPECT_FALSE(reader_in.load());
  EXPECT_FALSE(writer_in.load());
  m.unlock();
  r.join();
  w.join();
  EXPECT_TRUE(reader_in.load());
  EXPECT_TRUE(writer_in.load());
  expect_free(m);
}

TEST(RWMutex, ReadersExcludeWriter) {
  RWMutex m;
  Holder r1(m, false);
  Holder r2(m, false);
  EXPECT_EQ(m.reader_count(), 2u);
  EXPECT_FALSE(m.try_lock());
  std::atomic<bool> writer_in{false};
  std::thread w([&] {
    m.lock();
    writer_in.store(true);
    EXPECT_EQ(m.reader_count(), 0u);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked_writers(m) == 1; }));
  // Writer preference: a new reader is held off while a writer is parked.
  EXPECT_FALSE(m.try_lock_shared());
  r1.release();
  std::this_thread::sleep_for(10ms);  // give the writer a chance to (wrongly) get in
  EXPECT_FALSE(writer_in.load());
  r2.release();
  w.join();
  EXPECT_TRUE(writer_in.load());
  expect_free(m);
}

TEST(RWMutex, TryLockSharedFailsWhileWriteLocked) {
  RWMutex m;
  Holder w(m, true);
  EXPECT_FALSE(m.try_lock_shared());
  EXPECT_FALSE(m.try_lock());
  EXPECT_EQ(m.lock_shared_until(Deadline::immediate()), WaitStatus::timed_out);
  w.release();
  EXPECT_TRUE(m.try_lock_shared());
  m.unlock_shared();
}

TEST(RWMutex, TimedVariantsTimeOut) {
  RWMutex m;
  {
    Holder w(m, true);
    Stopwatch sw;
    EXPECT_FALSE(m.try_lock_for(40ms));
    EXPECT_GE(sw.ms(), 40.0);
    EXPECT_LT(sw.ms(), 2000.0);
    sw.reset();
    EXPECT_FALSE(m.try_lock_shared_for(40ms));
    EXPECT_GE(sw.ms(), 40.0);
    EXPECT_LT(sw.ms(), 2000.0);
    sw.reset();
    EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 40ms));
    EXPECT_GE(sw.ms(), 40.0);
    sw.reset();
    EXPECT_FALSE(m.try_lock_shared_until(std::chrono::steady_clock::now() + 40ms));
    EXPECT_GE(sw.ms(), 40.0);
    sw.reset();
    EXPECT_EQ(m.lock_until(Deadline::after(40ms)), WaitStatus::timed_out);
    EXPECT_GE(sw.ms(), 40.0);
    sw.reset();
    EXPECT_EQ(m.lock_shared_until(Deadline::after(40ms)), WaitStatus::timed_out);
    EXPECT_GE(sw.ms(), 40.0);
    EXPECT_LT(sw.ms(), 2000.0);
    EXPECT_EQ(parked_readers(m), 0u);
    EXPECT_EQ(parked_writers(m), 0u);
  }
  expect_free(m);
  {
    Holder r(m, false);
    Stopwatch sw;
    EXPECT_FALSE(m.try_lock_for(40ms));
    EXPECT_GE(sw.ms(), 40.0);
    EXPECT_LT(sw.ms(), 2000.0);
    // The timed-out writer no longer holds readers off.
    EXPECT_TRUE(m.try_lock_shared());
    m.unlock_shared();
  }
  expect_free(m);
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  EXPECT_TRUE(m.try_lock_shared());
  m.unlock_shared();
  expect_free(m);
}

TEST(RWMutex, ReaderQueuedBehindTimedOutWriterIsLetIn) {
  // A reader holds the lock; a writer parks (with a timeout) and so makes a
  // second reader park behind it. When the writer gives up, the second reader
  // must be let in while the first still holds the lock.
  RWMutex m;
  Holder r1(m, false);
  std::thread w([&] { EXPECT_FALSE(m.try_lock_for(60ms)); });
  ASSERT_TRUE(eventually([&] { return parked_writers(m) == 1; }));
  std::atomic<bool> r2_in{false};
  std::thread r2([&] {
    EXPECT_TRUE(m.try_lock_shared_for(itest::kLong));
    r2_in.store(true);
    m.unlock_shared();
  });
  w.join();
  EXPECT_TRUE(eventually([&] { return r2_in.load(); })) << "reader stranded behind a gone writer";
  r2.join();
  r1.release();
  expect_free(m);
}

TEST(RWMutex, ReaderWriterInvariantStress) {
  RWMutex m;
  struct Data {
    long a = 0, b = 0, c = 0;
  } data;
  std::atomic<int> writers_in{0}, readers_in{0};
  std::atomic<int> violations{0};
  std::atomic<long> reads{0}, writes{0};
  const long iters = itest::scaled(4000);
  constexpr int kWriters = 2, kReaders = 3;

  auto write_section = [&](long v) {
    if (writers_in.fetch_add(1) != 0) violations.fetch_add(1);
    if (readers_in.load() != 0) violations.fetch_add(1);
    data.a = v;
    data.b = v;
    data.c = v;
    writes.fetch_add(1, std::memory_order_relaxed);
    writers_in.fetch_sub(1);
  };
  auto read_section = [&] {
    readers_in.fetch_add(1);
    if (writers_in.load() != 0) violations.fetch_add(1);
    long a = data.a, b = data.b, c = data.c;
    if (a != b || b != c) violations.fetch_add(1);
    reads.fetch_add(1, std::memory_order_relaxed);
    readers_in.fetch_sub(1);
  };

  itest::StartGate gate;
  std::vector<std::thread> ts;
  for (int w = 0; w < kWriters; ++w)
    ts.emplace_back([&, w] {
      gate.wait();
      for (long i = 0; i < iters; ++i) {
        long v = i * kWriters + w;
        switch (i % 6) {
          case 0:
            m.lock();
            write_section(v);
            m.unlock();
            break;
          case 1:
            while (!m.try_lock()) std::this_thread::yield();
            write_section(v);
            m.unlock_fair();
            break;
          case 2:
            if (m.try_lock_for(1ms)) {
              write_section(v);
              m.unlock();
            }
            break;
          case 3:
            m.lock();
            write_section(v);
            m.bump_exclusive();
            write_section(v + 1);
            m.unlock();
            break;
          case 4:
            // Downgrade: from here on we are a reader.
            m.lock();
            write_section(v);
            readers_in.fetch_add(1);  // count ourselves as a reader before letting others in
            m.downgrade();
            if (writers_in.load() != 0) violations.fetch_add(1);
            if (data.a != v || data.b != v || data.c != v) violations.fetch_add(1);
            readers_in.fetch_sub(1);
            m.unlock_shared();
            break;
          default:
            if (m.lock_until(Deadline::after(2ms)) == WaitStatus::ok) {
              write_section(v);
              m.unlock();
            }
        }
      }
    });
  for (int r = 0; r < kReaders; ++r)
    ts.emplace_back([&, r] {
      gate.wait();
      for (long i = 0; i < iters * 2; ++i) {
        switch ((i + r) % 5) {
          case 0:
            if (m.try_lock_shared()) {
              read_section();
              m.unlock_shared();
            }
            break;
          case 1:
            if (m.try_lock_shared_for(1ms)) {
              read_section();
              m.unlock_shared();
            }
            break;
          case 2:
            m.lock_shared();
            read_section();
            m.bump_shared();
            read_section();
            m.unlock_shared();
            break;
          default:
            m.lock_shared();
            read_section();
            m.unlock_shared();
        }
      }
    });
  gate.open();
  for (auto& t : ts) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_GT(writes.load(), 0);
  expect_free(m);
  EXPECT_EQ(parked_readers(m), 0u);
  EXPECT_EQ(parked_writers(m), 0u);
}

TEST(RWMutex, TimedStressKeepsInvariantsAndLeavesNoStrandedWaiters) {
  // Readers and writers with short timeouts, so that waiters leave the queues
  // while others hand the lock around. Every thread must finish, invariants
  // must hold, and the lock must end free with no parked bits stuck.
  RWMutex m;
  std::atomic<int> writers_in{0}, readers_in{0}, violations{0};
  std::atomic<long> ok_ops{0}, timeouts{0};
  const long iters = itest::scaled(3000);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (long i = 0; i < iters; ++i) {
        auto d = Deadline::after(std::chrono::microseconds(((i * 11 + t * 5) % 4) * 300));
        bool writer = (i + t) % 3 == 0;
        if (writer) {
          if (m.lock_until(d) != WaitStatus::ok) {
            timeouts.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          if (writers_in.fetch_add(1) != 0 || readers_in.load() != 0) violations.fetch_add(1);
          if (i % 50 == 0) std::this_thread::sleep_for(1ms);  // long hold: hand-offs kick in
          writers_in.fetch_sub(1);
          if (i % 2)
            m.unlock();
          else
            m.unlock_fair();
        } else {
          if (m.lock_shared_until(d) != WaitStatus::ok) {
            timeouts.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          readers_in.fetch_add(1);
          if (writers_in.load() != 0) violations.fetch_add(1);
          if (i % 40 == 0) std::this_thread::sleep_for(1ms);
          readers_in.fetch_sub(1);
          m.unlock_shared();
        }
        ok_ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(ok_ops.load() + timeouts.load(), 4 * iters);
  expect_free(m);
  EXPECT_EQ(parked_readers(m), 0u);
  EXPECT_EQ(parked_writers(m), 0u);
  // No stuck WRITERS_PARKED bit: a reader gets in at once; no stuck lock.
  EXPECT_TRUE(m.try_lock_shared());
  m.unlock_shared();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(RWMutex, WriterNotStarvedByReaderStream) {
  // Readers keep re-acquiring with overlapping holds, so the reader count
  // would never drop to zero on its own; a writer must still get in.
  RWMutex m;
  std::atomic<bool> stop{false};
  std::atomic<long> read_ops{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        m.lock_shared();
        for (int k = 0; k < 50; ++k) interlock::detail::cpu_relax();
        m.unlock_shared();
        read_ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  ASSERT_TRUE(eventually([&] { return read_ops.load() > 1000; }));
  double worst = 0;
  for (int round = 0; round < 5; ++round) {
    Stopwatch sw;
    bool ok = m.try_lock_for(itest::kLong);
    worst = std::max(worst, sw.ms());
    EXPECT_TRUE(ok);
    if (ok) {
      EXPECT_EQ(m.reader_count(), 0u);
      m.unlock();
    }
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_LT(worst, 1000.0 * (itest::kSanitized ? 2 : 1)) << "writer starved by readers";
  expect_free(m);
}

TEST(RWMutex, ReadersNotStarvedByWriterStream) {
  RWMutex m;
  std::atomic<bool> stop{false};
  std::atomic<long> write_ops{0};
  long shared = 0;
  std::vector<std::thread> writers;
  for (int i = 0; i < 2; ++i)
    writers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        m.lock();
        ++shared;
        m.unlock();
        write_ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  ASSERT_TRUE(eventually([&] { return write_ops.load() > 1000; }));
  double worst = 0;
  for (int round = 0; round < 5; ++round) {
    Stopwatch sw;
    bool ok = m.try_lock_shared_for(itest::kLong);
    worst = std::max(worst, sw.ms());
    EXPECT_TRUE(ok);
    if (ok) {
      EXPECT_FALSE(m.is_locked_exclusive());
      m.unlock_shared();
    }
  }
  stop.store(true);
  for (auto& t : writers) t.join();
  EXPECT_LT(worst, 1000.0 * (itest::kSanitized ? 2 : 1)) << "reader starved by writers";
  expect_free(m);
}

TEST(RWMutex, DowngradeLetsReadersInButNotWriters) {
  RWMutex m;
  m.lock();
  // A reader parked behind the writer is let in by the downgrade.
  std::atomic<bool> parked_reader_in{false};
  Event parked_reader_release;
  std::thread pr([&] {
    m.lock_shared();
    parked_reader_in.store(true);
    parked_reader_release.wait();
    m.unlock_shared();
  });
  ASSERT_TRUE(eventually([&] { return parked_readers(m) == 1; }));
  m.downgrade();
  EXPECT_FALSE(m.is_locked_exclusive());
  EXPECT_TRUE(eventually([&] { return parked_reader_in.load(); }));
  EXPECT_EQ(m.reader_count(), 2u);
  // New readers can enter, writers cannot.
  std::thread other([&] {
    EXPECT_TRUE(m.try_lock_shared());
    m.unlock_shared();
    EXPECT_FALSE(m.try_lock());
    EXPECT_FALSE(m.try_lock_for(20ms));
  });
  other.join();
  std::atomic<bool> writer_in{false};
  std::thread w([&] {
    m.lock();
    writer_in.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked_writers(m) == 1; }));
  EXPECT_FALSE(writer_in.load());
  m.unlock_shared();
  parked_reader_release.notify();
  pr.join();
  w.join();
  EXPECT_TRUE(writer_in.load());
  expect_free(m);
}

TEST(RWMutex, DowngradeWithoutWaiters) {
  RWMutex m;
  m.lock();
  m.downgrade();
  EXPECT_EQ(m.reader_count(), 1u);
  EXPECT_FALSE(m.is_locked_exclusive());
  EXPECT_TRUE(m.try_lock_shared());
  m.unlock_shared();
  m.unlock_shared();
  expect_free(m);
}

TEST(RWMutex, TryUnlockSharedIsACheckedUnlock) {
  RWMutex m;
  EXPECT_FALSE(m.try_unlock_shared());  // nothing held: false, nothing changes
  m.lock_shared();
  m.lock_shared();
  EXPECT_TRUE(m.try_unlock_shared());
  EXPECT_EQ(m.reader_count(), 1u);
  EXPECT_TRUE(m.try_unlock_shared());
  EXPECT_FALSE(m.try_unlock_shared());
  m.lock();
  EXPECT_FALSE(m.try_unlock_shared());  // a write hold is not a read hold
  EXPECT_TRUE(m.is_locked_exclusive());
  m.unlock();
  expect_free(m);
}

TEST(RWMutex, TryUnlockSharedOfTheLastReaderHandsToAParkedWriter) {
  RWMutex m;
  m.lock_shared();
  std::atomic<bool> writer_ran{false};
  std::thread w([&] {
    m.lock();
    writer_ran.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked_writers(m) == 1; }));
  std::thread([&] { EXPECT_TRUE(m.try_unlock_shared()); }).join();  // any thread may release
  w.join();
  EXPECT_TRUE(writer_ran.load());
  expect_free(m);
}

// Threads each take one read hold and then release twice, racing: exactly one
// release per hold succeeds, and the count never goes below zero.
TEST(RWMutex, RacingTryUnlockSharedReleasesEachHoldOnce) {
  RWMutex m;
  constexpr int kThreads = 4;
  constexpr int kIters = 20000;
  std::atomic<long> held{0}, released{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIters; ++i) {
        m.lock_shared();
        held.fetch_add(1, std::memory_order_relaxed);
        if (m.try_unlock_shared()) released.fetch_add(1, std::memory_order_relaxed);
        if (m.try_unlock_shared()) released.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(held.load(), released.load());
  expect_free(m);
}

TEST(RWMutex, BumpSharedLetsParkedWriterRun) {
  RWMutex m;
  // No writer waiting: a no-op.
  m.lock_shared();
  m.bump_shared();
  EXPECT_EQ(m.reader_count(), 1u);

  std::atomic<bool> writer_ran{false};
  std::thread w([&] {
    m.lock();
    writer_ran.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked_writers(m) == 1; }));
  EXPECT_FALSE(writer_ran.load());
  m.bump_shared();
  EXPECT_TRUE(writer_ran.load()) << "bump_shared returned before the parked writer ran";
  EXPECT_EQ(m.reader_count(), 1u);
  EXPECT_FALSE(m.is_locked_exclusive());
  m.unlock_shared();
  w.join();
  expect_free(m);
}

TEST(RWMutex, BumpExclusiveLetsWaitersRun) {
  RWMutex m;
  // Nobody waiting: a no-op.
  m.lock();
  m.bump_exclusive();
  EXPECT_TRUE(m.is_locked_exclusive());

  std::atomic<bool> reader_ran{false}, writer_ran{false};
  std::thread r([&] {
    m.lock_shared();
    reader_ran.store(true);
    m.unlock_shared();
  });
  ASSERT_TRUE(eventually([&] { return parked_readers(m) == 1; }));
  m.bump_exclusive();
  EXPECT_TRUE(reader_ran.load()) << "bump_exclusive returned before the parked reader ran";
  EXPECT_TRUE(m.is_locked_exclusive());
  r.join();

  std::thread w([&] {
    m.lock();
    writer_ran.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked_writers(m) == 1; }));
  m.bump_exclusive();
  EXPECT_TRUE(writer_ran.load()) << "bump_exclusive returned before the parked writer ran";
  EXPECT_TRUE(m.is_locked_exclusive());
  m.unlock();
  w.join();
  expect_free(m);
}

TEST(RWMutex, UnlockFairHandsLockToParkedWriter) {
  RWMutex m;
  m.lock();
  std::atomic<bool> writer_in{false};
  Event release;
  std::thread w([&] {
    m.lock();
    writer_in.store(true);
    release.wait();
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked_writers(m) == 1; }));
  m.unlock_fair();
  // Handed off: the lock never became free, so we cannot barge back in.
  EXPECT_FALSE(m.try_lock());
  EXPECT_TRUE(m.is_locked_exclusive());
  EXPECT_TRUE(eventually([&] { return writer_in.load(); }));
  release.notify();
  w.join();
  expect_free(m);
  // unlock_fair with nobody waiting is a plain unlock.
  m.lock();
  m.unlock_fair();
  expect_free(m);
}

TEST(RWMutex, WriterUnlockHandsToAllParkedReaders) {
  RWMutex m;
  m.lock();
  constexpr int kN = 3;
  std::atomic<int> in{0};
  Event release;
  std::vector<std::thread> rs;
  for (int i = 0; i < kN; ++i)
    rs.emplace_back([&] {
      m.lock_shared();
      in.fetch_add(1);
      release.wait();
      m.unlock_shared();
    });
  ASSERT_TRUE(eventually([&] { return parked_readers(m) == std::size_t(kN); }));
  m.unlock();
  // All readers were handed the lock at once.
  EXPECT_EQ(m.reader_count(), std::size_t(kN));
  EXPECT_FALSE(m.try_lock());
  EXPECT_TRUE(eventually([&] { return in.load() == kN; }));
  release.notify();
  for (auto& t : rs) t.join();
  expect_free(m);
}

TEST(RWMutex, StandardWrappers) {
  RWMutex m;
  {
    std::shared_lock r1(m);
    std::shared_lock r2(m);
    EXPECT_TRUE(r1.owns_lock());
    EXPECT_TRUE(r2.owns_lock());
    EXPECT_EQ(m.reader_count(), 2u);
    std::unique_lock w(m, std::try_to_lock);
    EXPECT_FALSE(w.owns_lock());
    std::unique_lock w2(m, 10ms);
    EXPECT_FALSE(w2.owns_lock());
  }
  expect_free(m);
  {
    std::unique_lock w(m);
    EXPECT_TRUE(m.is_locked_exclusive());
    std::shared_lock r(m, std::try_to_lock);
    EXPECT_FALSE(r.owns_lock());
    std::shared_lock r2(m, 10ms);
    EXPECT_FALSE(r2.owns_lock());
  }
  expect_free(m);
  {
    std::shared_lock r(m, std::chrono::steady_clock::now() + 10ms);
    EXPECT_TRUE(r.owns_lock());
  }
  expect_free(m);
}

TEST(RWMutex, ResetAfterFork) {
  RWMutex m;
  m.lock();
  m.reset_after_fork();
  expect_free(m);
  m.lock_shared();
  m.reset_after_fork();
  expect_free(m);
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

// ---- CheckedRWMutex: holds owned by no thread, checked releases.

TEST(CheckedRWMutex, ReleasingWhatIsNotHeldReportsFalse) {
  interlock::CheckedRWMutex m;
  EXPECT_FALSE(m.try_unlock());
  EXPECT_FALSE(m.try_unlock(true));
  EXPECT_FALSE(m.try_downgrade());
  EXPECT_FALSE(m.try_bump_exclusive());
  EXPECT_FALSE(m.try_unlock_shared());
  EXPECT_FALSE(m.try_bump_shared());
  ASSERT_TRUE(m.try_lock_shared());
  EXPECT_FALSE(m.try_unlock());  // a read hold is not the write hold
  EXPECT_TRUE(m.try_unlock_shared());
  EXPECT_FALSE(m.is_locked());
}

TEST(CheckedRWMutex, AnyThreadReleasesTheWriteHoldOnce) {
  interlock::CheckedRWMutex m;
  std::thread([&] { ASSERT_TRUE(m.try_lock()); }).join();
  EXPECT_TRUE(m.is_locked_exclusive());
  EXPECT_TRUE(m.try_unlock());
  EXPECT_FALSE(m.try_unlock());
  EXPECT_FALSE(m.is_locked());
  ASSERT_EQ(m.lock_until(Deadline::never()), WaitStatus::ok);
  EXPECT_TRUE(m.try_unlock(true));
  EXPECT_FALSE(m.is_locked());
}

TEST(CheckedRWMutex, RacingReleasesOfOneWriteHoldSucceedOnce) {
  interlock::CheckedRWMutex m;
  for (int round = 0; round < 200; ++round) {
    ASSERT_TRUE(m.try_lock());
    std::atomic<int> wins{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
      ts.emplace_back([&, i] {
        // (Not try_bump_exclusive: it ends holding again, which a later
        // release may then rightly take.)
        const bool won = i == 0 ? m.try_downgrade() : m.try_unlock(i == 3);
        if (won) wins.fetch_add(1);
      });
    for (auto& t : ts) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_FALSE(m.is_locked_exclusive());  // the winner left a read hold or nothing
    while (m.try_unlock_shared()) {
    }
    ASSERT_FALSE(m.is_locked());
  }
}

TEST(CheckedRWMutex, DowngradeAndTimeouts) {
  interlock::CheckedRWMutex m;
  ASSERT_TRUE(m.try_lock());
  EXPECT_EQ(m.lock_until(Deadline::after(std::chrono::milliseconds(5))), WaitStatus::timed_out);
  EXPECT_EQ(m.lock_shared_until(Deadline::immediate()), WaitStatus::timed_out);
  EXPECT_TRUE(m.try_downgrade());
  EXPECT_FALSE(m.is_locked_exclusive());
  EXPECT_EQ(m.reader_count(), 1u);
  EXPECT_FALSE(m.try_unlock());
  EXPECT_TRUE(m.try_bump_shared());  // nobody waits: back at once
  EXPECT_TRUE(m.try_unlock_shared());
  ASSERT_TRUE(m.try_lock());
  m.reset_after_fork();
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.try_unlock());
}

TEST(RWMutexDeathTest, MisuseIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        RWMutex m;
        m.unlock();
      },
      "RWMutex::unlock: .*not write-locked");
  EXPECT_DEATH(
      {
        RWMutex m;
        m.unlock_shared();
      },
      "RWMutex::unlock_shared: .*not read-locked");
  EXPECT_DEATH(
      {
        RWMutex m;
        m.downgrade();
      },
      "RWMutex::downgrade");
}
