#include "interlock/fatal.hpp"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>

#include "interlock/config.hpp"

namespace interlock {

void fatal_error(const char* where, const char* what) noexcept {
  std::fprintf(stderr, "interlock: fatal error in %s: %s\n", where, what);
  std::fflush(stderr);
  std::abort();
}

namespace detail {
std::uintptr_t this_thread_token() noexcept {
  return static_cast<std::uintptr_t>(pthread_self());
}
}  // namespace detail

}  // namespace interlock
