// Tests for interlock::OnceFlag and interlock::call_once.
#include "interlock/once.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "interlock/event.hpp"
#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::call_once;
using interlock::Deadline;
using interlock::OnceFlag;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

TEST(Once, RunsOnceSingleThread) {
  OnceFlag flag;
  EXPECT_FALSE(flag.is_done());
  int n = 0;
  call_once(flag, [&] { ++n; });
  EXPECT_TRUE(flag.is_done());
  call_once(flag, [&] { ++n; });
  call_once(flag, [&] { ++n; });
  EXPECT_EQ(n, 1);
}

TEST(Once, ForwardsArguments) {
  OnceFlag flag;
  int sum = 0;
  call_once(flag, [&](int a, int b) { sum = a + b; }, 2, 40);
  EXPECT_EQ(sum, 42);
}

TEST(Once, RunsExactlyOnceUnderContention) {
  const long rounds = itest::scaled(100);
  constexpr int kThreads = 6;
  for (long r = 0; r < rounds; ++r) {
    OnceFlag flag;
    std::atomic<int> runs{0};
    std::atomic<bool> initialised{false};
    std::atomic<int> early_returns{0};
    itest::StartGate gate;
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; ++i)
      ts.emplace_back([&] {
        gate.wait();
        call_once(flag, [&] {
          runs.fetch_add(1);
          if (r % 10 == 0) std::this_thread::sleep_for(2ms);  // make others park
          initialised.store(true);
        });
        // Nobody returns before the initialiser finished.
        if (!initialised.load()) early_returns.fetch_add(1);
        if (!flag.is_done()) early_returns.fetch_add(1);
      });
    gate.open();
    for (auto& t : ts) t.join();
    ASSERT_EQ(runs.load(), 1) << "round " << r;
    ASSERT_EQ(early_returns.load(), 0) << "round " << r;
  }
}

TEST(Once, WaitersParkUntilInitialiserFinishes) {
  OnceFlag flag;
  std::atomic<bool> release{false}, initialised{false}, started{false};
  std::thread runner([&] {
    call_once(flag, [&] {
      started.store(true);
      while (!release.load()) std::this_thread::yield();
      initialised.store(true);
    });
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  EXPECT_EQ(flag.begin(Deadline::immediate()), OnceFlag::Begin::timed_out);
  std::atomic<int> waiters_done{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] {
      call_once(flag, [&] { ADD_FAILURE() << "initialiser ran twice"; });
      EXPECT_TRUE(initialised.load());
      waiters_done.fetch_add(1);
    });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&flag) == 3; }));
  EXPECT_EQ(waiters_done.load(), 0);
  release.store(true);
  runner.join();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(waiters_done.load(), 3);
  EXPECT_TRUE(flag.is_done());
}

TEST(Once, ExceptionPropagatesAndLaterCallerRetries) {
  OnceFlag flag;
  int attempts = 0;
  EXPECT_THROW(call_once(flag,
                         [&] {
                           ++attempts;
                           throw std::runtime_error("boom");
                         }),
               std::runtime_error);
  EXPECT_FALSE(flag.is_done());
  EXPECT_EQ(attempts, 1);
  call_once(flag, [&] { ++attempts; });
  EXPECT_TRUE(flag.is_done());
  EXPECT_EQ(attempts, 2);
  call_once(flag, [&] { ++attempts; });
  EXPECT_EQ(attempts, 2);
}

TEST(Once, ParkedWaiterRetriesAfterInitialiserThrows) {
  OnceFlag flag;
  std::atomic<bool> second_ran{false};
  std::atomic<bool> thrown{false};
  std::thread waiter;
  std::thread runner([&] {
    try {
      call_once(flag, [&] {
        // While we run, another thread parks on the flag.
        waiter = std::thread([&] {
          call_once(flag, [&] { second_ran.store(true); });
          EXPECT_TRUE(flag.is_done());
        });
        EXPECT_TRUE(eventually([&] { return pl::waiter_count(&flag) == 1; }));
        throw std::runtime_error("first attempt fails");
      });
    } catch (const std::runtime_error&) {
      thrown.store(true);
    }
  });
  runner.join();
  waiter.join();
  EXPECT_TRUE(thrown.load());
  EXPECT_TRUE(second_ran.load());
  EXPECT_TRUE(flag.is_done());
}

TEST(Once, BeginFinishProtocol) {
  OnceFlag flag;
  ASSERT_EQ(flag.begin(), OnceFlag::Begin::run);
  EXPECT_FALSE(flag.is_done());
  // While running, others wait; with a deadline they time out.
  std::thread other([&] {
    EXPECT_EQ(flag.begin(Deadline::immediate()), OnceFlag::Begin::timed_out);
    Stopwatch sw;
    EXPECT_EQ(flag.begin(Deadline::after(40ms)), OnceFlag::Begin::timed_out);
    EXPECT_GE(sw.ms(), 40.0);
    EXPECT_LT(sw.ms(), 2000.0);
  });
  other.join();
  // Failure resets: the next begin runs again.
  flag.finish(false);
  EXPECT_FALSE(flag.is_done());
  ASSERT_EQ(flag.begin(), OnceFlag::Begin::run);
  std::atomic<int> result{-1};
  std::thread waiter([&] { result.store(int(flag.begin(Deadline::after(itest::kLong)))); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&flag) == 1; }));
  flag.finish(true);
  waiter.join();
  EXPECT_EQ(result.load(), int(OnceFlag::Begin::done));
  EXPECT_TRUE(flag.is_done());
  EXPECT_EQ(flag.begin(), OnceFlag::Begin::done);
  EXPECT_EQ(flag.begin(Deadline::immediate()), OnceFlag::Begin::done);
}

