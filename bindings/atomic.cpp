// bindings/atomic.cpp — interlock._interlock.atomic: AtomicInt, AtomicBool,
// AtomicFloat, AtomicReference (public as interlock.atomic). The compatibility
// façades' types (syncx, ft_utils) are in atomic_compat.cpp and registered
// from init_atomic too.
//
// Naming rule (GCC's __atomic builtins): fetch_<op> returns the value before
// the operation, <op>_fetch the value after it. Every hot method is a fast
// method (fast_methods.hpp); the numeric protocol is type slots.
#include <nanobind/nanobind.h>

#include <cstdint>
#include <string>

#include "atomic_core.hpp"
#include "fast_methods.hpp"
#include "module.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
using namespace nb::literals;

namespace {

using namespace interlock::py::atomics;

struct AtomicInt : IntCell {
  using IntCell::IntCell;
};
struct AtomicBool : BoolCell {
  using BoolCell::BoolCell;
};
struct AtomicFloat : FloatCell {
  using FloatCell::FloatCell;
};
struct AtomicReference : RefCell {
  using RefCell::RefCell;
};

using IOps = IntOps<AtomicInt>;
using BOps = BoolOps<AtomicBool>;
using FOps = FloatOps<AtomicFloat>;
using ROps = RefOps<AtomicReference>;

// ------------------------------------------------------------ AtomicInt checked ops

std::int64_t int_fetch_div(AtomicInt& c, std::int64_t n) {
  if (n == 0) raise(PyExc_ZeroDivisionError, "integer division by zero");
  return c.rmw([n](std::int64_t x) { return floor_div(x, n); }).first;
}
std::int64_t int_div_fetch(AtomicInt& c, std::int64_t n) {
  if (n == 0) raise(PyExc_ZeroDivisionError, "integer division by zero");
  return c.rmw([n](std::int64_t x) { return floor_div(x, n); }).second;
}
std::int64_t int_fetch_mod(AtomicInt& c, std::int64_t n) {
  if (n == 0) raise(PyExc_ZeroDivisionError, "integer modulo by zero");
  return c.rmw([n](std::int64_t x) { return floor_mod(x, n); }).first;
}
std::int64_t int_mod_fetch(AtomicInt& c, std::int64_t n) {
  if (n == 0) raise(PyExc_ZeroDivisionError, "integer modulo by zero");
  return c.rmw([n](std::int64_t x) { return floor_mod(x, n); }).second;
}

// ------------------------------------------------------------ AtomicInt slots

enum class IntIop { add, sub, mul, floordiv, mod, and_, or_, xor_, lshift, rshift };

/// a <op>= n: atomic; returns self. NotImplemented for a non-integer n (so
/// Python raises its usual TypeError), OverflowError past 64 bits,
/// ZeroDivisionError / ValueError (negative shift) with the value unchanged.
template <IntIop Op>
PyObject* int_iop(PyObject* self, PyObject* other) noexcept {
  AtomicInt* c = ready<AtomicInt>(self, "in-place operator");
  if (!c) return nullptr;
  if (!PyIndex_Check(other)) Py_RETURN_NOTIMPLEMENTED;
  const long long n = PyLong_AsLongLong(other);
  if (n == -1 && PyErr_Occurred()) return nullptr;
  if constexpr (Op == IntIop::add) {
    c->v.fetch_add(n);
  } else if constexpr (Op == IntIop::sub) {
    c->v.fetch_sub(n);
  } else if constexpr (Op == IntIop::mul) {
    c->rmw([n](std::int64_t x) { return wrap_mul(x, n); });
  } else if constexpr (Op == IntIop::floordiv) {
    if (n == 0) return set_error(PyExc_ZeroDivisionError, "integer division by zero");
    c->rmw([n](std::int64_t x) { return floor_div(x, n); });
  } else if constexpr (Op == IntIop::mod) {
    if (n == 0) return set_error(PyExc_ZeroDivisionError, "integer modulo by zero");
    c->rmw([n](std::int64_t x) { return floor_mod(x, n); });
  } else if constexpr (Op == IntIop::and_) {
    c->v.fetch_and(n);
  } else if constexpr (Op == IntIop::or_) {
    c->v.fetch_or(n);
  } else if constexpr (Op == IntIop::xor_) {
    c->v.fetch_xor(n);
  } else if constexpr (Op == IntIop::lshift) {
    if (n < 0) return set_error(PyExc_ValueError, "negative shift count");
    c->rmw([n](std::int64_t x) { return shift_left(x, n); });
  } else {
    if (n < 0) return set_error(PyExc_ValueError, "negative shift count");
    c->rmw([n](std::int64_t x) { return shift_right(x, n); });
  }
  return Py_NewRef(self);
}

PyObject* int_to_int(PyObject* self) noexcept {
  AtomicInt* c = ready<AtomicInt>(self, "__int__");
  return c ? PyLong_FromLongLong(c->load()) : nullptr;
}
PyObject* int_to_float(PyObject* self) noexcept {
  AtomicInt* c = ready<AtomicInt>(self, "__float__");
  return c ? PyFloat_FromDouble(static_cast<double>(c->load())) : nullptr;
}
int int_to_bool(PyObject* self) noexcept {
  AtomicInt* c = ready<AtomicInt>(self, "__bool__");
  return c ? c->load() != 0 : -1;
}
PyObject* int_repr(PyObject* self) noexcept {
  AtomicInt* c = ready<AtomicInt>(self, "__repr__");
  return c ? PyUnicode_FromFormat("%s(%lld)", type_name(self), static_cast<long long>(c->load()))
           : nullptr;
}

#define IL_SCALAR_PROTOCOL(C, Ops)                                                              \
  {"__reduce__", reinterpret_cast<PyCFunction>(&reduce_method<C, &Ops::py_value>), METH_NOARGS, \
   "__reduce__($self, /)\n--\n\nPickle support: (type(self), (value,))."},                      \
      {"__copy__", reinterpret_cast<PyCFunction>(&copy_method<C, &Ops::py_value>), METH_NOARGS,  \
       "__copy__($self, /)\n--\n\nA new object holding the current value."},                    \
      {"__deepcopy__", reinterpret_cast<PyCFunction>(&deepcopy_scalar_method<C, &Ops::py_value>), \
       METH_O, "__deepcopy__($self, memo, /)\n--\n\nA new object holding the current value."}

PyMethodDef int_methods[] = {
    ilpy::method<&IOps::load, "load($self, /)", "Return the current value.">(),
    ilpy::method<&IOps::store, "store($self, value, /)", "Set the value.">(),
    ilpy::method<&IOps::exchange, "exchange($self, value, /)",
                 "Set the value; return the prior one.">(),
    ilpy::method<&IOps::compare_exchange, "compare_exchange($self, expected, desired) -> tuple[bool, int]",
                 "If the value is expected, set it to desired. Return (succeeded, prior):\n"
                 "prior is the value before the call (on failure, the current value).">(),
    ilpy::method<&IOps::fetch_add, "fetch_add($self, n, /)",
                 "Add n (wrapping at 64 bits); return the prior value.">(),
    ilpy::method<&IOps::add_fetch, "add_fetch($self, n, /)",
                 "Add n (wrapping at 64 bits); return the new value.">(),
    ilpy::method<&IOps::fetch_sub, "fetch_sub($self, n, /)",
                 "Subtract n (wrapping); return the prior value.">(),
    ilpy::method<&IOps::sub_fetch, "sub_fetch($self, n, /)",
                 "Subtract n (wrapping); return the new value.">(),
    ilpy::method<&IOps::fetch_mul, "fetch_mul($self, n, /)",
                 "Multiply by n (wrapping); return the prior value.">(),
    ilpy::method<&IOps::mul_fetch, "mul_fetch($self, n, /)",
                 "Multiply by n (wrapping); return the new value.">(),
    ilpy::method<&int_fetch_div, "fetch_div($self, n, /)",
                 "Floor-divide by n (like //; MIN // -1 wraps to MIN); return the prior\n"
                 "value. ZeroDivisionError for n == 0 (the value is unchanged).">(),
    ilpy::method<&int_div_fetch, "div_fetch($self, n, /)",
                 "Floor-divide by n (like //); return the new value. ZeroDivisionError\n"
                 "for n == 0 (the value is unchanged).">(),
    ilpy::method<&int_fetch_mod, "fetch_mod($self, n, /)",
                 "Replace the value by value % n (Python's %: the sign of n); return the\n"
                 "prior value. ZeroDivisionError for n == 0 (the value is unchanged).">(),
    ilpy::method<&int_mod_fetch, "mod_fetch($self, n, /)",
                 "Replace the value by value % n; return the new value.\n"
                 "ZeroDivisionError for n == 0 (the value is unchanged).">(),
    ilpy::method<&IOps::fetch_and, "fetch_and($self, n, /)",
                 "Bitwise AND with n; return the prior value.">(),
    ilpy::method<&IOps::and_fetch, "and_fetch($self, n, /)",
                 "Bitwise AND with n; return the new value.">(),
    ilpy::method<&IOps::fetch_or, "fetch_or($self, n, /)",
                 "Bitwise OR with n; return the prior value.">(),
    ilpy::method<&IOps::or_fetch, "or_fetch($self, n, /)",
                 "Bitwise OR with n; return the new value.">(),
    ilpy::method<&IOps::fetch_xor, "fetch_xor($self, n, /)",
                 "Bitwise XOR with n; return the prior value.">(),
    ilpy::method<&IOps::xor_fetch, "xor_fetch($self, n, /)",
                 "Bitwise XOR with n; return the new value.">(),
    ilpy::method<&IOps::fetch_max, "fetch_max($self, n, /)",
                 "Set the value to max(value, n); return the prior value.">(),
    ilpy::method<&IOps::max_fetch, "max_fetch($self, n, /)",
                 "Set the value to max(value, n); return the new value.">(),
    ilpy::method<&IOps::fetch_min, "fetch_min($self, n, /)",
                 "Set the value to min(value, n); return the prior value.">(),
    ilpy::method<&IOps::min_fetch, "min_fetch($self, n, /)",
                 "Set the value to min(value, n); return the new value.">(),
    ilpy::method<&IOps::fetch_inc, "fetch_inc($self, /)",
                 "Add one; return the prior value (like x++).">(),
    ilpy::method<&IOps::inc_fetch, "inc_fetch($self, /)",
                 "Add one; return the new value (like ++x).">(),
    ilpy::method<&IOps::fetch_dec, "fetch_dec($self, /)",
                 "Subtract one; return the prior value (like x--).">(),
    ilpy::method<&IOps::dec_fetch, "dec_fetch($self, /)",
                 "Subtract one; return the new value (like --x).">(),
    ilpy::method<&IOps::inc_fetch, "inc($self, /)",
                 "Add one; return the new value (like ++x; same as inc_fetch()).">(),
    ilpy::method<&IOps::dec_fetch, "dec($self, /)",
                 "Subtract one; return the new value (like --x; same as dec_fetch()).">(),
    ilpy::method<&IOps::update<true>, "update($self, fn, /)",
                 "Replace the value by fn(value); return the new value. fn runs with no\n"
                 "lock held; if another thread changed the value meanwhile, fn is called\n"
                 "again with the new value (so it may run more than once and should have\n"
                 "no side effects). An exception from fn leaves the value unchanged.">(),
    ilpy::method<&IOps::update<false>, "fetch_update($self, fn, /)",
                 "Like update(fn), but return the prior value.">(),
    IL_SCALAR_PROTOCOL(AtomicInt, IOps),
    ilpy::methods_end,
};

PyType_Slot int_slots[] = {
    {Py_tp_methods, int_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&int_repr)},
    {Py_nb_int, reinterpret_cast<void*>(&int_to_int)},
    {Py_nb_index, reinterpret_cast<void*>(&int_to_int)},
    {Py_nb_float, reinterpret_cast<void*>(&int_to_float)},
    {Py_nb_bool, reinterpret_cast<void*>(&int_to_bool)},
    {Py_nb_inplace_add, reinterpret_cast<void*>(&int_iop<IntIop::add>)},
    {Py_nb_inplace_subtract, reinterpret_cast<void*>(&int_iop<IntIop::sub>)},
    {Py_nb_inplace_multiply, reinterpret_cast<void*>(&int_iop<IntIop::mul>)},
    {Py_nb_inplace_floor_divide, reinterpret_cast<void*>(&int_iop<IntIop::floordiv>)},
    {Py_nb_inplace_remainder, reinterpret_cast<void*>(&int_iop<IntIop::mod>)},
    {Py_nb_inplace_and, reinterpret_cast<void*>(&int_iop<IntIop::and_>)},
    {Py_nb_inplace_or, reinterpret_cast<void*>(&int_iop<IntIop::or_>)},
    {Py_nb_inplace_xor, reinterpret_cast<void*>(&int_iop<IntIop::xor_>)},
    {Py_nb_inplace_lshift, reinterpret_cast<void*>(&int_iop<IntIop::lshift>)},
    {Py_nb_inplace_rshift, reinterpret_cast<void*>(&int_iop<IntIop::rshift>)},
    {0, nullptr},
};

