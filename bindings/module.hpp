// bindings/module.hpp — the pieces of the one extension module
// interlock._interlock. Each binding source defines one init_* function that
// fills a (sub)module; module.cpp calls them all, so every type is registered
// exactly once, in one nanobind domain.
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

/// interlock._interlock.locks: Lock, RLock, RWLock and their guards; syncx's
/// flavours in the nested submodule _syncx (bindings/locks.cpp).
void init_locks(nanobind::module_& m);

/// interlock._interlock.locks (shared with the locks): Semaphore,
/// BoundedSemaphore, Event, Once, CountDownLatch (bindings/locks.cpp).
void init_sync(nanobind::module_& m);

/// Child side of fork(): resets the Once objects whose function was running
/// in a thread that does not exist in the child (bindings/locks.cpp).
void sync_after_fork_in_child() noexcept;

/// interlock._interlock.atomic: AtomicInt, AtomicBool, AtomicFloat, AtomicReference;
/// the syncx and ft_utils façades' types in _syncx / _ft_utils (bindings/atomic*.cpp).
void init_atomic(nanobind::module_& m);

/// interlock._interlock.collections: LocalWrapper (bindings/local_wrapper.cpp).
void init_local_wrapper(nanobind::module_& m);

/// interlock._interlock._aio: AsyncWait, the event-loop waiter (bindings/aio.cpp).
void init_aio(nanobind::module_& m);

/// interlock._interlock.ipc: the buffer atomics (bindings/ipc_atomics.cpp).
void init_ipc_atomics(nanobind::module_& m);

/// interlock._interlock.collections: ConcurrentDictBase, ConcurrentSetBase and
/// their iterator (bindings/concurrent_dict.cpp).
void init_concurrent_dict(nanobind::module_& m);

/// interlock._interlock.collections: Queue, ConcurrentQueue, StdConcurrentQueue,
/// ConcurrentGatheringIterator, Empty/Full/ShutDown (bindings/queues.cpp).
void init_queues(nanobind::module_& m);

/// The exceptions of the queues (borrowed; valid after init_queues):
/// queue.Empty, queue.Full, queue.ShutDown (or interlock's class before 3.13).
PyObject* queue_empty_type() noexcept;
PyObject* queue_full_type() noexcept;
PyObject* queue_shutdown_type() noexcept;

/// interlock._interlock.ipc: ShmQueue, the shared-memory queue of byte
/// messages (bindings/ipc_queue.cpp). After init_queues.
void init_ipc_queue(nanobind::module_& m);

/// The collections' `scaling` argument (ft_utils' shard count; null or None:
/// the default 17; clamped to 4096): 0 with ValueError/TypeError set if it is
/// not a positive integer (bindings/concurrent_dict.cpp).
std::size_t parse_scaling(PyObject* scaling) noexcept;

/// interlock._interlock.ipc: FutexWord, AtomicU32/U64, Mutex, Semaphore, Event,
/// Barrier on buffers, NamedMutex/NamedSemaphore/NamedEvent, and the fastipc
/// façade's classes in _fastipc (bindings/ipc_futex.cpp).
void init_ipc_futex(nanobind::module_& m);

}  // namespace interlock::py
