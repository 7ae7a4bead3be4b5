"""interlock.compat.ft_utils.concurrency: ft_utils's AtomicInt64,
AtomicReference and AtomicFlag, name for name."""

from __future__ import annotations

import gc
import operator
import types
import weakref

import pytest

from interlock.compat.ft_utils import concurrency
from interlock.compat.ft_utils.concurrency import AtomicFlag, AtomicInt64, AtomicReference

MAX = 2**63 - 1
MIN = -(2**63)


def test_module():
    assert set(concurrency.__all__) == {"AtomicInt64", "AtomicReference", "AtomicFlag",
                                        "ConcurrentQueue", "StdConcurrentQueue",
                                        "ConcurrentGatheringIterator", "ShutDown", "Empty",
                                        "ConcurrentDict", "ConcurrentDeque", "ProcessSemaphore",
                                        "Full"}
    for name in ("AtomicInt64", "AtomicReference", "AtomicFlag"):  # the façade's own classes
        cls = getattr(concurrency, name)
        assert cls.__module__ == "interlock.compat.ft_utils.concurrency"
        assert cls.__qualname__ == name


def test_hot_methods_are_native():
    for cls, names in [(AtomicInt64, ["get", "set", "incr", "decr", "add"]),
                       (AtomicReference, ["get", "set", "exchange", "compare_exchange"]),
                       (AtomicFlag, ["set"])]:
        for name in names:
            assert isinstance(cls.__dict__[name], types.MethodDescriptorType), name


# ============================================================ AtomicInt64


def test_int64_smoke():
    ai = AtomicInt64()
    assert ai.get() == 0
    assert ai.set(10) is None
    assert ai.get() == 10
    assert AtomicInt64(-4).get() == -4
    assert AtomicInt64(value=7).get() == 7


def test_int64_incr_decr_add_return_new_value():
    ai = AtomicInt64(10)
    assert ai.incr() == 11
    assert ai.decr() == 10
    assert ai.add(5) == 15  # the documentation's example
    assert ai.get() == 15
    assert AtomicInt64(MAX).incr() == MIN  # wraps


def test_int64_set_accepts_int_or_atomic():
    ai = AtomicInt64()
    ai.set(AtomicInt64(42))
    assert ai.get() == 42
    for bad in (1.5, "1", None, True):
        with pytest.raises(TypeError):
            ai.set(bad)
    with pytest.raises(OverflowError):
        ai.set(2**63)
    assert ai.get() == 42


@pytest.mark.parametrize(
    "op,a,b,expected",
    [
        (operator.add, 10, 10, 20), (operator.sub, 10, 5, 5), (operator.mul, 10, 5, 50),
        (operator.floordiv, 10, 2, 5), (operator.floordiv, -7, 2, -4),
        (operator.floordiv, 7, -2, -4), (operator.or_, 10, 5, 15), (operator.xor, 10, 5, 15),
        (operator.and_, 10, 5, 0), (operator.add, MAX, 1, MAX + 1),  # exact, no wrap
        (operator.mul, MAX, MAX, MAX * MAX), (operator.floordiv, MIN, -1, 2**63),
    ],
)
def test_int64_binary_ops_return_plain_ints(op, a, b, expected):
    r = op(AtomicInt64(a), b)
    assert type(r) is int and r == expected
    assert op(AtomicInt64(a), AtomicInt64(b)) == expected
    assert op(a, AtomicInt64(b)) == expected  # reflected
    assert op(AtomicInt64(a), 2**70) == op(a, 2**70)  # any exact int


def test_int64_binary_ops_reject_other_types():
    ai = AtomicInt64(3)
    for bad in (1.5, "x", None, True):
        with pytest.raises(TypeError, match="unsupported operand type"):
            ai + bad
        with pytest.raises(TypeError):
            bad * ai


def test_int64_division_by_zero():
    with pytest.raises(ZeroDivisionError, match="^division by zero$"):
        AtomicInt64(10) // 0
    with pytest.raises(ZeroDivisionError):
        10 // AtomicInt64(0)
    ai = AtomicInt64(10)
    with pytest.raises(ZeroDivisionError, match="^division by zero$"):
        ai //= 0
    assert ai.get() == 10


def test_int64_unary_ops():
    ai = AtomicInt64(10)
    assert ~ai == -11
    assert -ai == -10
    assert +ai == 10 and type(+ai) is int
    assert abs(AtomicInt64(-3)) == 3
    assert -AtomicInt64(MIN) == 2**63
    assert abs(AtomicInt64(MIN)) == 2**63


