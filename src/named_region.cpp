// src/named_region.cpp — create-or-attach by name under /dev/shm with PID
// tracking (named_region.hpp states the protocol).
#include "interlock/named_region.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "interlock/shm_layout.hpp"

namespace interlock {

namespace {

// ---- platform: the POSIX shared-memory namespace (Linux: files under
// /dev/shm; macOS: a kernel namespace with 31-byte names, PSHMNAMLEN, whose
// objects report no file type, and where fchmod()/O_NOFOLLOW do not apply).

/// The shm_open() name of region `full` ("prefix.name"): "/prefix.name", or
/// on macOS when that exceeds 31 bytes "/il.<64-bit FNV-1a hash, hex>".
std::string os_shm_name(const std::string& full) {
  std::string n = "/" + full;
#if defined(__APPLE__)
  if (n.size() > 31) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : full) h = (h ^ c) * 1099511628211ull;
    char buf[24];
    std::snprintf(buf, sizeof buf, "/il.%016llx", static_cast<unsigned long long>(h));
    n = buf;
  }
#endif
  return n;
}

int open_shm(const std::string& path, int flags, mode_t mode) {
#if defined(__APPLE__)
  const int fd = ::shm_open(path.c_str(), flags & ~(O_NOFOLLOW | O_CLOEXEC), mode);
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
#else
  return ::shm_open(path.c_str(), flags, mode);
#endif
}

/// lstat() of the object (Linux: its file under /dev/shm); macOS has no
/// file for it: open it and fstat (no symlinks exist in that namespace).
int shm_lstat(const std::string& path, struct stat* st) {
#if defined(__APPLE__)
  const int fd = ::shm_open(path.c_str(), O_RDONLY);
  if (fd < 0) return -1;
  const int r = ::fstat(fd, st);
  ::close(fd);
  return r;
#else
  return ::lstat(("/dev/shm" + path).c_str(), st);
#endif
}

/// fchmod past the umask (Linux); macOS cannot fchmod a shm object, so there
/// the mode given to shm_open (minus the umask) stays.
int set_shm_mode(int fd, mode_t mode) {
#if defined(__APPLE__)
  (void)fd;
  (void)mode;
  return 0;
#else
  return ::fchmod(fd, mode);
#endif
}

/// A shm object is a regular file on Linux; macOS reports no file type.
bool shm_type_ok(const struct stat& st) {
#if defined(__APPLE__)
  (void)st;
  return true;
#else
  return S_ISREG(st.st_mode);
#endif
}

/// Where PID directories go by default: /dev/shm (tmpfs, cleared at boot)
/// on Linux, /tmp on macOS.
const char* default_pid_root() {
#if defined(__APPLE__)
  return "/tmp/";
#else
  return "/dev/shm/";
#endif
}


[[noreturn]] void fail(int err, const std::string& what) {
  throw NamedRegionError(err, what + ": " + std::strerror(err));
}

/// mkdir -p with 0700 for what it creates; the last component must end up a
/// private directory of ours.
void ensure_private_dir(const std::string& path) {
  if (path.empty() || path[0] != '/') fail(EINVAL, "PID directory must be absolute: '" + path + "'");
  // Parents (created 0700 if missing).
  for (std::size_t i = 1; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    const std::string parent = path.substr(0, i);
    if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
      fail(errno, "cannot create directory '" + parent + "'");
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    fail(errno, "cannot create PID directory '" + path + "'");
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) fail(errno, "cannot stat PID directory '" + path + "'");
  if (!S_ISDIR(st.st_mode)) fail(ENOTDIR, "PID directory '" + path + "' is not a directory");
  if (st.st_uid != ::geteuid())
    fail(EPERM, "PID directory '" + path + "' belongs to another user");
  if (st.st_mode & 022)
    fail(EPERM, "PID directory '" + path + "' is writable by group or others");
}

bool parse_pid_file(const char* name, std::uint32_t* pid, std::uint32_t* stamp) {
  char* end = nullptr;
  const unsigned long p = std::strtoul(name, &end, 10);
  if (end == name || *end != '.') return false;
  const char* s = end + 1;
  const unsigned long st = std::strtoul(s, &end, 10);
  if (end == s || *end != '\0' || p == 0 || p > 0x3FFFFFFFul) return false;
  *pid = static_cast<std::uint32_t>(p);
  *stamp = static_cast<std::uint32_t>(st);
  return true;
}

