// interlock/named_region.hpp — a shared-memory region created or attached by
// name under /dev/shm, with PID tracking, for the named primitives (and any
// other named shared-memory object, e.g. a queue).
//
// Files (for a region `prefix.name`, PID directory D):
//   /dev/shm/<prefix>.<name>        the region (shm_open)
//   D/<prefix>.<name>.lock          flock()ed around every attach and close
//   D/<prefix>.<name>.pids/<pid>.<stamp>
//                                   one empty file per process using it
//
// Protocol (all under the exclusive flock, which the kernel drops when its
// holder dies, so a crashed process never wedges the others):
//  - Liveness is also recorded in the object itself: every handle keeps the
//    region's descriptor open with a shared flock() on it (the kernel drops
//    it when the process dies), so "somebody uses it" does not depend on
//    which PID directory a process looks in (issue 15: a process with
//    another pid_dir never takes a live object for a leftover).
//  - attach: remove the files of dead processes (process_liveness: gone,
//    zombie, or PID reused); create the region with O_CREAT|O_EXCL|O_NOFOLLOW
//    and the requested mode (fchmod'ed past the umask). If it exists, no live
//    process of this directory is registered AND an exclusive non-blocking
//    flock on it succeeds (no handle anywhere), it is a crashed process's
//    leftover: unlink it (under that exclusive flock) and create it afresh.
//    Otherwise open it (O_NOFOLLOW), check its owner (with a private mode,
//    0600, only our own user's object is accepted) and size. Then take the
//    shared flock and check that the name still names the inode (else a
//    reclaimer removed it meanwhile: start over), map it, write our PID file.
//  - close (or destruction): remove our PID file and dead ones; drop our
//    shared flock; if an exclusive non-blocking flock then succeeds (no other
//    handle, whatever its PID directory) the region is unlinked; the last
//    user of this directory removes its PID directory and lock file. A
//    process that opened the lock file before it was unlinked notices (the
//    path no longer names its inode) and starts over.
//  - The PID directory D is created 0700; an existing one must be a real
//    directory (not a symlink) owned by us and not writable by group/others.
//    D comes from an environment variable (INTERLOCK_PID_DIR by default; the
//    fastipc façade uses FASTIPC_PID_DIR), else a per-user default.
//  - Names: 1..200 bytes, no '/', no NUL, no "..".
//  - After fork() the child is not registered until adopt_after_fork() (or
//    adopt_all_after_fork(), which does it for every open region).
//
// Errors: std::invalid_argument (bad name / size), NamedRegionError (an OS
// error with its errno; EACCES/EPERM for an object of another user).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "interlock/config.hpp"

namespace interlock {

class INTERLOCK_API NamedRegionError : public std::runtime_error {
 public:
  NamedRegionError(int err, const std::string& what) : std::runtime_error(what), errno_(err) {}
  int error_code() const noexcept { return errno_; }

 private:
  int errno_;
};

class INTERLOCK_API NamedRegion {
 public:
  struct Options {
    std::string prefix = "interlock";  ///< first part of the /dev/shm name
    std::string pid_dir;               ///< "" = from pid_dir_env, else default
    std::string pid_dir_env = "INTERLOCK_PID_DIR";
    mode_t mode = 0600;
    bool create = true;  ///< false: attach only (ENOENT if missing)
    /// An existing object is mapped whole, at its own size (whatever it was
    /// created with), rather than checked to hold `size` bytes; `size` is
    /// then only the size of one this call creates (e.g. a queue whose
    /// layout records its own parameters).
    bool whole = false;
  };

  static constexpr std::size_t kMaxName = 200;

  /// Creates or attaches `name`, mapping `size` bytes. With options.create ==
  /// false, size 0 maps the whole existing object (its size is then size()),
  /// as options.whole does for any size.
  NamedRegion(std::string_view name, std::size_t size, const Options& options);
  ~NamedRegion();
  NamedRegion(const NamedRegion&) = delete;
  NamedRegion& operator=(const NamedRegion&) = delete;

  /// Unregisters this process; the last user removes the region. The mapping
  /// stays valid until destruction (so a concurrent user in this process never
  /// touches unmapped memory). Idempotent.
  void close() noexcept;

  /// In a forked child: register the child's PID (the mapping is inherited).
  void adopt_after_fork();

  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool created() const noexcept { return created_; }
  bool closed() const noexcept { return closed_.load(); }
  const std::string& name() const noexcept { return name_; }
  /// The /dev/shm name without the leading '/'.
  const std::string& shm_name() const noexcept { return shm_name_; }
  const std::string& pid_dir() const noexcept { return pid_dir_; }
  /// Live processes registered (this one included), dead ones not counted.
  std::size_t process_count() const;

  /// In a forked child (single-threaded): adopt_after_fork() for every region
  /// this process has open. For an os.register_at_fork / pthread_atfork-child
  /// hook of the embedding runtime.
  static void adopt_all_after_fork() noexcept;
  /// close() every region this process has open (e.g. at interpreter exit:
  /// the objects owning them may never be destroyed).
  static void close_all() noexcept;

  /// Throws std::invalid_argument unless `name` is valid.
  static void validate_name(std::string_view name);
  /// The PID directory for these options (environment or default).
  static std::string resolve_pid_dir(const Options& options);

 private:
  int lock_dir();  // returns the flocked fd
  void register_self();

  std::string name_, shm_name_, pid_dir_, lock_path_, pids_path_, pid_file_;
  int fd_ = -1;  // the region, with our shared flock (liveness) until close()
  void* data_ = nullptr;
  std::size_t size_ = 0;
  bool created_ = false;
  std::atomic<bool> closed_{false};
  NamedRegion* prev_ = nullptr;  // the process-wide list of open regions
  NamedRegion* next_ = nullptr;
};

}  // namespace interlock
