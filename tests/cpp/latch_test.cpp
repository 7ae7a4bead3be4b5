// Tests for interlock::Latch.
#include "interlock/latch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "interlock/parking_lot.hpp"
#include "interlock/wait_hooks.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::Latch;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

TEST(Latch, CountDownSemantics) {
  Latch l(3);
  EXPECT_EQ(l.count(), 3u);
  EXPECT_FALSE(l.try_wait());
  EXPECT_EQ(l.count_down(), 2u);
  EXPECT_EQ(l.count_down(0), 2u);
  EXPECT_EQ(l.count(), 2u);
  EXPECT_EQ(l.count_down(5), 0u);  // clamped at zero
  EXPECT_EQ(l.count(), 0u);
  EXPECT_TRUE(l.try_wait());
  EXPECT_EQ(l.count_down(), 0u);  // stays open
  EXPECT_TRUE(l.try_wait());
  l.wait();
  EXPECT_EQ(l.wait_until(Deadline::immediate()), WaitStatus::ok);
}

TEST(Latch, ZeroIsOpen) {
  Latch l(0);
  EXPECT_TRUE(l.try_wait());
  Stopwatch sw;
  l.wait();
  l.arrive_and_wait();
  EXPECT_EQ(l.count(), 0u);
  EXPECT_LT(sw.ms(), 1000.0);
}

TEST(Latch, MaxCount) {
  Latch l(Latch::max_count);
  EXPECT_EQ(l.count(), Latch::max_count);
  EXPECT_EQ(l.count_down(Latch::max_count - 1), 1u);
  EXPECT_EQ(l.count_down(), 0u);
  EXPECT_TRUE(l.try_wait());
}

TEST(Latch, WaitTimesOut) {
  Latch l(1);
  EXPECT_EQ(l.wait_until(Deadline::immediate()), WaitStatus::timed_out);
  Stopwatch sw;
  EXPECT_EQ(l.wait_until(Deadline::after(50ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 50.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_EQ(pl::waiter_count(&l), 0u);
  // The PARKED bit left behind does not disturb the count.
  EXPECT_EQ(l.count(), 1u);
  EXPECT_EQ(l.count_down(), 0u);
  EXPECT_TRUE(l.try_wait());
}

TEST(Latch, LastCountDownWakesAllWaiters) {
  Latch l(2);
  constexpr int kN = 4;
  std::atomic<int> through{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&, i] {
      if (i % 2)
        l.wait();
      else
        EXPECT_EQ(l.wait_until(Deadline::after(itest::kLong)), WaitStatus::ok);
      through.fetch_add(1);
    });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&l) == std::size_t(kN); }));
  EXPECT_EQ(l.count_down(), 1u);
  std::this_thread::sleep_for(10ms);  // nobody may pass yet (holds either way)
  EXPECT_EQ(through.load(), 0);
  EXPECT_EQ(l.count_down(), 0u);
  for (auto& t : ts) t.join();
  EXPECT_EQ(through.load(), kN);
  EXPECT_EQ(pl::waiter_count(&l), 0u);
}

TEST(Latch, ArriveAndWaitIsABarrierForOneRound) {
  const long rounds = itest::scaled(200);
  constexpr int kThreads = 4;
  for (long r = 0; r < rounds; ++r) {
    Latch l(kThreads);
    std::atomic<int> arrived{0}, early{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; ++i)
      ts.emplace_back([&] {
        arrived.fetch_add(1);
        l.arrive_and_wait();
        if (arrived.load() != kThreads) early.fetch_add(1);
      });
    for (auto& t : ts) t.join();
    ASSERT_EQ(early.load(), 0) << "round " << r;
    ASSERT_EQ(l.count(), 0u);
  }
}

TEST(Latch, ConcurrentCountDownsReachZeroExactlyOnce) {
  const long per_thread = itest::scaled(20000);
  constexpr int kThreads = 3;
  Latch l(std::uint64_t(per_thread) * kThreads);
  std::atomic<int> zero_hits{0};
  std::atomic<bool> waiter_done{false};
  std::thread waiter([&] {
    EXPECT_EQ(l.wait_until(Deadline::after(itest::kLong)), WaitStatus::ok);
    waiter_done.store(true);
  });
  std::vector<std::thread> ts;
  for (int i = 0; i < kThreads; ++i)
    ts.emplace_back([&] {
      for (long k = 0; k < per_thread; ++k)
        if (l.count_down() == 0) zero_hits.fetch_add(1);
    });
  for (auto& t : ts) t.join();
  waiter.join();
  EXPECT_TRUE(waiter_done.load());
  EXPECT_EQ(zero_hits.load(), 1);
  EXPECT_EQ(l.count(), 0u);
}

TEST(Latch, WaitIsInterruptible) {
  Latch l(1);
  struct Ctx {
    std::atomic<int> calls{0};
  } ctx;
  interlock::WaitHooks hooks;
  hooks.ctx = &ctx;
  hooks.on_interrupt = +[](void* c) noexcept -> bool {
    static_cast<Ctx*>(c)->calls.fetch_add(1);
    return true;
  };
  hooks.poll_interval_ns = 20'000'000;
  WaitStatus s = WaitStatus::ok;
  double ms = 0;
  std::thread t([&] {
    interlock::ScopedWaitHooks scope(&hooks);
    Stopwatch sw;
    s = l.wait_until(Deadline::never());
    ms = sw.ms();
  });
  t.join();
  EXPECT_EQ(s, WaitStatus::interrupted);
  EXPECT_LT(ms, 2000.0);
  EXPECT_GE(ctx.calls.load(), 1);
  EXPECT_EQ(l.count(), 1u);
  EXPECT_EQ(l.count_down(), 0u);
}
