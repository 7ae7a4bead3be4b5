// bindings/atomic.cpp — interlock._interlock.atomic: AtomicInt, AtomicBool,
// AtomicFloat, AtomicReference (public as interlock.atomic, whose docstring
// gives the naming rule); init_atomic also registers the façades' types
// (atomic_compat.cpp). Shared code: atomic_core.hpp.
#include <nanobind/nanobind.h>

#include <cstdint>
#include <type_traits>

#include "atomic_core.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace interlock::py::atomics {
namespace {

/// interlock.atomic's rules: the in-place operators take what the type's
/// own arithmetic takes (an __index__ integer, a real number; else
/// NotImplemented); a refused operand raises Python's own error for it;
/// update() takes fn's result's truth value.
struct Std {
  static constexpr bool kStrictBool = false;
  static int operand(PyObject* o, std::int64_t& n) noexcept {
    if (!PyIndex_Check(o)) return 0;
    n = PyLong_AsLongLong(o);
    return n == -1 && PyErr_Occurred() ? -1 : 1;
  }
  static int operand(PyObject* o, double& n) noexcept {
    // A real number: what float() takes through __float__ or __index__.
    const bool real = PyFloat_Check(o) || PyLong_Check(o) || PyType_GetSlot(Py_TYPE(o), Py_nb_float) ||
                      PyType_GetSlot(Py_TYPE(o), Py_nb_index);
    if (!real) return 0;
    n = PyFloat_AsDouble(o);
    return n == -1.0 && PyErr_Occurred() ? -1 : 1;
  }
  template <class Op, class T>
  IL_PY_COLD static void refuse() noexcept {
    if constexpr (Op::domain == ac::Domain::non_negative)
      PyErr_SetString(PyExc_ValueError, "negative shift count");
    else
      PyErr_SetString(PyExc_ZeroDivisionError, std::is_same_v<T, double> ? "float division by zero"
                                               : std::is_same_v<Op, op::mod> ? "integer modulo by zero"
                                                                              : "integer division by zero");
  }
};

using AtomicInt = Atomic<std::int64_t, Std>;
using AtomicBool = Atomic<bool, Std>;
using AtomicFloat = Atomic<double, Std>;
using AtomicReference = Ref<Std>;
using I = ops<AtomicInt>;
using B = ops<AtomicBool>;
using R = ops<AtomicReference>;

/// The methods every scalar type has: load / store / exchange /
/// compare_exchange (To says what a value argument becomes: " to
/// bool(value)"), update / fetch_update (New is the new value:
/// "bool(fn(value))"). Pickling and copying: python/interlock/atomic.py.
template <class C, fixed_string To, fixed_string New, fixed_string CasDoc>
std::array<PyMethodDef, 6> scalar_methods() noexcept {
  return {method<&ops<C>::load, "load($self, /)", "Return the current value.">(),
          method<&ops<C>::store, "store($self, value, /)", cat<"Set the value", To, ".">()>(),
          method<&ops<C>::exchange, "exchange($self, value, /)",
                 cat<"Set the value", To, "; return the prior one.">()>(),
          method<&ops<C>::compare_exchange,
                 cat<"compare_exchange($self, expected, desired) -> tuple[bool, ",
                     py_type<typename C::value_type>, "]">(),
                 CasDoc>(),
          method<&ops<C>::template update<true>, "update($self, fn, /)",
                 cat<"Replace the value by ", New, "; return the new value. fn runs\n"
                     "with no lock held; if another thread changed the value meanwhile, fn is\n"
                     "called again with the new value (so it may run more than once and should\n"
                     "have no side effects). An exception from fn leaves the value unchanged.">()>(),
          method<&ops<C>::template update<false>, "fetch_update($self, fn, /)",
                 "Like update(fn), but return the prior value.">()};
}

// ------------------------------------------------------------ AtomicInt

auto int_methods = table(
    scalar_methods<AtomicInt, "", "fn(value)",
           "If the value is expected, set it to desired. Return (succeeded, prior):\n"
           "prior is the value before the call (on failure, the current value).">(),
    fetch_pair<AtomicInt, op::add, "add", "Add n (wrapping at 64 bits)">(),
    fetch_pair<AtomicInt, op::sub, "sub", "Subtract n (wrapping)">(),
    fetch_pair<AtomicInt, op::mul, "mul", "Multiply by n (wrapping)">(),
    fetch_pair<AtomicInt, op::div, "div",
               "Floor-divide by n (like //; MIN // -1 wraps to MIN; ZeroDivisionError\n"
               "for n == 0, the value unchanged)">(),
    fetch_pair<AtomicInt, op::mod, "mod",
               "Replace the value by value % n (Python's %: the sign of n;\n"
               "ZeroDivisionError for n == 0, the value unchanged)">(),
    fetch_pair<AtomicInt, op::and_, "and", "Bitwise AND with n">(),
    fetch_pair<AtomicInt, op::or_, "or", "Bitwise OR with n">(),
    fetch_pair<AtomicInt, op::xor_, "xor", "Bitwise XOR with n">(),
    fetch_pair<AtomicInt, op::max, "max", "Set the value to max(value, n)">(),
    fetch_pair<AtomicInt, op::min, "min", "Set the value to min(value, n)">(),
    method<&I::fetch_n<op::add, false, 1>, "fetch_inc($self, /)",
           "Add one; return the prior value (like x++).">(),
    method<&I::fetch_n<op::add, true, 1>, "inc_fetch($self, /)",
           "Add one; return the new value (like ++x).">(),
    method<&I::fetch_n<op::sub, false, 1>, "fetch_dec($self, /)",
           "Subtract one; return the prior value (like x--).">(),
    method<&I::fetch_n<op::sub, true, 1>, "dec_fetch($self, /)",
           "Subtract one; return the new value (like --x).">(),
    method<&I::fetch_n<op::add, true, 1>, "inc($self, /)",
           "Add one; return the new value (like ++x; same as inc_fetch()).">(),
    method<&I::fetch_n<op::sub, true, 1>, "dec($self, /)",
           "Subtract one; return the new value (like --x; same as dec_fetch()).">());

auto int_slots = slot_table<AtomicInt, Slots<Py_nb_int, Py_nb_index, Py_nb_float, Py_nb_bool>,
                       Inplace<op::add, op::sub, op::mul, op::div, op::mod, op::and_, op::or_,
                               op::xor_, op::lshift, op::rshift>>(int_methods);

// ------------------------------------------------------------ AtomicBool

auto bool_methods = table(
    scalar_methods<AtomicBool, " to bool(value)", "bool(fn(value))",
           "If the value is bool(expected), set it to bool(desired). Return\n"
           "(succeeded, prior): prior is the value before the call (on failure,\n"
           "the current value).">(),
    fetch_pair<AtomicBool, op::and_, "and", "value AND bool(value)", "value">(),
    fetch_pair<AtomicBool, op::or_, "or", "value OR bool(value)", "value">(),
    fetch_pair<AtomicBool, op::xor_, "xor", "value XOR bool(value)", "value">(),
    method<&B::fetch_n<op::xor_, false, true>, "fetch_flip($self, /)",
           "Negate the value; return the prior value.">(),
    method<&B::fetch_n<op::xor_, true, true>, "flip_fetch($self, /)",
           "Negate the value; return the new value.">());

auto bool_slots = slot_table<AtomicBool, Slots<Py_nb_bool, Py_nb_int, Py_nb_index>>(bool_methods);

// ------------------------------------------------------------ AtomicFloat

auto float_methods = table(
    scalar_methods<AtomicFloat, "", "float(fn(value))",
           "If the stored double has the same bits as expected, set it to desired.\n"
           "Return (succeeded, prior). Bitwise: a NaN can be compare-exchanged,\n"
           "and -0.0 does not match 0.0.">(),
    fetch_pair<AtomicFloat, op::add, "add", "Add n">(),
    fetch_pair<AtomicFloat, op::sub, "sub", "Subtract n">(),
    fetch_pair<AtomicFloat, op::mul, "mul", "Multiply by n">(),
    fetch_pair<AtomicFloat, op::div, "div",
               "Divide by n (true division; ZeroDivisionError for n == 0.0, the value\n"
               "unchanged)">(),
    fetch_pair<AtomicFloat, op::max, "max",
               "Set the value to the larger of value and n (a NaN operand is ignored:\n"
               "IEEE 754 maximumNumber, like C's fmax; +0.0 counts as larger than -0.0)">(),
    fetch_pair<AtomicFloat, op::min, "min",
               "Set the value to the smaller of value and n (a NaN operand is ignored:\n"
               "IEEE 754 minimumNumber, like C's fmin; -0.0 counts as smaller than +0.0)">());

auto float_slots = slot_table<AtomicFloat, Slots<Py_nb_float, Py_nb_int, Py_nb_bool>,
                         Inplace<op::add, op::sub, op::mul, op::div>>(float_methods);

// ------------------------------------------------------------ AtomicReference

auto ref_methods = table(
    method<&R::load, "load($self, /) -> T", "Return the current object.">(),
    method<&R::load, "get($self, /) -> T", "Return the current object (same as load()).">(),
    method<&R::store, "store($self, obj: T, /)", "Replace the object.">(),
    method<&R::store, "set($self, obj: T, /)", "Replace the object (same as store()).">(),
    method<&R::exchange, "exchange($self, obj: T, /) -> T",
           "Replace the object; return the prior one.">(),
    method<&R::compare_exchange, "compare_exchange($self, expected, desired: T) -> tuple[bool, T]",
           "If the current object IS expected (identity, not ==), replace it by\n"
           "desired. Return (succeeded, prior): prior is the object before the\n"
           "call (on failure, the current object).">(),
    method<&R::update<true>, "update($self, fn: typing.Callable[[T], T], /) -> T",
           "Replace the object by fn(object); return the new object. fn runs with\n"
           "no lock held; if another thread replaced the object meanwhile\n"
           "(identity), fn is called again with the new one. An exception from fn\n"
           "leaves the reference unchanged.">(),
    method<&R::update<false>, "fetch_update($self, fn: typing.Callable[[T], T], /) -> T",
           "Like update(fn), but return the prior object.">());

auto ref_slots =
    slot_table<AtomicReference, Slots<Py_tp_traverse, Py_tp_clear>>(ref_methods);

}  // namespace
}  // namespace interlock::py::atomics

