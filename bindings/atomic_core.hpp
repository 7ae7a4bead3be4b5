// bindings/atomic_core.hpp — what the bindings of interlock.atomic and its
// façades (syncx, ft_utils) share; design: docs/design.md, "The C++ core"
// (the atomic_cell row). Each Python type is a distinct C++ struct,
// Atomic<T, F> (a core Cell<T>) or Ref<F> (a core RefSlot), because nanobind
// registers one Python type per C++ type; F is the façade's rules struct
// (Std, Sx, Ft) and the methods are ops<C>'s templates. Nothing relies on the GIL.
#pragma once

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

namespace interlock::py::atomics {

namespace nb = nanobind;
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

/// The value as a Python int / float (int(), float() of a cell).
template <class T>
PyObject* int_of(T x) noexcept {
  if constexpr (std::is_same_v<T, double>) return PyLong_FromDouble(x);
  else if constexpr (std::is_same_v<T, bool>) return PyLong_FromLong(x);
  else return PyLong_FromLongLong(x);
}
template <class T>
PyObject* float_of(T x) noexcept {
  return PyFloat_FromDouble(static_cast<double>(x));
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

/// Groups of type slots of a cell type C, listed in slot_table<C, G...>(methods):
/// G::of<C>() is an array of slots. Fixed<Id, Fn> is one slot not depending
/// on C; Slots<Id...> are C's own slots: Py_tp_str through F::display
/// (reprs: python/interlock/atomic.py), Py_nb_int / Py_nb_index / Py_nb_float / Py_nb_bool as int(),
/// float() and bool() do, Py_tp_traverse / Py_tp_clear of a reference;
/// Inplace<Op...> are in-place operators.
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
    else if constexpr (I == Py_nb_float) return at(I, &value_slot<C, &float_of<T>, "__float__">);
    else if constexpr (I == Py_nb_int || I == Py_nb_index) return at(I, &value_slot<C, &int_of<T>, "__int__">);
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

/// C's type slots: its methods (a table()), then the groups G.
template <class C, class... G, std::size_t N>
auto slot_table(std::array<PyMethodDef, N>& methods) noexcept {
  return table<PyType_Slot>(PyType_Slot{Py_tp_methods, methods.data()}, G::template of<C>()...);
}

/// Registers C as `Name` in `scope`, public as `module`.Name (set_module),
/// with its type slots, docstring, nanobind class annotations (`extra`) and
/// `arg`: an __init__ function of its own, or the argument of
/// `__init__(self, <arg>)`, taking the object itself for a reference; a bool
/// strictly True / False for a façade with kStrictBool, else its truth value;
/// an int64 from any __index__ (OverflowError past 64 bits); a double from
/// anything float() accepts. Name names the call in conversion errors.
template <class C, fixed_string Name, class Arg, class... Extra>
void add_type(nb::handle scope, const char* module, PyType_Slot* slots, const char* doc,
              const Arg& arg, const char* sig, const Extra&... extra) {
  using T = typename C::value_type;
  nb::class_<C> cls(scope, Name.chars, nb::type_slots(slots), extra..., doc);
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

/// Entry points of the other translation unit (atomic_compat.cpp).
void init_atomic_syncx(nb::module_& m);
void init_atomic_ft_utils(nb::module_& m);

}  // namespace interlock::py::atomics
