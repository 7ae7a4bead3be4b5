// interlock/buffer_atomic.hpp — width-generic atomic operations on raw,
// caller-owned bytes: the core of interlock.ipc's buffer atomics (the model of
// the `atomics` library, seed 004).
//
// Contract / invariants:
//  - An object of `width` bytes (1, 2, 4, 8, or 16 where the CPU has
//    cmpxchg16b) lives at an address aligned to `width`
//    (recommended_alignment()). Callers check that (is_aligned()); misaligned
//    use is undefined behaviour, never reached from Python.
//  - Every operation is lock-free and address-free: the bytes may be mapped
//    into several processes (MAP_SHARED) at different addresses, and C/C++
//    code in other processes may operate on them with std::atomic_ref or the
//    __atomic builtins of the same width (16 bytes: with cmpxchg16b).
//  - Values are the raw bits, in native byte order, as an unsigned integer of
//    the width (`bits_t<W>`). Signedness only matters when converting to and
//    from a language integer (to_signed / fits_signed / fits_unsigned below):
//    add/sub/neg wrap around identically for two's complement signed and
//    unsigned values, so the operations themselves are unsigned only.
//  - Memory orders are the values of the atomics library's MemoryOrder enum
//    (C11 numbering without CONSUME): relaxed 0, acquire 2, release 3,
//    acq_rel 4, seq_cst 5. Callers validate them per operation
//    (is_valid_order / is_valid_fail_order); the functions here take any order
//    and map store/load/fail orders conservatively if given an invalid one.
//  - The operations (`op`, the atomics library's OpType numbering), which
//    kinds of object support which (`supports`) and which orders each takes
//    (`is_valid_order`) are declared here once, and so is what each op does
//    (`apply<op>`, `bit<op>`): the binding generates one method per op from
//    them, and the Python enums (interlock.ipc.OpType, MemoryOrder.is_valid_*)
//    use them.
//  - 1..8 bytes: std::atomic_ref<uintN_t>, always lock-free on x86-64 and
//    AArch64 (static_assert). 16 bytes: x86-64 `lock cmpxchg16b`, with every
//    operation (including loads) a compare-exchange loop, so a 16-byte object
//    needs WRITABLE memory even for loads (the binding reports 16-byte
//    read-only objects as unsupported). The lock prefix is a full barrier:
//    every 16-byte operation is sequentially consistent.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define INTERLOCK_BUFFER_ATOMIC_HAS_CX16 1
#else
#define INTERLOCK_BUFFER_ATOMIC_HAS_CX16 0
#endif

