// interlock/atomic_cell.hpp — one atomic value and the arithmetic of its
// read-modify-write operations: the cells behind interlock.atomic and its
// façades (syncx, ft_utils), which only adapt Python objects to them.
//
// Invariants:
//   * every operation is sequentially consistent, and is one atomic
//     instruction or a compare-exchange loop (rmw); rmw_if_changed does not
//     write when the function leaves the value unchanged (max/min), so a
//     no-op max on a contended cell does not take its cache line;
//   * FloatCell stores the double's bit pattern: compare-exchange compares
//     bits, so a NaN can be compare-exchanged and -0.0 and 0.0 differ;
//   * int64 arithmetic wraps (two's complement), never undefined behaviour;
//     floor_div / floor_mod are Python's // and % (MIN // -1 wraps to MIN);
//   * max_number / min_number are IEEE 754-2019 maximumNumber /
//     minimumNumber: a NaN operand is ignored, +0.0 > -0.0;
//   * the façades' own rules live here too, one home each: Rust's
//     checked_div (syncx: truncating, none for 0 and MIN / -1), syncx's float
//     max/min (keep_ge / keep_le) and Rust's Display of a double
//     (rust_display); IntOp names the binary operations of the numeric
//     protocol and apply() / IntCell::fetch_apply compute them.
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
#include <utility>

#include "interlock/config.hpp"

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

/// The binary operations of the numeric protocol on an int64 cell.
enum class IntOp : std::uint8_t { add, sub, mul, floor_div, or_, xor_, and_ };

