// bindings/module.cpp — entry point of the extension module interlock._interlock.
#include <nanobind/nanobind.h>

#include <string_view>

#include "interlock/config.hpp"
#include "interlock/parking_lot.hpp"
#include "module.hpp"
#include "py_wait.hpp"

namespace nb = nanobind;

// Set by bindings/CMakeLists.txt.
#if !defined(INTERLOCK_PY_VERSION) || !defined(INTERLOCK_PY_COMPILER_ID) || \
    !defined(INTERLOCK_PY_COMPILER_VERSION) || !defined(INTERLOCK_PY_BUILD_TYPE)
#error "build interlock._interlock through bindings/CMakeLists.txt"
#endif

// One version number: CMake's project(VERSION) (which pyproject.toml reads
// too) must agree with the C++ headers.
static_assert(std::string_view(INTERLOCK_PY_VERSION) == INTERLOCK_VERSION_STRING,
              "project(VERSION) in CMakeLists.txt and INTERLOCK_VERSION_STRING in "
              "include/interlock/config.hpp disagree");

namespace {

nb::dict build_info() {
  nb::dict d;
  d["version"] = INTERLOCK_PY_VERSION;
  d["compiler_id"] = INTERLOCK_PY_COMPILER_ID;
  d["compiler_version"] = INTERLOCK_PY_COMPILER_VERSION;
#if defined(__VERSION__)
  d["compiler_banner"] = __VERSION__;
#else
  d["compiler_banner"] = INTERLOCK_PY_COMPILER_ID " " INTERLOCK_PY_COMPILER_VERSION;
#endif
  d["cxx_standard"] = static_cast<long>(__cplusplus);
  d["build_type"] = INTERLOCK_PY_BUILD_TYPE;
#if defined(NDEBUG)
  d["assertions"] = false;
#else
  d["assertions"] = true;
#endif
#if defined(Py_GIL_DISABLED)
  d["free_threaded"] = true;
#else
  d["free_threaded"] = false;
#endif
  d["python_version"] = PY_VERSION;  // the headers the module was built against
#if defined(Py_LIMITED_API)
  d["stable_abi"] = true;  // the abi3 wheel: runs on every CPython >= python_version
#else
  d["stable_abi"] = false;
#endif
  d["nanobind_version"] =
      nb::str("{}.{}.{}").format(NB_VERSION_MAJOR, NB_VERSION_MINOR, NB_VERSION_PATCH);
  return d;
}

/// Child side of fork(): the parent's parked waiters belong to threads that
/// do not exist here, and the forking thread is the child's main thread.
void after_fork_in_child() noexcept {
  interlock::parking_lot::after_fork();
  interlock::py::set_main_thread(PyThread_get_thread_ident());
  interlock::py::sync_after_fork_in_child();
}

/// Signal handlers run on threading.main_thread(); remember which that is, and
/// keep the parking lot usable in forked children.
void install_process_hooks(nb::module_& m) {
  nb::object main = nb::module_::import_("threading").attr("main_thread")();
  interlock::py::set_main_thread(nb::cast<unsigned long>(main.attr("ident")));
  m.def("_after_fork_in_child", &after_fork_in_child,
        "Reset the parking lot in a forked child (registered with os.register_at_fork).");
  nb::object os = nb::module_::import_("os");
  if (nb::hasattr(os, "register_at_fork"))  // no fork() on Windows
    os.attr("register_at_fork")(nb::arg("after_in_child") = m.attr("_after_fork_in_child"));
}

}  // namespace

NB_MODULE(_interlock, m) {
  m.doc() = "interlock's compiled core (one extension module; submodules inside).";
  m.attr("__version__") = INTERLOCK_PY_VERSION;
  m.def("build_info", &build_info,
        "Describe how this extension was built: version, compiler, build type,\n"
        "free-threading, nanobind version.");

  nb::module_ aio = m.def_submodule(
      "_aio", "Event-loop waiters on the primitives (python/interlock/_aio.py; not public API).");
  interlock::py::init_aio(aio);

  nb::module_ locks = m.def_submodule("locks", "Locks and synchronisation primitives.");
  interlock::py::init_locks(locks);
  interlock::py::init_sync(locks);

  nb::module_ atomic = m.def_submodule(
      "atomic", "Thread atomics: AtomicInt, AtomicBool, AtomicFloat, AtomicReference.");
  interlock::py::init_atomic(atomic);

  nb::module_ collections = m.def_submodule(
      "collections", "Concurrent collections of Python objects, and LocalWrapper.");
  interlock::py::init_local_wrapper(collections);
  interlock::py::init_concurrent_dict(collections);
  interlock::py::init_queues(collections);

  nb::module_ ipc = m.def_submodule(
      "ipc", "Cross-process primitives: buffer atomics, futex primitives, shared-memory queue.");
  interlock::py::init_ipc_atomics(ipc);
#if INTERLOCK_HAS_IPC  // not on Windows: docs/design.md "Platforms"
  interlock::py::init_ipc_futex(ipc);
  interlock::py::init_ipc_queue(ipc);
#endif

  install_process_hooks(m);
}
