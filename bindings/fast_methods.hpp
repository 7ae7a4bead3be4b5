// bindings/fast_methods.hpp — hot methods of nanobind classes as plain CPython
// methods (PyMethodDef), so CPython's specialised call paths for C method
// descriptors (METH_NOARGS / METH_O / METH_FASTCALL) apply to them:
//
//   static PyMethodDef counter_methods[] = {
//       ilpy::method<&Counter::add, "add($self, n, /)", "Add n; return the new value.">(),
//       ilpy::method<&Counter::reset, "reset($self, value=0) -> int", "Set the value.">(),
//       ilpy::methods_end,
//   };
//   nb::class_<Counter>(m, "Counter", ilpy::method_slots<counter_methods>());
//
// The signature string (CPython's __text_signature__ format, optionally with
// annotations and "-> T") is parsed at compile time: it gives the name, the
// parameters (a default needs a std::optional<T> or `passed` C++ parameter),
// the calling convention, and with the C++ types the typed line that leads
// __doc__ and that scripts/stubgen.py writes into the stubs. The contract
// (callables, conversions, guarantees, caveats) is docs/design.md, "The
// binding pattern" and "Typed signatures and generated stubs".
#pragma once

#include <nanobind/nanobind.h>

#include "py_compat.hpp"
#if PY_VERSION_HEX < 0x030B0000 && !defined(Py_LIMITED_API)
#include <longintrepr.h>  // PyLongObject::ob_digit (Python.h includes it from 3.11)
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <typeinfo>  // std::bad_cast
#include <utility>

#if defined(__GNUC__) || defined(__clang__)
#define IL_PY_INLINE inline __attribute__((always_inline))
#define IL_PY_COLD __attribute__((cold, noinline))
#define IL_PY_NOINLINE __attribute__((noinline))
#define IL_PY_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define IL_PY_INLINE inline
#define IL_PY_COLD
#define IL_PY_NOINLINE
#define IL_PY_UNLIKELY(x) (x)
#endif

