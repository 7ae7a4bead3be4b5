// Tests for interlock::GatheringMap.
#include "interlock/gathering_map.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::GatherStatus;
using M = interlock::GatheringMap<std::uintptr_t>;

namespace {
auto nothing = [](std::uintptr_t&) {};
}

TEST(GatheringMap, InsertTakeInKeyOrder) {
  M m;
  std::uintptr_t old = 0;
  bool had = true;
  for (std::int64_t k : {2, 0, 1}) {
    ASSERT_EQ(m.insert(k, static_cast<std::uintptr_t>(k * 10), &old, &had), GatherStatus::ok);
    EXPECT_FALSE(had);
  }
  EXPECT_EQ(m.size(), 3u);
  for (std::int64_t k = 0; k < 3; ++k) {
    std::uintptr_t v = 0;
    ASSERT_EQ(m.wait_for(k, true, &v, Deadline::immediate(), nothing), GatherStatus::ok);
    EXPECT_EQ(v, static_cast<std::uintptr_t>(k * 10));
  }
  EXPECT_EQ(m.size(), 0u);
  std::uintptr_t v;
  EXPECT_EQ(m.wait_for(0, true, &v, Deadline::after(10ms), nothing), GatherStatus::timed_out);
}

TEST(GatheringMap, ReplaceAndPeek) {
  M m;
  std::uintptr_t old = 0;
  bool had = false;
  ASSERT_EQ(m.insert(5, 1, &old, &had), GatherStatus::ok);
  ASSERT_EQ(m.insert(5, 2, &old, &had), GatherStatus::ok);
  EXPECT_TRUE(had);
  EXPECT_EQ(old, 1u);
  int peeks = 0;
  std::uintptr_t v = 0;
  ASSERT_EQ(m.wait_for(5, false, &v, Deadline::immediate(), [&](std::uintptr_t&) { ++peeks; }),
            GatherStatus::ok);
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(peeks, 1);
  EXPECT_EQ(m.size(), 1u);
  std::uintptr_t sum = 0;
  EXPECT_EQ(m.drain([&](std::uintptr_t x) { sum += x; }), 1u);
  EXPECT_EQ(sum, 2u);
}

TEST(GatheringMap, FailWakesReaderButPresentKeysStillServed) {
  M m;
  std::uintptr_t old;
  bool had;
  ASSERT_EQ(m.insert(0, 7, &old, &had), GatherStatus::ok);
  std::atomic<int> status{-1};
  std::thread reader([&] {
    std::uintptr_t v;
    status = static_cast<int>(m.wait_for(1, true, &v, Deadline::never(), nothing));
  });
  std::this_thread::sleep_for(5ms);
  m.fail();
  reader.join();
  EXPECT_EQ(status, static_cast<int>(GatherStatus::failed));
  std::uintptr_t v;
  EXPECT_EQ(m.wait_for(0, true, &v, Deadline::never(), nothing), GatherStatus::ok);
  EXPECT_EQ(v, 7u);
}

TEST(GatheringMap, ManyInsertersOneReader) {
  M m;
  const long n = itest::scaled(20000);
  constexpr int kThreads = 4;
  std::atomic<long> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (long k; (k = next.fetch_add(1)) < n;) {
        std::uintptr_t old;
        bool had;
        ASSERT_EQ(m.insert(k, static_cast<std::uintptr_t>(k) + 1, &old, &had), GatherStatus::ok);
      }
    });
  for (long k = 0; k < n; ++k) {
    std::uintptr_t v = 0;
    ASSERT_EQ(m.wait_for(k, true, &v, Deadline::never(), nothing), GatherStatus::ok);
    ASSERT_EQ(v, static_cast<std::uintptr_t>(k) + 1);
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(m.size(), 0u);
}