// ------------------------------------------------------------ AtomicBool

PyObject* bool_to_int(PyObject* self) noexcept {
  AtomicBool* c = ready<AtomicBool>(self, "__int__");
  return c ? PyLong_FromLong(c->load() ? 1 : 0) : nullptr;
}
int bool_to_bool(PyObject* self) noexcept {
  AtomicBool* c = ready<AtomicBool>(self, "__bool__");
  return c ? (c->load() ? 1 : 0) : -1;
}
PyObject* bool_repr(PyObject* self) noexcept {
  AtomicBool* c = ready<AtomicBool>(self, "__repr__");
  return c ? PyUnicode_FromFormat("%s(%s)", type_name(self), c->load() ? "True" : "False")
           : nullptr;
}

PyMethodDef bool_methods[] = {
    ilpy::method<&BOps::load, "load($self, /)", "Return the current value.">(),
    ilpy::method<&BOps::store, "store($self, value, /)",
                 "Set the value to bool(value).">(),
    ilpy::method<&BOps::exchange, "exchange($self, value, /)",
                 "Set the value to bool(value); return the prior one.">(),
    ilpy::method<&BOps::compare_exchange, "compare_exchange($self, expected, desired) -> tuple[bool, bool]",
                 "If the value is bool(expected), set it to bool(desired). Return\n"
                 "(succeeded, prior): prior is the value before the call (on failure,\n"
                 "the current value).">(),
    ilpy::method<&BOps::fetch_and, "fetch_and($self, value, /)",
                 "value AND bool(value); return the prior value.">(),
    ilpy::method<&BOps::and_fetch, "and_fetch($self, value, /)",
                 "value AND bool(value); return the new value.">(),
    ilpy::method<&BOps::fetch_or, "fetch_or($self, value, /)",
                 "value OR bool(value); return the prior value.">(),
    ilpy::method<&BOps::or_fetch, "or_fetch($self, value, /)",
                 "value OR bool(value); return the new value.">(),
    ilpy::method<&BOps::fetch_xor, "fetch_xor($self, value, /)",
                 "value XOR bool(value); return the prior value.">(),
    ilpy::method<&BOps::xor_fetch, "xor_fetch($self, value, /)",
                 "value XOR bool(value); return the new value.">(),
    ilpy::method<&BOps::fetch_flip, "fetch_flip($self, /)",
                 "Negate the value; return the prior value.">(),
    ilpy::method<&BOps::flip_fetch, "flip_fetch($self, /)",
                 "Negate the value; return the new value.">(),
    ilpy::method<&BOps::update<true, false>, "update($self, fn, /)",
                 "Replace the value by bool(fn(value)); return the new value (see\n"
                 "AtomicInt.update: fn may run more than once).">(),
    ilpy::method<&BOps::update<false, false>, "fetch_update($self, fn, /)",
                 "Like update(fn), but return the prior value.">(),
    IL_SCALAR_PROTOCOL(AtomicBool, BOps),
    ilpy::methods_end,
};