namespace interlock::buffer_atomic {

// ============================================================ memory orders

enum class order : int { relaxed = 0, acquire = 2, release = 3, acq_rel = 4, seq_cst = 5 };

/// Whether `v` is one of the order values above (CONSUME, 1, is not offered).
constexpr bool is_order_value(long long v) noexcept {
  return v == 0 || v == 2 || v == 3 || v == 4 || v == 5;
}
/// Every order, in value order.
inline constexpr order kOrders[] = {order::relaxed, order::acquire, order::release,
                                    order::acq_rel, order::seq_cst};
constexpr bool is_valid_store_order(order o) noexcept {
  return o != order::acquire && o != order::acq_rel;
}
constexpr bool is_valid_load_order(order o) noexcept {
  return o != order::release && o != order::acq_rel;
}
/// The failure order of a compare-exchange: a load order no stronger than the
/// success order (the atomics library's rule: fail <= succ in its numbering).
constexpr bool is_valid_fail_order(order fail, order succ) noexcept {
  return static_cast<int>(fail) <= static_cast<int>(succ) && is_valid_load_order(fail);
}

// ============================================================ operations

/// The operations an atomic object may support, numbered as the atomics
/// library's OpType (enum.auto(): LOAD = 1, ...). interlock.ipc.OpType is
/// built from op_name() (this is the one declaration).
enum class op : int {
  load = 1, store, exchange, cmpxchg_weak, cmpxchg_strong,
  bit_test, bit_test_compl, bit_test_set, bit_test_reset,
  or_, xor_, and_, not_, fetch_or, fetch_xor, fetch_and, fetch_not,
  add, sub, inc, dec, neg, fetch_add, fetch_sub, fetch_inc, fetch_dec, fetch_neg,
};
inline constexpr op kFirstOp = op::load;
inline constexpr op kLastOp = op::fetch_neg;

/// The OpType member name of `o` ("LOAD", "BIT_TEST_COMPL", ...).
constexpr const char* op_name(op o) noexcept {
  constexpr const char* names[] = {
      "LOAD", "STORE", "EXCHANGE", "CMPXCHG_WEAK", "CMPXCHG_STRONG",
      "BIT_TEST", "BIT_TEST_COMPL", "BIT_TEST_SET", "BIT_TEST_RESET",
      "OR", "XOR", "AND", "NOT", "FETCH_OR", "FETCH_XOR", "FETCH_AND", "FETCH_NOT",
      "ADD", "SUB", "INC", "DEC", "NEG", "FETCH_ADD", "FETCH_SUB", "FETCH_INC", "FETCH_DEC",
      "FETCH_NEG"};
  return names[static_cast<int>(o) - 1];
}

/// The value-returning twin of a bitwise or arithmetic op (or_ -> fetch_or,
/// add -> fetch_add); `o` itself otherwise.
constexpr op fetching(op o) noexcept {
  if (o >= op::or_ && o <= op::not_) return static_cast<op>(static_cast<int>(o) + 4);
  if (o >= op::add && o <= op::neg) return static_cast<op>(static_cast<int>(o) + 5);
  return o;
}

/// The non-fetching twin of a fetch_ op (fetch_or -> or_, fetch_add -> add);
/// `o` itself otherwise.
constexpr op base_of(op o) noexcept {
  if (o >= op::fetch_or && o <= op::fetch_not) return static_cast<op>(static_cast<int>(o) - 4);
  if (o >= op::fetch_add) return static_cast<op>(static_cast<int>(o) - 5);
  return o;
}

/// Whether `o` is a read-modify-write (or_ .. fetch_neg): the bitwise and
/// arithmetic ops and their fetch_ twins.
constexpr bool is_rmw(op o) noexcept { return o >= op::or_; }
constexpr bool is_fetching(op o) noexcept { return base_of(o) != o; }

/// Whether `o` takes a value operand (store, exchange, and the binary
/// read-modify-writes; not_, inc, dec, neg do not).
constexpr bool takes_operand(op o) noexcept {
  const op b = base_of(o);
  return b == op::store || b == op::exchange || b == op::or_ || b == op::xor_ ||
         b == op::and_ || b == op::add || b == op::sub;
}

/// Whether `o` returns a value of the object: load its value; exchange and
/// the fetch_ ops the previous one (store and the plain read-modify-writes
/// return nothing).
constexpr bool returns_value(op o) noexcept {
  return o == op::load || o == op::exchange || is_fetching(o);
}

/// Whether `o` is one of the bit ops (bit_test .. bit_test_reset), which
/// take a bit index (is_bit_index) and return a bit.
constexpr bool is_bit_op(op o) noexcept { return o >= op::bit_test && o <= op::bit_test_reset; }

/// Whether `index` names a bit of a `width`-byte object (0 = least significant).
constexpr bool is_bit_index(long long index, std::size_t width) noexcept {
  return index >= 0 && index < static_cast<long long>(width) * 8;
}

/// What an object's values are: ANY (properties only, no operation), BYTES
/// (no arithmetic), INTEGRAL (everything).
enum class kind : std::uint8_t { any, bytes, integral };

/// Whether an object of kind `k` supports `o`; a read-only one only loads
/// (load, bit_test).
constexpr bool supports(kind k, bool readonly, op o) noexcept {
  if (k == kind::any) return false;
  if (k == kind::bytes && o >= op::add) return false;
  return !readonly || o == op::load || o == op::bit_test;
}

/// Whether `o` may be given to `x` as its (success) order: loads (load,
/// bit_test) take load orders, store store orders, the others any order. A
/// compare-exchange's failure order: is_valid_fail_order.
constexpr bool is_valid_order(op x, order o) noexcept {
  if (x == op::load || x == op::bit_test) return is_valid_load_order(o);
  if (x == op::store) return is_valid_store_order(o);
  return true;
}

constexpr std::memory_order to_std(order o) noexcept {
  switch (o) {
    case order::relaxed: return std::memory_order_relaxed;
    case order::acquire: return std::memory_order_acquire;
    case order::release: return std::memory_order_release;
    case order::acq_rel: return std::memory_order_acq_rel;
    case order::seq_cst: return std::memory_order_seq_cst;
  }
  return std::memory_order_seq_cst;
}
constexpr std::memory_order to_std_load(order o) noexcept {
  return is_valid_load_order(o) ? to_std(o) : std::memory_order_seq_cst;
}
constexpr std::memory_order to_std_store(order o) noexcept {
  return is_valid_store_order(o) ? to_std(o) : std::memory_order_seq_cst;
}

// ============================================================ widths

#if defined(__SIZEOF_INT128__)
using u128 = unsigned __int128;
#endif

template <std::size_t W> struct bits;
template <> struct bits<1> { using type = std::uint8_t; };
template <> struct bits<2> { using type = std::uint16_t; };
template <> struct bits<4> { using type = std::uint32_t; };
template <> struct bits<8> { using type = std::uint64_t; };
#if defined(__SIZEOF_INT128__)
template <> struct bits<16> { using type = u128; };
#endif
/// The unsigned integer holding the bits of a W-byte object.
template <std::size_t W> using bits_t = typename bits<W>::type;

static_assert(std::atomic_ref<std::uint8_t>::is_always_lock_free &&
                  std::atomic_ref<std::uint16_t>::is_always_lock_free &&
                  std::atomic_ref<std::uint32_t>::is_always_lock_free &&
                  std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "buffer atomics need lock-free 1/2/4/8-byte atomics");

/// Whether this CPU has a lock-free 16-byte compare-exchange (x86-64
/// CPUID.01H:ECX.CX16[bit 13]); checked once.
inline bool has_cmpxchg16b() noexcept {
#if INTERLOCK_BUFFER_ATOMIC_HAS_CX16
  static const bool yes = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    return (c & (1u << 13)) != 0;
  }();
  return yes;
#else
  return false;
#endif
}

