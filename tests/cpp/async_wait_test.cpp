// Tests for event-loop waiters: parking_lot::park_async / cancel_async and
// the primitives' *_async / cancel_async (Mutex, Semaphore, ResettableEvent,
// Latch). An "event loop" here is a test object whose notify posts a
// std::binary_semaphore; a real loop would schedule a callback instead.
#include <gtest/gtest.h>
#if !defined(_WIN32)  // fork(): not on Windows
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <atomic>
#include <random>
#include <semaphore>
#include <thread>
#include <vector>

#include "interlock/async_wait.hpp"
#include "interlock/latch.hpp"
#include "interlock/mutex.hpp"
#include "interlock/parking_lot.hpp"
#include "interlock/resettable_event.hpp"
#include "interlock/semaphore.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
namespace pl = interlock::parking_lot;
using interlock::Latch;
using interlock::Mutex;
using interlock::ResettableEvent;
using interlock::Semaphore;

namespace {

/// Counts notifications and lets a thread wait for one.
struct Inbox {
  std::atomic<int> count{0};
  std::binary_semaphore ready{0};
  static void notify(void* ctx) noexcept {
    auto* self = static_cast<Inbox*>(ctx);
    self->count.fetch_add(1, std::memory_order_relaxed);
    self->ready.release();
  }
  bool wait_for(std::chrono::milliseconds d = 5s) { return ready.try_acquire_for(d); }
};

template <class W>
struct Waiting {
  Inbox inbox;
  W waiter{&Inbox::notify, &inbox};
};

int dummy_word = 0;

}  // namespace

TEST(ParkAsync, NotifiedOnceByUnparkWithParkArg) {
  Waiting<pl::AsyncNode> w;
  int arg = 7;
  ASSERT_TRUE(pl::park_async(&dummy_word, w.waiter, [] { return true; }, &arg));
  EXPECT_EQ(pl::waiter_count(&dummy_word), 1u);
  void* seen = nullptr;
  EXPECT_TRUE(pl::unpark_one(&dummy_word, [&](void* a, bool has_more) {
    seen = a;
    EXPECT_FALSE(has_more);
  }));
  EXPECT_EQ(seen, &arg);
  ASSERT_TRUE(w.inbox.wait_for());
  EXPECT_EQ(w.inbox.count.load(), 1);
  EXPECT_FALSE(pl::cancel_async(w.waiter));  // already taken
  EXPECT_EQ(pl::waiter_count(&dummy_word), 0u);
}

TEST(ParkAsync, ValidateFalseDoesNotEnqueue) {
  Waiting<pl::AsyncNode> w;
  EXPECT_FALSE(pl::park_async(&dummy_word, w.waiter, [] { return false; }));
  EXPECT_EQ(pl::waiter_count(&dummy_word), 0u);
  EXPECT_FALSE(pl::cancel_async(w.waiter));  // never enqueued
}

TEST(ParkAsync, CancelRemovesAndNeverNotifies) {
  Waiting<pl::AsyncNode> a, b;
  ASSERT_TRUE(pl::park_async(&dummy_word, a.waiter, nullptr));
  ASSERT_TRUE(pl::park_async(&dummy_word, b.waiter, nullptr));
  bool more = false;
  EXPECT_TRUE(pl::cancel_async(a.waiter, [&](bool has_more) { more = has_more; }));
  EXPECT_TRUE(more);  // b is still there
  EXPECT_EQ(pl::unpark_all(&dummy_word), 1u);
  ASSERT_TRUE(b.inbox.wait_for());
  EXPECT_EQ(a.inbox.count.load(), 0);
  // A node can be enqueued again after it was taken.
  ASSERT_TRUE(pl::park_async(&dummy_word, a.waiter, nullptr));
  EXPECT_TRUE(pl::cancel_async(a.waiter));
}

