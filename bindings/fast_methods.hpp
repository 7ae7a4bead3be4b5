// bindings/fast_methods.hpp — hot methods of nanobind classes as plain CPython
// methods (PyMethodDef), so CPython's specialised call paths for C method
// descriptors (METH_O / METH_FASTCALL) apply to them:
//   ilpy::method<&Counter::add, "add($self, n, /)", "Add n; return the new value.">()
// The contract (signature strings, calling conventions, conversions, errors,
// the typed line and stubs) is docs/design.md, "The binding pattern" and
// "Typed signatures and generated stubs".
#pragma once

#include <nanobind/nanobind.h>

#include "py_compat.hpp"
#if PY_VERSION_HEX < 0x030B0000 && !defined(Py_LIMITED_API)
#include <longintrepr.h>  // PyLongObject::ob_digit (Python.h includes it from 3.11)
#endif

#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>  // std::bad_cast
#include <utility>

#include "interlock/config.hpp"  // the compiler attributes, spelled once
#define IL_PY_INLINE INTERLOCK_ALWAYS_INLINE
#define IL_PY_COLD INTERLOCK_COLD
#define IL_PY_UNLIKELY(x) INTERLOCK_UNLIKELY(x)

namespace interlock::py {

namespace nb = nanobind;

/// A parameter type: the argument exactly as given (borrowed), `obj` null when
/// it was omitted; None stays None. It may carry a default in the signature.
struct passed {
  PyObject* obj = nullptr;
  bool given() const noexcept { return obj != nullptr; }
};

// ============================================================ compile-time text

/// A NUL-terminated string usable as a template argument (from a literal,
/// or put together at compile time by make_text / cat).
template <std::size_t N>
struct fixed_string {
  char chars[N]{};
  constexpr fixed_string() = default;
  constexpr fixed_string(const char (&s)[N]) noexcept {
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  constexpr const char* c_str() const noexcept { return chars; }
  constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

/// The signature picks the calling convention (docs/design.md, "The binding
/// pattern"); only METH_NOARGS may be forced, on a method without parameters.
enum class call_kind { automatic, noargs };

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
  bool seen_self = false, seen_default = false;
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
      if (sig.slash || sig.star) throw "misplaced '/'";
      sig.slash = true;
      sig.positional_only = sig.count;
    } else if (tok == "*") {
      if (sig.star) throw "duplicate '*'";
      sig.star = true;
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
        if (seen_default && !sig.star)
          throw "a parameter without default follows one with a default";
        ++sig.required;
      }
    }
  }
  if (!seen_self) throw "the first parameter must be $self";
  if (depth != 0 || quote != 0) throw "unbalanced brackets or quotes";
  if (!sig.star) sig.max_positional = sig.count;
  return sig;
}

template <std::size_t N>
constexpr fixed_string<N + 1> make_text(std::initializer_list<std::string_view> parts) {
  fixed_string<N + 1> out;
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
  else if constexpr (std::is_same_v<U, std::string>) return "str";
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
  fixed_string<emitted_size(s, nullptr) + 5 + emitted_size(s, types) + doc + 1> t;
  text_sink o{t.chars};
  emit_signature(o, s, nullptr);
  o.put("\n--\n\n");
  emit_signature(o, s, types);
  if (doc) o.put("\n"), o.put(Doc.view());
  return t;
}

// ============================================================ callables

/// What a callable F(S& obj, A...) -> R tells the wrapper; WantsSelf: F
/// also takes the Python object first, F(self, obj, A...).
template <class S, class R, bool NX, bool WantsSelf, class... A>
struct fn_info {
  using cls = std::remove_const_t<S>;
  using ret = R;
  using self_ref = S&;
  using args = std::tuple<A...>;
  static constexpr bool is_noexcept = NX, wants_self = WantsSelf;
};

template <class F>
struct fn_traits;
template <class C, class R, class... A, bool NX>
struct fn_traits<R (C::*)(A...) noexcept(NX)> : fn_info<C, R, NX, false, A...> {};
template <class C, class R, class... A, bool NX>
struct fn_traits<R (C::*)(A...) const noexcept(NX)> : fn_info<const C, R, NX, false, A...> {};
template <class S, class R, class... A, bool NX>
struct fn_traits<R (*)(S&, A...) noexcept(NX)> : fn_info<S, R, NX, false, A...> {};
template <class S, class R, class... A, bool NX>
struct fn_traits<R (*)(PyObject*, S&, A...) noexcept(NX)> : fn_info<S, R, NX, true, A...> {};