PyType_Slot bool_slots[] = {
    {Py_tp_methods, bool_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&bool_repr)},
    {Py_nb_bool, reinterpret_cast<void*>(&bool_to_bool)},
    {Py_nb_int, reinterpret_cast<void*>(&bool_to_int)},
    {Py_nb_index, reinterpret_cast<void*>(&bool_to_int)},
    {0, nullptr},
};

// ------------------------------------------------------------ AtomicFloat

enum class FloatIop { add, sub, mul, div };

template <FloatIop Op>
PyObject* float_iop(PyObject* self, PyObject* other) noexcept {
  AtomicFloat* c = ready<AtomicFloat>(self, "in-place operator");
  if (!c) return nullptr;
  if (!is_real_number(other)) Py_RETURN_NOTIMPLEMENTED;
  const double n = PyFloat_AsDouble(other);
  if (n == -1.0 && PyErr_Occurred()) return nullptr;
  if constexpr (Op == FloatIop::add) {
    c->rmw([n](double x) { return x + n; });
  } else if constexpr (Op == FloatIop::sub) {
    c->rmw([n](double x) { return x - n; });
  } else if constexpr (Op == FloatIop::mul) {
    c->rmw([n](double x) { return x * n; });
  } else {
    if (n == 0.0) return set_error(PyExc_ZeroDivisionError, "float division by zero");
    c->rmw([n](double x) { return x / n; });
  }
  return Py_NewRef(self);
}

