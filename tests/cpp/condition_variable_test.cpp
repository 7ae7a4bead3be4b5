// Tests for interlock::ConditionVariable.
#include "interlock/condition_variable.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "interlock/mutex.hpp"
#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::ConditionVariable;
using interlock::Deadline;
using interlock::Mutex;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

namespace {
std::size_t parked(const ConditionVariable& cv) { return pl::waiter_count(&cv); }
}  // namespace

TEST(ConditionVariable, NotifyWithNobodyWaitingReturnsZero) {
  ConditionVariable cv;
  EXPECT_EQ(cv.notify_one(), 0u);
  EXPECT_EQ(cv.notify_all(), 0u);
  EXPECT_EQ(cv.notify(3), 0u);
  EXPECT_EQ(cv.notify(0), 0u);
}

TEST(ConditionVariable, WaitNotifyOneWithMutex) {
  Mutex m;
  ConditionVariable cv;
  bool ready = false;
  std::thread t([&] {
    m.lock();
    cv.wait(m, [&] { return ready; });
    EXPECT_TRUE(m.is_locked());
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return parked(cv) == 1; }));
  m.lock();
  ready = true;
  EXPECT_EQ(cv.notify_one(), 1u);
  m.unlock();
  t.join();
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(cv.notify_one(), 0u);
}

TEST(ConditionVariable, WaitNotifyWithUniqueLock) {
  Mutex m;
  ConditionVariable cv;
  int stage = 0;
  std::thread t([&] {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return stage == 1; });
    EXPECT_TRUE(lk.owns_lock());
    stage = 2;
    cv.notify_one();
  });
  {
    std::unique_lock lk(m);
    stage = 1;
    cv.notify_one();
    cv.wait(lk, [&] { return stage == 2; });
  }
  t.join();
  EXPECT_EQ(stage, 2);
}

TEST(ConditionVariable, WorksWithStdMutexToo) {
  std::mutex m;
  ConditionVariable cv;
  bool ready = false;
  std::thread t([&] {
    std::unique_lock lk(m);
    EXPECT_TRUE(cv.wait_for(lk, itest::kLong, [&] { return ready; }));
  });
  ASSERT_TRUE(eventually([&] { return parked(cv) == 1; }));
  {
    std::lock_guard g(m);
    ready = true;
  }
  cv.notify_all();
  t.join();
}

TEST(ConditionVariable, NotifyAllWakesEveryone) {
  Mutex m;
  ConditionVariable cv;
  constexpr int kN = 5;
  bool go = false;
  int woken = 0;
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&] {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return go; });
      ++woken;
    });
  ASSERT_TRUE(eventually([&] { return parked(cv) == std::size_t(kN); }));
  {
    std::lock_guard g(m);
    go = true;
  }
  EXPECT_EQ(cv.notify_all(), std::size_t(kN));
  for (auto& t : ts) t.join();
  EXPECT_EQ(woken, kN);
  EXPECT_EQ(cv.notify_all(), 0u);
}

TEST(ConditionVariable, NotifyNReturnsHowManyWoke) {
  Mutex m;
  ConditionVariable cv;
  constexpr int kN = 4;
  int tokens = 0;
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&] {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return tokens > 0; });
      --tokens;
    });
  ASSERT_TRUE(eventually([&] { return parked(cv) == std::size_t(kN); }));
  {
    std::lock_guard g(m);
    tokens = 3;
  }
  EXPECT_EQ(cv.notify(3), 3u);
  EXPECT_EQ(cv.notify(0), 0u);
  // Those three consume their tokens; the fourth stays parked.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard g(m);
    return tokens == 0;
  }));
  ASSERT_TRUE(eventually([&] { return parked(cv) == 1; }));
  {
    std::lock_guard g(m);
    tokens = 1;
  }
  EXPECT_EQ(cv.notify(10), 1u);
  for (auto& t : ts) t.join();
  EXPECT_EQ(cv.notify_one(), 0u);
}

