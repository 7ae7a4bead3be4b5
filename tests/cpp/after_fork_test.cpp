// Tests for fork() recovery: parking_lot::after_fork() and the primitives'
// reset_after_fork() in a forked child.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "interlock/interlock.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::ConditionVariable;
using interlock::Deadline;
using interlock::Event;
using interlock::Mutex;
using interlock::OnceFlag;
using interlock::RecursiveMutex;
using interlock::RWMutex;
using interlock::Semaphore;
using interlock::SeqLock;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

namespace {

constexpr int kChildHung = -1;

// Forks; the child runs `body` and _exits with its return value (0 = pass,
// anything else names the failed check). The parent waits at most `timeout`,
// then kills the child and reports kChildHung.
template <class Body>
int run_in_child(Body body, std::chrono::milliseconds timeout = 10s) {
  pid_t pid = fork();
  if (pid < 0) return -2;
  if (pid == 0) {
    int code = body();
    _exit(code);
  }
  Stopwatch sw;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -3;
    if (sw.elapsed() > timeout) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return kChildHung;
    }
    std::this_thread::sleep_for(1ms);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -4;
}

#define CHILD_CHECK(cond, code) \
  do {                          \
    if (!(cond)) return (code); \
  } while (0)

}  // namespace

// These run under every build, TSan included (fork() with live threads works
// with GCC 12's TSan as long as the child starts no threads). Should a
// sanitizer runtime misbehave, INTERLOCK_TEST_NO_FORK=1 skips them.
#define SKIP_FORK_IF_DISABLED()                                               \
  do {                                                                  \
    if (std::getenv("INTERLOCK_TEST_NO_FORK"))                          \
      GTEST_SKIP() << "fork tests disabled by INTERLOCK_TEST_NO_FORK"; \
  } while (0)

TEST(AfterFork, MutexAndEventWithParkedWaitersWorkInChild) {
  SKIP_FORK_IF_DISABLED();
  Mutex m;
  Event e;
  m.lock();
  std::thread locker([&] {
    m.lock();
    m.unlock();
  });
  std::thread waiter([&] { e.wait(); });
  ASSERT_TRUE(eventually([&] {
    return m.has_parked() && pl::waiter_count(&m) == 1 && pl::waiter_count(&e) == 1;
  }));

  int code = run_in_child([&]() -> int {
    pl::after_fork();
    CHILD_CHECK(m.is_locked(), 10);
    CHILD_CHECK(m.has_parked(), 11);  // the parent's waiter left its mark
    CHILD_CHECK(pl::waiter_count(&m) == 0, 12);
    m.unlock();  // finds nobody to wake: must clear PARKED, not hang
    CHILD_CHECK(!m.is_locked(), 13);
    CHILD_CHECK(!m.has_parked(), 14);
    m.lock();
    CHILD_CHECK(m.is_locked(), 15);
    m.unlock();
    CHILD_CHECK(m.try_lock(), 16);
    m.unlock();
    CHILD_CHECK(m.lock_until(Deadline::after(10ms)) == WaitStatus::ok, 17);
    m.unlock();

    CHILD_CHECK(!e.is_set(), 20);
    e.notify();  // the event says "parked", but nobody is
    CHILD_CHECK(e.is_set(), 21);
    e.wait();
    // A fresh wait in the child parks and times out normally.
    Event fresh;
    CHILD_CHECK(!fresh.wait_for(10ms), 22);
    CHILD_CHECK(pl::waiter_count(&fresh) == 0, 23);
    return 0;
  });
  EXPECT_EQ(code, 0) << "child failed check " << code;

  m.unlock();
  e.notify();
  locker.join();
  waiter.join();
  EXPECT_FALSE(m.is_locked());
}

TEST(AfterFork, LocksHeldByOtherThreadsAreReset) {
  SKIP_FORK_IF_DISABLED();
  Mutex m;
  RecursiveMutex rm;
  RWMutex rw;
  OnceFlag once;
  SeqLock seq;
  Event held, release;
  std::thread holder([&] {
    m.lock();
    rm.lock();
    rw.lock();
    seq.lock_write();
    EXPECT_EQ(once.begin(), OnceFlag::Begin::run);
    held.notify();
    release.wait();
    once.finish(true);
    seq.unlock_write();
    rw.unlock();
    rm.unlock();
    m.unlock();
  });
  held.wait();

  int code = run_in_child([&]() -> int {
    pl::after_fork();
    m.reset_after_fork();
    CHILD_CHECK(m.try_lock(), 10);
    m.unlock();
    rm.reset_after_fork();
    CHILD_CHECK(rm.try_lock(), 11);
    CHILD_CHECK(rm.depth_held_by_current_thread() == 1, 12);
    rm.unlock();
    rw.reset_after_fork();
    CHILD_CHECK(rw.try_lock(), 13);
    rw.unlock();
    CHILD_CHECK(rw.try_lock_shared(), 14);
    rw.unlock_shared();
    CHILD_CHECK(seq.reset_after_fork(), 15);
    CHILD_CHECK(!seq.is_writing(), 16);
    (void)seq.begin_read();
    once.reset_after_fork();
    int runs = 0;
    interlock::call_once(once, [&] { ++runs; });
    CHILD_CHECK(runs == 1 && once.is_done(), 17);
    return 0;
  });
  EXPECT_EQ(code, 0) << "child failed check " << code;

  release.notify();
  holder.join();
  EXPECT_TRUE(once.is_done());
}

