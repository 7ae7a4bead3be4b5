// Tests for interlock/atomic_cell.hpp: the value rules and the cells behind
// interlock.atomic and its façades.
#include "interlock/atomic_cell.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ac = interlock::atomic_cell;

namespace {
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }
}  // namespace

TEST(AtomicCellArithmetic, WrapsInTwosComplement) {
  EXPECT_EQ(ac::wrap_add(kMax, 1), kMin);
  EXPECT_EQ(ac::wrap_sub(kMin, 1), kMax);
  EXPECT_EQ(ac::wrap_mul(kMax, 2), -2);
  EXPECT_EQ(ac::wrap_neg(kMin), kMin);
}

TEST(AtomicCellArithmetic, FloorDivisionAndModuloArePythons) {
  // Python: 7 // 2 == 3, -7 // 2 == -4, 7 // -2 == -4, -7 // -2 == 3.
  EXPECT_EQ(ac::floor_div(7, 2), 3);
  EXPECT_EQ(ac::floor_div(-7, 2), -4);
  EXPECT_EQ(ac::floor_div(7, -2), -4);
  EXPECT_EQ(ac::floor_div(-7, -2), 3);
  EXPECT_EQ(ac::floor_div(kMin, -1), kMin);  // wraps
  // Python: 7 % 2 == 1, -7 % 2 == 1, 7 % -2 == -1, -7 % -2 == -1.
  EXPECT_EQ(ac::floor_mod(7, 2), 1);
  EXPECT_EQ(ac::floor_mod(-7, 2), 1);
  EXPECT_EQ(ac::floor_mod(7, -2), -1);
  EXPECT_EQ(ac::floor_mod(-7, -2), -1);
  EXPECT_EQ(ac::floor_mod(kMin, -1), 0);
}

TEST(AtomicCellArithmetic, Shifts) {
  EXPECT_EQ(ac::shift_left(1, 63), kMin);
  EXPECT_EQ(ac::shift_left(1, 64), 0);
  EXPECT_EQ(ac::shift_left(-1, 1000), 0);
  EXPECT_EQ(ac::shift_right(-8, 1), -4);
  EXPECT_EQ(ac::shift_right(-8, 64), -1);
  EXPECT_EQ(ac::shift_right(8, 64), 0);
}

TEST(AtomicCellArithmetic, MaxMinNumberIgnoreNaNAndOrderSignedZeros) {
  EXPECT_EQ(ac::max_number(1.0, kNaN), 1.0);
  EXPECT_EQ(ac::max_number(kNaN, 1.0), 1.0);
  EXPECT_TRUE(std::isnan(ac::max_number(kNaN, kNaN)));
  EXPECT_TRUE(same_bits(ac::max_number(-0.0, 0.0), 0.0));
  EXPECT_TRUE(same_bits(ac::max_number(0.0, -0.0), 0.0));
  EXPECT_EQ(ac::min_number(1.0, kNaN), 1.0);
  EXPECT_EQ(ac::min_number(kNaN, 2.0), 2.0);
  EXPECT_TRUE(same_bits(ac::min_number(0.0, -0.0), -0.0));
  EXPECT_TRUE(same_bits(ac::min_number(-0.0, 0.0), -0.0));
  EXPECT_EQ(ac::max_number(1.0, 2.0), 2.0);
  EXPECT_EQ(ac::min_number(1.0, 2.0), 1.0);
}

TEST(AtomicCell, FloatCompareExchangeComparesBits) {
  ac::FloatCell c(kNaN);
  auto [ok, prior] = c.compare_exchange(kNaN, 1.0);  // NaN == NaN by bits
  EXPECT_TRUE(ok);
  EXPECT_TRUE(std::isnan(prior));
  ac::FloatCell z(0.0);
  auto [ok2, cur] = z.compare_exchange(-0.0, 5.0);  // -0.0 is not 0.0
  EXPECT_FALSE(ok2);
  EXPECT_TRUE(same_bits(cur, 0.0));
  EXPECT_EQ(z.load(), 0.0);
}