PyObject* float_to_float(PyObject* self) noexcept {
  AtomicFloat* c = ready<AtomicFloat>(self, "__float__");
  return c ? PyFloat_FromDouble(c->load()) : nullptr;
}
PyObject* float_to_int(PyObject* self) noexcept {
  AtomicFloat* c = ready<AtomicFloat>(self, "__int__");
  return c ? PyLong_FromDouble(c->load()) : nullptr;  // truncates; inf/nan raise
}
int float_to_bool(PyObject* self) noexcept {
  AtomicFloat* c = ready<AtomicFloat>(self, "__bool__");
  return c ? (c->load() != 0.0 ? 1 : 0) : -1;
}
PyObject* float_repr_slot(PyObject* self) noexcept {
  AtomicFloat* c = ready<AtomicFloat>(self, "__repr__");
  if (!c) return nullptr;
  char* s = PyOS_double_to_string(c->load(), 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
  if (!s) return nullptr;
  PyObject* r = PyUnicode_FromFormat("%s(%s)", type_name(self), s);
  PyMem_Free(s);
  return r;
}

PyMethodDef float_methods[] = {
    ilpy::method<&FOps::load, "load($self, /)", "Return the current value.">(),
    ilpy::method<&FOps::store, "store($self, value, /)", "Set the value.">(),
    ilpy::method<&FOps::exchange, "exchange($self, value, /)",
                 "Set the value; return the prior one.">(),
    ilpy::method<&FOps::compare_exchange, "compare_exchange($self, expected, desired) -> tuple[bool, float]",
                 "If the stored double has the same bits as expected, set it to desired.\n"
                 "Return (succeeded, prior). Bitwise: a NaN can be compare-exchanged,\n"
                 "and -0.0 does not match 0.0.">(),
    ilpy::method<&FOps::fetch_add, "fetch_add($self, n, /)",
                 "Add n; return the prior value.">(),
    ilpy::method<&FOps::add_fetch, "add_fetch($self, n, /)",
                 "Add n; return the new value.">(),
    ilpy::method<&FOps::fetch_sub, "fetch_sub($self, n, /)",
                 "Subtract n; return the prior value.">(),
    ilpy::method<&FOps::sub_fetch, "sub_fetch($self, n, /)",
                 "Subtract n; return the new value.">(),
    ilpy::method<&FOps::fetch_mul, "fetch_mul($self, n, /)",
                 "Multiply by n; return the prior value.">(),
    ilpy::method<&FOps::mul_fetch, "mul_fetch($self, n, /)",
                 "Multiply by n; return the new value.">(),
    ilpy::method<&FOps::fetch_div, "fetch_div($self, n, /)",
                 "Divide by n (true division); return the prior value.\n"
                 "ZeroDivisionError for n == 0.0 (the value is unchanged).">(),
    ilpy::method<&FOps::div_fetch, "div_fetch($self, n, /)",
                 "Divide by n (true division); return the new value.\n"
                 "ZeroDivisionError for n == 0.0 (the value is unchanged).">(),
    ilpy::method<&FOps::fetch_max, "fetch_max($self, n, /)",
                 "Set the value to the larger of value and n; return the prior value.\n"
                 "A NaN operand is ignored (IEEE 754 maximumNumber, like C's fmax);\n"
                 "+0.0 counts as larger than -0.0.">(),
    ilpy::method<&FOps::max_fetch, "max_fetch($self, n, /)",
                 "Like fetch_max(n), but return the new value.">(),
    ilpy::method<&FOps::fetch_min, "fetch_min($self, n, /)",
                 "Set the value to the smaller of value and n; return the prior value.\n"
                 "A NaN operand is ignored (IEEE 754 minimumNumber, like C's fmin);\n"
                 "-0.0 counts as smaller than +0.0.">(),
    ilpy::method<&FOps::min_fetch, "min_fetch($self, n, /)",
                 "Like fetch_min(n), but return the new value.">(),
    ilpy::method<&FOps::update<true>, "update($self, fn, /)",
                 "Replace the value by float(fn(value)); return the new value (see\n"
                 "AtomicInt.update: fn may run more than once).">(),
    ilpy::method<&FOps::update<false>, "fetch_update($self, fn, /)",
                 "Like update(fn), but return the prior value.">(),
    IL_SCALAR_PROTOCOL(AtomicFloat, FOps),
    ilpy::methods_end,
};

PyType_Slot float_slots[] = {
    {Py_tp_methods, float_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&float_repr_slot)},
    {Py_nb_float, reinterpret_cast<void*>(&float_to_float)},
    {Py_nb_int, reinterpret_cast<void*>(&float_to_int)},
    {Py_nb_bool, reinterpret_cast<void*>(&float_to_bool)},
    {Py_nb_inplace_add, reinterpret_cast<void*>(&float_iop<FloatIop::add>)},
    {Py_nb_inplace_subtract, reinterpret_cast<void*>(&float_iop<FloatIop::sub>)},
    {Py_nb_inplace_multiply, reinterpret_cast<void*>(&float_iop<FloatIop::mul>)},
    {Py_nb_inplace_true_divide, reinterpret_cast<void*>(&float_iop<FloatIop::div>)},
    {0, nullptr},
};