/// Whether operations on `width`-byte objects are available (lock-free).
inline bool width_supported(std::size_t width) noexcept {
  switch (width) {
    case 1: case 2: case 4: case 8: return true;
    case 16: return has_cmpxchg16b();
    default: return false;
  }
}

/// Whether a read-only `width`-byte object can be loaded (16 bytes cannot:
/// its load is a compare-exchange, which writes).
inline bool width_supported_readonly(std::size_t width) noexcept {
  return width != 16 && width_supported(width);
}

/// The alignment every operation requires (and recommends): the width.
constexpr std::size_t recommended_alignment(std::size_t width) noexcept { return width; }

inline bool is_aligned(const void* p, std::size_t width) noexcept {
  return width != 0 && (reinterpret_cast<std::uintptr_t>(p) % recommended_alignment(width)) == 0;
}

// ============================================================ conversions

/// The W-byte two's complement value of `b` (sign-extended), as T.
template <class T, class U>
constexpr T to_signed(U b) noexcept {
  static_assert(std::is_unsigned_v<U>);
  return static_cast<T>(static_cast<std::make_signed_t<U>>(b));
}

/// Whether `v` fits in a signed / unsigned integer of W bytes (W <= 8).
constexpr bool fits_signed(std::int64_t v, std::size_t width) noexcept {
  if (width >= 8) return true;
  const std::int64_t lim = std::int64_t{1} << (8 * width - 1);
  return v >= -lim && v < lim;
}
constexpr bool fits_unsigned(std::uint64_t v, std::size_t width) noexcept {
  return width >= 8 || v < (std::uint64_t{1} << (8 * width));
}

// ============================================================ operations

/// The atomic operations on a U (an unsigned integer of 1..8 bytes) at an
/// aligned address. Every read-modify-write returns the previous value.
template <class U>
struct ops {
  static_assert(std::is_unsigned_v<U> && sizeof(U) <= 8);
  using ref = std::atomic_ref<U>;