def test_int64_inplace_ops_are_atomic_and_keep_the_object():
    ai = AtomicInt64(10)
    alias = ai
    ai += 10
    assert ai.get() == 20
    ai -= 5
    assert ai.get() == 15
    ai *= 2
    assert ai.get() == 30
    ai //= 4
    assert ai.get() == 7
    ai |= 8
    assert ai == 15
    ai ^= 5
    assert ai == 10
    ai &= 6
    assert ai == 2
    ai += AtomicInt64(3)
    assert ai is alias and ai.get() == 5
    m = AtomicInt64(-7)
    m //= 2
    assert m.get() == -4  # floor division, as documented
    w = AtomicInt64(MAX)
    w += 1
    assert w.get() == MIN  # in place it wraps at 64 bits
    with pytest.raises(TypeError):
        ai += 1.5
    with pytest.raises(OverflowError):
        ai += 2**64
    assert ai.get() == 5


def test_int64_comparisons():
    ai = AtomicInt64()
    assert 1 > ai
    assert -1 < ai
    assert 0 == ai and ai == 0 and not ai != 0
    assert AtomicInt64(2) > 1
    assert AtomicInt64(2) >= AtomicInt64(2) and AtomicInt64(1) < AtomicInt64(2)
    assert AtomicInt64(2) <= 2.5
    assert ai != "x"
    with pytest.raises(TypeError):
        ai < "x"


def test_int64_bool_int_format_hash():
    assert not AtomicInt64(0)
    assert AtomicInt64(10)
    assert int(AtomicInt64(-8)) == -8
    ai = AtomicInt64(10)
    assert f"{ai:x}" == "a"
    assert f"{ai:b}" == "1010"
    assert f"{ai:o}" == "12"
    assert f"{ai:d}" == "10"
    assert f"{ai:>5}" == "   10"
    with pytest.raises(TypeError):
        hash(ai)  # comparisons without __hash__: unhashable, as in ft_utils
    with pytest.raises(TypeError):
        operator.index(ai)  # ft_utils's AtomicInt64 has no __index__


def test_int64_weakref_and_subclass():
    ai = AtomicInt64(1)
    w = weakref.ref(ai)
    assert w() is ai

    class Sub(AtomicInt64):
        pass

    s = Sub(4)
    s += 1
    assert s.get() == 5 and s + 1 == 6


def test_int64_threads(run_threads, fast_switching):
    ai = AtomicInt64(0)

    def worker():
        return [ai.incr() for _ in range(1000)]

    results = run_threads(*[worker] * 10)
    assert ai.get() == 10_000
    assert sorted(v for r in results for v in r) == list(range(1, 10_001))


def test_int64_threads_set(run_threads):
    ai = AtomicInt64(0)
    run_threads(*[lambda: ai.set(10)] * 10)
    assert ai.get() == 10


def test_int64_as_queue_flags():
    # the way ft_utils's ConcurrentQueue uses it
    flags = AtomicInt64(0)
    flags |= 1
    assert flags & 1
    assert not flags & 2
    flags |= 4
    assert flags & 4 and int(flags) == 5


# ============================================================ AtomicReference


def test_ref_set_get():
    ref = AtomicReference(None)
    ref.set("value")
    assert ref.get() == "value"
    assert AtomicReference().get() is None


def test_ref_exchange():
    ref = AtomicReference(None)
    ref.set("old_value")
    new_value = "new_value"
    assert ref.exchange(new_value) == "old_value"
    assert ref.get() is new_value


def test_ref_compare_exchange_by_identity():
    ov, mv, nv = "old_value", "middle_value", "new_value"
    ref = AtomicReference(ov)
    ref.set(mv)
    assert ref.compare_exchange(ov, nv) is False
    assert ref.get() is mv
    assert ref.compare_exchange(mv, nv) is True
    assert ref.get() is nv
    a = "".join(["x", "y"])
    b = "".join(["x", "y"])
    assert a == b and a is not b
    ref.set(a)
    assert ref.compare_exchange(b, 1) is False  # equal is not enough


def test_ref_arg_count():
    x = AtomicReference(None)
    assert x.get() is None
    y = AtomicReference(x)
    assert y.get() is x
    with pytest.raises(TypeError, match=r"AtomicReference\(\) takes zero or one argument$"):
        AtomicReference(x, y)
    with pytest.raises(TypeError, match=r"AtomicReference\(\) takes zero or one argument$"):
        AtomicReference(x, value=y)
    assert AtomicReference(value=3).get() == 3
    assert AtomicReference(obj=4).get() == 4
    with pytest.raises(TypeError):
        AtomicReference(other=1)


