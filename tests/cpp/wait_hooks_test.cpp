// Tests for interlock::WaitHooks: hooks around sleeps, and interruption of
// every interruptible wait.
#include "interlock/wait_hooks.hpp"

#include <gtest/gtest.h>
#if !defined(_WIN32)  // POSIX signals: not on Windows
#include <pthread.h>
#include <signal.h>
#endif

#include <atomic>
#include <thread>
#include <vector>

#include "interlock/condition_variable.hpp"
#include "interlock/event.hpp"
#include "interlock/mutex.hpp"
#include "interlock/once.hpp"
#include "interlock/parking_lot.hpp"
#include "interlock/recursive_mutex.hpp"
#include "interlock/rw_mutex.hpp"
#include "interlock/semaphore.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::ConditionVariable;
using interlock::Deadline;
using interlock::Event;
using interlock::Mutex;
using interlock::OnceFlag;
using interlock::RecursiveMutex;
using interlock::RWMutex;
using interlock::ScopedWaitHooks;
using interlock::Semaphore;
using interlock::WaitHooks;
using interlock::WaitStatus;
using itest::eventually;
using itest::Stopwatch;
namespace pl = interlock::parking_lot;

namespace {

struct Counters {
  std::atomic<int> before{0};
  std::atomic<int> after{0};
  std::atomic<int> interrupts{0};
  std::atomic<int> bad_token{0};
  bool interrupt_result = true;
};

// A token unique to the context, to check after_sleep gets before_sleep's.
void* token_for(void* ctx) { return static_cast<char*>(ctx) + 1; }

WaitHooks make_hooks(Counters& c, std::int64_t poll_ns, bool with_interrupt = true) {
  WaitHooks h;
  h.ctx = &c;
  h.before_sleep = +[](void* ctx) noexcept -> void* {
    static_cast<Counters*>(ctx)->before.fetch_add(1);
    return token_for(ctx);
  };
  h.after_sleep = +[](void* ctx, void* token) noexcept {
    auto* c = static_cast<Counters*>(ctx);
    if (token != token_for(ctx)) c->bad_token.fetch_add(1);
    c->after.fetch_add(1);
  };
  if (with_interrupt)
    h.on_interrupt = +[](void* ctx) noexcept -> bool {
      auto* c = static_cast<Counters*>(ctx);
      c->interrupts.fetch_add(1);
      return c->interrupt_result;
    };
  h.poll_interval_ns = poll_ns;
  return h;
}

constexpr std::int64_t kPoll20ms = 20'000'000;

// Runs `wait` on a thread with interrupting hooks (poll 20 ms) installed and
// returns its status, checking it came back promptly.
template <class Wait>
WaitStatus run_interrupted(Wait wait, Counters& c) {
  WaitHooks hooks = make_hooks(c, kPoll20ms);
  WaitStatus status = WaitStatus::ok;
  double ms = 0;
  std::thread t([&] {
    ScopedWaitHooks scope(&hooks);
    Stopwatch sw;
    status = wait();
    ms = sw.ms();
  });
  t.join();
  EXPECT_LT(ms, 1000.0 * (itest::kSanitized ? 2 : 1)) << "interruption was not prompt";
  EXPECT_GE(c.interrupts.load(), 1);
  EXPECT_EQ(c.before.load(), c.after.load());
  EXPECT_EQ(c.bad_token.load(), 0);
  return status;
}

}  // namespace

TEST(WaitHooks, ScopedInstallAndRestore) {
  EXPECT_EQ(interlock::detail::current_wait_hooks(), nullptr);
  Counters c1, c2;
  WaitHooks h1 = make_hooks(c1, 0), h2 = make_hooks(c2, 0);
  {
    ScopedWaitHooks s1(&h1);
    EXPECT_EQ(interlock::detail::current_wait_hooks(), &h1);
    {
      ScopedWaitHooks s2(&h2);
      EXPECT_EQ(interlock::detail::current_wait_hooks(), &h2);
      // Per thread: another thread sees none.
      const WaitHooks* other = &h1;
      std::thread t([&] { other = interlock::detail::current_wait_hooks(); });
      t.join();
      EXPECT_EQ(other, nullptr);
    }
    EXPECT_EQ(interlock::detail::current_wait_hooks(), &h1);
  }
  EXPECT_EQ(interlock::detail::current_wait_hooks(), nullptr);
}

