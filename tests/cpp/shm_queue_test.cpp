// GoogleTest for interlock::ShmQueue (include/interlock/shm_queue.hpp): the
// bounded MPMC ring in shared memory, across threads and fork()ed processes.
#include "interlock/shm_queue.hpp"
#include "interlock/wait_hooks.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using interlock::Deadline;
using interlock::ShmQueueStatus;
using interlock::ShmQueue;
using interlock::ShmQueueError;

namespace {

struct Shared {
  void* p = nullptr;
  std::size_t n = 0;
  explicit Shared(std::size_t size) : n(size) {
    p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
  }
  ~Shared() { munmap(p, n); }
};

bool put_u64(ShmQueue& q, std::uint64_t v, Deadline d = Deadline::never()) {
  return q.put(&v, sizeof v, d) == ShmQueueStatus::ok;
}

ShmQueueStatus get_u64(ShmQueue& q, std::uint64_t& v, Deadline d = Deadline::never()) {
  return q.get([&](const char* p, std::size_t n) { if (n == sizeof v) std::memcpy(&v, p, n); }, d);
}

}  // namespace

TEST(ShmQueue, FifoSingleThread) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  EXPECT_EQ(q.capacity(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(put_u64(q, i, Deadline::immediate()));
  std::uint64_t x = 99;
  EXPECT_EQ(q.try_put(&x, sizeof x), ShmQueueStatus::timed_out);  // full
  EXPECT_EQ(q.size(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) {
    std::uint64_t v = 0;
    ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
    EXPECT_EQ(v, i);
  }
  std::uint64_t v = 0;
  EXPECT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::timed_out);  // empty
}

TEST(ShmQueue, MatchesWhatWasAskedFor) {
  Shared m(ShmQueue::required_size(5, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 5, 32);  // capacity 5 -> 8
  EXPECT_TRUE(q.matches(0, 0));                    // nothing asked
  EXPECT_TRUE(q.matches(5, 32));
  EXPECT_TRUE(q.matches(8, 0));
  EXPECT_TRUE(q.matches(7, 0));  // rounded as capacity_for() rounds
  EXPECT_FALSE(q.matches(9, 0));
  EXPECT_FALSE(q.matches(0, 31));
  EXPECT_FALSE(q.matches(8, 64));
  q.check_matches(7, 0);
  try {
    q.check_matches(9, 31);
    FAIL() << "check_matches(9, 31) did not throw";
  } catch (const ShmQueueError& e) {
    EXPECT_NE(std::string(e.what()).find("capacity 8 and max_message 32, not the capacity 16 "
                                          "and max_message 31"),
              std::string::npos)
        << e.what();
  }
}

TEST(ShmQueue, VariableLengthAndTooLarge) {
  Shared m(ShmQueue::required_size(8, 100));
  ShmQueue q = ShmQueue::create(m.p, m.n, 8, 100);
  std::string big(101, 'x');
  EXPECT_EQ(q.try_put(big.data(), big.size()), ShmQueueStatus::too_large);
  EXPECT_EQ(q.try_put("", 0), ShmQueueStatus::ok);
  EXPECT_EQ(q.try_put(big.data(), 100), ShmQueueStatus::ok);
  std::string out = "junk";
  EXPECT_EQ(q.try_get([&](const char* p, std::size_t n) { out.assign(p, n); }), ShmQueueStatus::ok);
  EXPECT_EQ(out, "");
  EXPECT_EQ(q.try_get([&](const char* p, std::size_t n) { out.assign(p, n); }), ShmQueueStatus::ok);
  EXPECT_EQ(out, std::string(100, 'x'));
}

TEST(ShmQueue, Timeouts) {
  Shared m(ShmQueue::required_size(1, 8));
  ShmQueue q = ShmQueue::create(m.p, m.n, 1, 8);
  EXPECT_EQ(q.capacity(), 2u);  // the ring has at least two slots
  std::uint64_t v = 0;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get_u64(q, v, Deadline::after(30ms)), ShmQueueStatus::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 25ms);
  ASSERT_TRUE(put_u64(q, 1));
  ASSERT_TRUE(put_u64(q, 2));
  t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(put_u64(q, 3, Deadline::after(30ms)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 25ms);
}

TEST(ShmQueue, ShutdownDrainsThenFails) {
  Shared m(ShmQueue::required_size(4, 8));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 8);
  ASSERT_TRUE(put_u64(q, 7));
  q.shutdown();
  EXPECT_TRUE(q.is_shut_down());
  std::uint64_t x = 1;
  EXPECT_EQ(q.put(&x, sizeof x, Deadline::never()), ShmQueueStatus::shut_down);
  std::uint64_t v = 0;
  EXPECT_EQ(get_u64(q, v), ShmQueueStatus::ok);
  EXPECT_EQ(v, 7u);
  EXPECT_EQ(get_u64(q, v), ShmQueueStatus::shut_down);
}

TEST(ShmQueue, ShutdownImmediateDiscards) {
  Shared m(ShmQueue::required_size(4, 8));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 8);
  ASSERT_TRUE(put_u64(q, 7));
  ASSERT_TRUE(put_u64(q, 8));
  EXPECT_EQ(q.shutdown(true), 2u);
  std::uint64_t v = 0;
  EXPECT_EQ(get_u64(q, v, Deadline::after(1s)), ShmQueueStatus::shut_down);
  EXPECT_EQ(q.size(), 0u);
}

