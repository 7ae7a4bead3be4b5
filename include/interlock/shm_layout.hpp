// interlock/shm_layout.hpp — what every cross-process primitive of
// interlock.ipc shares: the versioned header of a shared-memory layout, the
// futex sleep with the thread's WaitHooks around it, and the identity and
// liveness of processes (for owner-death recovery and PID tracking).
//
// Layout header (the first 8 bytes of every Mutex / Semaphore / Event /
// Barrier layout; each layout is 64 bytes, 4-byte aligned, 32-bit fields):
//
//   offset 0  u32 magic         0 = fresh (all-zero) memory, kBusy = being
//                               initialised, kMagic = ready; anything else is
//                               not an interlock object
//   offset 4  u32 kind_version  (Kind << 16) | kLayoutVersion
//
// attach_or_init(): whoever CASes magic 0 -> kBusy initialises the body and
// publishes kMagic with a release store; everybody else waits (bounded) for
// kMagic and then checks kind and version. So two processes attaching to the
// same fresh buffer at once agree on one initialisation, and a buffer written
// by an incompatible layout version is refused, never misread.
//
// Sleeping: futex_wait() is the one place the ipc primitives block. It runs
// the calling thread's WaitHooks (wait_hooks.hpp) around the sleep (the
// Python layer releases the GIL / detaches there), cuts the sleep into
// poll_interval_ns slices when the hooks ask for it, and after EINTR or a
// slice asks on_interrupt() whether to abandon the wait. shared = false uses
// FUTEX_PRIVATE_FLAG (threads of one process only; faster in the kernel).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "interlock/config.hpp"
#include "interlock/deadline.hpp"

namespace interlock::shm {

inline constexpr std::uint32_t kMagic = 0x4B4C4E49u;  // "INLK" little-endian
inline constexpr std::uint32_t kBusy = 0xFFFFFFFFu;
inline constexpr std::uint16_t kLayoutVersion = 1;

enum class Kind : std::uint16_t { mutex = 1, semaphore = 2, event = 3, barrier = 4 };

/// Size and alignment every layout needs.
inline constexpr std::size_t kLayoutSize = 64;
inline constexpr std::size_t kLayoutAlign = 4;

struct Header {
  std::atomic<std::uint32_t> magic;
  std::atomic<std::uint32_t> kind_version;
};
static_assert(sizeof(Header) == 8);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

enum class AttachResult : std::uint8_t {
  created,        ///< this call initialised fresh memory
  attached,       ///< the memory already held a compatible object
  wrong_kind,     ///< an interlock object of another type
  wrong_version,  ///< an interlock object of another layout version
  foreign,        ///< neither zero nor an interlock header
  init_stalled,   ///< another initialiser never finished (it died?)
};

/// A sentence describing a failed AttachResult (for error messages).
INTERLOCK_API const char* describe(AttachResult r) noexcept;

constexpr std::uint32_t kind_version(Kind k) noexcept {
  return (static_cast<std::uint32_t>(k) << 16) | kLayoutVersion;
}

/// Initialises fresh (zero) memory with `init(header)` or checks an existing
/// header. Waits up to ~1 s for a concurrent initialiser. `force` re-runs the
/// initialisation over a stalled one (used under the named region's lock,
/// where no initialiser can be running).
template <class Init>
AttachResult attach_or_init(Header* h, Kind k, Init&& init, bool force_stalled = false) noexcept;

// ------------------------------------------------------------ futex sleep

enum class FutexWait : std::uint8_t {
  woken,          ///< FUTEX_WAKE (or a spurious wake-up)
  value_changed,  ///< *word != expected when the kernel looked (EAGAIN)
  timed_out,      ///< the deadline passed
  interrupted,    ///< on_interrupt() asked to abandon the wait
};

/// Sleeps while *word == expected, until `deadline`, with the thread's wait
/// hooks around the sleep. EINTR and poll slices resume the wait with the same
/// deadline unless on_interrupt() returns true.
INTERLOCK_API FutexWait futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                                   Deadline deadline, bool shared) noexcept;

/// Wakes up to `n` waiters (n <= 0 wakes none); returns how many woke.
INTERLOCK_API int futex_wake(const std::atomic<std::uint32_t>* word, int n, bool shared) noexcept;

// ------------------------------------------------------------ processes

namespace detail {
INTERLOCK_API extern std::atomic<std::uint32_t> g_self_pid;
INTERLOCK_API std::uint32_t init_self_pid() noexcept;
}  // namespace detail

/// getpid(), cached (reset in a forked child by a pthread_atfork handler).
INTERLOCK_ALWAYS_INLINE std::uint32_t self_pid() noexcept {
  std::uint32_t p = detail::g_self_pid.load(std::memory_order_relaxed);
  return INTERLOCK_LIKELY(p != 0) ? p : detail::init_self_pid();
}

/// The low 32 bits of a process's start time (clock ticks since boot, field
/// 22 of /proc/<pid>/stat): with the PID it names one process even after the
/// PID is reused. 0 when unknown (no such process, or /proc unreadable).
INTERLOCK_API std::uint32_t process_stamp(std::uint32_t pid) noexcept;

/// This process's stamp (cached; reset after fork).
INTERLOCK_API std::uint32_t self_stamp() noexcept;

enum class Liveness : std::uint8_t { alive, dead, reused };

/// Whether process `pid` (started at `stamp`, 0 = unknown) still runs:
/// dead when kill(pid, 0) says ESRCH or it is a zombie; reused when a
/// process with that PID runs but started at another time; alive otherwise
/// (including EPERM: it exists, under another user).
INTERLOCK_API Liveness process_liveness(std::uint32_t pid, std::uint32_t stamp) noexcept;

// ------------------------------------------------------------ implementation

template <class Init>
AttachResult attach_or_init(Header* h, Kind k, Init&& init, bool force_stalled) noexcept {
  std::uint32_t m = h->magic.load(std::memory_order_acquire);
  if (m == 0) {
    if (h->magic.compare_exchange_strong(m, kBusy, std::memory_order_acquire,
                                         std::memory_order_acquire)) {
      h->kind_version.store(kind_version(k), std::memory_order_relaxed);
      init(h);
      h->magic.store(kMagic, std::memory_order_release);
      return AttachResult::created;
    }
  }
  if (m == kBusy) {
    // Another thread or process is initialising: wait for it (bounded).
    Deadline d = Deadline::after(std::chrono::seconds(1));
    while ((m = h->magic.load(std::memory_order_acquire)) == kBusy) {
      if (d.expired()) {
        if (!force_stalled) return AttachResult::init_stalled;
        h->kind_version.store(kind_version(k), std::memory_order_relaxed);
        init(h);
        h->magic.store(kMagic, std::memory_order_release);
        return AttachResult::created;
      }
      futex_wait(&h->magic, kBusy, Deadline::after(std::chrono::milliseconds(1)), true);
    }
  }
  if (m != kMagic) return AttachResult::foreign;
  const std::uint32_t kv = h->kind_version.load(std::memory_order_relaxed);
  if ((kv >> 16) != static_cast<std::uint32_t>(k)) return AttachResult::wrong_kind;
  if ((kv & 0xFFFFu) != kLayoutVersion) return AttachResult::wrong_version;
  return AttachResult::attached;
}

}  // namespace interlock::shm
