// Tests for interlock::Mutex.
#include "interlock/mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "interlock/event.hpp"
#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::Event;
using interlock::Mutex;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

namespace {
// Holds `m` on a helper thread until release() is called.
class HeldElsewhere {
 public:
  explicit HeldElsewhere(Mutex& m) : thread_([this, &m] {
    m.lock();
    locked_.notify();
    release_.wait();
    m.unlock();
  }) {
    locked_.wait();
  }
  void release() {
    release_.notify();
    if (thread_.joinable()) thread_.join();
  }
  ~HeldElsewhere() { release(); }

 private:
  Event locked_, release_;
  std::thread thread_;
};
}  // namespace

TEST(Mutex, IsOneByte) {
  static_assert(sizeof(Mutex) == 1);
  EXPECT_EQ(sizeof(Mutex), 1u);
  EXPECT_EQ(alignof(Mutex), 1u);
}

TEST(Mutex, ConstexprConstructible) {
  static constinit Mutex m;
  EXPECT_FALSE(m.is_locked());
  m.lock();
  EXPECT_TRUE(m.is_locked());
  m.unlock();
}

TEST(Mutex, LockUnlockTryLock) {
  Mutex m;
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.has_parked());
  m.lock();
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.lock_until(Deadline::immediate()), WaitStatus::ok);
  m.unlock();
  EXPECT_EQ(m.lock_until(Deadline::never()), WaitStatus::ok);
  m.unlock();
  EXPECT_TRUE(m.try_lock_for(0ms));
  m.unlock();
}

TEST(Mutex, TryLockFailsWhileHeldByAnotherThread) {
  Mutex m;
  HeldElsewhere held(m);
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.try_lock());
  held.release();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(Mutex, TryLockForTimesOut) {
  Mutex m;
  HeldElsewhere held(m);
  Stopwatch sw;
  EXPECT_FALSE(m.try_lock_for(50ms));
  EXPECT_GE(sw.ms(), 50.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_TRUE(m.is_locked());
  held.release();
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.has_parked());
  EXPECT_TRUE(m.try_lock_for(50ms));
  m.unlock();
}

TEST(Mutex, TryLockUntilTimesOut) {
  Mutex m;
  HeldElsewhere held(m);
  Stopwatch sw;
  EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 40ms));
  EXPECT_GE(sw.ms(), 40.0);
  EXPECT_LT(sw.ms(), 2000.0);
  // Another clock goes through the duration overload.
  sw.reset();
  EXPECT_FALSE(m.try_lock_until(std::chrono::system_clock::now() + 40ms));
  EXPECT_GE(sw.ms(), 30.0);  // clocks differ slightly; allow conversion slop
  EXPECT_LT(sw.ms(), 2000.0);
  // A time point in the past: fails at once.
  sw.reset();
  EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() - 1s));
  EXPECT_LT(sw.ms(), 1000.0);
}

TEST(Mutex, LockUntilImmediateOnHeldLockTimesOut) {
  Mutex m;
  HeldElsewhere held(m);
  Stopwatch sw;
  EXPECT_EQ(m.lock_until(Deadline::immediate()), WaitStatus::timed_out);
  EXPECT_LT(sw.ms(), 1000.0);
  sw.reset();
  EXPECT_EQ(m.lock_until(Deadline::after(30ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 30.0);
  EXPECT_LT(sw.ms(), 2000.0);
  held.release();
  EXPECT_EQ(m.lock_until(Deadline::immediate()), WaitStatus::ok);
  m.unlock();
}

TEST(Mutex, TimedOutWaiterLeavesMutexConsistent) {
  // Several waiters time out while the lock is held; afterwards the PARKED bit
  // must not leave the mutex wedged.
  Mutex m;
  {
    HeldElsewhere held(m);
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i)
      ts.emplace_back([&, i] { EXPECT_FALSE(m.try_lock_for(20ms + 10ms * i)); });
    for (auto& t : ts) t.join();
  }
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  m.lock();
  m.unlock();
  EXPECT_FALSE(m.is_locked());
}

TEST(Mutex, BlockedLockerAcquiresAfterUnlock) {
  Mutex m;
  m.lock();
  std::atomic<bool> acquired{false};
  std::thread t([&] {
    m.lock();
    acquired.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return m.has_parked() && pl::waiter_count(&m) == 1; }));
  EXPECT_FALSE(acquired.load());
  m.unlock();
  t.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.has_parked());
}