TEST(ShmQueue, ShutdownWakesBlockedGetAndPut) {
  Shared m(ShmQueue::required_size(1, 8));
  ShmQueue q = ShmQueue::create(m.p, m.n, 1, 8);
  std::atomic<int> done{0};
  std::thread getter([&] {
    std::uint64_t v = 0;
    EXPECT_EQ(get_u64(q, v), ShmQueueStatus::shut_down);
    done.fetch_add(1);
  });
  std::this_thread::sleep_for(20ms);  // let it block (correctness does not depend on it)
  q.shutdown();
  getter.join();
  EXPECT_EQ(done.load(), 1);
}

TEST(ShmQueue, RejectsBadMemory) {
  Shared m(ShmQueue::required_size(4, 8) + 64);
  char* base = static_cast<char*>(m.p);
  EXPECT_THROW(ShmQueue::create(base + 8, m.n - 8, 4, 8), ShmQueueError);  // misaligned
  EXPECT_THROW(ShmQueue::create(base, 100, 4, 8), ShmQueueError);          // too small
  EXPECT_THROW(ShmQueue::create(base, m.n, 0, 8), ShmQueueError);          // capacity 0
  std::memset(base, 0, m.n);
  EXPECT_THROW(ShmQueue::attach(base, m.n), ShmQueueError);  // not a queue
  ShmQueue::create(base, m.n, 4, 8);
  EXPECT_NO_THROW(ShmQueue::attach(base, m.n));
  EXPECT_THROW(ShmQueue::attach(base, ShmQueue::required_size(4, 8) - 1), ShmQueueError);
  // Layout-version mismatch: a clear error naming both versions.
  auto* h = static_cast<interlock::ShmQueueHeader*>(m.p);
  h->version = interlock::kShmQueueLayoutVersion + 1;
  try {
    ShmQueue::attach(base, m.n);
    FAIL() << "attach of another layout version succeeded";
  } catch (const ShmQueueError& e) {
    EXPECT_NE(std::string(e.what()).find("layout version"), std::string::npos) << e.what();
  }
}

