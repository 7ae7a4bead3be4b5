// Tests for interlock::parking_lot.
#include "interlock/parking_lot.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "interlock/wait_hooks.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
namespace pl = interlock::parking_lot;
using interlock::Deadline;
using pl::ParkOptions;
using pl::ParkResult;
using itest::eventually;
using itest::Stopwatch;

namespace {

// Parks on `addr` (validate always true) with a generous deadline so that a
// lost wake-up shows up as a failure rather than a hang.
ParkResult park_simple(const void* addr, void* park_arg = nullptr,
                       Deadline deadline = Deadline::after(itest::kLong)) {
  auto validate = [] { return true; };
  ParkOptions o{validate};
  o.deadline = deadline;
  o.park_arg = park_arg;
  return pl::park(addr, o);
}

}  // namespace

TEST(ParkingLot, ValidateFalseReturnsInvalidWithoutSleeping) {
  int key = 0;
  int validate_calls = 0, before_sleep_calls = 0;
  auto validate = [&] {
    ++validate_calls;
    return false;
  };
  auto before_sleep = [&] { ++before_sleep_calls; };
  ParkOptions o{validate};
  o.before_sleep = before_sleep;
  o.deadline = Deadline::never();  // would hang forever if it slept
  Stopwatch sw;
  EXPECT_EQ(pl::park(&key, o), ParkResult::invalid);
  EXPECT_LT(sw.ms(), 1000.0);
  EXPECT_EQ(validate_calls, 1);
  EXPECT_EQ(before_sleep_calls, 0);
  EXPECT_EQ(pl::waiter_count(&key), 0u);
}

TEST(ParkingLot, ParkIfEqual) {
  std::atomic<int> word{1};
  // Value differs: does not sleep.
  EXPECT_EQ(pl::park_if_equal(&word, 0, Deadline::never()), ParkResult::invalid);
  // Value matches: sleeps until the deadline.
  Stopwatch sw;
  EXPECT_EQ(pl::park_if_equal(&word, 1, Deadline::after(20ms)), ParkResult::timed_out);
  EXPECT_GE(sw.ms(), 20.0);
  // Value matches and a thread changes it + unparks.
  std::thread t([&] {
    ASSERT_TRUE(eventually([&] { return pl::waiter_count(&word) == 1; }));
    word.store(2);
    EXPECT_TRUE(pl::unpark_one(&word));
  });
  EXPECT_EQ(pl::park_if_equal(&word, 1, Deadline::after(itest::kLong)), ParkResult::unparked);
  t.join();
  EXPECT_EQ(word.load(), 2);
}

TEST(ParkingLot, UnparkOneWithNobodyParked) {
  int key = 0;
  int calls = 0;
  void* seen_arg = reinterpret_cast<void*>(1);
  bool seen_more = true;
  bool woke = pl::unpark_one(&key, [&](void* arg, bool has_more) {
    ++calls;
    seen_arg = arg;
    seen_more = has_more;
  });
  EXPECT_FALSE(woke);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen_arg, nullptr);
  EXPECT_FALSE(seen_more);
  EXPECT_FALSE(pl::unpark_one(&key));
}

TEST(ParkingLot, UnparkOneIsFifoAndReportsParkArgAndHasMore) {
  int key = 0;
  constexpr int kN = 4;
  std::array<int, kN> ids{};
  std::array<std::atomic<int>, kN> result{};
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    ids[i] = i;
    result[i].store(-1);
    // Start thread i only once threads 0..i-1 are parked: a known FIFO order.
    ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == std::size_t(i); }));
    threads.emplace_back([&, i] { result[i].store(int(park_simple(&key, &ids[i]))); });
  }
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == std::size_t(kN); }));

  for (int i = 0; i < kN; ++i) {
    void* arg = nullptr;
    bool more = false;
    int calls = 0;
    EXPECT_TRUE(pl::unpark_one(&key, [&](void* a, bool has_more) {
      ++calls;
      arg = a;
      more = has_more;
    }));
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(arg, &ids[i]) << "unpark_one is not FIFO at position " << i;
    EXPECT_EQ(more, i + 1 < kN);
    // The woken thread is exactly the one whose park_arg we were given.
    EXPECT_TRUE(eventually([&] { return result[i].load() != -1; }));
    EXPECT_EQ(result[i].load(), int(ParkResult::unparked));
    EXPECT_EQ(pl::waiter_count(&key), std::size_t(kN - i - 1));
  }
  for (auto& t : threads) t.join();
}