// ------------------------------------------------------------ AtomicReference

PyObject* ref_repr(PyObject* self) noexcept {
  AtomicReference* c = ready<AtomicReference>(self, "__repr__");
  if (!c) return nullptr;
  PyObject* o = c->load();
  const int rc = Py_ReprEnter(self);
  if (rc != 0) {
    Py_DECREF(o);
    return rc > 0 ? PyUnicode_FromFormat("%s(...)", type_name(self)) : nullptr;
  }
  PyObject* r = PyUnicode_FromFormat("%s(%R)", type_name(self), o);
  Py_ReprLeave(self);
  Py_DECREF(o);
  return r;
}

/// __deepcopy__(memo): a new reference to a deep copy of the object
/// (registered in memo first, so a reference that reaches itself is copied
/// into a reference that reaches the copy).
PyObject* ref_deepcopy(PyObject* self, PyObject* memo) noexcept {
  AtomicReference* c = ready<AtomicReference>(self, "__deepcopy__");
  if (!c) return nullptr;
  PyObject* result = PyObject_CallNoArgs(reinterpret_cast<PyObject*>(Py_TYPE(self)));
  if (!result) return nullptr;
  AtomicReference* rc = ready<AtomicReference>(result, "__deepcopy__");
  if (!rc) {
    Py_DECREF(result);
    return nullptr;
  }
  if (PyDict_Check(memo)) {
    PyObject* key = PyLong_FromVoidPtr(self);
    const int err = key ? PyDict_SetItem(memo, key, result) : -1;
    Py_XDECREF(key);
    if (err < 0) {
      Py_DECREF(result);
      return nullptr;
    }
  }
  PyObject* copy_mod = PyImport_ImportModule("copy");
  PyObject* deepcopy = copy_mod ? PyObject_GetAttrString(copy_mod, "deepcopy") : nullptr;
  Py_XDECREF(copy_mod);
  PyObject* o = c->load();
  PyObject* copied = deepcopy ? PyObject_CallFunctionObjArgs(deepcopy, o, memo, nullptr) : nullptr;
  Py_XDECREF(deepcopy);
  Py_DECREF(o);
  if (!copied) {
    Py_DECREF(result);
    return nullptr;
  }
  rc->store(copied);
  Py_DECREF(copied);
  return result;
}

