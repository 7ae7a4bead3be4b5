// interlock/atomic_cell.hpp — one atomic value and the arithmetic of its
// read-modify-write operations: the cells behind interlock.atomic and its
// façades (syncx, ft_utils), which only adapt Python objects to them.
//
// Invariants:
//   * Cell<T> (int64, bool, double) is one std::atomic word; every operation
//     is sequentially consistent, and is one atomic instruction or a
//     compare-exchange loop. Cell::fetch<Op> applies one of the op::
//     function objects; a `keeps` op (max / min) does not write when it
//     leaves the value unchanged, so a no-op max on a contended cell does not
//     take its cache line;
//   * a double is stored as its bit pattern: compare-exchange compares bits,
//     so a NaN can be compare-exchanged and -0.0 and 0.0 differ;
//   * int64 arithmetic wraps (two's complement), never undefined behaviour;
//     op::div / op::mod are Python's // and % (MIN // -1 wraps to MIN); an
//     operand outside the op's Domain (zero divisor, negative shift) is
//     refused before the cell is touched (fetch returns std::nullopt);
//   * op::max / op::min on double are IEEE 754-2019 maximumNumber /
//     minimumNumber: a NaN operand is ignored, +0.0 > -0.0;
//   * the façades' own rules live here too, one home each: Rust's
//     checked_div (op::rust_div: truncating, refuses 0 and MIN / -1 with the
//     value unchanged), syncx's float max/min (op::keep_ge / keep_le) and
//     Rust's Display of a double (rust_display);
//   * RefSlot<Obj, Refs> holds a strong reference under a one-byte Mutex
//     held only for pointer moves and Refs::retain; a displaced object is
//     released after unlocking; it is never empty until destroyed.
// Callers choose the alignment (a derived type with alignas, e.g. a cache
// line each on free-threaded Python builds).
#pragma once

#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "interlock/config.hpp"
#include "interlock/mutex.hpp"

