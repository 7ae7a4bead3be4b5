// Tests for interlock::BlockingQueue.
#include "interlock/blocking_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "interlock/parking_lot.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using interlock::BlockingQueue;
using interlock::Deadline;
using interlock::QueueStatus;
using interlock::WaitStatus;
using Q = BlockingQueue<std::uintptr_t>;

TEST(BlockingQueue, FifoAndSize) {
  Q q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  for (std::uintptr_t i = 1; i <= 1000; ++i) ASSERT_EQ(q.push(i), QueueStatus::ok);
  EXPECT_EQ(q.size(), 1000u);
  EXPECT_EQ(q.unfinished_tasks(), 1000u);
  for (std::uintptr_t i = 1; i <= 1000; ++i) {
    std::uintptr_t v = 0;
    ASSERT_EQ(q.pop(&v), QueueStatus::ok);
    ASSERT_EQ(v, i);
  }
  std::uintptr_t v = 0;
  EXPECT_EQ(q.pop(&v, Deadline::immediate()), QueueStatus::timed_out);
  EXPECT_TRUE(q.empty());
}

TEST(BlockingQueue, WrapAroundAndGrowth) {
  Q q;
  std::uintptr_t next_in = 0, next_out = 0;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < round % 37 + 1; ++i) ASSERT_EQ(q.push(next_in++), QueueStatus::ok);
    for (int i = 0; i < round % 23 + 1 && next_out < next_in; ++i) {
      std::uintptr_t v;
      ASSERT_EQ(q.pop(&v, Deadline::immediate()), QueueStatus::ok);
      ASSERT_EQ(v, next_out++);
    }
  }
  EXPECT_EQ(q.size(), next_in - next_out);
}

TEST(BlockingQueue, BoundedFullAndTimeout) {
  Q q(3);
  EXPECT_EQ(q.maxsize(), 3u);
  for (std::uintptr_t i = 0; i < 3; ++i) ASSERT_EQ(q.push(i), QueueStatus::ok);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.push(9, Deadline::immediate()), QueueStatus::timed_out);
  itest::Stopwatch sw;
  EXPECT_EQ(q.push(9, Deadline::after(30ms)), QueueStatus::timed_out);
  EXPECT_GE(sw.elapsed(), 29ms);
  EXPECT_EQ(q.size(), 3u);
  std::uintptr_t v;
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(q.push(9, Deadline::immediate()), QueueStatus::ok);
}

TEST(BlockingQueue, BlockedPutterIsWokenByPop) {
  Q q(1);
  ASSERT_EQ(q.push(1), QueueStatus::ok);
  std::atomic<bool> done{false};
  std::thread t([&] {
    EXPECT_EQ(q.push(2), QueueStatus::ok);
    done = true;
  });
  std::this_thread::sleep_for(5ms);  // let it (probably) park
  std::uintptr_t v;
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_EQ(v, 1u);
  t.join();
  EXPECT_TRUE(done);
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_EQ(v, 2u);
}

TEST(BlockingQueue, BlockedGetterIsWokenByPush) {
  for (auto wait : {Q::Wait::park, Q::Wait::spin_then_park}) {
    Q q(0, wait);
    std::uintptr_t got = 0;
    std::thread t([&] { EXPECT_EQ(q.pop(&got), QueueStatus::ok); });
    std::this_thread::sleep_for(5ms);  // let it (probably) park; correctness does not depend on it
    ASSERT_EQ(q.push(42), QueueStatus::ok);
    t.join();
    EXPECT_EQ(got, 42u);
  }
}

TEST(BlockingQueue, TaskDoneAndJoin) {
  Q q;
  EXPECT_FALSE(q.task_done());
  EXPECT_EQ(q.join(Deadline::immediate()), WaitStatus::ok);
  ASSERT_EQ(q.push(1), QueueStatus::ok);
  ASSERT_EQ(q.push(2), QueueStatus::ok);
  EXPECT_EQ(q.join(Deadline::after(10ms)), WaitStatus::timed_out);
  std::thread joiner([&] { EXPECT_EQ(q.join(), WaitStatus::ok); });
  std::uintptr_t v;
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_TRUE(q.task_done());
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_TRUE(q.task_done());
  joiner.join();
  EXPECT_FALSE(q.task_done());
  EXPECT_EQ(q.unfinished_tasks(), 0u);
}

TEST(BlockingQueue, ShutdownGraceful) {
  Q q(2);
  ASSERT_EQ(q.push(1), QueueStatus::ok);
  ASSERT_EQ(q.push(2), QueueStatus::ok);
  std::thread putter([&] { EXPECT_EQ(q.push(3), QueueStatus::shut_down); });
  std::this_thread::sleep_for(5ms);
  std::size_t released = 0;
  EXPECT_EQ(q.shutdown(false, [&](std::uintptr_t) { ++released; }), 0u);
  putter.join();
  EXPECT_EQ(released, 0u);
  EXPECT_TRUE(q.is_shutdown());
  EXPECT_EQ(q.push(4, Deadline::immediate()), QueueStatus::shut_down);
  std::uintptr_t v;
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_EQ(v, 1u);
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(q.pop(&v), QueueStatus::shut_down);
  EXPECT_EQ(q.pop(&v, Deadline::immediate()), QueueStatus::shut_down);
}