TEST(ParkingLot, UnparkCallbackHandsOffThroughParkArg) {
  int key = 0;
  int slot = 0;
  std::thread t([&] {
    EXPECT_EQ(park_simple(&key, &slot), ParkResult::unparked);
    // The callback ran under the bucket lock before the wake-up: we see it.
    EXPECT_EQ(slot, 42);
  });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == 1; }));
  EXPECT_TRUE(pl::unpark_one(&key, [](void* arg, bool) { *static_cast<int*>(arg) = 42; }));
  t.join();
}

TEST(ParkingLot, UnparkAllWakesEveryWaiterAndCounts) {
  int key = 0;
  constexpr int kN = 5;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i)
    threads.emplace_back([&] {
      EXPECT_EQ(park_simple(&key), ParkResult::unparked);
      woken.fetch_add(1);
    });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == std::size_t(kN); }));
  int calls = 0, more_true = 0, last_more = -1;
  std::size_t n = pl::unpark_all(&key, [&](void* arg, bool has_more) {
    EXPECT_EQ(arg, nullptr);
    ++calls;
    more_true += has_more;
    last_more = has_more;
  });
  EXPECT_EQ(n, std::size_t(kN));
  EXPECT_EQ(calls, kN);
  EXPECT_EQ(more_true, kN - 1);
  EXPECT_EQ(last_more, 0);
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken.load(), kN);
  EXPECT_EQ(pl::waiter_count(&key), 0u);
}

TEST(ParkingLot, UnparkAllWithNobodyParked) {
  int key = 0;
  int calls = 0;
  void* seen = reinterpret_cast<void*>(1);
  bool more = true;
  EXPECT_EQ(pl::unpark_all(&key, [&](void* arg, bool has_more) {
              ++calls;
              seen = arg;
              more = has_more;
            }),
            0u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, nullptr);
  EXPECT_FALSE(more);
  EXPECT_EQ(pl::unpark_all(&key), 0u);
}

TEST(ParkingLot, UnparkSomeWakesAtMostNInFifoOrder) {
  int key = 0;
  constexpr int kN = 5;
  std::array<int, kN> ids{};
  std::array<std::atomic<bool>, kN> done{};
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    ids[i] = i;
    done[i].store(false);
    ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == std::size_t(i); }));
    threads.emplace_back([&, i] {
      EXPECT_EQ(park_simple(&key, &ids[i]), ParkResult::unparked);
      done[i].store(true);
    });
  }
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == std::size_t(kN); }));

  std::vector<std::pair<int, bool>> seen;
  auto record = [&](void* arg, bool more) {
    seen.emplace_back(arg ? *static_cast<int*>(arg) : -1, more);
  };
  EXPECT_EQ(pl::unpark_some(&key, 2, record), 2u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, 0);
  EXPECT_EQ(seen[1].first, 1);
  // Waiters remain on the address after each of these two.
  EXPECT_TRUE(seen[0].second);
  EXPECT_TRUE(seen[1].second);
  EXPECT_EQ(pl::waiter_count(&key), 3u);
  EXPECT_TRUE(eventually([&] { return done[0].load() && done[1].load(); }));
  EXPECT_FALSE(done[2].load() || done[3].load() || done[4].load());


  seen.clear();
  EXPECT_EQ(pl::unpark_some(&key, 10, record), 3u);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].first, 2);
  EXPECT_EQ(seen[1].first, 3);
  EXPECT_EQ(seen[2].first, 4);
  EXPECT_TRUE(seen[0].second);
  EXPECT_TRUE(seen[1].second);
  EXPECT_FALSE(seen[2].second);
  for (auto& t : threads) t.join();
  EXPECT_EQ(pl::waiter_count(&key), 0u);
}