namespace interlock::py {

namespace nb = nanobind;

/// A parameter type: the argument exactly as given (borrowed), `obj` null when
/// it was omitted; None stays None. It may carry a default in the signature.
struct passed {
  PyObject* obj = nullptr;
  bool given() const noexcept { return obj != nullptr; }
};

// ============================================================ compile-time text

/// A string literal usable as a template argument.
template <std::size_t N>
struct fixed_string {
  char chars[N]{};
  constexpr fixed_string(const char (&s)[N]) noexcept {
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

/// The concatenation of string_views, as a NUL-terminated static array.
template <std::size_t N>
struct static_text {
  std::array<char, N + 1> chars{};
  constexpr const char* c_str() const noexcept { return chars.data(); }
  constexpr std::string_view view() const noexcept { return {chars.data(), N}; }
};

namespace detail {

inline constexpr std::size_t max_params = 16;

struct param_info {
  std::string_view name;
  bool has_default = false;
};

/// What a text signature such as "acquire($self, blocking=True, timeout=-1)"
/// says about a method. Parameters exclude $self.
struct signature {
  std::string_view name;
  std::size_t count = 0;
  std::size_t positional_only = 0;  // parameters before '/'
  std::size_t max_positional = 0;   // parameters before '*' (or count)
  std::size_t required = 0;         // parameters without a default
  bool slash = false, star = false;
  std::array<param_info, max_params> params{};
};

/// The annotations and defaults as written ("" if none): compile time only
/// (a method keeps the smaller `signature` for keyword binding).
struct param_text {
  std::string_view annotation, default_text;
};
struct typed_signature : signature {
  std::string_view returns;
  std::array<param_text, max_params> text{};
};

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n'; }

constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A malformed signature fails to compile at the `throw`, which names the
// problem in the compiler's "not a constant expression" diagnostic.
constexpr typed_signature parse_signature(std::string_view text) {
  typed_signature sig;
  const std::size_t open = text.find('(');
  const std::size_t arrow = text.rfind(") -> ");
  if (arrow != std::string_view::npos) {
    sig.returns = trim(text.substr(arrow + 5));
    text = text.substr(0, arrow + 1);
  }
  if (open == std::string_view::npos || open == 0 || text.back() != ')')
    throw "text signature must look like \"name($self, ...)\" (optionally \" -> T\")";
  sig.name = text.substr(0, open);
  for (char c : sig.name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_'))
      throw "method name must be an identifier";

  const std::string_view inner = text.substr(open + 1, text.size() - open - 2);
  bool seen_self = false, seen_slash = false, seen_star = false, seen_default = false;
  std::size_t start = 0;
  int depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i <= inner.size(); ++i) {
    const char c = i < inner.size() ? inner[i] : ',';
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') { quote = c; continue; }
    if (c == '(' || c == '[' || c == '{') { ++depth; continue; }
    if (c == ')' || c == ']' || c == '}') { --depth; continue; }
    if (c != ',' || depth != 0) continue;

    const std::string_view tok = trim(inner.substr(start, i - start));
    start = i + 1;
    if (!seen_self) {
      if (tok != "$self") throw "the first parameter must be $self";
      seen_self = true;
    } else if (tok == "/") {
      if (seen_slash || seen_star) throw "misplaced '/'";
      seen_slash = sig.slash = true;
      sig.positional_only = sig.count;
    } else if (tok == "*") {
      if (seen_star) throw "duplicate '*'";
      seen_star = sig.star = true;
      sig.max_positional = sig.count;
    } else if (tok.empty()) {
      if (i != inner.size()) throw "empty parameter";
    } else if (tok.front() == '*') {
      throw "*args / **kwargs are not supported";
    } else {
      if (sig.count == max_params) throw "too many parameters";
      const std::size_t eq = tok.find('=');
      const std::size_t colon = tok.find(':');
      const std::size_t end = eq < colon ? eq : colon;
      if (colon < eq) sig.text[sig.count].annotation = trim(tok.substr(colon + 1, eq - colon - 1));
      if (eq != std::string_view::npos) sig.text[sig.count].default_text = trim(tok.substr(eq + 1));
      param_info& p = sig.params[sig.count++];
      p.name = trim(tok.substr(0, end));
      p.has_default = eq != std::string_view::npos;
      if (p.has_default) {
        seen_default = true;
      } else {
        if (seen_default && !seen_star)
          throw "a parameter without default follows one with a default";
        ++sig.required;
      }
    }
  }
  if (!seen_self) throw "the first parameter must be $self";
  if (depth != 0 || quote != 0) throw "unbalanced brackets or quotes";
  if (!seen_star) sig.max_positional = sig.count;
  return sig;
}

}  // namespace detail

/// CPython calling conventions a fast method can use.
enum class call_kind { automatic, noargs, o, fastcall, fastcall_keywords };

namespace detail {

/// The convention `automatic` picks. A method without parameters gets
/// METH_FASTCALL rather than METH_NOARGS: called as c.inc() both are
/// specialised alike (CALL_METHOD_DESCRIPTOR_NOARGS / _FAST), but called
/// through a pre-bound f = c.inc, CPython 3.11-3.13 specialise only METH_O and
/// METH_FASTCALL builtins (CALL_BUILTIN_O / _FAST); METH_NOARGS takes the
/// generic path (see docs/design.md for the measurements).
constexpr call_kind kind_of(const signature& s) noexcept {
  if (s.count == 1 && s.positional_only == 1 && s.required == 1) return call_kind::o;
  if (s.positional_only == s.count) return call_kind::fastcall;
  return call_kind::fastcall_keywords;
}

constexpr bool kind_fits(call_kind k, const signature& s) noexcept {
  switch (k) {
    case call_kind::automatic: return true;
    case call_kind::noargs: return s.count == 0;
    case call_kind::o: return s.count == 1 && s.positional_only == 1 && s.required == 1;
    case call_kind::fastcall: return s.positional_only == s.count;
    case call_kind::fastcall_keywords: return true;
  }
  return false;
}

template <std::size_t N>
constexpr static_text<N> make_text(std::initializer_list<std::string_view> parts) {
  static_text<N> out;
  std::size_t k = 0;
  for (std::string_view p : parts)
    for (char c : p) out.chars[k++] = c;
  return out;
}

// ============================================================ typed signatures

/// The Python type a C++ parameter (Result = false) or result type stands for
/// in the typed signature; an annotation in the text signature wins.
template <class T, bool Result>
constexpr std::string_view py_type_name() noexcept;

template <class T, bool Result>
inline constexpr auto optional_name = make_text<py_type_name<T, Result>().size() + 7>(
    {py_type_name<T, Result>(), " | None"});

template <class T, bool Result>
constexpr std::string_view py_type_name() noexcept {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_void_v<U>) return "None";
  else if constexpr (std::is_same_v<U, bool>) return "bool";
  else if constexpr (std::is_integral_v<U>) return Result ? "int" : "typing.SupportsIndex";
  else if constexpr (std::is_floating_point_v<U>) return "float";
  else if constexpr (std::is_same_v<U, std::string_view> || std::is_same_v<U, std::string>)
    return "str";
  else if constexpr (requires { typename U::value_type; U(std::nullopt); })
    return optional_name<typename U::value_type, Result>.view();
  else return Result ? "typing.Any" : "object";  // PyObject*, nb::object, passed, bound types
}

template <class Args, class R>
struct py_types;
template <class... A, class R>
struct py_types<std::tuple<A...>, R> {
  static constexpr std::array<std::string_view, sizeof...(A) + 1> value{
      py_type_name<A, false>()..., py_type_name<R, true>()};
};

struct text_sink {
  char* out = nullptr;
  std::size_t n = 0;
  constexpr void put(std::string_view s) {
    for (char c : s) out ? void(out[n++] = c) : void(++n);
  }
};

/// Without `types`: the text signature CPython parses (__text_signature__,
/// no annotations). With one type per parameter and the result: the typed
/// line "name(self, a: int, /) -> int" stub generators read.
constexpr void emit_signature(text_sink& o, const typed_signature& s,
                              const std::string_view* types) {
  o.put(s.name);
  o.put(types ? "(self" : "($self");
  for (std::size_t i = 0; i <= s.count; ++i) {
    if (s.slash && i == s.positional_only) o.put(", /");
    if (s.star && i == s.max_positional) o.put(", *");
    if (i == s.count) break;
    const param_info& p = s.params[i];
    o.put(", ");
    o.put(p.name);
    const param_text& t = s.text[i];
    if (types) o.put(": "), o.put(t.annotation.empty() ? types[i] : t.annotation);
    if (p.has_default) o.put(types ? " = " : "="), o.put(t.default_text);
  }
  o.put(")");
  if (types) o.put(" -> "), o.put(s.returns.empty() ? types[s.count] : s.returns);
}

constexpr std::size_t emitted_size(const typed_signature& s, const std::string_view* types) {
  text_sink o;
  return emit_signature(o, s, types), o.n;
}

/// "<text signature>\n--\n\n<typed line>\n<doc>": CPython keeps the part before
/// "--" as __text_signature__; __doc__ starts with the typed line.
template <fixed_string Sig, fixed_string Doc, class Args, class R>
constexpr auto make_doc() {
  constexpr typed_signature s = parse_signature(Sig.view());
  constexpr const std::string_view* types = py_types<Args, R>::value.data();
  constexpr std::size_t doc = Doc.view().empty() ? 0 : Doc.view().size() + 1;
  static_text<emitted_size(s, nullptr) + 5 + emitted_size(s, types) + doc> t;
  text_sink o{t.chars.data()};
  emit_signature(o, s, nullptr);
  o.put("\n--\n\n");
  emit_signature(o, s, types);
  if (doc) o.put("\n"), o.put(Doc.view());
  return t;
}

// ============================================================ callables

template <class F>
struct fn_traits;

#define IL_PY_MEMFN_TRAITS(CV, NOEXCEPT)                                  \
  template <class C, class R, class... A>                                 \
  struct fn_traits<R (C::*)(A...) CV noexcept(NOEXCEPT)> {                \
    using cls = C;                                                        \
    using ret = R;                                                        \
    using self_ref = CV C&;                                               \
    using args = std::tuple<A...>;                                        \
    static constexpr bool is_noexcept = NOEXCEPT;                         \
  };
IL_PY_MEMFN_TRAITS(, false)
IL_PY_MEMFN_TRAITS(, true)
IL_PY_MEMFN_TRAITS(const, false)
IL_PY_MEMFN_TRAITS(const, true)
#undef IL_PY_MEMFN_TRAITS

template <class S, class R, class... A, bool NX>
struct fn_traits<R (*)(S&, A...) noexcept(NX)> {
  using cls = std::remove_const_t<S>;
  using ret = R;
  using self_ref = S&;
  using args = std::tuple<A...>;
  static constexpr bool is_noexcept = NX;
};

/// A free function that also receives the Python object: f(self, obj, args...).
template <class S, class R, class... A, bool NX>
struct fn_traits<R (*)(PyObject*, S&, A...) noexcept(NX)> {
  using cls = std::remove_const_t<S>;
  using ret = R;
  using self_ref = S&;
  using args = std::tuple<A...>;
  static constexpr bool is_noexcept = NX;
  static constexpr bool wants_self = true;
};

template <class T>
concept takes_python_self = requires { requires T::wants_self; };

// ============================================================ argument conversion

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
using bare_t = std::remove_cvref_t<T>;

/// Arguments of fast kinds convert with the CPython API alone.
template <class T>
inline constexpr bool is_fast_arg_v =
    std::is_arithmetic_v<T> || std::is_same_v<T, PyObject*> || std::is_same_v<T, nb::handle> ||
    std::is_same_v<T, nb::object> || std::is_same_v<T, std::string_view> ||
    std::is_same_v<T, std::string>;

/// How a converted argument is held until the call: references to bound C++
/// objects stay references (they live inside their Python instance); all
/// else is held by value.
template <class A>
using stored_t =
    std::conditional_t<std::is_lvalue_reference_v<A> && !is_fast_arg_v<bare_t<A>> &&
                           nb::detail::is_base_caster_v<nb::detail::make_caster<bare_t<A>>>,
                       A, bare_t<A>>;

/// Whether converting an A can throw (it can fail, which then throws
/// nb::python_error; only borrowed handles cannot fail).
template <class A>
inline constexpr bool load_is_noexcept_v =
    std::is_same_v<bare_t<A>, PyObject*> || std::is_same_v<bare_t<A>, nb::handle> ||
    std::is_same_v<bare_t<A>, nb::object> || std::is_same_v<bare_t<A>, passed>;

[[noreturn]] IL_PY_COLD inline void throw_python_error() { throw nb::python_error(); }

/// "int16", "uint8", ... for error messages.
template <class T>
constexpr const char* int_name() noexcept {
  constexpr std::size_t bits = sizeof(T) * 8;
  if constexpr (std::is_signed_v<T>)
    return bits == 8 ? "int8" : bits == 16 ? "int16" : bits == 32 ? "int32" : "int64";
  else
    return bits == 8 ? "uint8" : bits == 16 ? "uint16" : bits == 32 ? "uint32" : "uint64";
}

[[noreturn]] IL_PY_COLD inline void throw_out_of_range(const char* cpp_type) {
  PyErr_Format(PyExc_OverflowError, "Python int out of range for a C++ %s", cpp_type);
  throw nb::python_error();
}

[[noreturn]] IL_PY_COLD inline void throw_not_str(const char* method, std::size_t index,
                                                  PyObject* arg) {
  PyErr_Format(PyExc_TypeError, "%s(): argument %zu must be str, not %s", method, index + 1,
               IL_TP_NAME(arg));
  throw nb::python_error();
}

[[noreturn]] IL_PY_COLD inline void throw_incompatible(const char* method, std::size_t index,
                                                       PyObject* arg) {
  PyErr_Format(PyExc_TypeError, "%s(): incompatible type '%s' for argument %zu", method,
               IL_TP_NAME(arg), index + 1);
  throw nb::python_error();
}

/// Converts one positional argument (borrowed, never null here).
template <class A>
IL_PY_INLINE stored_t<A> load(PyObject* o, const char* method, std::size_t index) {
  using T = bare_t<A>;
  if constexpr (std::is_same_v<T, PyObject*>) {
    return o;
  } else if constexpr (std::is_same_v<T, nb::handle>) {
    return nb::handle(o);
  } else if constexpr (std::is_same_v<T, nb::object>) {
    return nb::borrow(o);
  } else if constexpr (std::is_same_v<T, bool>) {
    const int r = PyObject_IsTrue(o);
    if (IL_PY_UNLIKELY(r < 0)) throw_python_error();
    return r != 0;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
#if PY_VERSION_HEX >= 0x030C0000 && !defined(Py_LIMITED_API)
    // Exact ints of at most one digit (|v| < 2**30) without a call.
    if (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(o))) {
      const Py_ssize_t v = PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(o));
      if constexpr (sizeof(T) < sizeof(Py_ssize_t)) {
        if (IL_PY_UNLIKELY(v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()))
          throw_out_of_range(int_name<T>());
      }
      return static_cast<T>(v);
    }
#elif !defined(Py_LIMITED_API)
    // 3.10 / 3.11 (frozen layouts): exact ints of at most one digit without a call.
    if (PyLong_CheckExact(o)) {
      const Py_ssize_t size = Py_SIZE(o);
      if (size >= -1 && size <= 1) {
        const Py_ssize_t v = size * static_cast<Py_ssize_t>(
                                        reinterpret_cast<PyLongObject*>(o)->ob_digit[0]);
        if constexpr (sizeof(T) < sizeof(Py_ssize_t)) {
          if (IL_PY_UNLIKELY(v < std::numeric_limits<T>::min() ||
                             v > std::numeric_limits<T>::max()))
            throw_out_of_range(int_name<T>());
        }
        return static_cast<T>(v);
      }
    }
#endif
    const long long v = PyLong_AsLongLong(o);  // uses __index__
    if (IL_PY_UNLIKELY(v == -1) && PyErr_Occurred()) throw_python_error();
    if constexpr (sizeof(T) < sizeof(long long)) {
      if (IL_PY_UNLIKELY(v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()))
        throw_out_of_range(int_name<T>());
    }
    return static_cast<T>(v);
  } else if constexpr (std::is_integral_v<T>) {
    unsigned long long v;
    if (IL_PY_UNLIKELY(!PyLong_Check(o))) {
      PyObject* idx = PyNumber_Index(o);
      if (!idx) throw_python_error();
      v = PyLong_AsUnsignedLongLong(idx);
      Py_DECREF(idx);
    } else {
      v = PyLong_AsUnsignedLongLong(o);
    }
    if (IL_PY_UNLIKELY(v == static_cast<unsigned long long>(-1)) && PyErr_Occurred())
      throw_python_error();
    if constexpr (sizeof(T) < sizeof(unsigned long long)) {
      if (IL_PY_UNLIKELY(v > std::numeric_limits<T>::max())) throw_out_of_range(int_name<T>());
    }
    return static_cast<T>(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    const double v = PyFloat_AsDouble(o);
    if (IL_PY_UNLIKELY(v == -1.0) && PyErr_Occurred()) throw_python_error();
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
    if (IL_PY_UNLIKELY(!PyUnicode_Check(o))) throw_not_str(method, index, o);
    Py_ssize_t size = 0;
    const char* s = PyUnicode_AsUTF8AndSize(o, &size);  // valid while `o` lives
    if (IL_PY_UNLIKELY(!s)) throw_python_error();
    return T(s, static_cast<std::size_t>(size));
  } else {
    // Slow path: nanobind's own type casters (bound classes, STL, ...).
    try {
      return nb::cast<stored_t<A>>(nb::handle(o));
    } catch (const nb::cast_error&) {
      throw_incompatible(method, index, o);
    }
  }
}

/// Converts an argument that may be missing (null) and whose C++ type may be
/// std::optional<T> (missing or None -> nullopt).
template <class A>
IL_PY_INLINE stored_t<A> load_opt(PyObject* o, const char* method, std::size_t index) {
  if constexpr (std::is_same_v<bare_t<A>, passed>) {
    return passed{o};
  } else if constexpr (is_optional<bare_t<A>>::value) {
    using T = typename bare_t<A>::value_type;
    if (o == nullptr || o == Py_None) return std::nullopt;
    return bare_t<A>(load<T>(o, method, index));
  } else {
    return load<A>(o, method, index);
  }
}

// ============================================================ result conversion

template <class R>
IL_PY_INLINE PyObject* to_python(R&& r) {
  using T = bare_t<R>;
  if constexpr (std::is_same_v<T, bool>) {
    return Py_NewRef(r ? Py_True : Py_False);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return PyLong_FromLongLong(static_cast<long long>(r));
  } else if constexpr (std::is_integral_v<T>) {
    return PyLong_FromUnsignedLongLong(static_cast<unsigned long long>(r));
  } else if constexpr (std::is_floating_point_v<T>) {
    return PyFloat_FromDouble(static_cast<double>(r));
  } else if constexpr (std::is_same_v<T, PyObject*>) {
    return r;  // a new reference, by contract
  } else if constexpr (std::is_same_v<T, nb::handle>) {
    return Py_XNewRef(r.ptr());
  } else if constexpr (std::is_base_of_v<nb::handle, T>) {
    return T(std::forward<R>(r)).release().ptr();
  } else if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
    return PyUnicode_FromStringAndSize(r.data(), static_cast<Py_ssize_t>(r.size()));
  } else if constexpr (is_optional<T>::value) {
    if (!r) return Py_NewRef(Py_None);
    return to_python(*std::forward<R>(r));
  } else {
    static_assert(!std::is_pointer_v<T>, "return raw pointers only as PyObject* (new reference)");
    if constexpr (std::is_lvalue_reference_v<R>)
      return nb::cast(std::forward<R>(r), nb::rv_policy::copy).release().ptr();
    else
      return nb::cast(std::forward<R>(r), nb::rv_policy::move).release().ptr();
  }
}

template <class R>
inline constexpr bool result_is_noexcept_v =
    std::is_void_v<R> || std::is_arithmetic_v<bare_t<R>> ||
    std::is_same_v<bare_t<R>, PyObject*> || std::is_same_v<bare_t<R>, nb::handle> ||
    std::is_base_of_v<nb::handle, bare_t<R>>;

// ============================================================ errors

/// Sets the Python error for the C++ exception being handled (call it only
/// inside a catch block) and returns nullptr. The mapping is nanobind's
/// default translator's, so fast and plain nanobind methods agree.
IL_PY_COLD inline PyObject* translate_current_exception() noexcept {
  try {
    throw;
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const nb::builtin_exception& e) {
    PyObject* type = PyExc_RuntimeError;
    switch (e.type()) {
      case nb::exception_type::stop_iteration: type = PyExc_StopIteration; break;
      case nb::exception_type::index_error: type = PyExc_IndexError; break;
      case nb::exception_type::key_error: type = PyExc_KeyError; break;
      case nb::exception_type::value_error: type = PyExc_ValueError; break;
      case nb::exception_type::type_error: type = PyExc_TypeError; break;
      case nb::exception_type::buffer_error: type = PyExc_BufferError; break;
      case nb::exception_type::import_error: type = PyExc_ImportError; break;
      case nb::exception_type::attribute_error: type = PyExc_AttributeError; break;
      case nb::exception_type::next_overload: type = PyExc_TypeError; break;
      default: break;
    }
    PyErr_SetString(type, e.what());
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::bad_cast& e) {  // nb::cast_error
    PyErr_SetString(PyExc_TypeError, e.what());
  } catch (const std::domain_error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::length_error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::out_of_range& e) {
    PyErr_SetString(PyExc_IndexError, e.what());
  } catch (const std::range_error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::overflow_error& e) {
    PyErr_SetString(PyExc_OverflowError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_SystemError, "unknown C++ exception in a fast method");
  }
  return nullptr;
}

/// "Counter" for a type named "interlock._interlock._bench.Counter".
inline const char* short_type_name(PyObject* self) noexcept {
  const char* full = IL_TP_NAME(self);
  const char* dot = std::strrchr(full, '.');
  return dot ? dot + 1 : full;
}

IL_PY_COLD inline PyObject* raise_not_ready(PyObject* self, const char* method) noexcept {
  PyErr_Format(PyExc_TypeError, "%s.%s(): the instance is not initialized (did __init__ run?)",
               short_type_name(self), method);
  return nullptr;
}

IL_PY_COLD inline PyObject* raise_arg_count(PyObject* self, const char* method, std::size_t lo,
                                            std::size_t hi, Py_ssize_t given) noexcept {
  if (hi == 0) {
    PyErr_Format(PyExc_TypeError, "%s.%s() takes no arguments (%zd given)",
                 short_type_name(self), method, given);
    return nullptr;
  }
  const char* how = lo == hi ? "exactly" : static_cast<std::size_t>(given) < lo ? "at least"
                                                                                 : "at most";
  const std::size_t n = static_cast<std::size_t>(given) < lo ? lo : hi;
  PyErr_Format(PyExc_TypeError, "%s.%s() takes %s %zu positional argument%s (%zd given)",
               short_type_name(self), method, how, n, n == 1 ? "" : "s", given);
  return nullptr;
}

/// Sorts keyword arguments (kwnames may be null) into `slots`, which already
/// hold the positional ones, and checks that every required parameter got a
/// value. Returns false with a TypeError set on a bad call.
IL_PY_NOINLINE inline bool bind_keywords(const signature& sig, PyObject* self, const char* method,
                                         PyObject** slots,
                                         PyObject* const* kwvalues, PyObject* kwnames) noexcept {
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t j = 0; j < nkw; ++j) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, j);
    Py_ssize_t len = 0;
    const char* s = PyUnicode_AsUTF8AndSize(key, &len);
    if (!s) return false;
    const std::string_view k(s, static_cast<std::size_t>(len));
    std::size_t i = sig.positional_only;
    while (i < sig.count && sig.params[i].name != k) ++i;
    if (i == sig.count) {
      PyErr_Format(PyExc_TypeError, "%s.%s() got an unexpected keyword argument '%U'",
                   short_type_name(self), method, key);
      return false;
    }
    if (slots[i]) {
      PyErr_Format(PyExc_TypeError, "%s.%s() got multiple values for argument '%U'",
                   short_type_name(self), method, key);
      return false;
    }
    slots[i] = kwvalues[j];
  }
  for (std::size_t i = 0; i < sig.count; ++i) {
    if (!slots[i] && !sig.params[i].has_default) {
      const std::string name(sig.params[i].name);
      PyErr_Format(PyExc_TypeError, "%s.%s() missing required argument '%s' (pos %zu)",
                   short_type_name(self), method, name.c_str(), i + 1);
      return false;
    }
  }
  return true;
}