namespace interlock::atomic_cell {

// ------------------------------------------------------------ int64 arithmetic

inline constexpr std::int64_t kI64Min = std::numeric_limits<std::int64_t>::min();

constexpr std::int64_t wrap_add(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
constexpr std::int64_t wrap_sub(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
constexpr std::int64_t wrap_mul(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
constexpr std::int64_t wrap_neg(std::int64_t a) noexcept { return wrap_sub(0, a); }

/// Python's a // b (rounds toward negative infinity); b != 0. MIN // -1 wraps
/// to MIN.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  if (b == -1) return wrap_neg(a);
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

/// Python's a % b (the sign of b); b != 0.
constexpr std::int64_t floor_mod(std::int64_t a, std::int64_t b) noexcept {
  if (b == -1) return 0;
  std::int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

/// a << n for n >= 0, two's complement wrap; 0 once every bit is shifted out.
constexpr std::int64_t shift_left(std::int64_t a, std::int64_t n) noexcept {
  return n >= 64 ? 0 : static_cast<std::int64_t>(static_cast<std::uint64_t>(a) << n);
}

/// a >> n for n >= 0, arithmetic (sign fill).
constexpr std::int64_t shift_right(std::int64_t a, std::int64_t n) noexcept {
  return n >= 64 ? (a < 0 ? -1 : 0) : (a >> n);
}

/// Rust's checked_div: truncates toward zero; nothing for b == 0 and for
/// MIN / -1 (the façade raises ZeroDivisionError, value unchanged).
constexpr std::optional<std::int64_t> checked_div(std::int64_t a, std::int64_t b) noexcept {
  if (b == 0 || (b == -1 && a == kI64Min)) return std::nullopt;
  return a / b;
}

// ------------------------------------------------------------ IEEE max / min

/// IEEE 754-2019 maximumNumber: a NaN operand is ignored (the other one wins;
/// NaN only if both are), and +0.0 counts as larger than -0.0.
inline double max_number(double cur, double x) noexcept {
  if (std::isnan(x)) return cur;
  if (std::isnan(cur)) return x;
  if (x > cur) return x;
  if (x == cur && std::signbit(cur) && !std::signbit(x)) return x;
  return cur;
}

/// IEEE 754-2019 minimumNumber (see max_number): -0.0 is smaller than +0.0.
inline double min_number(double cur, double x) noexcept {
  if (std::isnan(x)) return cur;
  if (std::isnan(cur)) return x;
  if (x < cur) return x;
  if (x == cur && !std::signbit(cur) && std::signbit(x)) return x;
  return cur;
}

/// syncx's float max / min loops: keep the value while it is >= (<=) x, else
/// take x. So a NaN argument is taken, and a stored NaN is replaced.
constexpr double keep_ge(double cur, double x) noexcept { return cur >= x ? cur : x; }
constexpr double keep_le(double cur, double x) noexcept { return cur <= x ? cur : x; }

/// A value as Rust's Display writes it (syncx's repr / str): a bool as "true"
/// / "false", an int64 in decimal, a double as below.
inline std::string rust_display(bool x) { return x ? "true" : "false"; }
inline std::string rust_display(std::int64_t x) { return std::to_string(x); }

/// A double as Rust's Display writes it: shortest
/// round-trip digits, never an exponent, no ".0" on integral values ("1",
/// "3.14", "0.00000015", "100000000000000000000"), "NaN", "inf", "-inf",
/// "-0". Cold path.
inline std::string rust_display(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[64];  // shortest scientific: sign, 17 digits, point, e-324
  const auto res = std::to_chars(buf, buf + sizeof buf - 1, x, std::chars_format::scientific);
  *res.ptr = '\0';
  std::string out = std::signbit(x) ? "-" : "";
  std::string digits;
  long point = -1;  // digits before the decimal point
  long exp = 0;
  for (const char* p = buf + out.size(); p < res.ptr; ++p) {
    if (*p >= '0' && *p <= '9') {
      digits += *p;
    } else if (*p == '.') {
      point = static_cast<long>(digits.size());
    } else if (*p == 'e') {
      exp = std::strtol(p + 1, nullptr, 10);
      break;
    }
  }
  if (point < 0) point = static_cast<long>(digits.size());
  point += exp;
  std::size_t lead = 0;  // normalise: no leading zeros (moving the point), no trailing ones
  while (lead < digits.size() && digits[lead] == '0') ++lead;
  digits.erase(0, lead);
  point -= static_cast<long>(lead);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  if (digits.empty()) return out + "0";
  const long n = static_cast<long>(digits.size());
  if (point <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-point), '0');
    out += digits;
  } else if (point >= n) {
    out += digits;
    out.append(static_cast<std::size_t>(point - n), '0');
  } else {
    out += digits.substr(0, static_cast<std::size_t>(point));
    out += '.';
    out += digits.substr(static_cast<std::size_t>(point));
  }
  return out;
}

// ------------------------------------------------------------ operations

/// Which operands an operation takes; anything else is refused before the
/// cell is touched (the façade raises, the value is unchanged).
enum class Domain : std::uint8_t { any, nonzero, non_negative };

template <class Op, class T>
constexpr bool in_domain(T n) noexcept {
  if constexpr (Op::domain == Domain::nonzero) return n != T{};
  else if constexpr (Op::domain == Domain::non_negative) return n >= T{};
  else return true;
}

/// Whether Cell<T>::fetch<Op> may refuse: an operand outside Op's Domain, or
/// a value Op refuses (an Op returning std::optional, checked_div). Such a
/// fetch returns std::optional.
template <class Op, class T>
inline constexpr bool may_refuse =
    Op::domain != Domain::any || !std::is_same_v<decltype(Op{}(std::declval<T>(), std::declval<T>())), T>;

/// The binary operations value <op> n of the cells, as function objects over
/// int64 (wrapping), double and bool. `domain` says which n they take;
/// `keeps` marks those that often leave the value as it is (max / min), which
/// the cells then do not write; an operation returning std::optional may
/// refuse the current value (checked_div), leaving it unchanged.
namespace op {
/// The bases giving an operation its Domain and `keeps`.
template <Domain D, bool Keeps>
struct traits {
  static constexpr Domain domain = D;
  static constexpr bool keeps = Keeps;
};
using any_operand = traits<Domain::any, false>;
using nonzero_operand = traits<Domain::nonzero, false>;
using shift_count = traits<Domain::non_negative, false>;
using keeps_value = traits<Domain::any, true>;

struct add : any_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return wrap_add(a, b); }
  constexpr double operator()(double a, double b) const noexcept { return a + b; }
};
struct sub : any_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return wrap_sub(a, b); }
  constexpr double operator()(double a, double b) const noexcept { return a - b; }
};
struct mul : any_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return wrap_mul(a, b); }
  constexpr double operator()(double a, double b) const noexcept { return a * b; }
};
/// Python's // on int64 (MIN // -1 wraps), true division on double.
struct div : nonzero_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return floor_div(a, b); }
  constexpr double operator()(double a, double b) const noexcept { return a / b; }
};
/// Python's %.
struct mod : nonzero_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return floor_mod(a, b); }
};
/// Rust's checked_div (syncx): refuses 0 and MIN / -1.
struct rust_div : any_operand {
  constexpr std::optional<std::int64_t> operator()(std::int64_t a, std::int64_t b) const noexcept { return checked_div(a, b); }
};
struct lshift : shift_count {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return shift_left(a, b); }
};
struct rshift : shift_count {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return shift_right(a, b); }
};
struct and_ : any_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return a & b; }
  constexpr bool operator()(bool a, bool b) const noexcept { return a && b; }
};
struct or_ : any_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return a | b; }
  constexpr bool operator()(bool a, bool b) const noexcept { return a || b; }
};
struct xor_ : any_operand {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return a ^ b; }
  constexpr bool operator()(bool a, bool b) const noexcept { return a != b; }
};
/// max / min: plain on int64, IEEE maximumNumber / minimumNumber on double.
struct max : keeps_value {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return a < b ? b : a; }
  double operator()(double a, double b) const noexcept { return max_number(a, b); }
};
struct min : keeps_value {
  constexpr std::int64_t operator()(std::int64_t a, std::int64_t b) const noexcept { return b < a ? b : a; }
  double operator()(double a, double b) const noexcept { return min_number(a, b); }
};
/// syncx's float max / min (keep_ge / keep_le).
struct keep_ge : keeps_value {
  constexpr double operator()(double a, double b) const noexcept { return atomic_cell::keep_ge(a, b); }
};
struct keep_le : keeps_value {
  constexpr double operator()(double a, double b) const noexcept { return atomic_cell::keep_le(a, b); }
};
}  // namespace op

