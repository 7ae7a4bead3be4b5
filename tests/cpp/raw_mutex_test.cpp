// Tests for interlock::RawMutex.
#include "interlock/raw_mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "test_util.hpp"

using interlock::RawMutex;
using itest::eventually;

TEST(RawMutex, LockUnlockTryLock) {
  RawMutex m;
  EXPECT_FALSE(m.is_locked());
  m.lock();
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  {
    std::lock_guard g(m);
    EXPECT_TRUE(m.is_locked());
  }
  EXPECT_FALSE(m.is_locked());
}

TEST(RawMutex, TryLockFailsWhileWaitersQueued) {
  // With waiters pushed on the state word, try_lock still sees LOCKED.
  RawMutex m;
  m.lock();
  std::atomic<int> entered{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; ++i)
    ts.emplace_back([&] {
      m.lock();
      entered.fetch_add(1);
      m.unlock();
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // let them queue (holds either way)
  EXPECT_FALSE(m.try_lock());
  EXPECT_EQ(entered.load(), 0);
  m.unlock();
  for (auto& t : ts) t.join();
  EXPECT_EQ(entered.load(), 3);
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(RawMutex, MutualExclusionStress) {
  RawMutex m;
  constexpr int kThreads = 4;
  const long iters = itest::scaled(50000);
  long counter = 0;
  std::atomic<int> inside{0};
  std::atomic<bool> violated{false};
  itest::StartGate gate;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      gate.wait();
      for (long i = 0; i < iters; ++i) {
        if ((i + t) % 5 == 0) {
          while (!m.try_lock()) std::this_thread::yield();
        } else {
          m.lock();
        }
        if (inside.fetch_add(1, std::memory_order_relaxed) != 0) violated.store(true);
        ++counter;
        inside.fetch_sub(1, std::memory_order_relaxed);
        m.unlock();
      }
    });
  gate.open();
  for (auto& t : ts) t.join();
  EXPECT_FALSE(violated.load());
  EXPECT_EQ(counter, kThreads * iters);
  EXPECT_FALSE(m.is_locked());
}

TEST(RawMutex, LongHoldWithSleepingWaiters) {
  // Holders keep the lock long enough for waiters to really go to sleep.
  RawMutex m;
  constexpr int kThreads = 4;
  const int iters = int(itest::scaled(200));
  long counter = 0;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < iters; ++i) {
        m.lock();
        long c = counter;
        for (int k = 0; k < 200; ++k) interlock::detail::cpu_relax();
        if (i % 50 == 0) std::this_thread::yield();
        counter = c + 1;
        m.unlock();
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(counter, long(kThreads) * iters);
  EXPECT_FALSE(m.is_locked());
}

TEST(RawMutex, ResetAfterFork) {
  RawMutex m;
  m.lock();
  m.reset_after_fork();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(RawMutexDeathTest, UnlockOfUnlockedRawMutexAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        RawMutex m;
        m.unlock();
      },
      "RawMutex::unlock: .*not locked");
}
