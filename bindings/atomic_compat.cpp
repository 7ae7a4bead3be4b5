// bindings/atomic_compat.cpp — native types of the atomic compatibility
// façades, registered in two submodules of interlock._interlock.atomic and
// named after their public homes (__module__):
//
//   _syncx     -> interlock.compat.syncx.atomic: AtomicInt, AtomicBool,
//                 AtomicFloat, AtomicReference (syncx's names and return
//                 conventions: add/sub/mul/div/inc/dec return the PRIOR value,
//                 update() the new one, div truncates)
//   _ft_utils  -> interlock.compat.ft_utils.concurrency: AtomicInt64 (with
//                 the numeric protocol), AtomicReference, AtomicFlag
//
// Same cells and shared operations as interlock.atomic (atomic_core.hpp),
// distinct C++ types so that nanobind gives each its own Python type with its
// own method table. The façades' value rules (Rust's checked_div, syncx's
// float max/min, Rust's Display of a double, the numeric protocol's IntOp)
// live in the core, interlock/atomic_cell.hpp; this file only adapts Python
// objects: which operands a façade takes, its names and its exceptions.
#include <nanobind/nanobind.h>

#include <cstdint>
#include <optional>
#include <string>

#include "atomic_core.hpp"
#include "fast_methods.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using namespace nb::literals;

