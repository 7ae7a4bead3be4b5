// bench_mutex.cpp — interlock::Mutex / RawMutex / RecursiveMutex against
// std::mutex and std::recursive_mutex.
//
//  * *_Uncontended: one thread, lock() + unlock() of a global lock in a loop;
//    the time per iteration is the cost of the uncontended fast path.
//  * *_Contended: 1 and 2 threads hammer one global lock around a short
//    critical section (a few non-atomic read-modify-writes of shared words).
//    Measured in wall-clock time (UseRealTime); items_per_second is the total
//    number of critical sections per second over all threads. After each run
//    the shared counter is checked, so a broken lock cannot post a good number.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <mutex>

#include "interlock/mutex.hpp"
#include "interlock/raw_mutex.hpp"
#include "interlock/recursive_mutex.hpp"

namespace {

constexpr double kMinTimeUncontended = 0.1;  // seconds per repetition
constexpr double kMinTimeContended = 0.2;

// ------------------------------------------------------------ uncontended

template <class M>
M g_lock;  // a global, like most real locks; never shared in these benchmarks

template <class M>
void BM_Uncontended(benchmark::State& state) {
  M& m = g_lock<M>;
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();  // the critical section: a compiler barrier
    m.unlock();
  }
  state.SetItemsProcessed(state.iterations());
}

// A re-entrant acquisition: the thread already holds the lock once.
template <class M>
void BM_Reentrant(benchmark::State& state) {
  M& m = g_lock<M>;
  m.lock();
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();
    m.unlock();
  }
  m.unlock();
  state.SetItemsProcessed(state.iterations());
}

void BM_Mutex_Uncontended(benchmark::State& s) { BM_Uncontended<interlock::Mutex>(s); }
void BM_StdMutex_Uncontended(benchmark::State& s) { BM_Uncontended<std::mutex>(s); }
void BM_RawMutex_Uncontended(benchmark::State& s) { BM_Uncontended<interlock::RawMutex>(s); }
void BM_RecursiveMutex_Uncontended(benchmark::State& s) {
  BM_Uncontended<interlock::RecursiveMutex>(s);
}
void BM_StdRecursiveMutex_Uncontended(benchmark::State& s) {
  BM_Uncontended<std::recursive_mutex>(s);
}
void BM_RecursiveMutex_Reentrant(benchmark::State& s) { BM_Reentrant<interlock::RecursiveMutex>(s); }
void BM_StdRecursiveMutex_Reentrant(benchmark::State& s) { BM_Reentrant<std::recursive_mutex>(s); }

BENCHMARK(BM_Mutex_Uncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_StdMutex_Uncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_RawMutex_Uncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_RecursiveMutex_Uncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_StdRecursiveMutex_Uncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_RecursiveMutex_Reentrant)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_StdRecursiveMutex_Reentrant)->MinTime(kMinTimeUncontended);

// ------------------------------------------------------------ contended

// The lock and the data it guards share a cache line, as they usually do.
template <class M>
struct alignas(64) Guarded {
  M mu;
  std::uint64_t counter = 0;
  std::uint64_t sum = 0;
};

template <class M>
Guarded<M> g_guarded;

template <class M>
void BM_Contended(benchmark::State& state) {
  Guarded<M>& g = g_guarded<M>;
  // Every thread is still before the start barrier of the loop, so nobody
  // touches the counters while thread 0 resets them.
  if (state.thread_index() == 0) {
    g.counter = 0;
    g.sum = 0;
  }
  for (auto _ : state) {
    g.mu.lock();
    std::uint64_t c = g.counter + 1;  // plain (non-atomic) loads and stores:
    g.counter = c;                    // a race here would lose increments
    g.sum += c;
    g.mu.unlock();
  }
  // The loop ends with a barrier too: every thread has finished here.
  if (state.thread_index() == 0) {
    const std::uint64_t n = static_cast<std::uint64_t>(state.iterations()) *
                            static_cast<std::uint64_t>(state.threads());
    if (g.counter != n || g.sum != n * (n + 1) / 2)
      state.SkipWithError("lost updates: the lock did not exclude");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Mutex_Contended(benchmark::State& s) { BM_Contended<interlock::Mutex>(s); }
void BM_StdMutex_Contended(benchmark::State& s) { BM_Contended<std::mutex>(s); }
void BM_RawMutex_Contended(benchmark::State& s) { BM_Contended<interlock::RawMutex>(s); }

BENCHMARK(BM_Mutex_Contended)->MinTime(kMinTimeContended)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(BM_StdMutex_Contended)->MinTime(kMinTimeContended)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(BM_RawMutex_Contended)->MinTime(kMinTimeContended)->UseRealTime()->Threads(1)->Threads(2);

}  // namespace