TEST(ParkingLot, UnparkSomeZeroWakesNobodyAndKeepsHasMoreTrue) {
  // n == 0 wakes nobody. If the callback runs at all it must not claim that
  // nobody is parked: has_more means "waiters remain on the address", and
  // every primitive clears its PARKED bit when it sees has_more == false.
  int key = 0;
  std::thread t([&] { EXPECT_EQ(park_simple(&key), ParkResult::unparked); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == 1; }));
  int calls = 0;
  bool more = true;
  void* arg = reinterpret_cast<void*>(1);
  EXPECT_EQ(pl::unpark_some(&key, 0, [&](void* a, bool has_more) {
              ++calls;
              arg = a;
              more = has_more;
            }),
            0u);
  EXPECT_EQ(pl::waiter_count(&key), 1u);
  if (calls > 0) {
    EXPECT_EQ(arg, nullptr);
    EXPECT_TRUE(more) << "unpark_some(addr, 0, fn) called fn(nullptr, has_more=false) "
                         "although a waiter is still parked on addr";
  }
  EXPECT_TRUE(pl::unpark_one(&key));
  t.join();
}

TEST(ParkingLot, ParkTimesOutWithinTolerance) {
  int key = 0;
  int timed_out_calls = 0;
  bool timed_out_more = true;
  auto validate = [] { return true; };
  auto on_timeout = [&](bool has_more) {
    ++timed_out_calls;
    timed_out_more = has_more;
  };
  ParkOptions o{validate};
  o.timed_out = on_timeout;
  o.deadline = Deadline::after(50ms);
  Stopwatch sw;
  EXPECT_EQ(pl::park(&key, o), ParkResult::timed_out);
  double ms = sw.ms();
  EXPECT_GE(ms, 50.0);
  EXPECT_LT(ms, 2000.0);
  EXPECT_EQ(timed_out_calls, 1);
  EXPECT_FALSE(timed_out_more);
  EXPECT_EQ(pl::waiter_count(&key), 0u);
}

TEST(ParkingLot, ImmediateDeadlineTimesOutAtOnce) {
  int key = 0;
  Stopwatch sw;
  EXPECT_EQ(park_simple(&key, nullptr, Deadline::immediate()), ParkResult::timed_out);
  EXPECT_LT(sw.ms(), 1000.0);
  EXPECT_EQ(pl::waiter_count(&key), 0u);
}

TEST(ParkingLot, TimedOutCallbackSeesRemainingWaiters) {
  int key = 0;
  std::thread long_waiter([&] { EXPECT_EQ(park_simple(&key), ParkResult::unparked); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == 1; }));

  int calls = 0;
  bool more = false;
  auto validate = [] { return true; };
  auto on_timeout = [&](bool has_more) {
    ++calls;
    more = has_more;
  };
  ParkOptions o{validate};
  o.timed_out = on_timeout;
  o.deadline = Deadline::after(30ms);
  EXPECT_EQ(pl::park(&key, o), ParkResult::timed_out);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(more);
  EXPECT_EQ(pl::waiter_count(&key), 1u);
  EXPECT_EQ(pl::unpark_all(&key), 1u);
  long_waiter.join();
}

TEST(ParkingLot, TimedOutWaiterBehindAnotherKeepsQueueIntact) {
  // The first waiter times out; the second (later) one must still be wakeable.
  int key = 0;
  int first_arg = 1, second_arg = 2;
  std::thread first([&] {
    EXPECT_EQ(park_simple(&key, &first_arg, Deadline::after(40ms)), ParkResult::timed_out);
  });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) >= 1; }));
  std::thread second([&] { EXPECT_EQ(park_simple(&key, &second_arg), ParkResult::unparked); });
  first.join();
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == 1; }));
  void* arg = nullptr;
  EXPECT_TRUE(pl::unpark_one(&key, [&](void* a, bool) { arg = a; }));
  EXPECT_EQ(arg, &second_arg);
  second.join();
}