TEST(ParkAsync, SharesFifoWithParkedThreads) {
  std::atomic<bool> thread_woken{false};
  std::thread t([&] {
    pl::park(&dummy_word, pl::ParkOptions{[] { return true; }});
    thread_woken = true;
  });
  ASSERT_TRUE(itest::eventually([] { return pl::waiter_count(&dummy_word) == 1; }));
  Waiting<pl::AsyncNode> w;
  ASSERT_TRUE(pl::park_async(&dummy_word, w.waiter, nullptr));
  EXPECT_TRUE(pl::unpark_one(&dummy_word));  // the thread came first
  t.join();
  EXPECT_TRUE(thread_woken);
  EXPECT_EQ(w.inbox.count.load(), 0);
  EXPECT_TRUE(pl::unpark_one(&dummy_word));
  ASSERT_TRUE(w.inbox.wait_for());
}

TEST(MutexAsync, FreeLockIsTakenAtOnce) {
  Mutex m;
  Waiting<Mutex::AsyncWaiter> w;
  EXPECT_TRUE(m.lock_async(w.waiter));
  EXPECT_TRUE(m.is_locked());
  m.unlock();
  EXPECT_EQ(w.inbox.count.load(), 0);
}

TEST(MutexAsync, UnlockWakesQueuedWaiter) {
  Mutex m;
  m.lock();
  Waiting<Mutex::AsyncWaiter> w;
  ASSERT_FALSE(m.lock_async(w.waiter));
  EXPECT_TRUE(m.has_parked());
  m.unlock();
  ASSERT_TRUE(w.inbox.wait_for());
  // Either the lock was handed over, or it is free to take now.
  if (!w.waiter.handed_off()) {
    ASSERT_TRUE(m.lock_async(w.waiter));
  }
  EXPECT_TRUE(m.is_locked());
  m.unlock();
  EXPECT_FALSE(m.is_locked());
}

TEST(MutexAsync, WaiterParkedLongEnoughIsHandedTheLock) {
  Mutex m;
  m.lock();
  Waiting<Mutex::AsyncWaiter> w;
  ASSERT_FALSE(m.lock_async(w.waiter));
  std::this_thread::sleep_for(3ms);  // past the 1 ms fairness threshold
  m.unlock();
  ASSERT_TRUE(w.inbox.wait_for());
  EXPECT_TRUE(w.waiter.handed_off());
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.try_lock());
  m.unlock();
}

TEST(MutexAsync, CancelWhileQueuedLeavesLockAlone) {
  Mutex m;
  m.lock();
  Waiting<Mutex::AsyncWaiter> w;
  ASSERT_FALSE(m.lock_async(w.waiter));
  EXPECT_TRUE(m.cancel_async(w.waiter));
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(w.inbox.count.load(), 0);
}

TEST(MutexAsync, CancelAfterHandOffGivesTheLockBack) {
  Mutex m;
  m.lock();
  Waiting<Mutex::AsyncWaiter> w;
  ASSERT_FALSE(m.lock_async(w.waiter));
  std::this_thread::sleep_for(3ms);
  m.unlock();  // hands off
  ASSERT_TRUE(w.inbox.wait_for());
  ASSERT_TRUE(m.is_locked());
  EXPECT_FALSE(m.cancel_async(w.waiter));
  EXPECT_FALSE(m.is_locked());
}

TEST(MutexAsync, CancelAfterPlainWakeUpPassesItOn) {
  Mutex m;
  m.lock();
  Waiting<Mutex::AsyncWaiter> first, second;
  ASSERT_FALSE(m.lock_async(first.waiter));
  ASSERT_FALSE(m.lock_async(second.waiter));
  m.unlock();  // wakes `first` (no hand-off: it has not waited 1 ms)
  ASSERT_TRUE(first.inbox.wait_for());
  ASSERT_FALSE(first.waiter.handed_off());
  // `first` is cancelled instead of retrying: `second` must not be stranded.
  EXPECT_FALSE(m.cancel_async(first.waiter));
  ASSERT_TRUE(second.inbox.wait_for());
  EXPECT_TRUE(second.waiter.handed_off() || m.lock_async(second.waiter));
  m.unlock();
}

