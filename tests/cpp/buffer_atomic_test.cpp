// Tests of interlock/buffer_atomic.hpp: every operation at every width,
// wraparound, memory-order rules, and counters conserved across threads and
// across a fork()ed process sharing a MAP_SHARED page.
#include "interlock/buffer_atomic.hpp"

#if !defined(_WIN32)  // fork() + MAP_SHARED: not on Windows
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cstdint>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace ba = interlock::buffer_atomic;
using ba::order;

namespace {

TEST(BufferAtomicOrders, Validity) {
  EXPECT_TRUE(ba::is_valid_store_order(order::relaxed));
  EXPECT_TRUE(ba::is_valid_store_order(order::release));
  EXPECT_TRUE(ba::is_valid_store_order(order::seq_cst));
  EXPECT_FALSE(ba::is_valid_store_order(order::acquire));
  EXPECT_FALSE(ba::is_valid_store_order(order::acq_rel));
  EXPECT_TRUE(ba::is_valid_load_order(order::acquire));
  EXPECT_FALSE(ba::is_valid_load_order(order::release));
  EXPECT_FALSE(ba::is_valid_load_order(order::acq_rel));
  EXPECT_TRUE(ba::is_valid_fail_order(order::relaxed, order::relaxed));
  EXPECT_TRUE(ba::is_valid_fail_order(order::acquire, order::seq_cst));
  EXPECT_FALSE(ba::is_valid_fail_order(order::seq_cst, order::acquire));
  EXPECT_FALSE(ba::is_valid_fail_order(order::release, order::seq_cst));
  EXPECT_TRUE(ba::is_order_value(0));
  EXPECT_FALSE(ba::is_order_value(1));  // CONSUME is not offered
  EXPECT_FALSE(ba::is_order_value(6));
  for (order o : ba::kOrders) EXPECT_TRUE(ba::is_order_value(static_cast<int>(o)));
  EXPECT_EQ(std::size(ba::kOrders), 5u);
}

TEST(BufferAtomicOps, NumberingSupportAndOrders) {
  using ba::op;
  // The atomics library's OpType numbering (enum.auto()).
  EXPECT_EQ(static_cast<int>(op::load), 1);
  EXPECT_EQ(static_cast<int>(op::bit_test_compl), 7);
  EXPECT_EQ(static_cast<int>(op::add), 18);
  EXPECT_EQ(static_cast<int>(ba::kLastOp), 27);
  EXPECT_STREQ(ba::op_name(op::load), "LOAD");
  EXPECT_STREQ(ba::op_name(op::fetch_not), "FETCH_NOT");
  EXPECT_STREQ(ba::op_name(ba::kLastOp), "FETCH_NEG");
  EXPECT_EQ(ba::fetching(op::or_), op::fetch_or);
  EXPECT_EQ(ba::fetching(op::not_), op::fetch_not);
  EXPECT_EQ(ba::fetching(op::add), op::fetch_add);
  EXPECT_EQ(ba::fetching(op::neg), op::fetch_neg);
  EXPECT_EQ(ba::fetching(op::load), op::load);
  EXPECT_FALSE(ba::supports(ba::kind::any, false, op::load));
  EXPECT_TRUE(ba::supports(ba::kind::bytes, false, op::fetch_not));
  EXPECT_FALSE(ba::supports(ba::kind::bytes, false, op::add));
  EXPECT_TRUE(ba::supports(ba::kind::integral, false, op::fetch_neg));
  EXPECT_TRUE(ba::supports(ba::kind::integral, true, op::bit_test));
  EXPECT_FALSE(ba::supports(ba::kind::integral, true, op::store));
  EXPECT_FALSE(ba::is_valid_order(op::load, order::release));
  EXPECT_FALSE(ba::is_valid_order(op::bit_test, order::acq_rel));
  EXPECT_FALSE(ba::is_valid_order(op::store, order::acquire));
  EXPECT_TRUE(ba::is_valid_order(op::exchange, order::acq_rel));
  EXPECT_TRUE(ba::is_valid_order(op::bit_test_set, order::release));
}

TEST(BufferAtomicWidths, SupportAndAlignment) {
  for (std::size_t w : {1, 2, 4, 8}) {
    EXPECT_TRUE(ba::width_supported(w));
    EXPECT_TRUE(ba::width_supported_readonly(w));
  }
  EXPECT_FALSE(ba::width_supported(3));
  EXPECT_FALSE(ba::width_supported(0));
  EXPECT_FALSE(ba::width_supported(32));
  EXPECT_FALSE(ba::width_supported_readonly(16));
  EXPECT_EQ(ba::width_supported(16), ba::kHas16 && ba::has_cmpxchg16b());
  alignas(16) unsigned char buf[32] = {};
  EXPECT_TRUE(ba::is_aligned(buf, 16));
  EXPECT_TRUE(ba::is_aligned(buf + 4, 4));
  EXPECT_FALSE(ba::is_aligned(buf + 2, 4));
  EXPECT_TRUE(ba::is_aligned(buf + 1, 1));
}

template <class U>
class BufferAtomicOps : public ::testing::Test {};
using Widths = ::testing::Types<std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t>;
TYPED_TEST_SUITE(BufferAtomicOps, Widths);

TYPED_TEST(BufferAtomicOps, EveryOperation) {
  using U = TypeParam;
  using O = ba::ops<U>;
  alignas(16) unsigned char raw[16] = {};
  void* p = raw;
  const U max = static_cast<U>(~U{0});

  O::store(p, 5, order::seq_cst);
  EXPECT_EQ(O::load(p, order::acquire), 5u);
  EXPECT_EQ(O::exchange(p, 7, order::acq_rel), 5u);
  U exp = 1;
  EXPECT_FALSE(O::cmpxchg(p, exp, 9, false, order::seq_cst, order::seq_cst));
  EXPECT_EQ(exp, 7u);
  EXPECT_TRUE(O::cmpxchg(p, exp, 9, false, order::seq_cst, order::relaxed));
  EXPECT_EQ(O::load(p, order::relaxed), 9u);
  exp = 9;
  while (!O::cmpxchg(p, exp, 10, true, order::seq_cst, order::seq_cst)) {
  }
  EXPECT_EQ(O::load(p, order::seq_cst), 10u);

  EXPECT_EQ(O::fetch_or(p, 0x5, order::seq_cst), 10u);   // 0b1010 | 0b0101
  EXPECT_EQ(O::fetch_and(p, 0x6, order::seq_cst), 15u);  // -> 6
  EXPECT_EQ(O::fetch_xor(p, 0x3, order::seq_cst), 6u);   // -> 5
  EXPECT_EQ(O::fetch_not(p, order::seq_cst), 5u);
  EXPECT_EQ(O::load(p, order::seq_cst), static_cast<U>(~U{5}));
  O::store(p, 0, order::release);

  // wraparound
  EXPECT_EQ(O::fetch_sub(p, 1, order::seq_cst), 0u);
  EXPECT_EQ(O::load(p, order::seq_cst), max);
  EXPECT_EQ(O::fetch_add(p, 2, order::seq_cst), max);
  EXPECT_EQ(O::load(p, order::seq_cst), 1u);
  EXPECT_EQ(O::fetch_neg(p, order::seq_cst), 1u);
  EXPECT_EQ(O::load(p, order::seq_cst), max);
  EXPECT_EQ(ba::to_signed<std::int64_t>(O::load(p, order::seq_cst)), -1);

  // bits
  O::store(p, 0, order::seq_cst);
  const unsigned top = sizeof(U) * 8 - 1;
  EXPECT_FALSE(O::bit_test_set(p, top, order::seq_cst));
  EXPECT_TRUE(O::bit_test(p, top, order::seq_cst));
  EXPECT_TRUE(O::bit_test_set(p, top, order::seq_cst));
  EXPECT_TRUE(O::bit_test_compl(p, top, order::seq_cst));
  EXPECT_FALSE(O::bit_test(p, top, order::seq_cst));
  EXPECT_FALSE(O::bit_test_compl(p, 0, order::seq_cst));
  EXPECT_TRUE(O::bit_test_reset(p, 0, order::seq_cst));
  EXPECT_FALSE(O::bit_test_reset(p, 0, order::seq_cst));
  EXPECT_EQ(O::load(p, order::seq_cst), 0u);
  // the neighbouring bytes were never touched
  for (std::size_t i = sizeof(U); i < sizeof(raw); ++i) EXPECT_EQ(raw[i], 0) << i;
}

TEST(BufferAtomicOps, Classification) {
  using ba::op;
  EXPECT_EQ(ba::base_of(op::fetch_or), op::or_);
  EXPECT_EQ(ba::base_of(op::fetch_not), op::not_);
  EXPECT_EQ(ba::base_of(op::fetch_add), op::add);
  EXPECT_EQ(ba::base_of(op::fetch_neg), op::neg);
  EXPECT_EQ(ba::base_of(op::neg), op::neg);
  EXPECT_EQ(ba::base_of(op::exchange), op::exchange);
  for (int i = static_cast<int>(ba::kFirstOp); i <= static_cast<int>(ba::kLastOp); ++i) {
    const op o = static_cast<op>(i);
    EXPECT_EQ(ba::base_of(ba::fetching(o)), ba::base_of(o)) << ba::op_name(o);
    EXPECT_EQ(ba::is_fetching(o), ba::fetching(ba::base_of(o)) == o && ba::base_of(o) != o);
  }
  EXPECT_TRUE(ba::is_rmw(op::or_));
  EXPECT_TRUE(ba::is_rmw(op::fetch_neg));
  EXPECT_FALSE(ba::is_rmw(op::bit_test_reset));
  EXPECT_TRUE(ba::is_fetching(op::fetch_xor));
  EXPECT_FALSE(ba::is_fetching(op::xor_));
  EXPECT_TRUE(ba::takes_operand(op::store));
  EXPECT_TRUE(ba::takes_operand(op::exchange));
  EXPECT_FALSE(ba::takes_operand(op::load));
  EXPECT_TRUE(ba::returns_value(op::load));
  EXPECT_TRUE(ba::returns_value(op::exchange));
  EXPECT_FALSE(ba::returns_value(op::store));
  EXPECT_FALSE(ba::returns_value(op::add));
  EXPECT_TRUE(ba::returns_value(op::fetch_add));
  EXPECT_TRUE(ba::takes_operand(op::fetch_sub));
  EXPECT_FALSE(ba::takes_operand(op::fetch_inc));
  EXPECT_FALSE(ba::takes_operand(op::not_));
  EXPECT_TRUE(ba::is_bit_op(op::bit_test));
  EXPECT_TRUE(ba::is_bit_op(op::bit_test_reset));
  EXPECT_FALSE(ba::is_bit_op(op::or_));
  EXPECT_TRUE(ba::is_bit_index(0, 1));
  EXPECT_TRUE(ba::is_bit_index(7, 1));
  EXPECT_FALSE(ba::is_bit_index(8, 1));
  EXPECT_FALSE(ba::is_bit_index(-1, 8));
  EXPECT_TRUE(ba::is_bit_index(127, 16));
}

TEST(BufferAtomicOps, DispatchByOp) {
  using ba::op;
  alignas(8) unsigned char raw[8] = {};
  void* p = raw;
  using U = std::uint32_t;
  const auto mo = order::seq_cst;
  EXPECT_EQ((ba::apply<op::store, U>(p, 7, mo)), 0u);
  EXPECT_EQ((ba::apply<op::load, U>(p, 99, mo)), 7u);
  EXPECT_EQ((ba::apply<op::exchange, U>(p, 0, mo)), 7u);
  EXPECT_EQ((ba::apply<op::add, U>(p, 5, mo)), 0u);
  EXPECT_EQ((ba::apply<op::fetch_inc, U>(p, 99, mo)), 5u);  // the operand is ignored
  EXPECT_EQ((ba::apply<op::dec, U>(p, 99, mo)), 6u);
  EXPECT_EQ((ba::apply<op::fetch_sub, U>(p, 2, mo)), 5u);
  EXPECT_EQ((ba::apply<op::neg, U>(p, 0, mo)), 3u);
  EXPECT_EQ((ba::apply<op::fetch_neg, U>(p, 0, mo)), static_cast<U>(-3));
  EXPECT_EQ((ba::apply<op::or_, U>(p, 0xc, mo)), 3u);
  EXPECT_EQ((ba::apply<op::fetch_and, U>(p, 0x5, mo)), 0xfu);
  EXPECT_EQ((ba::apply<op::xor_, U>(p, 0x1, mo)), 0x5u);
  EXPECT_EQ((ba::apply<op::fetch_not, U>(p, 0, mo)), 0x4u);
  EXPECT_EQ(ba::ops<U>::load(p, mo), static_cast<U>(~U{4}));
  ba::ops<U>::store(p, 0, mo);
  EXPECT_FALSE((ba::bit<op::bit_test_set, U>(p, 31, mo)));
  EXPECT_TRUE((ba::bit<op::bit_test, U>(p, 31, mo)));
  EXPECT_TRUE((ba::bit<op::bit_test_compl, U>(p, 31, mo)));
  EXPECT_FALSE((ba::bit<op::bit_test_reset, U>(p, 31, mo)));
  EXPECT_EQ(ba::ops<U>::load(p, mo), 0u);
}

TEST(BufferAtomicConversions, SignedRanges) {
  EXPECT_TRUE(ba::fits_signed(127, 1));
  EXPECT_FALSE(ba::fits_signed(128, 1));
  EXPECT_TRUE(ba::fits_signed(-128, 1));
  EXPECT_FALSE(ba::fits_signed(-129, 1));
  EXPECT_TRUE(ba::fits_unsigned(255, 1));
  EXPECT_FALSE(ba::fits_unsigned(256, 1));
  EXPECT_TRUE(ba::fits_unsigned(~std::uint64_t{0}, 8));
  EXPECT_EQ(ba::to_signed<int>(std::uint8_t{0xff}), -1);
  EXPECT_EQ(ba::to_signed<int>(std::uint16_t{0x8000}), -32768);
}

#if INTERLOCK_BUFFER_ATOMIC_HAS_CX16 && defined(__SIZEOF_INT128__)
TEST(BufferAtomic16, EveryOperation) {
  if (!ba::has_cmpxchg16b()) GTEST_SKIP() << "no cmpxchg16b";
  using U = ba::u128;
  using O = ba::ops<U>;
  alignas(16) unsigned char raw[16] = {};
  void* p = raw;
  const U big = (U{1} << 100) + 3;
  O::store(p, big, order::seq_cst);
  EXPECT_TRUE(O::load(p, order::seq_cst) == big);
  EXPECT_TRUE(O::exchange(p, 1, order::seq_cst) == big);
  U exp = 2;
  EXPECT_FALSE(O::cmpxchg(p, exp, 5, false, order::seq_cst, order::seq_cst));
  EXPECT_TRUE(exp == 1);
  EXPECT_TRUE(O::cmpxchg(p, exp, 5, true, order::seq_cst, order::seq_cst));
  EXPECT_TRUE(O::fetch_sub(p, 6, order::seq_cst) == 5);
  EXPECT_TRUE(O::load(p, order::seq_cst) == ~U{0});  // wrapped
  EXPECT_TRUE(O::fetch_add(p, 1, order::seq_cst) == ~U{0});
  EXPECT_TRUE(O::load(p, order::seq_cst) == 0);
  EXPECT_FALSE(O::bit_test_set(p, 127, order::seq_cst));
  EXPECT_TRUE(O::bit_test(p, 127, order::seq_cst));
  EXPECT_TRUE(O::fetch_neg(p, order::seq_cst) == (U{1} << 127));
  EXPECT_TRUE(O::fetch_not(p, order::seq_cst) == (U{1} << 127));
  EXPECT_TRUE(O::fetch_and(p, 0xff, order::seq_cst) == ~(U{1} << 127));
  EXPECT_TRUE(O::fetch_or(p, U{1} << 64, order::seq_cst) == 0xff);
  EXPECT_TRUE(O::fetch_xor(p, 0xff, order::seq_cst) == ((U{1} << 64) | 0xff));
  EXPECT_TRUE(O::bit_test_reset(p, 64, order::seq_cst));
  EXPECT_TRUE(O::load(p, order::seq_cst) == 0);
}
#endif

template <class U>
void hammer(void* p, int n) {
  for (int i = 0; i < n; ++i) ba::ops<U>::fetch_add(p, 1, order::seq_cst);
}

TEST(BufferAtomicStress, ThreadsConserveCounts) {
  const int n = static_cast<int>(itest::scaled(100000));
  alignas(8) unsigned char raw[8] = {};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) ts.emplace_back([&] { hammer<std::uint64_t>(raw, n); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ba::ops<std::uint64_t>::load(raw, order::seq_cst), std::uint64_t(4) * n);
}

#if !INTERLOCK_TEST_TSAN
#if !defined(_WIN32)  // fork() + MAP_SHARED: not on Windows
TEST(BufferAtomicStress, ProcessesConserveCounts) {
  const int n = static_cast<int>(itest::scaled(100000));
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  auto* bytes = static_cast<unsigned char*>(page);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    hammer<std::uint32_t>(bytes, n);
    hammer<std::uint8_t>(bytes + 5, n);
    _exit(0);
  }
  hammer<std::uint32_t>(bytes, n);
  hammer<std::uint8_t>(bytes + 5, n);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(ba::ops<std::uint32_t>::load(bytes, order::seq_cst), std::uint32_t(2 * n));
  EXPECT_EQ(ba::ops<std::uint8_t>::load(bytes + 5, order::seq_cst),
            static_cast<std::uint8_t>(2 * n));  // wraps at 256
  munmap(page, 4096);
}
#endif
#endif

}  // namespace
