// bindings/atomic_compat.cpp — native types of the atomic compatibility
// façades, registered in two submodules of interlock._interlock.atomic and
// named after their public homes (__module__):
//
//   _syncx     -> interlock.compat.syncx.atomic: AtomicInt, AtomicBool,
//                 AtomicFloat, AtomicReference
//   _ft_utils  -> interlock.compat.ft_utils.concurrency: AtomicInt64 (with
//                 the numeric protocol), AtomicReference, AtomicFlag
//
// Their value rules are in the core (interlock/atomic_cell.hpp); this file
// says which operands a façade takes, its names and its exceptions.
#include <nanobind/nanobind.h>

#include <cstdint>
#include <optional>

#include "atomic_core.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace interlock::py::atomics {
namespace {

// ============================================================ syncx

/// syncx's rules (PyO3): an in-place operand that does not convert gives
/// NotImplemented (so Python raises TypeError); a refused operand raises
/// ZeroDivisionError("division by zero"); str() of a value is Rust's Display
/// ("true", "1", "0.5"); update() on a bool takes only True / False.
struct Sx : PyO3Errors {
  static constexpr bool kStrictBool = true;
  static int operand(PyObject* o, std::int64_t& n) noexcept {
    if (!PyIndex_Check(o)) return 0;
    n = PyLong_AsLongLong(o);
    return n == -1 && PyErr_Occurred() ? (PyErr_Clear(), 0) : 1;
  }
  static int operand(PyObject* o, double& n) noexcept {
    n = PyFloat_AsDouble(o);
    return n == -1.0 && PyErr_Occurred() ? (PyErr_Clear(), 0) : 1;
  }
  template <class T>
  static PyObject* display(T x) noexcept try {
    return detail::to_python(ac::rust_display(x));
  } catch (...) {
    return PyErr_NoMemory();
  }
};

using SxInt = Atomic<std::int64_t, Sx>;
using SxBool = Atomic<bool, Sx>;
using SxFloat = Atomic<double, Sx>;
using SxRef = Ref<Sx>;
using SxI = ops<SxInt>;
using SxB = ops<SxBool>;
using SxF = ops<SxFloat>;
using SxR = ops<SxRef>;

/// load / store / swap / compare_exchange / update and the pickle state of a
/// syncx scalar (its __reduce__: python/interlock/atomic.py); Store and Swap take
/// the argument (strictly, for a bool).
template <class C, auto Store, auto Swap, auto Cas>
std::array<PyMethodDef, 7> sx_common() noexcept {
  return {method<&ops<C>::load, "load($self)", "Return the current value.">(),
          method<Store, "store($self, value)", "Set the value.">(),
          method<Swap, "swap($self, value)", "Set the value; return the prior one.">(),
          method<Cas,
                 cat<"compare_exchange($self, current, new) -> tuple[bool, ",
                     py_type<typename C::value_type>, "]">(),
                 "If the value is current, set it to new. Return (succeeded, prior value);\n"
                 "on failure the prior value is the current one.">(),
          method<&ops<C>::template update<true>, "update($self, func)",
                 "Replace the value by func(value) in a compare-exchange retry loop;\n"
                 "return the NEW value.">(),
          method<&ops<C>::load, "__getstate__($self)", "The value (pickle support).">(),
          method<Store, "__setstate__($self, value)", "Set the value (pickle support).">()};
}

/// Name(value): value = value <Op> value, returning the PRIOR value.
template <class C, class Op, fixed_string Name, fixed_string Doc>
PyMethodDef sx_prior() noexcept {
  return method<&ops<C>::template fetch<Op, false>, cat<Name, "($self, value)">(),
                cat<Doc, "; return the PRIOR value.">()>();
}

/// syncx's __idiv__ (also //=): div() returning None.
void sx_int_idiv(SxInt& c, std::int64_t n) { (void)SxI::fetch<op::rust_div, false>(c, n); }

auto sx_int_methods = table(
    sx_common<SxInt, &SxI::store, &SxI::exchange, &SxI::compare_exchange>(),
    sx_prior<SxInt, op::add, "add", "Add value (wrapping)">(),
    sx_prior<SxInt, op::sub, "sub", "Subtract value (wrapping)">(),
    sx_prior<SxInt, op::mul, "mul", "Multiply by value (wrapping)">(),
    sx_prior<SxInt, op::rust_div, "div",
             "Divide by value, truncating toward zero (ZeroDivisionError for 0 and\n"
             "for MIN / -1, the value unchanged)">(),
    sx_prior<SxInt, op::max, "fetch_max", "Set the value to max(value, current)">(),
    sx_prior<SxInt, op::min, "fetch_min", "Set the value to min(value, current)">(),
    sx_prior<SxInt, op::and_, "fetch_and", "Bitwise AND">(),
    sx_prior<SxInt, op::or_, "fetch_or", "Bitwise OR">(),
    sx_prior<SxInt, op::xor_, "fetch_xor", "Bitwise XOR">(),
    method<&SxI::fetch_n<op::add, false, 1>, "inc($self)", "Add one; return the PRIOR value.">(),
    method<&SxI::fetch_n<op::sub, false, 1>, "dec($self)", "Subtract one; return the PRIOR value.">(),
    method<&sx_int_idiv, "__idiv__($self, value)",
           "In-place division (as div(), returning None); also the //= operator.">());

auto sx_int_slots = slot_table<SxInt, Slots<Py_tp_str, Py_nb_int>,
                          Inplace<op::add, op::sub, op::mul, op::rust_div>>(sx_int_methods);

/// Op(c, value) with value taken strictly as a bool (PyO3 converts a bool
/// only from True / False); Name names the method in the TypeError.
template <auto Op, fixed_string Name>
auto sx_strict(SxBool& c, PyObject* value) {
  return Op(c, to_strict_bool(value, Name.chars));
}
PyObject* sx_bool_cas(SxBool& c, PyObject* current, PyObject* new_) {
  const bool e = to_strict_bool(current, "compare_exchange");
  return SxB::compare_exchange(c, e, to_strict_bool(new_, "compare_exchange"));
}
PyObject* negation(bool x) noexcept { return detail::to_python(!x); }

auto sx_bool_methods = table(
    sx_common<SxBool, &sx_strict<&SxB::store, "store">, &sx_strict<&SxB::exchange, "swap">,
              &sx_bool_cas>(),
    method<&SxB::fetch_n<op::xor_, false, true>, "flip($self)",
           "Toggle the value; return the PRIOR value.">(),
    method<&sx_strict<&SxB::fetch<op::and_, false>, "fetch_and">, "fetch_and($self, value)",
           "Logical AND; return the prior value.">(),
    method<&sx_strict<&SxB::fetch<op::or_, false>, "fetch_or">, "fetch_or($self, value)",
           "Logical OR; return the prior value.">(),
    method<&sx_strict<&SxB::fetch<op::xor_, false>, "fetch_xor">, "fetch_xor($self, value)",
           "Logical XOR; return the prior value.">());

auto sx_bool_slots =
    slot_table<SxBool, Slots<Py_tp_str, Py_nb_bool, Py_nb_int>,
          Fixed<Py_nb_invert, &value_slot<SxBool, &negation, "__invert__">>>(sx_bool_methods);

auto sx_float_methods = table(
    sx_common<SxFloat, &SxF::store, &SxF::exchange, &SxF::compare_exchange>(),
    sx_prior<SxFloat, op::add, "add", "Add value">(),
    sx_prior<SxFloat, op::sub, "sub", "Subtract value">(),
    sx_prior<SxFloat, op::mul, "mul", "Multiply by value">(),
    sx_prior<SxFloat, op::div, "div", "Divide by value (ZeroDivisionError for 0.0, the value unchanged)">(),
    sx_prior<SxFloat, op::keep_ge, "fetch_max",
             "Keep the value if it is >= value, else store value (so a NaN argument\n"
             "is stored, and a stored NaN is replaced)">(),
    sx_prior<SxFloat, op::keep_le, "fetch_min",
             "Keep the value if it is <= value, else store value">());

auto sx_float_slots =
    slot_table<SxFloat, Slots<Py_tp_str, Py_nb_float>, Inplace<op::add, op::sub>>(sx_float_methods);

/// True when the current object is `expected` or == to it (it is then
/// replaced by `obj`), False otherwise; __eq__ runs with no lock held (the
/// core's RefSlot::replace_if).
bool sx_ref_compare_exchange(SxRef& c, PyObject* expected, PyObject* obj) {
  const std::optional<bool> r = c.replace_if(obj, [expected](PyObject* cur) noexcept -> std::optional<bool> {
    const int eq = cur == expected ? 1 : PyObject_RichCompareBool(cur, expected, Py_EQ);
    if (eq < 0) return std::nullopt;
    return eq != 0;
  });
  if (!r) throw nb::python_error();
  return *r;
}

auto sx_ref_methods = table(
    method<&SxR::load, "get($self)", "Return the current object.">(),
    method<&SxR::store, "set($self, obj)", "Replace the object.">(),
    method<&SxR::exchange, "exchange($self, obj)", "Replace the object; return the prior one.">(),
    method<&sx_ref_compare_exchange, "compare_exchange($self, expected, obj)",
           "If the current object is expected, or equal to it (==), replace it by\n"
           "obj; return whether it did. __eq__ runs with no lock held.">());

auto sx_ref_slots = slot_table<SxRef, Slots<Py_tp_traverse, Py_tp_clear>>(sx_ref_methods);

// ============================================================ ft_utils

/// ft_utils' rules (PyO3): AtomicInt64's operands are exact ints and
/// AtomicInt64s only (anything else: NotImplemented, or a TypeError naming
/// the method); a refused operand raises ZeroDivisionError("division by zero").
struct Ft : PyO3Errors {
  static constexpr bool kStrictBool = false;
  static int operand(PyObject* o, std::int64_t& n) noexcept {
    if (PyLong_CheckExact(o)) {
      n = PyLong_AsLongLong(o);
      return n == -1 && PyErr_Occurred() ? -1 : 1;
    }
    if (!nb::isinstance<Atomic<std::int64_t, Ft>>(o)) return 0;
    auto* c = ready<Atomic<std::int64_t, Ft>>(o, "operator");
    if (!c) return -1;
    n = c->load();
    return 1;
  }
};

using FtInt64 = Atomic<std::int64_t, Ft>;
using FtFlag = Atomic<bool, Ft>;
using FtRef = Ref<Ft>;
using FtI = ops<FtInt64>;
using FtR = ops<FtRef>;

/// An operand of AtomicInt64's binary arithmetic as a Python int (new
/// reference; an exact int as is, so it never wraps), or nullptr: with an
/// error set on failure, else an unsupported type.
PyObject* ft_operand_long(PyObject* o) noexcept {
  std::int64_t n = 0;
  return PyLong_CheckExact(o) ? Py_NewRef(o) : Ft::operand(o, n) > 0 ? PyLong_FromLongLong(n) : nullptr;
}

/// Python's a // b, with ft_utils' ZeroDivisionError message.
PyObject* ft_floordiv(PyObject* a, PyObject* b) noexcept {
  const int zero = PyObject_Not(b);
  return zero == 1   ? (PyErr_SetString(PyExc_ZeroDivisionError, "division by zero"), nullptr)
         : zero == 0 ? PyNumber_FloorDivide(a, b)
                     : nullptr;
}

/// a <Op> b where either side is an AtomicInt64: a plain (exact) Python int,
/// computed on Python ints so it never wraps (// with ft_floordiv).
/// NotImplemented for operand types ft_utils does not take (Python then
/// raises TypeError).
template <class Op>
PyObject* ft_binary(PyObject* a, PyObject* b) noexcept {
  constexpr binaryfunc fn = std::is_same_v<Op, op::div> ? &ft_floordiv : py_op<Op, std::int64_t>::number;
  PyObject* la = ft_operand_long(a);
  PyObject* lb = la ? ft_operand_long(b) : nullptr;
  PyObject* r = lb ? fn(la, lb) : PyErr_Occurred() ? nullptr : Py_NewRef(Py_NotImplemented);
  Py_XDECREF(la);
  Py_XDECREF(lb);
  return r;
}

/// Fn(int(value), a...): -x, abs(x), ~x, format(x, spec) on the value as a
/// Python int.
template <auto Fn, class... A>
PyObject* on_int(std::int64_t x, A... a) noexcept {
  PyObject* v = PyLong_FromLongLong(x);
  PyObject* r = v ? Fn(v, a...) : nullptr;
  Py_XDECREF(v);
  return r;
}

/// Comparisons of the value (as an int) with anything an int compares with.
PyObject* ft_richcompare(PyObject* self, PyObject* other, int op) noexcept {
  FtInt64* c = ready<FtInt64>(self, "comparison");
  PyObject* v = c ? PyLong_FromLongLong(c->load()) : nullptr;
  if (!v) return nullptr;
  const int r = PyObject_RichCompareBool(v, other, op);
  Py_DECREF(v);
  return r < 0 ? nullptr : detail::to_python(r != 0);
}

/// Op(c, value) with value under ft_utils' operand rule; a TypeError naming
/// the method for other types.
template <auto Op, fixed_string Name>
auto ft_checked(FtInt64& c, PyObject* value) {
  std::int64_t n = 0;
  const int got = Ft::operand(value, n);
  if (got == 0)
    PyErr_Format(PyExc_TypeError,
                 "unsupported operand type(s): AtomicInt64.%s() takes an int or an "
                 "AtomicInt64, not '%s'",
                 Name.chars, IL_TP_NAME(value));
  if (got <= 0) throw nb::python_error();
  return Op(c, n);
}

PyObject* ft_int_format(FtInt64& c, PyObject* spec) noexcept {
  return on_int<&PyObject_Format>(c.load(), spec);
}

auto ft_int_methods = table(
    method<&ft_checked<&FtI::store, "set">, "set($self, value, /)",
           "Atomically set the value (an int or an AtomicInt64).">(),
    method<&FtI::load, "get($self, /)", "Atomically get the value.">(),
    method<&FtI::fetch_n<op::add, true, 1>, "incr($self, /)", "Atomically ++ and return the new value.">(),
    method<&FtI::fetch_n<op::sub, true, 1>, "decr($self, /)", "Atomically -- and return the new value.">(),
    method<&ft_checked<&FtI::fetch<op::add, true>, "add">, "add($self, value, /)",
           "Atomically add value (as in the ft_utils documentation's example);\n"
           "return the new value.">(),
    method<&ft_int_format, "__format__($self, format_spec, /)", "Format the value like an int.">());

/// AtomicInt64's arithmetic and bitwise operators, binary (ft_binary) and
/// in-place, and its unary ones (Fn on the value as an int).
template <class... Op>
struct FtArith {
  template <class C> static auto of() noexcept {
    return std::array{at(py_op<Op, std::int64_t>::binary, &ft_binary<Op>)...,
                      at(py_op<Op, std::int64_t>::inplace, &inplace<C, Op>)...};
  }
};
template <int Id, auto Fn, fixed_string What>
using FtUnary = Fixed<Id, &value_slot<FtInt64, &on_int<Fn>, What>>;

auto ft_int_slots =
    slot_table<FtInt64, Fixed<Py_tp_richcompare, &ft_richcompare>,
          FtArith<op::add, op::sub, op::mul, op::div, op::or_, op::xor_, op::and_>,
          FtUnary<Py_nb_negative, &PyNumber_Negative, "__neg__">,
          Fixed<Py_nb_positive, &value_slot<FtInt64, &PyLong_FromLongLong, "__pos__">>,
          FtUnary<Py_nb_absolute, &PyNumber_Absolute, "__abs__">,
          FtUnary<Py_nb_invert, &PyNumber_Invert, "__invert__">,
          Slots<Py_nb_int, Py_nb_bool>>(ft_int_methods);

auto ft_ref_methods = table(
    method<&FtR::store, "set($self, obj, /)", "Replace the object.">(),
    method<&FtR::load, "get($self, /)", "Return the current object.">(),
    method<&FtR::exchange, "exchange($self, obj, /)", "Replace the object; return the prior one.">(),
    method<&FtR::compare_exchange_bool, "compare_exchange($self, expected, obj, /)",
           "If the current object IS expected (identity), replace it by obj;\n"
           "return whether it did.">());

auto ft_ref_slots = slot_table<FtRef, Slots<Py_tp_traverse, Py_tp_clear>>(ft_ref_methods);

auto ft_flag_methods = table(
    method<&ops<FtFlag>::store, "set($self, value)", "Set the flag to bool(value).">());

auto ft_flag_slots = slot_table<FtFlag, Slots<Py_nb_bool>>(ft_flag_methods);

/// ft_utils' AtomicReference(...): its argument rule is the façade's
/// (concurrency._reference_arg), asked unless there is at most one positional.
void ft_ref_init(FtRef* self, nb::args args, nb::kwargs kwargs) {
  if (args.size() <= 1 && kwargs.size() == 0) {
    new (self) FtRef(args.size() ? args[0].ptr() : Py_None);
  } else {
    nb::object arg = nb::module_::import_("interlock.compat.ft_utils.concurrency").attr("_reference_arg");
    new (self) FtRef(arg(*args, **kwargs).ptr());
  }
}

}  // namespace

