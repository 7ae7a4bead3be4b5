"""interlock.collections.ConcurrentDict and ConcurrentSet: the mapping / set
contracts, hostile keys, mutation during iteration, atomic compound
operations, pickling, garbage collection, and the syncx / ft_utils façades."""

from __future__ import annotations

import copy
import gc
import pickle
import random
import sys
import threading
import weakref
from collections.abc import MutableMapping, MutableSet

import pytest

from interlock.collections import ConcurrentDict, ConcurrentSet


# ------------------------------------------------------------------ helpers
class Key:
    """A key with Python-level __hash__/__eq__ (never compared under a lock)."""

    def __init__(self, v, h=None):
        self.v, self.h = v, (hash(v) if h is None else h)

    def __hash__(self):
        return self.h

    def __eq__(self, other):
        return isinstance(other, Key) and other.v == self.v

    def __repr__(self):
        return f"Key({self.v!r})"


class BadHash:
    def __hash__(self):
        raise ZeroDivisionError("no hash")


class BadEq(Key):
    armed = False
    __hash__ = Key.__hash__

    def __eq__(self, other):
        if BadEq.armed:
            raise ValueError("no eq")
        return super().__eq__(other)


# ------------------------------------------------------------------ mapping
def test_is_a_mutable_mapping_and_generic():
    d = ConcurrentDict()
    assert isinstance(d, MutableMapping)
    assert ConcurrentDict[str, int].__origin__ is ConcurrentDict
    assert ConcurrentSet[int].__origin__ is ConcurrentSet
    with pytest.raises(TypeError):
        hash(d)


def test_item_access_and_methods():
    d = ConcurrentDict({"a": 1}, b=2)
    assert d["a"] == 1 and d["b"] == 2 and len(d) == 2 and d
    d["a"] = 10
    assert d["a"] == 10
    del d["a"]
    assert "a" not in d and "b" in d
    with pytest.raises(KeyError) as e:
        d["zz"]
    assert e.value.args == ("zz",)
    with pytest.raises(KeyError) as e:
        d[(1, 2)]
    assert e.value.args == ((1, 2),)
    with pytest.raises(KeyError):
        del d["zz"]
    assert d.get("b") == 2 and d.get("x") is None and d.get("x", 5) == 5
    assert d.setdefault("c", 3) == 3 and d.setdefault("c", 4) == 3
    assert d.setdefault("n") is None and d["n"] is None
    assert d.pop("n") is None and d.pop("n", "dflt") == "dflt"
    with pytest.raises(KeyError):
        d.pop("n")
    assert sorted(d.keys()) == ["b", "c"]
    assert sorted(d.values()) == [2, 3]
    assert sorted(d.items()) == [("b", 2), ("c", 3)]
    assert ("b", 2) in d.items() and 3 in d.values() and "c" in d.keys()
    assert d == {"b": 2, "c": 3} and d != {"b": 2}
    assert d == ConcurrentDict(b=2, c=3) and {"b": 2, "c": 3} == d
    assert (d == 5) is False
    k, v = d.popitem()
    assert (k, v) in [("b", 2), ("c", 3)] and len(d) == 1
    d.popitem()
    with pytest.raises(KeyError):
        d.popitem()
    assert not d
    d.update([(1, 1), (2, 2)], x=3)
    d.update({4: 4})
    d.update(ConcurrentDict({5: 5}))
    assert d.as_dict() == {1: 1, 2: 2, "x": 3, 4: 4, 5: 5}
    assert type(d.as_dict()) is dict
    c = d.copy()
    assert type(c) is ConcurrentDict and c == d and c is not d
    d.clear()
    assert len(d) == 0 and len(c) == 5
    assert ConcurrentDict.fromkeys("ab", 0) == {"a": 0, "b": 0}
    assert (ConcurrentDict(a=1) | {"b": 2}) == {"a": 1, "b": 2}
    assert ({"b": 2} | ConcurrentDict(a=1)) == {"a": 1, "b": 2}
    e2 = ConcurrentDict(a=1)
    e2 |= {"c": 3}
    assert e2 == {"a": 1, "c": 3}