TEST(ShmQueue, MpmcThreadsNoLossNoDuplicates) {
  constexpr int kProducers = 3, kConsumers = 3, kPer = 20000;
  Shared m(ShmQueue::required_size(64, 8));
  ShmQueue q = ShmQueue::create(m.p, m.n, 64, 8);
  std::vector<std::atomic<int>> seen(kProducers * kPer);
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p)
    ts.emplace_back([&, p] {
      for (int i = 0; i < kPer; ++i) ASSERT_TRUE(put_u64(q, std::uint64_t(p) * kPer + i));
    });
  std::atomic<int> got{0};
  for (int c = 0; c < kConsumers; ++c)
    ts.emplace_back([&] {
      std::uint64_t v = 0;
      while (get_u64(q, v) == ShmQueueStatus::ok) {
        seen[v].fetch_add(1);
        if (got.fetch_add(1) + 1 == kProducers * kPer) q.shutdown();
      }
    });
  for (auto& t : ts) t.join();
  for (auto& s : seen) ASSERT_EQ(s.load(), 1);
}

TEST(ShmQueue, ShutdownDuringPutsStrandsNothing) {
  // Producers race shutdown(); every put that returned ok is received by the
  // consumers, who stop only at shut_down; refused puts leave tombstones that
  // nobody receives.
  for (int round = 0; round < 50; ++round) {
    Shared m(ShmQueue::required_size(8, 8));
    ShmQueue q = ShmQueue::create(m.p, m.n, 8, 8);
    std::atomic<long> accepted{0}, received{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int p = 0; p < 2; ++p)
      ts.emplace_back([&, p] {
        while (!go.load()) std::this_thread::yield();
        for (std::uint64_t i = 0;; ++i) {
          const ShmQueueStatus st = q.put(&i, sizeof i, Deadline::never());
          if (st == ShmQueueStatus::shut_down) return;
          ASSERT_EQ(st, ShmQueueStatus::ok);
          accepted.fetch_add(1);
        }
      });
    for (int c = 0; c < 2; ++c)
      ts.emplace_back([&] {
        std::uint64_t v = 0;
        for (;;) {
          const ShmQueueStatus st = get_u64(q, v);
          if (st == ShmQueueStatus::shut_down) return;
          ASSERT_EQ(st, ShmQueueStatus::ok);
          // Shut down mid-stream, at a point that moves with the round.
          if (received.fetch_add(1) + 1 == 100 + 37 * round) q.shutdown();
        }
      });
    go = true;
    for (auto& t : ts) t.join();
    EXPECT_EQ(received.load(), accepted.load()) << "round " << round;
  }
}

