// Tests for interlock::Event.
#include "interlock/event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::Event;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

TEST(Event, StartsUnsetAndStaysSet) {
  Event e;
  EXPECT_FALSE(e.is_set());
  e.notify();
  EXPECT_TRUE(e.is_set());
  e.notify();  // idempotent
  EXPECT_TRUE(e.is_set());
  Stopwatch sw;
  e.wait();
  EXPECT_TRUE(e.wait_for(0ms));
  EXPECT_TRUE(e.wait_for(10s));
  EXPECT_EQ(e.wait_until(Deadline::immediate()), WaitStatus::ok);
  EXPECT_EQ(e.wait_until(Deadline::never()), WaitStatus::ok);
  EXPECT_LT(sw.ms(), 1000.0);
}

TEST(Event, WaitForTimesOut) {
  Event e;
  Stopwatch sw;
  EXPECT_FALSE(e.wait_for(50ms));
  EXPECT_GE(sw.ms(), 50.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_FALSE(e.is_set());
  sw.reset();
  EXPECT_FALSE(e.wait_for(0ms));
  EXPECT_LT(sw.ms(), 1000.0);
}

TEST(Event, WaitUntilDeadline) {
  Event e;
  EXPECT_EQ(e.wait_until(Deadline::immediate()), WaitStatus::timed_out);
  Stopwatch sw;
  EXPECT_EQ(e.wait_until(Deadline::after(40ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 40.0);
  EXPECT_LT(sw.ms(), 2000.0);
  std::thread t([&] {
    ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == 1; }));
    e.notify();
  });
  EXPECT_EQ(e.wait_until(Deadline::after(itest::kLong)), WaitStatus::ok);
  EXPECT_TRUE(e.is_set());
  t.join();
}

TEST(Event, NotifyWakesEveryWaiter) {
  Event e;
  constexpr int kN = 6;
  std::atomic<int> returned{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&, i] {
      if (i % 3 == 0)
        e.wait();
      else if (i % 3 == 1)
        EXPECT_TRUE(e.wait_for(itest::kLong));
      else
        EXPECT_EQ(e.wait_until(Deadline::after(itest::kLong)), WaitStatus::ok);
      returned.fetch_add(1);
    });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == std::size_t(kN); }));
  EXPECT_EQ(returned.load(), 0);
  e.notify();
  for (auto& t : ts) t.join();
  EXPECT_EQ(returned.load(), kN);
  EXPECT_EQ(pl::waiter_count(&e), 0u);
}

TEST(Event, TimedOutWaiterDoesNotBreakOthers) {
  Event e;
  std::thread long_waiter([&] { EXPECT_TRUE(e.wait_for(itest::kLong)); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == 1; }));
  EXPECT_FALSE(e.wait_for(20ms));
  e.notify();
  long_waiter.join();
  EXPECT_TRUE(e.is_set());
}

TEST(Event, NoLostWakeupStress) {
  // A fresh event per round; waiter and notifier race.
  const long rounds = itest::scaled(2000);
  for (long r = 0; r < rounds; ++r) {
    auto e = std::make_unique<Event>();
    std::thread notifier([&] {
      if (r % 3 == 0) std::this_thread::yield();
      e->notify();
    });
    bool ok = e->wait_for(itest::kLong);
    notifier.join();
    ASSERT_TRUE(ok) << "round " << r;
  }
}

TEST(Event, ManyWaitersManyRounds) {
  const long rounds = itest::scaled(200);
  for (long r = 0; r < rounds; ++r) {
    Event e;
    std::atomic<int> ok{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i)
      ts.emplace_back([&] {
        if (e.wait_until(Deadline::after(itest::kLong)) == WaitStatus::ok) ok.fetch_add(1);
      });
    e.notify();
    for (auto& t : ts) t.join();
    ASSERT_EQ(ok.load(), 3) << "round " << r;
  }
}
