"""interlock.ipc buffer atomics: every operation at every width, memory orders,
alignment, read-only buffers, buffer release, wraparound, threads and
processes (fork and spawn)."""

from __future__ import annotations

import gc
import mmap
import multiprocessing as mp
import sys
import threading
from multiprocessing import shared_memory

import pytest

import interlock.ipc as ipc
from interlock.ipc import BYTES, INT, INTEGRAL, UINT, MemoryOrder, OpType

WIDTHS = ipc.supported_widths()
MO = MemoryOrder


def bounds(width: int, signed: bool) -> tuple[int, int]:
    bits = 8 * width
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def wrap(v: int, width: int, signed: bool) -> int:
    bits = 8 * width
    v &= (1 << bits) - 1
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


# ----------------------------------------------------------------- basics

def test_supported_widths():
    assert WIDTHS[:4] == (1, 2, 4, 8)
    assert set(WIDTHS) <= {1, 2, 4, 8, 16}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("signed", [True, False])
def test_integral_operations(width, signed):
    a = ipc.atomic(width=width, atype=INT if signed else UINT)
    assert isinstance(a, ipc.AtomicInt if signed else ipc.AtomicUint)
    assert (a.width, a.readonly, a.signed) == (width, False, signed)
    lo, hi = bounds(width, signed)
    assert a.load() == 0
    a.store(hi)
    assert a.load() == hi and int(a) == hi
    assert a.exchange(5) == hi
    assert a.fetch_add(3) == 5 and a.load() == 8
    assert a.fetch_sub(10) == 8 and a.load() == wrap(-2, width, signed)
    a.store(7)
    a.add(1)
    a.sub(2)
    a.inc()
    a.dec()
    a.dec()
    assert a.load() == 5
    assert a.fetch_inc() == 5 and a.fetch_dec() == 6 and a.load() == 5
    a.neg()
    assert a.load() == wrap(-5, width, signed)
    assert a.fetch_neg() == wrap(-5, width, signed) and a.load() == 5
    # binary
    a.store(0b1100)
    a.bin_or(0b0011)
    assert a.load() == 0b1111
    a.bin_and(0b0110)
    assert a.load() == 0b0110
    a.bin_xor(0b0101)
    assert a.load() == 0b0011
    assert a.bin_fetch_or(0b1000) == 0b0011
    assert a.bin_fetch_and(0b1001) == 0b1011
    assert a.bin_fetch_xor(0b1111) == 0b1001
    assert a.bin_fetch_not() == 0b0110
    assert a.load() == wrap(~0b0110, width, signed)
    a.bin_not()
    assert a.load() == 0b0110
    # bits
    a.store(0)
    top = 8 * width - 1
    assert a.bit_set(top) is False and a.bit_test(top) is True
    assert a.load() == wrap(1 << top, width, signed)
    assert a.bit_test_set(top) is True
    assert a.bit_compl(0) is False and a.bit_test_compl(0) is True
    assert a.bit_reset(top) is True and a.bit_test_reset(top) is False
    assert a.load() == 0
    for bad in (-1, 8 * width):
        with pytest.raises(ValueError, match="index"):
            a.bit_test(bad)
    # cmpxchg
    a.store(lo)
    r = a.cmpxchg_strong(expected=1, desired=2)
    assert not r and r.success is False and r.expected == lo
    r = a.cmpxchg_strong(lo, hi)
    assert r and tuple(r) == (True, lo) and a.load() == hi
    while not (r := a.cmpxchg_weak(hi, 3)):
        assert r.expected == hi
    assert a.load() == 3
    assert repr(a.cmpxchg_strong(9, 9)) == "CmpxchgResult(success=False, expected=3)"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("signed", [True, False])
