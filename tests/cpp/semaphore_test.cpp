// Tests for interlock::Semaphore.
#include "interlock/semaphore.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::Semaphore;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

namespace {
// The semaphore parks its waiters on its state word, its only member.
std::size_t parked(const Semaphore& s) { return pl::waiter_count(&s); }
}  // namespace

TEST(Semaphore, CountingSemantics) {
  Semaphore s(3);
  EXPECT_EQ(s.value(), 3u);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  EXPECT_EQ(s.value(), 0u);
  s.release();
  EXPECT_EQ(s.value(), 1u);
  s.release(4);
  EXPECT_EQ(s.value(), 5u);
  s.acquire();
  EXPECT_EQ(s.acquire_until(Deadline::immediate()), WaitStatus::ok);
  EXPECT_TRUE(s.try_acquire_for(0ms));
  EXPECT_EQ(s.value(), 2u);
  s.release(0);  // no-op
  EXPECT_EQ(s.value(), 2u);
}

TEST(Semaphore, DefaultIsZero) {
  Semaphore s;
  EXPECT_EQ(s.value(), 0u);
  EXPECT_FALSE(s.try_acquire());
  EXPECT_EQ(s.acquire_until(Deadline::immediate()), WaitStatus::timed_out);
}

TEST(Semaphore, LargeCounts) {
  Semaphore s(Semaphore::max_count - 1);
  EXPECT_EQ(s.value(), Semaphore::max_count - 1);
  s.release();
  EXPECT_EQ(s.value(), Semaphore::max_count);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_EQ(s.value(), Semaphore::max_count - 1);
}

