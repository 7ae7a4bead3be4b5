// Tests for interlock::RecursiveMutex.
#include "interlock/recursive_mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "interlock/event.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::Event;
using interlock::RecursiveMutex;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;

namespace {
// Runs `f` on another thread and returns its result.
template <class F>
auto on_other_thread(F f) {
  decltype(f()) r{};
  std::thread t([&] { r = f(); });
  t.join();
  return r;
}

// Another thread holding m once, from construction until release() (or the
// end of its scope).
class OtherHolder {
 public:
  explicit OtherHolder(RecursiveMutex& m) : t_([this, &m] {
    m.lock();
    locked_.notify();
    release_.wait();
    m.unlock();
  }) {
    locked_.wait();
  }
  OtherHolder(const OtherHolder&) = delete;
  OtherHolder& operator=(const OtherHolder&) = delete;
  ~OtherHolder() {
    release();
    t_.join();
  }
  void release() { release_.notify(); }

 private:
  Event locked_, release_;
  std::thread t_;
};
}  // namespace

TEST(RecursiveMutex, ReentryDepth) {
  RecursiveMutex m;
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.is_locked_by_current_thread());
  EXPECT_EQ(m.depth_held_by_current_thread(), 0u);
  m.lock();
  EXPECT_TRUE(m.is_locked());
  EXPECT_TRUE(m.is_locked_by_current_thread());
  EXPECT_EQ(m.depth_held_by_current_thread(), 1u);
  m.lock();
  EXPECT_TRUE(m.try_lock());
  EXPECT_EQ(m.lock_until(Deadline::immediate()), WaitStatus::ok);
  EXPECT_TRUE(m.try_lock_for(1ms));
  EXPECT_EQ(m.depth_held_by_current_thread(), 5u);
  for (std::size_t d = 5; d > 0; --d) {
    EXPECT_EQ(m.depth_held_by_current_thread(), d);
    EXPECT_TRUE(m.is_locked());
    m.unlock();
  }
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.is_locked_by_current_thread());
  EXPECT_EQ(m.depth_held_by_current_thread(), 0u);
}

TEST(RecursiveMutex, OtherThreadCannotAcquireUntilFullyReleased) {
  RecursiveMutex m;
  m.lock();
  m.lock();
  m.lock();
  EXPECT_FALSE(on_other_thread([&] { return m.try_lock(); }));
  EXPECT_FALSE(on_other_thread([&] { return m.is_locked_by_current_thread(); }));
  EXPECT_EQ(on_other_thread([&] { return m.depth_held_by_current_thread(); }), 0u);

  std::atomic<bool> acquired{false};
  std::thread t([&] {
    m.lock();
    acquired.store(true);
    EXPECT_EQ(m.depth_held_by_current_thread(), 1u);
    m.unlock();
  });
  m.unlock();
  m.unlock();
  std::this_thread::sleep_for(20ms);  // give t a chance to (wrongly) get in
  EXPECT_FALSE(acquired.load());
  EXPECT_TRUE(m.is_locked_by_current_thread());
  m.unlock();
  t.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_FALSE(m.is_locked());
}

TEST(RecursiveMutex, TryUnlockFromNonOwnerReturnsFalse) {
  RecursiveMutex m;
  EXPECT_FALSE(m.try_unlock());  // not locked at all
  m.lock();
  m.lock();
  EXPECT_FALSE(on_other_thread([&] { return m.try_unlock(); }));
  EXPECT_EQ(m.depth_held_by_current_thread(), 2u);  // unchanged
  EXPECT_TRUE(m.try_unlock());
  EXPECT_EQ(m.depth_held_by_current_thread(), 1u);
  EXPECT_TRUE(m.try_unlock());
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.try_unlock());
}

TEST(RecursiveMutex, ReleaseAllAndRestoreDepth) {
  RecursiveMutex m;
  m.lock();
  m.lock();
  m.lock();
  std::size_t depth = m.release_all();
  EXPECT_EQ(depth, 3u);
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.is_locked_by_current_thread());
  // Another thread can take it in between.
  EXPECT_TRUE(on_other_thread([&] {
    if (!m.try_lock()) return false;
    m.unlock();
    return true;
  }));
  EXPECT_EQ(m.restore_depth(depth), WaitStatus::ok);
  EXPECT_TRUE(m.is_locked_by_current_thread());
  EXPECT_EQ(m.depth_held_by_current_thread(), 3u);
  for (int i = 0; i < 3; ++i) m.unlock();
  EXPECT_FALSE(m.is_locked());
}

