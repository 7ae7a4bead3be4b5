// bindings/locks.hpp — pieces of bindings/locks.cpp that other binding sources
// may reuse: fast methods that also need the Python `self` (to return it, or
// to keep it alive from a guard object), and the two timeout conventions of
// the lock APIs.
//
// self_method<F, Sig, Doc>() is ilpy::method<>() (fast_methods.hpp) for a
// callable that receives the Python object too:
//
//   PyObject* f(PyObject* self, C& obj, A... args) noexcept   // new reference or null
//
// Same text-signature rules, argument conversions (std::optional<T> for
// parameters with a default) and checks (nb::inst_ready, argument counts,
// keywords) as the helper; the calling convention is METH_FASTCALL when every
// parameter is positional-only, else METH_FASTCALL | METH_KEYWORDS.
//
// One more parameter type: `passed` is the argument exactly as given (borrowed;
// `obj` is nullptr when it was omitted, and None stays None), for parameters
// whose None means something else than "omitted" (threading's blocking=None
// is False). It may carry a default in the signature.
#pragma once

#include <nanobind/nanobind.h>

#include <cmath>
#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "fast_methods.hpp"
#include "interlock/deadline.hpp"
#include "py_wait.hpp"

namespace interlock::py {

/// An argument as passed: nullptr when omitted (see the top of this file).
struct passed {
  PyObject* obj = nullptr;
  bool given() const noexcept { return obj != nullptr; }
};

namespace detail {

template <class A>
IL_PY_INLINE stored_t<A> load_self_arg(PyObject* o, const char* method, std::size_t index) {
  if constexpr (std::is_same_v<bare_t<A>, passed>) return passed{o};
  else return load_opt<A>(o, method, index);
}

template <class F>
struct self_fn_traits;

template <class C, class... A>
struct self_fn_traits<PyObject* (*)(PyObject*, C&, A...) noexcept> {
  using cls = C;
  using args = std::tuple<A...>;
};

template <auto F, fixed_string Sig, fixed_string Doc>
struct self_method_impl {
  using traits = self_fn_traits<decltype(F)>;
  using cls = typename traits::cls;
  using args = typename traits::args;
  static constexpr std::size_t arity = std::tuple_size_v<args>;

  static constexpr signature sig = parse_signature(Sig.view());
  static_assert(sig.count == arity,
                "the text signature and the C++ callable have different parameter counts");
  static constexpr bool positional_only = sig.positional_only == sig.count;

  static constexpr auto name = make_text<sig.name.size()>({sig.name});
  static constexpr auto doc =
      make_text<Sig.view().size() + 5 + Doc.view().size()>({Sig.view(), "\n--\n\n", Doc.view()});

  template <std::size_t... I>
  static constexpr bool check_defaults(std::index_sequence<I...>) {
    return ((!sig.params[I].has_default ||
             is_optional<bare_t<std::tuple_element_t<I, args>>>::value ||
             std::is_same_v<bare_t<std::tuple_element_t<I, args>>, passed>) &&
            ...);
  }
  static_assert(check_defaults(std::make_index_sequence<arity>{}),
                "parameters with a default in the text signature need a std::optional<T> "
                "(or passed) C++ parameter");

  template <std::size_t... I>
  static constexpr bool loads_nothrow(std::index_sequence<I...>) {
    return ((std::is_same_v<bare_t<std::tuple_element_t<I, args>>, passed> ||
             load_is_noexcept_v<std::tuple_element_t<I, args>>) &&
            ...);
  }

  template <std::size_t... I>
  static PyObject* call(PyObject* self, cls& obj, PyObject* const* slots,
                        std::index_sequence<I...> seq) noexcept {
    if constexpr (loads_nothrow(seq)) {
      return F(self, obj, load_self_arg<std::tuple_element_t<I, args>>(slots[I], name.c_str(), I)...);
    } else {
      try {
        // Brace initialisation converts left to right (first bad argument reported).
        std::tuple<stored_t<std::tuple_element_t<I, args>>...> values{
            load_self_arg<std::tuple_element_t<I, args>>(slots[I], name.c_str(), I)...};
        return F(self, obj, std::get<I>(std::move(values))...);
      } catch (...) {
        return translate_current_exception();
      }
    }
  }