namespace {

using namespace interlock::py::atomics;
using interlock::atomic_cell::IntOp;
namespace ac = interlock::atomic_cell;

// ============================================================ shared slot templates

/// A unary slot computing Fn(value); What names it (__int__, __str__, ...).
template <class C, auto Fn, ilpy::fixed_string What>
PyObject* value_slot(PyObject* self) noexcept {
  C* c = ready<C>(self, What.chars);
  return c ? Fn(c->load()) : nullptr;
}

/// A C++ string as a Python str (cold: repr / str).
PyObject* to_str(const std::string& s) noexcept {
  return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

/// self <Op>= other on an int cell under a façade's operand rule R::operand
/// (1 converted, 0 NotImplemented, -1 error) and division rule R::kRustDiv
/// (Rust's checked_div, else Python's floor division). Returns self;
/// ZeroDivisionError("division by zero") leaves the value unchanged.
template <class C, class R, IntOp Op>
PyObject* int_inplace(PyObject* self, PyObject* other) noexcept {
  C* c = ready<C>(self, "in-place operator");
  if (!c) return nullptr;
  std::int64_t n = 0;
  const int got = R::operand(other, &n);
  if (got <= 0) {
    if (got < 0) return nullptr;
    Py_RETURN_NOTIMPLEMENTED;
  }
  if constexpr (Op == IntOp::floor_div && R::kRustDiv) {
    if (!c->fetch_checked_div(n)) return set_error(PyExc_ZeroDivisionError, "division by zero");
  } else {
    if (Op == IntOp::floor_div && n == 0)
      return set_error(PyExc_ZeroDivisionError, "division by zero");
    c->template fetch_apply<Op>(n);
  }
  return Py_NewRef(self);
}

// ============================================================ syncx

struct SxInt : IntCell {
  using IntCell::IntCell;
};
struct SxBool : BoolCell {
  using BoolCell::BoolCell;
};
struct SxFloat : FloatCell {
  using FloatCell::FloatCell;
};
struct SxRef : RefCell {
  using RefCell::RefCell;
};

using SxI = IntOps<SxInt>;
using SxB = BoolOps<SxBool>;
using SxF = FloatOps<SxFloat>;
using SxR = RefOps<SxRef>;

// ------------------------------------------------------------ syncx AtomicInt

/// syncx's operand rule (PyO3): an argument that does not convert to an
/// int64 gives NotImplemented (so Python raises TypeError); division is
/// Rust's checked_div.
struct SxIntRules {
  static constexpr bool kRustDiv = true;
  static int operand(PyObject* o, std::int64_t* out) noexcept {
    if (!PyIndex_Check(o)) return 0;
    *out = PyLong_AsLongLong(o);
    if (*out == -1 && PyErr_Occurred()) {
      PyErr_Clear();
      return 0;
    }
    return 1;
  }
};

/// div(): the prior value; ZeroDivisionError for 0 and MIN / -1.
std::int64_t sx_int_div(SxInt& c, std::int64_t n) {
  const std::optional<std::int64_t> prior = c.fetch_checked_div(n);
  if (!prior) raise(PyExc_ZeroDivisionError, "division by zero");
  return *prior;
}
void sx_int_idiv(SxInt& c, std::int64_t n) { (void)sx_int_div(c, n); }

template <IntOp Op>
constexpr auto sx_int_iop = &int_inplace<SxInt, SxIntRules, Op>;

PyObject* i64_repr(std::int64_t x) noexcept {
  return PyUnicode_FromFormat("AtomicInt(%lld)", static_cast<long long>(x));
}
PyObject* i64_str(std::int64_t x) noexcept {
  return PyUnicode_FromFormat("%lld", static_cast<long long>(x));
}
PyObject* i64_int(std::int64_t x) noexcept { return PyLong_FromLongLong(x); }

PyMethodDef sx_int_methods[] = {
    ilpy::method<&SxI::load, "load($self)", "Return the current value.">(),
    ilpy::method<&SxI::store, "store($self, value)", "Set the value.">(),
    ilpy::method<&SxI::fetch_add, "add($self, value)",
                 "Add value (wrapping); return the PRIOR value.">(),
    ilpy::method<&SxI::fetch_sub, "sub($self, value)",
                 "Subtract value (wrapping); return the PRIOR value.">(),
    ilpy::method<&SxI::exchange, "swap($self, value)", "Set the value; return the prior one.">(),
    ilpy::method<&SxI::compare_exchange, "compare_exchange($self, current, new)",
                 "If the value is current, set it to new. Return (succeeded, prior value);\n"
                 "on failure the prior value is the current one.">(),
    ilpy::method<&SxI::fetch_mul, "mul($self, value)",
                 "Multiply by value (wrapping); return the PRIOR value.">(),
    ilpy::method<&sx_int_div, "div($self, value)",
                 "Divide by value, truncating toward zero; return the PRIOR value.\n"
                 "ZeroDivisionError for 0 (and for MIN / -1); the value is unchanged.">(),
    ilpy::method<&SxI::fetch_max, "fetch_max($self, value)",
                 "Set the value to max(value, current); return the prior value.">(),
    ilpy::method<&SxI::fetch_min, "fetch_min($self, value)",
                 "Set the value to min(value, current); return the prior value.">(),
    ilpy::method<&SxI::fetch_and, "fetch_and($self, value)",
                 "Bitwise AND; return the prior value.">(),
    ilpy::method<&SxI::fetch_or, "fetch_or($self, value)",
                 "Bitwise OR; return the prior value.">(),
    ilpy::method<&SxI::fetch_xor, "fetch_xor($self, value)",
                 "Bitwise XOR; return the prior value.">(),
    ilpy::method<&SxI::update<true>, "update($self, func)",
                 "Replace the value by func(value) in a compare-exchange retry loop;\n"
                 "return the NEW value.">(),
    ilpy::method<&SxI::fetch_inc, "inc($self)", "Add one; return the PRIOR value.">(),
    ilpy::method<&SxI::fetch_dec, "dec($self)", "Subtract one; return the PRIOR value.">(),
    ilpy::method<&sx_int_idiv, "__idiv__($self, value)",
                 "In-place division (as div(), returning None); also the //= operator.">(),
    ilpy::method<&SxI::load, "__getstate__($self)", "The value (pickle support).">(),
    ilpy::method<&SxI::store, "__setstate__($self, value)", "Set the value (pickle support).">(),
    {"__reduce__", reinterpret_cast<PyCFunction>(&reduce_method<SxInt, &SxI::py_value>),
     METH_NOARGS, "__reduce__($self, /)\n--\n\nPickle support: (AtomicInt, (value,))."},
    ilpy::methods_end,
};

PyType_Slot sx_int_slots[] = {
    {Py_tp_methods, sx_int_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&value_slot<SxInt, &i64_repr, "__repr__">)},
    {Py_tp_str, reinterpret_cast<void*>(&value_slot<SxInt, &i64_str, "__str__">)},
    {Py_nb_int, reinterpret_cast<void*>(&value_slot<SxInt, &i64_int, "__int__">)},
    {Py_nb_inplace_add, reinterpret_cast<void*>(sx_int_iop<IntOp::add>)},
    {Py_nb_inplace_subtract, reinterpret_cast<void*>(sx_int_iop<IntOp::sub>)},
    {Py_nb_inplace_multiply, reinterpret_cast<void*>(sx_int_iop<IntOp::mul>)},
    {Py_nb_inplace_floor_divide, reinterpret_cast<void*>(sx_int_iop<IntOp::floor_div>)},
    {0, nullptr},
};

// ------------------------------------------------------------ syncx AtomicBool
// PyO3 converts a bool argument only from True/False: anything else is a
// TypeError.

/// Op(c, value) with value taken strictly as a bool; Name names the method
/// in the TypeError.
template <auto Op, ilpy::fixed_string Name>
auto sx_strict(SxBool& c, PyObject* value) {
  return Op(c, to_strict_bool(value, Name.chars));
}
PyObject* sx_bool_cas(SxBool& c, PyObject* current, PyObject* new_) {
  const bool e = to_strict_bool(current, "compare_exchange");
  const bool d = to_strict_bool(new_, "compare_exchange");
  return SxB::compare_exchange(c, e, d);
}

// The truth value; Rust's Display of a bool: "true" / "false".
int sx_bool_to_bool(PyObject* self) noexcept {
  SxBool* c = ready<SxBool>(self, "__bool__");
  return c ? (c->load() ? 1 : 0) : -1;
}
PyObject* bool_int(bool x) noexcept { return PyLong_FromLong(x ? 1 : 0); }
PyObject* bool_invert(bool x) noexcept { return Py_NewRef(x ? Py_False : Py_True); }
PyObject* bool_repr(bool x) noexcept {
  return PyUnicode_FromFormat("AtomicBool(%s)", x ? "true" : "false");
}
PyObject* bool_str(bool x) noexcept { return PyUnicode_FromString(x ? "true" : "false"); }

PyMethodDef sx_bool_methods[] = {
    ilpy::method<&SxB::load, "load($self)", "Return the current value.">(),
    ilpy::method<&sx_strict<&SxB::store, "store">, "store($self, value)",
                 "Set the value (a bool).">(),
    ilpy::method<&sx_strict<&SxB::exchange, "swap">, "swap($self, value)",
                 "Set the value; return the prior one.">(),
    ilpy::method<&sx_bool_cas, "compare_exchange($self, current, new)",
                 "If the value is current, set it to new. Return (succeeded, prior value).">(),
    ilpy::method<&SxB::fetch_flip, "flip($self)", "Toggle the value; return the PRIOR value.">(),
    ilpy::method<&sx_strict<&SxB::fetch_and, "fetch_and">, "fetch_and($self, value)",
                 "Logical AND; return the prior value.">(),
    ilpy::method<&sx_strict<&SxB::fetch_or, "fetch_or">, "fetch_or($self, value)",
                 "Logical OR; return the prior value.">(),
    ilpy::method<&sx_strict<&SxB::fetch_xor, "fetch_xor">, "fetch_xor($self, value)",
                 "Logical XOR; return the prior value.">(),
    ilpy::method<&SxB::update<true, true>, "update($self, func)",
                 "Replace the value by func(value) (which must return a bool) in a\n"
                 "compare-exchange retry loop; return the NEW value.">(),
    ilpy::method<&SxB::load, "__getstate__($self)", "The value (pickle support).">(),
    ilpy::method<&sx_strict<&SxB::store, "__setstate__">, "__setstate__($self, value)",
                 "Set the value (pickle support).">(),
    {"__reduce__", reinterpret_cast<PyCFunction>(&reduce_method<SxBool, &SxB::py_value>),
     METH_NOARGS, "__reduce__($self, /)\n--\n\nPickle support: (AtomicBool, (value,))."},
    ilpy::methods_end,
};

PyType_Slot sx_bool_slots[] = {
    {Py_tp_methods, sx_bool_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&value_slot<SxBool, &bool_repr, "__repr__">)},
    {Py_tp_str, reinterpret_cast<void*>(&value_slot<SxBool, &bool_str, "__str__">)},
    {Py_nb_bool, reinterpret_cast<void*>(&sx_bool_to_bool)},
    {Py_nb_int, reinterpret_cast<void*>(&value_slot<SxBool, &bool_int, "__int__">)},
    {Py_nb_invert, reinterpret_cast<void*>(&value_slot<SxBool, &bool_invert, "__invert__">)},
    {0, nullptr},
};