TEST(RecursiveMutex, TryReleaseAllAndLockAtDepth) {
  RecursiveMutex m;
  EXPECT_EQ(m.try_release_all(), 0u);  // not held: nothing to release
  m.lock();
  m.lock();
  EXPECT_EQ(on_other_thread([&] { return m.try_release_all(); }), 0u);  // not the owner's
  EXPECT_EQ(m.depth_held_by_current_thread(), 2u);
  const std::size_t depth = m.try_release_all();
  EXPECT_EQ(depth, 2u);
  EXPECT_FALSE(m.is_locked());
  {
    OtherHolder holder(m);
    holder.release();
    m.lock_at_depth(depth);  // waits for the holder
    EXPECT_EQ(m.depth_held_by_current_thread(), 2u);
  }
  m.unlock();
  m.unlock();
  EXPECT_FALSE(m.is_locked());
}

TEST(RecursiveMutex, RestoreDepthWaitsForOtherHolderAndTimesOut) {
  RecursiveMutex m;
  m.lock();
  m.lock();
  std::size_t depth = m.release_all();
  {
    OtherHolder holder(m);
    Stopwatch sw;
    EXPECT_EQ(m.restore_depth(depth, Deadline::after(30ms)), WaitStatus::timed_out);
    EXPECT_GE(sw.ms(), 30.0);
    EXPECT_FALSE(m.is_locked_by_current_thread());
    holder.release();
    EXPECT_EQ(m.restore_depth(depth, Deadline::after(itest::kLong)), WaitStatus::ok);
    EXPECT_EQ(m.depth_held_by_current_thread(), 2u);
  }
  m.unlock();
  m.unlock();
  EXPECT_FALSE(m.is_locked());
}

TEST(RecursiveMutex, TimedVariantsTimeOut) {
  RecursiveMutex m;
  Event locked, release;
  std::thread holder([&] {
    m.lock();
    m.lock();
    locked.notify();
    release.wait();
    m.unlock();
    m.unlock();
  });
  locked.wait();
  Stopwatch sw;
  EXPECT_FALSE(m.try_lock_for(40ms));
  EXPECT_GE(sw.ms(), 40.0);
  EXPECT_LT(sw.ms(), 2000.0);
  sw.reset();
  EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 40ms));
  EXPECT_GE(sw.ms(), 40.0);
  EXPECT_LT(sw.ms(), 2000.0);
  sw.reset();
  EXPECT_EQ(m.lock_until(Deadline::after(40ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 40.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_EQ(m.lock_until(Deadline::immediate()), WaitStatus::timed_out);
  EXPECT_FALSE(m.try_lock());
  EXPECT_FALSE(m.is_locked_by_current_thread());
  release.notify();
  holder.join();
  EXPECT_TRUE(m.try_lock_for(1s));
  EXPECT_TRUE(m.is_locked_by_current_thread());
  m.unlock();
}

TEST(RecursiveMutex, MutualExclusionStress) {
  RecursiveMutex m;
  constexpr int kThreads = 4;
  const long iters = itest::scaled(20000);
  long counter = 0;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (long i = 0; i < iters; ++i) {
        std::lock_guard outer(m);
        std::lock_guard inner(m);
        ++counter;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(counter, kThreads * iters);
  EXPECT_FALSE(m.is_locked());
}

TEST(RecursiveMutex, ResetAfterForkKeepsCallersHold) {
  RecursiveMutex m;
  m.lock();
  m.lock();
  m.reset_after_fork();  // called by the holder: its hold survives
  EXPECT_EQ(m.depth_held_by_current_thread(), 2u);
  m.unlock();
  m.unlock();
  EXPECT_FALSE(m.is_locked());

  // Held by another thread: reset forgets that hold.
  Event locked, release;
  std::thread holder([&] {
    m.lock();
    locked.notify();
    release.wait();
  });
  locked.wait();
  m.reset_after_fork();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  release.notify();
  holder.join();
}

TEST(RecursiveMutex, ResetForgetsEveryHold) {
  RecursiveMutex m;
  m.lock();
  m.lock();
  m.reset();  // even the caller's own hold
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.depth_held_by_current_thread(), 0u);
  EXPECT_FALSE(m.try_unlock());
  EXPECT_TRUE(m.try_lock());
  EXPECT_EQ(m.depth_held_by_current_thread(), 1u);
  m.unlock();
}

TEST(RecursiveMutexDeathTest, UnlockFromNonOwnerIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        RecursiveMutex m;
        m.unlock();
      },
      "RecursiveMutex::unlock: .*not held by the calling thread");
  EXPECT_DEATH(
      {
        RecursiveMutex m;
        std::thread t([&] { m.lock(); });
        t.join();
        m.unlock();
      },
      "RecursiveMutex::unlock");
}