  static U load(const void* p, order o) noexcept {
    // atomic_ref<U> needs a non-const U&; a load never writes.
    return ref(*static_cast<U*>(const_cast<void*>(p))).load(to_std_load(o));
  }
  static void store(void* p, U v, order o) noexcept {
    ref(*static_cast<U*>(p)).store(v, to_std_store(o));
  }
  static U exchange(void* p, U v, order o) noexcept {
    return ref(*static_cast<U*>(p)).exchange(v, to_std(o));
  }
  /// On failure `expected` receives the value found.
  static bool cmpxchg(void* p, U& expected, U desired, bool weak, order succ,
                      order fail) noexcept {
    ref r(*static_cast<U*>(p));
    const auto f = to_std_load(is_valid_fail_order(fail, succ) ? fail : order::relaxed);
    return weak ? r.compare_exchange_weak(expected, desired, to_std(succ), f)
                : r.compare_exchange_strong(expected, desired, to_std(succ), f);
  }
  static U fetch_or(void* p, U v, order o) noexcept {
    return ref(*static_cast<U*>(p)).fetch_or(v, to_std(o));
  }
  static U fetch_xor(void* p, U v, order o) noexcept {
    return ref(*static_cast<U*>(p)).fetch_xor(v, to_std(o));
  }
  static U fetch_and(void* p, U v, order o) noexcept {
    return ref(*static_cast<U*>(p)).fetch_and(v, to_std(o));
  }
  static U fetch_not(void* p, order o) noexcept {
    return ref(*static_cast<U*>(p)).fetch_xor(static_cast<U>(~U{0}), to_std(o));
  }
  static U fetch_add(void* p, U v, order o) noexcept {
    return ref(*static_cast<U*>(p)).fetch_add(v, to_std(o));
  }
  static U fetch_sub(void* p, U v, order o) noexcept {
    return ref(*static_cast<U*>(p)).fetch_sub(v, to_std(o));
  }
  static U fetch_neg(void* p, order o) noexcept {
    ref r(*static_cast<U*>(p));
    U cur = r.load(std::memory_order_relaxed);
    while (!r.compare_exchange_weak(cur, static_cast<U>(U{0} - cur), to_std(o),
                                    std::memory_order_relaxed)) {
    }
    return cur;
  }
  /// Bit `index` (0 = least significant) of the value.
  static bool bit_test(const void* p, unsigned index, order o) noexcept {
    return ((load(p, o) >> index) & 1u) != 0;
  }
  /// Sets / clears / flips bit `index`; returns its previous state.
  static bool bit_test_set(void* p, unsigned index, order o) noexcept {
    const U m = static_cast<U>(U{1} << index);
    return (fetch_or(p, m, o) & m) != 0;
  }
  static bool bit_test_reset(void* p, unsigned index, order o) noexcept {
    const U m = static_cast<U>(U{1} << index);
    return (fetch_and(p, static_cast<U>(~m), o) & m) != 0;
  }
  static bool bit_test_compl(void* p, unsigned index, order o) noexcept {
    const U m = static_cast<U>(U{1} << index);
    return (fetch_xor(p, m, o) & m) != 0;
  }
};

#if INTERLOCK_BUFFER_ATOMIC_HAS_CX16 && defined(__SIZEOF_INT128__)
/// 16-byte operations: `lock cmpxchg16b` (check has_cmpxchg16b() first). All
/// are sequentially consistent whatever order is asked for, and all write,
/// loads included.
template <>
struct ops<u128> {
  using U = u128;

  /// One compare-exchange: true if *p was `expected` (now `desired`); else
  /// `expected` receives the value found.
  static bool cas(void* p, U& expected, U desired) noexcept {
    std::uint64_t lo = static_cast<std::uint64_t>(expected);
    std::uint64_t hi = static_cast<std::uint64_t>(expected >> 64);
    bool ok;
    __asm__ __volatile__("lock cmpxchg16b %1"
                         : "=@ccz"(ok), "+m"(*static_cast<U*>(p)), "+a"(lo), "+d"(hi)
                         : "b"(static_cast<std::uint64_t>(desired)),
                           "c"(static_cast<std::uint64_t>(desired >> 64))
                         : "memory");
    if (!ok) expected = (static_cast<U>(hi) << 64) | lo;
    return ok;
  }
  template <class F>
  static U rmw(void* p, F&& f) noexcept {
    U cur = 0;
    cas(p, cur, 0);  // reads the value (writes 0 only if it was 0)
    while (!cas(p, cur, f(cur))) {
    }
    return cur;
  }

  static U load(const void* p, order) noexcept {
    U cur = 0;
    cas(const_cast<void*>(p), cur, 0);
    return cur;
  }
  static void store(void* p, U v, order) noexcept { rmw(p, [v](U) { return v; }); }
  static U exchange(void* p, U v, order) noexcept { return rmw(p, [v](U) { return v; }); }
  static bool cmpxchg(void* p, U& expected, U desired, bool, order, order) noexcept {
    return cas(p, expected, desired);
  }
  static U fetch_or(void* p, U v, order) noexcept { return rmw(p, [v](U c) { return c | v; }); }
  static U fetch_xor(void* p, U v, order) noexcept { return rmw(p, [v](U c) { return c ^ v; }); }
  static U fetch_and(void* p, U v, order) noexcept { return rmw(p, [v](U c) { return c & v; }); }
  static U fetch_not(void* p, order) noexcept { return rmw(p, [](U c) { return ~c; }); }
  static U fetch_add(void* p, U v, order) noexcept { return rmw(p, [v](U c) { return c + v; }); }
  static U fetch_sub(void* p, U v, order) noexcept { return rmw(p, [v](U c) { return c - v; }); }
  static U fetch_neg(void* p, order) noexcept { return rmw(p, [](U c) { return U{0} - c; }); }
  static bool bit_test(const void* p, unsigned index, order o) noexcept {
    return ((load(p, o) >> index) & 1u) != 0;
  }
  static bool bit_test_set(void* p, unsigned index, order o) noexcept {
    const U m = U{1} << index;
    return (fetch_or(p, m, o) & m) != 0;
  }
  static bool bit_test_reset(void* p, unsigned index, order o) noexcept {
    const U m = U{1} << index;
    return (fetch_and(p, ~m, o) & m) != 0;
  }
  static bool bit_test_compl(void* p, unsigned index, order o) noexcept {
    const U m = U{1} << index;
    return (fetch_xor(p, m, o) & m) != 0;
  }
};
#endif