def test_repr_and_recursion():
    d = ConcurrentDict(a=1)
    assert repr(d) == "ConcurrentDict({'a': 1})"
    d["self"] = d
    assert "..." in repr(d)
    d.clear()


def test_unhashable_and_bad_hash_keys():
    d = ConcurrentDict()
    with pytest.raises(TypeError):
        d[[1]] = 1
    with pytest.raises(TypeError):
        [1] in d
    with pytest.raises(ZeroDivisionError):
        d[BadHash()] = 1
    with pytest.raises(ZeroDivisionError):
        d.get(BadHash())
    assert len(d) == 0


def test_scaling():
    assert ConcurrentDict().scaling == 17
    assert ConcurrentDict(scaling=4).scaling == 4
    assert ConcurrentSet(scaling=2).scaling == 2
    with pytest.raises(ValueError):
        ConcurrentDict(scaling=0)
    with pytest.raises(TypeError):
        ConcurrentDict(scaling="x")
    with pytest.raises(OverflowError):
        ConcurrentDict(scaling=2**100)


def test_matches_dict_under_random_operations():
    rng = random.Random(3)
    d, ref = ConcurrentDict(scaling=3), {}
    keys = list(range(300)) + [f"s{i}" for i in range(300)] + [Key(i) for i in range(50)]
    for _ in range(20000):
        k = rng.choice(keys)
        op = rng.random()
        if op < 0.45:
            d[k] = ref[k] = rng.random()
        elif op < 0.7:
            assert d.pop(k, None) == ref.pop(k, None)
        else:
            assert d.get(k) == ref.get(k)
            assert (k in d) == (k in ref)
        assert len(d) == len(ref)
    assert d.as_dict() == ref
    assert sorted(map(repr, d)) == sorted(map(repr, ref))


def test_equal_but_distinct_keys_share_an_entry():
    d = ConcurrentDict()
    big = 10**30
    d[big] = "a"
    assert d[int(str(big))] == "a"  # equal, another object: compared outside any lock
    d[1] = "int"
    d[1.0] = "float"  # 1 == 1.0: the same entry, the first key is kept (as dict)
    assert len(d) == 2 and d[1] == "float" and [k for k in d if k == 1][0].__class__ is int
    k1, k2 = Key("x"), Key("x")
    d[k1] = 1
    d[k2] = 2
    assert len(d) == 3 and d[k1] == 2
    assert d.pop(Key("x")) == 2 and k1 not in d
    s = "".join(["ab", "cd"])
    d["abcd"] = 5
    assert d[s] == 5  # equal str, distinct object: compared under the lock by content


# ------------------------------------------------------------------ hostile keys
def test_raising_eq_propagates_and_changes_nothing():
    d = ConcurrentDict(scaling=1)
    a = BadEq("k", h=7)
    d[a] = 1
    b = BadEq("k", h=7)
    BadEq.armed = True
    try:
        for op in (lambda: d.__setitem__(b, 2), lambda: d[b], lambda: b in d,
                   lambda: d.pop(b), lambda: d.setdefault(b, 3), lambda: d.__delitem__(b),
                   lambda: d.update_item(b, lambda v: v + 1)):
            with pytest.raises(ValueError, match="no eq"):
                op()
    finally:
        BadEq.armed = False
    assert d.as_dict() == {a: 1} and d[b] == 1


class Reentrant(Key):
    """__eq__ reads and writes the same dict (the same shard: scaling=1)."""

    target = None
    __hash__ = Key.__hash__

    def __eq__(self, other):
        d = Reentrant.target
        d["side"] = d.get("side", 0) + 1
        "side" in d
        return super().__eq__(other)


def test_reentrant_eq_does_not_deadlock():
    d = ConcurrentDict(scaling=1)
    Reentrant.target = d
    a, b = Reentrant("k", h=1), Reentrant("k", h=1)
    d[a] = 1
    d[b] = 2  # compares a with b outside the lock; __eq__ mutates d meanwhile
    assert d[a] == 2 and d["side"] >= 1
    assert d.pop(b) == 2 and a not in d
    Reentrant.target = None