// ------------------------------------------------------------ syncx AtomicFloat

double sx_float_div(SxFloat& c, double n) {
  if (n == 0.0) raise(PyExc_ZeroDivisionError, "division by zero");
  return c.rmw([n](double x) { return x / n; }).first;
}
// syncx's max / min: ac::keep_ge / keep_le (a NaN argument is stored).
double sx_float_fetch_max(SxFloat& c, double n) noexcept {
  return c.rmw_if_changed([n](double x) { return ac::keep_ge(x, n); }).first;
}
double sx_float_fetch_min(SxFloat& c, double n) noexcept {
  return c.rmw_if_changed([n](double x) { return ac::keep_le(x, n); }).first;
}

template <IntOp Op>
PyObject* sx_float_iop(PyObject* self, PyObject* other) noexcept {
  SxFloat* c = ready<SxFloat>(self, "in-place operator");
  if (!c) return nullptr;
  const double n = PyFloat_AsDouble(other);
  if (n == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    Py_RETURN_NOTIMPLEMENTED;
  }
  if constexpr (Op == IntOp::add)
    c->rmw([n](double x) { return x + n; });
  else
    c->rmw([n](double x) { return x - n; });
  return Py_NewRef(self);
}

/// Rust's Display of the value (ac::rust_display), optionally in
/// "AtomicFloat(...)".
template <bool Repr>
PyObject* f64_display(double x) noexcept {
  try {
    return to_str(Repr ? "AtomicFloat(" + ac::rust_display(x) + ")" : ac::rust_display(x));
  } catch (...) {
    return PyErr_NoMemory();
  }
}

