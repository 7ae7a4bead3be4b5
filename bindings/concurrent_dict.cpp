// bindings/concurrent_dict.cpp — ConcurrentDictBase / ConcurrentSetBase, the
// native bases of interlock.collections' ConcurrentDict / ConcurrentSet:
// interlock::ShardedMap over PyObject* (policies below: a reference is an
// incref; PyKeys::match compares keys without calling Python). The rules
// (hashes before the core runs; __eq__, update_item's fn and every decref with
// no lock held) are docs/design.md, "ConcurrentDict and ConcurrentSet".
#include <cstring>
#include <new>
#include <type_traits>

#include "interlock/sharded_map.hpp"
#include "fast_methods.hpp"  // fixed_string
#include "module.hpp"
#include "raw_type.hpp"

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
    auto same = [](bool sized, const void* a, const void* b, Py_ssize_t n) {
      return sized && std::memcmp(a, b, static_cast<std::size_t>(n)) == 0 ? KeyMatch::equal
                                                                          : KeyMatch::unequal;
    };
    if (t == &PyUnicode_Type) {
      Py_ssize_t n = PyUnicode_GET_LENGTH(stored), kind = PyUnicode_KIND(stored);
      return same(n == PyUnicode_GET_LENGTH(probe) && kind == PyUnicode_KIND(probe),
                  PyUnicode_DATA(stored), PyUnicode_DATA(probe), n * kind);
    }
    if (t == &PyBytes_Type) {
      Py_ssize_t n = PyBytes_GET_SIZE(stored);
      return same(n == PyBytes_GET_SIZE(probe), PyBytes_AS_STRING(stored),
                  PyBytes_AS_STRING(probe), n);
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

/// Reports a failed status: KeyError(key) if absent and a key is given, else
/// MemoryError or the comparison's error (already set). Null, or -1 (fail).
PyObject* status_error(MapStatus st, PyObject* key = nullptr) noexcept {
  if (st == MapStatus::no_memory) return PyErr_NoMemory();
  if (st != MapStatus::absent || !key) return nullptr;
  if (PyObject* t = PyTuple_Pack(1, key)) {  // a tuple key must not be unpacked as args
    PyErr_SetObject(PyExc_KeyError, t);
    Py_DECREF(t);
  }
  return nullptr;
}
int fail(MapStatus st, PyObject* key = nullptr) noexcept { return status_error(st, key), -1; }
bool stored(MapStatus st) noexcept { return st == MapStatus::found || st == MapStatus::inserted; }

/// (k, v), stealing both references (released on failure).
PyObject* pair(PyObject* k, PyObject* v) noexcept {
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

// ------------------------------------------------------------------ lifetime
template <class Map>
PyObject* alloc_map(PyTypeObject* type, std::size_t shards) noexcept {
  PyObject* self = IL_TP_ALLOC(type)(type, 0);
  if (!self) return nullptr;
  try {  // (weakreflist: zeroed by the allocation)
    new (&reinterpret_cast<MapObject<Map>*>(self)->map) Map(shards);
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
  PyObject* scaling = kwds ? PyDict_GetItemString(kwds, "scaling") : nullptr;  // borrowed
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
Py_ssize_t map_length(PyObject* self) {
  return static_cast<Py_ssize_t>(map_of<Map>(self).size());
}

template <class Map>
int map_contains(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return -1;
  MapStatus st = map_of<Map>(self).contains(key, h);
  return st == MapStatus::found ? 1 : st == MapStatus::absent ? 0 : fail(st);
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
// The core's SnapshotIterator (one shard's snapshot at a time), shared by
// whichever threads call __next__; `owner` keeps the map alive. One type per
// map, both named ConcurrentIterator (a set's yields keys only).
enum class IterKind : std::uint8_t { keys, values, items };

template <class Map>
struct IterObject {
  PyObject_HEAD
  PyObject* owner;  // the map object (strong)
  IterKind kind;
  typename Map::SnapshotIterator it;
  ~IterObject() {
    it.close();  // releases what it still holds
    Py_CLEAR(owner);
  }
};

template <class Map>
PyTypeObject* g_iter_type = nullptr;  // set once at module init

template <class Map, IterKind kind = IterKind::keys>
PyObject* make_iter(PyObject* owner) noexcept {
  auto* it = PyObject_GC_New(IterObject<Map>, g_iter_type<Map>);
  if (!it) return nullptr;
  it->owner = Py_NewRef(owner);
  it->kind = kind;
  new (&it->it) typename Map::SnapshotIterator(kind != IterKind::values, kind != IterKind::keys);
  PyObject_GC_Track(it);
  return reinterpret_cast<PyObject*>(it);
}

template <class Map>
PyObject* iter_next(PyObject* self) {
  auto* it = reinterpret_cast<IterObject<Map>*>(self);
  PyObject* k = nullptr;
  typename Map::V v{};
  auto step = it->it.next(map_of<Map>(it->owner), &k, &v);
  if (step == SnapshotStep::no_memory) return PyErr_NoMemory();
  if (step == SnapshotStep::end) return nullptr;  // StopIteration
  if constexpr (std::is_empty_v<typename Map::V>) return k;
  else return it->kind == IterKind::keys ? k : it->kind == IterKind::values ? v : pair(k, v);
}

template <class Map>
int iter_traverse(PyObject* self, visitproc visit, void* arg) {
  auto* it = reinterpret_cast<IterObject<Map>*>(self);
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(it->owner);
  auto v = [&](auto o) -> int {
    if constexpr (std::is_same_v<decltype(o), PyObject*>) Py_VISIT(o);
    return 0;
  };
  return it->it.for_each_held(v, v);
}

template <class Map>
int iter_clear(PyObject* self) {
  reinterpret_cast<IterObject<Map>*>(self)->it.close();
  return 0;
}

template <class Map>
PyType_Slot iter_slots[] = {
    {Py_tp_iter, reinterpret_cast<void*>(PyObject_SelfIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(iter_next<Map>)},
    {Py_tp_traverse, reinterpret_cast<void*>(iter_traverse<Map>)},
    {Py_tp_clear, reinterpret_cast<void*>(iter_clear<Map>)},
    {Py_tp_dealloc, reinterpret_cast<void*>(raw::dealloc<IterObject<Map>>)},
    {Py_tp_doc, const_cast<char*>("An iterator over a ConcurrentDict or ConcurrentSet, taking a "
                                  "snapshot of one shard at a time.")},
    {0, nullptr},
};

// ------------------------------------------------------------------ dict slots
PyObject* dict_subscript(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return nullptr;
  PyObject* v;
  MapStatus st = map_of<DictMap>(self).find(key, h, &v);
  if (INTERLOCK_LIKELY(st == MapStatus::found)) return v;
  return status_error(st, key);
}

int dict_ass_subscript(PyObject* self, PyObject* key, PyObject* value) {
  std::size_t h;
  if (!hash_of(key, &h)) return -1;
  DictMap& m = map_of<DictMap>(self);
  if (value) {
    MapStatus st = m.assign(key, h, value);
    return INTERLOCK_LIKELY(stored(st)) ? 0 : fail(st);
  }
  MapStatus st = m.erase(key, h);
  return st == MapStatus::found ? 0 : fail(st, key);
}

template <IterKind Kind>
PyObject* iter_method(PyObject* self, PyObject*) {
  return make_iter<DictMap, Kind>(self);
}

// ------------------------------------------------------------------ dict methods
/// The arguments of a keyed method: the key (args[0]), its hash, the rest.
struct Key {
  PyObject* const* args;
  Py_ssize_t nargs;
  std::size_t h;
  PyObject* k() const noexcept { return args[0]; }
};

/// A METH_FASTCALL method F(map, key) taking a key and Lo..Hi positional arguments.
template <PyObject* (*F)(DictMap&, Key), Py_ssize_t Lo, Py_ssize_t Hi, fixed_string Name>
PyObject* keyed(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < Lo || nargs > Hi)
    return PyErr_Format(PyExc_TypeError, "%s expected %zd or %zd arguments, got %zd", Name.chars,
                        Lo, Hi, nargs);
  Key key{args, nargs, 0};
  return hash_of(args[0], &key.h) ? F(map_of<DictMap>(self), key) : nullptr;
}

PyObject* dict_get(DictMap& m, Key a) {
  PyObject* v;
  MapStatus st = m.find(a.k(), a.h, &v);
  if (st == MapStatus::found) return v;
  if (st == MapStatus::absent) return Py_NewRef(a.nargs == 2 ? a.args[1] : Py_None);
  return status_error(st);
}

PyObject* dict_pop(DictMap& m, Key a) {
  PyObject* k;
  PyObject* v;
  MapStatus st = m.erase(a.k(), a.h, &k, &v);
  if (st == MapStatus::found) {
    Py_DECREF(k);
    return v;
  }
  if (st == MapStatus::absent && a.nargs == 2) return Py_NewRef(a.args[1]);
  return status_error(st, a.k());
}

PyObject* dict_setdefault(DictMap& m, Key a) {
  PyObject* dflt = a.nargs == 2 ? a.args[1] : Py_None;
  PyObject* cur;
  MapStatus st = m.insert_absent(a.k(), a.h, dflt, &cur);
  if (st == MapStatus::found) return cur;
  if (st == MapStatus::inserted) return Py_NewRef(dflt);
  return status_error(st);
}

/// d[key] = fn(d[key]) by the core's compare-and-set loop (ShardedMap::update).
PyObject* dict_update_item(DictMap& m, Key a) {
  PyObject* out = nullptr;
  auto call = [fn = a.args[1]](PyObject* cur, PyObject** next) {
    return (*next = PyObject_CallOneArg(fn, cur)) != nullptr;
  };
  MapStatus st = m.update(a.k(), a.h, a.nargs == 3 ? &a.args[2] : nullptr, call, &out);
  return stored(st) ? out : status_error(st, a.k());
}

/// popitem() / a set's pop(): some entry, removed; KeyError if empty.
template <class Map, fixed_string Empty>
PyObject* map_pop_any(PyObject* self, PyObject*) {
  PyObject* k;
  typename Map::V v;
  if (!map_of<Map>(self).pop_any(&k, &v)) {
    PyErr_SetString(PyExc_KeyError, Empty.chars);
    return nullptr;
  }
  if constexpr (std::is_empty_v<typename Map::V>) return k;
  else return pair(k, v);
}

/// A new map of the same type and scaling with a snapshot of the entries
/// (ShardedMap::assign_all: hashes reused, no key's __hash__ runs again).
template <class Map>
PyObject* map_copy(PyObject* self, PyObject*) {
  PyObject* out = alloc_map<Map>(Py_TYPE(self), map_of<Map>(self).shard_count());
  if (!out) return nullptr;
  MapStatus st = map_of<Map>(out).assign_all(map_of<Map>(self));
  if (st == MapStatus::inserted) return out;
  Py_DECREF(out);
  return status_error(st);
}

#define IL_FAST(f) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f))
// The methods both types have, and the end of the table.
#define IL_MAP_METHODS(Map, what)                                                            \
  {"clear", map_clear<Map>, METH_NOARGS, "clear($self, /)\n--\n\nRemove every " what "."},    \
      {"copy", map_copy<Map>, METH_NOARGS,                                                   \
       "copy($self, /)\n--\n\nA shallow copy (same type and scaling)."},                      \
      {"__sizeof__", map_sizeof<Map>, METH_NOARGS,                                           \
       "__sizeof__($self, /)\n--\n\nBytes used by the object and its tables."},               \
      {nullptr, nullptr, 0, nullptr}

PyMethodDef dict_methods[] = {
    {"get", IL_FAST((keyed<dict_get, 1, 2, "get">)), METH_FASTCALL,
     "get($self, key, default=None, /)\n--\n\nd[key] if key is present, else default."},
    {"pop", IL_FAST((keyed<dict_pop, 1, 2, "pop">)), METH_FASTCALL,
     "pop($self, key, default=<unrepresentable>, /)\n--\n\n"
     "Remove key and return its value; default (or KeyError) if absent. Atomic."},
    {"popitem", map_pop_any<DictMap, "popitem(): dictionary is empty">, METH_NOARGS,
     "popitem($self, /)\n--\n\nRemove and return some (key, value) pair; KeyError if empty."},
    {"setdefault", IL_FAST((keyed<dict_setdefault, 1, 2, "setdefault">)),
     METH_FASTCALL,
     "setdefault($self, key, default=None, /)\n--\n\n"
     "d[key] if present, else insert default and return it. Atomic."},
    {"update_item", IL_FAST((keyed<dict_update_item, 2, 3, "update_item">)),
     METH_FASTCALL,
     "update_item($self, key, fn, default=<unrepresentable>, /)\n--\n\n"
     "Atomically set d[key] = fn(d[key]) (fn(default) if key is absent and default\n"
     "is given, else KeyError) and return the new value. fn runs without any lock\n"
     "held and is called again if another thread changed d[key] meanwhile."},
    {"_iter_values", iter_method<IterKind::values>, METH_NOARGS, "_iter_values($self, /)\n--\n\n"},
    {"_iter_items", iter_method<IterKind::items>, METH_NOARGS, "_iter_items($self, /)\n--\n\n"},
    IL_MAP_METHODS(DictMap, "item"),
};

// What both types' slot tables share (with their methods, docstring and end).
template <class Map>
PyGetSetDef map_getset[] = {
    {"scaling", map_scaling<Map>, nullptr, "The number of shards.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
#define IL_MAP_SLOTS(Map, methods, Name)                                                           \
  IL_SLOT(Py_tp_new, map_new<Map>), IL_SLOT(Py_tp_dealloc, raw::dealloc<MapObject<Map>>),          \
      IL_SLOT(Py_tp_traverse, map_traverse<Map>), IL_SLOT(Py_tp_clear, map_clear_slot<Map>),       \
      IL_SLOT(Py_sq_contains, map_contains<Map>), IL_SLOT(Py_tp_iter, (make_iter<Map>)),           \
      {Py_tp_getset, map_getset<Map>}, {Py_tp_members, raw::weaklist_members<MapObject<Map>>},     \
      {Py_tp_methods, methods},                                                                    \
      {Py_tp_doc, const_cast<char*>("The native base of interlock.collections." Name ".")}, {0, nullptr}

PyType_Slot dict_slots[] = {
    IL_SLOT(Py_mp_length, map_length<DictMap>),
    IL_SLOT(Py_mp_subscript, dict_subscript),
    IL_SLOT(Py_mp_ass_subscript, dict_ass_subscript),
    IL_MAP_SLOTS(DictMap, dict_methods, "ConcurrentDict"),
};

// ------------------------------------------------------------------ set
PyObject* set_add(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return nullptr;
  MapStatus st = map_of<SetMap>(self).insert_absent(key, h, NoValue{}, nullptr);
  if (stored(st)) Py_RETURN_NONE;
  return status_error(st);
}

/// discard (Strict: remove, KeyError if absent).
template <bool Strict>
PyObject* set_erase(PyObject* self, PyObject* key) {
  std::size_t h;
  if (!hash_of(key, &h)) return nullptr;
  MapStatus st = map_of<SetMap>(self).erase(key, h);
  if (st == MapStatus::found || (!Strict && st == MapStatus::absent)) Py_RETURN_NONE;
  return status_error(st, key);
}

PyMethodDef set_methods[] = {
    {"add", set_add, METH_O, "add($self, value, /)\n--\n\nAdd value (no effect if present)."},
    {"discard", set_erase<false>, METH_O,
     "discard($self, value, /)\n--\n\nRemove value if present."},
    {"remove", set_erase<true>, METH_O,
     "remove($self, value, /)\n--\n\nRemove value; KeyError if absent."},
    {"pop", map_pop_any<SetMap, "pop from an empty set">, METH_NOARGS,
     "pop($self, /)\n--\n\nRemove and return some element; KeyError if empty."},
    IL_MAP_METHODS(SetMap, "element"),
};

PyType_Slot set_slots[] = {
    IL_SLOT(Py_sq_length, map_length<SetMap>),
    IL_MAP_SLOTS(SetMap, set_methods, "ConcurrentSet"),
};
#undef IL_MAP_SLOTS
#undef IL_MAP_METHODS

}  // namespace

std::size_t parse_scaling(PyObject* scaling) noexcept {
  if (!scaling || scaling == Py_None) return DictMap::kDefaultShards;
  Py_ssize_t n = PyNumber_AsSsize_t(scaling, PyExc_OverflowError);
  if (n == -1 && PyErr_Occurred()) return 0;
  if (n < 1) {
    PyErr_SetString(PyExc_ValueError, "scaling must be a positive integer");
    return 0;
  }
  return static_cast<std::size_t>(n) > DictMap::kMaxShards ? DictMap::kMaxShards
                                                            : static_cast<std::size_t>(n);
}

void init_concurrent_dict(nb::module_& m) {
  constexpr const char* iter = "interlock.collections.ConcurrentIterator";  // a set's: not bound
  g_iter_type<DictMap> = raw::add_type<IterObject<DictMap>>(m, iter, iter_slots<DictMap>);
  g_iter_type<SetMap> = raw::add_type<IterObject<SetMap>>(m, iter, iter_slots<SetMap>, 0, false);
  raw::add_type<MapObject<DictMap>>(m, "interlock.collections.ConcurrentDictBase", dict_slots,
                                    Py_TPFLAGS_BASETYPE);
  raw::add_type<MapObject<SetMap>>(m, "interlock.collections.ConcurrentSetBase", set_slots,
                                   Py_TPFLAGS_BASETYPE);
}

}  // namespace interlock::py