TEST(BlockingQueue, ShutdownWakesGetters) {
  Q q;
  std::vector<std::thread> ts;
  std::atomic<int> down{0};
  for (int i = 0; i < 3; ++i)
    ts.emplace_back([&] {
      std::uintptr_t v;
      if (q.pop(&v) == QueueStatus::shut_down) ++down;
    });
  std::this_thread::sleep_for(5ms);
  q.shutdown(false, [](std::uintptr_t) {});
  for (auto& t : ts) t.join();
  EXPECT_EQ(down, 3);
}

TEST(BlockingQueue, ShutdownImmediateDrainsAndReleases) {
  Q q;
  for (std::uintptr_t i = 0; i < 5; ++i) ASSERT_EQ(q.push(i), QueueStatus::ok);
  std::uintptr_t v;
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_TRUE(q.task_done());  // 4 unfinished
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);  // taken, not done: 4 unfinished, 3 queued
  std::thread joiner([&] { EXPECT_EQ(q.join(), WaitStatus::ok); });
  std::vector<std::uintptr_t> released;
  EXPECT_EQ(q.shutdown(true, [&](std::uintptr_t x) { released.push_back(x); }), 3u);
  EXPECT_EQ(released, (std::vector<std::uintptr_t>{2, 3, 4}));
  EXPECT_EQ(q.unfinished_tasks(), 1u);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.pop(&v), QueueStatus::shut_down);
  EXPECT_TRUE(q.task_done());
  joiner.join();
}

TEST(BlockingQueue, DrainKeepsWorking) {
  Q q;
  for (std::uintptr_t i = 0; i < 100; ++i) ASSERT_EQ(q.push(i), QueueStatus::ok);
  std::uintptr_t sum = 0;
  EXPECT_EQ(q.drain([&](std::uintptr_t x) { sum += x; }), 100u);
  EXPECT_EQ(sum, 4950u);
  ASSERT_EQ(q.push(7), QueueStatus::ok);
  std::uintptr_t v;
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_EQ(v, 7u);
}

TEST(BlockingQueue, ShrinksAfterBigBacklog) {
  Q q;
  for (std::uintptr_t i = 0; i < 10000; ++i) ASSERT_EQ(q.push(i), QueueStatus::ok);
  std::uintptr_t v;
  for (std::uintptr_t i = 0; i < 10000; ++i) {
    ASSERT_EQ(q.pop(&v), QueueStatus::ok);
    ASSERT_EQ(v, i);
  }
  ASSERT_EQ(q.push(5), QueueStatus::ok);
  ASSERT_EQ(q.pop(&v), QueueStatus::ok);
  EXPECT_EQ(v, 5u);
}

// Many producers and consumers through a small bound: every value arrives
// exactly once, and each producer's values arrive in its order.
static void mpmc(Q::Wait wait, std::size_t bound) {
  constexpr int kProducers = 3, kConsumers = 3;
  const long per = itest::scaled(20000);
  Q q(bound, wait);
  std::vector<std::vector<std::uintptr_t>> got(kConsumers);
  std::vector<std::thread> ts;
  for (int c = 0; c < kConsumers; ++c)
    ts.emplace_back([&, c] {
      std::uintptr_t v;
      while (q.pop(&v) == QueueStatus::ok) got[c].push_back(v);
    });
  std::vector<std::thread> ps;
  for (int p = 0; p < kProducers; ++p)
    ps.emplace_back([&, p] {
      for (long i = 0; i < per; ++i)
        ASSERT_EQ(q.push((static_cast<std::uintptr_t>(p) << 32) | static_cast<std::uintptr_t>(i)),
                  QueueStatus::ok);
    });
  for (auto& t : ps) t.join();
  q.shutdown(false, [](std::uintptr_t) {});
  for (auto& t : ts) t.join();
  std::vector<std::uintptr_t> all;
  for (auto& g : got) {
    std::vector<long> last(kProducers, -1);
    for (auto v : g) {
      const int p = static_cast<int>(v >> 32);
      const long i = static_cast<long>(v & 0xffffffffu);
      ASSERT_GT(i, last[p]) << "per-producer order broken";
      last[p] = i;
    }
    all.insert(all.end(), g.begin(), g.end());
  }
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kProducers * per));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
}

TEST(BlockingQueue, MpmcBoundedPark) { mpmc(Q::Wait::park, 8); }
TEST(BlockingQueue, MpmcBoundedSpin) { mpmc(Q::Wait::spin_then_park, 8); }
TEST(BlockingQueue, MpmcUnboundedPark) { mpmc(Q::Wait::park, 0); }
TEST(BlockingQueue, MpmcUnboundedSpin) { mpmc(Q::Wait::spin_then_park, 0); }

// ------------------------------------------------------------ event-loop waiters