  static PyObject* fastcall(PyObject* self, PyObject* const* argv, Py_ssize_t nargs) noexcept {
    if (IL_PY_UNLIKELY(!nb::inst_ready(self))) return raise_not_ready(self, name.c_str());
    cls* obj = nb::inst_ptr<cls>(self);
    if (IL_PY_UNLIKELY(nargs < static_cast<Py_ssize_t>(sig.required) ||
                       nargs > static_cast<Py_ssize_t>(arity)))
      return raise_arg_count(self, name.c_str(), sig.required, arity, nargs);
    if constexpr (arity == 0) {
      return F(self, *obj);
    } else {
      PyObject* slots[arity] = {};
      for (Py_ssize_t i = 0; i < nargs; ++i) slots[i] = argv[i];
      return call(self, *obj, slots, std::make_index_sequence<arity>{});
    }
  }

  static PyObject* fastcall_keywords(PyObject* self, PyObject* const* argv, Py_ssize_t nargsf,
                                     PyObject* kwnames) noexcept {
    if (IL_PY_UNLIKELY(!nb::inst_ready(self))) return raise_not_ready(self, name.c_str());
    cls* obj = nb::inst_ptr<cls>(self);
    const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (IL_PY_UNLIKELY(nargs > static_cast<Py_ssize_t>(sig.max_positional)))
      return raise_arg_count(self, name.c_str(), 0, sig.max_positional, nargs);
    PyObject* slots[arity > 0 ? arity : 1] = {};
    for (Py_ssize_t i = 0; i < nargs; ++i) slots[i] = argv[i];
    if (kwnames || IL_PY_UNLIKELY(nargs < static_cast<Py_ssize_t>(sig.required))) {
      if (!bind_keywords(sig, self, name.c_str(), slots, argv + nargs, kwnames)) return nullptr;
    }
    return call(self, *obj, slots, std::make_index_sequence<arity>{});
  }

  static PyMethodDef def() noexcept {
    if constexpr (positional_only) {
      return {name.c_str(), reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&fastcall)),
              METH_FASTCALL, doc.c_str()};
    } else {
      return {name.c_str(),
              reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&fastcall_keywords)),
              METH_FASTCALL | METH_KEYWORDS, doc.c_str()};
    }
  }
};

}  // namespace detail

/// A PyMethodDef entry for `F(PyObject* self, C& obj, args...)`; see the top of
/// this file.
template <auto F, fixed_string Sig, fixed_string Doc = "">
inline PyMethodDef self_method() noexcept {
  return detail::self_method_impl<F, Sig, Doc>::def();
}

/// syncx's (blocking=True, timeout=None) conventions, as its Rust original
/// implemented them: the timeout must be a real number or None (TypeError
/// otherwise, checked first); blocking=False tries once and ignores the
/// timeout; None, +inf and NaN wait forever; a negative timeout (even -0.0)
/// tries once; anything else waits that many seconds.
inline bool syncx_deadline(bool blocking_, PyObject* timeout, Deadline* out) {
  const bool has_timeout = timeout && timeout != Py_None;
  double t = 0.0;
  if (has_timeout) {
    t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred()) return false;
  }
  if (!blocking_) *out = Deadline::immediate();
  else if (!has_timeout) *out = Deadline::never();
  else if (std::signbit(t)) *out = Deadline::immediate();
  else if (!std::isfinite(t)) *out = Deadline::never();
  else *out = Deadline::after_seconds(t);  // saturates: past ~95 years is never()
  return true;
}

}  // namespace interlock::py