TEST(ShmQueue, ForkedProducersAndConsumers) {
  constexpr int kProducers = 2, kConsumers = 2, kPer = 20000, kTotal = kProducers * kPer;
  Shared m(ShmQueue::required_size(128, 8));
  Shared seen_mem(sizeof(std::atomic<std::uint32_t>) * (kTotal + 1));
  auto* seen = static_cast<std::atomic<std::uint32_t>*>(seen_mem.p);  // zero-filled
  auto* got = seen + kTotal;
  ShmQueue::create(m.p, m.n, 128, 8);
  std::vector<pid_t> kids;
  for (int p = 0; p < kProducers; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ShmQueue a = ShmQueue::attach(m.p, m.n);
      for (int i = 0; i < kPer; ++i)
        if (!put_u64(a, std::uint64_t(p) * kPer + i)) _exit(2);
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (int c = 0; c < kConsumers; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ShmQueue a = ShmQueue::attach(m.p, m.n);
      std::uint64_t v = 0;
      while (get_u64(a, v, Deadline::after(20s)) == ShmQueueStatus::ok) {
        if (v >= std::uint64_t(kTotal)) _exit(3);
        seen[v].fetch_add(1);
        if (got->fetch_add(1) + 1 == kTotal) a.shutdown();
      }
      _exit(a.is_shut_down() ? 0 : 4);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
  }
  EXPECT_EQ(got->load(), std::uint32_t(kTotal));
  for (int i = 0; i < kTotal; ++i) ASSERT_EQ(seen[i].load(), 1u) << i;
}

namespace {
struct HookCounts {
  std::atomic<int> before{0}, after{0}, interrupts{0};
  int abandon_after = 2;  // on_interrupt says "abandon" on this call
};
}  // namespace

// Sleeps go through the thread's WaitHooks; an abandoned wait claims nothing.
TEST(ShmQueue, WaitHooksAroundSleepAndInterrupt) {
  Shared m(ShmQueue::required_size(2, 8));
  ShmQueue q = ShmQueue::create(m.p, m.n, 2, 8);
  HookCounts c;
  interlock::WaitHooks h;
  h.ctx = &c;
  h.before_sleep = +[](void* ctx) noexcept -> void* {
    static_cast<HookCounts*>(ctx)->before.fetch_add(1);
    return ctx;
  };
  h.after_sleep = +[](void* ctx, void* token) noexcept {
    EXPECT_EQ(ctx, token);
    static_cast<HookCounts*>(ctx)->after.fetch_add(1);
  };
  h.on_interrupt = +[](void* ctx) noexcept -> bool {
    auto* k = static_cast<HookCounts*>(ctx);
    return k->interrupts.fetch_add(1) + 1 >= k->abandon_after;
  };
  h.poll_interval_ns = 5'000'000;  // 5 ms slices
  {
    interlock::ScopedWaitHooks scope(&h);
    std::uint64_t v = 0;
    EXPECT_EQ(get_u64(q, v, Deadline::after(10s)), ShmQueueStatus::interrupted);
    EXPECT_EQ(c.interrupts.load(), 2);
    EXPECT_EQ(c.before.load(), c.after.load());
    EXPECT_GE(c.before.load(), 2);
    // Full queue: the blocked put is abandoned and has not enqueued anything.
    ASSERT_TRUE(put_u64(q, 1));
    ASSERT_TRUE(put_u64(q, 2));
    c.interrupts = 0;
    EXPECT_FALSE(put_u64(q, 3, Deadline::after(10s)));
    EXPECT_EQ(c.interrupts.load(), 2);
  }
  EXPECT_EQ(q.size(), 2u);
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 1u);
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::timed_out);
}