// ============================================================ argument conversion

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
using bare_t = std::remove_cvref_t<T>;

/// Whether converting an A can throw (it can fail, which then throws
/// nb::python_error; only borrowed handles cannot fail).
template <class A>
inline constexpr bool load_is_noexcept_v =
    std::is_same_v<bare_t<A>, PyObject*> || std::is_same_v<bare_t<A>, nb::handle> ||
    std::is_same_v<bare_t<A>, passed>;

[[noreturn]] IL_PY_COLD inline void throw_python_error() { throw nb::python_error(); }

/// OverflowError "... for a C++ int16" (uint8, ...).
[[noreturn]] IL_PY_COLD inline void throw_out_of_range(bool is_signed, std::size_t bits) {
  PyErr_Format(PyExc_OverflowError, "Python int out of range for a C++ %sint%zu",
               is_signed ? "" : "u", bits);
  throw nb::python_error();
}

template <class T, class V>
IL_PY_INLINE T narrow(V v) {
  if constexpr (sizeof(T) < sizeof(V)) {
    if (IL_PY_UNLIKELY(v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()))
      throw_out_of_range(std::is_signed_v<T>, sizeof(T) * 8);
  }
  return static_cast<T>(v);
}

/// Reads an exact int of at most one digit (|v| < 2**30) without a call;
/// false for any other object (and always under the limited API).
IL_PY_INLINE bool compact_int(PyObject* o, long long& v) noexcept {
#if defined(Py_LIMITED_API)
  (void)o, (void)v;
  return false;
#elif PY_VERSION_HEX >= 0x030C0000
  auto* l = reinterpret_cast<PyLongObject*>(o);
  if (!PyLong_CheckExact(o) || !PyUnstable_Long_IsCompact(l)) return false;
  v = PyUnstable_Long_CompactValue(l);
  return true;
#else  // 3.10 / 3.11 (frozen layouts)
  const Py_ssize_t size = PyLong_CheckExact(o) ? Py_SIZE(o) : 2;
  if (size < -1 || size > 1) return false;
  v = size * static_cast<long long>(reinterpret_cast<PyLongObject*>(o)->ob_digit[0]);
  return true;
#endif
}

/// Converts one positional argument (borrowed, never null here).
template <class A>
IL_PY_INLINE bare_t<A> load(PyObject* o) {
  using T = bare_t<A>;
  if constexpr (std::is_same_v<T, PyObject*>) {
    return o;
  } else if constexpr (std::is_same_v<T, nb::handle>) {
    return nb::handle(o);
  } else if constexpr (std::is_same_v<T, bool>) {
    const int r = PyObject_IsTrue(o);
    if (IL_PY_UNLIKELY(r < 0)) throw_python_error();
    return r != 0;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    long long v;
    if (!compact_int(o, v)) {
      v = PyLong_AsLongLong(o);  // uses __index__
      if (IL_PY_UNLIKELY(v == -1) && PyErr_Occurred()) throw_python_error();
    }
    return narrow<T>(v);
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
    return narrow<T>(v);
  } else {
    static_assert(std::is_floating_point_v<T>,
                  "fast-method parameters: PyObject*, nb::handle, passed, bool, integers, "
                  "floating point, std::optional of those (docs/design.md)");
    const double v = PyFloat_AsDouble(o);
    if (IL_PY_UNLIKELY(v == -1.0) && PyErr_Occurred()) throw_python_error();
    return static_cast<T>(v);
  }
}

/// Converts an argument that may be missing (null) and whose C++ type may be
/// std::optional<T> (missing or None -> nullopt).
template <class A>
IL_PY_INLINE bare_t<A> load_opt(PyObject* o) {
  if constexpr (std::is_same_v<bare_t<A>, passed>) {
    return passed{o};
  } else if constexpr (is_optional<bare_t<A>>::value) {
    if (o == nullptr || o == Py_None) return std::nullopt;
    return bare_t<A>(load<typename bare_t<A>::value_type>(o));
  } else {
    return load<A>(o);
  }
}

// ============================================================ result conversion

