// Tests for interlock::ResettableEvent.
#include "interlock/resettable_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "interlock/parking_lot.hpp"
#include "interlock/wait_hooks.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::ResettableEvent;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

TEST(ResettableEvent, SetClearIsSet) {
  ResettableEvent e;
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  e.clear();
  EXPECT_FALSE(e.is_set());
  e.clear();
  EXPECT_FALSE(e.is_set());
  ResettableEvent initially_set(true);
  EXPECT_TRUE(initially_set.is_set());
  initially_set.wait();
  EXPECT_EQ(initially_set.wait_until(Deadline::immediate()), WaitStatus::ok);
}

TEST(ResettableEvent, WaitTimesOutWhenClear) {
  ResettableEvent e;
  EXPECT_EQ(e.wait_until(Deadline::immediate()), WaitStatus::timed_out);
  Stopwatch sw;
  EXPECT_EQ(e.wait_until(Deadline::after(50ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 50.0);
  EXPECT_LT(sw.ms(), 2000.0);
  // Set and cleared again: waits time out again.
  e.set();
  EXPECT_EQ(e.wait_until(Deadline::after(1ms)), WaitStatus::ok);
  e.clear();
  EXPECT_EQ(e.wait_until(Deadline::after(10ms)), WaitStatus::timed_out);
  EXPECT_EQ(pl::waiter_count(&e), 0u);
}

TEST(ResettableEvent, SetWakesAllWaiters) {
  ResettableEvent e;
  constexpr int kN = 4;
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&, i] {
      if (i % 2) {
        e.wait();
        ok.fetch_add(1);
      } else if (e.wait_until(Deadline::after(itest::kLong)) == WaitStatus::ok) {
        ok.fetch_add(1);
      }
    });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == std::size_t(kN); }));
  e.set();
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), kN);
  EXPECT_TRUE(e.is_set());
}

TEST(ResettableEvent, WaiterWokenBySetReportsOkEvenIfClearedAtOnce) {
  // threading.Event semantics: set() followed immediately by clear() still
  // releases every thread that was waiting at the time of set().
  ResettableEvent e;
  constexpr int kN = 3;
  std::atomic<int> ok{0}, timed_out{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&] {
      if (e.wait_until(Deadline::after(itest::kLong)) == WaitStatus::ok)
        ok.fetch_add(1);
      else
        timed_out.fetch_add(1);
    });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == std::size_t(kN); }));
  e.set();
  e.clear();
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), kN);
  EXPECT_EQ(timed_out.load(), 0);
  EXPECT_FALSE(e.is_set());
}

TEST(ResettableEvent, ClearWithParkedWaitersKeepsThemWaiting) {
  ResettableEvent e;
  std::atomic<bool> done{false};
  std::thread t([&] {
    EXPECT_EQ(e.wait_until(Deadline::after(itest::kLong)), WaitStatus::ok);
    done.store(true);
  });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == 1; }));
  e.clear();  // state is "clear with parked waiters": nothing to do
  std::this_thread::sleep_for(10ms);  // holds either way
  EXPECT_FALSE(done.load());
  EXPECT_EQ(pl::waiter_count(&e), 1u);
  e.set();
  t.join();
  EXPECT_TRUE(done.load());
}

TEST(ResettableEvent, PulsesAreNotLost) {
  // A setter pulses set(); clear(). Every waiter that was parked when a pulse
  // came must be released by it, so each waiter finishes its rounds long
  // before its generous deadline.
  ResettableEvent e;
  constexpr int kWaiters = 3;
  const int rounds = int(itest::scaled(300));
  std::atomic<int> finished{0}, timeouts{0};
  std::vector<std::thread> ts;
  for (int w = 0; w < kWaiters; ++w)
    ts.emplace_back([&] {
      for (int r = 0; r < rounds; ++r)
        if (e.wait_until(Deadline::after(itest::kLong)) != WaitStatus::ok) {
          timeouts.fetch_add(1);
          break;
        }
      finished.fetch_add(1);
    });
  Stopwatch sw;
  while (finished.load() < kWaiters && sw.ms() < 30000) {
    e.set();
    e.clear();
    std::this_thread::yield();
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(timeouts.load(), 0);
  EXPECT_EQ(finished.load(), kWaiters);
}

TEST(ResettableEvent, WaitIsInterruptible) {
  ResettableEvent e;
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
    s = e.wait_until(Deadline::never());
    ms = sw.ms();
  });
  t.join();
  EXPECT_EQ(s, WaitStatus::interrupted);
  EXPECT_LT(ms, 2000.0);
  EXPECT_GE(ctx.calls.load(), 1);
  EXPECT_FALSE(e.is_set());
  // Still usable afterwards.
  std::thread t2([&] { EXPECT_EQ(e.wait_until(Deadline::after(itest::kLong)), WaitStatus::ok); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == 1; }));
  e.set();
  t2.join();
}
