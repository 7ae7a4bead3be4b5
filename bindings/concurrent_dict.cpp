// bindings/concurrent_dict.cpp — the native bases of ConcurrentDict and
// ConcurrentSet (interlock._interlock.collections.ConcurrentDictBase /
// ConcurrentSetBase): interlock::ShardedMap over Python objects.
//
// This file only adapts Python objects to the core (include/interlock/
// sharded_map.hpp): the policies below say that keys and values are
// PyObject* handles, that a reference is an incref, and how keys compare.
// The rules the core relies on, and which every function here keeps:
//   * a key's hash is computed (PyObject_Hash, arbitrary Python) before any
//     shard lock is taken;
//   * under a shard lock only PyPolicy::match (pure C reads of immutable
//     exact str / int / bytes contents, never a call into Python) and
//     Py_INCREF run; PyObject_RichCompareBool and every Py_DECREF run after
//     the lock is dropped (the core calls slow_equal / release_* unlocked);
//   * nothing allocates Python objects, raises, or decrefs while an
//     iterator's own lock is held;
//   * d[k], `k in d` and d.get read without the shard lock, inside a
//     ReadSection (interlock/grace.hpp) where again only PyPolicy::match and
//     Py_INCREF run; replaced values and removed keys are released by the
//     core after the writer's lock is dropped, once no read section can still
//     see them (at once, unless a reader on another thread was preempted
//     mid-read: then by a later operation on the same map, which is always a
//     call from Python on an attached thread, so the Py_DECREF is allowed).
// The hot slots (mp_subscript, mp_ass_subscript, sq_contains, mp_length) are
// the type's own C slots, so `d[k]`, `d[k] = v`, `k in d` cost a slot call.
// The public classes (python/interlock/collections.py) subclass these bases
// with __slots__ = () and add the views, ==, repr, update and pickling.
#include <Python.h>
#include <nanobind/nanobind.h>
#include <structmember.h>

#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#include "interlock/raw_mutex.hpp"
#include "interlock/sharded_map.hpp"
#include "module.hpp"

namespace nb = nanobind;

namespace interlock::py {
namespace {

// ------------------------------------------------------------------ policies
struct PyKeys {
  using key_type = PyObject*;