template <class R>
IL_PY_INLINE PyObject* to_python(R&& r) noexcept {
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
  } else if constexpr (std::is_same_v<T, std::string>) {
    return PyUnicode_FromStringAndSize(r.data(), static_cast<Py_ssize_t>(r.size()));
  } else {
    static_assert(std::is_base_of_v<nb::object, T>,
                  "fast-method results: void, bool, integers, floating point, std::string, "
                  "PyObject* (a new reference), nb::object (docs/design.md)");
    return T(std::forward<R>(r)).release().ptr();
  }
}

// ============================================================ errors

/// Sets the Python error for the C++ exception being handled (call it only
/// inside a catch block) and returns nullptr; which error: docs/design.md,
/// "The binding pattern" (every generated wrapper).
IL_PY_COLD inline PyObject* translate_current_exception() noexcept {
  try {
    throw;
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const std::bad_cast& e) {  // nb::cast_error
    PyErr_SetString(PyExc_TypeError, e.what());
  } catch (...) {
    static thread_local std::exception_ptr pending;
    static std::atomic<PyObject*> rethrow{nullptr};  // made once, kept for good
    PyObject* f = rethrow.load(std::memory_order_acquire);
    if (!f) {
      try {
        nb::object made =
            nb::cpp_function([] { std::rethrow_exception(std::exchange(pending, {})); });
        if (rethrow.compare_exchange_strong(f, made.ptr())) f = made.release().ptr();
      } catch (...) {
        return PyErr_NoMemory();  // the one way making it fails
      }
    }
    pending = std::current_exception();
    Py_XDECREF(PyObject_CallNoArgs(f));  // null, with the error set
  }
  return nullptr;
}

/// "Lock" for a type named "interlock._interlock.locks.Lock".
inline const char* short_type_name(PyObject* self) noexcept {
  const char* full = IL_TP_NAME(self);
  const char* dot = std::strrchr(full, '.');
  return dot ? dot + 1 : full;
}

// The raise_* helpers set a TypeError and return nullptr.
IL_PY_COLD inline PyObject* raise_not_ready(PyObject* self, const char* method) noexcept {
  return PyErr_Format(PyExc_TypeError,
                      "%s.%s(): the instance is not initialized (did __init__ run?)",
                      short_type_name(self), method);
}

IL_PY_COLD inline PyObject* raise_arg_count(PyObject* self, const char* method, std::size_t lo,
                                            std::size_t hi, Py_ssize_t given) noexcept {
  const char* type = short_type_name(self);
  if (hi == 0)
    return PyErr_Format(PyExc_TypeError, "%s.%s() takes no arguments (%zd given)", type, method,
                        given);
  const bool few = static_cast<std::size_t>(given) < lo;
  const std::size_t n = few ? lo : hi;
  return PyErr_Format(PyExc_TypeError, "%s.%s() takes %s %zu positional argument%s (%zd given)",
                      type, method, lo == hi ? "exactly" : few ? "at least" : "at most", n,
                      n == 1 ? "" : "s", given);
}