// Threads and "loops" (threads driving async waiters, cancelling some) share
// one Mutex: mutual exclusion holds and nobody is stranded.
TEST(MutexAsync, MixedStress) {
  Mutex m;
  long counter = 0;
  const long iters = itest::scaled(3000);
  auto thread_side = [&] {
    for (long i = 0; i < iters; ++i) {
      m.lock();
      ++counter;
      m.unlock();
    }
  };
  std::atomic<long> cancelled{0};
  auto loop_side = [&](unsigned seed) {
    std::minstd_rand rng(seed);
    long done = 0;
    while (done < iters) {
      Waiting<Mutex::AsyncWaiter> w;
      bool owned = m.lock_async(w.waiter);
      while (!owned) {
        if (rng() % 8 == 0) {  // the task is cancelled
          if (!m.cancel_async(w.waiter)) {
            ASSERT_TRUE(w.inbox.wait_for());
          }
          cancelled.fetch_add(1);
          break;
        }
        ASSERT_TRUE(w.inbox.wait_for());
        owned = w.waiter.handed_off() || m.lock_async(w.waiter);
      }
      if (!owned) continue;
      ++counter;
      ++done;
      m.unlock();
    }
  };
  std::thread a(thread_side), b(thread_side), c(loop_side, 1u), d(loop_side, 2u);
  a.join();
  b.join();
  c.join();
  d.join();
  EXPECT_EQ(counter, 4 * iters);
  EXPECT_FALSE(m.is_locked());
}

TEST(SemaphoreAsync, ReleaseHandsPermitToQueuedWaiter) {
  Semaphore s(1);
  Waiting<Semaphore::AsyncWaiter> a, b;
  EXPECT_TRUE(s.acquire_async(a.waiter));
  ASSERT_FALSE(s.acquire_async(b.waiter));
  s.release();
  ASSERT_TRUE(b.inbox.wait_for());
  EXPECT_TRUE(b.waiter.handed_off());
  EXPECT_EQ(s.value(), 0u);
}

TEST(SemaphoreAsync, CancelReturnsAHandedPermit) {
  Semaphore s(0);
  Waiting<Semaphore::AsyncWaiter> w;
  ASSERT_FALSE(s.acquire_async(w.waiter));
  s.release();
  ASSERT_TRUE(w.inbox.wait_for());
  EXPECT_FALSE(s.cancel_async(w.waiter));
  EXPECT_EQ(s.value(), 1u);  // not lost
  Waiting<Semaphore::AsyncWaiter> q;
  ASSERT_TRUE(s.acquire_async(q.waiter));
  ASSERT_FALSE(s.acquire_async(w.waiter));
  EXPECT_TRUE(s.cancel_async(w.waiter));  // still queued: withdrawn
  s.release();
  EXPECT_EQ(s.value(), 1u);  // nobody parked any more: the permit is counted
}

TEST(SemaphoreAsync, WithdrawReportsWithoutReleasing) {
  Semaphore s(0);
  Waiting<Semaphore::AsyncWaiter> w;
  ASSERT_FALSE(s.acquire_async(w.waiter));
  EXPECT_EQ(s.withdraw_async(w.waiter), Semaphore::Withdrawn::queued);
  ASSERT_FALSE(s.acquire_async(w.waiter));
  s.release();
  ASSERT_TRUE(w.inbox.wait_for());
  EXPECT_EQ(s.withdraw_async(w.waiter), Semaphore::Withdrawn::handed_off);
  EXPECT_EQ(s.value(), 0u);  // the permit is the caller's, not released
  s.release();
  EXPECT_EQ(s.value(), 1u);
}