  /// Under the shard lock: identity was already checked by the core; decide
  /// only what can be decided without calling any Python code.
  static KeyMatch match(PyObject* stored, PyObject* probe) noexcept {
    PyTypeObject* t = Py_TYPE(stored);
    if (t != Py_TYPE(probe)) return KeyMatch::unknown;
#ifdef Py_LIMITED_API
    // The stable ABI has no view of a str's or bytes' storage: decided
    // outside the lock, by the caller's comparison.
    if (t == &PyUnicode_Type || t == &PyBytes_Type) return KeyMatch::unknown;
#endif
    if (t == &PyLong_Type) {
      // Exact ints: PyLong_AsLongLongAndOverflow reads the digits (it calls
      // __index__ only for non-ints, which these are not).
      int oa = 0, ob = 0;
      long long a = PyLong_AsLongLongAndOverflow(stored, &oa);
      long long b = PyLong_AsLongLongAndOverflow(probe, &ob);
      if (oa || ob) return KeyMatch::unknown;
      return a == b ? KeyMatch::equal : KeyMatch::unequal;
    }
#ifndef Py_LIMITED_API
    if (t == &PyUnicode_Type) {
      Py_ssize_t n = PyUnicode_GET_LENGTH(stored);
      if (n != PyUnicode_GET_LENGTH(probe) || PyUnicode_KIND(stored) != PyUnicode_KIND(probe))
        return KeyMatch::unequal;
      return std::memcmp(PyUnicode_DATA(stored), PyUnicode_DATA(probe),
                         static_cast<std::size_t>(n) * PyUnicode_KIND(stored)) == 0
                 ? KeyMatch::equal
                 : KeyMatch::unequal;
    }
    if (t == &PyBytes_Type) {
      Py_ssize_t n = PyBytes_GET_SIZE(stored);
      if (n != PyBytes_GET_SIZE(probe)) return KeyMatch::unequal;
      return std::memcmp(PyBytes_AS_STRING(stored), PyBytes_AS_STRING(probe),
                         static_cast<std::size_t>(n)) == 0
                 ? KeyMatch::equal
                 : KeyMatch::unequal;
    }
#endif
    return KeyMatch::unknown;
  }
  static void retain_key(PyObject* k) noexcept { Py_INCREF(k); }
  static void release_key(PyObject* k) noexcept { Py_DECREF(k); }
  static int slow_equal(PyObject* stored, PyObject* probe) {
    return PyObject_RichCompareBool(stored, probe, Py_EQ);
  }
};

struct DictPolicy : PyKeys {
  using mapped_type = PyObject*;
  static void retain_value(PyObject* v) noexcept { Py_INCREF(v); }
  static void release_value(PyObject* v) noexcept { Py_DECREF(v); }
};

struct SetPolicy : PyKeys {
  using mapped_type = NoValue;
  static void retain_value(NoValue) noexcept {}
  static void release_value(NoValue) noexcept {}
};

using DictMap = ShardedMap<DictPolicy>;
using SetMap = ShardedMap<SetPolicy>;

template <class Map>
struct MapObject {
  PyObject_HEAD
  PyObject* weakreflist;
  Map map;
};
using DictObject = MapObject<DictMap>;
using SetObject = MapObject<SetMap>;

PyTypeObject* g_iter_type = nullptr;  // set once at module init

template <class Map>
inline Map& map_of(PyObject* self) noexcept {
  return reinterpret_cast<MapObject<Map>*>(self)->map;
}

inline bool hash_of(PyObject* key, std::size_t* h) noexcept {
  // The two commonest keys without a call, as dict's own lookup does for str:
  // an exact str's cached hash (written once, racily but atomically, by
  // whoever computes it first) and a compact exact int's hash (its value;
  // -1 hashes as -2). Everything else through PyObject_Hash.
#ifndef Py_LIMITED_API
  if (PyUnicode_CheckExact(key)) {
    Py_hash_t x = __atomic_load_n(&reinterpret_cast<PyASCIIObject*>(key)->hash, __ATOMIC_RELAXED);
    if (INTERLOCK_LIKELY(x != -1)) {
      *h = static_cast<std::size_t>(x);
      return true;
    }
  }
#if PY_VERSION_HEX >= 0x030C0000
  else if (PyLong_CheckExact(key) &&
           PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(key))) {
    Py_ssize_t v = PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(key));
    *h = static_cast<std::size_t>(v == -1 ? -2 : v);
    return true;
  }
#endif
#endif  // Py_LIMITED_API
  Py_hash_t x = PyObject_Hash(key);
  if (x == -1) return false;
  *h = static_cast<std::size_t>(x);
  return true;
}

void set_key_error(PyObject* key) noexcept {
  PyObject* t = PyTuple_Pack(1, key);  // a tuple key must not be unpacked as args
  if (t) {
    PyErr_SetObject(PyExc_KeyError, t);
    Py_DECREF(t);
  }
}

/// Report a failed status (error: already set by the comparison).
PyObject* status_error(MapStatus st) noexcept {
  if (st == MapStatus::no_memory) PyErr_NoMemory();
  return nullptr;
}

// ------------------------------------------------------------------ lifetime
std::size_t parse_scaling(PyObject* scaling) noexcept {
  if (!scaling || scaling == Py_None) return DictMap::kDefaultShards;
  Py_ssize_t n = PyNumber_AsSsize_t(scaling, PyExc_OverflowError);
  if (n == -1 && PyErr_Occurred()) return 0;
  if (n < 1) {
    PyErr_SetString(PyExc_ValueError, "scaling must be a positive integer");
    return 0;
  }
  if (static_cast<std::size_t>(n) > DictMap::kMaxShards) n = DictMap::kMaxShards;
  return static_cast<std::size_t>(n);
}