// ============================================================ the wrappers

template <auto F, fixed_string Sig, fixed_string Doc, call_kind Kind>
struct method_impl {
  using traits = fn_traits<decltype(F)>;
  using cls = typename traits::cls;
  using args = typename traits::args;
  static constexpr std::size_t arity = std::tuple_size_v<args>;

  static constexpr signature sig = parse_signature(Sig.view());
  static_assert(sig.count == arity,
                "the text signature and the C++ callable have different parameter counts");
  static_assert(kind_fits(Kind, sig),
                "the requested calling convention does not fit the text signature (noargs: "
                "no parameters; o: one required positional-only parameter; fastcall: only "
                "positional-only parameters)");
  static constexpr call_kind kind = Kind == call_kind::automatic ? kind_of(sig) : Kind;

  static constexpr auto name = make_text<sig.name.size()>({sig.name});
  static constexpr auto doc = make_doc<Sig, Doc, args, typename traits::ret>();

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

  /// The C++ object behind `self`, or nullptr (with the error set).
  IL_PY_INLINE static cls* self_ptr(PyObject* self) noexcept {
    if (IL_PY_UNLIKELY(!nb::inst_ready(self))) {
      raise_not_ready(self, name.c_str());
      return nullptr;
    }
    return nb::inst_ptr<cls>(self);
  }