TEST(Once, FailureWakesWaiterWhichThenRuns) {
  OnceFlag flag;
  ASSERT_EQ(flag.begin(), OnceFlag::Begin::run);
  std::atomic<int> result{-1};
  std::thread waiter([&] {
    auto b = flag.begin(Deadline::after(itest::kLong));
    result.store(int(b));
    if (b == OnceFlag::Begin::run) flag.finish(true);
  });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&flag) == 1; }));
  flag.finish(false);
  waiter.join();
  EXPECT_EQ(result.load(), int(OnceFlag::Begin::run));
  EXPECT_TRUE(flag.is_done());
}

TEST(TrackedOnce, KnowsItsRunnerWhileRunning) {
  interlock::TrackedOnce o;
  EXPECT_EQ(o.runner(), 0u);
  ASSERT_EQ(o.flag.begin(), OnceFlag::Begin::run);
  o.start_run(7);
  EXPECT_EQ(o.runner(), 7u);
  o.end_run();
  EXPECT_EQ(o.runner(), 0u);
  o.flag.finish(true);
  EXPECT_TRUE(o.flag.is_done());
}

TEST(TrackedOnce, CallRunsOnceRefusesReentryAndRetriesAfterFailure) {
  using Call = interlock::TrackedOnce::Call;
  interlock::TrackedOnce o;
  auto direct = [](auto begin) { return begin(); };
  int runs = 0;
  EXPECT_EQ(o.call(1, direct, [&] { return ++runs, false; }), Call::failed);
  EXPECT_FALSE(o.flag.is_done());
  EXPECT_THROW(o.call(1, direct, [&]() -> bool { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_EQ(o.runner(), 0u);
  EXPECT_EQ(o.call(1, direct, [&] {
              EXPECT_EQ(o.runner(), 1u);
              EXPECT_EQ(o.call(1, direct, [&] { return ++runs, true; }), Call::reentrant);
              return ++runs, true;
            }),
            Call::ran);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(o.call(2, direct, [&] { return ++runs, true; }), Call::done);
  EXPECT_EQ(runs, 2);
}

TEST(TrackedOnce, CallWaitsForTheRunnerThroughTheOwnersWait) {
  using Call = interlock::TrackedOnce::Call;
  interlock::TrackedOnce o;
  std::atomic<int> waits{0};
  auto counted = [&](auto begin) { return waits.fetch_add(1), begin(); };
  interlock::Event started, go;
  std::thread runner([&] {
    EXPECT_EQ(o.call(1, counted, [&] { return started.notify(), go.wait(), true; }), Call::ran);
  });
  started.wait();
  std::thread waiter([&] { EXPECT_EQ(o.call(2, counted, [] { return true; }), Call::done); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&o.flag) == 1; }));
  go.notify();
  runner.join();
  waiter.join();
  EXPECT_EQ(waits.load(), 2);
}

// The child of fork() resets the Onces run by other threads (which do not
// exist there) and leaves alone the one its own thread is running. Simulated
// in-process: after_fork_in_child only needs to be called single-threaded.
TEST(TrackedOnce, AfterForkResetsOnlyOtherThreadsRuns) {
  interlock::TrackedOnce mine, theirs, finished;
  ASSERT_EQ(mine.flag.begin(), OnceFlag::Begin::run);
  mine.start_run(1);
  ASSERT_EQ(theirs.flag.begin(), OnceFlag::Begin::run);
  theirs.start_run(2);
  ASSERT_EQ(finished.flag.begin(), OnceFlag::Begin::run);
  finished.start_run(2);
  finished.end_run();
  finished.flag.finish(true);

  interlock::TrackedOnce::after_fork_in_child(1);
  EXPECT_EQ(theirs.runner(), 0u);
  ASSERT_EQ(theirs.flag.begin(), OnceFlag::Begin::run);  // runnable again
  theirs.flag.finish(true);
  EXPECT_EQ(mine.runner(), 1u);  // still running, still registered
  EXPECT_TRUE(finished.flag.is_done());
  mine.end_run();
  mine.flag.finish(true);
  interlock::TrackedOnce::after_fork_in_child(1);  // the registry is empty now
  EXPECT_TRUE(mine.flag.is_done());
}

TEST(Once, ResetAfterFork) {
  OnceFlag flag;
  ASSERT_EQ(flag.begin(), OnceFlag::Begin::run);
  flag.reset_after_fork();  // the "runner" does not exist in the child
  EXPECT_FALSE(flag.is_done());
  ASSERT_EQ(flag.begin(), OnceFlag::Begin::run);
  flag.finish(true);
  flag.reset_after_fork();  // done stays done
  EXPECT_TRUE(flag.is_done());
}

TEST(OnceDeathTest, FinishWithoutBeginIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        OnceFlag flag;
        flag.finish(true);
      },
      "OnceFlag::finish");
}