template <class Map>
PyObject* alloc_map(PyTypeObject* type, std::size_t shards) noexcept {
  PyObject* self = IL_TP_ALLOC(type)(type, 0);
  if (!self) return nullptr;
  auto* o = reinterpret_cast<MapObject<Map>*>(self);
  o->weakreflist = nullptr;
  try {
    new (&o->map) Map(shards);
  } catch (const std::bad_alloc&) {
    // tp_dealloc must not destroy a map that was never built: free directly.
    PyObject_GC_Del(self);
    Py_DECREF(type);
    return PyErr_NoMemory();
  }
  return self;
}

/// tp_new: takes `scaling` (keyword, or ignored positional data handled by the
/// Python subclass's __init__); everything else is the subclass's business.
template <class Map>
PyObject* map_new(PyTypeObject* type, PyObject*, PyObject* kwds) {
  PyObject* scaling = nullptr;
  if (kwds) {
    scaling = PyDict_GetItemString(kwds, "scaling");  // borrowed
  }
  std::size_t shards = parse_scaling(scaling);
  if (!shards) return nullptr;
  return alloc_map<Map>(type, shards);
}

template <class Map>
int map_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  // The collector runs with the world stopped (3.13t) or under the GIL, and
  // no shard lock is ever held across a point where it can run.
  return map_of<Map>(self).for_each_unlocked(
      [&](PyObject* k, const typename Map::V& v) -> int {
        Py_VISIT(k);
        if constexpr (!std::is_empty_v<typename Map::V>) Py_VISIT(v);
        return 0;
      });
}

template <class Map>
int map_clear_slot(PyObject* self) {
  map_of<Map>(self).clear();
  return 0;
}

template <class Map>
void map_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_TRASHCAN_BEGIN(self, map_dealloc<Map>)  // safe at any depth (issue 15)
  auto* o = reinterpret_cast<MapObject<Map>*>(self);
  if (o->weakreflist) PyObject_ClearWeakRefs(self);
  o->map.~Map();  // releases the entries (unlocked)
  IL_TP_FREE(tp)(self);
  Py_DECREF(tp);
  Py_TRASHCAN_END
}

template <class Map>
Py_ssize_t map_length(PyObject* self) {
  return static_cast<Py_ssize_t>(map_of<Map>(self).size());
}

template <class Map>
int map_contains(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return -1;
  MapStatus st = map_of<Map>(self).contains(key, h);
  if (st == MapStatus::found) return 1;
  if (st == MapStatus::absent) return 0;
  status_error(st);
  return -1;
}

template <class Map>
PyObject* map_sizeof(PyObject* self, PyObject*) {
  std::size_t b = static_cast<std::size_t>(IL_TP_BASICSIZE(Py_TYPE(self))) - sizeof(Map) +
                  map_of<Map>(self).memory_bytes();
  return PyLong_FromSize_t(b);
}

template <class Map>
PyObject* map_scaling(PyObject* self, void*) {
  return PyLong_FromSize_t(map_of<Map>(self).shard_count());
}

template <class Map>
PyObject* map_clear(PyObject* self, PyObject*) {
  map_of<Map>(self).clear();
  Py_RETURN_NONE;
}

// ------------------------------------------------------------------ iterator
// A shard-by-shard snapshot: when the iterator reaches a shard it copies that
// shard's live entries (retained) under the shard lock, then hands them out.
enum class IterKind : std::uint8_t { keys, values, items };

struct IterObject {
  PyObject_HEAD
  PyObject* owner;  // the map object (strong)
  RawMutex mu;      // guards everything below; never held across Python calls
  IterKind kind;
  bool is_set;
  std::size_t next_shard;
  std::size_t pos;
  std::vector<PyObject*> keys;
  std::vector<PyObject*> values;
};

std::size_t owner_shards(IterObject* it) noexcept {
  return it->is_set ? map_of<SetMap>(it->owner).shard_count()
                    : map_of<DictMap>(it->owner).shard_count();
}

bool owner_snapshot(IterObject* it, std::size_t shard) noexcept {
  bool want_keys = it->kind != IterKind::values, want_values = it->kind != IterKind::keys;
  if (it->is_set) return map_of<SetMap>(it->owner).snapshot(shard, &it->keys, nullptr);
  return map_of<DictMap>(it->owner)
      .snapshot(shard, want_keys ? &it->keys : nullptr, want_values ? &it->values : nullptr);
}

