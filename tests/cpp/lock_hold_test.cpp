// Tests for interlock/lock_hold.hpp: the holds and HoldOnce.
#include "interlock/lock_hold.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using interlock::CheckedRWMutex;
using interlock::Deadline;
using interlock::ExclusiveHold;
using interlock::HoldOnce;
using interlock::Mutex;
using interlock::RecursiveMutex;
using interlock::SharedHold;
using interlock::WaitStatus;

namespace {
template <class H>
using Released = typename HoldOnce<H>::Released;
}  // namespace

TEST(LockHold, HoldsTakeWaitAndRelease) {
  Mutex m;
  using H = ExclusiveHold<Mutex>;
  EXPECT_TRUE(H::try_acquire(m));
  EXPECT_FALSE(H::try_acquire(m));
  EXPECT_EQ(H::wait(m, Deadline::immediate()), WaitStatus::timed_out);
  EXPECT_TRUE(H::release(m));
  EXPECT_FALSE(H::release(m));  // checked: nothing to release
  EXPECT_EQ(H::wait(m, Deadline::never()), WaitStatus::ok);
  EXPECT_TRUE(H::release(m));

  CheckedRWMutex rw;
  EXPECT_TRUE(SharedHold::try_acquire(rw));
  EXPECT_TRUE(SharedHold::try_acquire(rw));
  EXPECT_FALSE(ExclusiveHold<CheckedRWMutex>::try_acquire(rw));
  EXPECT_TRUE(SharedHold::release(rw));
  EXPECT_TRUE(SharedHold::release(rw));
  EXPECT_FALSE(SharedHold::release(rw));

  interlock::Semaphore s(1);
  EXPECT_TRUE(interlock::PermitHold::try_acquire(s));
  EXPECT_EQ(interlock::PermitHold::wait(s, Deadline::immediate()), WaitStatus::timed_out);
}

TEST(LockHold, ReleasesOnce) {
  Mutex m;
  m.lock();
  HoldOnce<ExclusiveHold<Mutex>> g(m);
  EXPECT_EQ(g.release(), Released<ExclusiveHold<Mutex>>::ok);
  EXPECT_FALSE(m.is_locked());
  m.lock();  // someone else's hold now: a second release must not touch it
  EXPECT_EQ(g.release(), Released<ExclusiveHold<Mutex>>::already);
  EXPECT_TRUE(m.is_locked());
  m.unlock();
}

TEST(LockHold, DestructionAndDropRelease) {
  Mutex m;
  m.lock();
  { HoldOnce<ExclusiveHold<Mutex>> g(m); }
  EXPECT_FALSE(m.is_locked());
  CheckedRWMutex rw;
  rw.try_lock_shared();
  HoldOnce<SharedHold> g(rw);
  g.drop();
  EXPECT_FALSE(rw.is_locked());
  g.drop();  // once
  EXPECT_FALSE(rw.try_unlock_shared());
}

TEST(LockHold, TakeClaimsForAConversion) {
  CheckedRWMutex rw;
  ASSERT_TRUE(rw.try_lock());
  HoldOnce<ExclusiveHold<CheckedRWMutex>> g(rw);
  ASSERT_TRUE(g.take());
  EXPECT_TRUE(g.core().try_downgrade());
  EXPECT_FALSE(g.take());
  EXPECT_EQ(g.release(), Released<ExclusiveHold<CheckedRWMutex>>::already);
  EXPECT_EQ(rw.reader_count(), 1u);
  EXPECT_TRUE(rw.try_unlock_shared());
}

TEST(LockHold, ARefusedReleaseOfARecursiveMutexKeepsTheHold) {
  using H = ExclusiveHold<RecursiveMutex>;
  RecursiveMutex m;
  m.lock();
  HoldOnce<H> g(m);
  Released<H> r = Released<H>::ok;
  std::thread([&] { r = g.release(); }).join();  // not the owner: refused
  EXPECT_EQ(r, Released<H>::refused);
  EXPECT_TRUE(m.is_locked_by_current_thread());
  EXPECT_EQ(g.release(), Released<H>::ok);  // the owner still can
  EXPECT_FALSE(m.is_locked());
}

TEST(LockHold, ARefusedReleaseOfAMutexDoesNotComeBack) {
  using H = ExclusiveHold<Mutex>;
  Mutex m;
  m.lock();
  HoldOnce<H> g(m);
  m.unlock();  // released some other way meanwhile
  EXPECT_EQ(g.release(), Released<H>::refused);
  EXPECT_EQ(g.release(), Released<H>::already);
}

TEST(LockHold, RacingReleasesReleaseOnce) {
  for (int round = 0; round < 200; ++round) {
    CheckedRWMutex rw;
    ASSERT_TRUE(rw.try_lock_shared());
    ASSERT_TRUE(rw.try_lock_shared());  // a second reader: a double release would show
    HoldOnce<SharedHold> g(rw);
    std::atomic<int> ok{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
      ts.emplace_back([&] { ok += g.release() == Released<SharedHold>::ok; });
    for (auto& t : ts) t.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(rw.reader_count(), 1u);
    rw.try_unlock_shared();
  }
}