TEST(ConditionVariable, WaitForPredicateTimesOut) {
  Mutex m;
  ConditionVariable cv;
  std::unique_lock lk(m);
  Stopwatch sw;
  EXPECT_FALSE(cv.wait_for(lk, 50ms, [] { return false; }));
  EXPECT_GE(sw.ms(), 50.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_TRUE(lk.owns_lock());
  EXPECT_TRUE(m.is_locked());
  // A true predicate returns at once.
  EXPECT_TRUE(cv.wait_for(lk, 10s, [] { return true; }));
  EXPECT_EQ(parked(cv), 0u);
  EXPECT_EQ(cv.notify_all(), 0u);
}

TEST(ConditionVariable, WaitForAndWaitUntilTimeOut) {
  Mutex m;
  ConditionVariable cv;
  m.lock();
  Stopwatch sw;
  EXPECT_FALSE(cv.wait_for(m, 40ms));
  EXPECT_GE(sw.ms(), 40.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_TRUE(m.is_locked());
  sw.reset();
  EXPECT_EQ(cv.wait_until(m, Deadline::after(40ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 40.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_TRUE(m.is_locked());
  EXPECT_EQ(cv.wait_until(m, Deadline::immediate()), WaitStatus::timed_out);
  EXPECT_TRUE(m.is_locked());
  m.unlock();
  // Nobody is left registered.
  EXPECT_EQ(cv.notify_all(), 0u);
}

TEST(ConditionVariable, WaitUntilReturnsOkWhenNotified) {
  Mutex m;
  ConditionVariable cv;
  bool flag = false;
  std::thread t([&] {
    std::unique_lock lk(m);
    while (!flag) ASSERT_NE(cv.wait_until(lk, Deadline::after(itest::kLong)), WaitStatus::timed_out);
  });
  ASSERT_TRUE(eventually([&] { return parked(cv) == 1; }));
  {
    std::lock_guard g(m);
    flag = true;
  }
  EXPECT_EQ(cv.notify_one(), 1u);
  t.join();
}

TEST(ConditionVariable, TimedOutWaiterDoesNotHideOthers) {
  Mutex m;
  ConditionVariable cv;
  bool go = false;
  std::thread long_waiter([&] {
    std::unique_lock lk(m);
    EXPECT_TRUE(cv.wait_for(lk, itest::kLong, [&] { return go; }));
  });
  ASSERT_TRUE(eventually([&] { return parked(cv) == 1; }));
  {
    std::unique_lock lk(m);
    EXPECT_FALSE(cv.wait_for(lk, 20ms, [] { return false; }));
  }
  // The long waiter is still registered: notify must find it.
  {
    std::lock_guard g(m);
    go = true;
  }
  EXPECT_EQ(cv.notify_one(), 1u);
  long_waiter.join();
}

TEST(ConditionVariable, BoundedBufferNoLostWakeups) {
  Mutex m;
  ConditionVariable not_full, not_empty;
  std::deque<long> buf;
  constexpr std::size_t kCap = 4;
  constexpr int kProducers = 2, kConsumers = 2;
  const long per_producer = itest::scaled(20000);
  long sum_in = 0, sum_out = 0, count_out = 0;
  bool producers_done = false;
  int producers_left = kProducers;

  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p)
    ts.emplace_back([&, p] {
      for (long i = 1; i <= per_producer; ++i) {
        long v = i * kProducers + p;
        std::unique_lock lk(m);
        if (i % 2)
          not_full.wait(lk, [&] { return buf.size() < kCap; });
        else
          while (buf.size() >= kCap)
            ASSERT_NE(not_full.wait_until(lk, Deadline::after(itest::kLong)), WaitStatus::timed_out);
        buf.push_back(v);
        sum_in += v;
        lk.unlock();
        not_empty.notify_one();
      }
      std::lock_guard g(m);
      if (--producers_left == 0) {
        producers_done = true;
        not_empty.notify_all();
      }
    });
  for (int c = 0; c < kConsumers; ++c)
    ts.emplace_back([&] {
      for (;;) {
        std::unique_lock lk(m);
        ASSERT_TRUE(not_empty.wait_for(lk, itest::kLong, [&] { return !buf.empty() || producers_done; }))
            << "lost wake-up";
        if (buf.empty()) return;
        sum_out += buf.front();
        ++count_out;
        buf.pop_front();
        lk.unlock();
        not_full.notify_one();
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(count_out, kProducers * per_producer);
  EXPECT_EQ(sum_in, sum_out);
  EXPECT_TRUE(buf.empty());
}

TEST(ConditionVariable, PingPongNotifyUnderLockAndOutside) {
  Mutex m;
  ConditionVariable cv;
  int turn = 0;
  const int rounds = int(itest::scaled(5000));
  auto player = [&](int me) {
    for (int i = 0; i < rounds; ++i) {
      std::unique_lock lk(m);
      ASSERT_TRUE(cv.wait_for(lk, itest::kLong, [&] { return turn == me; })) << "lost wake-up";
      turn = 1 - me;
      if (i % 2) {
        cv.notify_one();
      } else {
        lk.unlock();
        cv.notify_one();
      }
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
}
