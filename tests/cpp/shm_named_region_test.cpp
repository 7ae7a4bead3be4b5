// NamedRegion: create-or-attach under /dev/shm, PID tracking, reclaiming
// leftovers, name validation, refusing symlinks and foreign directories.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "interlock/named_region.hpp"
#include "interlock/shm_mutex.hpp"
#include "test_util.hpp"

namespace {

using namespace interlock;
namespace fs = std::filesystem;

std::string unique(const char* tag) {
  return std::string("gt-") + tag + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::rand());
}

struct TempPidDir {
  TempPidDir() {
    char tmpl[] = "/tmp/interlock-gtest-XXXXXX";
    path = ::mkdtemp(tmpl);
    ::chmod(path.c_str(), 0700);
  }
  ~TempPidDir() { fs::remove_all(path); }
  NamedRegion::Options opts() const {
    NamedRegion::Options o;
    o.pid_dir = path + "/pids";
    return o;
  }
  std::string path;
};

bool shm_exists(const std::string& shm_name) { return fs::exists("/dev/shm/" + shm_name); }

TEST(NamedRegion, CreateAttachAndLastCloseRemoves) {
  TempPidDir dir;
  const std::string name = unique("basic");
  std::string shm;
  {
    NamedRegion a(name, 64, dir.opts());
    EXPECT_TRUE(a.created());
    shm = a.shm_name();
    EXPECT_EQ(shm, "interlock." + name);
    EXPECT_TRUE(shm_exists(shm));
    struct stat st;
    ASSERT_EQ(::stat(("/dev/shm/" + shm).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(dir.opts().pid_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    static_cast<char*>(a.data())[5] = 42;
    NamedRegion b(name, 64, dir.opts());
    EXPECT_FALSE(b.created());
    EXPECT_EQ(static_cast<char*>(b.data())[5], 42);
    EXPECT_EQ(a.process_count(), 1u);  // one process, registered once
    b.close();
    EXPECT_TRUE(shm_exists(shm));  // `a` still uses it
    EXPECT_EQ(a.process_count(), 1u);
  }
  EXPECT_FALSE(shm_exists(shm));
}

TEST(NamedRegion, ChildKeepsItAliveAndCrashedLeftoversAreReclaimed) {
  TempPidDir dir;
  const std::string name = unique("kids");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  NamedRegion a(name, 64, dir.opts());
  const std::string shm = a.shm_name();
  pid_t kid = ::fork();
  if (kid == 0) {
    NamedRegion r(name, 64, dir.opts());
    char c = r.created() ? 'c' : 'a';
    (void)!::write(fds[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(fds[0], &c, 1), 1);
  EXPECT_EQ(c, 'a');
  EXPECT_EQ(a.process_count(), 2u);
  a.close();
  EXPECT_TRUE(shm_exists(shm));  // the child still uses it
  ::kill(kid, SIGKILL);
  int st;
  ::waitpid(kid, &st, 0);
  EXPECT_TRUE(shm_exists(shm));  // the crashed child's leftover
  {
    NamedRegion again(name, 64, dir.opts());
    EXPECT_TRUE(again.created());  // reclaimed: fresh memory
    EXPECT_EQ(static_cast<char*>(again.data())[0], 0);
  }
  EXPECT_FALSE(shm_exists(shm));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(NamedRegion, NamesAreValidated) {
  TempPidDir dir;
  for (std::string bad : {std::string(""), std::string("a/b"), std::string(".."),
                          std::string("x..y"), std::string("nul\0x", 5), std::string(201, 'n')})
    EXPECT_THROW(NamedRegion(bad, 64, dir.opts()), std::invalid_argument) << bad;
  EXPECT_NO_THROW(NamedRegion::validate_name(std::string(200, 'n')));
}

TEST(NamedRegion, PlantedSymlinkIsNotFollowed) {
  TempPidDir dir;
  const std::string name = unique("link");
  const std::string target = dir.path + "/target";
  { FILE* f = std::fopen(target.c_str(), "w"); std::fclose(f); }
  const std::string planted = "/dev/shm/interlock." + name;
  ASSERT_EQ(::symlink(target.c_str(), planted.c_str()), 0);
  try {
    NamedRegion r(name, 64, dir.opts());
    ADD_FAILURE() << "attached through a symlink";
  } catch (const NamedRegionError& e) {
    EXPECT_NE(e.error_code(), 0);
  }
  EXPECT_EQ(fs::file_size(target), 0u);  // never truncated or written
  ::unlink(planted.c_str());
}

TEST(NamedRegion, PidDirMustBePrivate) {
  TempPidDir dir;
  NamedRegion::Options o;
  o.pid_dir = dir.path + "/open";
  ::mkdir(o.pid_dir.c_str(), 0777);
  ::chmod(o.pid_dir.c_str(), 0777);
  EXPECT_THROW(NamedRegion(unique("open"), 64, o), NamedRegionError);
  o.pid_dir = dir.path + "/sym";
  ASSERT_EQ(::symlink(dir.path.c_str(), o.pid_dir.c_str()), 0);
  EXPECT_THROW(NamedRegion(unique("sym"), 64, o), NamedRegionError);
}

TEST(NamedRegion, EnvironmentChoosesThePidDir) {
  TempPidDir dir;
  NamedRegion::Options o;
  o.pid_dir_env = "INTERLOCK_GTEST_PID_DIR";
  ::setenv("INTERLOCK_GTEST_PID_DIR", (dir.path + "/env/").c_str(), 1);
  EXPECT_EQ(NamedRegion::resolve_pid_dir(o), dir.path + "/env");
  {
    NamedRegion r(unique("env"), 64, o);
    EXPECT_TRUE(fs::exists(dir.path + "/env/" + r.shm_name() + ".pids"));
  }
  ::unsetenv("INTERLOCK_GTEST_PID_DIR");
  EXPECT_NE(NamedRegion::resolve_pid_dir(o).find("interlock-pids-"), std::string::npos);
}

TEST(NamedRegion, AttachOnlyAndSizeChecks) {
  TempPidDir dir;
  auto o = dir.opts();
  o.create = false;
  EXPECT_THROW(NamedRegion(unique("none"), 64, o), NamedRegionError);
  // The failed attach left nothing in the PID directory (nor the directory).
  EXPECT_FALSE(fs::exists(o.pid_dir));
  const std::string name = unique("small");
  NamedRegion a(name, 64, dir.opts());
  EXPECT_THROW(NamedRegion(name, 128, dir.opts()), NamedRegionError);
  // Size 0: attach-only, mapping the whole existing object.
  EXPECT_THROW(NamedRegion(name, 0, dir.opts()), std::invalid_argument);  // create needs a size
  NamedRegion b(name, 0, o);
  EXPECT_FALSE(b.created());
  EXPECT_EQ(b.size(), 64u);
  EXPECT_THROW(NamedRegion(unique("none0"), 0, o), NamedRegionError);
}

TEST(NamedRegion, WholeMapsAnExistingObjectAtItsOwnSize) {
  TempPidDir dir;
  auto o = dir.opts();
  o.whole = true;
  const std::string name = unique("whole");
  NamedRegion a(name, 256, o);  // none yet: created at the size asked for
  EXPECT_TRUE(a.created());
  EXPECT_EQ(a.size(), 256u);
  NamedRegion b(name, 64, o);  // smaller: the whole object all the same
  EXPECT_FALSE(b.created());
  EXPECT_EQ(b.size(), 256u);
  NamedRegion c(name, 4096, o);  // larger: no size error
  EXPECT_EQ(c.size(), 256u);
  o.create = false;
  NamedRegion d(name, 64, o);
  EXPECT_EQ(d.size(), 256u);
  EXPECT_THROW(NamedRegion(unique("none"), 64, o), NamedRegionError);
}

TEST(NamedRegion, AttachOnlyToALeftoverRemovesIt) {
  TempPidDir dir;
  const std::string name = unique("leftover");
  pid_t kid = ::fork();
  if (kid == 0) {
    NamedRegion r(name, 64, dir.opts());
    static_cast<char*>(r.data())[0] = 7;
    ::_exit(0);  // dies without closing: its PID file stays, the process is gone
  }
  int st = 0;
  ASSERT_EQ(::waitpid(kid, &st, 0), kid);
  ASSERT_TRUE(shm_exists("interlock." + name));
  auto o = dir.opts();
  o.create = false;
  try {
    NamedRegion r(name, 0, o);
    FAIL() << "attached to a dead leftover";
  } catch (const NamedRegionError& e) {
    EXPECT_EQ(e.error_code(), ENOENT);
  }
  EXPECT_FALSE(shm_exists("interlock." + name));
  NamedRegion fresh(name, 64, dir.opts());
  EXPECT_TRUE(fresh.created());
  EXPECT_EQ(static_cast<char*>(fresh.data())[0], 0);
}

TEST(NamedRegion, MutexInANamedRegionAcrossProcesses) {
  TempPidDir dir;
  const std::string name = unique("mtx");
  NamedRegion r(name, 64, dir.opts());
  shm::ShmMutex m(r.data());
  ASSERT_EQ(m.attach(), shm::AttachResult::created);
  ASSERT_TRUE(m.try_lock());
  pid_t kid = ::fork();
  if (kid == 0) {
    NamedRegion rr(name, 64, dir.opts());
    shm::ShmMutex mm(rr.data());
    bool ok = mm.attach() == shm::AttachResult::attached && !mm.try_lock() &&
              mm.lock_until(Deadline::after(std::chrono::seconds(10))) == shm::LockResult::ok;
    mm.unlock();
    ::_exit(ok ? 0 : 1);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  m.unlock();
  int st;
  ::waitpid(kid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace
