// src/platform_windows.cpp — wait-on-address for Windows (platform/wait.hpp):
// WaitOnAddress / WakeByAddress* (Windows 8+, synchronization.lib), within
// one process. Compiled on Windows only (CMakeLists.txt).
#include "interlock/platform/wait.hpp"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

namespace interlock::platform {

WaitResult wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, Deadline deadline,
                bool /*shared: one process only on Windows*/) noexcept {
  DWORD ms = INFINITE;
  if (!deadline.is_never()) {
    const auto left = deadline.remaining();
    if (left <= Clock::duration::zero()) return WaitResult::timed_out;
    // Round up so that we never wake before the deadline; cap to a slice
    // below INFINITE (the caller loops).
    const auto m = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    ms = m >= static_cast<long long>(INFINITE) ? INFINITE - 1 : static_cast<DWORD>(m);
  }
  std::uint32_t cmp = expected;
  auto* addr = const_cast<std::atomic<std::uint32_t>*>(word);
  if (WaitOnAddress(addr, &cmp, sizeof cmp, ms)) return WaitResult::woken;
  if (GetLastError() == ERROR_TIMEOUT)
    return deadline.expired() ? WaitResult::timed_out : WaitResult::woken;
  return WaitResult::woken;
}

int wake(const std::atomic<std::uint32_t>* word, int count, bool /*shared*/) noexcept {
  if (count <= 0) return 0;
  auto* addr = const_cast<std::atomic<std::uint32_t>*>(word);
  if (count == 1) {
    WakeByAddressSingle(addr);
    return 1;
  }
  if (count == INT_MAX) {
    WakeByAddressAll(addr);
    return 1;
  }
  for (int i = 0; i < count; ++i) WakeByAddressSingle(addr);
  return count;
}

}  // namespace interlock::platform