// ------------------------------------------------------------ cells

/// How a value is stored in one atomic word: int64 as is, bool as 0 / 1 (so
/// fetch_and / fetch_or / fetch_xor apply), double as its bit pattern.
template <class T> struct rep;
template <> struct rep<std::int64_t> {
  using type = std::int64_t;
  static constexpr type to(std::int64_t x) noexcept { return x; }
  static constexpr std::int64_t from(type r) noexcept { return r; }
};
template <> struct rep<bool> {
  using type = std::uint8_t;
  static constexpr type to(bool x) noexcept { return x ? 1 : 0; }
  static constexpr bool from(type r) noexcept { return r != 0; }
};
template <> struct rep<double> {
  using type = std::uint64_t;
  static type to(double x) noexcept { return std::bit_cast<type>(x); }
  static double from(type r) noexcept { return std::bit_cast<double>(r); }
};

/// One atomic value of type T (int64, bool or double). Every operation is
/// sequentially consistent; results that name two values are {prior, new}.
template <class T>
class Cell {
  using R = rep<T>;
  using Word = typename R::type;

 public:
  using value_type = T;

  explicit Cell(T x = T{}) noexcept : v_(R::to(x)) {}
  Cell(const Cell&) = delete;
  Cell& operator=(const Cell&) = delete;

  INTERLOCK_ALWAYS_INLINE T load() const noexcept { return R::from(v_.load(std::memory_order_seq_cst)); }
  INTERLOCK_ALWAYS_INLINE void store(T x) noexcept { v_.store(R::to(x)); }
  INTERLOCK_ALWAYS_INLINE T exchange(T x) noexcept { return R::from(v_.exchange(R::to(x))); }

  /// If the value is `expected` (bitwise for double), installs `desired`.
  /// Returns {succeeded, prior} (on failure, the current value).
  INTERLOCK_ALWAYS_INLINE std::pair<bool, T> compare_exchange(T expected, T desired) noexcept {
    Word e = R::to(expected);
    const bool ok = v_.compare_exchange_strong(e, R::to(desired));
    return {ok, R::from(e)};
  }

