"""interlock.compat.atomics: the atomics package's API (seed 004), by its
examples."""

from __future__ import annotations

import multiprocessing as mp
import threading
from multiprocessing import shared_memory

import pytest

import interlock.compat.atomics as atomics
import interlock.ipc as ipc
from interlock.compat.atomics import base, ctx, exc, view


def test_names():
    for name in ("atomic", "atomicview", "ANY", "INTEGRAL", "BYTES", "INT", "UINT",
                 "MemoryOrder", "OpType", "CmpxchgResult", "Alignment"):
        assert getattr(atomics, name) is getattr(ipc, name)
    assert (exc.AlignmentError, exc.MemoryOrderError, exc.UnsupportedWidthException,
            exc.UnsupportedOperationException) == (
        ipc.AlignmentError, ipc.MemoryOrderError, ipc.UnsupportedWidthException,
        ipc.UnsupportedOperationException)
    for e in (exc.AlignmentError, exc.MemoryOrderError, exc.UnsupportedWidthException,
              exc.UnsupportedOperationException):
        assert issubclass(e, Exception)
    assert [c.__name__ for c in (base.Atomic, base.AtomicIntegral, base.AtomicBytes,
                                 base.AtomicInt, base.AtomicUint)] == [
        "Atomic", "AtomicIntegral", "AtomicBytes", "AtomicInt", "AtomicUint"]
    assert view.AtomicIntView.__name__ == "AtomicIntView"
    assert ctx.AtomicIntViewContext.__name__ == "AtomicIntViewContext"
    # the hierarchy of ARCHITECTURE.md
    assert issubclass(base.AtomicInt, base.AtomicIntegral)
    assert issubclass(base.AtomicIntegral, base.Atomic)
    assert issubclass(view.AtomicUintView, view.AtomicIntegralView)
    assert issubclass(ctx.AtomicIntViewContext, ctx.AtomicIntegralViewContext)
    assert issubclass(ctx.AtomicBytesViewContext, ctx.AtomicViewContext)
    assert issubclass(base.AtomicInt, atomics.INT) and issubclass(view.AtomicIntView, atomics.INT)
    assert issubclass(base.AtomicBytes, atomics.BYTES)


def test_readme_repr():
    a = atomics.atomic(width=4, atype=atomics.INT)
    assert str(a) == "AtomicInt(value=0, width=4, readonly=False, signed=True)"
    buf = bytearray(2)
    with atomics.atomicview(buffer=buf, atype=atomics.BYTES) as b:
        # (the seed's example prints readonly=True for a bytearray; it is writable)
        assert str(b) == "AtomicBytesView(value=b'\\x00\\x00', width=2, readonly=False)"
    with atomics.atomicview(buffer=bytes(2), atype=atomics.BYTES) as b:
        assert str(b) == "AtomicBytesView(value=b'\\x00\\x00', width=2, readonly=True)"