/// Calls f(std::integral_constant<std::size_t, W>{}) for the runtime width
/// (1, 2, 4, 8, 16); returns f's result. `width` must be supported.
template <class F>
inline decltype(auto) with_width(std::size_t width, F&& f) {
  switch (width) {
    case 1: return f(std::integral_constant<std::size_t, 1>{});
    case 2: return f(std::integral_constant<std::size_t, 2>{});
    case 4: return f(std::integral_constant<std::size_t, 4>{});
#if INTERLOCK_BUFFER_ATOMIC_HAS_CX16 && defined(__SIZEOF_INT128__)
    case 16: return f(std::integral_constant<std::size_t, 16>{});
#endif
    default: return f(std::integral_constant<std::size_t, 8>{});
  }
}

/// Value op `O` (load, store, exchange or a read-modify-write) on the object
/// at p, with operand v (ignored unless takes_operand(O)): returns the value
/// found (load: the value; store: 0; the others the previous value, for the
/// plain read-modify-writes as for their fetch_ twins). inc / dec add /
/// subtract one; arithmetic wraps around.
template <op O, class U>
inline U apply(void* p, U v, order mo) noexcept {
  using X = ops<U>;
  constexpr op B = base_of(O);
  static_assert(B == op::load || B == op::store || B == op::exchange || is_rmw(B));
  if constexpr (B == op::load) return X::load(p, mo);
  else if constexpr (B == op::store) return X::store(p, v, mo), U{0};
  else if constexpr (B == op::exchange) return X::exchange(p, v, mo);
  else if constexpr (B == op::or_) return X::fetch_or(p, v, mo);
  else if constexpr (B == op::xor_) return X::fetch_xor(p, v, mo);
  else if constexpr (B == op::and_) return X::fetch_and(p, v, mo);
  else if constexpr (B == op::not_) return X::fetch_not(p, mo);
  else if constexpr (B == op::add) return X::fetch_add(p, v, mo);
  else if constexpr (B == op::sub) return X::fetch_sub(p, v, mo);
  else if constexpr (B == op::inc) return X::fetch_add(p, U{1}, mo);
  else if constexpr (B == op::dec) return X::fetch_sub(p, U{1}, mo);
  else return X::fetch_neg(p, mo);
}

/// Bit op `O` (is_bit_op) on bit `index` of the object at p: returns the
/// bit's previous state (bit_test only reads; the others set / clear / flip).
template <op O, class U>
inline bool bit(void* p, unsigned index, order mo) noexcept {
  static_assert(is_bit_op(O));
  using X = ops<U>;
  if constexpr (O == op::bit_test) return X::bit_test(p, index, mo);
  else if constexpr (O == op::bit_test_set) return X::bit_test_set(p, index, mo);
  else if constexpr (O == op::bit_test_reset) return X::bit_test_reset(p, index, mo);
  else return X::bit_test_compl(p, index, mo);
}

/// Whether 16-byte objects are compiled in (x86-64 with GCC/Clang).
inline constexpr bool kHas16 =
    INTERLOCK_BUFFER_ATOMIC_HAS_CX16 != 0 && sizeof(void*) == 8;

/// Raw-bits helpers for byte-string values (memcpy in native order).
template <std::size_t W>
inline bits_t<W> bits_from(const void* src) noexcept {
  bits_t<W> v;
  std::memcpy(&v, src, W);
  return v;
}
template <std::size_t W>
inline void bits_to(void* dst, bits_t<W> v) noexcept {
  std::memcpy(dst, &v, W);
}

}  // namespace interlock::buffer_atomic
