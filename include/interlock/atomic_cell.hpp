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
//     minimumNumber: a NaN operand is ignored, +0.0 > -0.0.
// Callers choose the alignment (a derived type with alignas, e.g. a cache
// line each on free-threaded Python builds).
#pragma once

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
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
