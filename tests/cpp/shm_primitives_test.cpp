// Cross-process primitives on shared memory (ShmMutex, ShmSemaphore, ShmEvent,
// ShmBarrier, the layout header, futex_wait with hooks), with fork()ed
// children on an anonymous MAP_SHARED mapping.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "interlock/shm_barrier.hpp"
#include "interlock/shm_event.hpp"
#include "interlock/shm_mutex.hpp"
#include "interlock/shm_semaphore.hpp"
#include "interlock/wait_hooks.hpp"
#include "test_util.hpp"

namespace {

using namespace interlock;
using namespace interlock::shm;
using namespace std::chrono_literals;

/// An anonymous shared mapping, zero-filled, unmapped at scope end.
struct SharedPage {
  explicit SharedPage(std::size_t n = 4096) : size(n) {
    p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
  }
  ~SharedPage() { ::munmap(p, size); }
  char* at(std::size_t off) const { return static_cast<char*>(p) + off; }
  void* p;
  std::size_t size;
};

/// Forks a child running f(); the child exits 0 if f returns true.
template <class F>
pid_t spawn(F&& f) {
  pid_t pid = ::fork();
  if (pid == 0) {
    bool ok = false;
    try {
      ok = f();
    } catch (...) {
    }
    ::_exit(ok ? 0 : 1);
  }
  EXPECT_GT(pid, 0);
  return pid;
}

int reap(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ShmLayout, InitAttachAndRefuse) {
  SharedPage page;
  ShmMutex m(page.at(0));
  EXPECT_EQ(m.attach(), AttachResult::created);
  EXPECT_EQ(ShmMutex(page.at(0)).attach(), AttachResult::attached);
  EXPECT_EQ(ShmEvent(page.at(0)).attach(), AttachResult::wrong_kind);
  // Another layout version.
  auto* h = reinterpret_cast<Header*>(page.at(0));
  h->kind_version.store((static_cast<std::uint32_t>(Kind::mutex) << 16) | 99);
  EXPECT_EQ(ShmMutex(page.at(0)).attach(), AttachResult::wrong_version);
  std::memset(page.at(64), 0x5A, 64);
  EXPECT_EQ(ShmSemaphore(page.at(64)).attach(0), AttachResult::foreign);
  EXPECT_STRNE(describe(AttachResult::foreign), "ok");
}

TEST(ShmLayout, ConcurrentInitialisersAgree) {
  for (int round = 0; round < 20; ++round) {
    SharedPage page;
    std::atomic<int> created{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
      ts.emplace_back([&] {
        if (ShmSemaphore(page.at(0)).attach(7) == AttachResult::created) created.fetch_add(1);
      });
    for (auto& t : ts) t.join();
    EXPECT_EQ(created.load(), 1);
    EXPECT_EQ(ShmSemaphore(page.at(0)).value(), 7u);
  }
}

TEST(ShmMutex, TryLockUnlockAndOwner) {
  SharedPage page;
  ShmMutex m(page.at(0));
  ASSERT_EQ(m.attach(), AttachResult::created);
  EXPECT_FALSE(m.locked());
  EXPECT_TRUE(m.try_lock());
  EXPECT_TRUE(m.locked());
  EXPECT_EQ(m.owner_pid(), static_cast<std::uint32_t>(::getpid()));
  EXPECT_FALSE(m.try_lock());
  EXPECT_FALSE(m.owner_died());
  EXPECT_TRUE(m.unlock());
  EXPECT_FALSE(m.unlock());  // was not locked
  EXPECT_FALSE(m.locked());
}

TEST(ShmMutex, TimesOut) {
  SharedPage page;
  ShmMutex m(page.at(0));
  m.attach();
  ASSERT_TRUE(m.try_lock());
  itest::Stopwatch sw;
  std::thread t([&] { EXPECT_EQ(m.lock_until(Deadline::after(50ms)), LockResult::timed_out); });
  t.join();
  EXPECT_GE(sw.ms(), 45);
  EXPECT_EQ(m.lock_until(Deadline::immediate()), LockResult::timed_out);
  m.unlock();
}

TEST(ShmMutex, MutualExclusionAcrossProcesses) {
  SharedPage page;
  ShmMutex m(page.at(0));
  m.attach();
  auto* counter = reinterpret_cast<volatile long*>(page.at(128));
  const long n = itest::scaled(20000);
  std::vector<pid_t> kids;
  for (int k = 0; k < 3; ++k)
    kids.push_back(spawn([&] {
      ShmMutex mm(page.at(0));
      if (mm.attach() != AttachResult::attached) return false;
      for (long i = 0; i < n; ++i) {
        if (mm.lock_until(Deadline::never()) != LockResult::ok) return false;
        long v = *counter;
        if (i % 64 == 0) sched_yield();
        *counter = v + 1;
        mm.unlock();
      }
      return true;
    }));
  for (pid_t p : kids) EXPECT_EQ(reap(p), 0);
  EXPECT_EQ(*counter, 3 * n);
  EXPECT_FALSE(m.locked());
}

TEST(ShmMutex, OwnerDeathIsRecoveredByAWaiter) {
  for (int trial = 0; trial < 5; ++trial) {
    SharedPage page;
    ShmMutex m(page.at(0));
    m.attach();
    auto* ready = reinterpret_cast<std::atomic<std::uint32_t>*>(page.at(128));
    pid_t holder = spawn([&] {
      ShmMutex mm(page.at(0));
      mm.lock_until(Deadline::never());
      ready->store(1);
      for (;;) ::pause();
      return true;
    });
    while (ready->load() == 0) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(m.owner_pid(), static_cast<std::uint32_t>(holder));
    std::thread killer([&] {
      std::this_thread::sleep_for(20ms);
      ::kill(holder, SIGKILL);
    });
    itest::Stopwatch sw;
    EXPECT_EQ(m.lock_until(Deadline::after(10s)), LockResult::owner_died);
    EXPECT_LT(sw.ms(), 1500);
    killer.join();
    EXPECT_EQ(reap(holder), 128 + SIGKILL);
    EXPECT_TRUE(m.owner_died());
    EXPECT_EQ(m.owner_pid(), static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(m.recoveries(), 1u);
    EXPECT_TRUE(m.unlock());
    EXPECT_FALSE(m.owner_died());
    EXPECT_EQ(m.lock_until(Deadline::never()), LockResult::ok);
    m.unlock();
  }
}

TEST(ShmMutex, TryLockRecoversFromADeadOwner) {
  SharedPage page;
  ShmMutex m(page.at(0));
  m.attach();
  pid_t holder = spawn([&] {
    ShmMutex mm(page.at(0));
    return mm.try_lock();  // exits holding it
  });
  EXPECT_EQ(reap(holder), 0);
  EXPECT_TRUE(m.locked());
  EXPECT_FALSE(m.try_lock());
  EXPECT_EQ(m.try_lock_or_recover(), LockResult::owner_died);
  EXPECT_TRUE(m.owner_died());
  m.unlock();
}

TEST(ShmMutex, ReusedPidIsNotAnOwner) {
  // A live process whose start time differs from the recorded stamp (a
  // reused PID) is treated as dead after two slices.
  SharedPage page;
  ShmMutex m(page.at(0));
  m.attach();
  pid_t other = spawn([] {
    ::pause();
    return true;
  });
  // Forge: "other" holds the lock with a wrong stamp.
  m.layout()->state.store(static_cast<std::uint32_t>(other));
  m.layout()->owner_stamp.store(12345);
  itest::Stopwatch sw;
  EXPECT_EQ(m.lock_until(Deadline::after(5s)), LockResult::owner_died);
  EXPECT_GE(sw.ms(), 150);
  m.unlock();
  ::kill(other, SIGKILL);
  reap(other);
}

TEST(ShmSemaphore, TokensAreConserved) {
  SharedPage page;
  ShmSemaphore s(page.at(0));
  ASSERT_EQ(s.attach(0), AttachResult::created);
  auto* taken = reinterpret_cast<std::atomic<long>*>(page.at(128));
  const long per = itest::scaled(5000);
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k)
    kids.push_back(spawn([&] {  // consumers
      ShmSemaphore ss(page.at(0));
      ss.attach(0);
      for (long i = 0; i < per; ++i) {
        if (ss.wait_until(Deadline::after(20s)) != WaitStatus::ok) return false;
        taken->fetch_add(1);
      }
      return true;
    }));
  for (int k = 0; k < 2; ++k)
    kids.push_back(spawn([&] {  // producers, in batches of 1..3
      ShmSemaphore ss(page.at(0));
      ss.attach(0);
      long left = per;
      for (std::uint32_t b = 1; left > 0; b = b % 3 + 1) {
        std::uint32_t n = static_cast<std::uint32_t>(std::min<long>(b, left));
        if (!ss.post(n)) return false;
        left -= n;
      }
      return true;
    }));
  for (pid_t p : kids) EXPECT_EQ(reap(p), 0);
  EXPECT_EQ(taken->load(), 2 * per);
  EXPECT_EQ(s.value(), 0u);
}

TEST(ShmSemaphore, OverflowTimeoutAndStore) {
  SharedPage page;
  ShmSemaphore s(page.at(0));
  s.attach(ShmSemaphore::max_value - 1);
  EXPECT_TRUE(s.post(1));
  EXPECT_FALSE(s.post(1));
  EXPECT_EQ(s.value(), ShmSemaphore::max_value);
  s.store_value(0);
  EXPECT_EQ(s.wait_until(Deadline::after(20ms)), WaitStatus::timed_out);
  EXPECT_EQ(s.wait_until(Deadline::immediate()), WaitStatus::timed_out);
  std::thread t([&] { EXPECT_EQ(s.wait_until(Deadline::after(10s)), WaitStatus::ok); });
  std::this_thread::sleep_for(10ms);
  s.store_value(1);
  t.join();
  EXPECT_EQ(s.value(), 0u);
}

TEST(ShmEvent, SetWakesOtherProcesses) {
  SharedPage page;
  ShmEvent go(page.at(0)), done(page.at(64));
  go.attach();
  done.attach();
  std::vector<pid_t> kids;
  for (int k = 0; k < 3; ++k)
    kids.push_back(spawn([&] {
      ShmEvent g(page.at(0));
      if (g.wait_until(Deadline::after(20s)) != WaitStatus::ok) return false;
      return g.is_set();
    }));
  EXPECT_FALSE(go.is_set());
  go.set();
  for (pid_t p : kids) EXPECT_EQ(reap(p), 0);
  go.clear();
  EXPECT_FALSE(go.is_set());
  EXPECT_EQ(go.wait_until(Deadline::after(20ms)), WaitStatus::timed_out);
  EXPECT_EQ(go.wait_until(Deadline::immediate()), WaitStatus::timed_out);
}

TEST(ShmEvent, PingPong) {
  SharedPage page;
  ShmEvent ping(page.at(0)), pong(page.at(64));
  ping.attach();
  pong.attach();
  const int rounds = static_cast<int>(itest::scaled(2000));
  pid_t kid = spawn([&] {
    for (int i = 0; i < rounds; ++i) {
      if (ping.wait_until(Deadline::after(20s)) != WaitStatus::ok) return false;
      ping.clear();
      pong.set();
    }
    return true;
  });
  for (int i = 0; i < rounds; ++i) {
    ping.set();
    ASSERT_EQ(pong.wait_until(Deadline::after(20s)), WaitStatus::ok);
    pong.clear();
  }
  EXPECT_EQ(reap(kid), 0);
}

TEST(ShmBarrier, ProcessesPassTogetherRoundAfterRound) {
  SharedPage page;
  ShmBarrier b(page.at(0));
  ASSERT_EQ(b.attach(3), AttachResult::created);
  auto* slots = reinterpret_cast<std::atomic<std::uint32_t>*>(page.at(128));
  const int rounds = static_cast<int>(itest::scaled(300));
  auto party = [&] {
    ShmBarrier bb(page.at(0));
    bb.attach(99);  // the existing party count wins
    for (int r = 0; r < rounds; ++r) {
      std::uint32_t idx = 99;
      if (bb.wait_until(Deadline::after(20s), &idx) != ShmBarrier::Result::passed) return false;
      if (idx >= 3) return false;
      slots[r % 8 * 3 + idx].fetch_add(1);
    }
    return true;
  };
  pid_t a = spawn(party), c = spawn(party);
  EXPECT_TRUE(party());
  EXPECT_EQ(reap(a), 0);
  EXPECT_EQ(reap(c), 0);
  // Every index was taken exactly once per round.
  std::uint32_t total = 0;
  for (int i = 0; i < 24; ++i) total += slots[i].load();
  EXPECT_EQ(total, static_cast<std::uint32_t>(3 * rounds));
  EXPECT_EQ(b.parties(), 3u);
  EXPECT_FALSE(b.broken());
}

TEST(ShmBarrier, OpenNeedsACountForFreshMemoryAndAMatchingOneOtherwise) {
  SharedPage page;
  ShmBarrier b(page.at(0));
  AttachResult r{};
  EXPECT_EQ(b.open(0, &r), ShmBarrier::Open::parties_required);  // fresh: nothing written
  EXPECT_EQ(b.open(3, &r), ShmBarrier::Open::ok);
  EXPECT_EQ(r, AttachResult::created);
  EXPECT_EQ(b.parties(), 3u);
  ShmBarrier other(page.at(0));
  EXPECT_EQ(other.open(0, &r), ShmBarrier::Open::ok);  // whatever the memory holds
  EXPECT_EQ(r, AttachResult::attached);
  EXPECT_EQ(other.open(3, &r), ShmBarrier::Open::ok);
  EXPECT_EQ(other.open(4, &r), ShmBarrier::Open::parties_mismatch);
  EXPECT_EQ(other.parties(), 3u);
}

TEST(ShmBarrier, TimeoutBreaksItUntilReset) {
  SharedPage page;
  ShmBarrier b(page.at(0));
  b.attach(2);
  std::uint32_t idx;
  EXPECT_EQ(b.wait_until(Deadline::after(20ms), &idx), ShmBarrier::Result::timed_out);
  EXPECT_TRUE(b.broken());
  EXPECT_EQ(b.wait_until(Deadline::after(20ms), &idx), ShmBarrier::Result::broken);
  b.reset();
  EXPECT_FALSE(b.broken());
  std::thread t([&] {
    std::uint32_t i2;
    EXPECT_EQ(b.wait_until(Deadline::after(10s), &i2), ShmBarrier::Result::passed);
  });
  EXPECT_EQ(b.wait_until(Deadline::after(10s), &idx), ShmBarrier::Result::passed);
  t.join();
  // abort() wakes a waiter with broken.
  std::thread t2([&] {
    std::uint32_t i3;
    EXPECT_EQ(b.wait_until(Deadline::after(10s), &i3), ShmBarrier::Result::broken);
  });
  EXPECT_TRUE(itest::eventually([&] { return b.n_waiting() == 1; }));
  b.abort();
  t2.join();
}

// Hooks: the sleep is wrapped, and on_interrupt can abandon it.
struct HookLog {
  std::atomic<int> before{0}, after{0}, interrupts{0};
  std::atomic<int> allow{1 << 30};  // on_interrupt says "abandon" once past this many calls
};
void* hb(void* ctx) noexcept {
  static_cast<HookLog*>(ctx)->before++;
  return nullptr;
}
void ha(void* ctx, void*) noexcept { static_cast<HookLog*>(ctx)->after++; }
bool hi(void* ctx) noexcept {
  auto* l = static_cast<HookLog*>(ctx);
  return ++l->interrupts > l->allow.load();
}

TEST(ShmWaitHooks, SlicesAndInterruption) {
  SharedPage page;
  ShmMutex m(page.at(0));
  ShmSemaphore s(page.at(64));
  m.attach();
  s.attach(0);
  ASSERT_TRUE(m.try_lock());
  HookLog log;
  WaitHooks hooks{hb, ha, hi, &log, 5'000'000, SpinPolicy::none};
  std::thread t([&] {
    ScopedWaitHooks scope(&hooks);
    EXPECT_EQ(s.wait_until(Deadline::after(30ms)), WaitStatus::timed_out);
    // With no deadline only the slices call on_interrupt (how many slices the
    // timed wait above got depends on the scheduler): three say "go on", the
    // fourth abandons the wait.
    const int n = log.interrupts.load();
    log.allow = n + 3;
    EXPECT_EQ(s.wait_until(Deadline::never()), WaitStatus::interrupted);
    EXPECT_EQ(log.interrupts.load(), n + 4);
    EXPECT_EQ(m.lock_until(Deadline::never()), LockResult::interrupted);
  });
  t.join();
  EXPECT_EQ(log.before.load(), log.after.load());  // every sleep was wrapped
  EXPECT_TRUE(m.locked());  // nothing changed by the interrupted wait
  EXPECT_EQ(s.value(), 0u);
  m.unlock();
}

}  // namespace
