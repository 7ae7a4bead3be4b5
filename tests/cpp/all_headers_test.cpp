// Every public header in one translation unit (through interlock.hpp): no two
// of them may declare the same name differently.
#include "interlock/interlock.hpp"

#include <gtest/gtest.h>

TEST(AllHeaders, CompileTogether) {
  interlock::Mutex m;
  m.lock();
  EXPECT_TRUE(m.is_locked());
  m.unlock();
  EXPECT_EQ(static_cast<int>(interlock::QueueStatus::ok), static_cast<int>(interlock::ShmQueueStatus::ok));
}