TEST(WaitHooks, RunAroundBlockingMutexLock) {
  Mutex m;
  m.lock();
  Counters c;
  WaitHooks hooks = make_hooks(c, 0);
  std::atomic<bool> acquired{false};
  std::thread t([&] {
    ScopedWaitHooks scope(&hooks);
    m.lock();
    acquired.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return m.has_parked() && pl::waiter_count(&m) == 1; }));
  ASSERT_TRUE(eventually([&] { return c.before.load() >= 1; }));
  m.unlock();
  t.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_GE(c.before.load(), 1);
  EXPECT_EQ(c.before.load(), c.after.load());
  EXPECT_EQ(c.bad_token.load(), 0);
  EXPECT_EQ(c.interrupts.load(), 0);
}

// Every spin policy keeps mutual exclusion and reader/writer exclusion, with
// contention: the policy only changes what a waiter does before parking.
class SpinPolicyTest : public ::testing::TestWithParam<interlock::SpinPolicy> {};

TEST_P(SpinPolicyTest, MutexAndRWMutexStayExclusive) {
  WaitHooks hooks;
  hooks.spin = GetParam();
  Mutex m;
  RWMutex rw;
  long plain = 0;       // guarded by m
  long rw_plain = 0;    // guarded by rw (exclusive)
  std::atomic<bool> bad_read{false};
  constexpr int kThreads = 3;
  const int iters = static_cast<int>(itest::scaled(20000));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      ScopedWaitHooks scope(&hooks);
      for (int i = 0; i < iters; ++i) {
        m.lock();
        ++plain;
        m.unlock();
        if (i % 4 == 0) {
          rw.lock();
          ++rw_plain;
          ++rw_plain;
          rw.unlock();
        } else {
          rw.lock_shared();
          if (rw_plain % 2 != 0) bad_read.store(true);
          rw.unlock_shared();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(plain, static_cast<long>(kThreads) * iters);
  EXPECT_EQ(rw_plain, 2L * kThreads * ((iters + 3) / 4));
  EXPECT_FALSE(bad_read.load());
}

INSTANTIATE_TEST_SUITE_P(Policies, SpinPolicyTest,
                         ::testing::Values(interlock::SpinPolicy::adaptive,
                                           interlock::SpinPolicy::yield,
                                           interlock::SpinPolicy::none),
                         [](const auto& info) {
                           switch (info.param) {
                             case interlock::SpinPolicy::adaptive: return std::string("adaptive");
                             case interlock::SpinPolicy::yield: return std::string("yield");
                             case interlock::SpinPolicy::none: return std::string("none");
                           }
                           return std::string("unknown");
                         });

TEST(WaitHooks, NotRunWithoutSleeping) {
  Counters c;
  WaitHooks hooks = make_hooks(c, kPoll20ms);
  ScopedWaitHooks scope(&hooks);
  Mutex m;
  m.lock();
  m.unlock();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  Event e;
  e.notify();
  e.wait();
  int key = 0;
  auto validate = [] { return false; };
  pl::ParkOptions o{validate};
  EXPECT_EQ(pl::park(&key, o), pl::ParkResult::invalid);
  EXPECT_EQ(c.before.load(), 0);
  EXPECT_EQ(c.after.load(), 0);
  EXPECT_EQ(c.interrupts.load(), 0);
}

TEST(WaitHooks, TimedWaitRunsHooksAndTimesOut) {
  Counters c;
  WaitHooks hooks = make_hooks(c, 0);
  ScopedWaitHooks scope(&hooks);
  Event e;
  EXPECT_EQ(e.wait_until(Deadline::after(30ms)), WaitStatus::timed_out);
  EXPECT_GE(c.before.load(), 1);
  EXPECT_EQ(c.before.load(), c.after.load());
  EXPECT_EQ(c.interrupts.load(), 0);
}

TEST(WaitHooks, PollingWithoutInterruptKeepsWaiting) {
  // on_interrupt says "carry on": the wait continues across poll slices and
  // completes normally.
  Mutex m;
  m.lock();
  Counters c;
  c.interrupt_result = false;
  WaitHooks hooks = make_hooks(c, kPoll20ms);
  WaitStatus status = WaitStatus::timed_out;
  std::thread t([&] {
    ScopedWaitHooks scope(&hooks);
    status = m.lock_until(Deadline::never());
    if (status == WaitStatus::ok) m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return c.interrupts.load() >= 2; }))
      << "on_interrupt was not polled";
  m.unlock();
  t.join();
  EXPECT_EQ(status, WaitStatus::ok);
  EXPECT_EQ(c.before.load(), c.after.load());
  EXPECT_FALSE(m.is_locked());
}

TEST(WaitHooks, PollingTimedWaitStillTimesOutOnTime) {
  Counters c;
  c.interrupt_result = false;
  WaitHooks hooks = make_hooks(c, 5'000'000);  // 5 ms slices
  ScopedWaitHooks scope(&hooks);
  Event e;
  Stopwatch sw;
  EXPECT_EQ(e.wait_until(Deadline::after(60ms)), WaitStatus::timed_out);
  EXPECT_GE(sw.ms(), 60.0);
  EXPECT_LT(sw.ms(), 2000.0);
  EXPECT_GE(c.interrupts.load(), 1);
}

TEST(WaitHooks, NonInterruptibleWaitIgnoresInterruptRequests) {
  Mutex m;
  m.lock();
  Counters c;  // would interrupt
  WaitHooks hooks = make_hooks(c, kPoll20ms);
  std::atomic<bool> acquired{false};
  std::thread t([&] {
    ScopedWaitHooks scope(&hooks);
    m.lock();  // not interruptible
    acquired.store(true);
    m.unlock();
  });
  ASSERT_TRUE(eventually([&] { return c.before.load() >= 1; }));
  std::this_thread::sleep_for(60ms);  // several poll periods (holds either way)
  EXPECT_FALSE(acquired.load());
  m.unlock();
  t.join();
  EXPECT_TRUE(acquired.load());
}

TEST(WaitHooks, InterruptMutexLockUntil) {
  Mutex m;
  m.lock();
  Counters c;
  EXPECT_EQ(run_interrupted([&] { return m.lock_until(Deadline::never()); }, c),
            WaitStatus::interrupted);
  // The mutex is still consistent: the holder unlocks, others can lock.
  EXPECT_TRUE(m.is_locked());
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(m.has_parked());
  std::thread t([&] {
    m.lock();
    m.unlock();
  });
  t.join();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(WaitHooks, InterruptRecursiveMutexLockUntil) {
  RecursiveMutex m;
  m.lock();
  Counters c;
  EXPECT_EQ(run_interrupted([&] { return m.lock_until(Deadline::never()); }, c),
            WaitStatus::interrupted);
  EXPECT_EQ(m.depth_held_by_current_thread(), 1u);
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  std::thread t([&] {
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
  t.join();
}

TEST(WaitHooks, InterruptEventWaitUntil) {
  Event e;
  Counters c;
  EXPECT_EQ(run_interrupted([&] { return e.wait_until(Deadline::never()); }, c),
            WaitStatus::interrupted);
  EXPECT_FALSE(e.is_set());
  EXPECT_EQ(pl::waiter_count(&e), 0u);
  // Still usable.
  std::thread t([&] { EXPECT_TRUE(e.wait_for(itest::kLong)); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == 1; }));
  e.notify();
  t.join();
}

TEST(WaitHooks, InterruptSemaphoreAcquireUntil) {
  Semaphore s;
  Counters c;
  EXPECT_EQ(run_interrupted([&] { return s.acquire_until(Deadline::never()); }, c),
            WaitStatus::interrupted);
  EXPECT_EQ(s.value(), 0u);
  EXPECT_EQ(pl::waiter_count(&s), 0u);
  s.release();
  EXPECT_EQ(s.value(), 1u);
  EXPECT_TRUE(s.try_acquire());
}

TEST(WaitHooks, InterruptRWMutexLockUntil) {
  RWMutex m;
  m.lock_shared();
  Counters c;
  EXPECT_EQ(run_interrupted([&] { return m.lock_until(Deadline::never()); }, c),
            WaitStatus::interrupted);
  // The interrupted writer no longer holds new readers off.
  std::thread r([&] {
    EXPECT_TRUE(m.try_lock_shared());
    m.unlock_shared();
  });
  r.join();
  m.unlock_shared();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(WaitHooks, InterruptRWMutexWriterWithReaderQueuedBehindIt) {
  // A reader parked behind the interrupted writer must be let in.
  RWMutex m;
  m.lock_shared();
  Counters c;
  WaitHooks hooks = make_hooks(c, kPoll20ms);
  WaitStatus ws = WaitStatus::ok;
  std::thread w([&] {
    ScopedWaitHooks scope(&hooks);
    ws = m.lock_until(Deadline::never());
  });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(reinterpret_cast<const char*>(&m) + 1) == 1; }));
  std::atomic<bool> reader_in{false};
  std::thread r([&] {
    EXPECT_TRUE(m.try_lock_shared_for(itest::kLong));
    reader_in.store(true);
    m.unlock_shared();
  });
  w.join();
  EXPECT_EQ(ws, WaitStatus::interrupted);
  EXPECT_TRUE(eventually([&] { return reader_in.load(); }));
  r.join();
  m.unlock_shared();
  EXPECT_FALSE(m.is_locked());
}

TEST(WaitHooks, InterruptRWMutexLockSharedUntil) {
  RWMutex m;
  m.lock();
  Counters c;
  EXPECT_EQ(run_interrupted([&] { return m.lock_shared_until(Deadline::never()); }, c),
            WaitStatus::interrupted);
  EXPECT_EQ(m.reader_count(), 0u);
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock_shared());
  m.unlock_shared();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(WaitHooks, InterruptConditionVariableWaitUntil) {
  Mutex m;
  ConditionVariable cv;
  Counters c;
  bool held_on_return = false;
  EXPECT_EQ(run_interrupted(
                [&] {
                  m.lock();
                  WaitStatus s = cv.wait_until(m, Deadline::never());
                  held_on_return = m.is_locked();
                  m.unlock();
                  return s;
                },
                c),
            WaitStatus::interrupted);
  EXPECT_TRUE(held_on_return);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(cv.notify_all(), 0u);
}

TEST(WaitHooks, InterruptOnceBegin) {
  OnceFlag flag;
  ASSERT_EQ(flag.begin(), OnceFlag::Begin::run);
  Counters c;
  OnceFlag::Begin b = OnceFlag::Begin::run;
  run_interrupted(
      [&] {
        b = flag.begin(Deadline::never(), true);
        return WaitStatus::ok;
      },
      c);
  EXPECT_EQ(b, OnceFlag::Begin::interrupted);
  flag.finish(true);
  EXPECT_TRUE(flag.is_done());
}

#if !defined(_WIN32)  // POSIX signals: not on Windows
namespace {
void noop_signal_handler(int) {}
}  // namespace

TEST(WaitHooks, RealSignalInterruptsWait) {
  // A signal delivered to the sleeping thread (EINTR) reaches on_interrupt
  // even without polling.
  struct sigaction sa{}, old{};
  sa.sa_handler = noop_signal_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);

  Event e;
  Counters c;
  WaitHooks hooks = make_hooks(c, 0);
  WaitStatus status = WaitStatus::ok;
  std::atomic<bool> done{false};
  std::thread t([&] {
    ScopedWaitHooks scope(&hooks);
    status = e.wait_until(Deadline::after(itest::kLong));
    done.store(true);
  });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == 1 && c.before.load() >= 1; }));
  // Resend until it lands (the first may arrive before the futex sleep).
  Stopwatch sw;
  while (!done.load() && sw.ms() < 5000) {
    pthread_kill(t.native_handle(), SIGUSR1);
    eventually([&] { return done.load(); }, 50ms);
  }
  t.join();
  EXPECT_EQ(status, WaitStatus::interrupted);
  EXPECT_GE(c.interrupts.load(), 1);
  EXPECT_EQ(c.before.load(), c.after.load());
  sigaction(SIGUSR1, &old, nullptr);
}