def test_wraparound_and_range(width, signed):
    a = ipc.atomic(width=width, atype=INTEGRAL, is_signed=signed)
    lo, hi = bounds(width, signed)
    a.store(hi)
    a.inc()
    assert a.load() == lo
    a.dec()
    assert a.load() == hi
    assert a.fetch_add(hi) == hi and a.load() == wrap(2 * hi, width, signed)
    for bad in (lo - 1, hi + 1):
        with pytest.raises(OverflowError):
            a.store(bad)
        with pytest.raises(OverflowError):
            a.add(bad)
    with pytest.raises(TypeError):
        a.store(1.0)
    with pytest.raises(TypeError):
        a.store("1")
    a.store(True)
    assert a.load() == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_bytes_operations(width):
    a = ipc.atomic(width=width, atype=BYTES)
    assert isinstance(a, ipc.AtomicBytes) and not hasattr(a, "add")
    z, ones = bytes(width), b"\xff" * width
    v = bytes(range(1, width + 1))
    assert a.load() == z and bytes(a) == z
    a.store(v)
    assert a.load() == v
    assert a.exchange(bytearray(ones)) == v
    assert a.bin_fetch_and(z) == ones and a.load() == z
    a.bin_or(v)
    a.bin_xor(v)
    assert a.load() == z
    a.bin_not()
    assert a.load() == ones
    a.bin_and(memoryview(v))
    assert a.load() == v
    assert a.bin_fetch_not() == v
    assert a.bin_fetch_xor(ones) == bytes(~b & 0xff for b in v)
    assert a.bin_fetch_or(z) == v
    r = a.cmpxchg_strong(z, ones)
    assert not r and r.expected == v
    assert a.cmpxchg_strong(v, ones, succ=MO.ACQ_REL, fail=MO.ACQUIRE)
    assert a.load() == ones
    a.store(z)
    assert a.bit_set(0) is False and a.load()[0] == 1
    with pytest.raises(ValueError, match="length"):
        a.store(b"x" * (width + 1))
    with pytest.raises(TypeError):
        a.store(5)
    assert repr(a) == f"AtomicBytes(value={a.load()!r}, width={width}, readonly=False)"


def test_repr_and_dunders():
    a = ipc.atomic(width=4, atype=INT)
    assert repr(a) == "AtomicInt(value=0, width=4, readonly=False, signed=True)"
    assert not hasattr(ipc.AtomicInt, "__index__")
    with pytest.raises(TypeError):
        [0][a]  # no __index__
    assert int(a) == 0
    assert repr(ipc.atomic(width=2, atype=ipc.ANY)) == "Atomic(width=2, readonly=False)"
    assert repr(ipc.AtomicUintView.__new__(ipc.AtomicUintView)) == "<AtomicUintView (uninitialised)>"
    assert isinstance(a, INT) and isinstance(a, INTEGRAL) and isinstance(a, ipc.ANY)
    assert not isinstance(a, UINT) and not isinstance(a, BYTES)


def test_cmpxchg_result_cycles_are_collected():
    # CmpxchgResult is immutable, so it has no tp_clear: a cycle through it is
    # broken at the mutable object in it (a list, a subclass instance's dict).
    class Sub(ipc.CmpxchgResult):
        pass

    def count() -> int:
        gc.collect()
        return sum(isinstance(o, ipc.CmpxchgResult) for o in gc.get_objects())

    before = count()
    lst: list[object] = []
    lst.append(ipc.CmpxchgResult(True, lst))
    sub = Sub(False, 0)
    sub.me = sub
    assert sub.expected == 0 and not sub and repr(sub) == "Sub(success=False, expected=0)"
    del lst, sub
    assert count() == before


def test_ops_supported():
    every = sorted(set(OpType))
    assert ipc.atomic(width=8, atype=INT).ops_supported == every
    assert ipc.atomic(width=8, atype=BYTES).ops_supported == [o for o in every if o < OpType.ADD]
    assert ipc.atomic(width=8, atype=ipc.ANY).ops_supported == []
    with ipc.atomicview(buffer=bytes(8), atype=UINT) as v:
        assert v.ops_supported == [OpType.LOAD, OpType.BIT_TEST]
    assert OpType.BIT_TEST_COMP is OpType.BIT_TEST_COMPL


def test_unsupported_widths():
    for w in (0, 3, 5, 32, -1):
        with pytest.raises(ipc.UnsupportedWidthException):
            ipc.atomic(width=w, atype=INT)
    with pytest.raises(ipc.UnsupportedWidthException) as ei:
        ipc.atomicview(buffer=bytearray(3), atype=INT)
    assert ei.value.width == 3 and ei.value.readonly is False
    with pytest.raises(TypeError):
        ipc.atomic(width=4, atype=int)
    with pytest.raises(TypeError):
        ipc.atomicview(buffer=4, atype=INT)


@pytest.mark.skipif(16 not in WIDTHS, reason="no cmpxchg16b")
def test_sixteen_bytes_needs_writable_memory():
    buf = bytearray(32)
    mv = memoryview(buf)
    off = (-ipc._atomics._buffer_info(buf)[0]) % 16
    with ipc.atomicview(buffer=mv[off:off + 16], atype=UINT) as v:
        v.store((1 << 128) - 1)
        v.inc()
        assert v.load() == 0
    del mv
    with pytest.raises(ipc.UnsupportedWidthException) as ei:
        ipc.atomicview(buffer=bytes(16), atype=INT)
    assert ei.value.readonly is True


