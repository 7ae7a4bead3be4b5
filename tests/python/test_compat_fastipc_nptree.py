"""interlock.compat.fastipc.nptree: fastipc 0.1.5's NumPy-tree layouts (issue
16). fastipc's own tests/test_nptree_schema.py runs in scripts/peer-suites.sh;
these add the layout format (interoperability), shared memory across
processes, and the differences on purpose (docs/migration/fastipc.md)."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
from multiprocessing import shared_memory

import pytest

np = pytest.importorskip("numpy")
optree = pytest.importorskip("optree")

from interlock.compat.fastipc.nptree import schema  # noqa: E402
from interlock.compat.fastipc.nptree.schema import (  # noqa: E402
    build_nptree_layout, calc_buffer_size, deserialize_nptree, serialize_nptree, validate_layout,
)

pytestmark = pytest.mark.timeout(60)


def tree():
    return {
        "b": np.arange(4, dtype=np.float64).reshape(2, 2),
        "a": np.array([1, 2, 3], dtype=np.int32),
        "c": (np.array(True), np.arange(5, dtype=">u2")),
    }


def test_layout_strings_are_fastipcs():
    layout = build_nptree_layout(tree())
    # leaf order is optree's (sorted keys); offsets rounded up to alignment
    assert layout == {"a": "<i4\t3\t0", "b": "<f8\t2,2\t16",
                      "c": ("|b1\t\t48", ">u2\t5\t56")}
    assert calc_buffer_size(layout) == 66
    assert build_nptree_layout(tree(), alignment=1)["c"] == ("|b1\t\t44", ">u2\t5\t45")
    assert schema._parse_arr_desc(">u2\t5\t56") == (np.dtype(">u2"), (5,), 56, 10)
    assert calc_buffer_size({}) == 0 and calc_buffer_size(build_nptree_layout([])) == 0


def test_roundtrip_keeps_values_and_byte_order():
    t = tree()
    layout = build_nptree_layout(t, alignment=64)
    assert all(schema._parse_arr_desc(d)[2] % 64 == 0 for d in optree.tree_leaves(layout))
    out = deserialize_nptree(layout, serialize_nptree(t, layout))
    assert optree.tree_structure(out) == optree.tree_structure(t)
    for x, y in zip(optree.tree_leaves(t), optree.tree_leaves(out)):
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


def test_non_contiguous_arrays_are_copied_in_order():
    base = np.arange(24, dtype=np.int64).reshape(4, 6)
    t = {"strided": base[::2, 1::2], "transposed": base.T}
    layout = build_nptree_layout(t)
    out = deserialize_nptree(layout, serialize_nptree(t, layout))
    assert np.array_equal(out["strided"], base[::2, 1::2])
    assert np.array_equal(out["transposed"], base.T)


def test_deserialize_returns_views_of_the_buffer():
    t = tree()
    layout = build_nptree_layout(t)
    buf = serialize_nptree(t, layout)
    out = deserialize_nptree(layout, buf)
    out["a"][0] = 99
    assert deserialize_nptree(layout, buf)["a"][0] == 99
    ro = deserialize_nptree(layout, bytes(buf))  # a read-only buffer: read-only views
    assert not ro["a"].flags.writeable and ro["a"][0] == 99
    fresh = deserialize_nptree(layout)  # None: a new zeroed buffer
    assert fresh["b"].shape == (2, 2) and not fresh["b"].any()


def test_reuses_any_writable_buffer():
    t = tree()
    layout = build_nptree_layout(t)
    n = calc_buffer_size(layout)
    for buf in (bytearray(n + 7), memoryview(bytearray(n)), np.zeros(n, np.uint8),
                np.zeros(n // 2 + 1, np.uint16)):
        assert serialize_nptree(t, layout, buf) is buf
        assert np.array_equal(deserialize_nptree(layout, buf)["b"], t["b"])
    assert len(serialize_nptree(t, layout, bytearray(n + 7))) == n + 7  # never resized
    with pytest.raises(ValueError, match="smaller"):
        serialize_nptree(t, layout, bytearray(n - 1))
    with pytest.raises(ValueError, match="smaller"):
        deserialize_nptree(layout, bytearray(n - 1))
    with pytest.raises(TypeError, match="read-only"):
        serialize_nptree(t, layout, bytes(n))
    with pytest.raises(TypeError, match="buffer"):
        serialize_nptree(t, layout, 12)


def test_serialize_checks_every_leaf_before_writing():
    # fastipc would write 12 bytes where 16 were laid out (and resize a
    # bytearray): the façade refuses, and writes nothing
    t = {"a": np.ones(4, np.int32), "b": np.ones(3, np.int32)}
    layout = build_nptree_layout({"a": np.ones(4, np.int32), "b": np.ones(4, np.int32)})
    buf = bytearray(calc_buffer_size(layout))
    with pytest.raises(ValueError, match="shape"):
        serialize_nptree(t, layout, buf)
    assert buf == bytearray(len(buf))
    with pytest.raises(TypeError, match="dtype"):
        serialize_nptree({"a": np.ones(4, np.float32), "b": np.ones(4, np.int32)}, layout, buf)
    with pytest.raises(TypeError):
        validate_layout({"a": 4, "b": np.ones(4, np.int32)}, layout)  # a leaf, not an array
    with pytest.raises(ValueError, match="structure"):
        serialize_nptree([np.ones(4, np.int32)], layout)


def test_bad_input_raises_clearly():
    for bad in (0, -8, 3, 12):
        with pytest.raises(ValueError, match="power of two"):
            build_nptree_layout(tree(), alignment=bad)
    with pytest.raises(TypeError):
        build_nptree_layout(tree(), alignment="8")
    with pytest.raises(TypeError, match="Unsupported type"):
        build_nptree_layout({"a": [1, 2]})
    with pytest.raises(TypeError, match="object"):
        build_nptree_layout({"a": np.array([object()])})
    with pytest.raises(TypeError, match="structured"):
        build_nptree_layout({"a": np.zeros(2, dtype=[("x", "<i4"), ("y", "<f8")])})
    for leaf in ("<i4\t3", "<i4\t3\t-8", "<i4\tx\t0", "nope\t3\t0", "<i4\t-1\t0", "|O\t1\t0"):
        with pytest.raises(ValueError, match="malformed"):
            calc_buffer_size({"a": leaf})


def _child_doubles(shm_name, layout):
    shm = shared_memory.SharedMemory(shm_name)
    try:
        t = deserialize_nptree(layout, shm.buf)
        t["x"] *= 2
        t["y"][...] = t["x"].sum()
        del t
    finally:
        shm.close()


@pytest.mark.parametrize("ctx", ["fork", "spawn"])
def test_a_tree_in_shared_memory_is_shared_between_processes(ctx):
    t = {"x": np.arange(1000, dtype=np.int64), "y": np.zeros((), np.int64)}
    layout = build_nptree_layout(t, alignment=64)
    shm = shared_memory.SharedMemory(create=True, size=calc_buffer_size(layout))
    try:
        assert serialize_nptree(t, layout, shm.buf) is shm.buf
        p = mp.get_context(ctx).Process(target=_child_doubles, args=(shm.name, layout))
        p.start()
        p.join(50)
        assert p.exitcode == 0
        out = deserialize_nptree(layout, shm.buf)
        assert np.array_equal(out["x"], 2 * t["x"]) and out["y"] == 2 * t["x"].sum()
        del out
    finally:
        shm.close()  # BufferError if a view of shm.buf were still exported
        shm.unlink()


def test_missing_dependency_names_the_extra():
    code = ("import sys; sys.modules['optree'] = None\n"
            "import interlock.compat.fastipc\n"
            "from interlock.compat.fastipc.nptree import schema  # imports: numpy/optree on use\n"
            "assert 'numpy' not in sys.modules  # the façade itself never imports them\n"
            "for use in (lambda: schema.build_nptree_layout({}), lambda: schema.NumpyTree):\n"
            "    try:\n"
            "        use()\n"
            "    except ImportError as e:\n"
            "        print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and all("interlock[nptree]" in x and "optree" in x for x in lines)


def test_type_aliases():
    assert schema.LayoutDescLeaf is str
    assert schema.NumpyTree == optree.PyTree[np.ndarray] and schema.LayoutTree == optree.PyTree[str]
    with pytest.raises(AttributeError):
        schema.no_such_name  # noqa: B018