PyObject* make_iter(PyObject* owner, IterKind kind, bool is_set) noexcept {
  auto* it = PyObject_GC_New(IterObject, g_iter_type);
  if (!it) return nullptr;
  it->owner = Py_NewRef(owner);
  new (&it->mu) RawMutex();
  it->kind = kind;
  it->is_set = is_set;
  it->next_shard = 0;
  it->pos = 0;
  new (&it->keys) std::vector<PyObject*>();
  new (&it->values) std::vector<PyObject*>();
  PyObject_GC_Track(it);
  return reinterpret_cast<PyObject*>(it);
}

PyObject* iter_next(PyObject* self) {
  auto* it = reinterpret_cast<IterObject*>(self);
  PyObject* k = nullptr;
  PyObject* v = nullptr;
  bool oom = false;
  it->mu.lock();
  std::size_t len = it->kind == IterKind::values ? it->values.size() : it->keys.size();
  while (it->pos == len) {
    it->keys.clear();
    it->values.clear();
    it->pos = len = 0;
    if (it->next_shard >= owner_shards(it)) break;
    if (!owner_snapshot(it, it->next_shard)) {
      oom = true;
      break;
    }
    ++it->next_shard;
    len = it->kind == IterKind::values ? it->values.size() : it->keys.size();
  }
  if (it->pos < len) {  // hand over the snapshot's references
    if (it->kind != IterKind::values) k = it->keys[it->pos];
    if (it->kind != IterKind::keys) v = it->values[it->pos];
    ++it->pos;
  }
  it->mu.unlock();
  if (oom) return PyErr_NoMemory();
  switch (it->kind) {
    case IterKind::keys:
      return k;  // null: exhausted (StopIteration, no exception set)
    case IterKind::values:
      return v;
    case IterKind::items: {
      if (!k) return nullptr;
      PyObject* t = PyTuple_New(2);
      if (!t) {
        Py_DECREF(k);
        Py_DECREF(v);
        return nullptr;
      }
      PyTuple_SET_ITEM(t, 0, k);
      PyTuple_SET_ITEM(t, 1, v);
      return t;
    }
  }
  return nullptr;
}

/// Drop the snapshot's unreturned references (unlocked decrefs).
void iter_drop(IterObject* it) noexcept {
  std::vector<PyObject*> keys, values;
  std::size_t pos;
  it->mu.lock();
  keys.swap(it->keys);
  values.swap(it->values);
  pos = it->pos;
  it->pos = 0;
  it->mu.unlock();
  for (std::size_t i = pos; i < keys.size(); ++i) Py_DECREF(keys[i]);
  for (std::size_t i = pos; i < values.size(); ++i) Py_DECREF(values[i]);
}

int iter_traverse(PyObject* self, visitproc visit, void* arg) {
  auto* it = reinterpret_cast<IterObject*>(self);
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(it->owner);
  for (std::size_t i = it->pos; i < it->keys.size(); ++i) Py_VISIT(it->keys[i]);
  for (std::size_t i = it->pos; i < it->values.size(); ++i) Py_VISIT(it->values[i]);
  return 0;
}

int iter_clear(PyObject* self) {
  auto* it = reinterpret_cast<IterObject*>(self);
  iter_drop(it);
  it->mu.lock();
  it->next_shard = static_cast<std::size_t>(-1) / 2;  // exhausted
  it->mu.unlock();
  return 0;
}

void iter_dealloc(PyObject* self) {
  auto* it = reinterpret_cast<IterObject*>(self);
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_TRASHCAN_BEGIN(self, iter_dealloc)
  iter_drop(it);
  it->keys.~vector();
  it->values.~vector();
  Py_CLEAR(it->owner);
  PyObject_GC_Del(self);
  Py_DECREF(tp);
  Py_TRASHCAN_END
}