PyMethodDef ref_methods[] = {
    ilpy::method<&ROps::load, "load($self, /) -> T", "Return the current object.">(),
    ilpy::method<&ROps::load, "get($self, /) -> T", "Return the current object (same as load()).">(),
    ilpy::method<&ROps::store, "store($self, obj: T, /)", "Replace the object.">(),
    ilpy::method<&ROps::store, "set($self, obj: T, /)", "Replace the object (same as store()).">(),
    ilpy::method<&ROps::exchange, "exchange($self, obj: T, /) -> T",
                 "Replace the object; return the prior one.">(),
    ilpy::method<&ROps::compare_exchange, "compare_exchange($self, expected, desired: T) -> tuple[bool, T]",
                 "If the current object IS expected (identity, not ==), replace it by\n"
                 "desired. Return (succeeded, prior): prior is the object before the\n"
                 "call (on failure, the current object).">(),
    ilpy::method<&ROps::update<true>, "update($self, fn: typing.Callable[[T], T], /) -> T",
                 "Replace the object by fn(object); return the new object. fn runs with\n"
                 "no lock held; if another thread replaced the object meanwhile\n"
                 "(identity), fn is called again with the new one. An exception from fn\n"
                 "leaves the reference unchanged.">(),
    ilpy::method<&ROps::update<false>, "fetch_update($self, fn: typing.Callable[[T], T], /) -> T",
                 "Like update(fn), but return the prior object.">(),
    {"__reduce__", reinterpret_cast<PyCFunction>(&reduce_method<AtomicReference, &ROps::py_value>),
     METH_NOARGS, "__reduce__($self, /)\n--\n\nPickle support: (type(self), (obj,))."},
    {"__copy__", reinterpret_cast<PyCFunction>(&copy_method<AtomicReference, &ROps::py_value>),
     METH_NOARGS, "__copy__($self, /)\n--\n\nA new AtomicReference to the same object."},
    {"__deepcopy__", reinterpret_cast<PyCFunction>(&ref_deepcopy), METH_O,
     "__deepcopy__($self, memo, /)\n--\n\nA new AtomicReference to a deep copy of the object."},
    {"__class_getitem__", reinterpret_cast<PyCFunction>(&Py_GenericAlias), METH_O | METH_CLASS,
     "__class_getitem__($cls, item, /)\n--\n\nAtomicReference[T]: a types.GenericAlias."},
    ilpy::methods_end,
};