TEST(AfterFork, OtherPrimitivesWithParkedWaitersRecoverInChild) {
  SKIP_FORK_IF_DISABLED();
  RWMutex rw;
  Semaphore sem;
  Mutex cv_m;
  ConditionVariable cv;
  RecursiveMutex rm;
  bool cv_go = false;

  rw.lock();
  rm.lock();
  std::thread reader([&] {
    rw.lock_shared();
    rw.unlock_shared();
  });
  std::thread sem_waiter([&] { sem.acquire(); });
  std::thread cv_waiter([&] {
    std::unique_lock lk(cv_m);
    cv.wait(lk, [&] { return cv_go; });
  });
  std::thread rm_waiter([&] {
    rm.lock();
    rm.unlock();
  });
  ASSERT_TRUE(eventually([&] {
    return pl::waiter_count(&rw) == 1 && pl::waiter_count(&sem) == 1 &&
           pl::waiter_count(&cv) == 1 && pl::waiter_count(&rm) == 1;
  }));

  int code = run_in_child([&]() -> int {
    pl::after_fork();
    rw.unlock();  // READERS_PARKED is set but nobody is parked
    CHILD_CHECK(!rw.is_locked(), 10);
    CHILD_CHECK(rw.try_lock_shared(), 11);
    rw.unlock_shared();
    CHILD_CHECK(rw.lock_until(Deadline::after(1s)) == WaitStatus::ok, 12);
    rw.unlock();

    sem.release();  // PARKED is set but nobody is parked: the permit stays
    CHILD_CHECK(sem.value() == 1, 20);
    CHILD_CHECK(sem.try_acquire(), 21);
    CHILD_CHECK(!sem.try_acquire_for(5ms), 22);

    CHILD_CHECK(cv.notify_one() == 0, 30);
    CHILD_CHECK(cv.notify_all() == 0, 31);
    cv_m.reset_after_fork();  // held by nobody in the child (the waiter released it)
    cv_m.lock();
    CHILD_CHECK(!cv.wait_for(cv_m, 5ms), 32);
    cv_m.unlock();

    CHILD_CHECK(rm.is_locked_by_current_thread(), 40);
    rm.reset_after_fork();  // the forking thread keeps its hold
    CHILD_CHECK(rm.depth_held_by_current_thread() == 1, 41);
    rm.unlock();  // the inner mutex has PARKED set: must not hang
    CHILD_CHECK(!rm.is_locked(), 42);
    CHILD_CHECK(rm.try_lock(), 43);
    rm.unlock();
    return 0;
  });
  EXPECT_EQ(code, 0) << "child failed check " << code;

  rw.unlock();
  rm.unlock();
  sem.release();
  {
    std::lock_guard g(cv_m);
    cv_go = true;
  }
  cv.notify_all();
  reader.join();
  sem_waiter.join();
  cv_waiter.join();
  rm_waiter.join();
}

TEST(AfterFork, BucketLocksHeldAtForkAreReset) {
  // Other threads park and unpark constantly, so bucket locks are often held
  // at the instant of fork(); after_fork() must leave every bucket usable.
  SKIP_FORK_IF_DISABLED();
  constexpr int kKeys = 8;
  static std::atomic<int> words[kKeys];
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&, t] {
      for (unsigned i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        auto& w = words[(i + t) % kKeys];
        if (i % 2 == 0) {
          pl::park_if_equal(&w, 0, Deadline::after(100us));
        } else {
          pl::unpark_all(&w);
          (void)pl::waiter_count(&w);
        }
      }
    });
  const int rounds = itest::kSanitized ? 5 : 20;
  for (int r = 0; r < rounds; ++r) {
    int code = run_in_child([&]() -> int {
      pl::after_fork();
      for (int k = 0; k < kKeys; ++k) {
        CHILD_CHECK(pl::waiter_count(&words[k]) == 0, 10);
        pl::unpark_all(&words[k]);
        CHILD_CHECK(pl::park_if_equal(&words[k], 0, Deadline::after(1ms)) ==
                        pl::ParkResult::timed_out,
                    11);
      }
      Mutex m;
      m.lock();
      m.unlock();
      return 0;
    });
    ASSERT_EQ(code, 0) << "round " << r << ": child failed check " << code;
  }
  stop.store(true);
  for (auto& t : ts) t.join();
}
