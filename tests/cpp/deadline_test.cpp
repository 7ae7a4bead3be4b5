// Tests for interlock::Deadline (header-only).
#include "interlock/deadline.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Clock;
using interlock::Deadline;

TEST(Deadline, DefaultIsNever) {
  Deadline d;
  EXPECT_TRUE(d.is_never());
  EXPECT_FALSE(d.is_immediate());
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.remaining(), Clock::duration::max());
  EXPECT_TRUE(d == Deadline::never());
}

TEST(Deadline, Immediate) {
  Deadline d = Deadline::immediate();
  EXPECT_TRUE(d.is_immediate());
  EXPECT_FALSE(d.is_never());
  EXPECT_TRUE(d.expired());
  EXPECT_EQ(d.remaining(), Clock::duration::zero());
}

TEST(Deadline, AfterZeroOrNegativeIsImmediate) {
  EXPECT_TRUE(Deadline::after(0s).is_immediate());
  EXPECT_TRUE(Deadline::after(0ns).is_immediate());
  EXPECT_TRUE(Deadline::after(-5ms).is_immediate());
  EXPECT_TRUE(Deadline::after(std::chrono::duration<double>(-1.5)).is_immediate());
  EXPECT_TRUE(Deadline::after(std::chrono::nanoseconds::min()).is_immediate());
}

TEST(Deadline, AfterHugeIsNever) {
  EXPECT_TRUE(Deadline::after(std::chrono::hours(24 * 365 * 200)).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::nanoseconds::max()).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::seconds::max()).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::duration<double>(1e300)).is_never());
  EXPECT_TRUE(
      Deadline::after(std::chrono::duration<double>(std::numeric_limits<double>::infinity()))
          .is_never());
}

TEST(Deadline, AfterFiniteIsRealTimePoint) {
  auto before = Clock::now();
  Deadline d = Deadline::after(1s);
  auto after = Clock::now();
  EXPECT_FALSE(d.is_never());
  EXPECT_FALSE(d.is_immediate());
  EXPECT_FALSE(d.expired());
  EXPECT_GE(d.time_point(), before + 1s);
  EXPECT_LE(d.time_point(), after + 1s);
  auto left = d.remaining();
  EXPECT_GT(left, 0s);
  EXPECT_LE(left, 1s);
}

TEST(Deadline, RemainingCountsDownAndExpires) {
  Deadline d = Deadline::after(20ms);
  EXPECT_LE(d.remaining(), 20ms);
  itest::Stopwatch sw;
  while (!d.expired()) {
    ASSERT_LT(sw.ms(), 5000.0) << "deadline never expired";
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_GE(sw.ms(), 0.0);
  EXPECT_EQ(d.remaining(), Clock::duration::zero());
}

TEST(Deadline, AtTimePoint) {
  auto tp = Clock::now() - 1s;
  Deadline past = Deadline::at(tp);
  EXPECT_EQ(past.time_point(), tp);
  EXPECT_TRUE(past.expired());
  EXPECT_EQ(past.remaining(), Clock::duration::zero());
  Deadline future = Deadline::at(Clock::now() + 1h);
  EXPECT_FALSE(future.expired());
  EXPECT_GT(future.remaining(), 59min);
}

TEST(Deadline, AfterSeconds) {
  EXPECT_TRUE(Deadline::after_seconds(0.0).is_immediate());
  EXPECT_TRUE(Deadline::after_seconds(-1.0).is_immediate());
  EXPECT_TRUE(Deadline::after_seconds(std::nan("")).is_immediate());
  EXPECT_TRUE(Deadline::after_seconds(std::numeric_limits<double>::infinity()).is_never());
  EXPECT_TRUE(Deadline::after_seconds(1e12).is_never());
  Deadline d = Deadline::after_seconds(0.5);
  EXPECT_FALSE(d.is_never());
  EXPECT_FALSE(d.is_immediate());
  EXPECT_LE(d.remaining(), 500ms);
  EXPECT_GT(d.remaining(), 0ms);
}

TEST(Deadline, EarlierAndEquality) {
  Deadline a = Deadline::after(1s);
  Deadline b = Deadline::after(2s);
  EXPECT_TRUE(earlier(a, b) == a);
  EXPECT_TRUE(earlier(b, a) == a);
  EXPECT_TRUE(earlier(a, Deadline::never()) == a);
  EXPECT_TRUE(earlier(Deadline::immediate(), a) == Deadline::immediate());
  EXPECT_FALSE(a == b);
  static_assert(Deadline::never() == Deadline());
  static_assert(Deadline::immediate().is_immediate());
}
