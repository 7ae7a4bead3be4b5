"""interlock.compat.syncx.atomic: syncx's atomics, name for name.

syncx's conventions: add/sub/mul/div/inc/dec return the PRIOR value (Rust's
fetch_*), update() the NEW one; div truncates and raises ZeroDivisionError
("division by zero") for 0 and for MIN / -1; AtomicBool.flip() returns the
prior value; compare_exchange returns (succeeded, prior-or-current).
"""

from __future__ import annotations

import copy
import math
import pickle
import threading
import types

import pytest

import interlock.atomic
from interlock.compat.syncx import atomic as sx
from interlock.compat.syncx.atomic import AtomicBool, AtomicFloat, AtomicInt, AtomicReference

MAX = 2**63 - 1
MIN = -(2**63)


def test_module():
    assert set(sx.__all__) == {"AtomicInt", "AtomicBool", "AtomicFloat", "AtomicReference"}
    for name in sx.__all__:
        cls = getattr(sx, name)
        assert cls.__module__ == "interlock.compat.syncx.atomic"
        assert cls.__qualname__ == name
        # distinct native types, not the interlock.atomic ones, not wrappers
        assert cls is not getattr(interlock.atomic, name)
        with pytest.raises(TypeError):
            type("Sub", (cls,), {})  # final, like PyO3 classes