PyType_Slot ref_slots[] = {
    {Py_tp_methods, ref_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&ref_repr)},
    {Py_tp_traverse, reinterpret_cast<void*>(&ilpy::traverse_slot<AtomicReference>)},
    {Py_tp_clear, reinterpret_cast<void*>(&ilpy::clear_slot<AtomicReference>)},
    {0, nullptr},
};

}  // namespace

namespace interlock::py {

void init_atomic(nb::module_& m) {
  constexpr const char* kModule = "interlock.atomic";

  auto int_cls = nb::class_<AtomicInt>(
      m, "AtomicInt", nb::type_slots(int_slots),
      "AtomicInt(value=0)\n\n"
      "A signed 64-bit integer that any number of threads may update at once.\n\n"
      "fetch_<op>(n) returns the value before the operation, <op>_fetch(n) the\n"
      "value after it; inc()/dec() are like ++x/--x (the new value). Arithmetic\n"
      "wraps at 64 bits like C++ atomics (two's complement); an argument outside\n"
      "int64 raises OverflowError. Division and modulo follow Python's // and %;\n"
      "by zero they raise ZeroDivisionError and leave the value unchanged.\n"
      "In-place operators (+=, -=, *=, //=, %=, &=, |=, ^=, <<=, >>=) are atomic\n"
      "and keep the object. Equality and hashing are by identity: the value is\n"
      "mutable, so value-based hashing would break dicts and sets.");
  int_cls.def(
      "__init__",
      [](AtomicInt* self, nb::handle value) {
        new (self) AtomicInt(to_i64(value.ptr(), "AtomicInt"));
      },
      "value"_a = 0, nb::sig("def __init__(self, value: typing.SupportsIndex = 0) -> None"));
  atomics::set_module(int_cls, kModule);

  auto bool_cls = nb::class_<AtomicBool>(
      m, "AtomicBool", nb::type_slots(bool_slots),
      "AtomicBool(value=False)\n\n"
      "A boolean that any number of threads may update at once. Arguments are\n"
      "taken by truth value, like bool(x). fetch_<op> returns the prior value,\n"
      "<op>_fetch the new one.");
  bool_cls.def(
      "__init__",
      [](AtomicBool* self, nb::handle value) {
        new (self) AtomicBool(to_bool(value.ptr(), "AtomicBool"));
      },
      "value"_a = false, nb::sig("def __init__(self, value: object = False) -> None"));
  atomics::set_module(bool_cls, kModule);

  auto float_cls = nb::class_<AtomicFloat>(
      m, "AtomicFloat", nb::type_slots(float_slots),
      "AtomicFloat(value=0.0)\n\n"
      "A 64-bit float that any number of threads may update at once (arithmetic\n"
      "is a compare-exchange loop). Arguments: anything float() accepts through\n"
      "__float__ or __index__. compare_exchange compares bit patterns.");
  float_cls.def(
      "__init__",
      [](AtomicFloat* self, nb::handle value) {
        new (self) AtomicFloat(to_f64(value.ptr(), "AtomicFloat"));
      },
      "value"_a = 0.0, nb::sig("def __init__(self, value: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None"));
  atomics::set_module(float_cls, kModule);

  auto ref_cls = nb::class_<AtomicReference>(
      m, "AtomicReference", nb::type_slots(ref_slots), nb::is_weak_referenceable(),
      "AtomicReference(obj=None)\n\n"
      "A reference to any object that any number of threads may read and replace\n"
      "at once (also on free-threaded builds: a reader never sees a freed\n"
      "object). compare_exchange compares by identity. AtomicReference[T] is a\n"
      "generic alias for type checkers.");
  ilpy::use_trashcan(ref_cls);
  ref_cls.def(
      "__init__",
      [](AtomicReference* self, nb::handle obj) { new (self) AtomicReference(obj.ptr()); },
      "obj"_a = nb::none(), nb::sig("def __init__(self, obj: T | None = None) -> None"));
  atomics::set_module(ref_cls, kModule);

  atomics::init_atomic_syncx(m);
  atomics::init_atomic_ft_utils(m);
}

}  // namespace interlock::py