PyMethodDef sx_float_methods[] = {
    ilpy::method<&SxF::load, "load($self)", "Return the current value.">(),
    ilpy::method<&SxF::store, "store($self, value)", "Set the value.">(),
    ilpy::method<&SxF::fetch_add, "add($self, value)", "Add value; return the PRIOR value.">(),
    ilpy::method<&SxF::fetch_sub, "sub($self, value)",
                 "Subtract value; return the PRIOR value.">(),
    ilpy::method<&SxF::exchange, "swap($self, value)", "Set the value; return the prior one.">(),
    ilpy::method<&SxF::compare_exchange, "compare_exchange($self, current, new)",
                 "If the value is current (same bits), set it to new. Return\n"
                 "(succeeded, prior value).">(),
    ilpy::method<&SxF::fetch_mul, "mul($self, value)",
                 "Multiply by value; return the PRIOR value.">(),
    ilpy::method<&sx_float_div, "div($self, value)",
                 "Divide by value; return the PRIOR value. ZeroDivisionError for 0.0\n"
                 "(the value is unchanged).">(),
    ilpy::method<&sx_float_fetch_max, "fetch_max($self, value)",
                 "Keep the value if it is >= value, else store value; return the prior\n"
                 "value (so a NaN argument is stored, and a stored NaN is replaced).">(),
    ilpy::method<&sx_float_fetch_min, "fetch_min($self, value)",
                 "Keep the value if it is <= value, else store value; return the prior\n"
                 "value.">(),
    ilpy::method<&SxF::update<true>, "update($self, func)",
                 "Replace the value by func(value) in a compare-exchange retry loop;\n"
                 "return the NEW value.">(),
    ilpy::method<&SxF::load, "__getstate__($self)", "The value (pickle support).">(),
    ilpy::method<&SxF::store, "__setstate__($self, value)", "Set the value (pickle support).">(),
    {"__reduce__", reinterpret_cast<PyCFunction>(&reduce_method<SxFloat, &SxF::py_value>),
     METH_NOARGS, "__reduce__($self, /)\n--\n\nPickle support: (AtomicFloat, (value,))."},
    ilpy::methods_end,
};

PyType_Slot sx_float_slots[] = {
    {Py_tp_methods, sx_float_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&value_slot<SxFloat, &f64_display<true>, "__repr__">)},
    {Py_tp_str, reinterpret_cast<void*>(&value_slot<SxFloat, &f64_display<false>, "__str__">)},
    {Py_nb_float, reinterpret_cast<void*>(&value_slot<SxFloat, &PyFloat_FromDouble, "__float__">)},
    {Py_nb_inplace_add, reinterpret_cast<void*>(&sx_float_iop<IntOp::add>)},
    {Py_nb_inplace_subtract, reinterpret_cast<void*>(&sx_float_iop<IntOp::sub>)},
    {0, nullptr},
};

// ------------------------------------------------------------ syncx AtomicReference

