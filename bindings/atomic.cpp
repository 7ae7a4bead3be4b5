// bindings/atomic.cpp — interlock._interlock.atomic (public as
// interlock.atomic) and the native types of its façades, in the submodules
// _syncx (interlock.compat.syncx.atomic) and _ft_utils
// (interlock.compat.ft_utils.concurrency). Design: docs/design.md, "The C++
// core" (the atomic_cell row): the value rules are the core's
// (interlock/atomic_cell.hpp). Each Python type is a distinct C++ struct,
// Atomic<T, F> (a core Cell<T>) or Ref<F> (a core RefSlot), because nanobind
// registers one Python type per C++ type; F is the façade's rules struct (Std,
// Sx, Ft: operands, names, exceptions) and the methods are ops<C>'s templates.
// Nothing relies on the GIL.
#include <nanobind/nanobind.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "fast_methods.hpp"
#include "interlock/atomic_cell.hpp"
#include "method_table.hpp"
#include "module.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace interlock::py::atomics {
namespace {

namespace ac = interlock::atomic_cell;
namespace op = interlock::atomic_cell::op;

// ============================================================ types

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

/// A value cell of one façade: T is std::int64_t, bool or double.
template <class T, class F>
struct alignas(kCellAlign) Atomic : ac::Cell<T> {
  using facade = F;
  using ac::Cell<T>::Cell;
};

/// Python's reference counting for the core's RefSlot (Py_INCREF runs no
/// Python code, so it may run under the slot's lock).
struct PyRefs {
  static void retain(PyObject* o) noexcept { Py_INCREF(o); }
  static void release(PyObject* o) noexcept { Py_DECREF(o); }
};

/// A reference cell of one façade; the slot is never null once constructed.
template <class F>
struct Ref : ac::RefSlot<PyObject, PyRefs> {
  using facade = F;
  using value_type = PyObject*;
  explicit Ref(PyObject* o) noexcept : RefSlot(o) {}
  /// tp_traverse (under the slot's lock: a concurrent gc.get_referents()
  /// never sees a freed object) and tp_clear (None replaces the object).
  int traverse(visitproc visit, void* arg) const noexcept {
    return this->visit([&](PyObject* o) { return visit(o, arg); });
  }
  void clear() noexcept { this->store(Py_None); }
};

// ============================================================ conversions

/// Only True or False (syncx's bool arguments): TypeError for anything else.
inline bool to_strict_bool(PyObject* o, const char* what) {
  if (o == Py_True || o == Py_False) return o == Py_True;
  PyErr_Format(PyExc_TypeError, "%s(): expected bool, got '%s'", what, IL_TP_NAME(o));
  throw nb::python_error();
}

/// update(fn): fn's result as a T. An int needs __index__; a bool is any
/// truth value, or (Strict, syncx) True / False only.
template <class T, bool Strict>
T from_result(PyObject* r) {
  if ((std::is_same_v<T, std::int64_t> && !PyIndex_Check(r)) ||
      (std::is_same_v<T, bool> && Strict && r != Py_True && r != Py_False)) {
    PyErr_Format(PyExc_TypeError, "update(): the function must return %s, not '%s'",
                 std::is_same_v<T, bool> ? "a bool" : "an int", IL_TP_NAME(r));
    throw nb::python_error();
  }
  return detail::load<T>(r);
}

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

/// The Python type of a cell's values, for typed signatures.
template <class T>
consteval auto py_type_of() noexcept {
  if constexpr (std::is_same_v<T, bool>) return fixed_string("bool");
  else if constexpr (std::is_floating_point_v<T>) return fixed_string("float");
  else return fixed_string("int");
}
template <class T>
inline constexpr auto py_type = py_type_of<T>();

/// The façades that follow PyO3 (syncx, ft_utils): a refused operand is
/// ZeroDivisionError("division by zero").
struct PyO3Errors {
  template <class Op, class T>
  IL_PY_COLD static void refuse() noexcept {
    PyErr_SetString(PyExc_ZeroDivisionError, "division by zero");
  }
};

// ============================================================ methods

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

/// The methods of a cell type C (Atomic<T, F> or Ref<F>), as static members
/// taking C& first, so that ilpy::method<> binds them as methods of C.
template <class C>
struct ops {
  using T = typename C::value_type;
  using F = typename C::facade;