namespace {
struct AsyncInbox {
  std::atomic<int> count{0};
  static void notify(void* ctx) noexcept {
    static_cast<AsyncInbox*>(ctx)->count.fetch_add(1, std::memory_order_acq_rel);
  }
};
using Side = Q::AsyncSide;
}  // namespace

TEST(BlockingQueueAsync, PopQueuesThenPushWakesAndRetryTakes) {
  Q q;
  AsyncInbox inbox;
  interlock::parking_lot::AsyncNode node(&AsyncInbox::notify, &inbox);
  std::uintptr_t out = 0;
  bool queued = false;
  EXPECT_EQ(q.pop_async(&out, node, false, &queued), QueueStatus::timed_out);
  ASSERT_TRUE(queued);
  EXPECT_EQ(q.push(7), QueueStatus::ok);  // runs the notify on this thread
  EXPECT_EQ(inbox.count.load(), 1);
  EXPECT_EQ(q.pop_async(&out, node, true, &queued), QueueStatus::ok);
  EXPECT_FALSE(queued);
  EXPECT_EQ(out, 7u);
  // The registration is gone: a push wakes nobody now.
  EXPECT_EQ(q.push(8), QueueStatus::ok);
  EXPECT_EQ(inbox.count.load(), 1);
}

TEST(BlockingQueueAsync, PushOnFullQueuesThenPopWakes) {
  Q q(1);
  AsyncInbox inbox;
  interlock::parking_lot::AsyncNode node(&AsyncInbox::notify, &inbox);
  bool queued = false;
  ASSERT_EQ(q.push(1), QueueStatus::ok);
  EXPECT_EQ(q.push_async(2, node, false, &queued), QueueStatus::timed_out);
  ASSERT_TRUE(queued);
  std::uintptr_t out = 0;
  ASSERT_EQ(q.pop(&out), QueueStatus::ok);
  EXPECT_EQ(inbox.count.load(), 1);
  EXPECT_EQ(q.push_async(2, node, true, &queued), QueueStatus::ok);
  ASSERT_EQ(q.pop(&out), QueueStatus::ok);
  EXPECT_EQ(out, 2u);
}

TEST(BlockingQueueAsync, CancelWhileQueuedUnregisters) {
  Q q;
  AsyncInbox inbox;
  interlock::parking_lot::AsyncNode node(&AsyncInbox::notify, &inbox);
  std::uintptr_t out = 0;
  bool queued = false;
  q.pop_async(&out, node, false, &queued);
  ASSERT_TRUE(queued);
  EXPECT_TRUE(q.cancel_async(node, Side::getter));
  EXPECT_EQ(q.push(1), QueueStatus::ok);
  EXPECT_EQ(inbox.count.load(), 0);
}

TEST(BlockingQueueAsync, AbandonedWakeUpIsPassedOnToAThread) {
  Q q;
  AsyncInbox inbox;
  interlock::parking_lot::AsyncNode node(&AsyncInbox::notify, &inbox);
  std::uintptr_t out = 0;
  bool queued = false;
  q.pop_async(&out, node, false, &queued);  // first in the getters' FIFO
  ASSERT_TRUE(queued);
  std::atomic<bool> got{false};
  std::thread t([&] {
    std::uintptr_t v = 0;
    EXPECT_EQ(q.pop(&v, Deadline::after(10s)), QueueStatus::ok);
    EXPECT_EQ(v, 5u);
    got = true;
  });
  // Whether or not the thread has parked yet, the item must reach it: the
  // async node (first in the FIFO) is woken by the push and gives up.
  ASSERT_EQ(q.push(5), QueueStatus::ok);
  EXPECT_EQ(inbox.count.load(), 1);
  EXPECT_FALSE(q.cancel_async(node, Side::getter));  // already woken
  q.abandon_async(Side::getter);  // passes the wake-up on to the thread
  t.join();
  EXPECT_TRUE(got);
}

TEST(BlockingQueueAsync, JoinAsyncWaitsForTaskDone) {
  Q q;
  AsyncInbox inbox;
  interlock::parking_lot::AsyncNode node(&AsyncInbox::notify, &inbox);
  EXPECT_TRUE(q.join_async(node, false));
  ASSERT_EQ(q.push(1), QueueStatus::ok);
  EXPECT_FALSE(q.join_async(node, false));
  std::uintptr_t out = 0;
  ASSERT_EQ(q.pop(&out), QueueStatus::ok);
  EXPECT_TRUE(q.task_done());
  EXPECT_EQ(inbox.count.load(), 1);
  EXPECT_TRUE(q.join_async(node, true));
}

TEST(BlockingQueueAsync, ShutdownWakesAsyncGetter) {
  Q q;
  AsyncInbox inbox;
  interlock::parking_lot::AsyncNode node(&AsyncInbox::notify, &inbox);
  std::uintptr_t out = 0;
  bool queued = false;
  q.pop_async(&out, node, false, &queued);
  ASSERT_TRUE(queued);
  q.shutdown(false, [](std::uintptr_t) {});
  EXPECT_EQ(inbox.count.load(), 1);
  EXPECT_EQ(q.pop_async(&out, node, true, &queued), QueueStatus::shut_down);
}