/// Removes the files of dead processes; returns how many live ones remain
/// (the caller's own file included if present).
std::size_t reap(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  std::vector<std::string> dead;
  std::size_t live = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::uint32_t pid, stamp;
    if (!parse_pid_file(e->d_name, &pid, &stamp)) continue;
    if (shm::process_liveness(pid, stamp) == shm::Liveness::alive) ++live;
    else dead.emplace_back(e->d_name);
  }
  ::closedir(d);
  for (const auto& n : dead) ::unlink((dir + "/" + n).c_str());
  return live;
}

/// flock() retrying EINTR; 0 or -1 with errno.
int flock_retry(int fd, int op) {
  int r;
  do r = ::flock(fd, op);
  while (r != 0 && errno == EINTR);
  return r;
}

/// Whether fd (a region opened here) is still what /dev/shm<shm_path> names.
bool still_named(int fd, const std::string& shm_path) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && shm_lstat(shm_path, &b) == 0 &&
         a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/// If the existing region is a regular file of ours that no handle anywhere
/// holds (an exclusive non-blocking flock succeeds), unlink it under that
/// flock and return true: a leftover of processes that all died.
bool unlink_if_unused(const std::string& shm_path) {
  const int saved_errno = errno;  // callers report the errno of their own open
  struct RestoreErrno {
    int e;
    ~RestoreErrno() { errno = e; }
  } restore{saved_errno};
  const int fd = open_shm(shm_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) return false;
  struct stat st;
  bool removed = false;
  if (::fstat(fd, &st) == 0 && shm_type_ok(st) && st.st_uid == ::geteuid() &&
      flock_retry(fd, LOCK_EX | LOCK_NB) == 0) {
    if (still_named(fd, shm_path)) removed = ::shm_unlink(shm_path.c_str()) == 0;
  }
  ::close(fd);
  return removed;
}

// Handles open in this process per PID file (several handles of one process
// share its file; the last one to close removes it). Keyed by the file's
// path, which contains the PID, so a forked child's adoptions count apart.
std::mutex g_handles_lock;
std::map<std::string, int>& handles() {
  static auto* m = new std::map<std::string, int>();
  return *m;
}

// Every region open in this process (guarded by g_handles_lock).
NamedRegion* g_open = nullptr;

std::string pid_file_name() {
  return std::to_string(shm::self_pid()) + "." + std::to_string(shm::self_stamp());
}

}  // namespace

void NamedRegion::validate_name(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("name must not be empty");
  if (name.size() > kMaxName)
    throw std::invalid_argument("name is too long (at most " + std::to_string(kMaxName) +
                                " bytes)");
  if (name.find('\0') != std::string_view::npos)
    throw std::invalid_argument("name must not contain NUL");
  if (name.find('/') != std::string_view::npos)
    throw std::invalid_argument("name must not contain '/'");
  if (name.find("..") != std::string_view::npos)
    throw std::invalid_argument("name must not contain '..'");
}

std::string NamedRegion::resolve_pid_dir(const Options& o) {
  std::string dir = o.pid_dir;
  if (dir.empty() && !o.pid_dir_env.empty()) {
    if (const char* e = std::getenv(o.pid_dir_env.c_str()); e && *e) dir = e;
  }
  if (dir.empty()) {
    // One directory per user for every kind ("interlock.mutex" -> "interlock").
    const std::string base = o.prefix.substr(0, o.prefix.find('.'));
    dir = default_pid_root() + base + "-pids-" + std::to_string(::geteuid());
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

int NamedRegion::lock_dir() {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) {  // the last user of another name removed the directory
      ensure_private_dir(pid_dir_);
      continue;
    }
    if (fd < 0) fail(errno, "cannot open lock file '" + lock_path_ + "'");
    if (::flock(fd, LOCK_EX) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EINTR) continue;
      fail(err, "cannot lock '" + lock_path_ + "'");
    }
    struct stat a, b;
    if (::fstat(fd, &a) == 0 && ::lstat(lock_path_.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      if (a.st_uid != ::geteuid()) {
        ::close(fd);
        fail(EPERM, "lock file '" + lock_path_ + "' belongs to another user");
      }
      return fd;
    }
    ::close(fd);  // unlinked by a closing last user meanwhile: start over
  }
  fail(EAGAIN, "cannot lock '" + lock_path_ + "'");
}

