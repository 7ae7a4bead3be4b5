#include "interlock/fatal.hpp"

#include <cstdio>
#include <cstdlib>

#include "interlock/config.hpp"

namespace interlock {

void fatal_error(const char* where, const char* what) noexcept {
  std::fprintf(stderr, "interlock: fatal error in %s: %s\n", where, what);
  std::fflush(stderr);
  std::abort();
}

}  // namespace interlock
