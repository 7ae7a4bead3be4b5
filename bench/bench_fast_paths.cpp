// bench_fast_paths.cpp — the uncontended fast paths of the other primitives,
// one thread each, with the standard-library equivalent where one exists.
//
//  * Event: is_set() on a set and an unset event; notify() of a fresh event
//    (unset -> set, no waiters) and of an already-set one.
//  * ResettableEvent: set() + clear() with no waiters.
//  * Latch: count_down() of a fresh latch of 1 (1 -> 0, no waiters) + try_wait().
//  * Semaphore: try_acquire() + release() with one permit (vs
//    std::counting_semaphore).
//  * SeqLock: a consistent read of two words (begin_read, two relaxed loads,
//    end_read) and an uncontended write (lock_write, two stores, unlock_write).
//  * OnceFlag: call_once() once the flag is done (vs std::call_once).
//  * CriticalSection: begin + end over one mutex and over two mutexes.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <semaphore>

#include "interlock/critical_section.hpp"
#include "interlock/event.hpp"
#include "interlock/latch.hpp"
#include "interlock/mutex.hpp"
#include "interlock/once.hpp"
#include "interlock/resettable_event.hpp"
#include "interlock/semaphore.hpp"
#include "interlock/seq_lock.hpp"

namespace {

constexpr double kMinTime = 0.1;

// ------------------------------------------------------------ Event

interlock::Event g_event_set;
interlock::Event g_event_unset;

void BM_Event_IsSet(benchmark::State& state) {
  g_event_set.notify();
  for (auto _ : state) benchmark::DoNotOptimize(g_event_set.is_set());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Event_IsSet)->MinTime(kMinTime);

void BM_Event_IsSet_Unset(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(g_event_unset.is_set());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Event_IsSet_Unset)->MinTime(kMinTime);

void BM_Event_Notify_Fresh(benchmark::State& state) {
  for (auto _ : state) {
    interlock::Event e;  // unset, nobody parked
    benchmark::DoNotOptimize(&e);
    e.notify();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Event_Notify_Fresh)->MinTime(kMinTime);

void BM_Event_Notify_AlreadySet(benchmark::State& state) {
  g_event_set.notify();
  for (auto _ : state) {
    g_event_set.notify();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Event_Notify_AlreadySet)->MinTime(kMinTime);

// ------------------------------------------------------------ ResettableEvent, Latch

interlock::ResettableEvent g_revent;

void BM_ResettableEvent_SetClear(benchmark::State& state) {
  for (auto _ : state) {
    g_revent.set();
    benchmark::ClobberMemory();
    g_revent.clear();
    benchmark::ClobberMemory();
  }
  if (g_revent.is_set()) state.SkipWithError("event still set after clear()");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResettableEvent_SetClear)->MinTime(kMinTime);

void BM_Latch_CountDownTryWait(benchmark::State& state) {
  for (auto _ : state) {
    interlock::Latch latch(1);  // nobody waits on it
    benchmark::DoNotOptimize(&latch);
    latch.count_down();
    benchmark::DoNotOptimize(latch.try_wait());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Latch_CountDownTryWait)->MinTime(kMinTime);

// ------------------------------------------------------------ Semaphore

interlock::Semaphore g_sem{1};
std::counting_semaphore<> g_std_sem{1};

void BM_Semaphore_TryAcquireRelease(benchmark::State& state) {
  for (auto _ : state) {
    if (!g_sem.try_acquire()) {
      state.SkipWithError("try_acquire failed with a permit available");
      break;
    }
    benchmark::ClobberMemory();
    g_sem.release();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Semaphore_TryAcquireRelease)->MinTime(kMinTime);

void BM_StdCountingSemaphore_TryAcquireRelease(benchmark::State& state) {
  for (auto _ : state) {
    if (!g_std_sem.try_acquire()) {
      state.SkipWithError("try_acquire failed with a permit available");
      break;
    }
    benchmark::ClobberMemory();
    g_std_sem.release();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StdCountingSemaphore_TryAcquireRelease)->MinTime(kMinTime);

// ------------------------------------------------------------ SeqLock

interlock::SeqLock g_seq;
std::atomic<std::uint64_t> g_seq_w0{1};
std::atomic<std::uint64_t> g_seq_w1{2};

void BM_SeqLock_Read2Words(benchmark::State& state) {
  for (auto _ : state) {
    std::uint64_t a, b;
    std::uint32_t s;
    do {
      s = g_seq.begin_read();
      a = g_seq_w0.load(std::memory_order_relaxed);
      b = g_seq_w1.load(std::memory_order_relaxed);
    } while (!g_seq.end_read(s));
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SeqLock_Read2Words)->MinTime(kMinTime);

void BM_SeqLock_Write2Words(benchmark::State& state) {
  std::uint64_t i = 0;
  for (auto _ : state) {
    g_seq.lock_write();
    g_seq_w0.store(i, std::memory_order_relaxed);
    g_seq_w1.store(i + 1, std::memory_order_relaxed);
    g_seq.unlock_write();
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SeqLock_Write2Words)->MinTime(kMinTime);

// ------------------------------------------------------------ OnceFlag

interlock::OnceFlag g_once;
std::once_flag g_std_once;
int g_once_runs = 0;

void BM_CallOnce_Done(benchmark::State& state) {
  interlock::call_once(g_once, [] { ++g_once_runs; });
  for (auto _ : state) {
    interlock::call_once(g_once, [] { ++g_once_runs; });
    benchmark::ClobberMemory();
  }
  if (g_once_runs != 1) state.SkipWithError("call_once ran its function more than once");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallOnce_Done)->MinTime(kMinTime);

int g_std_once_runs = 0;

void BM_StdCallOnce_Done(benchmark::State& state) {
  std::call_once(g_std_once, [] { ++g_std_once_runs; });
  for (auto _ : state) {
    std::call_once(g_std_once, [] { ++g_std_once_runs; });
    benchmark::ClobberMemory();
  }
  if (g_std_once_runs != 1) state.SkipWithError("std::call_once ran its function more than once");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StdCallOnce_Done)->MinTime(kMinTime);

// ------------------------------------------------------------ CriticalSection

interlock::Mutex g_cs_a;
interlock::Mutex g_cs_b;

void BM_CriticalSection_BeginEnd(benchmark::State& state) {
  for (auto _ : state) {
    interlock::CriticalSection cs(g_cs_a);
    benchmark::ClobberMemory();
  }
  if (g_cs_a.is_locked()) state.SkipWithError("mutex still locked after the section ended");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CriticalSection_BeginEnd)->MinTime(kMinTime);

void BM_CriticalSection2_BeginEnd(benchmark::State& state) {
  for (auto _ : state) {
    interlock::CriticalSection cs(g_cs_a, g_cs_b);
    benchmark::ClobberMemory();
  }
  if (g_cs_a.is_locked() || g_cs_b.is_locked())
    state.SkipWithError("mutex still locked after the section ended");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CriticalSection2_BeginEnd)->MinTime(kMinTime);

// Reference: what the same exclusion costs with a bare lock_guard.
void BM_MutexLockGuard(benchmark::State& state) {
  for (auto _ : state) {
    std::lock_guard<interlock::Mutex> guard(g_cs_a);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MutexLockGuard)->MinTime(kMinTime);

}  // namespace