PyType_Slot iter_slots[] = {
    {Py_tp_iter, reinterpret_cast<void*>(PyObject_SelfIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(iter_next)},
    {Py_tp_traverse, reinterpret_cast<void*>(iter_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(iter_clear)},
    {Py_tp_dealloc, reinterpret_cast<void*>(iter_dealloc)},
    {Py_tp_doc, const_cast<char*>("An iterator over a ConcurrentDict or ConcurrentSet, taking a "
                                  "snapshot of one shard at a time.")},
    {0, nullptr},
};

PyType_Spec iter_spec = {
    "interlock.collections.ConcurrentIterator",
    static_cast<int>(sizeof(IterObject)),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    iter_slots,
};

// ------------------------------------------------------------------ dict slots
PyObject* dict_subscript(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return nullptr;
  PyObject* v;
  MapStatus st = map_of<DictMap>(self).find(key, h, &v);
  if (INTERLOCK_LIKELY(st == MapStatus::found)) return v;
  if (st == MapStatus::absent) set_key_error(key);
  return status_error(st);
}

int dict_ass_subscript(PyObject* self, PyObject* key, PyObject* value) {
  std::size_t h;
  if (!hash_of(key, &h)) return -1;
  DictMap& m = map_of<DictMap>(self);
  if (value) {
    MapStatus st = m.assign(key, h, value);
    if (INTERLOCK_LIKELY(st == MapStatus::found || st == MapStatus::inserted)) return 0;
    status_error(st);
    return -1;
  }
  MapStatus st = m.erase(key, h);
  if (st == MapStatus::found) return 0;
  if (st == MapStatus::absent) set_key_error(key);
  status_error(st);
  return -1;
}

PyObject* dict_iter(PyObject* self) { return make_iter(self, IterKind::keys, false); }

// ------------------------------------------------------------------ dict methods
PyObject* dict_get(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    PyErr_Format(PyExc_TypeError, "get expected 1 or 2 arguments, got %zd", nargs);
    return nullptr;
  }
  std::size_t h;
  if (!hash_of(args[0], &h)) return nullptr;
  PyObject* v;
  MapStatus st = map_of<DictMap>(self).find(args[0], h, &v);
  if (st == MapStatus::found) return v;
  if (st == MapStatus::absent) return Py_NewRef(nargs == 2 ? args[1] : Py_None);
  return status_error(st);
}

PyObject* dict_pop(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    PyErr_Format(PyExc_TypeError, "pop expected 1 or 2 arguments, got %zd", nargs);
    return nullptr;
  }
  std::size_t h;
  if (!hash_of(args[0], &h)) return nullptr;
  PyObject* k;
  PyObject* v;
  MapStatus st = map_of<DictMap>(self).erase(args[0], h, &k, &v);
  if (st == MapStatus::found) {
    Py_DECREF(k);
    return v;
  }
  if (st == MapStatus::absent) {
    if (nargs == 2) return Py_NewRef(args[1]);
    set_key_error(args[0]);
  }
  return status_error(st);
}

PyObject* dict_popitem(PyObject* self, PyObject*) {
  PyObject* k;
  PyObject* v;
  if (!map_of<DictMap>(self).pop_any(&k, &v)) {
    PyErr_SetString(PyExc_KeyError, "popitem(): dictionary is empty");
    return nullptr;
  }
  PyObject* t = PyTuple_New(2);
  if (!t) {
    Py_DECREF(k);
    Py_DECREF(v);
    return nullptr;
  }
  PyTuple_SET_ITEM(t, 0, k);
  PyTuple_SET_ITEM(t, 1, v);
  return t;
}

PyObject* dict_setdefault(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    PyErr_Format(PyExc_TypeError, "setdefault expected 1 or 2 arguments, got %zd", nargs);
    return nullptr;
  }
  std::size_t h;
  if (!hash_of(args[0], &h)) return nullptr;
  PyObject* dflt = nargs == 2 ? args[1] : Py_None;
  PyObject* cur;
  MapStatus st = map_of<DictMap>(self).insert_absent(args[0], h, dflt, &cur);
  if (st == MapStatus::found) return cur;
  if (st == MapStatus::inserted) return Py_NewRef(dflt);
  return status_error(st);
}