TEST(ShmQueue, OpenCreatesOnceAndAttachesAfter) {
  const std::size_t n = ShmQueue::required_size(8, 32);
  Shared m(n);
  bool created = false;
  // Attach-only on fresh memory: an error.
  EXPECT_THROW(ShmQueue::open(m.p, m.n, 0, 0, Deadline::immediate(), &created), ShmQueueError);
  ShmQueue a = ShmQueue::open(m.p, m.n, 8, 32, Deadline::immediate(), &created);
  EXPECT_TRUE(created);
  ASSERT_TRUE(put_u64(a, 7));
  ShmQueue b = ShmQueue::open(m.p, m.n, 0, 0, Deadline::immediate(), &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(b.capacity(), 8u);
  EXPECT_EQ(b.max_message(), 32u);
  std::uint64_t v = 0;
  EXPECT_EQ(get_u64(b, v), ShmQueueStatus::ok);
  EXPECT_EQ(v, 7u);
  // Too small for the requested queue; memory that is neither fresh nor a queue.
  Shared small(n);
  EXPECT_THROW(ShmQueue::open(small.p, 512, 8, 32, Deadline::immediate(), &created),
               ShmQueueError);
  std::memset(small.p, 0x5a, 64);
  EXPECT_THROW(ShmQueue::open(small.p, small.n, 8, 32, Deadline::immediate(), &created),
               ShmQueueError);
  // A creator that never finished (ready word stuck at "initialising"): a
  // clear error once the wait runs out, not a hang.
  Shared stuck(n);
  static_cast<interlock::ShmQueueHeader*>(stuck.p)->ready.store(2);
  auto t0 = std::chrono::steady_clock::now();
  try {
    ShmQueue::open(stuck.p, stuck.n, 8, 32, Deadline::after(50ms), &created);
    FAIL() << "open of a never-initialised queue succeeded";
  } catch (const ShmQueueError& e) {
    EXPECT_NE(std::string(e.what()).find("did not finish"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(ShmQueue, OpenRaceAcrossProcessesCreatesExactlyOnce) {
  // Several forked processes and this one open the same fresh memory at
  // once: exactly one initialises it, all end up with a working queue.
  const std::size_t n = ShmQueue::required_size(1024, 16);
  for (int round = 0; round < 20; ++round) {
    Shared m(n);
    auto* go = static_cast<std::atomic<int>*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (go) std::atomic<int>(0);
    auto* creators = go + 1;
    new (creators) std::atomic<int>(0);
    constexpr int kKids = 3;
    pid_t kids[kKids];
    for (int k = 0; k < kKids; ++k) {
      kids[k] = fork();
      if (kids[k] == 0) {
        while (go->load() == 0) {
        }
        bool c = false;
        ShmQueue q = ShmQueue::open(m.p, m.n, 1024, 16, Deadline::after(5s), &c);
        if (c) creators->fetch_add(1);
        _exit(put_u64(q, 100 + k, Deadline::after(5s)) ? 0 : 1);
      }
    }
    go->store(1);
    bool c = false;
    ShmQueue q = ShmQueue::open(m.p, m.n, 1024, 16, Deadline::after(5s), &c);
    if (c) creators->fetch_add(1);
    for (pid_t kid : kids) {
      int st = 0;
      ASSERT_EQ(waitpid(kid, &st, 0), kid);
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    EXPECT_EQ(creators->load(), 1);
    EXPECT_EQ(q.size(), static_cast<std::size_t>(kKids));
    munmap(go, 4096);
  }
}

TEST(ShmQueue, ReadinessAndExternalWaiters) {
  Shared m(ShmQueue::required_size(2, 8));
  ShmQueue q = ShmQueue::create(m.p, m.n, 2, 8);
  EXPECT_FALSE(q.readable());
  EXPECT_TRUE(q.writable());
  // An external waiter sleeping on the items epoch is woken by a put from
  // another process, and re-checks.
  std::uint32_t e = q.epoch(false);
  ASSERT_FALSE(q.readable());
  pid_t kid = fork();
  if (kid == 0) _exit(put_u64(q, 1, Deadline::after(5s)) ? 0 : 1);
  while (!q.readable()) {
    ASSERT_NE(q.sleep_until_changed(false, e, Deadline::after(10s)),
              interlock::WaitStatus::timed_out);
    e = q.epoch(false);
  }
  int st = 0;
  ASSERT_EQ(waitpid(kid, &st, 0), kid);
  ASSERT_TRUE(put_u64(q, 2));
  EXPECT_FALSE(q.writable());  // full
  // kick() wakes a sleeper that has nothing to wait for otherwise.
  std::uint32_t s = q.epoch(true);
  std::thread kicker([&] { q.kick(true); });
  EXPECT_NE(q.sleep_until_changed(true, s, Deadline::after(10s)), interlock::WaitStatus::timed_out);
  kicker.join();
  EXPECT_EQ(q.sleep_until_changed(true, q.epoch(true), Deadline::after(20ms)),
            interlock::WaitStatus::timed_out);
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v), ShmQueueStatus::ok);
  EXPECT_EQ(v, 1u);
  EXPECT_TRUE(q.writable());
  q.shutdown();
  EXPECT_TRUE(q.readable());
  EXPECT_TRUE(q.writable());
}

// ------------------------------------------------------------ dead claimants
// A claim by a process killed mid-put / mid-get, simulated in the layout: the
// position is advanced and the slot's owner word names a PID that has exited.
namespace {

std::uint32_t dead_pid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int st = 0;
  waitpid(pid, &st, 0);
  return static_cast<std::uint32_t>(pid);
}

char* base_of(ShmQueue& q) { return static_cast<char*>(q.memory()); }
std::atomic<std::uint64_t>* enq_of(ShmQueue& q) {
  return reinterpret_cast<std::atomic<std::uint64_t>*>(base_of(q) + 64);
}
std::atomic<std::uint64_t>* deq_of(ShmQueue& q) {
  return reinterpret_cast<std::atomic<std::uint64_t>*>(base_of(q) + 128);
}
char* slot_of(ShmQueue& q, std::uint64_t pos, std::size_t slot_size) {
  return base_of(q) + ShmQueue::kHeaderSize + (pos & (q.capacity() - 1)) * slot_size;
}
std::atomic<std::uint32_t>* owner_word(char* s) {
  return reinterpret_cast<std::atomic<std::uint32_t>*>(s + 12);
}
constexpr std::size_t kSlot = 64;  // slot size for max_message 32

}  // namespace

TEST(ShmQueue, DeadProducerClaimIsSkipped) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  ASSERT_TRUE(put_u64(q, 1));
  // A producer claims position 1 and dies before publishing.
  enq_of(q)->fetch_add(1);
  owner_word(slot_of(q, 1, kSlot))->store(dead_pid());
  ASSERT_TRUE(put_u64(q, 2));
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 1u);
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);  // past the dead claim
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::timed_out);
  // The ring keeps working across many rounds afterwards.
  for (std::uint64_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(put_u64(q, i, Deadline::immediate()));
    ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
    EXPECT_EQ(v, i);
  }
}

