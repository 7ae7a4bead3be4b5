"""LocalWrapper (interlock.collections / interlock.compat.ft_utils.local):
a transparent proxy, immutable, safe to share between threads."""

from __future__ import annotations

import copy
import gc
import operator
import pickle
import threading
import weakref

import pytest

from interlock.collections import LocalWrapper
from interlock.compat.ft_utils import local as ft_local


def test_facade_is_the_same_type():
    assert ft_local.LocalWrapper is LocalWrapper
    assert sorted(ft_local.__all__) == sorted(
        ["LocalWrapper", "BatchExecutor", "get_local_wrapper", "release_local_wrapper", "__version__"])


def test_constructor_arguments():
    with pytest.raises(TypeError):
        LocalWrapper()
    with pytest.raises(TypeError):
        LocalWrapper(1, 2)
    with pytest.raises(TypeError):
        LocalWrapper(wrapped=1)


def test_wrapped_is_read_only():
    obj = [1]
    w = LocalWrapper(obj)
    assert w.wrapped is obj
    with pytest.raises(AttributeError):
        del w.wrapped


def test_attributes_forward():
    class Thing:
        x = 1

        def double(self, v):
            return 2 * v

    t = Thing()
    w = LocalWrapper(t)
    assert w.x == 1
    assert w.double(4) == 8
    w.y = 5  # set on the target
    assert t.y == 5 and w.y == 5
    del w.y
    assert not hasattr(t, "y")
    with pytest.raises(AttributeError):
        w.missing


def test_own_attributes_come_first():
    w = LocalWrapper([1])
    assert type(w) is LocalWrapper
    assert w.__class__ is LocalWrapper
    assert w.append.__self__ is w.wrapped


def test_sequence_and_mapping_protocols():
    lst = [1, 2, 3]
    w = LocalWrapper(lst)
    assert len(w) == 3 and w[1] == 2 and w[-1] == 3 and 2 in w and 9 not in w
    w[1] = 20
    assert lst == [1, 20, 3]
    del w[0]
    assert lst == [20, 3]
    assert list(w) == [20, 3]
    t = (1, 2, 3, 4)
    wt = LocalWrapper(t)
    assert wt[:] is t and wt[1:3] == (2, 3)
    d = LocalWrapper({})
    d["a"] = 1
    assert d["a"] == 1 and "a" in d and dict(d.items()) == {"a": 1}
    del d["a"]
    assert "a" not in d
    with pytest.raises(KeyError):
        d["a"]
    with pytest.raises(TypeError):
        len(LocalWrapper(5))


def test_comparison_and_hash():
    w = LocalWrapper([1, 2])
    assert w == [1, 2] and [1, 2] == w and w == LocalWrapper([1, 2])
    assert w != [3] and w < [1, 3] and LocalWrapper(3) < LocalWrapper(4)
    assert hash(LocalWrapper("abc")) == hash("abc")
    assert hash(LocalWrapper(LocalWrapper("abc"))) == hash("abc")
    with pytest.raises(TypeError):
        hash(w)  # lists are unhashable, so is their wrapper


def test_str_repr_bool_format():
    w = LocalWrapper([1])
    assert str(w) == "[1]"
    assert repr(w) == "<LocalWrapper: [1]>"
    assert bool(w) and not bool(LocalWrapper([])) and not bool(LocalWrapper(0))


@pytest.mark.parametrize(
    "op",
    [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
     operator.mod, operator.pow, operator.lshift, operator.rshift, operator.and_,
     operator.or_, operator.xor, divmod],
)
def test_binary_operators_both_sides(op):
    a, b = 12, 5
    assert op(LocalWrapper(a), b) == op(a, b)
    assert op(a, LocalWrapper(b)) == op(a, b)
    assert op(LocalWrapper(a), LocalWrapper(b)) == op(a, b)


def test_pow_with_modulus_and_unary():
    assert pow(LocalWrapper(2), 10, 7) == pow(2, 10, 7)
    assert pow(2, LocalWrapper(10), LocalWrapper(7)) == pow(2, 10, 7)
    w = LocalWrapper(-7)
    assert -w == 7 and +w == -7 and abs(w) == 7 and ~w == 6
    assert int(LocalWrapper(3.9)) == 3 and float(LocalWrapper(2)) == 2.0
    assert operator.index(LocalWrapper(4)) == 4
    assert [10, 11, 12][LocalWrapper(1)] == 11


