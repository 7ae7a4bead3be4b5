// bindings/atomic_core.hpp — the cells behind interlock.atomic and its
// compatibility façades (syncx, ft_utils), and the pieces their bindings
// share: wrapping integer arithmetic, read-modify-write loops, argument
// conversions, result tuples, slot helpers.
//
// One cell type per kind of value (IntCell, BoolCell, FloatCell, RefCell).
// Every Python type is a distinct C++ struct deriving from a cell (nanobind
// registers one Python type per C++ type), and its methods are the shared
// templates below instantiated for that struct, so interlock.atomic.AtomicInt
// and the syncx façade's AtomicInt run the same code with different names
// and return conventions.
//
// Threading: the integer, bool and float cells are one std::atomic each and
// every operation is a single atomic instruction or a compare-exchange loop
// (sequentially consistent). RefCell guards its PyObject* with a one-byte
// interlock::Mutex; only pointer moves and Py_INCREF happen under it (neither
// can run Python code), and a displaced object is released after unlocking.
// Nothing relies on the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "fast_methods.hpp"
#include "module.hpp"
#include "interlock/atomic_cell.hpp"
#include "interlock/mutex.hpp"

namespace interlock::py::atomics {

namespace nb = nanobind;

// ============================================================ layout

/// Alignment (and so minimum size) of a cell. On free-threaded builds two
/// threads really do run at once, and two atomics allocated one after the
/// other would otherwise share a cache line (with each other and with their
/// neighbours' object headers): each cell gets a line of its own there. With
/// a GIL only one thread runs Python at a time, so memory wins.
#if defined(Py_GIL_DISABLED)
inline constexpr std::size_t kCellAlign = 64;
#else
inline constexpr std::size_t kCellAlign = alignof(std::int64_t);
#endif

// The value rules (wrapping int64 arithmetic, Python's floor division and
// modulo, shifts, IEEE 754-2019 maximumNumber / minimumNumber) and the cells
// live in the core: interlock/atomic_cell.hpp.
using interlock::atomic_cell::floor_div;
using interlock::atomic_cell::floor_mod;
using interlock::atomic_cell::kI64Min;
using interlock::atomic_cell::max_number;
using interlock::atomic_cell::min_number;
using interlock::atomic_cell::shift_left;
using interlock::atomic_cell::shift_right;
using interlock::atomic_cell::wrap_add;
using interlock::atomic_cell::wrap_mul;
using interlock::atomic_cell::wrap_neg;
using interlock::atomic_cell::wrap_sub;

// ============================================================ cells

/// The core's cells (interlock/atomic_cell.hpp), aligned as above.
struct alignas(kCellAlign) IntCell : interlock::atomic_cell::IntCell {
  explicit IntCell(std::int64_t x = 0) noexcept : interlock::atomic_cell::IntCell(x) {}
};
struct alignas(kCellAlign) BoolCell : interlock::atomic_cell::BoolCell {
  explicit BoolCell(bool x = false) noexcept : interlock::atomic_cell::BoolCell(x) {}
};
struct alignas(kCellAlign) FloatCell : interlock::atomic_cell::FloatCell {
  explicit FloatCell(double x = 0.0) noexcept : interlock::atomic_cell::FloatCell(x) {}
};

/// A strong reference to a Python object that any number of threads may read
/// and replace at once. The slot is guarded by a one-byte mutex held only for
/// pointer moves and Py_INCREF (which cannot run Python code, so no Python
/// code ever runs under it and it can never be held across a GC stop or a
/// detach); a displaced object is released after unlocking, since its
/// destructor may run arbitrary Python code. So a reader that races an
/// exchange gets either the old object, kept alive by its new reference, or
/// the new one, never a freed one. The slot is never null once constructed.
struct RefCell {
  mutable interlock::Mutex mu;
  PyObject* obj;

