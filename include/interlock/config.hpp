// interlock/config.hpp — version, platform checks and small helpers shared by
// every primitive. Never includes Python.h.
#pragma once

#include <pthread.h>

#include <cstdint>

#define INTERLOCK_VERSION_MAJOR 0
#define INTERLOCK_VERSION_MINOR 1
#define INTERLOCK_VERSION_PATCH 0
#define INTERLOCK_VERSION_STRING "0.1.0"

#if !defined(__linux__)
#error "interlock currently supports Linux only (its waits are built on futex(2))"
#endif

#if __cplusplus < 202002L
#error "interlock needs C++20: compile with -std=c++20 (or later)"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define INTERLOCK_LIKELY(x) __builtin_expect(!!(x), 1)
#define INTERLOCK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define INTERLOCK_NOINLINE __attribute__((noinline))
#define INTERLOCK_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define INTERLOCK_LIKELY(x) (x)
#define INTERLOCK_UNLIKELY(x) (x)
#define INTERLOCK_NOINLINE
#define INTERLOCK_ALWAYS_INLINE inline
#endif

// INTERLOCK_API marks what the core exports: every non-inline function and
// every class with out-of-line members that the public headers declare. A
// shared build (BUILD_SHARED_LIBS=ON) compiles with hidden visibility, so only
// what carries this mark is in the library's dynamic symbol table; static
// builds are unaffected. Header-only templates need no mark.
// INTERLOCK_EXPORT_NONE: nothing is exported (the Python extension built where
// the linker has no --exclude-libs, bindings/CMakeLists.txt).
#if defined(INTERLOCK_EXPORT_NONE)
#define INTERLOCK_API
#elif defined(__GNUC__) || defined(__clang__)
#define INTERLOCK_API __attribute__((visibility("default")))
#else
#define INTERLOCK_API
#endif

namespace interlock {

/// Version of the library the headers belong to.
inline constexpr const char* version_string = INTERLOCK_VERSION_STRING;

namespace detail {

/// One iteration of a spin-wait: tells the CPU we are busy-waiting.
INTERLOCK_ALWAYS_INLINE void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

/// A non-zero token naming the calling thread (its pthread handle), used as
/// the owner word of recursive locks. Stable across fork() for the forking
/// thread, which is the only thread left in the child.
INTERLOCK_ALWAYS_INLINE std::uintptr_t this_thread_token() noexcept {
  return static_cast<std::uintptr_t>(pthread_self());
}

}  // namespace detail
}  // namespace interlock