  /// F(obj, a...), or F(self, obj, a...) for a function that takes the
  /// Python object too.
  template <class... A>
  IL_PY_INLINE static decltype(auto) call_f(PyObject* self, cls& obj, A&&... a) {
    auto& ref = static_cast<typename traits::self_ref>(obj);
    if constexpr (takes_python_self<traits>) return F(self, ref, std::forward<A>(a)...);
    else return std::invoke(F, ref, std::forward<A>(a)...);
  }

  template <class... A>
  IL_PY_INLINE static PyObject* invoke(PyObject* self, cls& obj, A&&... a) {
    using R = decltype(call_f(self, obj, std::forward<A>(a)...));
    if constexpr (std::is_void_v<R>) {
      call_f(self, obj, std::forward<A>(a)...);
      return Py_NewRef(Py_None);
    } else {
      return to_python(call_f(self, obj, std::forward<A>(a)...));
    }
  }

  template <std::size_t... I>
  IL_PY_INLINE static PyObject* invoke_slots(PyObject* self, cls& obj, PyObject* const* slots,
                                             std::index_sequence<I...>) {
    // Brace initialisation converts left to right, so the first bad argument
    // is the one reported.
    std::tuple<stored_t<std::tuple_element_t<I, args>>...> values{
        load_opt<std::tuple_element_t<I, args>>(slots[I], name.c_str(), I)...};
    return invoke(self, obj, std::get<I>(std::move(values))...);
  }