  /// value = value <Op> n with the atomic instruction where there is one,
  /// else a compare-exchange loop (not writing when a `keeps` operation
  /// leaves the value unchanged). Returns {prior, new}; if may_refuse<Op, T>,
  /// as a std::optional, empty (value unchanged) when Op refuses n (outside
  /// its Domain: not applied at all) or the value.
  template <class Op>
  INTERLOCK_ALWAYS_INLINE auto fetch(T n) noexcept {
    if constexpr (Op::domain != Domain::any) {
      using Res = std::optional<std::pair<T, T>>;
      return INTERLOCK_UNLIKELY(!in_domain<Op>(n)) ? Res{} : Res(apply<Op>(n));
    } else {
      return apply<Op>(n);
    }
  }

  /// fetch<Op>(n) for an n in Op's domain.
  template <class Op>
  INTERLOCK_ALWAYS_INLINE auto apply(T n) noexcept {
    if constexpr (!std::is_same_v<decltype(Op{}(n, n)), T>) {
      return try_rmw([n](T x) { return Op{}(x, n); });
    } else if constexpr (!std::is_same_v<T, double> && (std::is_same_v<Op, op::add> || std::is_same_v<Op, op::sub> ||
                                                         std::is_same_v<Op, op::and_> || std::is_same_v<Op, op::or_> ||
                                                         std::is_same_v<Op, op::xor_>)) {
      T prior;
      if constexpr (std::is_same_v<Op, op::add>) prior = R::from(v_.fetch_add(R::to(n)));
      else if constexpr (std::is_same_v<Op, op::sub>) prior = R::from(v_.fetch_sub(R::to(n)));
      else if constexpr (std::is_same_v<Op, op::and_>) prior = R::from(v_.fetch_and(R::to(n)));
      else if constexpr (std::is_same_v<Op, op::or_>) prior = R::from(v_.fetch_or(R::to(n)));
      else prior = R::from(v_.fetch_xor(R::to(n)));
      return std::pair<T, T>{prior, Op{}(prior, n)};
    } else if constexpr (Op::keeps) {
      return rmw_if_changed([n](T x) { return Op{}(x, n); });
    } else {
      return rmw([n](T x) { return Op{}(x, n); });
    }
  }

  /// Replaces the value by f(value) with a compare-exchange loop.
  template <class F>
  INTERLOCK_ALWAYS_INLINE std::pair<T, T> rmw(F&& f) noexcept {
    Word cur = v_.load(std::memory_order_relaxed);
    T next;
    do {
      next = f(R::from(cur));
    } while (!v_.compare_exchange_weak(cur, R::to(next), std::memory_order_seq_cst,
                                       std::memory_order_relaxed));
    return {R::from(cur), next};
  }

  /// Like rmw, but does not write when f leaves the stored word unchanged.
  template <class F>
  INTERLOCK_ALWAYS_INLINE std::pair<T, T> rmw_if_changed(F&& f) noexcept {
    Word cur = v_.load(std::memory_order_seq_cst);
    for (;;) {
      const T next = f(R::from(cur));
      if (R::to(next) == cur) return {R::from(cur), next};
      if (v_.compare_exchange_weak(cur, R::to(next), std::memory_order_seq_cst,
                                   std::memory_order_seq_cst))
        return {R::from(cur), next};
    }
  }

  /// Like rmw, but f returns std::optional<T>: nothing stops the loop with
  /// the value unchanged (a refused operand, an error in a caller's
  /// function). f runs with no lock held and again only when another thread
  /// changed the value in between (strong compare-exchange: f may be costly).
  template <class F>
  std::optional<std::pair<T, T>> try_rmw(F&& f) noexcept(noexcept(f(T{}))) {
    Word cur = v_.load(std::memory_order_seq_cst);
    for (;;) {
      const std::optional<T> next = f(R::from(cur));
      if (!next) return std::nullopt;
      if (v_.compare_exchange_strong(cur, R::to(*next))) return std::pair<T, T>{R::from(cur), *next};
    }
  }

 private:
  std::atomic<Word> v_;
};