TEST(MutexAsync, TryUnlockHandsTheLockToAQueuedWaiter) {
  Mutex m;
  m.lock();
  Waiting<Mutex::AsyncWaiter> w;
  ASSERT_FALSE(m.lock_async(w.waiter));  // queued: the parked bit is set
  EXPECT_TRUE(m.try_unlock());           // the checked slow path wakes the waiter
  ASSERT_TRUE(w.inbox.wait_for());
  if (w.waiter.handed_off()) {
    EXPECT_TRUE(m.try_unlock());
  }
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.try_unlock());
}

TEST(SemaphoreAsync, TokensConservedUnderCancellation) {
  Semaphore s(0);
  const long n = itest::scaled(2000);
  std::atomic<long> taken{0};
  std::atomic<bool> stop{false};
  std::thread loop([&] {
    std::minstd_rand rng(3);
    while (!stop.load()) {
      Waiting<Semaphore::AsyncWaiter> w;
      if (s.acquire_async(w.waiter)) {
        taken.fetch_add(1);
        continue;
      }
      if (rng() % 4 == 0) {
        if (!s.cancel_async(w.waiter)) {
          ASSERT_TRUE(w.inbox.wait_for());
        }
        continue;
      }
      if (w.inbox.wait_for(50ms)) {
        ASSERT_TRUE(w.waiter.handed_off());
        taken.fetch_add(1);
      } else if (!s.cancel_async(w.waiter)) {
        ASSERT_TRUE(w.inbox.wait_for());
      }
    }
  });
  for (long i = 0; i < n; ++i) s.release();
  ASSERT_TRUE(itest::eventually([&] { return taken.load() + static_cast<long>(s.value()) == n; }));
  stop = true;
  loop.join();
  EXPECT_EQ(taken.load() + static_cast<long>(s.value()), n);
}

TEST(EventAsync, SetWakesEveryQueuedWaiter) {
  ResettableEvent e;
  Waiting<ResettableEvent::AsyncWaiter> a, b;
  ASSERT_FALSE(e.wait_async(a.waiter));
  ASSERT_FALSE(e.wait_async(b.waiter));
  e.set();
  ASSERT_TRUE(a.inbox.wait_for());
  ASSERT_TRUE(b.inbox.wait_for());
  Waiting<ResettableEvent::AsyncWaiter> c;
  EXPECT_TRUE(e.wait_async(c.waiter));
  e.clear();
  ASSERT_FALSE(e.wait_async(c.waiter));
  EXPECT_TRUE(e.cancel_async(c.waiter));
  e.set();
  EXPECT_EQ(c.inbox.count.load(), 0);
}

TEST(LatchAsync, OpensForQueuedWaiters) {
  Latch l(2);
  Waiting<Latch::AsyncWaiter> w;
  ASSERT_FALSE(l.wait_async(w.waiter));
  l.count_down();
  EXPECT_EQ(w.inbox.count.load(), 0);
  l.count_down();
  ASSERT_TRUE(w.inbox.wait_for());
  EXPECT_TRUE(l.wait_async(w.waiter));
}

#if !defined(_WIN32)  // fork(): not on Windows
TEST(ParkAsync, AfterForkNotifiesAsyncWaitersInTheChild) {
  Waiting<pl::AsyncNode> w;
  ASSERT_TRUE(pl::park_async(&dummy_word, w.waiter, nullptr));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pl::after_fork();
    int code = 0;
    if (w.inbox.count.load() != 1) code = 1;
    else if (pl::waiter_count(&dummy_word) != 0) code = 2;
    else if (pl::cancel_async(w.waiter)) code = 3;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(pl::cancel_async(w.waiter));  // the parent's queue is untouched
}
#endif

// ---- interlock::AsyncWait: one wait's node and the rules for its outcome.