/// True when the current object is `expected` or == to it (after which it is
/// replaced by `obj`), False otherwise. __eq__ runs with no lock held: the
/// current object is loaded, compared, then replaced by an identity
/// compare-exchange on that very object, retrying if it changed meanwhile.
bool sx_ref_compare_exchange(SxRef& c, PyObject* expected, PyObject* obj) {
  PyObject* cur = c.load();
  for (;;) {
    if (cur != expected) {
      const int eq = PyObject_RichCompareBool(cur, expected, Py_EQ);
      if (eq <= 0) {
        Py_DECREF(cur);
        if (eq < 0) throw nb::python_error();
        return false;
      }
    }
    bool ok = false;
    PyObject* prior = c.compare_exchange(cur, obj, ok);
    Py_DECREF(cur);
    if (ok) {
      Py_DECREF(prior);
      return true;
    }
    cur = prior;
  }
}

PyMethodDef sx_ref_methods[] = {
    ilpy::method<&SxR::load, "get($self)", "Return the current object.">(),
    ilpy::method<&SxR::store, "set($self, obj)", "Replace the object.">(),
    ilpy::method<&SxR::exchange, "exchange($self, obj)",
                 "Replace the object; return the prior one.">(),
    ilpy::method<&sx_ref_compare_exchange, "compare_exchange($self, expected, obj)",
                 "If the current object is expected, or equal to it (==), replace it by\n"
                 "obj; return whether it did. __eq__ runs with no lock held.">(),
    ilpy::methods_end,
};

PyType_Slot sx_ref_slots[] = {
    {Py_tp_methods, sx_ref_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<SxRef>)},
    {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<SxRef>)},
    {0, nullptr},
};

// ============================================================ ft_utils

struct FtInt64 : IntCell {
  using IntCell::IntCell;
};
struct FtRef : RefCell {
  using RefCell::RefCell;
};
struct FtFlag : BoolCell {
  using BoolCell::BoolCell;
};

using FtI = IntOps<FtInt64>;
using FtR = RefOps<FtRef>;

PyTypeObject* g_ft_int64_type = nullptr;

inline bool is_ft_int64(PyObject* o) noexcept {
  return g_ft_int64_type && PyObject_TypeCheck(o, g_ft_int64_type);
}

/// An operand of AtomicInt64's arithmetic as a Python int (new reference):
/// an exact int or an AtomicInt64 (ft_utils takes nothing else). Returns
/// nullptr with no error set for any other type, with an error set on failure.
PyObject* ft_operand_long(PyObject* o) noexcept {
  if (PyLong_CheckExact(o)) return Py_NewRef(o);
  if (is_ft_int64(o)) {
    FtInt64* c = ready<FtInt64>(o, "operator");
    return c ? PyLong_FromLongLong(c->load()) : nullptr;
  }
  return nullptr;
}

/// ft_utils' operand rule as an int64 (in-place operators, set(), add()):
/// 1 ok, 0 unsupported type (no error), -1 error (OverflowError past 64
/// bits). Division is Python's floor division.
struct FtIntRules {
  static constexpr bool kRustDiv = false;
  static int operand(PyObject* o, std::int64_t* out) noexcept {
    if (PyLong_CheckExact(o)) {
      *out = PyLong_AsLongLong(o);
      return *out == -1 && PyErr_Occurred() ? -1 : 1;
    }
    if (!is_ft_int64(o)) return 0;
    FtInt64* c = ready<FtInt64>(o, "operator");
    if (!c) return -1;
    *out = c->load();
    return 1;
  }
};

/// Python's a // b, with ft_utils' ZeroDivisionError message.
PyObject* ft_floordiv(PyObject* a, PyObject* b) noexcept {
  const int zero = PyObject_Not(b);
  return zero == 1   ? set_error(PyExc_ZeroDivisionError, "division by zero")
         : zero == 0 ? PyNumber_FloorDivide(a, b)
                     : nullptr;
}

/// a <op> b where either side is an AtomicInt64: a plain (exact) Python int,
/// computed on Python ints so it never wraps. NotImplemented for operand
/// types ft_utils does not take (Python then raises TypeError).
template <PyObject* (*Fn)(PyObject*, PyObject*)>
PyObject* ft_binary(PyObject* a, PyObject* b) noexcept {
  PyObject* la = ft_operand_long(a);
  if (!la) {
    if (PyErr_Occurred()) return nullptr;
    Py_RETURN_NOTIMPLEMENTED;
  }
  PyObject* lb = ft_operand_long(b);
  if (!lb) {
    Py_DECREF(la);
    if (PyErr_Occurred()) return nullptr;
    Py_RETURN_NOTIMPLEMENTED;
  }
  PyObject* r = Fn(la, lb);
  Py_DECREF(la);
  Py_DECREF(lb);
  return r;
}