  template <std::size_t... I>
  static constexpr bool loads_nothrow(std::index_sequence<I...>) {
    return (load_is_noexcept_v<std::tuple_element_t<I, args>> && ...);
  }

  template <std::size_t... I>
  static auto result_type(std::index_sequence<I...>)
      -> decltype(call_f(nullptr, std::declval<cls&>(),
                         std::declval<stored_t<std::tuple_element_t<I, args>>>()...));
  using result_t = decltype(result_type(std::make_index_sequence<arity>{}));

  /// Whether anything in a call can throw: the callable, an argument
  /// conversion or the result conversion. If nothing can, no handler is made.
  static constexpr bool can_throw() {
    return !(traits::is_noexcept && result_is_noexcept_v<result_t> &&
             loads_nothrow(std::make_index_sequence<arity>{}));
  }

  /// Runs `body` and turns any C++ exception into a Python error.
  template <class Body>
  IL_PY_INLINE static PyObject* guarded(Body&& body) noexcept {
    if constexpr (can_throw()) {
      try {
        return body();
      } catch (...) {
        return translate_current_exception();
      }
    } else {
      return body();
    }
  }

  static PyObject* noargs(PyObject* self, PyObject*) noexcept {
    cls* obj = self_ptr(self);
    if (IL_PY_UNLIKELY(!obj)) return nullptr;
    return guarded([&] { return invoke(self, *obj); });
  }