def test_slow_eq_holds_no_lock():
    # While one thread is inside a key's __eq__, another thread uses the same
    # shard freely.
    d = ConcurrentDict(scaling=1)
    entered, release = threading.Event(), threading.Event()

    class Slow(Key):
        __hash__ = Key.__hash__

        def __eq__(self, other):
            entered.set()
            assert release.wait(10)
            return super().__eq__(other)

    a = Slow("k", h=10**9)
    d[a] = 1
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("v", d[Slow("k", h=10**9)]))
    t.start()
    assert entered.wait(10)
    for i in range(100):  # same shard, while the comparison is in progress
        d[i] = i
        assert d[i] == i
    release.set()
    t.join()
    assert result["v"] == 1


def test_value_finaliser_may_use_the_dict():
    d = ConcurrentDict(scaling=1)
    seen = []

    class Fin:
        def __del__(self):
            seen.append(d.get("x"))
            d["from_del"] = True

    d["x"] = Fin()
    d["x"] = 2  # the old value's __del__ runs after the shard lock is dropped
    gc.collect()
    assert seen == [2] and d["from_del"] is True
    d["y"] = Fin()
    del d["y"]
    d["z"] = Fin()
    d.clear()
    assert len(seen) == 3


class Colliding:
    """Every instance has hash 1; __eq__ calls are counted (issue 15)."""

    calls = 0

    def __init__(self, v):
        self.v = v

    def __hash__(self):
        return 1

    def __eq__(self, other):
        Colliding.calls += 1
        return isinstance(other, Colliding) and other.v == self.v


def _count_eq(fn):
    Colliding.calls = 0
    fn()
    return Colliding.calls