  explicit RefCell(PyObject* o) noexcept : obj(Py_NewRef(o)) {}
  ~RefCell() {
    PyObject* o = obj;
    obj = nullptr;
    Py_XDECREF(o);
  }
  RefCell(const RefCell&) = delete;
  RefCell& operator=(const RefCell&) = delete;

  /// A new reference to the current object.
  IL_PY_INLINE PyObject* load() const noexcept {
    mu.lock();
    PyObject* o = Py_NewRef(obj);
    mu.unlock();
    return o;
  }

  /// Installs `o` (borrowed); returns the displaced object (a new reference).
  IL_PY_INLINE PyObject* exchange(PyObject* o) noexcept {
    Py_INCREF(o);
    mu.lock();
    PyObject* old = obj;
    obj = o;
    mu.unlock();
    return old;
  }

  IL_PY_INLINE void store(PyObject* o) noexcept { Py_DECREF(exchange(o)); }

  /// If the slot holds `expected` (identity), installs `desired`. Returns the
  /// prior object on success, the current one on failure (a new reference
  /// either way) and sets `ok`.
  IL_PY_INLINE PyObject* compare_exchange(PyObject* expected, PyObject* desired,
                                          bool& ok) noexcept {
    mu.lock();
    PyObject* cur = obj;
    if (cur == expected) {
      Py_INCREF(desired);
      obj = desired;
      mu.unlock();
      ok = true;
      return cur;  // the slot's reference moves to the caller
    }
    Py_INCREF(cur);
    mu.unlock();
    ok = false;
    return cur;
  }

  /// tp_traverse: visits the object under the lock (so that a concurrent
  /// gc.get_referents() never sees a freed object; during a collection nobody
  /// else can be inside the lock). Visit functions run no Python code.
  int traverse(visitproc visit, void* arg) const noexcept {
    mu.lock();
    PyObject* o = obj;
    const int r = o ? visit(o, arg) : 0;
    mu.unlock();
    return r;
  }

  /// tp_clear: drops the reference (replaced by None) to break a cycle.
  void clear() noexcept { Py_DECREF(exchange(Py_None)); }
};

// ============================================================ errors

[[noreturn]] IL_PY_COLD inline void raise(PyObject* type, const char* msg) {
  PyErr_SetString(type, msg);
  throw nb::python_error();
}

IL_PY_COLD inline PyObject* set_error(PyObject* type, const char* msg) noexcept {
  PyErr_SetString(type, msg);
  return nullptr;
}

// ============================================================ conversions

/// An int64 from any object with __index__ (OverflowError past 64 bits,
/// TypeError otherwise); `what` names the call in messages.
IL_PY_INLINE std::int64_t to_i64(PyObject* o, const char* what) {
  return detail::load<std::int64_t>(o, what, 0);
}

/// A double from anything float() accepts through __float__ / __index__.
IL_PY_INLINE double to_f64(PyObject* o, const char* what) {
  return detail::load<double>(o, what, 0);
}

/// The truth value of any object.
IL_PY_INLINE bool to_bool(PyObject* o, const char* what) {
  return detail::load<bool>(o, what, 0);
}

/// Only True or False (syncx's bool arguments): TypeError for anything else.
IL_PY_INLINE bool to_strict_bool(PyObject* o, const char* what) {
  if (o == Py_True) return true;
  if (o == Py_False) return false;
  PyErr_Format(PyExc_TypeError, "%s(): expected bool, got '%s'", what, IL_TP_NAME(o));
  throw nb::python_error();
}

/// Whether an in-place float operator should take `o` (else NotImplemented).
inline bool is_real_number(PyObject* o) noexcept {
  if (PyFloat_Check(o) || PyLong_Check(o)) return true;
#ifndef Py_LIMITED_API
  PyNumberMethods* nm = Py_TYPE(o)->tp_as_number;
  return nm && (nm->nb_float || nm->nb_index);
#else
  return PyType_GetSlot(Py_TYPE(o), Py_nb_float) || PyType_GetSlot(Py_TYPE(o), Py_nb_index);
#endif
}

// ============================================================ results

/// (ok, value) as a tuple; steals `value` (which may be null: error).
inline PyObject* pair_result(bool ok, PyObject* value) noexcept {
  if (!value) return nullptr;
  PyObject* t = PyTuple_New(2);
  if (!t) {
    Py_DECREF(value);
    return nullptr;
  }
  PyTuple_SET_ITEM(t, 0, Py_NewRef(ok ? Py_True : Py_False));
  PyTuple_SET_ITEM(t, 1, value);
  return t;
}

/// repr() of a double as Python writes it ("1.0", "inf", "nan").
inline std::string float_repr(double x) {
  char* s = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
  if (!s) throw nb::python_error();
  std::string out(s);
  PyMem_Free(s);
  return out;
}


// ============================================================ shared operations
//
// Static members taking the concrete class first (C&), so that
// fast_methods.hpp binds them as methods of that class.


template <class C>
struct IntOps {
  static std::int64_t load(C& c) noexcept { return c.load(); }
  static void store(C& c, std::int64_t x) noexcept { c.v.store(x); }
  static std::int64_t exchange(C& c, std::int64_t x) noexcept { return c.v.exchange(x); }
  /// (succeeded, prior value); on failure the prior value is the current one.
  static PyObject* compare_exchange(C& c, std::int64_t expected, std::int64_t desired) noexcept {
    const bool ok = c.v.compare_exchange_strong(expected, desired);
    return pair_result(ok, PyLong_FromLongLong(expected));
  }