void NamedRegion::register_self() {
  if (::mkdir(pids_path_.c_str(), 0700) != 0 && errno != EEXIST)
    fail(errno, "cannot create '" + pids_path_ + "'");
  pid_file_ = pids_path_ + "/" + pid_file_name();
  const int fd =
      ::open(pid_file_.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail(errno, "cannot create '" + pid_file_ + "'");
  ::close(fd);
  std::lock_guard<std::mutex> g(g_handles_lock);
  ++handles()[pid_file_];
}

NamedRegion::NamedRegion(std::string_view name, std::size_t size, const Options& o)
    : name_(name) {
  validate_name(name);
  if (size == 0 && o.create)
    throw std::invalid_argument("size must be positive (0 only to attach without creating)");
  if (o.prefix.empty() || o.prefix.find('/') != std::string::npos)
    throw std::invalid_argument("bad prefix");
  if (o.mode & ~0777u) throw std::invalid_argument("mode must be within 0o777");
  shm_name_ = o.prefix + "." + std::string(name);
  pid_dir_ = resolve_pid_dir(o);
  ensure_private_dir(pid_dir_);
  lock_path_ = pid_dir_ + "/" + shm_name_ + ".lock";
  pids_path_ = pid_dir_ + "/" + shm_name_ + ".pids";
  const std::string shm_path = os_shm_name(shm_name_);
  const mode_t mode = o.mode | 0600;  // we must be able to use it ourselves

  const int lock_fd = lock_dir();
  int fd = -1;
  try {
   for (int attempt = 0;; ++attempt) {
    if (attempt == 1000) fail(EAGAIN, "cannot attach '/dev/shm" + shm_path + "'");
    created_ = false;
    const std::size_t live = reap(pids_path_);
    fd = open_shm(shm_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    const int open_err = errno;  // the probes below may change errno
    if (fd < 0 && open_err == EEXIST && live == 0 && o.create && unlink_if_unused(shm_path)) {
      // A leftover of processes that all died (no PID file here, no handle
      // anywhere): reclaimed. (Only a regular file of ours: a planted symlink
      // or another user's file is refused below, never removed or followed.)
      fd = open_shm(shm_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    }
    if (fd < 0 && open_err == EEXIST && live == 0 && !o.create && unlink_if_unused(shm_path)) {
      // Attach-only to a leftover of processes that all died: there is nothing
      // to attach to (its contents belong to nobody). Remove it, as a
      // creating attach would, and report it missing.
      fail(ENOENT, "no named object '" + name_ + "' (a leftover of processes that all exited "
                   "without closing it was removed)");
    }
    if (fd >= 0) {
      if (!o.create) {
        ::close(fd);
        ::shm_unlink(shm_path.c_str());
        fd = -1;
        fail(ENOENT, "no named object '" + name_ + "'");
      }
      created_ = true;
      if (set_shm_mode(fd, mode) != 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        const int err = errno;
        ::shm_unlink(shm_path.c_str());
        fail(err, "cannot set up '" + shm_path + "'");
      }
    } else {
      if (errno != EEXIST) fail(errno, "cannot create '/dev/shm" + shm_path + "'");
      fd = open_shm(shm_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
      if (fd < 0) fail(errno, "cannot open '/dev/shm" + shm_path + "'");
      struct stat st;
      if (::fstat(fd, &st) != 0) fail(errno, "cannot stat '/dev/shm" + shm_path + "'");
      if (!shm_type_ok(st)) fail(EINVAL, "'/dev/shm" + shm_path + "' is not a regular file");
      if (st.st_uid != ::geteuid() && (o.mode & 077) == 0)
        fail(EPERM, "'/dev/shm" + shm_path + "' belongs to another user");
      if (size == 0 || o.whole) {  // map the whole existing object
        size = static_cast<std::size_t>(st.st_size);
        if (size == 0) fail(EINVAL, "'/dev/shm" + shm_path + "' is empty");
      }
      if (static_cast<std::size_t>(st.st_size) < size)
        fail(EINVAL, "'/dev/shm" + shm_path + "' is smaller (" + std::to_string(st.st_size) +
                         " bytes) than this object needs (" + std::to_string(size) + ")");
    }
    // Liveness in the object: our shared flock. A reclaimer (of another PID
    // directory) may have removed the name between our open and this lock:
    // then start over.
    if (flock_retry(fd, LOCK_SH) != 0) fail(errno, "cannot lock '/dev/shm" + shm_path + "'");
    if (still_named(fd, shm_path)) break;
    ::close(fd);
    fd = -1;
   }
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      if (created_) ::shm_unlink(shm_path.c_str());
      fail(err, "cannot map '/dev/shm" + shm_path + "'");
    }
    fd_ = fd;  // kept open: its shared flock says we use the region
    fd = -1;
    data_ = p;
    size_ = size;
    try {
      register_self();
    } catch (...) {
      ::munmap(data_, size_);
      data_ = nullptr;
      if (created_) ::shm_unlink(shm_path.c_str());
      ::close(fd_);
      fd_ = -1;
      throw;
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    // A failed attach (ENOENT with create == false, another user's object,
    // ...) leaves no files behind: when no process of this PID directory uses
    // the name, remove the lock file and directories this call may have
    // created (still under the flock; a waiter on the lock file starts over,
    // as after a last close). The region itself is never removed here.
    if (reap(pids_path_) == 0) {
      ::rmdir(pids_path_.c_str());
      ::unlink(lock_path_.c_str());
      ::rmdir(pid_dir_.c_str());  // only if no other name uses it
    }
    ::close(lock_fd);
    throw;
  }
  ::close(lock_fd);
  std::lock_guard<std::mutex> g(g_handles_lock);
  next_ = g_open;
  if (g_open) g_open->prev_ = this;
  g_open = this;
}

void NamedRegion::adopt_all_after_fork() noexcept {
  // Another thread of the parent may have held the lock at fork().
  new (&g_handles_lock) std::mutex();
  for (NamedRegion* r = g_open; r; r = r->next_) {
    try {
      r->adopt_after_fork();
    } catch (...) {
    }
  }
}

void NamedRegion::close_all() noexcept {
  for (;;) {
    NamedRegion* victim = nullptr;
    {
      std::lock_guard<std::mutex> g(g_handles_lock);
      for (NamedRegion* r = g_open; r; r = r->next_)
        if (!r->closed_) {
          victim = r;
          break;
        }
    }
    if (!victim) return;
    victim->close();
  }
}

std::size_t NamedRegion::process_count() const { return reap(pids_path_); }

void NamedRegion::adopt_after_fork() {
  if (closed_) return;
  const int lock_fd = lock_dir();
  try {
    // Our own descriptor (and so our own flock): the inherited one shares the
    // parent's open file description, whose lock the parent drops at close.
    const std::string shm_path = os_shm_name(shm_name_);
    const int fd = open_shm(shm_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd >= 0) {
      struct stat a, b;
      if (fd_ >= 0 && ::fstat(fd, &a) == 0 && ::fstat(fd_, &b) == 0 && a.st_ino == b.st_ino &&
          a.st_dev == b.st_dev && flock_retry(fd, LOCK_SH) == 0) {
        ::close(fd_);
        fd_ = fd;
      } else {
        ::close(fd);
      }
    }
    register_self();
  } catch (...) {
    ::close(lock_fd);
    throw;
  }
  ::close(lock_fd);
}

void NamedRegion::close() noexcept {
  if (closed_.exchange(true)) return;
  int lock_fd = -1;
  try {
    lock_fd = lock_dir();
  } catch (...) {
    if (fd_ >= 0) ::close(fd_);  // cannot coordinate: leave the files (reclaimed
    fd_ = -1;                    // by a later attach)
    return;
  }
  // Our file, once the last handle of this process on it closes (a forked
  // child that never adopted has none: its name has the child's PID).
  const std::string mine = pids_path_ + "/" + pid_file_name();
  bool last_here = true;
  {
    std::lock_guard<std::mutex> g(g_handles_lock);
    auto it = handles().find(mine);
    if (it != handles().end()) {
      last_here = --it->second == 0;
      if (last_here) handles().erase(it);
    }
  }
  if (last_here) ::unlink(mine.c_str());
  // Unused by any handle anywhere (whatever its PID directory)? Drop our
  // shared flock and try an exclusive one.
  bool unused = true;
  if (fd_ >= 0) {
    flock_retry(fd_, LOCK_UN);
    unused = flock_retry(fd_, LOCK_EX | LOCK_NB) == 0 && still_named(fd_, os_shm_name(shm_name_));
  }
  if (last_here && reap(pids_path_) == 0) {
    if (unused) ::shm_unlink(os_shm_name(shm_name_).c_str());
    ::rmdir(pids_path_.c_str());
    ::unlink(lock_path_.c_str());
    ::rmdir(pid_dir_.c_str());  // only if no other name uses it
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::close(lock_fd);
}

NamedRegion::~NamedRegion() {
  close();
  {
    std::lock_guard<std::mutex> g(g_handles_lock);
    if (prev_) prev_->next_ = next_;
    else if (g_open == this) g_open = next_;
    if (next_) next_->prev_ = prev_;
  }
  if (data_) ::munmap(data_, size_);
}

}  // namespace interlock