@pytest.mark.parametrize("kind", ["dict", "set"])
def test_colliding_keys_cost_what_dict_costs(kind):
    # Complexity by operation counts: n inserts of keys sharing one hash make
    # at most n(n-1)/2 __eq__ calls (dict's count), a lookup at most n.
    n = 400
    keys = [Colliding(i) for i in range(n)]
    twins = [Colliding(i) for i in range(n)]  # equal to keys, other objects
    if kind == "dict":
        m = ConcurrentDict()

        def fill():
            for k in keys:
                m[k] = k.v
    else:
        m = ConcurrentSet()

        def fill():
            for k in keys:
                m.add(k)

    ref = {} if kind == "dict" else set()
    ref_fill = (lambda: [ref.__setitem__(k, k.v) for k in keys]) if kind == "dict" else (
        lambda: [ref.add(k) for k in keys])
    dict_calls = _count_eq(ref_fill)
    calls = _count_eq(fill)
    assert calls <= n * (n - 1) // 2
    assert calls <= dict_calls + n
    assert len(m) == n
    assert _count_eq(lambda: Colliding(-1) in m) <= n
    assert _count_eq(lambda: twins[-1] in m) <= n
    assert _count_eq(lambda: twins[0] in m) <= 1
    if kind == "dict":
        assert _count_eq(lambda: m[twins[n // 2]]) <= n // 2 + 1
        assert m[twins[n // 2]] == n // 2
        # replacing through an equal key keeps the stored key, as dict does
        assert _count_eq(lambda: m.__setitem__(twins[7], "x")) <= 8
        assert next(k for k in m if k.v == 7) is keys[7]
        assert _count_eq(lambda: m.pop(twins[-1])) <= n
    else:
        assert _count_eq(lambda: m.discard(twins[-1])) <= n
    assert len(m) == n - 1


def test_colliding_keys_with_concurrent_mutation(run_threads):
    # Other threads insert and delete keys of the same hash while __eq__ runs
    # unlocked: every result is still the one dict would give for the keys
    # this thread owns.
    n = 150
    d = ConcurrentDict()
    mine = [Colliding(i) for i in range(n)]
    twins = [Colliding(i) for i in range(n)]
    stop = threading.Event()

    def noise(seed):
        rng = random.Random(seed)
        pool = [Colliding(10_000 * seed + i) for i in range(30)]
        while not stop.is_set():
            k = rng.choice(pool)
            if d.pop(k, None) is None:
                d[k] = 0

    def owner():
        try:
            for i, k in enumerate(mine):
                assert d.setdefault(k, i) == i
            for i, t in enumerate(twins):
                assert d[t] == i
                if i % 3 == 0:
                    assert d.pop(t) == i
                    assert t not in d
                else:
                    d[t] = -i
        finally:
            stop.set()

    run_threads(owner, lambda: noise(1), lambda: noise(2))
    for i, k in enumerate(mine):
        if i % 3 == 0:
            assert k not in d
        else:
            assert d[k] == -i
    stored = [k for k in d if k.v < n]
    assert sorted(k.v for k in stored) == [i for i in range(n) if i % 3]
    assert all(k is mine[k.v] for k in stored)


def test_int_and_str_hashes_match_dict():
    # exact str and small int hashes are taken without a call: they must be
    # the interpreter's (-1 hashes as -2; bool and float keys equal to ints
    # find the same entry).
    keys = [0, 1, -1, -2, 2**30 - 1, -(2**30 - 1), 2**30, -(2**30), 2**62, "", "a", "é" * 3]
    d = ConcurrentDict((k, i) for i, k in enumerate(keys))
    ref = {k: i for i, k in enumerate(keys)}
    assert len(d) == len(ref) and d.as_dict() == ref
    for k in keys:
        assert d[k] == ref[k] and k in d and d.get(k) == ref[k]
    assert d[True] == ref[1] and d[1.0] == ref[1] and d[-2.0] == ref[-2]
    assert d["".join(["a"])] == ref["a"]


def test_replaced_values_are_released_before_the_write_returns():
    # No read is in progress, so `d[k] = v`, `del d[k]`, pop and clear release
    # the old value before they return, as dict does (docs/design.md: a value
    # is kept longer only while another thread is inside a lock-free read).
    class V:
        pass

    d = ConcurrentDict(scaling=1)
    for op in (lambda: d.__setitem__("k", 1), lambda: d.__delitem__("k"),
               lambda: d.pop("k"), d.clear, lambda: d.popitem()):
        v = V()
        r = weakref.ref(v)
        d["k"] = v
        del v
        op()
        assert r() is None, op
    s = ConcurrentSet(scaling=1)
    k = Key("x")
    r = weakref.ref(k)
    s.add(k)
    del k
    s.discard(Key("x"))
    assert r() is None


def test_lock_free_reads_race_writers(run_threads):
    # d[k], d.get, `in` run without the shard lock while other threads replace,
    # delete and clear: every value read belongs to its key, finalisers run
    # outside any lock, and every replaced value is released by the end.
    d = ConcurrentDict(scaling=3)
    nkeys = 200
    made = []
    finalised = []

    class Val:
        __slots__ = ("k", "__weakref__")

        def __init__(self, k):
            self.k = k

        def __del__(self):
            finalised.append(self.k)
            d.get(("fin", self.k))  # a read from a finaliser

    def key(i, rng):
        # equal but not identical keys: exact str and big int contents are
        # compared in the lock-free path; a tuple goes to the locked path.
        return (str(i), 10**20 + i, ("t", i))[rng.randrange(3)]

    def writer(seed):
        rng = random.Random(seed)
        for n in range(20_000):
            i = rng.randrange(nkeys)
            k = key(i, rng)
            r = rng.random()
            if r < 0.6:
                v = Val(i)
                made.append(weakref.ref(v))
                d[k] = v
            elif r < 0.8:
                d.pop(k, None)
            elif r < 0.9995:
                try:
                    del d[k]
                except KeyError:
                    pass
            else:
                d.clear()

    def reader(seed):
        rng = random.Random(seed)
        bad = 0
        for n in range(40_000):
            i = rng.randrange(nkeys)
            k = key(i, rng)
            v = d.get(k)
            if v is not None and v.k != i:
                bad += 1
            try:
                if d[k].k != i:
                    bad += 1
            except KeyError:
                pass
            _ = k in d
        return bad

    got = run_threads(lambda: reader(1), lambda: reader(2), lambda: writer(3),
                      lambda: writer(4))
    assert got[0] == 0 and got[1] == 0
    d.clear()  # also releases whatever a read still held back
    gc.collect()
    assert all(r() is None for r in made)
    assert len(finalised) == len(made)


# ------------------------------------------------------------------ iteration
def test_mutation_during_iteration_never_raises():
    # Keys 0..499 stay; 500..999 are deleted and new keys inserted while the
    # loop runs: no RuntimeError, no key twice, every stable key seen.
    d = ConcurrentDict((i, i) for i in range(1000))
    seen = []
    for i, k in enumerate(d):
        seen.append(k)
        if i < 500:
            d[10_000 + i] = i
            d.pop(500 + i, None)
    assert len(seen) == len(set(seen))
    assert set(range(500)) <= set(seen)
    s = ConcurrentSet(range(100))
    for x in s:
        s.discard(x)
        s.add(x + 1000)
    assert len(s) >= 100


def test_iteration_while_other_threads_mutate(run_threads):
    stable = list(range(500))
    d = ConcurrentDict(((k, k) for k in stable), scaling=5)
    stop = threading.Event()

    def writer(seed):
        rng = random.Random(seed)
        while not stop.is_set():
            k = 1000 + rng.randrange(500)
            if rng.random() < 0.5:
                d[k] = k
            else:
                d.pop(k, None)

    def reader():
        try:
            for _ in range(50):
                keys = list(d)
                assert len(keys) == len(set(keys))
                assert set(stable) <= set(keys)
                for k, v in d.items():
                    assert k == v
                assert set(stable) <= set(d.values())
        finally:
            stop.set()

    run_threads(reader, lambda: writer(1), lambda: writer(2))


def test_iterator_outlives_and_owns_its_snapshot():
    d = ConcurrentDict(a=1, b=2)
    it = iter(d.items())
    first = next(it)
    d.clear()
    rest = list(it)  # the current shard's snapshot may still yield entries
    assert first in [("a", 1), ("b", 2)]
    assert all(x in [("a", 1), ("b", 2)] for x in rest)
    it2 = iter(d)
    del d
    gc.collect()
    assert list(it2) == []


# ------------------------------------------------------------------ atomic compound ops
def test_update_item():
    d = ConcurrentDict()
    with pytest.raises(KeyError):
        d.update_item("n", lambda v: v + 1)
    assert d.update_item("n", lambda v: v + 1, 0) == 1
    assert d.update_item("n", lambda v: v * 10) == 10
    with pytest.raises(ZeroDivisionError):
        d.update_item("n", lambda v: v / 0)
    assert d["n"] == 10
    with pytest.raises(TypeError):
        d.update_item("n")


def test_update_item_is_atomic_per_key(run_threads):
    d = ConcurrentDict(scaling=2)
    n = 2000

    def work():
        for i in range(n):
            d.update_item(i % 7, lambda v: v + 1, 0)
            d.update_item(Key(i % 3), lambda v: v + 1, 0)  # Python __eq__ keys too

    run_threads(*[work] * 4)
    assert sum(d[i] for i in range(7)) == 4 * n
    assert sum(d[Key(i)] for i in range(3)) == 4 * n


def test_setdefault_and_pop_are_atomic(run_threads):
    d = ConcurrentDict()
    objs = [object() for _ in range(4)]
    got = run_threads(*[lambda o=o: [d.setdefault(k, o) for k in range(200)] for o in objs])
    for k in range(200):
        assert len({id(r[k]) for r in got}) == 1 and got[0][k] is d[k]
    popped = run_threads(*[lambda: [d.pop(k, None) for k in range(200)]] * 4)
    for k in range(200):
        assert sum(p[k] is not None for p in popped) == 1
    assert len(d) == 0


def test_concurrent_disjoint_writers(run_threads):
    d = ConcurrentDict()

    def work(t):
        for i in range(3000):
            d[(t, i)] = i
        for i in range(0, 3000, 2):
            del d[(t, i)]

    run_threads(*[lambda t=t: work(t) for t in range(4)])
    assert len(d) == 4 * 1500
    assert all(d[(t, i)] == i for t in range(4) for i in range(1, 3000, 2))


# ------------------------------------------------------------------ pickling, gc
def test_pickle_and_copy():
    d = ConcurrentDict({"a": [1, 2], 3: None}, scaling=5)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        e = pickle.loads(pickle.dumps(d, proto))
        assert type(e) is ConcurrentDict and e == d and e.scaling == 5
    assert d.__getstate__() == {"a": [1, 2], 3: None}
    f = ConcurrentDict(x=1)
    f.__setstate__({"y": 2})
    assert f == {"y": 2}
    c = copy.copy(d)
    assert c == d and c["a"] is d["a"]
    dc = copy.deepcopy(d)
    assert dc == d and dc["a"] is not d["a"]


def test_copy_reuses_the_stored_hashes():
    calls = []

    class Counted(Key):
        def __hash__(self):
            calls.append(self.v)
            return self.h

    d = ConcurrentDict({Counted(i): i for i in range(50)}, scaling=3)
    s = ConcurrentSet(Counted(i) for i in range(50))
    calls.clear()
    c, t = d.copy(), s.copy()
    assert calls == []
    assert type(c) is ConcurrentDict and c.scaling == 3 and c == d
    assert type(t) is ConcurrentSet and t == s
    assert sorted(k.v for k in iter(t)) == list(range(50))


def test_cycles_are_collected():
    d = ConcurrentDict()
    d["me"] = d
    r = weakref.ref(d)
    del d
    gc.collect()
    assert r() is None
    s = ConcurrentSet()
    s.add(Key(s, h=1))  # s -> Key -> s
    r = weakref.ref(s)
    del s
    gc.collect()
    assert r() is None


def test_sizeof_grows():
    d = ConcurrentDict()
    base = sys.getsizeof(d)
    d.update((i, i) for i in range(1000))
    assert sys.getsizeof(d) > base + 1000 * 16


# ------------------------------------------------------------------ set
def test_set_api():
    s = ConcurrentSet([1, 2, 3])
    assert isinstance(s, MutableSet)
    assert 1 in s and 4 not in s and len(s) == 3
    s.add(4)
    s.add(4)
    s.discard(1)
    s.discard(99)
    s.remove(2)
    with pytest.raises(KeyError):
        s.remove(2)
    assert sorted(s) == [3, 4]
    assert s == {3, 4} and {3, 4} == s and s != {3}
    x = s.pop()
    assert x in (3, 4) and len(s) == 1
    s.clear()
    with pytest.raises(KeyError):
        s.pop()
    s.update([1, 2], {3})
    c = s.copy()
    assert type(c) is ConcurrentSet and c == s and c is not s
    for r in (s | {9}, s & {1, 9}, s - {1}, s ^ {1, 9}, {9} | s, {1, 9} & s):
        assert type(r) is ConcurrentSet
    assert (s | {9}) == {1, 2, 3, 9} and (s & {1, 9}) == {1}
    assert (s - {1}) == {2, 3} and (s ^ {1, 9}) == {2, 3, 9}
    assert s.union([7]) == {1, 2, 3, 7} and s.intersection([1, 2], {2}) == {2}
    assert s.difference([1]) == {2, 3} and s.symmetric_difference([3, 4]) == {1, 2, 4}
    assert s.issubset(range(5)) and s.issuperset([1]) and s.isdisjoint([8])
    assert s <= {1, 2, 3} and s < {1, 2, 3, 4}
    s |= {10}
    s -= {1}
    assert s == {2, 3, 10}
    with pytest.raises(TypeError):
        s.add([1])
    with pytest.raises(ZeroDivisionError):
        s.add(BadHash())
    assert repr(ConcurrentSet()) == "ConcurrentSet()" and repr(ConcurrentSet([1])) == "ConcurrentSet([1])"
    with pytest.raises(TypeError):
        hash(s)


def test_set_pickle_and_state():
    s = ConcurrentSet(["a", 1, (2, 3)], scaling=3)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        t = pickle.loads(pickle.dumps(s, proto))
        assert type(t) is ConcurrentSet and t == s and t.scaling == 3
    assert sorted(map(repr, s.__getstate__())) == sorted(map(repr, ["a", 1, (2, 3)]))
    u = ConcurrentSet()
    u.__setstate__([5, 6])
    assert u == {5, 6}


def test_set_hostile_elements():
    s = ConcurrentSet(scaling=1)
    a = BadEq("e", h=3)
    s.add(a)
    BadEq.armed = True
    try:
        with pytest.raises(ValueError):
            s.add(BadEq("e", h=3))
        with pytest.raises(ValueError):
            BadEq("e", h=3) in s
    finally:
        BadEq.armed = False
    assert len(s) == 1 and BadEq("e", h=3) in s
    Reentrant.target = ConcurrentDict()
    s.add(Reentrant("r", h=3))
    s.add(Reentrant("r", h=3))
    assert len(s) == 2
    Reentrant.target = None


def test_set_concurrent_add_discard(run_threads):
    s = ConcurrentSet()

    def work(t):
        for i in range(2000):
            s.add(i)
            if i % 3 == t % 3:
                s.discard(i)
        return True

    run_threads(*[lambda t=t: work(t) for t in range(3)])
    assert all(x in s or x % 3 in (0, 1, 2) for x in range(2000))
    seen = list(s)
    assert len(seen) == len(set(seen)) == len(s)


# ------------------------------------------------------------------ façades
def test_syncx_facade():
    from interlock.compat.syncx import collections as sx

    d = sx.ConcurrentDict()
    d["k"] = 1
    assert d.get("k") == 1 and d.setdefault("j", 2) == 2 and d.pop("j") == 2
    state = d.__getstate__()
    assert type(state) is dict and state == {"k": 1}
    e = sx.ConcurrentDict()
    e.__setstate__(state)
    assert e == d and pickle.loads(pickle.dumps(d)) == d
    s = sx.ConcurrentSet()
    s.add(1)
    assert 1 in s and s.copy() == {1}
    assert pickle.loads(pickle.dumps(s)) == s
    assert type(s.__getstate__()) is list


def test_ft_utils_facade():
    from interlock.compat.ft_utils.concurrency import ConcurrentDict as FtDict

    d = FtDict(4)
    assert d.scaling == 4 and FtDict().scaling == 17 and FtDict(scaling=2).scaling == 2
    d["key"] = "value"
    assert d["key"] == "value" and "key" in d
    del d["key"]
    assert "key" not in d
    d[1] = 2
    assert d.as_dict() == {1: 2} and type(d.as_dict()) is dict
    e = pickle.loads(pickle.dumps(d))
    assert type(e) is FtDict and e.as_dict() == {1: 2} and e.scaling == 4


def test_hot_operations_are_type_slots():
    # d[k], d[k] = v, del d[k], k in d and len(d) reach the native slots
    # directly (no Python-level method in between).
    from interlock._interlock.collections import ConcurrentDictBase, ConcurrentSetBase

    for name in ("__getitem__", "__setitem__", "__delitem__", "__contains__", "__len__",
                 "__iter__"):
        assert getattr(ConcurrentDict, name) is getattr(ConcurrentDictBase, name)
        assert type(getattr(ConcurrentDict, name)).__name__ == "wrapper_descriptor"
    for name in ("__contains__", "__len__", "__iter__"):
        assert getattr(ConcurrentSet, name) is getattr(ConcurrentSetBase, name)
    for name in ("get", "pop", "setdefault", "update_item"):
        assert type(getattr(ConcurrentDict, name)).__name__ == "method_descriptor"


def test_weakrefs_and_subclasses():
    class Sub(ConcurrentDict):
        pass

    d = Sub(a=1)
    r = weakref.ref(d)
    assert r() is d and d["a"] == 1 and type(d.copy()) is Sub
    del d
    gc.collect()
    assert r() is None
    s = ConcurrentSet([1])
    rs = weakref.ref(s)
    assert rs() is s
