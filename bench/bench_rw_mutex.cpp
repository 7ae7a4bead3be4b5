// bench_rw_mutex.cpp — interlock::RWMutex against std::shared_mutex.
//
//  * *_ReadUncontended: one thread, lock_shared() + unlock_shared().
//  * *_Read (threads 1 and 2): every thread read-locks the same global lock in
//    a loop, reading two shared words inside. Readers never exclude each
//    other, so this measures what the shared-count word costs when two cores
//    bounce its cache line. Wall-clock time; items_per_second is the total
//    read sections per second over all threads.
//  * *_WriteUncontended: one thread, lock() + unlock().
#include <benchmark/benchmark.h>

#include <cstdint>
#include <shared_mutex>

#include "interlock/rw_mutex.hpp"

namespace {

constexpr double kMinTimeUncontended = 0.1;
constexpr double kMinTimeContended = 0.2;

template <class M>
struct alignas(64) Guarded {
  M mu;
  std::uint64_t a = 1;
  std::uint64_t b = 2;
};

template <class M>
Guarded<M> g_guarded;

template <class M>
void BM_ReadUncontended(benchmark::State& state) {
  M& m = g_guarded<M>.mu;
  for (auto _ : state) {
    m.lock_shared();
    benchmark::ClobberMemory();
    m.unlock_shared();
  }
  state.SetItemsProcessed(state.iterations());
}

template <class M>
void BM_Read(benchmark::State& state) {
  Guarded<M>& g = g_guarded<M>;
  for (auto _ : state) {
    g.mu.lock_shared();
    std::uint64_t a = g.a;
    std::uint64_t b = g.b;
    g.mu.unlock_shared();
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class M>
void BM_WriteUncontended(benchmark::State& state) {
  M& m = g_guarded<M>.mu;
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();
    m.unlock();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RWMutex_ReadUncontended(benchmark::State& s) { BM_ReadUncontended<interlock::RWMutex>(s); }
void BM_StdSharedMutex_ReadUncontended(benchmark::State& s) {
  BM_ReadUncontended<std::shared_mutex>(s);
}
void BM_RWMutex_Read(benchmark::State& s) { BM_Read<interlock::RWMutex>(s); }
void BM_StdSharedMutex_Read(benchmark::State& s) { BM_Read<std::shared_mutex>(s); }
void BM_RWMutex_WriteUncontended(benchmark::State& s) { BM_WriteUncontended<interlock::RWMutex>(s); }
void BM_StdSharedMutex_WriteUncontended(benchmark::State& s) {
  BM_WriteUncontended<std::shared_mutex>(s);
}

BENCHMARK(BM_RWMutex_ReadUncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_StdSharedMutex_ReadUncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_RWMutex_Read)->MinTime(kMinTimeContended)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(BM_StdSharedMutex_Read)->MinTime(kMinTimeContended)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(BM_RWMutex_WriteUncontended)->MinTime(kMinTimeUncontended);
BENCHMARK(BM_StdSharedMutex_WriteUncontended)->MinTime(kMinTimeUncontended);

}  // namespace