  static std::int64_t fetch_add(C& c, std::int64_t n) noexcept { return c.v.fetch_add(n); }
  static std::int64_t add_fetch(C& c, std::int64_t n) noexcept {
    return wrap_add(c.v.fetch_add(n), n);
  }
  static std::int64_t fetch_sub(C& c, std::int64_t n) noexcept { return c.v.fetch_sub(n); }
  static std::int64_t sub_fetch(C& c, std::int64_t n) noexcept {
    return wrap_sub(c.v.fetch_sub(n), n);
  }
  static std::int64_t fetch_inc(C& c) noexcept { return c.v.fetch_add(1); }
  static std::int64_t inc_fetch(C& c) noexcept { return wrap_add(c.v.fetch_add(1), 1); }
  static std::int64_t fetch_dec(C& c) noexcept { return c.v.fetch_sub(1); }
  static std::int64_t dec_fetch(C& c) noexcept { return wrap_sub(c.v.fetch_sub(1), 1); }

  static std::int64_t fetch_mul(C& c, std::int64_t n) noexcept {
    return c.rmw([n](std::int64_t x) { return wrap_mul(x, n); }).first;
  }
  static std::int64_t mul_fetch(C& c, std::int64_t n) noexcept {
    return c.rmw([n](std::int64_t x) { return wrap_mul(x, n); }).second;
  }

  static std::int64_t fetch_and(C& c, std::int64_t n) noexcept { return c.v.fetch_and(n); }
  static std::int64_t and_fetch(C& c, std::int64_t n) noexcept { return c.v.fetch_and(n) & n; }
  static std::int64_t fetch_or(C& c, std::int64_t n) noexcept { return c.v.fetch_or(n); }
  static std::int64_t or_fetch(C& c, std::int64_t n) noexcept { return c.v.fetch_or(n) | n; }
  static std::int64_t fetch_xor(C& c, std::int64_t n) noexcept { return c.v.fetch_xor(n); }
  static std::int64_t xor_fetch(C& c, std::int64_t n) noexcept { return c.v.fetch_xor(n) ^ n; }