TEST(Mutex, LongParkedWaiterIsHandedTheLock) {
  // A waiter parked for well over ~1 ms is handed the lock by unlock(): the
  // unlocker cannot barge back in.
  Mutex m;
  m.lock();
  Event release;
  std::atomic<bool> acquired{false};
  std::thread t([&] {
    m.lock();
    acquired.store(true);
    release.wait();
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return m.has_parked() && pl::waiter_count(&m) == 1; }));
  std::this_thread::sleep_for(20ms);  // measure: the waiter has now waited > 1 ms
  m.unlock();
  EXPECT_FALSE(m.try_lock()) << "lock was not handed off to the long-parked waiter";
  EXPECT_TRUE(eventually([&] { return acquired.load(); }));
  release.notify();
  t.join();
  EXPECT_FALSE(m.is_locked());
}

TEST(Mutex, MutualExclusionStress) {
  Mutex m;
  constexpr int kThreads = 4;
  const long iters = itest::scaled(50000);
  long counter = 0;  // deliberately non-atomic
  std::atomic<int> inside{0};
  std::atomic<bool> violated{false};
  itest::StartGate gate;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      gate.wait();
      for (long i = 0; i < iters; ++i) {
        if ((i + t) % 7 == 0) {
          while (!m.try_lock()) std::this_thread::yield();
        } else if ((i + t) % 11 == 0) {
          while (m.lock_until(Deadline::after(1ms)) != WaitStatus::ok) {
          }
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
  EXPECT_FALSE(m.has_parked());
}

TEST(Mutex, TimedLockStressWithHandOffs) {
  // Short timeouts racing with unlocks and hand-offs (holders keep the lock
  // long enough for waiters to pass the ~1 ms fairness threshold).
  Mutex m;
  constexpr int kThreads = 4;
  const long iters = itest::scaled(1500);
  long counter = 0;
  std::atomic<long> acquired{0}, timeouts{0};
  std::atomic<int> inside{0};
  std::atomic<bool> violated{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (long i = 0; i < iters; ++i) {
        auto timeout = std::chrono::microseconds(((i * 7 + t * 13) % 5) * 400);  // 0..1.6 ms
        if (m.lock_until(Deadline::after(timeout)) != WaitStatus::ok) {
          timeouts.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (inside.fetch_add(1) != 0) violated.store(true);
        ++counter;
        if (i % 32 == 0) {
          auto until = std::chrono::steady_clock::now() + 1500us;
          while (std::chrono::steady_clock::now() < until) interlock::detail::cpu_relax();
        }
        inside.fetch_sub(1);
        acquired.fetch_add(1, std::memory_order_relaxed);
        m.unlock();
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_FALSE(violated.load());
  EXPECT_EQ(counter, acquired.load());
  EXPECT_EQ(acquired.load() + timeouts.load(), kThreads * iters);
  EXPECT_GT(acquired.load(), 0);
  EXPECT_FALSE(m.is_locked());
  // A stale PARKED bit may remain only if the last waiter timed out; the next
  // lock/unlock must clear it.
  m.lock();
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.has_parked());
}

TEST(Mutex, WorksWithStandardLockWrappers) {
  Mutex a, b;
  {
    std::scoped_lock lock(a, b);
    EXPECT_TRUE(a.is_locked());
    EXPECT_TRUE(b.is_locked());
  }
  EXPECT_FALSE(a.is_locked());
  EXPECT_FALSE(b.is_locked());
  {
    std::unique_lock lock(a);
    EXPECT_TRUE(lock.owns_lock());
    lock.unlock();
    EXPECT_FALSE(a.is_locked());
    EXPECT_TRUE(lock.try_lock());
    EXPECT_TRUE(a.is_locked());
  }
  EXPECT_FALSE(a.is_locked());
  {
    std::lock_guard g(a);
    std::unique_lock l2(a, std::try_to_lock);
    EXPECT_FALSE(l2.owns_lock());
    std::unique_lock l3(a, 10ms);  // timed: try_lock_for
    EXPECT_FALSE(l3.owns_lock());
  }
  {
    std::unique_lock l(a, std::chrono::steady_clock::now() + 10ms);
    EXPECT_TRUE(l.owns_lock());
  }
  EXPECT_FALSE(a.is_locked());
}

TEST(Mutex, ScopedLockOfTwoMutexesDoesNotDeadlock) {
  Mutex a, b;
  const long iters = itest::scaled(5000);
  long counter = 0;
  std::thread t1([&] {
    for (long i = 0; i < iters; ++i) {
      std::scoped_lock l(a, b);
      ++counter;
    }
  });
  std::thread t2([&] {
    for (long i = 0; i < iters; ++i) {
      std::scoped_lock l(b, a);
      ++counter;
    }
  });
  t1.join();
  t2.join();
  EXPECT_EQ(counter, 2 * iters);
}

TEST(Mutex, ParkedWaiterIsNotStarvedByBargers) {
  // Two threads re-lock in a tight loop; a third must still get the lock
  // promptly thanks to the ~1 ms hand-off.
  Mutex m;
  std::atomic<bool> stop{false};
  std::atomic<long> spins{0};
  long shared = 0;
  std::vector<std::thread> bargers;
  for (int i = 0; i < 2; ++i)
    bargers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        m.lock();
        ++shared;
        m.unlock();
        spins.fetch_add(1, std::memory_order_relaxed);
      }
    });
  ASSERT_TRUE(eventually([&] { return spins.load() > 1000; }));
  double worst = 0;
  for (int round = 0; round < 5; ++round) {
    double ms = 0;
    std::thread victim([&] {
      Stopwatch sw;
      m.lock();
      ms = sw.ms();
      ++shared;
      m.unlock();
    });
    victim.join();
    worst = std::max(worst, ms);
  }
  stop.store(true);
  for (auto& t : bargers) t.join();
  EXPECT_LT(worst, 1000.0 * (itest::kSanitized ? 2 : 1)) << "a waiter starved";
}

TEST(Mutex, HandOffChainManyWaiters) {
  // Many threads queue up; each takes and releases the lock once.
  Mutex m;
  m.lock();
  constexpr int kN = 6;
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&] {
      m.lock();
      done.fetch_add(1);
      m.unlock();
    });
  ASSERT_TRUE(eventually([&] { return m.has_parked(); }));
  std::this_thread::sleep_for(5ms);  // let more of them park (holds either way)
  m.unlock();
  for (auto& t : ts) t.join();
  EXPECT_EQ(done.load(), kN);
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.has_parked());
}