# ----------------------------------------------------------------- memory orders

def test_memory_order_predicates():
    assert [o.name for o in MO if o.is_valid_store_order()] == ["RELAXED", "RELEASE", "SEQ_CST"]
    assert [o.name for o in MO if o.is_valid_load_order()] == ["RELAXED", "ACQUIRE", "SEQ_CST"]
    assert MO.ACQUIRE.is_valid_fail_order(MO.ACQ_REL)
    assert not MO.SEQ_CST.is_valid_fail_order(MO.ACQUIRE)
    assert not MO.RELEASE.is_valid_fail_order(MO.SEQ_CST)
    assert MO.RELAXED.is_valid_fail_order()


@pytest.mark.parametrize("atype", [INT, BYTES])
def test_memory_orders_validated(atype):
    a = ipc.atomic(width=8, atype=atype)
    val = 1 if atype is INT else bytes(8)
    for o in MO:
        if o.is_valid_load_order():
            a.load(o)
            a.bit_test(0, order=o)
        else:
            with pytest.raises(ipc.MemoryOrderError) as ei:
                a.load(o)
            assert ei.value.optype is OpType.LOAD and ei.value.order is o
            assert not ei.value.is_fail
            with pytest.raises(ipc.MemoryOrderError):
                a.bit_test(0, o)
        if o.is_valid_store_order():
            a.store(val, o)
        else:
            with pytest.raises(ipc.MemoryOrderError):
                a.store(val, order=o)
        a.exchange(val, o)  # read-modify-writes take every order
        a.bin_or(val, o)
        for f in MO:
            kw = ({"success": o, "failure": f} if atype is INT else {"succ": o, "fail": f})
            if f.is_valid_fail_order(o):
                a.cmpxchg_strong(val, val, **kw)
                a.cmpxchg_weak(val, val, **kw)
            else:
                with pytest.raises(ipc.MemoryOrderError) as ei:
                    a.cmpxchg_strong(val, val, **kw)
                assert ei.value.is_fail and ei.value.optype is OpType.CMPXCHG_STRONG
    with pytest.raises(ValueError):
        a.load(1)  # CONSUME is not offered
    with pytest.raises(TypeError):
        a.load("SEQ_CST")
    assert isinstance(ipc.MemoryOrderError(OpType.LOAD, MO.RELEASE, is_fail=False), ValueError)


# ----------------------------------------------------------------- views

def aligned(buf, width: int):
    """A memoryview slice of buf aligned to width."""
    mv = memoryview(buf)
    off = (-ipc._atomics._buffer_info(buf)[0]) % width
    return mv[off:off + width]


@pytest.mark.parametrize("width", [1, 2, 4, 8])
def test_view_writes_through(width):
    buf = bytearray(32)
    part = aligned(buf, width)
    with ipc.atomicview(buffer=part, atype=UINT) as v:
        assert isinstance(v, ipc.AtomicUintView) and v.width == width
        v.store(0x01)
        assert part.tobytes() == (1).to_bytes(width, sys.byteorder)
        part[0] = 7
        assert v.load() == 7
    part.release()


def test_alignment():
    buf = bytearray(16)
    mv = aligned(buf, 8)
    base = ipc._atomics._buffer_info(mv)[0]
    assert ipc.Alignment(8).is_valid(mv)
    big = memoryview(buf)
    start = base - ipc._atomics._buffer_info(buf)[0]
    bad = big[start + 1:start + 5]
    assert not ipc.Alignment(4).is_valid(bad)
    assert not ipc.Alignment(4).is_valid_minimum(bad)
    with pytest.raises(ipc.AlignmentError) as ei:
        ipc.atomicview(buffer=bad, atype=INT)
    assert ei.value.width == 4 and ei.value.address == base + 1
    assert isinstance(ei.value, ValueError)
    with pytest.raises(ValueError, match="width"):
        ipc.Alignment(4).is_valid(bytearray(8))
    with pytest.raises(TypeError):
        ipc.Alignment(4).is_valid(3)
    with pytest.raises(ipc.UnsupportedWidthException):
        ipc.Alignment(3)
    a = ipc.Alignment(2)
    assert (a.recommended, a.minimum, a.size_within) == (2, 2, 0)
    for m in (bad, big, mv):
        m.release()