TEST(ParkingLot, BeforeSleepRunsAfterEnqueue) {
  // before_sleep wakes the very thread that is about to sleep: the waiter must
  // already be in the queue, so the unpark finds it and park returns unparked.
  int key = 0;
  bool woke_self = false;
  std::size_t count_in_before_sleep = 0;
  auto validate = [] { return true; };
  auto before_sleep = [&] {
    count_in_before_sleep = pl::waiter_count(&key);
    woke_self = pl::unpark_one(&key);
  };
  ParkOptions o{validate};
  o.before_sleep = before_sleep;
  o.deadline = Deadline::after(itest::kLong);
  Stopwatch sw;
  EXPECT_EQ(pl::park(&key, o), ParkResult::unparked);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_EQ(count_in_before_sleep, 1u);
  EXPECT_TRUE(woke_self);
  EXPECT_EQ(pl::waiter_count(&key), 0u);
}

TEST(ParkingLot, NotifyTriggeredByBeforeSleepIsNotLost) {
  // Like a condition variable: before_sleep publishes "I am waiting"; another
  // thread sees it and unparks right away. Repeated to hit the race window.
  const long rounds = itest::scaled(300);
  for (long r = 0; r < rounds; ++r) {
    int key = 0;
    std::atomic<bool> ready{false};
    std::atomic<bool> unparked{false};
    std::thread notifier([&] {
      while (!ready.load(std::memory_order_acquire)) std::this_thread::yield();
      unparked.store(pl::unpark_one(&key));
    });
    auto validate = [] { return true; };
    auto before_sleep = [&] { ready.store(true, std::memory_order_release); };
    ParkOptions o{validate};
    o.before_sleep = before_sleep;
    o.deadline = Deadline::after(itest::kLong);
    ParkResult res = pl::park(&key, o);
    notifier.join();
    ASSERT_EQ(res, ParkResult::unparked) << "round " << r;
    ASSERT_TRUE(unparked.load()) << "round " << r;
  }
}

TEST(ParkingLot, WaiterCount) {
  int key = 0;
  EXPECT_EQ(pl::waiter_count(&key), 0u);
  constexpr int kN = 3;
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i)
    threads.emplace_back([&] { EXPECT_EQ(park_simple(&key), ParkResult::unparked); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == std::size_t(kN); }));
  EXPECT_EQ(pl::unpark_all(&key), std::size_t(kN));
  EXPECT_EQ(pl::waiter_count(&key), 0u);
  for (auto& t : threads) t.join();
}

TEST(ParkingLot, AddressesAreIndependent) {
  // Waiters on one address are untouched by unparks of many other addresses,
  // some of which necessarily share its bucket.
  static std::array<char, 4096> keys{};
  std::thread t([&] { EXPECT_EQ(park_simple(&keys[0]), ParkResult::unparked); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&keys[0]) == 1; }));
  for (std::size_t i = 1; i < keys.size(); ++i) {
    ASSERT_FALSE(pl::unpark_one(&keys[i]));
    ASSERT_EQ(pl::unpark_all(&keys[i]), 0u);
  }
  EXPECT_EQ(pl::waiter_count(&keys[0]), 1u);
  EXPECT_TRUE(pl::unpark_one(&keys[0]));
  t.join();
}

TEST(ParkingLot, ValidationRaceNobodyHangs) {
  // Many threads park on one word while it is 0; another thread flips it to 1
  // and unparks everyone. Threads that validate after the flip must not sleep;
  // threads enqueued before it must be woken. Nobody may hit the deadline.
  const long rounds = itest::scaled(200);
  constexpr int kThreads = 4;
  for (long r = 0; r < rounds; ++r) {
    std::atomic<int> word{0};
    std::atomic<int> hung{0};
    itest::StartGate gate;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
      threads.emplace_back([&] {
        gate.wait();
        for (;;) {
          auto validate = [&] { return word.load() == 0; };
          ParkOptions o{validate};
          o.deadline = Deadline::after(itest::kLong);
          ParkResult res = pl::park(&word, o);
          if (res == ParkResult::timed_out) {
            hung.fetch_add(1);
            return;
          }
          if (word.load() != 0) return;
        }
      });
    gate.open();
    if (r % 2) std::this_thread::yield();
    word.store(1);
    pl::unpark_all(&word);
    for (auto& t : threads) t.join();
    ASSERT_EQ(hung.load(), 0) << "round " << r;
    ASSERT_EQ(pl::waiter_count(&word), 0u);
  }
}