TEST(Mutex, ResetAfterFork) {
  Mutex m;
  m.lock();
  m.reset_after_fork();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(Mutex, TryUnlockIsACheckedUnlock) {
  Mutex m;
  EXPECT_FALSE(m.try_unlock());  // not locked: false, nothing changes
  EXPECT_FALSE(m.is_locked());
  m.lock();
  EXPECT_TRUE(m.try_unlock());
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.try_unlock());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(Mutex, TryUnlockFromAnotherThreadWakesAParkedWaiter) {
  Mutex m;
  m.lock();
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    m.lock();
    got = true;
    EXPECT_TRUE(m.try_unlock());
  });
  ASSERT_TRUE(eventually([&] { return m.has_parked(); }));
  std::thread([&] { EXPECT_TRUE(m.try_unlock()); }).join();  // any thread may release
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_FALSE(m.is_locked());
}

// Every thread locks, then releases twice: the second release races with the
// others' locks, releases and hand-offs. A checked unlock never aborts, each
// successful one undoes exactly one acquisition, and the mutex ends unlocked.
TEST(Mutex, RacingTryUnlocksReleaseEachAcquisitionOnce) {
  Mutex m;
  constexpr int kThreads = 4;
  constexpr int kIters = 20000;
  std::atomic<long> acquired{0}, released{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIters; ++i) {
        m.lock();
        acquired.fetch_add(1, std::memory_order_relaxed);
        if (m.try_unlock()) released.fetch_add(1, std::memory_order_relaxed);
        if (m.try_unlock()) released.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(acquired.load(), released.load());
  EXPECT_FALSE(m.is_locked());
}

TEST(MutexDeathTest, UnlockOfUnlockedMutexAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Mutex m;
        m.unlock();
      },
      "interlock: fatal error in Mutex::unlock: .*not locked");
}

TEST(MutexDeathTest, DoubleUnlockAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Mutex m;
        m.lock();
        m.unlock();
        m.unlock();
      },
      "not locked");
}