TEST(ShmQueue, LiveProducerClaimIsNotSkipped) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  enq_of(q)->fetch_add(1);  // claimed by a live process (the parent of this test)
  owner_word(slot_of(q, 0, kSlot))->store(static_cast<std::uint32_t>(getppid()));
  std::uint64_t v = 0;
  EXPECT_EQ(get_u64(q, v, Deadline::after(50ms)), ShmQueueStatus::timed_out);
  EXPECT_EQ(deq_of(q)->load(), 0u);
}

TEST(ShmQueue, DeadConsumerClaimIsFreed) {
  Shared m(ShmQueue::required_size(2, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 2, 32);
  ASSERT_TRUE(put_u64(q, 1));
  ASSERT_TRUE(put_u64(q, 2));
  // A consumer claims message 1 and dies mid-copy: capacity 2, "full".
  deq_of(q)->fetch_add(1);
  owner_word(slot_of(q, 0, kSlot))->store(dead_pid());
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 2u);
  // Both slots usable again: the dead consumer's slot is freed by the put.
  ASSERT_TRUE(put_u64(q, 3, Deadline::immediate()));
  ASSERT_TRUE(put_u64(q, 4, Deadline::immediate()));
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 3u);
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 4u);
}

TEST(ShmQueue, ShutdownWakesGetBehindDeadProducer) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  enq_of(q)->fetch_add(1);
  owner_word(slot_of(q, 0, kSlot))->store(dead_pid());
  std::atomic<int> result{-1};
  std::thread t([&] {
    std::uint64_t v = 0;
    result = static_cast<int>(get_u64(q, v, Deadline::after(30s)));
  });
  std::this_thread::sleep_for(20ms);  // (not synchronisation: either order must work)
  q.shutdown();
  t.join();
  EXPECT_EQ(result.load(), static_cast<int>(ShmQueueStatus::shut_down));
}