TEST(ParkingLot, PingPongStress) {
  // Two threads hand a token back and forth through park/unpark_one.
  std::atomic<int> turn{0};
  const int rounds = int(itest::scaled(2000));
  auto player = [&](int me) {
    for (int i = 0; i < rounds; ++i) {
      while (turn.load() != me) {
        auto validate = [&] { return turn.load() != me; };
        ParkOptions o{validate};
        o.deadline = Deadline::after(itest::kLong);
        ASSERT_NE(pl::park(&turn, o), ParkResult::timed_out);
      }
      turn.store(1 - me);
      pl::unpark_one(&turn);
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
}

TEST(ParkingLot, NestedParkFromWaitHook) {
  // park() may be re-entered from a wait hook: here after_sleep parks briefly
  // on another address (guarded against recursion).
  struct Ctx {
    int other = 0;
    int nested_results[4] = {};
    int nested = 0;
    bool in_hook = false;
    std::atomic<int> sleeps{0};
  } ctx;
  interlock::WaitHooks hooks;
  hooks.ctx = &ctx;
  hooks.before_sleep = [](void* c) noexcept -> void* {
    static_cast<Ctx*>(c)->sleeps.fetch_add(1);
    return nullptr;
  };
  hooks.after_sleep = [](void* c, void*) noexcept {
    auto* x = static_cast<Ctx*>(c);
    if (x->in_hook || x->nested >= 4) return;
    x->in_hook = true;
    auto validate = [] { return true; };
    ParkOptions o{validate};
    o.deadline = Deadline::after(5ms);
    x->nested_results[x->nested++] = int(pl::park(&x->other, o));
    x->in_hook = false;
  };
  int key = 0;
  std::atomic<bool> done{false};
  std::thread t([&] {
    interlock::ScopedWaitHooks scope(&hooks);
    EXPECT_EQ(park_simple(&key), ParkResult::unparked);
    done.store(true);
  });
  // Unpark only once the outer park is really going to sleep (hooks running):
  // a post that arrives earlier is consumed without sleeping at all.
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&key) == 1 && ctx.sleeps.load() >= 1; }));
  EXPECT_TRUE(pl::unpark_one(&key));
  t.join();
  EXPECT_TRUE(done.load());
  EXPECT_GE(ctx.nested, 1);
  for (int i = 0; i < ctx.nested; ++i) EXPECT_EQ(ctx.nested_results[i], int(ParkResult::timed_out));
}

TEST(ParkingLot, HandOffNeverLostWhenWaitersTimeOut) {
  // Waiters park with tiny timeouts while an unparker hands each dequeued
  // waiter a token through park_arg. A waiter that was dequeued must report
  // `unparked` and hold its token even if its own timeout fired at the same
  // time; a waiter that reports timed_out must not have been given one.
  int key = 0;
  constexpr int kWaiters = 3;
  const long target = itest::scaled(3000);
  std::atomic<bool> stop{false};
  std::atomic<long> delivered{0}, received{0}, bad{0};
  std::vector<std::thread> waiters;
  for (int w = 0; w < kWaiters; ++w)
    waiters.emplace_back([&, w] {
      for (unsigned i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        int slot = 0;
        auto validate = [] { return true; };
        ParkOptions o{validate};
        o.park_arg = &slot;
        o.deadline = Deadline::after(std::chrono::microseconds((i * 37 + w * 101) % 300));
        ParkResult r = pl::park(&key, o);
        if (r == ParkResult::unparked) {
          if (slot != 1) bad.fetch_add(1);
          received.fetch_add(1);
        } else if (r == ParkResult::timed_out) {
          if (slot != 0) bad.fetch_add(1);
        } else {
          bad.fetch_add(1);
        }
      }
    });
  std::thread unparker([&] {
    while (delivered.load() < target) {
      pl::unpark_one(&key, [&](void* arg, bool) {
        if (arg) {
          *static_cast<int*>(arg) = 1;
          delivered.fetch_add(1);
        }
      });
      if (delivered.load() % 64 == 0) std::this_thread::yield();
    }
    stop.store(true);
  });
  unparker.join();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(delivered.load(), received.load());
  EXPECT_EQ(pl::waiter_count(&key), 0u);
}
