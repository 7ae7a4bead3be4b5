"""interlock.atomic: AtomicInt, AtomicBool, AtomicFloat, AtomicReference."""

from __future__ import annotations

import copy
import gc
import math
import operator
import pickle
import random
import struct
import sys
import types
import weakref

import pytest

import interlock.atomic as atomic_mod
from interlock.atomic import AtomicBool, AtomicFloat, AtomicInt, AtomicReference

MAX = 2**63 - 1
MIN = -(2**63)


def wrap(x: int) -> int:
    """x as a two's complement int64."""
    return (x + 2**63) % 2**64 - 2**63


class Index:
    """Not an int, but has __index__."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __index__(self) -> int:
        return self.v


class Floaty:
    def __float__(self) -> float:
        return 2.5


# ============================================================ module


def test_module_exports():
    assert atomic_mod.__all__ == ["AtomicInt", "AtomicBool", "AtomicFloat", "AtomicReference"]
    for name in atomic_mod.__all__:
        cls = getattr(atomic_mod, name)
        assert cls.__module__ == "interlock.atomic"
        assert cls.__qualname__ == cls.__name__ == name


HOT = {
    AtomicInt: [
        "load", "store", "exchange", "compare_exchange", "inc", "dec", "update", "fetch_update",
        *(f"fetch_{op}" for op in ("add", "sub", "mul", "div", "mod", "and", "or", "xor",
                                   "max", "min", "inc", "dec")),
        *(f"{op}_fetch" for op in ("add", "sub", "mul", "div", "mod", "and", "or", "xor",
                                   "max", "min", "inc", "dec")),
    ],
    AtomicBool: ["load", "store", "exchange", "compare_exchange", "fetch_and", "fetch_or",
                 "fetch_xor", "and_fetch", "or_fetch", "xor_fetch", "fetch_flip", "flip_fetch"],
    AtomicFloat: ["load", "store", "exchange", "compare_exchange",
                  *(f"fetch_{op}" for op in ("add", "sub", "mul", "div", "max", "min")),
                  *(f"{op}_fetch" for op in ("add", "sub", "mul", "div", "max", "min"))],
    AtomicReference: ["load", "get", "store", "set", "exchange", "compare_exchange",
                      "update", "fetch_update"],
}


@pytest.mark.parametrize("cls", list(HOT), ids=lambda c: c.__name__)
def test_hot_methods_are_plain_cpython_methods(cls):
    for name in HOT[cls]:
        assert isinstance(cls.__dict__[name], types.MethodDescriptorType), name


def test_uninitialised_instance_raises_type_error():
    for cls in (AtomicInt, AtomicBool, AtomicFloat, AtomicReference):
        obj = cls.__new__(cls)
        with pytest.raises(TypeError, match="not initialized"):
            obj.load()
        with pytest.raises(TypeError, match="not initialized"):
            repr(obj)
    with pytest.raises(TypeError, match="not initialized"):
        int(AtomicInt.__new__(AtomicInt))
    with pytest.raises(TypeError, match="not initialized"):
        bool(AtomicFloat.__new__(AtomicFloat))


# ============================================================ AtomicInt


def test_int_construct():
    assert AtomicInt().load() == 0
    assert AtomicInt(5).load() == 5
    assert AtomicInt(value=-5).load() == -5
    assert AtomicInt(MAX).load() == MAX
    assert AtomicInt(MIN).load() == MIN
    assert AtomicInt(Index(7)).load() == 7
    assert AtomicInt(True).load() == 1
    assert AtomicInt(AtomicInt(9)).load() == 9  # has __index__


@pytest.mark.parametrize("bad", [2**63, MIN - 1, 2**100])
def test_int_overflow_error(bad):
    with pytest.raises(OverflowError):
        AtomicInt(bad)
    a = AtomicInt(3)
    for method in ("store", "exchange", "fetch_add", "add_fetch", "fetch_mul", "fetch_div",
                   "fetch_and", "max_fetch"):
        with pytest.raises(OverflowError):
            getattr(a, method)(bad)
    with pytest.raises(OverflowError):
        a.compare_exchange(bad, 1)
    with pytest.raises(OverflowError):
        a.compare_exchange(3, bad)
    with pytest.raises(OverflowError):
        a += bad
    with pytest.raises(OverflowError):
        a.update(lambda v: bad)
    assert a.load() == 3


@pytest.mark.parametrize("bad", [1.5, "1", None, [], 1j])
def test_int_type_errors(bad):
    with pytest.raises(TypeError):
        AtomicInt(bad)
    a = AtomicInt(3)
    for method in ("store", "exchange", "fetch_add", "sub_fetch", "fetch_max", "inc_fetch"):
        with pytest.raises(TypeError):
            getattr(a, method)(bad)
    with pytest.raises(TypeError):
        a += bad
    with pytest.raises(TypeError):
        a <<= bad
    assert a.load() == 3


def test_int_argument_counts():
    a = AtomicInt()
    with pytest.raises(TypeError):
        a.load(1)
    with pytest.raises(TypeError):
        a.fetch_add()
    with pytest.raises(TypeError):
        a.fetch_add(1, 2)
    with pytest.raises(TypeError):
        a.fetch_add(n=1)  # positional-only
    with pytest.raises(TypeError):
        a.compare_exchange(1)
    with pytest.raises(TypeError):
        AtomicInt(1, 2)


def test_int_load_store_exchange():
    a = AtomicInt(1)
    assert a.store(2) is None
    assert a.load() == 2
    assert a.exchange(3) == 2
    assert a.load() == 3
    assert a.exchange(Index(-4)) == 3
    assert a.load() == -4


def test_int_compare_exchange():
    a = AtomicInt(10)
    assert a.compare_exchange(10, 11) == (True, 10)
    assert a.load() == 11
    assert a.compare_exchange(10, 12) == (False, 11)
    assert a.load() == 11
    assert a.compare_exchange(expected=11, desired=12) == (True, 11)
    ok, prior = a.compare_exchange(0, 0)
    assert type(ok) is bool and type(prior) is int


INT_OPS = [
    # (method, start, arg, returned, after)
    ("fetch_add", 5, 3, 5, 8), ("add_fetch", 5, 3, 8, 8),
    ("fetch_sub", 5, 3, 5, 2), ("sub_fetch", 5, 3, 2, 2),
    ("fetch_mul", 5, 3, 5, 15), ("mul_fetch", 5, 3, 15, 15),
    ("fetch_div", 7, 2, 7, 3), ("div_fetch", 7, 2, 3, 3),
    ("fetch_div", -7, 2, -7, -4), ("div_fetch", -7, 2, -4, -4),
    ("div_fetch", 7, -2, -4, -4), ("div_fetch", -7, -2, 3, 3),
    ("fetch_mod", 7, 3, 7, 1), ("mod_fetch", 7, 3, 1, 1),
    ("mod_fetch", -7, 3, 2, 2), ("mod_fetch", 7, -3, -2, -2), ("mod_fetch", -7, -3, -1, -1),
    ("fetch_and", 0b1100, 0b1010, 0b1100, 0b1000), ("and_fetch", 0b1100, 0b1010, 0b1000, 0b1000),
    ("fetch_or", 0b1100, 0b1010, 0b1100, 0b1110), ("or_fetch", 0b1100, 0b1010, 0b1110, 0b1110),
    ("fetch_xor", 0b1100, 0b1010, 0b1100, 0b0110), ("xor_fetch", 0b1100, 0b1010, 0b0110, 0b0110),
    ("fetch_max", 5, 9, 5, 9), ("max_fetch", 5, 9, 9, 9),
    ("fetch_max", 5, 2, 5, 5), ("max_fetch", 5, 2, 5, 5),
    ("fetch_min", 5, 2, 5, 2), ("min_fetch", 5, 2, 2, 2),
    ("fetch_min", 5, 9, 5, 5), ("min_fetch", 5, 9, 5, 5),
    ("fetch_and", -1, 0xFF, -1, 0xFF), ("fetch_or", MIN, 1, MIN, MIN + 1),
    ("fetch_xor", -1, MAX, -1, MIN),
]


@pytest.mark.parametrize("method,start,arg,returned,after", INT_OPS)
def test_int_fetch_ops(method, start, arg, returned, after):
    a = AtomicInt(start)
    r = getattr(a, method)(arg)
    assert type(r) is int
    assert r == returned
    assert a.load() == after


def test_int_inc_dec():
    a = AtomicInt(5)
    assert a.fetch_inc() == 5 and a.load() == 6
    assert a.inc_fetch() == 7 and a.load() == 7
    assert a.fetch_dec() == 7 and a.load() == 6
    assert a.dec_fetch() == 5 and a.load() == 5
    assert a.inc() == 6  # like ++x: the new value
    assert a.dec() == 5
    assert a.load() == 5


def test_int_wraparound():
    assert AtomicInt(MAX).add_fetch(1) == MIN
    assert AtomicInt(MAX).fetch_add(1) == MAX
    assert AtomicInt(MAX).inc() == MIN
    assert AtomicInt(MIN).dec() == MAX
    assert AtomicInt(MIN).sub_fetch(1) == MAX
    assert AtomicInt(MIN).fetch_dec() == MIN
    assert AtomicInt(MAX).mul_fetch(2) == -2
    assert AtomicInt(2**62).mul_fetch(4) == 0
    assert AtomicInt(MIN).mul_fetch(-1) == MIN
    assert AtomicInt(MIN).div_fetch(-1) == MIN  # MIN // -1 wraps
    assert AtomicInt(MIN).mod_fetch(-1) == 0
    assert AtomicInt(MIN).add_fetch(MIN) == 0
    a = AtomicInt(MAX)
    a += 1
    assert a.load() == MIN


def test_int_division_matches_python_floor_semantics():
    rng = random.Random(1234)
    values = [0, 1, -1, 2, -2, 3, -3, 7, -7, MAX, MIN, MAX - 1, MIN + 1]
    values += [rng.randint(MIN, MAX) for _ in range(200)]
    values += [rng.randint(-1000, 1000) for _ in range(200)]
    for _ in range(2000):
        x = rng.choice(values)
        y = rng.choice(values) or 1
        assert AtomicInt(x).div_fetch(y) == wrap(x // y), (x, y)
        assert AtomicInt(x).mod_fetch(y) == x % y, (x, y)
        b = AtomicInt(x)
        b //= y
        assert b.load() == wrap(x // y)
        b = AtomicInt(x)
        b %= y
        assert b.load() == x % y


def test_int_multiplication_wraps_like_two_complement():
    rng = random.Random(99)
    for _ in range(2000):
        x, y = rng.randint(MIN, MAX), rng.randint(MIN, MAX)
        assert AtomicInt(x).mul_fetch(y) == wrap(x * y)
        assert AtomicInt(x).add_fetch(y) == wrap(x + y)
        assert AtomicInt(x).sub_fetch(y) == wrap(x - y)


@pytest.mark.parametrize("method", ["fetch_div", "div_fetch", "fetch_mod", "mod_fetch"])
def test_int_division_by_zero_leaves_value(method):
    a = AtomicInt(42)
    with pytest.raises(ZeroDivisionError):
        getattr(a, method)(0)
    assert a.load() == 42


def test_int_inplace_division_by_zero_leaves_value():
    a = AtomicInt(42)
    with pytest.raises(ZeroDivisionError):
        a //= 0
    with pytest.raises(ZeroDivisionError):
        a %= 0
    assert a.load() == 42


INPLACE = [
    (operator.iadd, 5, 3, 8), (operator.isub, 5, 3, 2), (operator.imul, 5, 3, 15),
    (operator.ifloordiv, -7, 2, -4), (operator.imod, -7, 2, 1),
    (operator.iand, 0b1100, 0b1010, 0b1000), (operator.ior, 0b1100, 0b1010, 0b1110),
    (operator.ixor, 0b1100, 0b1010, 0b0110),
    (operator.ilshift, 3, 2, 12), (operator.irshift, -16, 2, -4), (operator.irshift, 17, 1, 8),
    (operator.ilshift, 1, 63, MIN), (operator.ilshift, 3, 63, MIN), (operator.ilshift, -1, 64, 0),
    (operator.ilshift, 5, 1000, 0), (operator.irshift, -5, 64, -1), (operator.irshift, 5, 64, 0),
    (operator.irshift, MIN, 63, -1), (operator.irshift, MAX, 63, 0),
    (operator.ilshift, MAX, 1, -2), (operator.ilshift, 7, 0, 7), (operator.iadd, 1, Index(2), 3),
    (operator.iadd, 1, True, 2),
]


@pytest.mark.parametrize("op,start,arg,after", INPLACE)
def test_int_inplace_operators(op, start, arg, after):
    a = AtomicInt(start)
    r = op(a, arg)
    assert r is a
    assert a.load() == after


def test_int_inplace_keeps_object_and_statement_form():
    a = AtomicInt(1)
    alias = a
    a += 2
    a *= 5
    a -= 1
    a //= 2
    a %= 5
    a <<= 4
    a >>= 1
    a |= 1
    a &= 0xFF
    a ^= 0b10
    assert a is alias
    assert a.load() == ((((((((1 + 2) * 5 - 1) // 2) % 5) << 4) >> 1) | 1) & 0xFF) ^ 0b10


def test_int_negative_shift_leaves_value():
    a = AtomicInt(5)
    with pytest.raises(ValueError, match="negative shift count"):
        a <<= -1
    with pytest.raises(ValueError, match="negative shift count"):
        a >>= -1
    assert a.load() == 5


def test_int_no_binary_arithmetic_or_value_equality():
    a = AtomicInt(1)
    with pytest.raises(TypeError):
        a + 1  # noqa: B018
    # Identity semantics: equal values are different objects, hash is id-based.
    assert AtomicInt(1) != AtomicInt(1)
    assert a == a
    assert hash(a) == object.__hash__(a)
    assert len({AtomicInt(1), AtomicInt(1)}) == 2


def test_int_conversions():
    a = AtomicInt(-7)
    assert int(a) == -7 and type(int(a)) is int
    assert operator.index(a) == -7
    assert float(a) == -7.0 and type(float(a)) is float
    assert bool(a) is True and bool(AtomicInt(0)) is False
    assert [10, 20, 30][AtomicInt(1)] == 20
    assert hex(AtomicInt(255)) == "0xff"
    assert list(range(AtomicInt(3))) == [0, 1, 2]
    assert math.isclose(math.sqrt(AtomicInt(16)), 4.0)


def test_int_repr():
    assert repr(AtomicInt(5)) == "AtomicInt(5)"
    assert repr(AtomicInt(MIN)) == f"AtomicInt({MIN})"
    assert str(AtomicInt(-1)) == "AtomicInt(-1)"

    class Counter(AtomicInt):
        pass

    assert repr(Counter(3)) == "Counter(3)"


class IntSub(AtomicInt):
    pass


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_int_pickle(proto):
    for v in (0, 5, MAX, MIN):
        b = pickle.loads(pickle.dumps(AtomicInt(v), proto))
        assert type(b) is AtomicInt and b.load() == v
    s = pickle.loads(pickle.dumps(IntSub(4), proto))
    assert type(s) is IntSub and s.load() == 4


def test_int_copy():
    a = AtomicInt(5)
    for c in (copy.copy(a), copy.deepcopy(a), a.__copy__(), a.__deepcopy__({})):
        assert type(c) is AtomicInt and c is not a and c.load() == 5
        c.store(6)
        assert a.load() == 5


def test_int_update():
    a = AtomicInt(2)
    assert a.update(lambda v: v * 10) == 20
    assert a.load() == 20
    assert a.fetch_update(lambda v: v + 1) == 20
    assert a.load() == 21
    assert a.update(Index) == 21  # the result may be any __index__ object
    assert a.update(lambda v: MAX) == MAX


def test_int_update_errors_leave_value():
    a = AtomicInt(7)

    def boom(v):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        a.update(boom)
    with pytest.raises(TypeError, match="must return an int"):
        a.update(lambda v: 1.5)
    with pytest.raises(TypeError):
        a.update(None)
    with pytest.raises(TypeError):
        a.update(lambda: 1)  # wrong arity
    assert a.load() == 7


def test_int_update_retries_with_the_new_value():
    a = AtomicInt(1)
    seen = []

    def fn(v):
        seen.append(v)
        if len(seen) == 1:
            a.store(100)  # another "thread" wins the race: the CAS fails, fn runs again
        return v + 1

    assert a.update(fn) == 101
    assert seen == [1, 100]
    seen.clear()
    a.store(1)
    assert a.fetch_update(fn) == 100
    assert a.load() == 101


# ============================================================ AtomicBool


def test_bool_construct_and_truth_value_arguments():
    assert AtomicBool().load() is False
    assert AtomicBool(True).load() is True
    assert AtomicBool(value=1).load() is True
    assert AtomicBool([]).load() is False
    assert AtomicBool("x").load() is True
    b = AtomicBool()
    b.store(3)
    assert b.load() is True
    b.store(None)
    assert b.load() is False


def test_bool_truth_value_errors_propagate():
    class Bad:
        def __bool__(self):
            raise RuntimeError("no truth")

    b = AtomicBool(True)
    with pytest.raises(RuntimeError):
        b.store(Bad())
    with pytest.raises(RuntimeError):
        AtomicBool(Bad())
    assert b.load() is True


def test_bool_exchange_compare_exchange():
    b = AtomicBool(False)
    assert b.exchange(True) is False
    assert b.exchange(1) is True
    assert b.compare_exchange(True, False) == (True, True)
    assert b.load() is False
    assert b.compare_exchange(True, False) == (False, False)
    assert b.compare_exchange(expected=0, desired="yes") == (True, False)
    assert b.load() is True


@pytest.mark.parametrize("start", [False, True])
@pytest.mark.parametrize("arg", [False, True])
def test_bool_logic_ops(start, arg):
    table = {"and": operator.and_, "or": operator.or_, "xor": operator.xor}
    for name, fn in table.items():
        b = AtomicBool(start)
        assert getattr(b, f"fetch_{name}")(arg) is start
        assert b.load() is fn(start, arg)
        b = AtomicBool(start)
        assert getattr(b, f"{name}_fetch")(arg) is fn(start, arg)
        assert b.load() is fn(start, arg)


def test_bool_flip():
    b = AtomicBool(False)
    assert b.fetch_flip() is False and b.load() is True
    assert b.flip_fetch() is False and b.load() is False
    assert b.flip_fetch() is True and b.load() is True


def test_bool_update():
    b = AtomicBool(False)
    assert b.update(lambda v: not v) is True
    assert b.fetch_update(lambda v: 0) is True
    assert b.load() is False
    assert b.update(lambda v: [1]) is True  # truth value of the result


def test_bool_conversions_repr():
    assert bool(AtomicBool(True)) is True and not AtomicBool(False)
    assert int(AtomicBool(True)) == 1 and operator.index(AtomicBool(False)) == 0
    assert repr(AtomicBool(True)) == "AtomicBool(True)"
    assert repr(AtomicBool()) == "AtomicBool(False)"


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_bool_pickle_copy(proto):
    for v in (False, True):
        b = pickle.loads(pickle.dumps(AtomicBool(v), proto))
        assert type(b) is AtomicBool and b.load() is v
        c = copy.copy(AtomicBool(v))
        assert c.load() is v
        assert copy.deepcopy(AtomicBool(v)).load() is v


# ============================================================ AtomicFloat


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_float_construct():
    assert AtomicFloat().load() == 0.0
    assert type(AtomicFloat().load()) is float
    assert AtomicFloat(2.5).load() == 2.5
    assert AtomicFloat(value=3).load() == 3.0
    assert AtomicFloat(Floaty()).load() == 2.5
    assert AtomicFloat(Index(4)).load() == 4.0
    with pytest.raises(TypeError):
        AtomicFloat("1.0")
    with pytest.raises(TypeError):
        AtomicFloat(None)
    with pytest.raises(OverflowError):
        AtomicFloat(10**400)


def test_float_basic_ops():
    f = AtomicFloat(1.5)
    assert f.store(2.0) is None
    assert f.exchange(3) == 2.0
    assert f.load() == 3.0
    with pytest.raises(TypeError):
        f.store("x")
    with pytest.raises(TypeError):
        f.fetch_add(None)
    assert f.load() == 3.0


FLOAT_OPS = [
    ("fetch_add", 1.5, 2.0, 1.5, 3.5), ("add_fetch", 1.5, 2.0, 3.5, 3.5),
    ("fetch_sub", 1.5, 2.0, 1.5, -0.5), ("sub_fetch", 1.5, 2.0, -0.5, -0.5),
    ("fetch_mul", 1.5, 2.0, 1.5, 3.0), ("mul_fetch", 1.5, 2.0, 3.0, 3.0),
    ("fetch_div", 3.0, 2.0, 3.0, 1.5), ("div_fetch", 3.0, 2.0, 1.5, 1.5),
    ("div_fetch", 1.0, 3, 1 / 3, 1 / 3),
    ("fetch_max", 1.0, 2.0, 1.0, 2.0), ("max_fetch", 1.0, 0.5, 1.0, 1.0),
    ("fetch_min", 1.0, 2.0, 1.0, 1.0), ("min_fetch", 1.0, 0.5, 0.5, 0.5),
    ("add_fetch", 1e308, 1e308, math.inf, math.inf),
]


@pytest.mark.parametrize("method,start,arg,returned,after", FLOAT_OPS)
def test_float_fetch_ops(method, start, arg, returned, after):
    f = AtomicFloat(start)
    r = getattr(f, method)(arg)
    assert type(r) is float
    assert r == returned
    assert f.load() == after


@pytest.mark.parametrize("method", ["fetch_div", "div_fetch"])
@pytest.mark.parametrize("zero", [0.0, -0.0, 0])
def test_float_division_by_zero_leaves_value(method, zero):
    f = AtomicFloat(6.0)
    with pytest.raises(ZeroDivisionError):
        getattr(f, method)(zero)
    assert f.load() == 6.0
    with pytest.raises(ZeroDivisionError):
        f /= zero
    assert f.load() == 6.0


def test_float_compare_exchange_is_bitwise():
    f = AtomicFloat(1.0)
    assert f.compare_exchange(1.0, 2.0) == (True, 1.0)
    assert f.compare_exchange(1.0, 3.0) == (False, 2.0)
    nan = float("nan")
    f.store(nan)
    ok, prior = f.compare_exchange(nan, 5.0)  # NaN != NaN, but the bits match
    assert ok and math.isnan(prior)
    assert f.load() == 5.0
    f.store(0.0)
    assert f.compare_exchange(-0.0, 1.0) == (False, 0.0)  # -0.0 == 0.0, bits differ
    assert bits(f.load()) == bits(0.0)
    assert f.compare_exchange(0.0, -0.0) == (True, 0.0)
    assert bits(f.load()) == bits(-0.0)
    assert f.compare_exchange(expected=-0.0, desired=1) == (True, -0.0)


def test_float_max_min_nan_and_signed_zero():
    nan = float("nan")
    f = AtomicFloat(1.0)
    assert f.fetch_max(nan) == 1.0 and f.load() == 1.0  # a NaN operand is ignored
    assert f.min_fetch(nan) == 1.0
    f.store(nan)
    assert math.isnan(f.fetch_max(2.0)) and f.load() == 2.0  # a stored NaN is replaced
    f.store(nan)
    assert f.min_fetch(-3.0) == -3.0
    f.store(nan)
    assert math.isnan(f.max_fetch(nan))  # both NaN: NaN
    f.store(-0.0)
    assert bits(f.max_fetch(0.0)) == bits(0.0)  # +0.0 > -0.0
    assert bits(f.max_fetch(-0.0)) == bits(0.0)
    assert bits(f.min_fetch(-0.0)) == bits(-0.0)
    assert bits(f.min_fetch(0.0)) == bits(-0.0)
    f.store(-math.inf)
    assert f.max_fetch(-1e308) == -1e308
    assert f.min_fetch(-math.inf) == -math.inf


def test_float_inplace():
    f = AtomicFloat(1.0)
    alias = f
    f += 2
    f -= 0.5
    f *= 4
    f /= 5
    assert f is alias
    assert f.load() == ((1.0 + 2) - 0.5) * 4 / 5
    with pytest.raises(TypeError):
        f += "x"
    with pytest.raises(TypeError):
        f //= 2
    f += Floaty()
    assert f.load() == 4.5


def test_float_update():
    f = AtomicFloat(1.5)
    assert f.update(lambda v: v * 2) == 3.0
    assert f.fetch_update(lambda v: 7) == 3.0  # an int result converts
    assert f.load() == 7.0
    with pytest.raises(TypeError):
        f.update(lambda v: "x")
    with pytest.raises(ValueError):
        f.update(lambda v: float("x"))
    assert f.load() == 7.0
    nan = float("nan")
    f.store(nan)
    assert f.update(lambda v: 1.0 if math.isnan(v) else 2.0) == 1.0  # bitwise CAS on NaN


def test_float_conversions_repr():
    assert float(AtomicFloat(2.5)) == 2.5
    assert int(AtomicFloat(-2.7)) == -2  # truncates like int(float)
    assert int(AtomicFloat(1e20)) == int(1e20)
    with pytest.raises(OverflowError):
        int(AtomicFloat(math.inf))
    with pytest.raises(ValueError):
        int(AtomicFloat(math.nan))
    assert bool(AtomicFloat(0.0)) is False and bool(AtomicFloat(-0.0)) is False
    assert bool(AtomicFloat(0.1)) is True and bool(AtomicFloat(math.nan)) is True
    assert repr(AtomicFloat(1.0)) == "AtomicFloat(1.0)"
    assert repr(AtomicFloat(0.1)) == "AtomicFloat(0.1)"
    assert repr(AtomicFloat(1e300)) == "AtomicFloat(1e+300)"
    assert repr(AtomicFloat(-math.inf)) == "AtomicFloat(-inf)"
    assert repr(AtomicFloat(math.nan)) == "AtomicFloat(nan)"


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_float_pickle_copy(proto):
    for v in (0.0, -0.0, 1.5, math.inf, -math.inf, 5e-324):
        f = pickle.loads(pickle.dumps(AtomicFloat(v), proto))
        assert type(f) is AtomicFloat and bits(f.load()) == bits(v)
    assert math.isnan(pickle.loads(pickle.dumps(AtomicFloat(math.nan), proto)).load())
    assert copy.copy(AtomicFloat(2.5)).load() == 2.5
    assert copy.deepcopy(AtomicFloat(2.5)).load() == 2.5


# ============================================================ AtomicReference


def test_ref_basics_identity():
    r = AtomicReference()
    assert r.load() is None and r.get() is None
    x, y = [1], [1]
    r2 = AtomicReference(obj=x)
    assert r2.load() is x
    assert r2.store(y) is None
    assert r2.get() is y
    assert r2.set(x) is None
    assert r2.exchange(y) is x
    assert r2.load() is y


def test_ref_compare_exchange_is_by_identity():
    x, y, z = [1], [1], [2]
    r = AtomicReference(x)
    assert r.compare_exchange(y, z) == (False, x)  # y == x, but not x
    assert r.load() is x
    ok, prior = r.compare_exchange(x, z)
    assert ok is True and prior is x
    assert r.load() is z
    ok, prior = r.compare_exchange(expected=z, desired=None)
    assert ok and prior is z and r.load() is None


def test_ref_update():
    r = AtomicReference(1)
    assert r.update(lambda v: v + 1) == 2
    assert r.fetch_update(lambda v: [v]) == 2
    assert r.load() == [2]
    with pytest.raises(ZeroDivisionError):
        r.update(lambda v: 1 / 0)
    assert r.load() == [2]


def test_ref_update_retries_when_replaced():
    r = AtomicReference("a")
    seen = []

    def fn(v):
        seen.append(v)
        if len(seen) == 1:
            r.store("b")
        return v + "!"

    assert r.update(fn) == "b!"
    assert seen == ["a", "b"]


def test_ref_repr():
    assert repr(AtomicReference()) == "AtomicReference(None)"
    assert repr(AtomicReference([1, "x"])) == "AtomicReference([1, 'x'])"
    r = AtomicReference()
    r.store(r)
    assert repr(r) == "AtomicReference(AtomicReference(...))"

    class BadRepr:
        def __repr__(self):
            raise RuntimeError("no repr")

    with pytest.raises(RuntimeError):
        repr(AtomicReference(BadRepr()))


def test_ref_generic_alias():
    alias = AtomicReference[int]
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is AtomicReference and alias.__args__ == (int,)
    assert AtomicReference[int](5).load() == 5


class RefSub(AtomicReference):
    pass


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_ref_pickle(proto):
    r = pickle.loads(pickle.dumps(AtomicReference({"a": [1, 2]}), proto))
    assert type(r) is AtomicReference and r.load() == {"a": [1, 2]}
    s = pickle.loads(pickle.dumps(RefSub(3), proto))
    assert type(s) is RefSub and s.load() == 3


def test_ref_copy_and_deepcopy():
    x = [1, [2]]
    r = AtomicReference(x)
    c = copy.copy(r)
    assert type(c) is AtomicReference and c is not r and c.load() is x
    d = copy.deepcopy(r)
    assert d.load() == x and d.load() is not x and d.load()[1] is not x[1]
    r.store(r)  # a reference that reaches itself
    d = copy.deepcopy(r)
    assert d.load() is d


def test_ref_refcounts_balance():
    o = object.__new__(type("Fresh", (), {}))
    base = sys.getrefcount(o)
    r = AtomicReference(o)
    assert sys.getrefcount(o) == base + 1
    r.store(None)
    assert sys.getrefcount(o) == base
    r.store(o)
    for _ in range(100):
        assert r.load() is o
        assert r.get() is o
        r.compare_exchange(o, o)
        r.compare_exchange(None, None)
        r.update(lambda v: v)
        r.fetch_update(lambda v: v)
        repr(r)
    assert r.exchange(None) is o
    assert sys.getrefcount(o) == base
    r.store(o)
    del r
    gc.collect()
    assert sys.getrefcount(o) == base


def test_ref_releases_displaced_objects():
    class Obj:
        pass

    r = AtomicReference()
    for how in ("store", "set", "exchange", "compare_exchange", "update", "del"):
        o = Obj()
        w = weakref.ref(o)
        r.store(o)
        del o
        if how == "compare_exchange":
            r.compare_exchange(w(), None)
        elif how == "update":
            r.update(lambda v: None)
        elif how == "del":
            r = AtomicReference(w())
            del r
            r = AtomicReference()
        else:
            getattr(r, how)(None)
        assert w() is None, how


def test_ref_gc_collects_cycles():
    r = AtomicReference()
    r.store(r)
    w = weakref.ref(r)
    del r
    gc.collect()
    assert w() is None

    class Node:
        pass

    n = Node()
    n.ref = AtomicReference(n)
    w = weakref.ref(n)
    del n
    gc.collect()
    assert w() is None

    a, b = AtomicReference(), AtomicReference()
    a.store([b])
    b.store({"a": a})
    wa, wb = weakref.ref(a), weakref.ref(b)
    del a, b
    gc.collect()
    assert wa() is None and wb() is None
    assert gc.garbage == []


def test_ref_gc_referents():
    x = [1]
    r = AtomicReference(x)
    assert x in gc.get_referents(r)
    assert gc.is_tracked(r)


# ============================================================ threads


@pytest.mark.timeout(60)
def test_threads_no_lost_updates(fast_switching, run_threads):
    n, per = 4, 50_000
    a = AtomicInt()

    def inc():
        f = a.inc
        for _ in range(per):
            f()

    run_threads(*[inc] * n)
    assert a.load() == n * per

    a = AtomicInt()

    def fetch_add():
        got = []
        f = a.fetch_add
        for _ in range(per):
            got.append(f(1))
        return got

    results = run_threads(*[fetch_add] * n)
    assert a.load() == n * per
    assert sorted(v for r in results for v in r) == list(range(n * per))  # each prior seen once

    a = AtomicInt()

    def update():
        for _ in range(per // 10):
            a.update(lambda v: v + 1)

    run_threads(*[update] * n)
    assert a.load() == n * (per // 10)

    a = AtomicInt()

    def cas_loop():
        for _ in range(per // 10):
            cur = a.load()
            while True:
                ok, cur = a.compare_exchange(cur, cur + 1)
                if ok:
                    break

    run_threads(*[cas_loop] * n)
    assert a.load() == n * (per // 10)

    f = AtomicFloat()

    def fadd():
        add = f.add_fetch
        for _ in range(per):
            add(1.0)

    run_threads(*[fadd] * n)
    assert f.load() == float(n * per)

    b = AtomicBool()

    def flip():
        fl = b.fetch_flip
        trues = 0
        for _ in range(per):
            trues += fl()
        return trues

    results = run_threads(*[flip] * n)
    assert b.load() is False  # an even number of flips
    assert sum(results) == n * per // 2  # exactly half the flips saw True

    a = AtomicInt()

    def inplace():
        nonlocal a
        local = a
        for _ in range(per // 2):
            local += 1
            local -= 1
            local += 1

    run_threads(*[inplace] * n)
    assert a.load() == n * (per // 2)


class Payload:
    __slots__ = ("n", "data")

    def __init__(self, n: int) -> None:
        self.n = n
        self.data = [n] * 4

    def check(self) -> int:
        assert self.data == [self.n] * 4
        return self.n


@pytest.mark.timeout(60)
def test_ref_stress_readers_and_writers(fast_switching, run_threads):
    """Writers replace the object with fresh ones (the displaced object is
    freed at once) while readers use what they load: on a free-threaded build
    a reader racing an exchange must never see a freed object."""
    r = AtomicReference(Payload(0))
    iters = 100_000

    def writer(seed: int):
        for i in range(iters):
            if i % 3 == 0:
                r.store(Payload(i))
            elif i % 3 == 1:
                r.exchange(Payload(-i)).check()
            else:
                cur = r.load()
                r.compare_exchange(cur, Payload(seed))
        return True

    def reader():
        total = 0
        for _ in range(iters):
            total += r.load().check()
            total += r.get().check()
        return True

    def updater():
        for _ in range(iters // 4):
            r.update(lambda p: Payload(p.check() + 1))
        return True

    assert all(run_threads(lambda: writer(1), lambda: writer(2), reader, reader, updater))
    r.load().check()


@pytest.mark.timeout(60)
def test_ref_stress_refcounts_balance(run_threads):
    o = object.__new__(type("Fresh", (), {}))
    base = sys.getrefcount(o)
    r = AtomicReference(o)

    def churn():
        for _ in range(20_000):
            x = r.exchange(o)
            assert x is o
            r.load()
            r.compare_exchange(o, o)
            r.compare_exchange(None, o)
        return True

    run_threads(churn, churn, churn)
    r.store(None)
    del r
    assert sys.getrefcount(o) == base


@pytest.mark.parametrize("base, bad, good, expected", [
    (AtomicInt, 1.5, 2, 3), (AtomicFloat, "x", 2.0, 3.0),
])
def test_subclass_inplace_add_refuses_bad_operand(base, bad, good, expected):
    # A Python subclass inherits __iadd__ as sq_inplace_concat too; a refused
    # operand must raise TypeError, never bind the name to NotImplemented.
    class Sub(base):
        pass

    m = Sub(1)
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \+="):
        m += bad
    assert isinstance(m, Sub) and m.load() == 1
    m += good
    assert isinstance(m, Sub) and m.load() == expected


def test_ft_utils_subclass_inplace_add_refuses_bad_operand():
    from interlock.compat.ft_utils.concurrency import AtomicInt64

    class Sub(AtomicInt64):
        pass

    m = Sub(1)
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \+="):
        m += 1.5
    assert isinstance(m, Sub) and m.get() == 1