namespace interlock::py {

void init_atomic(nb::module_& m) {
  using namespace atomics;
  constexpr const char* kModule = "interlock.atomic";

  add_type<AtomicInt, "AtomicInt">(
      m, kModule, int_slots.data(),
      "AtomicInt(value=0)\n\n"
      "A signed 64-bit integer that any number of threads may update at once.\n\n"
      "fetch_<op>(n) returns the value before the operation, <op>_fetch(n) the\n"
      "value after it; inc()/dec() are like ++x/--x (the new value). Arithmetic\n"
      "wraps at 64 bits like C++ atomics (two's complement); an argument outside\n"
      "int64 raises OverflowError. Division and modulo follow Python's // and %;\n"
      "by zero they raise ZeroDivisionError and leave the value unchanged.\n"
      "In-place operators (+=, -=, *=, //=, %=, &=, |=, ^=, <<=, >>=) are atomic\n"
      "and keep the object. Equality and hashing are by identity: the value is\n"
      "mutable, so value-based hashing would break dicts and sets.",
      "value"_a = 0, "def __init__(self, value: typing.SupportsIndex = 0) -> None");
  add_type<AtomicBool, "AtomicBool">(
      m, kModule, bool_slots.data(),
      "AtomicBool(value=False)\n\n"
      "A boolean that any number of threads may update at once. Arguments are\n"
      "taken by truth value, like bool(x). fetch_<op> returns the prior value,\n"
      "<op>_fetch the new one.",
      "value"_a = false, "def __init__(self, value: object = False) -> None");
  add_type<AtomicFloat, "AtomicFloat">(
      m, kModule, float_slots.data(),
      "AtomicFloat(value=0.0)\n\n"
      "A 64-bit float that any number of threads may update at once (arithmetic\n"
      "is a compare-exchange loop). Arguments: anything float() accepts through\n"
      "__float__ or __index__. compare_exchange compares bit patterns.",
      "value"_a = 0.0,
      "def __init__(self, value: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None");
  add_type<AtomicReference, "AtomicReference">(
      m, kModule, ref_slots.data(),
      "AtomicReference(obj=None)\n\n"
      "A reference to any object that any number of threads may read and replace\n"
      "at once (also on free-threaded builds: a reader never sees a freed\n"
      "object). compare_exchange compares by identity. AtomicReference[T] is a\n"
      "generic alias for type checkers.",
      "obj"_a = nb::none(), "def __init__(self, obj: T | None = None) -> None",
      nb::is_weak_referenceable());

  init_atomic_syncx(m);
  init_atomic_ft_utils(m);
}

}  // namespace interlock::py