/// update_item(key, fn, default=<absent>, /): atomically replace d[key] by
/// fn(d[key]) (fn(default) when key is absent and default is given; else
/// KeyError). fn runs unlocked; if another thread changed the value meanwhile,
/// fn runs again on the new value (compare-and-set on the value's identity).
PyObject* dict_update_item(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 2 || nargs > 3) {
    PyErr_Format(PyExc_TypeError, "update_item expected 2 or 3 arguments, got %zd", nargs);
    return nullptr;
  }
  PyObject* key = args[0];
  PyObject* fn = args[1];
  PyObject* dflt = nargs == 3 ? args[2] : nullptr;
  std::size_t h;
  if (!hash_of(key, &h)) return nullptr;
  DictMap& m = map_of<DictMap>(self);
  PyObject* cur = nullptr;  // owned; null while the key is absent
  MapStatus st = m.find(key, h, &cur);
  if (st == MapStatus::error || st == MapStatus::no_memory) return status_error(st);
  if (st == MapStatus::absent) cur = nullptr;
  for (;;) {
    if (!cur && !dflt) {
      set_key_error(key);
      return nullptr;
    }
    PyObject* desired = PyObject_CallOneArg(fn, cur ? cur : dflt);
    if (!desired) {
      Py_XDECREF(cur);
      return nullptr;
    }
    PyObject* seen = nullptr;
    st = m.compare_and_set(key, h, cur == nullptr, cur, desired, &seen);
    Py_XDECREF(cur);
    if (st == MapStatus::found || st == MapStatus::inserted) return desired;
    Py_DECREF(desired);
    if (st == MapStatus::mismatch) {
      cur = seen;
    } else if (st == MapStatus::absent) {
      cur = nullptr;
    } else {
      return status_error(st);
    }
  }
}

/// A snapshot-based plain dict of the contents.
PyObject* dict_as_dict(PyObject* self, PyObject*) {
  DictMap& m = map_of<DictMap>(self);
  PyObject* out = PyDict_New();
  if (!out) return nullptr;
  std::vector<PyObject*> ks, vs;
  for (std::size_t s = 0; s < m.shard_count(); ++s) {
    ks.clear();
    vs.clear();
    if (!m.snapshot(s, &ks, &vs)) {
      Py_DECREF(out);
      return PyErr_NoMemory();
    }
    bool failed = false;
    for (std::size_t i = 0; i < ks.size(); ++i) {
      if (!failed && PyDict_SetItem(out, ks[i], vs[i]) < 0) failed = true;
      Py_DECREF(ks[i]);
      Py_DECREF(vs[i]);
    }
    if (failed) {
      Py_DECREF(out);
      return nullptr;
    }
  }
  return out;
}

/// A new map of the same type and scaling with a snapshot of the entries
/// (hashes reused: no key's __hash__ runs again).
template <class Map>
PyObject* map_copy(PyObject* self, PyObject*) {
  Map& m = map_of<Map>(self);
  PyObject* out = alloc_map<Map>(Py_TYPE(self), m.shard_count());
  if (!out) return nullptr;
  Map& dst = map_of<Map>(out);
  std::vector<PyObject*> ks;
  std::vector<typename Map::V> vs;
  for (std::size_t s = 0; s < m.shard_count(); ++s) {
    ks.clear();
    vs.clear();
    constexpr bool kSet = std::is_empty_v<typename Map::V>;
    if (!m.snapshot(s, &ks, kSet ? nullptr : &vs)) {
      Py_DECREF(out);
      return PyErr_NoMemory();
    }
    bool failed = false;
    for (std::size_t i = 0; i < ks.size(); ++i) {
      if (!failed) {
        std::size_t h;
        if (!hash_of(ks[i], &h)) {  // cached for str; cheap for the usual keys
          failed = true;
        } else {
          MapStatus st;
          if constexpr (kSet)
            st = dst.insert_absent(ks[i], h, NoValue{}, nullptr);
          else
            st = dst.assign(ks[i], h, vs[i]);
          if (st == MapStatus::error || st == MapStatus::no_memory) {
            status_error(st);
            failed = true;
          }
        }
      }
      Py_DECREF(ks[i]);
      if constexpr (!kSet) Py_DECREF(vs[i]);
    }
    if (failed) {
      Py_DECREF(out);
      return nullptr;
    }
  }
  return out;
}

