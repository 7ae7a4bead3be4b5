// Shared helpers for the interlock GoogleTest suite (tests/cpp only).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#if defined(__SANITIZE_THREAD__)
#define INTERLOCK_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define INTERLOCK_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define INTERLOCK_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INTERLOCK_TEST_ASAN 1
#endif
#endif
#ifndef INTERLOCK_TEST_TSAN
#define INTERLOCK_TEST_TSAN 0
#endif
#ifndef INTERLOCK_TEST_ASAN
#define INTERLOCK_TEST_ASAN 0
#endif

namespace itest {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

inline constexpr bool kTsan = INTERLOCK_TEST_TSAN;
inline constexpr bool kAsan = INTERLOCK_TEST_ASAN;
inline constexpr bool kSanitized = kTsan || kAsan;

/// Stress-loop size: `n` in a plain build, smaller under sanitizers, times the
/// INTERLOCK_TEST_SCALE environment variable (a float, default 1). Never < 1.
inline long scaled(long n) {
  double f = kTsan ? 0.3 : kAsan ? 0.5 : 1.0;
  if (const char* s = std::getenv("INTERLOCK_TEST_SCALE")) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (end != s && v > 0) f *= v;
  }
  return std::max(1L, static_cast<long>(static_cast<double>(n) * f));
}

/// Wall-clock stopwatch on the steady clock.
class Stopwatch {
 public:
  Stopwatch() : start_(SteadyClock::now()) {}
  SteadyClock::duration elapsed() const { return SteadyClock::now() - start_; }
  double ms() const { return std::chrono::duration<double, std::milli>(elapsed()).count(); }
  void reset() { start_ = SteadyClock::now(); }

 private:
  SteadyClock::time_point start_;
};

/// Polls `pred` (yielding, then sleeping 100 us between polls) until it holds or
/// `timeout` passes; returns the last value of `pred`. Used to wait until a
/// thread has *observably* parked, never as a substitute for synchronisation.
template <class Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = SteadyClock::now() + timeout;
  for (int i = 0;; ++i) {
    if (pred()) return true;
    if (SteadyClock::now() >= deadline) return pred();
    if (i < 64)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(100us);
  }
}

/// Bound for things that must happen "eventually" (a thread to wake up).
inline constexpr auto kLong = 10000ms;

/// A spinning start gate so that stress threads begin together.
class StartGate {
 public:
  void open() { go_.store(true, std::memory_order_release); }
  void wait() const {
    while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
  }

 private:
  std::atomic<bool> go_{false};
};

}  // namespace itest