template <IntOp Op>
constexpr auto ft_inplace = &int_inplace<FtInt64, FtIntRules, Op>;

/// -x, abs(x), ~x of the value as a Python int.
template <PyObject* (*Fn)(PyObject*)>
PyObject* i64_unary(std::int64_t x) noexcept {
  PyObject* v = PyLong_FromLongLong(x);
  if (!v) return nullptr;
  PyObject* r = Fn(v);
  Py_DECREF(v);
  return r;
}

int ft_int_to_bool(PyObject* self) noexcept {
  FtInt64* c = ready<FtInt64>(self, "__bool__");
  return c ? c->load() != 0 : -1;
}

/// Comparisons of the value (as an int) with anything an int compares with.
PyObject* ft_richcompare(PyObject* self, PyObject* other, int op) noexcept {
  FtInt64* c = ready<FtInt64>(self, "comparison");
  if (!c) return nullptr;
  PyObject* v = PyLong_FromLongLong(c->load());
  if (!v) return nullptr;
  const int r = PyObject_RichCompareBool(v, other, op);
  Py_DECREF(v);
  if (r < 0) return nullptr;
  return Py_NewRef(r ? Py_True : Py_False);
}

/// Op(c, value) with value under ft_utils' operand rule; a TypeError naming
/// the method for other types.
template <auto Op, ilpy::fixed_string Name>
auto ft_checked(FtInt64& c, PyObject* value) {
  std::int64_t n = 0;
  const int got = FtIntRules::operand(value, &n);
  if (got < 0) throw nb::python_error();
  if (got == 0) {
    PyErr_Format(PyExc_TypeError,
                 "unsupported operand type(s): AtomicInt64.%s() takes an int or an "
                 "AtomicInt64, not '%s'",
                 Name.chars, IL_TP_NAME(value));
    throw nb::python_error();
  }
  return Op(c, n);
}

PyObject* ft_int_format(FtInt64& c, PyObject* spec) noexcept {
  PyObject* v = PyLong_FromLongLong(c.load());
  if (!v) return nullptr;
  PyObject* r = PyObject_Format(v, spec);
  Py_DECREF(v);
  return r;
}

PyMethodDef ft_int_methods[] = {
    ilpy::method<&ft_checked<&FtI::store, "set">, "set($self, value, /)",
                 "Atomically set the value (an int or an AtomicInt64).">(),
    ilpy::method<&FtI::load, "get($self, /)", "Atomically get the value.">(),
    ilpy::method<&FtI::inc_fetch, "incr($self, /)",
                 "Atomically ++ and return the new value.">(),
    ilpy::method<&FtI::dec_fetch, "decr($self, /)",
                 "Atomically -- and return the new value.">(),
    ilpy::method<&ft_checked<&FtI::add_fetch, "add">, "add($self, value, /)",
                 "Atomically add value (as in the ft_utils documentation's example);\n"
                 "return the new value.">(),
    ilpy::method<&ft_int_format, "__format__($self, format_spec, /)",
                 "Format the value like an int.">(),
    ilpy::methods_end,
};