  static PyObject* one(PyObject* self, PyObject* arg) noexcept {
    cls* obj = self_ptr(self);
    if (IL_PY_UNLIKELY(!obj)) return nullptr;
    return guarded([&] {
      return invoke(self, *obj, load_opt<std::tuple_element_t<0, args>>(arg, name.c_str(), 0));
    });
  }

  static PyObject* fastcall(PyObject* self, PyObject* const* argv, Py_ssize_t nargs) noexcept {
    cls* obj = self_ptr(self);
    if (IL_PY_UNLIKELY(!obj)) return nullptr;
    if (IL_PY_UNLIKELY(nargs < static_cast<Py_ssize_t>(sig.required) ||
                       nargs > static_cast<Py_ssize_t>(arity)))
      return raise_arg_count(self, name.c_str(), sig.required, arity, nargs);
    return guarded([&] {
      if constexpr (sig.required == arity) {
        return invoke_slots(self, *obj, argv, std::make_index_sequence<arity>{});
      } else {
        PyObject* slots[arity] = {};
        for (Py_ssize_t i = 0; i < nargs; ++i) slots[i] = argv[i];
        return invoke_slots(self, *obj, slots, std::make_index_sequence<arity>{});
      }
    });
  }

  static PyObject* fastcall_keywords(PyObject* self, PyObject* const* argv, Py_ssize_t nargsf,
                                     PyObject* kwnames) noexcept {
    cls* obj = self_ptr(self);
    if (IL_PY_UNLIKELY(!obj)) return nullptr;
    const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (IL_PY_UNLIKELY(nargs > static_cast<Py_ssize_t>(sig.max_positional)))
      return raise_arg_count(self, name.c_str(), 0, sig.max_positional, nargs);
    PyObject* slots[arity > 0 ? arity : 1] = {};
    for (Py_ssize_t i = 0; i < nargs; ++i) slots[i] = argv[i];
    if (kwnames || IL_PY_UNLIKELY(nargs < static_cast<Py_ssize_t>(sig.required))) {
      if (!bind_keywords(sig, self, name.c_str(), slots, argv + nargs, kwnames)) return nullptr;
    }
    return guarded(
        [&] { return invoke_slots(self, *obj, slots, std::make_index_sequence<arity>{}); });
  }