  static T load(C& c) noexcept { return c.load(); }
  static void store(C& c, T x) noexcept { c.store(x); }
  static T exchange(C& c, T x) noexcept { return c.exchange(x); }
  /// (succeeded, prior); on failure the prior value is the current one.
  static PyObject* compare_exchange(C& c, T expected, T desired) noexcept {
    const auto [ok, prior] = c.compare_exchange(expected, desired);
    return pair_result(ok, detail::to_python(prior));
  }
  /// Only whether it succeeded (ft_utils' AtomicReference).
  static bool compare_exchange_bool(C& c, T expected, T desired) noexcept {
    const auto [ok, prior] = c.compare_exchange(expected, desired);
    if constexpr (std::is_same_v<T, PyObject*>) Py_DECREF(prior);
    return ok;
  }

  /// value = value <Op> n; the prior value, or the new one (New). What Op
  /// refuses (the core's may_refuse) raises F's error, the value unchanged.
  template <class Op, bool New>
  static T fetch(C& c, T n) noexcept(!ac::may_refuse<Op, T>) {
    const auto r = c.template fetch<Op>(n);
    if constexpr (!ac::may_refuse<Op, T>) {
      return New ? r.second : r.first;
    } else {
      if (IL_PY_UNLIKELY(!r)) refused<Op>();
      return New ? r->second : r->first;
    }
  }
  /// fetch with a fixed operand (inc, dec, flip).
  template <class Op, bool New, T N>
  static T fetch_n(C& c) noexcept {
    return fetch<Op, New>(c, N);
  }
  template <class Op>
  [[noreturn]] IL_PY_COLD static void refused() {
    F::template refuse<Op, T>();
    throw nb::python_error();
  }