void init_atomic_syncx(nb::module_& parent) {
  constexpr const char* kModule = "interlock.compat.syncx.atomic";
  nb::module_ m = parent.def_submodule(
      "_syncx", "Native types of interlock.compat.syncx.atomic (use that module).");

  add_type<SxInt, "AtomicInt">(m, kModule, sx_int_slots.data(),
                               "Atomic 64-bit integer (syncx API): add/sub/mul/div/inc/dec\n"
                               "return the PRIOR value, update() the new one.",
                               "value"_a = 0, "def __init__(self, value: int = 0) -> None",
                               nb::is_final());
  add_type<SxBool, "AtomicBool">(m, kModule, sx_bool_slots.data(), "Atomic boolean (syncx API).",
                                 "value"_a = false,
                                 "def __init__(self, value: bool = False) -> None", nb::is_final());
  add_type<SxFloat, "AtomicFloat">(m, kModule, sx_float_slots.data(), "Atomic 64-bit float (syncx API).",
                                   "value"_a = 0.0,
                                   "def __init__(self, value: float = 0.0) -> None", nb::is_final());
  add_type<SxRef, "AtomicReference">(
      m, kModule, sx_ref_slots.data(),
      "Thread-safe reference slot for any Python object (syncx API);\n"
      "compare_exchange matches by identity or equality.",
      "obj"_a = nb::none(), "def __init__(self, obj: object | None = None) -> None",
      nb::is_final(), nb::is_weak_referenceable());
}

void init_atomic_ft_utils(nb::module_& parent) {
  constexpr const char* kModule = "interlock.compat.ft_utils.concurrency";
  nb::module_ m = parent.def_submodule(
      "_ft_utils", "Native types of interlock.compat.ft_utils.concurrency (use that module).");

  add_type<FtInt64, "AtomicInt64">(m, kModule, ft_int_slots.data(),
                                   "A 64-bit integer that can be updated atomically (ft_utils\n"
                                   "API), with the numeric protocol.",
                                   "value"_a = 0, "def __init__(self, value: int = 0) -> None",
                                   nb::is_weak_referenceable());
  add_type<FtRef, "AtomicReference">(m, kModule, ft_ref_slots.data(),
                                     "A reference that can be updated atomically (ft_utils API).",
                                     &ft_ref_init, "def __init__(self, value: object | None = None, /) -> None",
                                     nb::is_final(), nb::is_weak_referenceable());
  add_type<FtFlag, "AtomicFlag">(m, kModule, ft_flag_slots.data(),
                                 "A boolean flag that can be updated atomically (ft_utils\nAPI).",
                                 "value"_a, "def __init__(self, value: object) -> None");
}

}  // namespace interlock::py::atomics