def test_matmul_forwards():
    class M:
        def __matmul__(self, other):
            return ("matmul", other)

        def __rmatmul__(self, other):
            return ("rmatmul", other)

    assert LocalWrapper(M()) @ 3 == ("matmul", 3)
    assert 3 @ LocalWrapper(M()) == ("rmatmul", 3)


def test_unsupported_operations_raise_type_error():
    w = LocalWrapper(object())
    for fn in (lambda: w + 1, lambda: w - 1, lambda: -w, lambda: abs(w), lambda: w @ 1,
               lambda: len(w), lambda: w[0], lambda: iter(w), lambda: w()):
        with pytest.raises(TypeError):
            fn()


def test_in_place_on_immutable_rebinds_the_name_only():
    w = LocalWrapper(10)
    other = w
    w += 5
    assert isinstance(w, LocalWrapper) and w == 15 and w.wrapped == 15
    assert other.wrapped == 10  # a wrapper never changes its target
    w -= 1
    w *= 2
    w //= 4
    w **= 2
    w %= 10
    assert w == ((((15 - 1) * 2) // 4) ** 2) % 10
    v = LocalWrapper(7)
    v /= 2
    assert v == 3.5
    b = LocalWrapper(6)
    b &= 3
    b |= 8
    b ^= 1
    b <<= 2
    b >>= 1
    assert b == ((((6 & 3) | 8) ^ 1) << 2) >> 1


def test_in_place_on_mutable_keeps_the_wrapper():
    lst = [1]
    w = LocalWrapper(lst)
    same = w
    w += [2]
    assert w is same and w.wrapped is lst and lst == [1, 2]
    w += LocalWrapper([3])  # the right operand is unwrapped
    assert w is same and lst == [1, 2, 3]
    w *= 2
    assert w is same and lst == [1, 2, 3, 1, 2, 3]


def test_call_iter_next_context_manager():
    assert LocalWrapper(lambda x, y=0: x + y)(1, y=2) == 3
    it = LocalWrapper(iter([1, 2]))
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(TypeError):
        next(LocalWrapper([1]))  # a list is iterable, not an iterator
    lock = threading.Lock()
    with LocalWrapper(lock) as entered:
        assert entered is True and lock.locked()
    assert not lock.locked()
    with pytest.raises(AttributeError):
        with LocalWrapper(5):
            pass


def test_next_keeps_the_stop_iteration_value():
    def gen():
        yield 1
        return "done"

    it = LocalWrapper(gen())
    assert next(it) == 1
    with pytest.raises(StopIteration) as info:
        next(it)
    assert info.value.value == "done"


def test_iteration_error_propagates():
    class Bad:
        def __iter__(self):
            return self

        def __next__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        list(LocalWrapper(Bad()))


def test_buffer_protocol():
    data = bytearray(b"example")
    w = LocalWrapper(data)
    with memoryview(w) as m:
        m[0] = ord("E")
        assert m.tobytes() == b"Example"
    assert data == b"Example"
    with pytest.raises(TypeError):
        memoryview(LocalWrapper(5))


def test_weakref_pickle_copy():
    w = LocalWrapper([1, 2])
    r = weakref.ref(w)
    assert r() is w
    back = pickle.loads(pickle.dumps(w))
    assert type(back) is LocalWrapper and back.wrapped == [1, 2]
    c = copy.copy(w)
    assert type(c) is LocalWrapper and c.wrapped is w.wrapped
    del w
    gc.collect()
    assert r() is None


def test_cycles_are_collected():
    box = []
    w = LocalWrapper(box)
    box.append(w)
    r = weakref.ref(w)
    del w, box
    gc.collect()
    assert r() is None


def test_shared_between_threads(run_threads, fast_switching):
    shared = {"n": 0}
    w = LocalWrapper(shared)
    counter = LocalWrapper(0)

    def work():
        local = counter
        for i in range(2000):
            local += 1  # rebinds the thread's own name only
            assert w["n"] >= 0
            w.get("n")
            _ = w == shared
        return local.wrapped

    results = run_threads(*[work] * 4)
    assert results == [2000] * 4
    assert counter.wrapped == 0
