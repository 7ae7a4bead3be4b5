// Tests for interlock::CriticalSection.
#include "interlock/critical_section.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "interlock/event.hpp"
#include "interlock/mutex.hpp"
#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::CriticalSection;
using interlock::Event;
using interlock::Mutex;
using itest::eventually;

namespace {
// Whether `m` is locked by someone else right now, checked from another thread
// with try_lock (which does not block).
bool lockable_elsewhere(Mutex& m) {
  bool ok = false;
  std::thread t([&] {
    ok = m.try_lock();
    if (ok) m.unlock();
  });
  t.join();
  return ok;
}
}  // namespace

TEST(CriticalSection, OneMutex) {
  Mutex m;
  EXPECT_EQ(CriticalSection::top(), nullptr);
  {
    CriticalSection cs(m);
    EXPECT_TRUE(m.is_locked());
    EXPECT_EQ(CriticalSection::top(), &cs);
    EXPECT_FALSE(lockable_elsewhere(m));
  }
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(CriticalSection::top(), nullptr);
}

TEST(CriticalSection, EndEarly) {
  Mutex m;
  CriticalSection cs(m);
  EXPECT_TRUE(m.is_locked());
  cs.end();
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(CriticalSection::top(), nullptr);
  // The destructor does not end it again.
}

TEST(CriticalSection, TwoMutexesEitherOrder) {
  Mutex a, b;
  {
    CriticalSection cs(a, b);
    EXPECT_TRUE(a.is_locked());
    EXPECT_TRUE(b.is_locked());
    EXPECT_EQ(CriticalSection::top(), &cs);
  }
  EXPECT_FALSE(a.is_locked());
  EXPECT_FALSE(b.is_locked());
  {
    CriticalSection cs(b, a);
    EXPECT_TRUE(a.is_locked());
    EXPECT_TRUE(b.is_locked());
  }
  EXPECT_FALSE(a.is_locked());
  EXPECT_FALSE(b.is_locked());
  EXPECT_EQ(CriticalSection::top(), nullptr);
}

TEST(CriticalSection, SameMutexTwiceIsOne) {
  Mutex a;
  {
    CriticalSection cs(a, a);
    EXPECT_TRUE(a.is_locked());
  }
  EXPECT_FALSE(a.is_locked());
}

TEST(CriticalSection, OppositeOrdersDoNotDeadlock) {
  // Lock order is fixed inside, so (a,b) vs (b,a) from two threads is safe.
  Mutex a, b;
  const long iters = itest::scaled(20000);
  long counter = 0;
  std::thread t1([&] {
    for (long i = 0; i < iters; ++i) {
      CriticalSection cs(a, b);
      ++counter;
    }
  });
  std::thread t2([&] {
    for (long i = 0; i < iters; ++i) {
      CriticalSection cs(b, a);
      ++counter;
    }
  });
  t1.join();
  t2.join();
  EXPECT_EQ(counter, 2 * iters);
  EXPECT_FALSE(a.is_locked());
  EXPECT_FALSE(b.is_locked());
}

TEST(CriticalSection, SameMutexNestingDoesNotDeadlock) {
  Mutex m;
  {
    CriticalSection outer(m);
    {
      CriticalSection inner(m);
      EXPECT_TRUE(m.is_locked());
      // A re-entry on the innermost section's mutex pushes nothing.
      EXPECT_EQ(CriticalSection::top(), &outer);
      {
        CriticalSection innermost(m);
        EXPECT_TRUE(m.is_locked());
      }
      EXPECT_TRUE(m.is_locked());
    }
    // The outer section still holds m.
    EXPECT_TRUE(m.is_locked());
    EXPECT_FALSE(lockable_elsewhere(m));
    EXPECT_EQ(CriticalSection::top(), &outer);
  }
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(CriticalSection::top(), nullptr);
}

TEST(CriticalSection, NestingAMutexOfTheTwoMutexSection) {
  // The innermost section holds (a, b); a new section on a must not
  // self-deadlock (at worst the outer section is suspended).
  Mutex a, b;
  {
    CriticalSection outer(a, b);
    {
      CriticalSection inner(a);
      EXPECT_TRUE(a.is_locked());
      EXPECT_FALSE(lockable_elsewhere(a));
    }
    EXPECT_TRUE(a.is_locked());
    EXPECT_TRUE(b.is_locked());
    EXPECT_FALSE(lockable_elsewhere(a));
    EXPECT_FALSE(lockable_elsewhere(b));
  }
  EXPECT_FALSE(a.is_locked());
  EXPECT_FALSE(b.is_locked());
}

TEST(CriticalSection, NestedDifferentMutexes) {
  Mutex m1, m2;
  {
    CriticalSection outer(m1);
    {
      CriticalSection inner(m2);
      EXPECT_EQ(CriticalSection::top(), &inner);
      EXPECT_TRUE(m2.is_locked());
      // Nothing blocked, so nothing was suspended.
      EXPECT_TRUE(m1.is_locked());
    }
    EXPECT_EQ(CriticalSection::top(), &outer);
    EXPECT_TRUE(m1.is_locked());
    EXPECT_FALSE(m2.is_locked());
  }
  EXPECT_FALSE(m1.is_locked());
}

