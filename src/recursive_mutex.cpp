#include "interlock/recursive_mutex.hpp"

#include "interlock/fatal.hpp"

namespace interlock {

WaitStatus RecursiveMutex::lock_until_impl(Deadline deadline, bool interruptible) noexcept {
  const std::uintptr_t me = detail::this_thread_token();
  if (owner_.load(std::memory_order_relaxed) == me) {
    ++depth_;
    return WaitStatus::ok;
  }
  WaitStatus s;
  if (mutex_.try_lock()) {
    s = WaitStatus::ok;
  } else if (interruptible) {
    s = mutex_.lock_until(deadline);
  } else if (deadline.is_never()) {
    mutex_.lock();
    s = WaitStatus::ok;
  } else {
    s = mutex_.try_lock_until(deadline.time_point()) ? WaitStatus::ok : WaitStatus::timed_out;
  }
  if (s == WaitStatus::ok) {
    owner_.store(me, std::memory_order_relaxed);
    depth_ = 0;
  }
  return s;
}

bool RecursiveMutex::try_lock() noexcept {
  return lock_until_impl(Deadline::immediate(), false) == WaitStatus::ok;
}

void RecursiveMutex::unlock_not_owner() noexcept {
  fatal_error("RecursiveMutex::unlock", "unlocking a mutex not held by the calling thread");
}

std::size_t RecursiveMutex::release_all() noexcept {
  if (owner_.load(std::memory_order_relaxed) != detail::this_thread_token())
    fatal_error("RecursiveMutex::release_all", "the calling thread does not hold the mutex");
  std::size_t depth = depth_ + 1;
  depth_ = 0;
  owner_.store(0, std::memory_order_relaxed);
  mutex_.unlock();
  return depth;
}

WaitStatus RecursiveMutex::restore_depth(std::size_t depth, Deadline deadline) noexcept {
  if (depth == 0) return WaitStatus::ok;
  WaitStatus s = lock_until_impl(deadline, true);
  if (s == WaitStatus::ok) depth_ += depth - 1;
  return s;
}

void RecursiveMutex::reset_after_fork() noexcept {
  // The forking thread keeps what it held; a hold by any other thread of the
  // parent is gone with that thread.
  if (owner_.load(std::memory_order_relaxed) != detail::this_thread_token()) {
    owner_.store(0, std::memory_order_relaxed);
    depth_ = 0;
    mutex_.reset_after_fork();
  }
}

}  // namespace interlock