PyType_Slot ft_int_slots[] = {
    {Py_tp_methods, ft_int_methods},
    {Py_tp_richcompare, reinterpret_cast<void*>(&ft_richcompare)},
    {Py_nb_add, reinterpret_cast<void*>(&ft_binary<&PyNumber_Add>)},
    {Py_nb_subtract, reinterpret_cast<void*>(&ft_binary<&PyNumber_Subtract>)},
    {Py_nb_multiply, reinterpret_cast<void*>(&ft_binary<&PyNumber_Multiply>)},
    {Py_nb_floor_divide, reinterpret_cast<void*>(&ft_binary<&ft_floordiv>)},
    {Py_nb_or, reinterpret_cast<void*>(&ft_binary<&PyNumber_Or>)},
    {Py_nb_xor, reinterpret_cast<void*>(&ft_binary<&PyNumber_Xor>)},
    {Py_nb_and, reinterpret_cast<void*>(&ft_binary<&PyNumber_And>)},
    {Py_nb_negative, reinterpret_cast<void*>(&value_slot<FtInt64, &i64_unary<&PyNumber_Negative>, "__neg__">)},
    {Py_nb_positive, reinterpret_cast<void*>(&value_slot<FtInt64, &i64_int, "__pos__">)},
    {Py_nb_absolute, reinterpret_cast<void*>(&value_slot<FtInt64, &i64_unary<&PyNumber_Absolute>, "__abs__">)},
    {Py_nb_invert, reinterpret_cast<void*>(&value_slot<FtInt64, &i64_unary<&PyNumber_Invert>, "__invert__">)},
    {Py_nb_int, reinterpret_cast<void*>(&value_slot<FtInt64, &i64_int, "__int__">)},
    {Py_nb_bool, reinterpret_cast<void*>(&ft_int_to_bool)},
    {Py_nb_inplace_add, reinterpret_cast<void*>(ft_inplace<IntOp::add>)},
    {Py_nb_inplace_subtract, reinterpret_cast<void*>(ft_inplace<IntOp::sub>)},
    {Py_nb_inplace_multiply, reinterpret_cast<void*>(ft_inplace<IntOp::mul>)},
    {Py_nb_inplace_floor_divide, reinterpret_cast<void*>(ft_inplace<IntOp::floor_div>)},
    {Py_nb_inplace_or, reinterpret_cast<void*>(ft_inplace<IntOp::or_>)},
    {Py_nb_inplace_xor, reinterpret_cast<void*>(ft_inplace<IntOp::xor_>)},
    {Py_nb_inplace_and, reinterpret_cast<void*>(ft_inplace<IntOp::and_>)},
    {0, nullptr},
};

// ------------------------------------------------------------ ft_utils AtomicReference

PyMethodDef ft_ref_methods[] = {
    ilpy::method<&FtR::store, "set($self, obj, /)", "Replace the object.">(),
    ilpy::method<&FtR::load, "get($self, /)", "Return the current object.">(),
    ilpy::method<&FtR::exchange, "exchange($self, obj, /)",
                 "Replace the object; return the prior one.">(),
    ilpy::method<&FtR::compare_exchange_bool, "compare_exchange($self, expected, obj, /)",
                 "If the current object IS expected (identity), replace it by obj;\n"
                 "return whether it did.">(),
    {"__class_getitem__", reinterpret_cast<PyCFunction>(&Py_GenericAlias), METH_O | METH_CLASS,
     "__class_getitem__($cls, item, /)\n--\n\nAtomicReference[T]: a types.GenericAlias."},
    ilpy::methods_end,
};

PyType_Slot ft_ref_slots[] = {
    {Py_tp_methods, ft_ref_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<FtRef>)},
    {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<FtRef>)},
    {0, nullptr},
};

// ------------------------------------------------------------ ft_utils AtomicFlag

void ft_flag_set(FtFlag& c, bool value) noexcept { c.v.store(value ? 1 : 0); }

int ft_flag_to_bool(PyObject* self) noexcept {
  FtFlag* c = ready<FtFlag>(self, "__bool__");
  return c ? (c->load() ? 1 : 0) : -1;
}

PyMethodDef ft_flag_methods[] = {
    ilpy::method<&ft_flag_set, "set($self, value)", "Set the flag to bool(value).">(),
    ilpy::methods_end,
};

PyType_Slot ft_flag_slots[] = {
    {Py_tp_methods, ft_flag_methods},
    {Py_nb_bool, reinterpret_cast<void*>(&ft_flag_to_bool)},
    {0, nullptr},
};

}  // namespace