@pytest.mark.parametrize(
    "cls,names",
    [
        (AtomicInt, ["load", "store", "add", "sub", "swap", "compare_exchange", "mul", "div",
                     "fetch_max", "fetch_min", "fetch_and", "fetch_or", "fetch_xor", "update",
                     "inc", "dec"]),
        (AtomicBool, ["load", "store", "swap", "compare_exchange", "flip", "fetch_and",
                      "fetch_or", "fetch_xor", "update"]),
        (AtomicFloat, ["load", "store", "add", "sub", "swap", "compare_exchange", "mul", "div",
                       "fetch_max", "fetch_min", "update"]),
        (AtomicReference, ["get", "set", "exchange", "compare_exchange"]),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_hot_methods_are_native(cls, names):
    for name in names:
        assert isinstance(cls.__dict__[name], types.MethodDescriptorType), name


# ============================================================ AtomicInt


def test_int_quick_start():
    counter = AtomicInt(41)
    counter.inc()
    assert counter.load() == 42


def test_int_return_conventions():
    a = AtomicInt()
    assert a.load() == 0
    assert a.store(10) is None
    assert a.add(5) == 10 and a.load() == 15
    assert a.sub(3) == 15 and a.load() == 12
    assert a.inc() == 12 and a.load() == 13
    assert a.dec() == 13 and a.load() == 12
    assert a.mul(2) == 12 and a.load() == 24
    assert a.div(5) == 24 and a.load() == 4
    assert a.swap(9) == 4 and a.load() == 9
    assert a.compare_exchange(9, 1) == (True, 9)
    assert a.compare_exchange(9, 2) == (False, 1)
    assert a.load() == 1


def test_int_keywords_like_pyo3():
    a = AtomicInt(value=3)
    assert a.add(value=2) == 3
    assert a.compare_exchange(current=5, new=6) == (True, 5)
    assert a.update(func=lambda v: v + 1) == 7


def test_int_extrema_and_bitwise():
    a = AtomicInt(5)
    assert a.fetch_max(3) == 5 and a.load() == 5
    assert a.fetch_max(12) == 5 and a.load() == 12
    assert a.fetch_min(7) == 12 and a.load() == 7
    assert a.fetch_and(0b0111) == 7 and a.load() == 0b0111
    assert a.fetch_or(0b1000) == 0b0111 and a.load() == 0b1111
    assert a.fetch_xor(0b0011) == 0b1111 and a.load() == 0b1100


def test_int_div_truncates_toward_zero():
    for x, y, q in [(7, 2, 3), (-7, 2, -3), (7, -2, -3), (-7, -2, 3), (1, 3, 0), (-1, 3, 0)]:
        a = AtomicInt(x)
        assert a.div(y) == x
        assert a.load() == q, (x, y)


@pytest.mark.parametrize("start,divisor", [(10, 0), (0, 0), (MIN, -1)])
def test_int_div_errors_leave_value(start, divisor):
    a = AtomicInt(start)
    with pytest.raises(ZeroDivisionError, match="^division by zero$"):
        a.div(divisor)
    assert a.load() == start
    with pytest.raises(ZeroDivisionError, match="^division by zero$"):
        a //= divisor
    assert a.load() == start
    with pytest.raises(ZeroDivisionError):
        a.__idiv__(divisor)
    assert a.load() == start


def test_int_wraps():
    assert AtomicInt(MAX).add(1) == MAX
    a = AtomicInt(MAX)
    a.inc()
    assert a.load() == MIN
    a = AtomicInt(MAX)
    a.mul(2)
    assert a.load() == -2
    a = AtomicInt(MIN)
    a.dec()
    assert a.load() == MAX


def test_int_update_returns_new_value():
    a = AtomicInt(2)
    assert a.update(lambda current: current + 5) == 7
    assert a.load() == 7
    assert a.update(lambda current: 10 if current < 10 else current) == 10
    with pytest.raises(TypeError):
        a.update(lambda current: 1.5)
    with pytest.raises(OverflowError):
        a.update(lambda current: 2**64)
    assert a.load() == 10


def test_int_inplace():
    a = AtomicInt(10)
    alias = a
    a += 5
    a -= 3
    a *= 4
    a //= 5
    assert a is alias
    assert a.load() == 9
    assert a.__idiv__(2) is None
    assert a.load() == 4
    b = AtomicInt(-7)
    b //= 2  # syncx's div: truncation
    assert b.load() == -3
    with pytest.raises(TypeError):
        a += 1.5
    with pytest.raises(TypeError):
        a += 2**64  # PyO3: an argument that does not convert gives NotImplemented
    with pytest.raises(TypeError):
        a %= 2
    assert a.load() == 4


def test_int_type_and_overflow_errors():
    a = AtomicInt(1)
    with pytest.raises(TypeError):
        a.add(1.0)
    with pytest.raises(TypeError):
        a.store("1")
    with pytest.raises(OverflowError):
        a.store(2**63)
    with pytest.raises(OverflowError):
        AtomicInt(MIN - 1)
    with pytest.raises(TypeError):
        AtomicInt(1.0)
    assert a.load() == 1


def test_int_dunders():
    a = AtomicInt(5)
    assert int(a) == 5
    assert repr(a) == "AtomicInt(5)"
    assert str(a) == "5"
    assert str(AtomicInt(-3)) == "-3"
    assert a.__getstate__() == 5
    a.__setstate__(8)
    assert a.load() == 8
    # like the PyO3 class: no __bool__, __index__ or __eq__ of its own
    assert not hasattr(AtomicInt, "__index__")
    assert AtomicInt(1) != AtomicInt(1)


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_roundtrips_to_facade_types(proto):
    for obj, value in [(AtomicInt(-12), -12), (AtomicBool(True), True), (AtomicFloat(3.14), 3.14)]:
        restored = pickle.loads(pickle.dumps(obj, proto))
        assert type(restored) is type(obj)
        assert restored.load() == value
        c = copy.copy(obj)
        assert type(c) is type(obj) and c is not obj and c.load() == value


def test_threads_inc_returns_each_prior_once(fast_switching):
    atom = AtomicInt()
    got: list[list[int]] = [[] for _ in range(10)]

    def work(i):
        inc = atom.inc
        out = got[i]
        for _ in range(1000):
            out.append(inc())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert atom.load() == 10_000
    assert sorted(v for g in got for v in g) == list(range(10_000))


def test_threads_add(run_threads, fast_switching):
    atom = AtomicInt()

    def add(v):
        for _ in range(1000):
            atom.add(v)

    run_threads(*[lambda i=i: add(i) for i in range(10)])
    assert atom.load() == sum(range(10)) * 1000


# ============================================================ AtomicBool


def test_bool_compare_exchange():
    atom = AtomicBool(True)
    assert atom.compare_exchange(True, False) == (True, True)
    assert atom.load() is False
    assert atom.compare_exchange(True, False) == (False, False)
    assert atom.load() is False


def test_bool_ops():
    atom = AtomicBool(True)
    assert atom.fetch_and(True) is True and atom.load() is True
    assert atom.fetch_and(False) is True and atom.load() is False
    assert atom.fetch_or(True) is False and atom.load() is True
    assert atom.fetch_xor(True) is True and atom.load() is False
    assert atom.flip() is False and atom.load() is True  # the PRIOR value
    assert atom.swap(False) is True and atom.load() is False
    assert atom.store(True) is None and atom.load() is True


def test_bool_update():
    atom = AtomicBool(False)
    assert atom.update(lambda current: not current) is True
    assert atom.load() is True
    assert atom.update(lambda current: current) is True
    with pytest.raises(TypeError):
        atom.update(lambda current: 1)  # PyO3 extracts a bool strictly
    assert atom.load() is True


@pytest.mark.parametrize("bad", [1, 0, None, "x", 1.0])
def test_bool_arguments_must_be_bool(bad):
    atom = AtomicBool(False)
    for call in (atom.store, atom.swap, atom.fetch_and, atom.fetch_or, atom.fetch_xor,
                 atom.__setstate__):
        with pytest.raises(TypeError):
            call(bad)
    with pytest.raises(TypeError):
        atom.compare_exchange(bad, True)
    with pytest.raises(TypeError):
        AtomicBool(bad)
    assert atom.load() is False


def test_bool_dunders():
    atom = AtomicBool(True)
    assert bool(atom) is True and not AtomicBool(False)
    assert int(atom) == 1 and int(AtomicBool()) == 0
    assert (~atom) is False and (~AtomicBool()) is True
    assert repr(atom) == "AtomicBool(true)"  # Rust's formatting of a bool
    assert str(AtomicBool(False)) == "false"
    assert atom.__getstate__() is True
    atom.__setstate__(False)
    assert atom.load() is False


# ============================================================ AtomicFloat


def test_float_ops():
    atom = AtomicFloat()
    assert atom.load() == 0.0
    assert AtomicFloat(3.14).load() == 3.14
    atom = AtomicFloat(1.0)
    assert atom.add(2.5) == 1.0 and atom.load() == 3.5
    assert atom.sub(2.5) == 3.5 and atom.load() == 1.0
    assert atom.swap(2.0) == 1.0 and atom.load() == 2.0
    assert atom.mul(3.0) == 2.0 and atom.load() == 6.0
    assert atom.div(2.0) == 6.0 and atom.load() == 3.0
    assert atom.compare_exchange(3.0, 4.0) == (True, 3.0)
    assert atom.compare_exchange(2.0, 5.0) == (False, 4.0)
    assert atom.add(1) == 4.0  # ints convert


@pytest.mark.parametrize("zero", [0.0, -0.0, 0])
def test_float_div_by_zero_leaves_value(zero):
    atom = AtomicFloat(6.0)
    with pytest.raises(ZeroDivisionError, match="^division by zero$"):
        atom.div(zero)
    assert atom.load() == 6.0


def test_float_extrema_like_syncx():
    atom = AtomicFloat(2.5)
    assert atom.fetch_max(2.0) == 2.5 and atom.load() == 2.5
    assert atom.fetch_max(5.0) == 2.5 and atom.load() == 5.0
    assert atom.fetch_min(3.0) == 5.0 and atom.load() == 3.0
    assert atom.fetch_min(4.0) == 3.0 and atom.load() == 3.0
    # syncx keeps the value only while it is >= (<=) the argument, so a NaN
    # argument is stored and a stored NaN is replaced
    assert atom.fetch_max(math.nan) == 3.0 and math.isnan(atom.load())
    assert math.isnan(atom.fetch_min(1.0)) and atom.load() == 1.0


def test_float_update_and_inplace():
    atom = AtomicFloat(1.5)
    assert atom.update(lambda current: current * 2.0) == 3.0
    assert atom.update(lambda current: 4.0 if current < 4.0 else current) == 4.0
    atom += 2.0
    assert atom.load() == 6.0
    atom -= 2
    assert atom.load() == 4.0
    with pytest.raises(TypeError):
        atom += "x"
    with pytest.raises(TypeError):
        atom *= 2.0  # syncx has only += and -=
    assert atom.load() == 4.0


def test_float_special_values():
    assert math.isnan(AtomicFloat(float("nan")).load())
    assert AtomicFloat(float("inf")).load() == math.inf
    assert AtomicFloat(float("-inf")).load() == -math.inf


@pytest.mark.parametrize(
    "value,text",
    [
        (3.14, "3.14"), (1.0, "1"), (-2.0, "-2"), (0.0, "0"), (-0.0, "-0"), (0.1, "0.1"),
        (1e16, "10000000000000000"), (1.5e-7, "0.00000015"), (123456.789, "123456.789"),
        (1e21, "1000000000000000000000"), (5e-324, "0." + "0" * 323 + "5"),
        (math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf"),
    ],
)
def test_float_repr_str_like_rust(value, text):
    atom = AtomicFloat(value)
    assert str(atom) == text
    assert repr(atom) == f"AtomicFloat({text})"
    assert float(atom) == value or math.isnan(value)


def test_float_thread_safety(run_threads, fast_switching):
    atom = AtomicFloat(0.0)

    def worker():
        for _ in range(5000):
            atom.add(1.0)
            atom.sub(0.5)

    run_threads(*[worker] * 4)
    assert atom.load() == 4 * 5000 * 0.5


def test_float_compare_exchange_race(run_threads):
    atom = AtomicFloat(0.0)
    results = run_threads(*[lambda: atom.compare_exchange(0.0, 1.0)[0]] * 10)
    assert results.count(True) == 1
    assert atom.load() == 1.0


# ============================================================ AtomicReference


def test_ref_get_set_exchange():
    r = AtomicReference()
    assert r.get() is None
    x = object()
    r2 = AtomicReference(obj=x)
    assert r2.get() is x
    assert r2.set(None) is None
    assert r2.get() is None
    assert r2.exchange(x) is None
    assert r2.exchange(obj=1) is x


def test_ref_compare_exchange_identity_and_equality():
    x = [1, 2]
    r = AtomicReference(x)
    assert r.compare_exchange(x, "a") is True  # identity
    assert r.get() == "a"
    y = [3]
    r.set(y)
    assert r.compare_exchange([3], "b") is True  # equality
    assert r.get() == "b"
    assert r.compare_exchange("c", "d") is False
    assert r.get() == "b"
    r.set(None)
    assert r.compare_exchange(None, 0) is True


def test_ref_compare_exchange_eq_errors_propagate():
    class Boom:
        def __eq__(self, other):
            raise RuntimeError("eq failed")

    b = Boom()
    r = AtomicReference(b)
    with pytest.raises(RuntimeError):
        r.compare_exchange(Boom(), 1)
    assert r.get() is b
    assert r.compare_exchange(b, 1) is True  # identity needs no __eq__


def test_ref_eq_may_use_the_reference_without_deadlock():
    class Sneaky:
        """__eq__ reads and replaces the reference it is compared in."""

        def __init__(self, ref, replace_with=None):
            self.ref = ref
            self.replace_with = replace_with
            self.calls = 0

        def __eq__(self, other):
            self.calls += 1
            assert self.ref.get() is self  # reading inside __eq__ must not deadlock
            if self.replace_with is not None:
                self.ref.set(self.replace_with)  # a concurrent change: the CAS must fail
                self.replace_with = None
            return True

        __hash__ = object.__hash__

    r = AtomicReference()
    s = Sneaky(r)
    r.set(s)
    assert r.compare_exchange("anything", "new") is True
    assert s.calls == 1 and r.get() == "new"

    r2 = AtomicReference()
    marker = ["other"]
    s2 = Sneaky(r2, replace_with=marker)
    r2.set(s2)
    # __eq__ says equal but swaps the object: the identity CAS fails and the
    # comparison is retried against the new object, which is not equal.
    assert r2.compare_exchange("anything", "new") is False
    assert r2.get() is marker


def test_ref_threads(run_threads, fast_switching):
    r = AtomicReference(0)

    def incr():
        for _ in range(2000):
            while True:
                cur = r.get()
                if r.compare_exchange(cur, cur + 1):
                    break

    run_threads(*[incr] * 4)
    assert r.get() == 8000