TEST(AtomicCell, RmwIfChangedReturnsPriorAndNew) {
  ac::IntCell c(5);
  auto [p1, n1] = c.rmw_if_changed([](std::int64_t x) { return x > 3 ? x : std::int64_t{3}; });
  EXPECT_EQ(p1, 5);
  EXPECT_EQ(n1, 5);
  auto [p2, n2] = c.rmw_if_changed([](std::int64_t x) { return x > 9 ? x : std::int64_t{9}; });
  EXPECT_EQ(p2, 5);
  EXPECT_EQ(n2, 9);
  EXPECT_EQ(c.load(), 9);
  ac::FloatCell f(1.0);
  auto [fp, fn] = f.rmw_if_changed([](double x) { return ac::max_number(x, kNaN); });
  EXPECT_EQ(fp, 1.0);
  EXPECT_EQ(fn, 1.0);
}

TEST(AtomicCell, ConcurrentRmwLosesNoUpdate) {
  ac::IntCell i(0);
  ac::FloatCell f(0.0);
  constexpr int kThreads = 4, kIters = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      for (int k = 0; k < kIters; ++k) {
        i.rmw([](std::int64_t x) { return ac::wrap_add(x, 1); });
        f.rmw([](double x) { return x + 1.0; });
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(i.load(), kThreads * kIters);
  EXPECT_EQ(f.load(), static_cast<double>(kThreads * kIters));
}

// ------------------------------------------------------------ façade rules

TEST(AtomicCellFacadeRules, CheckedDivIsRusts) {
  EXPECT_EQ(ac::checked_div(7, 2), 3);
  EXPECT_EQ(ac::checked_div(-7, 2), -3);  // truncates toward zero
  EXPECT_EQ(ac::checked_div(1, 0), std::nullopt);
  EXPECT_EQ(ac::checked_div(kMin, -1), std::nullopt);
  ac::IntCell c(kMin);
  EXPECT_EQ(c.fetch<ac::op::rust_div>(-1), std::nullopt);
  EXPECT_EQ(c.load(), kMin);  // unchanged
  EXPECT_EQ(c.fetch<ac::op::rust_div>(0), std::nullopt);
  EXPECT_EQ(c.fetch<ac::op::rust_div>(2)->first, kMin);
  EXPECT_EQ(c.load(), kMin / 2);
}

TEST(AtomicCellOps, FetchWrapsAndFloorDivides) {
  ac::IntCell c(kMax);
  EXPECT_EQ(c.fetch<ac::op::add>(1), std::make_pair(kMax, kMin));
  c.store(-7);
  EXPECT_EQ(c.fetch<ac::op::div>(2), std::make_pair(std::int64_t{-7}, std::int64_t{-4}));
  EXPECT_EQ(c.fetch<ac::op::mod>(3)->second, 2);  // Python: -4 % 3 == 2
  c.store(-4);
  EXPECT_EQ(c.fetch<ac::op::mul>(3).second, -12);
  EXPECT_EQ(c.fetch<ac::op::and_>(0xff).second, -12 & 0xff);
  c.fetch<ac::op::xor_>(1);
  c.fetch<ac::op::or_>(0x100);
  EXPECT_EQ(c.load(), ((-12 & 0xff) ^ 1) | 0x100);
  EXPECT_EQ(c.fetch<ac::op::sub>(1).second, (((-12 & 0xff) ^ 1) | 0x100) - 1);
  c.store(1);
  EXPECT_EQ(c.fetch<ac::op::lshift>(63)->second, kMin);
  EXPECT_EQ(c.fetch<ac::op::rshift>(70)->second, -1);
  EXPECT_EQ(c.fetch<ac::op::max>(5), std::make_pair(std::int64_t{-1}, std::int64_t{5}));
  EXPECT_EQ(c.fetch<ac::op::min>(9), std::make_pair(std::int64_t{5}, std::int64_t{5}));
}

TEST(AtomicCellOps, FetchRefusesAnOperandOutsideTheDomain) {
  static_assert(ac::may_refuse<ac::op::div, std::int64_t> && ac::may_refuse<ac::op::lshift, std::int64_t>);
  static_assert(ac::may_refuse<ac::op::rust_div, std::int64_t> && ac::may_refuse<ac::op::div, double>);
  static_assert(!ac::may_refuse<ac::op::add, std::int64_t> && !ac::may_refuse<ac::op::max, double>);
  ac::IntCell c(7);
  EXPECT_EQ(c.fetch<ac::op::div>(0), std::nullopt);
  EXPECT_EQ(c.fetch<ac::op::mod>(0), std::nullopt);
  EXPECT_EQ(c.fetch<ac::op::lshift>(-1), std::nullopt);
  EXPECT_EQ(c.fetch<ac::op::rshift>(-1), std::nullopt);
  EXPECT_EQ(c.load(), 7);  // unchanged
  EXPECT_EQ(c.fetch<ac::op::rshift>(0), std::make_pair(std::int64_t{7}, std::int64_t{7}));
  ac::FloatCell f(1.0);
  EXPECT_EQ(f.fetch<ac::op::div>(-0.0), std::nullopt);
  EXPECT_EQ(f.load(), 1.0);
}

TEST(AtomicCellOps, Domains) {
  EXPECT_FALSE((ac::in_domain<ac::op::div>(std::int64_t{0})));
  EXPECT_FALSE((ac::in_domain<ac::op::div>(0.0)));
  EXPECT_FALSE((ac::in_domain<ac::op::div>(-0.0)));
  EXPECT_TRUE((ac::in_domain<ac::op::mod>(std::int64_t{-1})));
  EXPECT_FALSE((ac::in_domain<ac::op::lshift>(std::int64_t{-1})));
  EXPECT_TRUE((ac::in_domain<ac::op::rshift>(std::int64_t{0})));
  EXPECT_TRUE((ac::in_domain<ac::op::add>(std::int64_t{0})));
}

TEST(AtomicCellOps, BoolAndFloat) {
  ac::BoolCell b(true);
  EXPECT_EQ(b.fetch<ac::op::xor_>(true), std::make_pair(true, false));
  EXPECT_EQ(b.fetch<ac::op::or_>(true), std::make_pair(false, true));
  EXPECT_EQ(b.fetch<ac::op::and_>(false), std::make_pair(true, false));
  EXPECT_EQ(b.exchange(true), false);
  EXPECT_EQ(b.compare_exchange(false, false), std::make_pair(false, true));
  ac::FloatCell f(1.0);
  EXPECT_EQ(f.fetch<ac::op::div>(4.0)->second, 0.25);
  EXPECT_EQ(f.fetch<ac::op::max>(kNaN).second, 0.25);  // maximumNumber ignores NaN
  EXPECT_TRUE(std::isnan(f.fetch<ac::op::keep_ge>(kNaN).second));  // syncx stores it
  EXPECT_EQ(f.fetch<ac::op::keep_le>(2.0).second, 2.0);  // and replaces it
}

namespace {
struct Obj {
  int refs = 1;
};
struct CountRefs {
  static void retain(Obj* o) noexcept { ++o->refs; }
  static void release(Obj* o) noexcept { --o->refs; }
};
using Slot = ac::RefSlot<Obj, CountRefs>;
}  // namespace

TEST(AtomicCellRefSlot, OwnsOneReference) {
  Obj a, b;
  {
    Slot s(&a);
    EXPECT_EQ(a.refs, 2);
    Obj* got = s.load();
    EXPECT_EQ(got, &a);
    EXPECT_EQ(a.refs, 3);
    CountRefs::release(got);
    Obj* old = s.exchange(&b);  // the slot's reference to a moves to us
    EXPECT_EQ(old, &a);
    EXPECT_EQ(a.refs, 2);
    EXPECT_EQ(b.refs, 2);
    CountRefs::release(old);
    auto [ok, cur] = s.compare_exchange(&a, &a);  // fails: b is current
    EXPECT_FALSE(ok);
    EXPECT_EQ(cur, &b);
    EXPECT_EQ(b.refs, 3);
    CountRefs::release(cur);
    s.store(&a);
    EXPECT_EQ(a.refs, 2);
    EXPECT_EQ(b.refs, 1);
  }
  EXPECT_EQ(a.refs, 1);
}

TEST(AtomicCellRefSlot, TryRmwAndReplaceIf) {
  Obj a, b;
  Slot s(&a);
  auto r = s.try_rmw([&](Obj*) {
    CountRefs::retain(&b);
    return &b;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, &a);
  EXPECT_EQ(r->second, &b);
  CountRefs::release(r->first);
  CountRefs::release(r->second);
  EXPECT_EQ(a.refs, 1);
  EXPECT_EQ(b.refs, 2);
  EXPECT_EQ(s.try_rmw([](Obj*) -> Obj* { return nullptr; }), std::nullopt);  // unchanged
  EXPECT_EQ(b.refs, 2);
  EXPECT_EQ(s.replace_if(&a, [](Obj*) { return std::optional<bool>(false); }), false);
  EXPECT_EQ(s.replace_if(&a, [](Obj*) { return std::optional<bool>(); }), std::nullopt);
  EXPECT_EQ(s.replace_if(&a, [&](Obj* o) { return std::optional<bool>(o == &b); }), true);
  EXPECT_EQ(a.refs, 2);
  EXPECT_EQ(b.refs, 1);
  int seen = 0;
  EXPECT_EQ(s.visit([&](Obj* o) { return seen = (o == &a) ? 7 : 1; }), 7);
}

TEST(AtomicCellFacadeRules, SyncxFloatMaxMinTakeANaNArgument) {
  EXPECT_EQ(ac::keep_ge(2.0, 1.0), 2.0);
  EXPECT_EQ(ac::keep_ge(1.0, 2.0), 2.0);
  EXPECT_TRUE(std::isnan(ac::keep_ge(1.0, kNaN)));  // NaN argument stored
  EXPECT_EQ(ac::keep_ge(kNaN, 1.0), 1.0);           // stored NaN replaced
  EXPECT_EQ(ac::keep_le(2.0, 1.0), 1.0);
  EXPECT_TRUE(std::isnan(ac::keep_le(1.0, kNaN)));
}

TEST(AtomicCellFacadeRules, RustDisplayHasNoExponent) {
  EXPECT_EQ(ac::rust_display(true), "true");
  EXPECT_EQ(ac::rust_display(false), "false");
  EXPECT_EQ(ac::rust_display(std::int64_t{-42}), "-42");
  EXPECT_EQ(ac::rust_display(ac::kI64Min), "-9223372036854775808");
  EXPECT_EQ(ac::rust_display(1.0), "1");
  EXPECT_EQ(ac::rust_display(3.14), "3.14");
  EXPECT_EQ(ac::rust_display(1.5e-7), "0.00000015");
  EXPECT_EQ(ac::rust_display(1e20), "100000000000000000000");
  EXPECT_EQ(ac::rust_display(-0.0), "-0");
  EXPECT_EQ(ac::rust_display(0.0), "0");
  EXPECT_EQ(ac::rust_display(-2.5), "-2.5");
  EXPECT_EQ(ac::rust_display(kNaN), "NaN");
  EXPECT_EQ(ac::rust_display(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(ac::rust_display(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(ac::rust_display(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(ac::rust_display(5e-324).size(), 326u);  // "0." + 323 zeros + "5"
}
