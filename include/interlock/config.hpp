// interlock/config.hpp — version, platform checks and small helpers shared by
// every primitive. Never includes Python.h.
#pragma once

#include <cstdint>

// Platforms: Linux, macOS and Windows (docs/design.md "Platforms"). The
// wait-on-address primitive of each lives in platform/wait.hpp; the only
// other platform code is the named-object / process-identity files.
#if defined(__linux__)
#define INTERLOCK_PLATFORM_LINUX 1
#elif defined(__APPLE__) && defined(__MACH__)
#define INTERLOCK_PLATFORM_MACOS 1
#elif defined(_WIN32)
#define INTERLOCK_PLATFORM_WINDOWS 1
#else
#error "interlock supports Linux, macOS and Windows (docs/design.md \"Platforms\")"
#endif

// Cross-process objects (shm_*.hpp, named_region.hpp, process_futex.hpp,
// ShmQueue): built where the OS has a process-shared wait-on-address and
// POSIX shared memory — Linux and macOS, not Windows.
#if defined(INTERLOCK_PLATFORM_WINDOWS)
#define INTERLOCK_HAS_IPC 0
#else
#define INTERLOCK_HAS_IPC 1
#endif

#if defined(INTERLOCK_PLATFORM_WINDOWS)
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <immintrin.h>  // _mm_pause
#endif
#else
#include <pthread.h>
#endif

#define INTERLOCK_VERSION_MAJOR 0
#define INTERLOCK_VERSION_MINOR 1
#define INTERLOCK_VERSION_PATCH 0
#define INTERLOCK_VERSION_STRING "0.1.0"

#if __cplusplus < 202002L
#error "interlock needs C++20: compile with -std=c++20 (or later)"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define INTERLOCK_LIKELY(x) __builtin_expect(!!(x), 1)
#define INTERLOCK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define INTERLOCK_NOINLINE __attribute__((noinline))
#define INTERLOCK_COLD __attribute__((cold, noinline))
#define INTERLOCK_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define INTERLOCK_LIKELY(x) (x)
#define INTERLOCK_UNLIKELY(x) (x)
#define INTERLOCK_NOINLINE
#define INTERLOCK_COLD
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
#elif defined(_WIN32)
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
#if defined(INTERLOCK_PLATFORM_WINDOWS) && (defined(_M_X64) || defined(_M_IX86) || \
                                            defined(__x86_64__) || defined(__i386__))
  _mm_pause();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

/// A non-zero token naming the calling thread (its pthread handle; on
/// Windows the address of a thread-local byte), used as the owner word of
/// recursive locks. Stable across fork() for the forking thread, which is the
/// only thread left in the child.
#if defined(INTERLOCK_PLATFORM_WINDOWS)
INTERLOCK_ALWAYS_INLINE std::uintptr_t this_thread_token() noexcept {
  static thread_local char token;
  return reinterpret_cast<std::uintptr_t>(&token);
}
#else
INTERLOCK_ALWAYS_INLINE std::uintptr_t this_thread_token() noexcept {
  return (std::uintptr_t)pthread_self();  // an integer (Linux) or a pointer (macOS)
}
#endif

}  // namespace detail
}  // namespace interlock