/// Sorts keyword arguments (kwnames may be null) into `slots`, which already
/// hold the positional ones, and checks that every required parameter got a
/// value. Returns false with a TypeError set on a bad call.
INTERLOCK_NOINLINE inline bool bind_keywords(const signature& sig, PyObject* self,
                                             const char* method, PyObject** slots,
                                             PyObject* const* kwvalues,
                                             PyObject* kwnames) noexcept {
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
  static_assert(Kind == call_kind::automatic || sig.count == 0,
                "only call_kind::noargs may be forced, on a method without parameters");

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

  /// Whether the callable or an argument conversion can throw (results
  /// convert without): if neither can, no handler is made.
  template <std::size_t... I>
  static constexpr bool can_throw(std::index_sequence<I...>) {
    return !(traits::is_noexcept && (load_is_noexcept_v<std::tuple_element_t<I, args>> && ...));
  }

  /// Converts slots[0, arity) (null: omitted) and calls F; its result as a
  /// new reference.
  template <std::size_t... I>
  IL_PY_INLINE static PyObject* invoke(PyObject* self, cls& obj, PyObject* const* slots,
                                       std::index_sequence<I...>) {
    // Brace initialisation converts left to right, so the first bad argument
    // is the one reported.
    std::tuple<bare_t<std::tuple_element_t<I, args>>...> a{
        load_opt<std::tuple_element_t<I, args>>(slots[I])...};
    auto& ref = static_cast<typename traits::self_ref>(obj);
    auto f = [&]() -> decltype(auto) {
      if constexpr (traits::wants_self) return F(self, ref, std::get<I>(std::move(a))...);
      else return std::invoke(F, ref, std::get<I>(std::move(a))...);
    };
    if constexpr (std::is_void_v<decltype(f())>) return f(), Py_NewRef(Py_None);
    else return to_python(f());
  }

  /// The call on self's C++ object, any C++ exception turned into a Python error.
  IL_PY_INLINE static PyObject* call(PyObject* self, PyObject* const* slots) noexcept {
    if (IL_PY_UNLIKELY(!nb::inst_ready(self))) return raise_not_ready(self, name.c_str());
    cls& obj = *nb::inst_ptr<cls>(self);
    constexpr auto seq = std::make_index_sequence<arity>{};
    if constexpr (can_throw(seq)) {
      try {
        return invoke(self, obj, slots, seq);
      } catch (...) {
        return translate_current_exception();
      }
    } else {
      return invoke(self, obj, slots, seq);
    }
  }

  static PyObject* noargs(PyObject* self, PyObject*) noexcept { return call(self, nullptr); }
  static PyObject* one(PyObject* self, PyObject* arg) noexcept { return call(self, &arg); }

  static PyObject* fastcall(PyObject* self, PyObject* const* argv, Py_ssize_t nargs) noexcept {
    if (IL_PY_UNLIKELY(nargs < static_cast<Py_ssize_t>(sig.required) ||
                       nargs > static_cast<Py_ssize_t>(arity)))
      return raise_arg_count(self, name.c_str(), sig.required, arity, nargs);
    if constexpr (sig.required == arity) {
      return call(self, argv);
    } else {
      PyObject* slots[arity] = {};
      for (Py_ssize_t i = 0; i < nargs; ++i) slots[i] = argv[i];
      return call(self, slots);
    }
  }

  static PyObject* fastcall_keywords(PyObject* self, PyObject* const* argv, Py_ssize_t nargsf,
                                     PyObject* kwnames) noexcept {
    const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (IL_PY_UNLIKELY(nargs > static_cast<Py_ssize_t>(sig.max_positional)))
      return raise_arg_count(self, name.c_str(), 0, sig.max_positional, nargs);
    PyObject* slots[arity > 0 ? arity : 1] = {};
    for (Py_ssize_t i = 0; i < nargs; ++i) slots[i] = argv[i];
    if (IL_PY_UNLIKELY(kwnames || nargs < static_cast<Py_ssize_t>(sig.required))) {
      if (!bind_keywords(sig, self, name.c_str(), slots, argv + nargs, kwnames)) return nullptr;
    }
    return call(self, slots);
  }

  static PyMethodDef def() noexcept {
    auto entry = [](auto* fn, int flags) {
      auto* f = reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fn));
      return PyMethodDef{name.c_str(), f, flags, doc.c_str()};
    };
    if constexpr (Kind == call_kind::noargs) return entry(&noargs, METH_NOARGS);
    else if constexpr (sig.count == 1 && sig.positional_only == 1 && sig.required == 1)
      return entry(&one, METH_O);
    else if constexpr (sig.positional_only == sig.count) return entry(&fastcall, METH_FASTCALL);
    else return entry(&fastcall_keywords, METH_FASTCALL | METH_KEYWORDS);
  }
};

}  // namespace detail

// ============================================================ public API

/// One entry of a PyMethodDef table: `F` bound as a CPython method whose
/// text signature is `Sig` (e.g. "add($self, n, /)") and docstring `Doc`.
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

/// Deallocation at any depth (docs/design.md; issue 15): use_trashcan(cls)
/// wraps a nanobind class's tp_dealloc in CPython's trashcan (py_compat.hpp's
/// on the abi3 wheel); a native type's tp_dealloc brackets itself.
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
  destructor* f = IL_TP_DEALLOC_FIELD(reinterpret_cast<PyTypeObject*>(cls.ptr()));
  if (!f || *f == detail::trashcan_dealloc) return;
  detail::nb_inst_dealloc = *f;  // nanobind's inst_dealloc, shared by its classes
  *f = detail::trashcan_dealloc;
}

}  // namespace interlock::py