def test_read_only_buffers_load_only():
    data = (123456).to_bytes(4, sys.byteorder)
    with ipc.atomicview(buffer=data, atype=INT) as v:
        assert v.readonly and v.load() == 123456 and v.bit_test(6) is True
        for call in (lambda: v.store(1), lambda: v.add(1), lambda: v.inc(),
                     lambda: v.exchange(1), lambda: v.cmpxchg_strong(1, 2),
                     lambda: v.bit_set(0), lambda: v.bin_or(1), lambda: v.fetch_neg()):
            with pytest.raises(ipc.UnsupportedOperationException) as ei:
                call()
            assert ei.value.readonly is True
    assert data == (123456).to_bytes(4, sys.byteorder)


def test_view_holds_and_releases_the_buffer():
    buf = bytearray(8)
    ctx = ipc.atomicview(buffer=buf, atype=INT)
    with pytest.raises(BufferError):
        buf.append(0)  # exported from construction on
    with ctx as a:
        with pytest.raises(ValueError, match="while context is open"):
            ctx.release()
        with pytest.raises(ValueError, match="multiple times"):
            ctx.__enter__()
        a.store(-1)
        with pytest.raises(BufferError):
            buf.append(0)
    assert buf == b"\xff" * 8
    buf.append(0)  # released
    with pytest.raises(ValueError, match="after calling 'release'"):
        ctx.__enter__()
    for use in (a.load, lambda: a.width, lambda: a.ops_supported, lambda: int(a)):
        with pytest.raises(ValueError, match="released"):
            use()
    assert "released" in repr(a)
    ctx.release()
    ctx.__exit__(None, None, None)  # any number of times


def test_release_before_enter_and_del():
    buf = bytearray(4)
    ctx = ipc.atomicview(buffer=buf, atype=UINT)
    ctx.release()
    ctx.release()
    buf.append(1)
    with pytest.raises(ValueError, match="after calling 'release'"):
        ctx.__enter__()
    buf2 = bytearray(4)
    ctx2 = ipc.atomicview(buffer=buf2, atype=UINT)
    del ctx2  # __del__ releases
    buf2.append(1)


def test_view_of_mmap_can_close_after_release():
    m = mmap.mmap(-1, 4096)
    with ipc.atomicview(buffer=memoryview(m)[8:16], atype=UINT) as v:
        v.store(2**64 - 1)
        v.inc()
        assert v.load() == 0
        v.store(42)
    assert int.from_bytes(m[8:16], sys.byteorder) == 42
    m.close()


def test_views_cannot_be_constructed():
    with pytest.raises(TypeError):
        ipc.AtomicIntView()


# ----------------------------------------------------------------- concurrency

N_THREADS = 4
N_PER = 20_000


def test_threads_conserve_counts():
    a = ipc.atomic(width=8, atype=INT)
    buf = bytearray(8)
    barrier = threading.Barrier(N_THREADS)
    with ipc.atomicview(buffer=aligned(buf, 4), atype=UINT) as v:
        def work():
            barrier.wait()
            for _ in range(N_PER):
                a.inc()
                v.fetch_add(1)
        ts = [threading.Thread(target=work) for _ in range(N_THREADS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert a.load() == N_THREADS * N_PER
        assert v.load() == N_THREADS * N_PER


def _child_count(name: str, n: int) -> None:
    shm = shared_memory.SharedMemory(name=name)
    try:
        buf = shm.buf[:8]
        with ipc.atomicview(buffer=buf, atype=INT) as a:
            for _ in range(n):
                a.inc()
        with ipc.atomicview(buffer=shm.buf[8:9], atype=UINT) as b:
            for _ in range(n):
                b.fetch_add(1)
        del buf
    finally:
        shm.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_processes_conserve_counts(method):
    if method not in mp.get_all_start_methods():
        pytest.skip(f"no {method}")
    ctx = mp.get_context(method)
    shm = shared_memory.SharedMemory(create=True, size=64)
    procs = []
    n = 5_000
    try:
        procs = [ctx.Process(target=_child_count, args=(shm.name, n)) for _ in range(3)]
        for p in procs:
            p.start()
        _child_count(shm.name, n)
        for p in procs:
            p.join(90)
            assert p.exitcode == 0
        buf = shm.buf[:8]
        with ipc.atomicview(buffer=buf, atype=INT) as a:
            assert a.load() == 4 * n
        with ipc.atomicview(buffer=shm.buf[8:9], atype=UINT) as b:
            assert b.load() == (4 * n) % 256  # wraps at one byte
        del buf
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(10)
        shm.close()
        shm.unlink()