namespace {
struct Loop {
  Inbox inbox;
  interlock::AsyncWait wait;
  Loop(interlock::AsyncWait::Kind k, void* prim,
       const interlock::AsyncWait::CustomOps* ops = nullptr)
      : wait(k, prim, ops, &Inbox::notify, &inbox) {}
};
using Kind = interlock::AsyncWait::Kind;
}  // namespace

TEST(AsyncWait, ReadyAtOnceQueuesNothingAndEndsTheWait) {
  Semaphore s(1);
  Loop a(Kind::semaphore, &s);
  EXPECT_TRUE(a.wait.enqueue());
  EXPECT_EQ(s.value(), 0u);
  EXPECT_FALSE(a.wait.cancel());  // over: nothing to withdraw or give back
  EXPECT_EQ(s.value(), 0u);
}

TEST(AsyncWait, ConsumeTakesWhatWasHandedOverOnce) {
  Semaphore s(0);
  Loop a(Kind::semaphore, &s);
  ASSERT_FALSE(a.wait.enqueue());
  s.release();
  ASSERT_TRUE(a.inbox.wait_for());
  EXPECT_TRUE(a.wait.consume());
  a.wait.abandon();  // consumed: gives nothing back
  EXPECT_FALSE(a.wait.cancel());
  EXPECT_EQ(s.value(), 0u);
}

TEST(AsyncWait, CancelOrAbandonGivesAHandedLockBackOnce) {
  for (int abandon_first = 0; abandon_first < 2; ++abandon_first) {
    Mutex m;
    m.lock();
    Loop a(Kind::mutex, &m);
    ASSERT_FALSE(a.wait.enqueue());
    std::this_thread::sleep_for(3ms);  // past the fairness threshold: a hand-off
    m.unlock();
    ASSERT_TRUE(a.inbox.wait_for());
    ASSERT_TRUE(m.is_locked());
    if (abandon_first) a.wait.abandon();  // the loop was gone
    EXPECT_FALSE(a.wait.cancel());
    if (!abandon_first) a.wait.abandon();
    EXPECT_FALSE(m.is_locked());  // released exactly once
    EXPECT_FALSE(a.wait.consume());
    ASSERT_TRUE(m.try_lock());  // the next holder's lock is not released again
    a.wait.abandon();
    EXPECT_TRUE(m.is_locked());
    m.unlock();
  }
}

TEST(AsyncWait, CancelWhileQueuedWithdraws) {
  ResettableEvent e;
  Loop a(Kind::event, &e);
  ASSERT_FALSE(a.wait.enqueue());
  EXPECT_TRUE(a.wait.cancel());
  e.set();
  EXPECT_EQ(a.inbox.count.load(), 0);
  Latch l(1);
  Loop b(Kind::latch, &l);
  ASSERT_FALSE(b.wait.enqueue());
  l.count_down();
  ASSERT_TRUE(b.inbox.wait_for());
  EXPECT_TRUE(b.wait.consume());
}

TEST(AsyncWait, CustomWaitsPassAWakeUpOnUnlessTheRetryClaimsIt) {
  static int passed_on = 0;
  static bool still_queued = false;
  static const interlock::AsyncWait::CustomOps ops{
      [](void*, pl::AsyncNode&) noexcept { return still_queued; },
      [](void*) noexcept { ++passed_on; }};
  passed_on = 0;  // (statics: the test may be repeated)
  int prim = 0;
  Loop a(Kind::custom, &prim, &ops);
  still_queued = false;  // a wake-up took it
  EXPECT_FALSE(a.wait.cancel());
  EXPECT_EQ(passed_on, 1);
  Loop b(Kind::custom, &prim, &ops);
  EXPECT_TRUE(b.wait.consume());  // the retry keeps the registration
  EXPECT_FALSE(b.wait.consume());
  b.wait.abandon();
  EXPECT_EQ(passed_on, 1);
  Loop c(Kind::custom, &prim, &ops);
  still_queued = true;
  EXPECT_TRUE(c.wait.cancel());
  EXPECT_EQ(passed_on, 1);
}