  static std::int64_t fetch_max(C& c, std::int64_t n) noexcept {
    return c.rmw_if_changed([n](std::int64_t x) { return x < n ? n : x; }).first;
  }
  static std::int64_t max_fetch(C& c, std::int64_t n) noexcept {
    return c.rmw_if_changed([n](std::int64_t x) { return x < n ? n : x; }).second;
  }
  static std::int64_t fetch_min(C& c, std::int64_t n) noexcept {
    return c.rmw_if_changed([n](std::int64_t x) { return n < x ? n : x; }).first;
  }
  static std::int64_t min_fetch(C& c, std::int64_t n) noexcept {
    return c.rmw_if_changed([n](std::int64_t x) { return n < x ? n : x; }).second;
  }

  /// fn(current) installed with a compare-exchange loop: fn runs with no lock
  /// held and is called again with the new current value when another thread
  /// changed it in between. Returns the new value (ReturnNew) or the prior
  /// one; an exception from fn leaves the value unchanged.
  template <bool ReturnNew>
  static PyObject* update(C& c, PyObject* fn) noexcept {
    std::int64_t cur = c.load();
    for (;;) {
      PyObject* arg = PyLong_FromLongLong(cur);
      if (!arg) return nullptr;
      PyObject* r = PyObject_CallOneArg(fn, arg);
      Py_DECREF(arg);
      if (!r) return nullptr;
      if (!PyIndex_Check(r)) {
        PyErr_Format(PyExc_TypeError, "update(): the function must return an int, not '%s'",
                     IL_TP_NAME(r));
        Py_DECREF(r);
        return nullptr;
      }
      const long long next = PyLong_AsLongLong(r);
      Py_DECREF(r);
      if (next == -1 && PyErr_Occurred()) return nullptr;
      if (c.v.compare_exchange_strong(cur, next)) return PyLong_FromLongLong(ReturnNew ? next : cur);
    }
  }

  static PyObject* py_value(C& c) noexcept { return PyLong_FromLongLong(c.load()); }
};

template <class C>
struct BoolOps {
  static bool load(C& c) noexcept { return c.load(); }
  static void store(C& c, bool x) noexcept { c.v.store(x ? 1 : 0); }
  static bool exchange(C& c, bool x) noexcept { return c.v.exchange(x ? 1 : 0) != 0; }
  static PyObject* compare_exchange(C& c, bool expected, bool desired) noexcept {
    std::uint8_t e = expected ? 1 : 0;
    const bool ok = c.v.compare_exchange_strong(e, desired ? 1 : 0);
    return pair_result(ok, Py_NewRef(e ? Py_True : Py_False));
  }
  static bool fetch_and(C& c, bool x) noexcept { return c.v.fetch_and(x ? 1 : 0) != 0; }
  static bool and_fetch(C& c, bool x) noexcept { return (c.v.fetch_and(x ? 1 : 0) != 0) && x; }
  static bool fetch_or(C& c, bool x) noexcept { return c.v.fetch_or(x ? 1 : 0) != 0; }
  static bool or_fetch(C& c, bool x) noexcept { return (c.v.fetch_or(x ? 1 : 0) != 0) || x; }
  static bool fetch_xor(C& c, bool x) noexcept { return c.v.fetch_xor(x ? 1 : 0) != 0; }
  static bool xor_fetch(C& c, bool x) noexcept { return (c.v.fetch_xor(x ? 1 : 0) != 0) != x; }
  static bool fetch_flip(C& c) noexcept { return c.v.fetch_xor(1) != 0; }
  static bool flip_fetch(C& c) noexcept { return c.v.fetch_xor(1) == 0; }

