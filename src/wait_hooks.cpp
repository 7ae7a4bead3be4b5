#include "interlock/wait_hooks.hpp"

namespace interlock::detail {

namespace {
thread_local const WaitHooks* tls_hooks = nullptr;
}

const WaitHooks* current_wait_hooks() noexcept { return tls_hooks; }

const WaitHooks* exchange_wait_hooks(const WaitHooks* hooks) noexcept {
  const WaitHooks* previous = tls_hooks;
  tls_hooks = hooks;
  return previous;
}

}  // namespace interlock::detail