/// a <op> b, wrapping; floor_div needs b != 0.
constexpr std::int64_t apply(IntOp op, std::int64_t a, std::int64_t b) noexcept {
  switch (op) {
    case IntOp::add: return wrap_add(a, b);
    case IntOp::sub: return wrap_sub(a, b);
    case IntOp::mul: return wrap_mul(a, b);
    case IntOp::floor_div: return floor_div(a, b);
    case IntOp::or_: return a | b;
    case IntOp::xor_: return a ^ b;
    case IntOp::and_: return a & b;
  }
  return a;
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

/// A double as Rust's Display writes it (syncx's repr / str): shortest
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

// ------------------------------------------------------------ cells

struct IntCell {
  std::atomic<std::int64_t> v;
  explicit IntCell(std::int64_t x = 0) noexcept : v(x) {}
  IntCell(const IntCell&) = delete;
  IntCell& operator=(const IntCell&) = delete;

  std::int64_t load() const noexcept { return v.load(std::memory_order_seq_cst); }

  /// Replaces the value by f(value) with a compare-exchange loop; returns
  /// {prior, new}.
  template <class F>
  INTERLOCK_ALWAYS_INLINE std::pair<std::int64_t, std::int64_t> rmw(F&& f) noexcept {
    std::int64_t cur = v.load(std::memory_order_relaxed);
    std::int64_t next;
    do {
      next = f(cur);
    } while (!v.compare_exchange_weak(cur, next, std::memory_order_seq_cst,
                                      std::memory_order_relaxed));
    return {cur, next};
  }

  /// Like rmw, but does not write when f leaves the value unchanged (max/min).
  template <class F>
  INTERLOCK_ALWAYS_INLINE std::pair<std::int64_t, std::int64_t> rmw_if_changed(F&& f) noexcept {
    std::int64_t cur = v.load(std::memory_order_seq_cst);
    for (;;) {
      const std::int64_t next = f(cur);
      if (next == cur) return {cur, cur};
      if (v.compare_exchange_weak(cur, next, std::memory_order_seq_cst, std::memory_order_seq_cst))
        return {cur, next};
    }
  }

  /// value = value <Op> n atomically (one instruction where there is one);
  /// returns the prior value. floor_div needs n != 0.
  template <IntOp Op>
  INTERLOCK_ALWAYS_INLINE std::int64_t fetch_apply(std::int64_t n) noexcept {
    if constexpr (Op == IntOp::add) return v.fetch_add(n);
    else if constexpr (Op == IntOp::sub) return v.fetch_sub(n);
    else if constexpr (Op == IntOp::or_) return v.fetch_or(n);
    else if constexpr (Op == IntOp::xor_) return v.fetch_xor(n);
    else if constexpr (Op == IntOp::and_) return v.fetch_and(n);
    else return rmw([n](std::int64_t x) { return apply(Op, x, n); }).first;
  }

  /// Rust's checked_div in a compare-exchange loop: the prior value, or
  /// nothing (value unchanged) when n is 0 or the value is MIN and n is -1.
  std::optional<std::int64_t> fetch_checked_div(std::int64_t n) noexcept {
    std::int64_t cur = v.load(std::memory_order_relaxed);
    for (;;) {
      const std::optional<std::int64_t> q = checked_div(cur, n);
      if (!q) return std::nullopt;
      if (v.compare_exchange_weak(cur, *q, std::memory_order_seq_cst, std::memory_order_relaxed))
        return cur;
    }
  }
};

struct BoolCell {
  std::atomic<std::uint8_t> v;  // 0 or 1 (so fetch_and/or/xor apply)
  explicit BoolCell(bool x = false) noexcept : v(x ? 1 : 0) {}
  BoolCell(const BoolCell&) = delete;
  BoolCell& operator=(const BoolCell&) = delete;

  bool load() const noexcept { return v.load(std::memory_order_seq_cst) != 0; }
};

/// A double stored as its bit pattern: compare-exchange compares bits, so a
/// NaN can be compare-exchanged and -0.0 and 0.0 are different values.
struct FloatCell {
  std::atomic<std::uint64_t> bits;
  explicit FloatCell(double x = 0.0) noexcept : bits(std::bit_cast<std::uint64_t>(x)) {}
  FloatCell(const FloatCell&) = delete;
  FloatCell& operator=(const FloatCell&) = delete;

  double load() const noexcept {
    return std::bit_cast<double>(bits.load(std::memory_order_seq_cst));
  }
  void store(double x) noexcept { bits.store(std::bit_cast<std::uint64_t>(x)); }
  double exchange(double x) noexcept {
    return std::bit_cast<double>(bits.exchange(std::bit_cast<std::uint64_t>(x)));
  }
  /// Bitwise compare-exchange; returns {succeeded, prior-or-current}.
  std::pair<bool, double> compare_exchange(double expected, double desired) noexcept {
    std::uint64_t e = std::bit_cast<std::uint64_t>(expected);
    const bool ok = bits.compare_exchange_strong(e, std::bit_cast<std::uint64_t>(desired));
    return {ok, std::bit_cast<double>(e)};
  }

  template <class F>
  INTERLOCK_ALWAYS_INLINE std::pair<double, double> rmw(F&& f) noexcept {
    std::uint64_t cur = bits.load(std::memory_order_relaxed);
    double next;
    do {
      next = f(std::bit_cast<double>(cur));
    } while (!bits.compare_exchange_weak(cur, std::bit_cast<std::uint64_t>(next),
                                         std::memory_order_seq_cst, std::memory_order_relaxed));
    return {std::bit_cast<double>(cur), next};
  }

  /// Like rmw, but does not write when f returns the same bits.
  template <class F>
  INTERLOCK_ALWAYS_INLINE std::pair<double, double> rmw_if_changed(F&& f) noexcept {
    std::uint64_t cur = bits.load(std::memory_order_seq_cst);
    for (;;) {
      const double next = f(std::bit_cast<double>(cur));
      const std::uint64_t nb = std::bit_cast<std::uint64_t>(next);
      if (nb == cur) return {std::bit_cast<double>(cur), next};
      if (bits.compare_exchange_weak(cur, nb, std::memory_order_seq_cst,
                                     std::memory_order_seq_cst))
        return {std::bit_cast<double>(cur), next};
    }
  }
};

}  // namespace interlock::atomic_cell