  static PyMethodDef def() noexcept {
    if constexpr (kind == call_kind::noargs) {
      return {name.c_str(), &noargs, METH_NOARGS, doc.c_str()};
    } else if constexpr (kind == call_kind::o) {
      return {name.c_str(), &one, METH_O, doc.c_str()};
    } else if constexpr (kind == call_kind::fastcall) {
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

// ============================================================ public API

/// One entry of a PyMethodDef table: `F` bound as a CPython method whose
/// text signature is `Sig` (e.g. "add($self, n, /)") and docstring `Doc`.
/// `Kind` forces a calling convention; the default picks the fastest one the
/// signature allows (see detail::kind_of).
template <auto F, fixed_string Sig, fixed_string Doc = "", call_kind Kind = call_kind::automatic>
inline PyMethodDef method() noexcept {
  return detail::method_impl<F, Sig, Doc, Kind>::def();
}

/// The sentinel closing a PyMethodDef table.
inline constexpr PyMethodDef methods_end{nullptr, nullptr, 0, nullptr};

/// A class annotation installing a method table (which must be static and
/// end with methods_end) into the type: nb::class_<T>(m, "T", method_slots<table>()).
template <PyMethodDef* Methods>
inline nb::type_slots method_slots() noexcept {
  static PyType_Slot slots[] = {{Py_tp_methods, static_cast<void*>(Methods)}, {0, nullptr}};
  return nb::type_slots(slots);
}

/// Py_tp_traverse and Py_tp_clear for a class whose C++ object holds Python
/// references: C has `int traverse(visitproc, void*) const noexcept` (visit
/// each one) and `void clear() noexcept` (drop them). The instance also visits
/// its heap type, as CPython requires of heap-type instances.
template <class C>
int traverse_slot(PyObject* self, visitproc visit, void* arg) noexcept {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  return nb::inst_ptr<C>(self)->traverse(visit, arg);
}

template <class C>
int clear_slot(PyObject* self) noexcept {
  if (nb::inst_ready(self)) nb::inst_ptr<C>(self)->clear();
  return 0;
}

/// Deallocation safe at any depth (issue 15): freeing a chain such as
/// AtomicReference(AtomicReference(...)) recurses once per link through the
/// C++ destructors, so an instance that holds Python references is freed
/// inside CPython's trashcan (as list and dict are), which defers links past
/// a fixed depth. use_trashcan(cls) wraps the class's nanobind tp_dealloc;
/// a native type with its own tp_dealloc brackets it with Py_TRASHCAN_BEGIN/END.
#ifndef Py_LIMITED_API
namespace detail {
inline destructor nb_inst_dealloc = nullptr;
inline void trashcan_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);  // the trashcan may defer only untracked objects
  Py_TRASHCAN_BEGIN(self, trashcan_dealloc)
  nb_inst_dealloc(self);
  Py_TRASHCAN_END
}
}  // namespace detail

inline void use_trashcan(nb::handle cls) noexcept {
  auto* tp = reinterpret_cast<PyTypeObject*>(cls.ptr());
  if (tp->tp_dealloc == detail::trashcan_dealloc) return;
  detail::nb_inst_dealloc = tp->tp_dealloc;  // nanobind's inst_dealloc, shared by its classes
  tp->tp_dealloc = detail::trashcan_dealloc;
}
#else
// The limited API (abi3 wheel) has neither the trashcan nor writable type
// slots: no deferral there. KNOWN GAP (issue 17 merge): very deep chains can
// still exhaust the C stack with the abi3 wheel.
inline void use_trashcan(nb::handle) noexcept {}
#endif

}  // namespace interlock::py
