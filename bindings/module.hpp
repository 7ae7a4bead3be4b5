// bindings/module.hpp — the pieces of the one extension module
// interlock._interlock. Each binding source defines one init_* function that
// fills a (sub)module; module.cpp calls them all (its submodule docstrings say
// what is where), so every type is registered exactly once, in one nanobind domain.
#pragma once

#include <nanobind/nanobind.h>

#include "py_compat.hpp"
namespace interlock::py {

/// Names a bound class after its public home: `__module__` (so repr() of the
/// class and pickle use the public module, not the extension's submodule),
/// and `__name__` set again, which makes tp_name the bare class name (as for
/// classes written in Python) so error messages say 'AtomicInt', not
/// 'interlock._interlock.atomic.AtomicInt'. The one helper for every binding.
inline void set_module(nanobind::handle cls, const char* module) {
  nanobind::setattr(cls, "__module__", nanobind::str(module));
  nanobind::setattr(cls, "__name__", nanobind::getattr(cls, "__name__"));
}

void init_locks(nanobind::module_& m);            // locks.cpp (syncx's flavours in _syncx)
void init_sync(nanobind::module_& m);             // locks.cpp: Semaphore, Event, Once, ...
void init_atomic(nanobind::module_& m);           // atomic.cpp
void init_local_wrapper(nanobind::module_& m);    // local_wrapper.cpp
void init_aio(nanobind::module_& m);              // aio.cpp
void init_ipc_atomics(nanobind::module_& m);      // ipc_atomics.cpp
void init_concurrent_dict(nanobind::module_& m);  // concurrent_dict.cpp
void init_queues(nanobind::module_& m);           // queues.cpp
void init_ipc_queue(nanobind::module_& m);        // ipc_queue.cpp, after init_queues
void init_ipc_futex(nanobind::module_& m);        // ipc_futex.cpp

/// Child side of fork(): resets the Once objects whose function was running
/// in a thread that does not exist in the child (bindings/locks.cpp).
void sync_after_fork_in_child() noexcept;

/// The exceptions of the queues (borrowed; valid after init_queues):
/// queue.Empty, queue.Full, queue.ShutDown (or interlock's class before 3.13).
PyObject* queue_empty_type() noexcept;
PyObject* queue_full_type() noexcept;
PyObject* queue_shutdown_type() noexcept;

/// The collections' `scaling` argument (ft_utils' shard count; null or None:
/// the default 17; clamped to 4096): 0 with ValueError/TypeError set if it is
/// not a positive integer (bindings/concurrent_dict.cpp).
std::size_t parse_scaling(PyObject* scaling) noexcept;

}  // namespace interlock::py