TEST(WaitHooks, SignalWithoutHooksDoesNotAbortWait) {
  struct sigaction sa{}, old{};
  sa.sa_handler = noop_signal_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  Event e;
  WaitStatus status = WaitStatus::timed_out;
  std::thread t([&] { status = e.wait_until(Deadline::after(itest::kLong)); });
  ASSERT_TRUE(eventually([&] { return pl::waiter_count(&e) == 1; }));
  for (int i = 0; i < 5; ++i) {
    pthread_kill(t.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(pl::waiter_count(&e), 1u);  // still waiting
  e.notify();
  t.join();
  EXPECT_EQ(status, WaitStatus::ok);
  sigaction(SIGUSR1, &old, nullptr);
}
#endif

namespace {
// Hooks that poll every 200 us and abandon every other poll, for stress.
struct FlakyCtx {
  std::atomic<long> calls{0};
};
WaitHooks flaky_hooks(FlakyCtx& c) {
  WaitHooks h;
  h.ctx = &c;
  h.on_interrupt = +[](void* ctx) noexcept -> bool {
    return static_cast<FlakyCtx*>(ctx)->calls.fetch_add(1) % 2 == 0;
  };
  h.poll_interval_ns = 200'000;
  return h;
}
}  // namespace

TEST(WaitHooks, InterruptionStressMutexRWMutexSemaphore) {
  // Contended waits that are frequently abandoned through the hooks must not
  // corrupt any primitive: exclusion holds, permits are conserved, and every
  // primitive ends free with nobody parked.
  Mutex m;
  RWMutex rw;
  Semaphore sem(2);
  long counter = 0;
  std::atomic<int> rw_writers{0}, rw_readers{0}, sem_holders{0};
  std::atomic<int> violations{0};
  std::atomic<long> interrupted{0};
  const long iters = itest::scaled(2000);
  constexpr int kThreads = 4;
  std::vector<FlakyCtx> ctxs(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      WaitHooks hooks = flaky_hooks(ctxs[t]);
      ScopedWaitHooks scope(&hooks);
      auto retry = [&](auto&& f) {
        while (f() != WaitStatus::ok) interrupted.fetch_add(1, std::memory_order_relaxed);
      };
      for (long i = 0; i < iters; ++i) {
        switch ((i + t) % 4) {
          case 0:
            retry([&] { return m.lock_until(Deadline::never()); });
            ++counter;
            if (i % 64 == 0) std::this_thread::sleep_for(300us);
            m.unlock();
            break;
          case 1:
            retry([&] { return rw.lock_until(Deadline::never()); });
            if (rw_writers.fetch_add(1) != 0 || rw_readers.load() != 0) violations.fetch_add(1);
            if (i % 64 == 1) std::this_thread::sleep_for(300us);
            rw_writers.fetch_sub(1);
            rw.unlock();
            break;
          case 2:
            retry([&] { return rw.lock_shared_until(Deadline::never()); });
            rw_readers.fetch_add(1);
            if (rw_writers.load() != 0) violations.fetch_add(1);
            if (i % 64 == 2) std::this_thread::sleep_for(300us);
            rw_readers.fetch_sub(1);
            rw.unlock_shared();
            break;
          default:
            retry([&] { return sem.acquire_until(Deadline::never()); });
            if (sem_holders.fetch_add(1) >= 2) violations.fetch_add(1);
            if (i % 64 == 3) std::this_thread::sleep_for(300us);
            sem_holders.fetch_sub(1);
            sem.release();
        }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(violations.load(), 0);
  long expected_mutex = 0;
  for (int t = 0; t < kThreads; ++t)
    for (long i = 0; i < iters; ++i) expected_mutex += (i + t) % 4 == 0;
  EXPECT_EQ(counter, expected_mutex);
  EXPECT_FALSE(m.is_locked());
  EXPECT_FALSE(rw.is_locked());
  EXPECT_EQ(sem.value(), 2u);
  EXPECT_EQ(pl::waiter_count(&m), 0u);
  EXPECT_EQ(pl::waiter_count(&rw), 0u);
  EXPECT_EQ(pl::waiter_count(reinterpret_cast<const char*>(&rw) + 1), 0u);
  EXPECT_EQ(pl::waiter_count(&sem), 0u);
  EXPECT_TRUE(rw.try_lock_shared());
  rw.unlock_shared();
  EXPECT_TRUE(rw.try_lock());
  rw.unlock();
  m.lock();
  m.unlock();
  EXPECT_FALSE(m.has_parked());
}