PyObject* dict_iter_keys(PyObject* self, PyObject*) { return make_iter(self, IterKind::keys, false); }
PyObject* dict_iter_values(PyObject* self, PyObject*) {
  return make_iter(self, IterKind::values, false);
}
PyObject* dict_iter_items(PyObject* self, PyObject*) {
  return make_iter(self, IterKind::items, false);
}

#define IL_FAST(f) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f))

PyMethodDef dict_methods[] = {
    {"get", IL_FAST(dict_get), METH_FASTCALL,
     "get($self, key, default=None, /)\n--\n\nd[key] if key is present, else default."},
    {"pop", IL_FAST(dict_pop), METH_FASTCALL,
     "pop($self, key, default=<unrepresentable>, /)\n--\n\n"
     "Remove key and return its value; default (or KeyError) if absent. Atomic."},
    {"popitem", dict_popitem, METH_NOARGS,
     "popitem($self, /)\n--\n\nRemove and return some (key, value) pair; KeyError if empty."},
    {"setdefault", IL_FAST(dict_setdefault), METH_FASTCALL,
     "setdefault($self, key, default=None, /)\n--\n\n"
     "d[key] if present, else insert default and return it. Atomic."},
    {"update_item", IL_FAST(dict_update_item), METH_FASTCALL,
     "update_item($self, key, fn, default=<unrepresentable>, /)\n--\n\n"
     "Atomically set d[key] = fn(d[key]) (fn(default) if key is absent and default\n"
     "is given, else KeyError) and return the new value. fn runs without any lock\n"
     "held and is called again if another thread changed d[key] meanwhile."},
    {"clear", map_clear<DictMap>, METH_NOARGS, "clear($self, /)\n--\n\nRemove every item."},
    {"copy", map_copy<DictMap>, METH_NOARGS,
     "copy($self, /)\n--\n\nA shallow copy (same type and scaling)."},
    {"as_dict", dict_as_dict, METH_NOARGS,
     "as_dict($self, /)\n--\n\nA plain dict of the items (a shard-by-shard snapshot)."},
    {"_iter_keys", dict_iter_keys, METH_NOARGS, nullptr},
    {"_iter_values", dict_iter_values, METH_NOARGS, nullptr},
    {"_iter_items", dict_iter_items, METH_NOARGS, nullptr},
    {"__sizeof__", map_sizeof<DictMap>, METH_NOARGS,
     "__sizeof__($self, /)\n--\n\nBytes used by the object and its tables."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef dict_getset[] = {
    {"scaling", map_scaling<DictMap>, nullptr, "The number of shards.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMemberDef map_members[] = {
    {"__weaklistoffset__", T_PYSSIZET,
     static_cast<Py_ssize_t>(offsetof(DictObject, weakreflist)), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot dict_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(map_new<DictMap>)},
    {Py_tp_dealloc, reinterpret_cast<void*>(map_dealloc<DictMap>)},
    {Py_tp_traverse, reinterpret_cast<void*>(map_traverse<DictMap>)},
    {Py_tp_clear, reinterpret_cast<void*>(map_clear_slot<DictMap>)},
    {Py_mp_length, reinterpret_cast<void*>(map_length<DictMap>)},
    {Py_mp_subscript, reinterpret_cast<void*>(dict_subscript)},
    {Py_mp_ass_subscript, reinterpret_cast<void*>(dict_ass_subscript)},
    {Py_sq_contains, reinterpret_cast<void*>(map_contains<DictMap>)},
    {Py_tp_iter, reinterpret_cast<void*>(dict_iter)},
    {Py_tp_methods, dict_methods},
    {Py_tp_getset, dict_getset},
    {Py_tp_members, map_members},
    {Py_tp_doc, const_cast<char*>("The native base of interlock.collections.ConcurrentDict.")},
    {0, nullptr},
};

PyType_Spec dict_spec = {
    "interlock.collections.ConcurrentDictBase",
    static_cast<int>(sizeof(DictObject)),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    dict_slots,
};

// ------------------------------------------------------------------ set
PyObject* set_add(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return nullptr;
  MapStatus st = map_of<SetMap>(self).insert_absent(key, h, NoValue{}, nullptr);
  if (st == MapStatus::found || st == MapStatus::inserted) Py_RETURN_NONE;
  return status_error(st);
}

/// discard/remove: 1 removed, 0 absent, -1 error.
int set_erase(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return -1;
  MapStatus st = map_of<SetMap>(self).erase(key, h);
  if (st == MapStatus::found) return 1;
  if (st == MapStatus::absent) return 0;
  status_error(st);
  return -1;
}

PyObject* set_discard(PyObject* self, PyObject* key) {
  if (set_erase(self, key) < 0) return nullptr;
  Py_RETURN_NONE;
}

PyObject* set_remove(PyObject* self, PyObject* key) {
  int r = set_erase(self, key);
  if (r < 0) return nullptr;
  if (r == 0) {
    set_key_error(key);
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* set_pop(PyObject* self, PyObject*) {
  PyObject* k;
  NoValue v;
  if (!map_of<SetMap>(self).pop_any(&k, &v)) {
    PyErr_SetString(PyExc_KeyError, "pop from an empty set");
    return nullptr;
  }
  return k;
}

PyObject* set_iter(PyObject* self) { return make_iter(self, IterKind::keys, true); }

PyMethodDef set_methods[] = {
    {"add", set_add, METH_O, "add($self, value, /)\n--\n\nAdd value (no effect if present)."},
    {"discard", set_discard, METH_O,
     "discard($self, value, /)\n--\n\nRemove value if present."},
    {"remove", set_remove, METH_O,
     "remove($self, value, /)\n--\n\nRemove value; KeyError if absent."},
    {"pop", set_pop, METH_NOARGS,
     "pop($self, /)\n--\n\nRemove and return some element; KeyError if empty."},
    {"clear", map_clear<SetMap>, METH_NOARGS, "clear($self, /)\n--\n\nRemove every element."},
    {"copy", map_copy<SetMap>, METH_NOARGS,
     "copy($self, /)\n--\n\nA shallow copy (same type and scaling)."},
    {"__sizeof__", map_sizeof<SetMap>, METH_NOARGS,
     "__sizeof__($self, /)\n--\n\nBytes used by the object and its tables."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef set_getset[] = {
    {"scaling", map_scaling<SetMap>, nullptr, "The number of shards.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMemberDef set_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, static_cast<Py_ssize_t>(offsetof(SetObject, weakreflist)),
     READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot set_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(map_new<SetMap>)},
    {Py_tp_dealloc, reinterpret_cast<void*>(map_dealloc<SetMap>)},
    {Py_tp_traverse, reinterpret_cast<void*>(map_traverse<SetMap>)},
    {Py_tp_clear, reinterpret_cast<void*>(map_clear_slot<SetMap>)},
    {Py_sq_length, reinterpret_cast<void*>(map_length<SetMap>)},
    {Py_sq_contains, reinterpret_cast<void*>(map_contains<SetMap>)},
    {Py_tp_iter, reinterpret_cast<void*>(set_iter)},
    {Py_tp_methods, set_methods},
    {Py_tp_getset, set_getset},
    {Py_tp_members, set_members},
    {Py_tp_doc, const_cast<char*>("The native base of interlock.collections.ConcurrentSet.")},
    {0, nullptr},
};

PyType_Spec set_spec = {
    "interlock.collections.ConcurrentSetBase",
    static_cast<int>(sizeof(SetObject)),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    set_slots,
};

}  // namespace

void init_concurrent_dict(nb::module_& m) {
  PyObject* it = PyType_FromSpec(&iter_spec);
  if (!it) throw nb::python_error();
  g_iter_type = reinterpret_cast<PyTypeObject*>(it);
  m.attr("ConcurrentIterator") = nb::steal(it);
  PyObject* d = PyType_FromSpec(&dict_spec);
  if (!d) throw nb::python_error();
  m.attr("ConcurrentDictBase") = nb::steal(d);
  PyObject* s = PyType_FromSpec(&set_spec);
  if (!s) throw nb::python_error();
  m.attr("ConcurrentSetBase") = nb::steal(s);
}

}  // namespace interlock::py