using IntCell = Cell<std::int64_t>;
using BoolCell = Cell<bool>;
using FloatCell = Cell<double>;

/// A strong reference to an object that any number of threads may read and
/// replace at once. Refs (retain / release) own the reference counting. The
/// slot is guarded by a one-byte Mutex held only for pointer moves and
/// Refs::retain (which must run no foreign code); a displaced object is
/// released after unlocking (its release may run arbitrary code). So a
/// reader racing an exchange gets the old object, kept alive by its new
/// reference, or the new one, never a freed one. Results are owned
/// references (retained for the caller); arguments are borrowed.
template <class Obj, class Refs>
class RefSlot {
 public:
  explicit RefSlot(Obj* o) noexcept : obj_(o) { Refs::retain(o); }
  ~RefSlot() {
    Obj* o = obj_;
    obj_ = nullptr;
    if (o) Refs::release(o);
  }
  RefSlot(const RefSlot&) = delete;
  RefSlot& operator=(const RefSlot&) = delete;

  INTERLOCK_ALWAYS_INLINE Obj* load() const noexcept {
    mu_.lock();
    Obj* o = obj_;
    Refs::retain(o);
    mu_.unlock();
    return o;
  }

  /// Installs `o`; returns the displaced object.
  INTERLOCK_ALWAYS_INLINE Obj* exchange(Obj* o) noexcept {
    Refs::retain(o);
    mu_.lock();
    Obj* old = obj_;
    obj_ = o;
    mu_.unlock();
    return old;
  }

  INTERLOCK_ALWAYS_INLINE void store(Obj* o) noexcept { Refs::release(exchange(o)); }

  /// If the slot holds `expected` (identity), installs `desired`. Returns
  /// {succeeded, prior} (on failure, the current object).
  INTERLOCK_ALWAYS_INLINE std::pair<bool, Obj*> compare_exchange(Obj* expected, Obj* desired) noexcept {
    mu_.lock();
    Obj* cur = obj_;
    if (cur == expected) {
      Refs::retain(desired);
      obj_ = desired;
      mu_.unlock();
      return {true, cur};  // the slot's reference moves to the caller
    }
    Refs::retain(cur);
    mu_.unlock();
    return {false, cur};
  }

  /// Replaces the object by f(current) (f gets a borrowed reference and
  /// returns an owned one, or nullptr to stop with the slot unchanged), with
  /// an identity compare-exchange loop; f runs with no lock held, again with
  /// the new object when another thread replaced it. Returns {prior, new}.
  template <class F>
  std::optional<std::pair<Obj*, Obj*>> try_rmw(F&& f) {
    Obj* cur = load();
    for (;;) {
      Obj* next = f(cur);
      if (!next) {
        Refs::release(cur);
        return std::nullopt;
      }
      auto [ok, prior] = compare_exchange(cur, next);
      Refs::release(cur);
      if (ok) return std::pair<Obj*, Obj*>{prior, next};
      Refs::release(next);
      cur = prior;  // the current object: try again with it
    }
  }

  /// Replaces the object by `desired` if match(current) holds (match runs
  /// with no lock held, on the object it then replaces by identity; it is
  /// asked again when another thread replaced the object meanwhile). Returns
  /// whether it did, or nothing when match failed (returned std::nullopt).
  template <class Match>
  std::optional<bool> replace_if(Obj* desired, Match&& match) {
    Obj* cur = load();
    for (;;) {
      const std::optional<bool> m = match(cur);
      if (!m || !*m) {
        Refs::release(cur);
        return m;
      }
      auto [ok, prior] = compare_exchange(cur, desired);
      Refs::release(cur);
      if (ok) {
        Refs::release(prior);
        return true;
      }
      cur = prior;
    }
  }

  /// Calls visit(object) under the lock (a garbage collector's traversal:
  /// it never sees a freed object); 0 when the slot is empty.
  template <class Visit>
  int visit(Visit&& visit) const noexcept {
    mu_.lock();
    Obj* o = obj_;
    const int r = o ? visit(o) : 0;
    mu_.unlock();
    return r;
  }

 private:
  mutable Mutex mu_;
  Obj* obj_;
};

}  // namespace interlock::atomic_cell