namespace interlock::py::atomics {

void init_atomic_syncx(nb::module_& parent) {
  constexpr const char* kModule = "interlock.compat.syncx.atomic";
  nb::module_ m = parent.def_submodule(
      "_syncx", "Native types of interlock.compat.syncx.atomic (use that module).");

  auto int_cls = nb::class_<SxInt>(m, "AtomicInt", nb::type_slots(sx_int_slots), nb::is_final(),
                                   "Atomic 64-bit integer (syncx API): add/sub/mul/div/inc/dec\n"
                                   "return the PRIOR value, update() the new one.");
  int_cls.def(
      "__init__",
      [](SxInt* self, nb::handle value) { new (self) SxInt(to_i64(value.ptr(), "AtomicInt")); },
      "value"_a = 0, nb::sig("def __init__(self, value: int = 0) -> None"));
  set_module(int_cls, kModule);

  auto bool_cls = nb::class_<SxBool>(m, "AtomicBool", nb::type_slots(sx_bool_slots),
                                     nb::is_final(), "Atomic boolean (syncx API).");
  bool_cls.def(
      "__init__",
      [](SxBool* self, nb::handle value) {
        new (self) SxBool(to_strict_bool(value.ptr(), "AtomicBool"));
      },
      "value"_a = false, nb::sig("def __init__(self, value: bool = False) -> None"));
  set_module(bool_cls, kModule);

  auto float_cls = nb::class_<SxFloat>(m, "AtomicFloat", nb::type_slots(sx_float_slots),
                                       nb::is_final(), "Atomic 64-bit float (syncx API).");
  float_cls.def(
      "__init__",
      [](SxFloat* self, nb::handle value) {
        new (self) SxFloat(to_f64(value.ptr(), "AtomicFloat"));
      },
      "value"_a = 0.0, nb::sig("def __init__(self, value: float = 0.0) -> None"));
  set_module(float_cls, kModule);

  auto ref_cls = nb::class_<SxRef>(
      m, "AtomicReference", nb::type_slots(sx_ref_slots), nb::is_final(),
      nb::is_weak_referenceable(),
      "Thread-safe reference slot for any Python object (syncx API);\n"
      "compare_exchange matches by identity or equality.");
  ilpy::use_trashcan(ref_cls);
  ref_cls.def(
      "__init__", [](SxRef* self, nb::handle obj) { new (self) SxRef(obj.ptr()); },
      "obj"_a = nb::none(), nb::sig("def __init__(self, obj: object | None = None) -> None"));
  set_module(ref_cls, kModule);
}

void init_atomic_ft_utils(nb::module_& parent) {
  constexpr const char* kModule = "interlock.compat.ft_utils.concurrency";
  nb::module_ m = parent.def_submodule(
      "_ft_utils", "Native types of interlock.compat.ft_utils.concurrency (use that module).");

  auto int_cls = nb::class_<FtInt64>(m, "AtomicInt64", nb::type_slots(ft_int_slots),
                                     nb::is_weak_referenceable(),
                                     "A 64-bit integer that can be updated atomically (ft_utils\n"
                                     "API), with the numeric protocol.");
  int_cls.def(
      "__init__",
      [](FtInt64* self, nb::handle value) {
        new (self) FtInt64(to_i64(value.ptr(), "AtomicInt64"));
      },
      "value"_a = 0, nb::sig("def __init__(self, value: int = 0) -> None"));
  set_module(int_cls, kModule);
  g_ft_int64_type = reinterpret_cast<PyTypeObject*>(int_cls.ptr());

  auto ref_cls = nb::class_<FtRef>(m, "AtomicReference", nb::type_slots(ft_ref_slots),
                                   nb::is_final(), nb::is_weak_referenceable(),
                                   "A reference that can be updated atomically (ft_utils API).");
  ilpy::use_trashcan(ref_cls);
  ref_cls.def(
      "__init__",
      [](FtRef* self, nb::args args, nb::kwargs kwargs) {
        // ft_utils takes zero or one positional argument; the keyword forms
        // `value` (its stubs) and `obj` (its documentation) are accepted too.
        nb::handle obj = Py_None;
        std::size_t given = args.size();
        if (given == 1) obj = args[0];
        for (auto [key, value] : kwargs) {
          const std::string k = nb::str(key).c_str();
          if (k != "value" && k != "obj")
            throw nb::type_error(("AtomicReference() got an unexpected keyword argument '" + k +
                                  "'").c_str());
          obj = value;
          ++given;
        }
        if (given > 1) throw nb::type_error("AtomicReference() takes zero or one argument");
        new (self) FtRef(obj.ptr());
      },
      nb::sig("def __init__(self, value: object | None = None, /) -> None"));
  set_module(ref_cls, kModule);

  auto flag_cls = nb::class_<FtFlag>(m, "AtomicFlag", nb::type_slots(ft_flag_slots),
                                     "A boolean flag that can be updated atomically (ft_utils\n"
                                     "API).");
  flag_cls.def(
      "__init__",
      [](FtFlag* self, nb::handle value) { new (self) FtFlag(to_bool(value.ptr(), "AtomicFlag")); },
      "value"_a, nb::sig("def __init__(self, value: object) -> None"));
  set_module(flag_cls, kModule);
}

}  // namespace interlock::py::atomics