  /// fn(current) installed with a compare-exchange loop (identity for a
  /// reference): fn runs with no lock held and is called again with the new
  /// current value when another thread changed it in between. Returns the
  /// new value (New) or the prior one; an exception from fn leaves the value
  /// unchanged.
  template <bool New>
  static PyObject* update(C& c, nb::handle fn) {
    if constexpr (std::is_same_v<T, PyObject*>) {
      const auto r = c.try_rmw([fn](PyObject* cur) noexcept { return PyObject_CallOneArg(fn.ptr(), cur); });
      if (!r) return nullptr;
      Py_DECREF(New ? r->first : r->second);
      return New ? r->second : r->first;
    } else {  // a Python error in fn or in its result throws out of the loop
      const auto r = c.try_rmw(
          [fn](T cur) -> std::optional<T> { return from_result<T, F::kStrictBool>(fn(cur).ptr()); });
      return detail::to_python(New ? r->second : r->first);
    }
  }
};

/// A static table of E (PyMethodDef, PyType_Slot) from entries and arrays of
/// entries, ending with E{} (methods_end, {0, nullptr}).
template <class E, class P>
constexpr std::size_t entries() noexcept {
  if constexpr (std::is_same_v<P, E>) return 1;
  else return std::tuple_size_v<P>;
}
template <class E = PyMethodDef, class... P>
auto table(const P&... parts) noexcept {
  std::array<E, (entries<E, P>() + ... + 1)> out{};
  std::size_t k = 0;
  auto put = [&](const auto& p) {
    if constexpr (std::is_same_v<std::decay_t<decltype(p)>, E>) out[k++] = p;
    else for (const E& d : p) out[k++] = d;
  };
  (put(parts), ...);
  return out;
}

/// fetch_<Name>(Arg) / <Name>_fetch(Arg): value = value <Op> Arg, returning
/// the prior / the new value (GCC's __atomic naming); Doc says what <Op> does.
template <class C, class Op, fixed_string Name, fixed_string Doc, fixed_string Arg = "n">
std::array<PyMethodDef, 2> fetch_pair() noexcept {
  return {method<&ops<C>::template fetch<Op, false>, cat<"fetch_", Name, "($self, ", Arg, ", /)">(),
                 cat<Doc, "; return the prior value.">()>(),
          method<&ops<C>::template fetch<Op, true>, cat<Name, "_fetch($self, ", Arg, ", /)">(),
                 cat<Doc, "; return the new value.">()>()};
}

// ============================================================ slots

/// self <Op>= other: atomic; returns self. F::operand converts `other` (1),
/// declines it (0: NotImplemented, so Python raises its usual TypeError) or
/// fails (-1); a refused operand raises F's error with the value unchanged.
template <class C, class Op>
PyObject* inplace(PyObject* self, PyObject* other) noexcept {
  using T = typename C::value_type;
  C* c = ready<C>(self, "in-place operator");
  if (!c) return nullptr;
  T n{};
  const int got = C::facade::operand(other, n);
  if (got <= 0) {
    if (got < 0) return nullptr;
    // A Python subclass also gets __iadd__ as sq_inplace_concat, which CPython
    // calls after a NotImplemented and returns as the result: refuse here.
    if (std::is_same_v<Op, op::add> && PyType_GetSlot(Py_TYPE(self), Py_sq_inplace_concat))
      return PyErr_Format(PyExc_TypeError, "unsupported operand type(s) for +=: '%s' and '%s'",
                          IL_TP_NAME(self), IL_TP_NAME(other));
    Py_RETURN_NOTIMPLEMENTED;
  }
  try {
    ops<C>::template fetch<Op, false>(*c, n);
  } catch (nb::python_error& e) {  // a refused operand (the value unchanged)
    e.restore();
    return nullptr;
  }
  return Py_NewRef(self);
}

/// A unary slot computing Fn(value); What names it (__int__, __str__, ...).
template <class C, auto Fn, fixed_string What>
PyObject* value_slot(PyObject* self) noexcept {
  C* c = ready<C>(self, What.chars);
  return c ? Fn(c->load()) : nullptr;
}

/// The value as a Python int, or (Float) float: int(), float() of a cell.
template <bool Float, class T>
PyObject* number_of(T x) noexcept {
  if constexpr (Float) return PyFloat_FromDouble(static_cast<double>(x));
  else if constexpr (std::is_same_v<T, double>) return PyLong_FromDouble(x);
  else return PyLong_FromLongLong(x);
}

/// nb_bool: whether the value is nonzero.
template <class C>
int truth_slot(PyObject* self) noexcept {
  C* c = ready<C>(self, "__bool__");
  return c ? (c->load() != 0 ? 1 : 0) : -1;
}

// ============================================================ type slots

/// A type slot (PyType_Spec takes its function as a void*).
template <class Fn>
PyType_Slot at(int id, Fn* fn) noexcept {
  return {id, reinterpret_cast<void*>(fn)};
}

/// Python's slots for an operation Op on a T: its in-place operator, its
/// binary operator and the PyNumber function computing that on Python numbers.
template <int Inplace, int Binary = 0, binaryfunc Number = nullptr>
struct py_slots {
  static constexpr int inplace = Inplace, binary = Binary;
  static constexpr binaryfunc number = Number;
};
template <class Op, class T> struct py_op;
template <class T> struct py_op<op::add, T> : py_slots<Py_nb_inplace_add, Py_nb_add, &PyNumber_Add> {};
template <class T>
struct py_op<op::sub, T> : py_slots<Py_nb_inplace_subtract, Py_nb_subtract, &PyNumber_Subtract> {};
template <class T>
struct py_op<op::mul, T> : py_slots<Py_nb_inplace_multiply, Py_nb_multiply, &PyNumber_Multiply> {};
template <class T> struct py_op<op::and_, T> : py_slots<Py_nb_inplace_and, Py_nb_and, &PyNumber_And> {};
template <class T> struct py_op<op::or_, T> : py_slots<Py_nb_inplace_or, Py_nb_or, &PyNumber_Or> {};
template <class T> struct py_op<op::xor_, T> : py_slots<Py_nb_inplace_xor, Py_nb_xor, &PyNumber_Xor> {};
template <class T>
struct py_op<op::div, T> : py_slots<Py_nb_inplace_floor_divide, Py_nb_floor_divide, &PyNumber_FloorDivide> {};
template <> struct py_op<op::div, double> : py_slots<Py_nb_inplace_true_divide> {};
template <class T> struct py_op<op::rust_div, T> : py_slots<Py_nb_inplace_floor_divide> {};
template <class T> struct py_op<op::mod, T> : py_slots<Py_nb_inplace_remainder> {};
template <class T> struct py_op<op::lshift, T> : py_slots<Py_nb_inplace_lshift> {};
template <class T> struct py_op<op::rshift, T> : py_slots<Py_nb_inplace_rshift> {};

/// Groups of type slots of a cell type C, listed in add_type<C, Name, G...>:
/// G::of<C>() is an array of slots. Fixed<Id, Fn> is one slot not depending
/// on C; Slots<Id...> are C's own slots: Py_tp_str through F::display (the
/// reprs: python/interlock/atomic.py), Py_nb_int / Py_nb_index / Py_nb_float
/// / Py_nb_bool as int(), float() and bool() do, Py_tp_traverse /
/// Py_tp_clear of a reference; Inplace<Op...> are in-place operators.
template <int Id, auto Fn>
struct Fixed {
  template <class C> static auto of() noexcept { return std::array{at(Id, Fn)}; }
};
template <int... Id>
struct Slots {
  template <class C, int I, class T = typename C::value_type>
  static PyType_Slot one() noexcept {
    if constexpr (I == Py_tp_traverse) return at(I, &traverse_slot<C>);
    else if constexpr (I == Py_tp_clear) return at(I, &clear_slot<C>);
    else if constexpr (I == Py_nb_bool) return at(I, &truth_slot<C>);
    else if constexpr (I == Py_tp_str) return at(I, &value_slot<C, &C::facade::template display<T>, "__str__">);
    else if constexpr (I == Py_nb_float) return at(I, &value_slot<C, &number_of<true, T>, "__float__">);
    else if constexpr (I == Py_nb_int || I == Py_nb_index)
      return at(I, &value_slot<C, &number_of<false, T>, "__int__">);
    else static_assert(I == Py_nb_int, "Slots<Id...>: a slot without a generic implementation");
  }
  template <class C> static auto of() noexcept { return std::array{one<C, Id>()...}; }
};
template <class... Op>
struct Inplace {
  template <class C> static auto of() noexcept {
    return std::array{at(py_op<Op, typename C::value_type>::inplace, &inplace<C, Op>)...};
  }
};

/// Registers C as `Name` in `scope`, public as `module`.Name (set_module),
/// with its methods (a static table()), the type slots of the groups G, its
/// docstring, nanobind class annotations (`extra`) and `arg`: an __init__
/// function of its own, or the argument of `__init__(self, <arg>)`, taking
/// the object itself for a reference; a bool strictly True / False for a
/// façade with kStrictBool, else its truth value; an int64 from any __index__
/// (OverflowError past 64 bits); a double from anything float() accepts. Name
/// names the call in conversion errors.
template <class C, fixed_string Name, class... G, std::size_t N, class Arg, class... Extra>
void add_type(nb::handle scope, const char* module, std::array<PyMethodDef, N>& methods, const char* doc,
              const Arg& arg, const char* sig, const Extra&... extra) {
  using T = typename C::value_type;
  auto slots = table<PyType_Slot>(PyType_Slot{Py_tp_methods, methods.data()}, G::template of<C>()...);
  nb::class_<C> cls(scope, Name.chars, nb::type_slots(slots.data()), extra..., doc);
  if constexpr (std::is_same_v<T, PyObject*>) use_trashcan(cls);
  if constexpr (std::is_pointer_v<Arg>) {  // an __init__ of its own
    cls.def("__init__", arg, nb::sig(sig));
  } else {
    cls.def(
        "__init__",
        [](C* self, nb::handle v) {
          if constexpr (std::is_same_v<T, PyObject*>) new (self) C(v.ptr());
          else if constexpr (std::is_same_v<T, bool> && C::facade::kStrictBool)
            new (self) C(to_strict_bool(v.ptr(), Name.chars));
          else new (self) C(detail::load<T>(v.ptr()));
        },
        arg, nb::sig(sig));
  }
  set_module(cls, module);
}

// ============================================================ interlock.atomic

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

/// load / store / swap / compare_exchange / update of a syncx scalar (its
/// pickling: python/interlock/atomic.py); Store, Swap and Cas take the
/// arguments (strictly, for a bool).
template <class C, auto Store, auto Swap, auto Cas>
std::array<PyMethodDef, 5> sx_common() noexcept {
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
                 "return the NEW value.">()};
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

/// Op(c, values...) with the values taken strictly as bools (PyO3 converts a
/// bool only from True / False); Name names the method in the TypeError.
template <auto Op, fixed_string Name, class... V>
auto sx_strict(SxBool& c, V... value) {
  return Op(c, to_strict_bool(value, Name.chars)...);
}
PyObject* negation(bool x) noexcept { return detail::to_python(!x); }

auto sx_bool_methods = table(
    sx_common<SxBool, &sx_strict<&SxB::store, "store", PyObject*>,
              &sx_strict<&SxB::exchange, "swap", PyObject*>,
              &sx_strict<&SxB::compare_exchange, "compare_exchange", PyObject*, PyObject*>>(),
    method<&SxB::fetch_n<op::xor_, false, true>, "flip($self)",
           "Toggle the value; return the PRIOR value.">(),
    method<&sx_strict<&SxB::fetch<op::and_, false>, "fetch_and", PyObject*>, "fetch_and($self, value)",
           "Logical AND; return the prior value.">(),
    method<&sx_strict<&SxB::fetch<op::or_, false>, "fetch_or", PyObject*>, "fetch_or($self, value)",
           "Logical OR; return the prior value.">(),
    method<&sx_strict<&SxB::fetch<op::xor_, false>, "fetch_xor", PyObject*>, "fetch_xor($self, value)",
           "Logical XOR; return the prior value.">());

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

/// Fn(int(value)): -x, abs(x), ~x on the value as a Python int.
template <auto Fn>
PyObject* on_int(std::int64_t x) noexcept {
  PyObject* v = PyLong_FromLongLong(x);
  PyObject* r = v ? Fn(v) : nullptr;
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

auto ft_int_methods = table(
    method<&ft_checked<&FtI::store, "set">, "set($self, value, /)",
           "Atomically set the value (an int or an AtomicInt64).">(),
    method<&FtI::load, "get($self, /)", "Atomically get the value.">(),
    method<&FtI::fetch_n<op::add, true, 1>, "incr($self, /)", "Atomically ++ and return the new value.">(),
    method<&FtI::fetch_n<op::sub, true, 1>, "decr($self, /)", "Atomically -- and return the new value.">(),
    method<&ft_checked<&FtI::fetch<op::add, true>, "add">, "add($self, value, /)",
           "Atomically add value (as in the ft_utils documentation's example);\n"
           "return the new value.">());

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

auto ft_ref_methods = table(
    method<&FtR::store, "set($self, obj, /)", "Replace the object.">(),
    method<&FtR::load, "get($self, /)", "Return the current object.">(),
    method<&FtR::exchange, "exchange($self, obj, /)", "Replace the object; return the prior one.">(),
    method<&FtR::compare_exchange_bool, "compare_exchange($self, expected, obj, /)",
           "If the current object IS expected (identity), replace it by obj;\n"
           "return whether it did.">());

auto ft_flag_methods = table(
    method<&ops<FtFlag>::store, "set($self, value)", "Set the flag to bool(value).">());

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
}  // namespace interlock::py::atomics

namespace interlock::py {

void init_atomic(nb::module_& m) {
  using namespace atomics;
  const char* module = "interlock.atomic";
  add_type<AtomicInt, "AtomicInt", Slots<Py_nb_int, Py_nb_index, Py_nb_float, Py_nb_bool>,
           Inplace<op::add, op::sub, op::mul, op::div, op::mod, op::and_, op::or_, op::xor_, op::lshift,
                   op::rshift>>(
      m, module, int_methods,
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
  add_type<AtomicBool, "AtomicBool", Slots<Py_nb_bool, Py_nb_int, Py_nb_index>>(
      m, module, bool_methods,
      "AtomicBool(value=False)\n\n"
      "A boolean that any number of threads may update at once. Arguments are\n"
      "taken by truth value, like bool(x). fetch_<op> returns the prior value,\n"
      "<op>_fetch the new one.",
      "value"_a = false, "def __init__(self, value: object = False) -> None");
  add_type<AtomicFloat, "AtomicFloat", Slots<Py_nb_float, Py_nb_int, Py_nb_bool>,
           Inplace<op::add, op::sub, op::mul, op::div>>(
      m, module, float_methods,
      "AtomicFloat(value=0.0)\n\n"
      "A 64-bit float that any number of threads may update at once (arithmetic\n"
      "is a compare-exchange loop). Arguments: anything float() accepts through\n"
      "__float__ or __index__. compare_exchange compares bit patterns.",
      "value"_a = 0.0,
      "def __init__(self, value: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None");
  add_type<AtomicReference, "AtomicReference", Slots<Py_tp_traverse, Py_tp_clear>>(
      m, module, ref_methods,
      "AtomicReference(obj=None)\n\n"
      "A reference to any object that any number of threads may read and replace\n"
      "at once (also on free-threaded builds: a reader never sees a freed\n"
      "object). compare_exchange compares by identity. AtomicReference[T] is a\n"
      "generic alias for type checkers.",
      "obj"_a = nb::none(), "def __init__(self, obj: T | None = None) -> None",
      nb::is_weak_referenceable());

  nb::module_ sx = m.def_submodule("_syncx", "Native types of interlock.compat.syncx.atomic (use that module).");
  module = "interlock.compat.syncx.atomic";
  add_type<SxInt, "AtomicInt", Slots<Py_tp_str, Py_nb_int>, Inplace<op::add, op::sub, op::mul, op::rust_div>>(
      sx, module, sx_int_methods,
      "Atomic 64-bit integer (syncx API): add/sub/mul/div/inc/dec\n"
      "return the PRIOR value, update() the new one.",
      "value"_a = 0, "def __init__(self, value: int = 0) -> None", nb::is_final());
  add_type<SxBool, "AtomicBool", Slots<Py_tp_str, Py_nb_bool, Py_nb_int>,
           Fixed<Py_nb_invert, &value_slot<SxBool, &negation, "__invert__">>>(
      sx, module, sx_bool_methods, "Atomic boolean (syncx API).", "value"_a = false,
      "def __init__(self, value: bool = False) -> None", nb::is_final());
  add_type<SxFloat, "AtomicFloat", Slots<Py_tp_str, Py_nb_float>, Inplace<op::add, op::sub>>(
      sx, module, sx_float_methods, "Atomic 64-bit float (syncx API).", "value"_a = 0.0,
      "def __init__(self, value: float = 0.0) -> None", nb::is_final());
  add_type<SxRef, "AtomicReference", Slots<Py_tp_traverse, Py_tp_clear>>(
      sx, module, sx_ref_methods,
      "Thread-safe reference slot for any Python object (syncx API);\n"
      "compare_exchange matches by identity or equality.",
      "obj"_a = nb::none(), "def __init__(self, obj: object | None = None) -> None", nb::is_final(),
      nb::is_weak_referenceable());

  nb::module_ ft =
      m.def_submodule("_ft_utils", "Native types of interlock.compat.ft_utils.concurrency (use that module).");
  module = "interlock.compat.ft_utils.concurrency";
  add_type<FtInt64, "AtomicInt64", Fixed<Py_tp_richcompare, &ft_richcompare>,
           FtArith<op::add, op::sub, op::mul, op::div, op::or_, op::xor_, op::and_>,
           FtUnary<Py_nb_negative, &PyNumber_Negative, "__neg__">,
           Fixed<Py_nb_positive, &value_slot<FtInt64, &PyLong_FromLongLong, "__pos__">>,
           FtUnary<Py_nb_absolute, &PyNumber_Absolute, "__abs__">,
           FtUnary<Py_nb_invert, &PyNumber_Invert, "__invert__">, Slots<Py_nb_int, Py_nb_bool>>(
      ft, module, ft_int_methods,
      "A 64-bit integer that can be updated atomically (ft_utils\n"
      "API), with the numeric protocol.",
      "value"_a = 0, "def __init__(self, value: int = 0) -> None", nb::is_weak_referenceable());
  add_type<FtRef, "AtomicReference", Slots<Py_tp_traverse, Py_tp_clear>>(
      ft, module, ft_ref_methods, "A reference that can be updated atomically (ft_utils API).", &ft_ref_init,
      "def __init__(self, value: object | None = None, /) -> None", nb::is_final(), nb::is_weak_referenceable());
  add_type<FtFlag, "AtomicFlag", Slots<Py_nb_bool>>(
      ft, module, ft_flag_methods, "A boolean flag that can be updated atomically (ft_utils\nAPI).", "value"_a,
      "def __init__(self, value: object) -> None");
}

}  // namespace interlock::py