TEST(CriticalSection, SuspendedWhileBlockedAndResumedAfter) {
  // A holds a section on m1 and blocks on an Event: while it is blocked,
  // another thread can lock m1. After A wakes, its section holds m1 again.
  Mutex m1;
  Event block, resumed, finish;
  std::atomic<bool> top_ok{false}, held_after{false};
  std::thread a([&] {
    CriticalSection cs(m1);
    block.wait();  // blocks: the section is suspended
    top_ok.store(CriticalSection::top() == &cs);
    held_after.store(m1.is_locked());
    resumed.notify();
    finish.wait();  // blocks again (suspended again) until the end
  });
  // m1 becomes available while A is blocked.
  ASSERT_TRUE(m1.try_lock_for(itest::kLong)) << "section was not suspended while blocked";
  EXPECT_FALSE(resumed.is_set());
  block.notify();
  std::this_thread::sleep_for(5ms);  // A cannot resume while we hold m1 (holds either way)
  EXPECT_FALSE(resumed.is_set());
  m1.unlock();
  EXPECT_TRUE(resumed.wait_for(itest::kLong));
  EXPECT_TRUE(top_ok.load());
  EXPECT_TRUE(held_after.load());
  finish.notify();
  a.join();
  EXPECT_FALSE(m1.is_locked());
}

TEST(CriticalSection, ResumedSectionExcludesOthers) {
  Mutex m1;
  Event block, resumed, finish;
  std::thread a([&] {
    CriticalSection cs(m1);
    block.wait();
    resumed.notify();
    // Busy-wait (not blocking) so the section stays held until told.
    while (!finish.is_set()) std::this_thread::yield();
  });
  // A is parked on `block`, so its section is suspended.
  ASSERT_TRUE(eventually([&] {
    return interlock::parking_lot::waiter_count(&block) == 1 && !m1.is_locked();
  }));
  block.notify();
  ASSERT_TRUE(resumed.wait_for(itest::kLong));
  EXPECT_TRUE(m1.is_locked());
  EXPECT_FALSE(m1.try_lock()) << "resumed section does not hold its mutex";
  finish.notify();
  a.join();
  EXPECT_FALSE(m1.is_locked());
}

TEST(CriticalSection, BlockingInnerSectionLetsOthersTakeOuterMutex) {
  // Classic lock-order deadlock, defused by suspension: A holds m1 and wants
  // m2; B holds m2 and wants m1.
  Mutex m1, m2;
  Event b_has_m2, a_in_inner_done;
  std::atomic<bool> a_done{false}, b_done{false};
  std::thread b([&] {
    m2.lock();
    b_has_m2.notify();
    // Wait until A is blocked on m2 (and so has suspended its m1 section).
    ASSERT_TRUE(eventually([&] { return m2.has_parked(); }));
    {
      CriticalSection cs(m1);  // would deadlock without suspension
      b_done.store(true);
    }
    m2.unlock();
  });
  std::thread a([&] {
    b_has_m2.wait();
    CriticalSection outer(m1);
    {
      CriticalSection inner(m2);  // blocks: outer gets suspended
      EXPECT_TRUE(m2.is_locked());
      EXPECT_TRUE(b_done.load());
    }
    // Ending the inner section resumed the outer one.
    EXPECT_EQ(CriticalSection::top(), &outer);
    EXPECT_TRUE(m1.is_locked());
    a_done.store(true);
  });
  a.join();
  b.join();
  EXPECT_TRUE(a_done.load());
  EXPECT_TRUE(b_done.load());
  EXPECT_FALSE(m1.is_locked());
  EXPECT_FALSE(m2.is_locked());
}

TEST(CriticalSection, StressWithBlocking) {
  // Threads nest sections on shared mutexes and sometimes block inside; the
  // counters protected by the innermost section stay exact.
  Mutex m[3];
  long counters[3] = {0, 0, 0};
  const long iters = itest::scaled(3000);
  constexpr int kThreads = 3;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (long i = 0; i < iters; ++i) {
        int x = int((i + t) % 3), y = int((i + 2 * t + 1) % 3);
        CriticalSection outer(m[x]);
        ++counters[x];
        {
          CriticalSection inner(m[x], m[y]);
          ++counters[x];
          if (x != y) ++counters[y];
        }
        // The outer section protects m[x] again here.
        ++counters[x];
      }
    });
  for (auto& t : ts) t.join();
  long total = counters[0] + counters[1] + counters[2];
  // Each iteration adds 3 when x == y... count precisely:
  long expected = 0;
  for (int t = 0; t < kThreads; ++t)
    for (long i = 0; i < iters; ++i) {
      int x = int((i + t) % 3), y = int((i + 2 * t + 1) % 3);
      expected += (x != y) ? 4 : 3;
    }
  EXPECT_EQ(total, expected);
  for (auto& mm : m) EXPECT_FALSE(mm.is_locked());
}

TEST(CriticalSectionDeathTest, EndingNonInnermostSectionIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Mutex m1;
        Mutex m2;
        CriticalSection outer(m1);
        CriticalSection inner(m2);
        outer.end();
      },
      "CriticalSection::end: .*not the innermost");
}

TEST(CriticalSectionDeathTest, EndingTwiceIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Mutex m;
        CriticalSection cs(m);
        cs.end();
        cs.end();
      },
      "CriticalSection::end");
}