  /// See IntOps::update. Strict: fn must return True or False (syncx);
  /// otherwise its result's truth value is taken.
  template <bool ReturnNew, bool Strict>
  static PyObject* update(C& c, PyObject* fn) noexcept {
    std::uint8_t cur = c.v.load();
    for (;;) {
      PyObject* r = PyObject_CallOneArg(fn, cur ? Py_True : Py_False);
      if (!r) return nullptr;
      int next;
      if constexpr (Strict) {
        next = r == Py_True ? 1 : r == Py_False ? 0 : -1;
        if (next < 0)
          PyErr_Format(PyExc_TypeError, "update(): the function must return a bool, not '%s'",
                       IL_TP_NAME(r));
      } else {
        next = PyObject_IsTrue(r);
      }
      Py_DECREF(r);
      if (next < 0) return nullptr;
      if (c.v.compare_exchange_strong(cur, static_cast<std::uint8_t>(next)))
        return Py_NewRef((ReturnNew ? next : cur) ? Py_True : Py_False);
    }
  }

  static PyObject* py_value(C& c) noexcept { return Py_NewRef(c.load() ? Py_True : Py_False); }
};

template <class C>
struct FloatOps {
  static double load(C& c) noexcept { return c.load(); }
  static void store(C& c, double x) noexcept { c.store(x); }
  static double exchange(C& c, double x) noexcept { return c.exchange(x); }
  static PyObject* compare_exchange(C& c, double expected, double desired) noexcept {
    const auto [ok, prior] = c.compare_exchange(expected, desired);
    return pair_result(ok, PyFloat_FromDouble(prior));
  }
  static double fetch_add(C& c, double n) noexcept {
    return c.rmw([n](double x) { return x + n; }).first;
  }
  static double add_fetch(C& c, double n) noexcept {
    return c.rmw([n](double x) { return x + n; }).second;
  }
  static double fetch_sub(C& c, double n) noexcept {
    return c.rmw([n](double x) { return x - n; }).first;
  }
  static double sub_fetch(C& c, double n) noexcept {
    return c.rmw([n](double x) { return x - n; }).second;
  }
  static double fetch_mul(C& c, double n) noexcept {
    return c.rmw([n](double x) { return x * n; }).first;
  }
  static double mul_fetch(C& c, double n) noexcept {
    return c.rmw([n](double x) { return x * n; }).second;
  }
  static double fetch_div(C& c, double n) {
    if (n == 0.0) raise(PyExc_ZeroDivisionError, "float division by zero");
    return c.rmw([n](double x) { return x / n; }).first;
  }
  static double div_fetch(C& c, double n) {
    if (n == 0.0) raise(PyExc_ZeroDivisionError, "float division by zero");
    return c.rmw([n](double x) { return x / n; }).second;
  }
  static double fetch_max(C& c, double n) noexcept {
    return c.rmw_if_changed([n](double x) { return max_number(x, n); }).first;
  }
  static double max_fetch(C& c, double n) noexcept {
    return c.rmw_if_changed([n](double x) { return max_number(x, n); }).second;
  }
  static double fetch_min(C& c, double n) noexcept {
    return c.rmw_if_changed([n](double x) { return min_number(x, n); }).first;
  }
  static double min_fetch(C& c, double n) noexcept {
    return c.rmw_if_changed([n](double x) { return min_number(x, n); }).second;
  }

  /// See IntOps::update; the result may be anything float() accepts.
  template <bool ReturnNew>
  static PyObject* update(C& c, PyObject* fn) noexcept {
    std::uint64_t cur = c.bits.load();
    for (;;) {
      PyObject* arg = PyFloat_FromDouble(std::bit_cast<double>(cur));
      if (!arg) return nullptr;
      PyObject* r = PyObject_CallOneArg(fn, arg);
      Py_DECREF(arg);
      if (!r) return nullptr;
      const double next = PyFloat_AsDouble(r);
      Py_DECREF(r);
      if (next == -1.0 && PyErr_Occurred()) return nullptr;
      if (c.bits.compare_exchange_strong(cur, std::bit_cast<std::uint64_t>(next)))
        return PyFloat_FromDouble(ReturnNew ? next : std::bit_cast<double>(cur));
    }
  }