TEST(Semaphore, TryAcquireForTimesOut) {
  Semaphore s;
  Stopwatch sw;
  EXPECT_FALSE(s.try_acquire_for(50ms));
  EXPECT_GE(sw.ms(), 50.0);
  EXPECT_LT(sw.ms(), 2000.0);
  sw.reset();
  EXPECT_EQ(s.acquire_until(Deadline::after(30ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 30.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_EQ(parked(s), 0u);
  // The PARKED bit did not leak into the count or wedge release().
  s.release();
  EXPECT_EQ(s.value(), 1u);
  EXPECT_TRUE(s.try_acquire());
}

TEST(Semaphore, BlockedAcquireIsServedByRelease) {
  Semaphore s;
  std::atomic<bool> got{false};
  std::thread t([&] {
    s.acquire();
    got.store(true);
  });
  ASSERT_TRUE(eventually([&] { return parked(s) == 1; }));
  EXPECT_FALSE(got.load());
  s.release();
  t.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(s.value(), 0u);
}

TEST(Semaphore, ReleaseHandsPermitToParkedWaiter) {
  // With a waiter parked, release() gives it the permit directly: the count
  // never becomes visible to a barging try_acquire.
  Semaphore s;
  std::atomic<bool> got{false};
  std::thread t([&] {
    EXPECT_TRUE(s.try_acquire_for(itest::kLong));
    got.store(true);
  });
  ASSERT_TRUE(eventually([&] { return parked(s) == 1; }));
  s.release();
  EXPECT_EQ(s.value(), 0u);
  EXPECT_FALSE(s.try_acquire());
  t.join();
  EXPECT_TRUE(got.load());
}

TEST(Semaphore, ReleaseNWakesNWaiters) {
  Semaphore s;
  constexpr int kN = 4;
  std::atomic<int> acquired{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i)
    ts.emplace_back([&] {
      EXPECT_TRUE(s.try_acquire_for(itest::kLong));
      acquired.fetch_add(1);
    });
  ASSERT_TRUE(eventually([&] { return parked(s) == std::size_t(kN); }));
  s.release(2);
  EXPECT_TRUE(eventually([&] { return acquired.load() == 2; }));
  std::this_thread::sleep_for(10ms);  // nobody else may get in (holds either way)
  EXPECT_EQ(acquired.load(), 2);
  EXPECT_EQ(parked(s), 2u);
  EXPECT_EQ(s.value(), 0u);
  // More permits than waiters: the surplus stays in the count.
  s.release(5);
  for (auto& t : ts) t.join();
  EXPECT_EQ(acquired.load(), kN);
  EXPECT_EQ(s.value(), 3u);
  EXPECT_EQ(parked(s), 0u);
}

TEST(Semaphore, WaitersAreServedFifo) {
  Semaphore s;
  constexpr int kN = 4;
  std::array<std::atomic<bool>, kN> done{};
  std::vector<std::thread> ts;
  for (int i = 0; i < kN; ++i) {
    done[i].store(false);
    // Thread i starts once 0..i-1 are parked, so the queue order is known.
    ASSERT_TRUE(eventually([&] { return parked(s) == std::size_t(i); }));
    ts.emplace_back([&, i] {
      EXPECT_TRUE(s.try_acquire_for(itest::kLong));
      done[i].store(true);
    });
  }
  ASSERT_TRUE(eventually([&] { return parked(s) == std::size_t(kN); }));
  for (int i = 0; i < kN; ++i) {
    s.release();
    ASSERT_TRUE(eventually([&] { return done[i].load(); })) << "waiter " << i << " not served";
    for (int j = i + 1; j < kN; ++j) EXPECT_FALSE(done[j].load()) << "waiter " << j << " jumped the queue";
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(s.value(), 0u);
}

TEST(Semaphore, TimedOutWaiterDoesNotSwallowPermits) {
  Semaphore s;
  std::thread long_waiter([&] { EXPECT_TRUE(s.try_acquire_for(itest::kLong)); });
  ASSERT_TRUE(eventually([&] { return parked(s) == 1; }));
  EXPECT_FALSE(s.try_acquire_for(20ms));
  EXPECT_EQ(parked(s), 1u);
  s.release(2);
  long_waiter.join();
  EXPECT_EQ(s.value(), 1u);
  EXPECT_TRUE(s.try_acquire());
}

TEST(Semaphore, ProducerConsumerStress) {
  Semaphore items;
  constexpr int kProducers = 2, kConsumers = 3;
  const long per_producer = itest::scaled(30000);
  const long total = kProducers * per_producer;
  std::atomic<long> produced{0}, consumed{0};
  std::atomic<long> claimed{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p)
    ts.emplace_back([&, p] {
      for (long i = 0; i < per_producer;) {
        long batch = (i + p) % 4 == 0 ? std::min(3L, per_producer - i) : 1;
        produced.fetch_add(batch);
        items.release(std::uint64_t(batch));
        i += batch;
      }
    });
  for (int c = 0; c < kConsumers; ++c)
    ts.emplace_back([&, c] {
      for (;;) {
        long k = claimed.fetch_add(1);
        if (k >= total) return;
        switch ((k + c) % 3) {
          case 0:
            items.acquire();
            break;
          case 1:
            while (!items.try_acquire_for(1ms)) {
            }
            break;
          default:
            while (!items.try_acquire()) std::this_thread::yield();
        }
        consumed.fetch_add(1);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(produced.load(), total);
  EXPECT_EQ(consumed.load(), total);
  EXPECT_EQ(items.value(), 0u);
  EXPECT_EQ(parked(items), 0u);
}

TEST(Semaphore, TimedAcquireStressConservesPermits) {
  // Acquirers with short timeouts race with batched releases; every permit is
  // either acquired or still counted at the end.
  Semaphore s;
  const long per_releaser = itest::scaled(20000);
  std::atomic<long> released{0}, acquired{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> acquirers;
  for (int a = 0; a < 3; ++a)
    acquirers.emplace_back([&, a] {
      for (unsigned i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        bool ok;
        switch ((i + a) % 3) {
          case 0:
            ok = s.try_acquire_for(std::chrono::microseconds(i % 200));
            break;
          case 1:
            ok = s.acquire_until(Deadline::after(std::chrono::microseconds(i % 500))) == WaitStatus::ok;
            break;
          default:
            ok = s.try_acquire();
        }
        if (ok) acquired.fetch_add(1);
      }
    });
  std::vector<std::thread> releasers;
  for (int r = 0; r < 2; ++r)
    releasers.emplace_back([&, r] {
      for (long i = 0; i < per_releaser;) {
        long n = std::min<long>(1 + (i + r) % 3, per_releaser - i);
        s.release(std::uint64_t(n));
        released.fetch_add(n);
        i += n;
        if (i % 128 == 0) std::this_thread::yield();
      }
    });
  for (auto& t : releasers) t.join();
  // Let the acquirers drain what is left, then stop them.
  EXPECT_TRUE(eventually([&] { return acquired.load() == released.load(); }, itest::kLong));
  stop.store(true);
  for (auto& t : acquirers) t.join();
  EXPECT_EQ(acquired.load() + long(s.value()), released.load());
  EXPECT_EQ(s.value(), 0u);
  EXPECT_EQ(parked(s), 0u);
}

TEST(Semaphore, ReleaseBoundedSemantics) {
  Semaphore s;
  EXPECT_FALSE(s.release_bounded(2, 1));  // n > bound
  EXPECT_EQ(s.value(), 0u);
  EXPECT_TRUE(s.release_bounded(1, 1));
  EXPECT_EQ(s.value(), 1u);
  EXPECT_FALSE(s.release_bounded(1, 1));  // would exceed the bound: unchanged
  EXPECT_EQ(s.value(), 1u);
  EXPECT_TRUE(s.release_bounded(2, 3));
  EXPECT_EQ(s.value(), 3u);
  EXPECT_FALSE(s.release_bounded(1, 3));
  EXPECT_TRUE(s.release_bounded(0, 3));
  EXPECT_EQ(s.value(), 3u);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.release_bounded(1, 3));
  EXPECT_EQ(s.value(), 3u);
}

TEST(Semaphore, ReleaseBoundedHandsToParkedWaiter) {
  // Permits handed straight to a parked thread never count against the bound.
  Semaphore s;
  std::atomic<bool> got{false};
  std::thread t([&] {
    EXPECT_TRUE(s.try_acquire_for(itest::kLong));
    got.store(true);
  });
  ASSERT_TRUE(eventually([&] { return parked(s) == 1; }));
  EXPECT_TRUE(s.release_bounded(1, 1));
  EXPECT_EQ(s.value(), 0u);
  t.join();
  EXPECT_TRUE(got.load());
  EXPECT_TRUE(s.release_bounded(1, 1));
  EXPECT_FALSE(s.release_bounded(1, 1));
  EXPECT_EQ(s.value(), 1u);
}

TEST(Semaphore, ReleaseBoundedNeverExceedsBoundUnderContention) {
  // A bounded semaphore with bound 1: five releasers race (most of their
  // releases must fail) while three acquirers wait with tiny timeouts, so the
  // PARKED bit comes and goes all the time. The count must never exceed the
  // bound. Runs for at most ~1.5 s (stops at the first violation).
  Semaphore s;
  constexpr std::uint64_t kBound = 1;
  std::atomic<bool> stop{false};
  std::atomic<long> over{0}, released{0}, acquired{0};
  std::atomic<std::uint64_t> max_seen{0};
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  std::vector<std::thread> ts;
  for (int a = 0; a < 3; ++a)
    ts.emplace_back([&, a] {
      for (unsigned i = 0; !stop.load(std::memory_order_relaxed); ++i)
        if (s.try_acquire_for(std::chrono::microseconds((i + a) % 50))) acquired.fetch_add(1);
    });
  for (int r = 0; r < 5; ++r)
    ts.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (s.release_bounded(1, kBound)) released.fetch_add(1);
        std::uint64_t v = s.value();
        if (v > kBound) {
          over.fetch_add(1);
          std::uint64_t m = max_seen.load();
          while (v > m && !max_seen.compare_exchange_weak(m, v)) {
          }
          stop.store(true);
        }
        if (std::chrono::steady_clock::now() >= until) stop.store(true);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(over.load(), 0) << "count exceeded the bound " << kBound << " (max seen "
                            << max_seen.load() << ") after " << released.load()
                            << " successful release_bounded calls";
  EXPECT_EQ(acquired.load() + long(s.value()), released.load());
}

TEST(SemaphoreDeathTest, ReleasePastMaxIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Semaphore s(Semaphore::max_count);
        s.release();
      },
      "Semaphore::release: .*max_count");
}