TEST(ShmQueue, BlockedPutNoticesConsumerDeathWithoutWakeUp) {
  Shared m(ShmQueue::required_size(2, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 2, 32);
  ASSERT_TRUE(put_u64(q, 1));
  ASSERT_TRUE(put_u64(q, 2));
  // A child process claims message 1 (as a consumer), then is killed.
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t pid = fork();
  if (pid == 0) {
    ShmQueue c = ShmQueue::attach(m.p, m.n);
    c.get([&](const char*, std::size_t) {
      char b = 'c';
      (void)!write(to_parent[1], &b, 1);
      (void)!read(to_child[0], &b, 1);  // never returns: killed here
    }, Deadline::never());
    _exit(0);
  }
  char b;
  ASSERT_EQ(read(to_parent[0], &b, 1), 1);
  std::atomic<int> result{-1};
  std::thread t([&] { result = static_cast<int>(q.put("x", 1, Deadline::after(30s))); });
  std::this_thread::sleep_for(20ms);
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  t.join();  // re-checks within kDeadCheckInterval
  EXPECT_EQ(result.load(), static_cast<int>(ShmQueueStatus::ok));
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 2u);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

// The owner word is taken before the position is claimed and cleared after
// the slot is published / freed: a process killed at any instruction of that
// window leaves its PID, and the recoverer reads from seq and the positions
// whether it had claimed. These are the states a claim-less or finished death
// leaves behind; each must be repaired without losing or duplicating.
TEST(ShmQueue, DeadProducerReservationWithoutClaimIsReleased) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  owner_word(slot_of(q, 0, kSlot))->store(dead_pid());  // reserved, died before the CAS
  ASSERT_TRUE(put_u64(q, 7, Deadline::immediate()));
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 7u);
  EXPECT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::timed_out);
  EXPECT_EQ(owner_word(slot_of(q, 0, kSlot))->load(), 0u);
}

TEST(ShmQueue, DeadProducerAfterPublishKeepsItsMessage) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  ASSERT_TRUE(put_u64(q, 1));
  owner_word(slot_of(q, 0, kSlot))->store(dead_pid());  // published, died before the clear
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 1u);  // delivered once
  EXPECT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::timed_out);
}

TEST(ShmQueue, DeadConsumerReservationWithoutClaimKeepsTheMessage) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  ASSERT_TRUE(put_u64(q, 1));
  owner_word(slot_of(q, 0, kSlot))->store(dead_pid());  // reserved the full slot, no claim
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 1u);
}

TEST(ShmQueue, DeadConsumerAfterFreeLeavesTheSlotUsable) {
  Shared m(ShmQueue::required_size(2, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 2, 32);
  ASSERT_TRUE(put_u64(q, 1));
  std::uint64_t v = 0;
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  owner_word(slot_of(q, 0, kSlot))->store(dead_pid());  // freed, died before the clear
  ASSERT_TRUE(put_u64(q, 2, Deadline::immediate()));   // slot 1
  ASSERT_TRUE(put_u64(q, 3, Deadline::immediate()));   // slot 0 again
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 2u);
  ASSERT_EQ(get_u64(q, v, Deadline::immediate()), ShmQueueStatus::ok);
  EXPECT_EQ(v, 3u);
}

TEST(ShmQueue, ManyThreadsKeepEveryMessageWithReservations) {
  Shared m(ShmQueue::required_size(4, 32));
  ShmQueue q = ShmQueue::create(m.p, m.n, 4, 32);
  constexpr int kProducers = 3, kPer = 20000;
  std::vector<std::thread> ts;
  std::atomic<std::uint64_t> sum{0};
  std::atomic<int> got{0};
  for (int p = 0; p < kProducers; ++p)
    ts.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < kPer; ++i) ASSERT_TRUE(put_u64(q, p * kPer + i + 1));
    });
  for (int c = 0; c < 2; ++c)
    ts.emplace_back([&] {
      std::uint64_t v = 0;
      while (got.load() < kProducers * kPer) {
        if (get_u64(q, v, Deadline::after(std::chrono::milliseconds(50))) == ShmQueueStatus::ok) {
          sum += v;
          ++got;
        }
      }
    });
  for (auto& t : ts) t.join();
  const std::uint64_t n = kProducers * kPer;
  EXPECT_EQ(got.load(), static_cast<int>(n));
  EXPECT_EQ(sum.load(), n * (n + 1) / 2);
}
