// Uses every fixed name of the C++ core once, through the installed package.
#include <interlock/interlock.hpp>

#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <thread>

int main() {
  interlock::Mutex m;
  interlock::RawMutex raw;
  interlock::RecursiveMutex rec;
  interlock::RWMutex rw;
  interlock::SeqLock seq;
  interlock::Event ev;
  interlock::OnceFlag once;
  interlock::Semaphore sem(1);
  interlock::ConditionVariable cv;
  static_assert(sizeof(interlock::Mutex) == 1);

  int counter = 0;
  std::thread t([&] {
    { std::scoped_lock g(m, raw); ++counter; }
    { std::unique_lock g(rec); std::unique_lock g2(rec); }
    { std::shared_lock g(rw); }
    ev.notify();
  });
  ev.wait();
  t.join();
  { std::unique_lock g(rw); }
  seq.lock_write(); seq.unlock_write();
  auto s = seq.begin_read();
  int runs = 0;
  interlock::call_once(once, [&] { ++runs; });
  interlock::call_once(once, [&] { ++runs; });
  sem.acquire(); sem.release();
  {
    std::unique_lock g(m);
    cv.wait_for(g, std::chrono::milliseconds(1));
  }
  { interlock::CriticalSection cs(m); }
  bool ok = counter == 1 && runs == 1 && seq.end_read(s) && m.try_lock_for(std::chrono::milliseconds(1));
  m.unlock();
  std::printf("interlock %s consumer: %s\n", interlock::version_string, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