def test_ref_generic_and_final():
    alias = AtomicReference[int]
    assert isinstance(alias, types.GenericAlias) and alias.__origin__ is AtomicReference
    with pytest.raises(TypeError):
        type("Sub", (AtomicReference,), {})


def test_ref_concurrent_set_exchange(run_threads):
    ref = AtomicReference(None)
    run_threads(*[lambda i=i: ref.set(i) for i in range(10)])
    assert ref.get() in range(10)
    ref.set(0)
    run_threads(*[lambda i=i: ref.exchange(i) for i in range(1, 11)])
    assert ref.get() in range(1, 11)


def test_ref_gc_acyclic():
    class Foo:
        pass

    for exchange in True, False:
        ref = AtomicReference(None)
        obj = Foo()
        weak_obj = weakref.ref(obj)
        ref.set(obj)
        del obj
        if exchange:
            ref.exchange(None)
        else:
            ref.set(None)
        assert weak_obj() is None


def test_ref_gc_cas():
    ov, mv, nv = "old_value", "middle_value", "new_value"
    ref = AtomicReference(None)
    ref.set(ov)

    class Foo:
        pass

    obj = Foo()
    weak_obj = weakref.ref(obj)
    ref.compare_exchange(ov, obj)
    ref.compare_exchange(obj, mv)
    ref.compare_exchange(mv, obj)
    ref.compare_exchange(obj, nv)
    ref.compare_exchange(nv, obj)
    del obj
    ref.exchange(None)
    assert weak_obj() is None


def test_ref_gc_cyclic():
    for delete_ref in True, False:
        ref = AtomicReference(None)
        obj1 = AtomicReference(None)
        obj2 = AtomicReference(None)
        obj1.set(obj2)
        obj2.set(obj1)
        ref.set(obj1)
        w1, w2 = weakref.ref(obj1), weakref.ref(obj2)
        del obj1, obj2
        gc.collect()
        assert ref.get() is not None
        if delete_ref:
            del ref
        else:
            ref.set(None)
        gc.collect()
        assert w1() is None and w2() is None
        assert gc.garbage == []


# ============================================================ AtomicFlag


def test_flag():
    flag = AtomicFlag(True)
    assert bool(flag) is True
    assert flag.set(False) is None
    assert bool(flag) is False
    flag.set(value=[1])
    assert flag
    assert not AtomicFlag(0)
    with pytest.raises(TypeError):
        AtomicFlag()  # the value is required


def test_flag_between_threads(run_threads):
    flag = AtomicFlag(False)
    seen = []

    def setter():
        flag.set(True)

    run_threads(setter)
    seen.append(bool(flag))
    assert seen == [True]


def test_concurrent_dict_dictionary_and_lists():
    d = concurrency.ConcurrentDict(5, dictionary={"a": 1, "b": 2})
    assert d.scaling == 5
    assert sorted(d.keys()) == ["a", "b"] and isinstance(d.keys(), list)
    assert sorted(d.values()) == [1, 2] and isinstance(d.values(), list)
    assert sorted(d.items()) == [("a", 1), ("b", 2)]
    with pytest.raises(TypeError):
        concurrency.ConcurrentDict(dictionary=[("a", 1)])
    import pickle
    e = pickle.loads(pickle.dumps(d))
    assert type(e) is concurrency.ConcurrentDict and e.as_dict() == {"a": 1, "b": 2}


def test_concurrent_deque_threads():
    import threading
    d = concurrency.ConcurrentDeque()
    def worker():
        for i in range(2000):
            d.append(i)
            d.popleft()
            d.appendleft(i)
    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(d) == 8000
    assert d.contains(1999) and not d.contains(-1)


def test_interval_lock_and_rwlock():
    from interlock.compat.ft_utils import synchronization as s
    lock = s.IntervalLock(0.0)
    with lock:
        lock.poll()
        lock.cede()
        assert lock.locked()
        with pytest.raises(RuntimeError):
            lock.lock()
    assert not lock.locked()
    rw = s.RWLock()
    with s.RWReadContext(rw):
        assert rw.readers() == 1
    with s.RWWriteContext(rw):
        assert rw.writer_locked() and rw.writers_waiting() == 0
    with pytest.raises(RuntimeError):
        rw.unlock_read()
    assert rw.readers() == 0


def test_batch_executor_order():
    from interlock.compat.ft_utils.local import BatchExecutor
    it = iter(range(100))
    ex = BatchExecutor(lambda: next(it), 7)
    assert [ex.load() for _ in range(20)] == list(range(20))
    with pytest.raises(ValueError):
        BatchExecutor(lambda: 0, 0)