  static PyObject* py_value(C& c) noexcept { return PyFloat_FromDouble(c.load()); }
};

template <class C>
struct RefOps {
  static PyObject* load(C& c) noexcept { return c.load(); }
  static void store(C& c, PyObject* o) noexcept { c.store(o); }
  static PyObject* exchange(C& c, PyObject* o) noexcept { return c.exchange(o); }
  /// (succeeded, prior object) by identity; on failure the current object.
  static PyObject* compare_exchange(C& c, PyObject* expected, PyObject* desired) noexcept {
    bool ok = false;
    PyObject* prior = c.compare_exchange(expected, desired, ok);
    return pair_result(ok, prior);
  }
  /// Only whether it succeeded (ft_utils).
  static bool compare_exchange_bool(C& c, PyObject* expected, PyObject* desired) noexcept {
    bool ok = false;
    Py_DECREF(c.compare_exchange(expected, desired, ok));
    return ok;
  }

  /// fn(current) installed by identity compare-exchange; see IntOps::update.
  template <bool ReturnNew>
  static PyObject* update(C& c, PyObject* fn) noexcept {
    PyObject* cur = c.load();
    for (;;) {
      PyObject* next = PyObject_CallOneArg(fn, cur);
      if (!next) {
        Py_DECREF(cur);
        return nullptr;
      }
      bool ok = false;
      PyObject* prior = c.compare_exchange(cur, next, ok);
      if (ok) {
        // prior is cur (the slot's former reference); `cur` is ours too.
        Py_DECREF(cur);
        if (ReturnNew) {
          Py_DECREF(prior);
          return next;
        }
        Py_DECREF(next);
        return prior;
      }
      Py_DECREF(cur);
      Py_DECREF(next);
      cur = prior;  // the current object: try again with it
    }
  }

  static PyObject* py_value(C& c) noexcept { return c.load(); }
};

// ============================================================ slot helpers

/// The C++ object behind `self`, or nullptr with a TypeError set when its
/// __init__ never ran. `what` names the operation.
template <class C>
IL_PY_INLINE C* ready(PyObject* self, const char* what) noexcept {
  if (IL_PY_UNLIKELY(!nb::inst_ready(self))) {
    detail::raise_not_ready(self, what);
    return nullptr;
  }
  return nb::inst_ptr<C>(self);
}

/// "AtomicInt" for the type of `self` (also for subclasses: their name).
inline const char* type_name(PyObject* self) noexcept { return detail::short_type_name(self); }

using interlock::py::set_module;  // bindings/module.hpp

/// __reduce__: (type(self), (value,)), so pickle (any protocol) and copy
/// rebuild the object through its constructor, subclasses included.
template <class C, PyObject* (*Get)(C&)>
PyObject* reduce_method(PyObject* self, PyObject*) noexcept {
  C* c = ready<C>(self, "__reduce__");
  if (!c) return nullptr;
  PyObject* v = Get(*c);
  if (!v) return nullptr;
  return Py_BuildValue("(O(N))", reinterpret_cast<PyObject*>(Py_TYPE(self)), v);
}

/// __copy__: a new object of the same type holding the current value.
template <class C, PyObject* (*Get)(C&)>
PyObject* copy_method(PyObject* self, PyObject*) noexcept {
  C* c = ready<C>(self, "__copy__");
  if (!c) return nullptr;
  PyObject* v = Get(*c);
  if (!v) return nullptr;
  PyObject* r = PyObject_CallOneArg(reinterpret_cast<PyObject*>(Py_TYPE(self)), v);
  Py_DECREF(v);
  return r;
}

/// __deepcopy__ of a number or bool cell: same as __copy__ (the value is
/// immutable).
template <class C, PyObject* (*Get)(C&)>
PyObject* deepcopy_scalar_method(PyObject* self, PyObject*) noexcept {
  return copy_method<C, Get>(self, nullptr);
}

/// Entry points of the other translation unit (atomic_compat.cpp).
void init_atomic_syncx(nb::module_& m);
void init_atomic_ft_utils(nb::module_& m);

}  // namespace interlock::py::atomics