def test_seed_thread_example():
    def fn(ai: atomics.INTEGRAL, n: int) -> None:
        for _ in range(n):
            ai.inc()

    a = atomics.atomic(width=4, atype=atomics.INT)
    total = 10_000
    t1 = threading.Thread(target=fn, args=(a, total // 2))
    t2 = threading.Thread(target=fn, args=(a, total // 2))
    t1.start(), t2.start()
    t1.join(), t2.join()
    assert a.load() == total


def _seed_process_fn(shmem_name: str, width: int, n: int) -> None:
    shmem = shared_memory.SharedMemory(name=shmem_name)
    buf = shmem.buf[:width]
    with atomics.atomicview(buffer=buf, atype=atomics.INT) as a:
        for _ in range(n):
            a.inc()
    del buf
    shmem.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_seed_process_example(method):
    context = mp.get_context(method)
    width = 4
    shmem = shared_memory.SharedMemory(create=True, size=width)
    buf = shmem.buf[:width]
    total = 10_000
    procs = [context.Process(target=_seed_process_fn, args=(shmem.name, width, total // 2))
             for _ in range(2)]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(90)
            assert p.exitcode == 0
        with atomics.atomicview(buffer=buf, atype=atomics.INT) as a:
            assert a.load() == total
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(10)
        del buf
        shmem.close()
        shmem.unlink()


def test_context_rules_of_the_seed():
    buf = bytearray(4)
    c = atomics.atomicview(buffer=buf, atype=atomics.INT)
    with c as a:
        with pytest.raises(ValueError, match=r"^Cannot call 'release' while context is open\.$"):
            c.release()
        with pytest.raises(ValueError, match=r"^Cannot open context multiple times\.$"):
            c.__enter__()
        assert a.load() == 0
    with pytest.raises(ValueError, match=r"^Cannot open context after calling 'release'\.$"):
        c.__enter__()
    with pytest.raises(ValueError):
        a.load()
    buf.extend(b"1234")  # safe to invalidate now
    c2 = atomics.atomicview(buffer=bytearray(4), atype=atomics.INT)
    c2.release()
    with pytest.raises(ValueError, match=r"^Cannot open context after calling 'release'\.$"):
        c2.__enter__()


def test_atomic_mul_with_cmpxchg_weak():
    def atomic_mul(a, operand: int):
        res = atomics.CmpxchgResult(success=False, expected=a.load())
        while not res:
            desired = res.expected * operand
            res = a.cmpxchg_weak(expected=res.expected, desired=desired)

    a = atomics.atomic(width=8, atype=atomics.UINT)
    a.store(3)
    atomic_mul(a, 7)
    assert a.load() == 21
    r = atomics.CmpxchgResult(True, 5)
    assert r and r.success and r.expected == 5 and list(r) == [True, 5]
    assert atomics.CmpxchgResult[int] is not None


def test_alignment_example():
    buf = bytearray(8)
    align = atomics.Alignment(len(buf))
    assert align.is_valid(buf) == align.is_valid_recommended(buf)
    assert align.is_valid_minimum(buf) in (True, False)


def test_constructors_and_kwargs():
    assert isinstance(atomics.atomic(width=2, atype=atomics.UINT), base.AtomicUint)
    assert isinstance(atomics.atomic(width=2, atype=atomics.BYTES), base.AtomicBytes)
    i = atomics.atomic(width=2, atype=atomics.INTEGRAL, is_signed=False)
    assert type(i) is base.AtomicIntegral and not i.signed
    anyv = atomics.atomic(width=8, atype=atomics.ANY)
    assert type(anyv) is base.Atomic and not hasattr(anyv, "load")
    assert base.AtomicInt(width=8).signed
    with atomics.atomicview(buffer=bytearray(8), atype=atomics.INTEGRAL, is_signed=True) as v:
        assert type(v) is view.AtomicIntegralView and v.signed
    with ctx.AtomicUintViewContext(buffer=bytearray(8)) as v:
        assert type(v) is view.AtomicUintView
    with atomics.atomicview(buffer=bytearray(8), atype=view.AtomicIntView) as v:
        assert type(v) is view.AtomicIntView
    with pytest.raises(TypeError):
        atomics.atomicview(buffer=bytearray(8), atype=bytes)


def test_exceptions_of_the_seed():
    a = atomics.atomic(width=4, atype=atomics.INT)
    with pytest.raises(exc.MemoryOrderError):
        a.store(1, atomics.MemoryOrder.ACQUIRE)
    with pytest.raises(exc.MemoryOrderError):
        a.cmpxchg_strong(0, 1, success=atomics.MemoryOrder.ACQUIRE,
                         failure=atomics.MemoryOrder.SEQ_CST)
    with pytest.raises(exc.UnsupportedWidthException):
        atomics.atomic(width=3, atype=atomics.INT)
    with atomics.atomicview(buffer=bytes(4), atype=atomics.INT) as r:
        with pytest.raises(exc.UnsupportedOperationException):
            r.store(1)
    e = exc.UnsupportedOperationException(atomics.OpType.ADD, 4, readonly=True)
    assert repr(e) == "UnsupportedOperationException(optype=OpType.ADD, width=4, readonly=True)"
    assert str(e) == "Operation ADD is not supported on readonly objects with a width of 4."
