"""fastipc 0.1.5's ``fastipc.nptree.schema``: lay a pytree of NumPy arrays out
in one flat buffer, write a tree into it, and read it back as views.

A *layout* has the tree's structure (optree's, so dicts, lists, tuples,
namedtuples and registered nodes) with one string per array leaf,
``"{dtype.str}\\t{dim0,dim1,...}\\t{offset}"`` -- fastipc's format, so a layout
made by either package is read by the other. Arrays are placed in leaf order
(optree's: dict keys sorted), each at an offset that is a multiple of
``alignment``; offsets are relative to the buffer's start, so a buffer that is
itself aligned (shared memory is page-aligned) gives aligned arrays.

``deserialize_nptree`` returns *views* of the buffer (no copy): on a
``SharedMemory``'s ``buf`` every process sees the others' writes. The data has
no lock of its own: guard concurrent writers and readers with a
``Mutex``/``NamedMutex`` (or a seqlock) as with any shared buffer.

Differences from fastipc, on purpose (docs/migration/fastipc.md):
``serialize_nptree`` checks each array's dtype and shape against the layout
(``TypeError``/``ValueError``, as ``validate_layout``) instead of writing the
wrong number of bytes (which silently resized a ``bytearray`` buffer), copies a
non-contiguous array once instead of twice, and accepts any writable buffer
(``bytearray``, ``memoryview``, ``SharedMemory.buf``, a NumPy array);
``build_nptree_layout`` refuses arrays its string cannot describe (object and
structured dtypes: ``TypeError``); a malformed layout string raises
``ValueError``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "LayoutDescLeaf", "build_nptree_layout", "calc_buffer_size", "validate_layout",
    "serialize_nptree", "deserialize_nptree",
]  # and NumpyTree / LayoutTree (optree.PyTree aliases, built on first use)

LayoutDescLeaf = str  # "{dtype_str}\t{dim0,dim1,...}\t{offset}"


def _deps() -> Any:
    """numpy and optree, the optional dependencies (extra "nptree"): imported
    on first use, so this module imports (and its stubs check) without them."""
    try:
        import numpy
        import optree
    except ImportError as missing:
        raise ImportError(
            "interlock.compat.fastipc.nptree needs numpy and optree, which interlock does not "
            "install by default: pip install 'interlock[nptree]' "
            f"(missing: {missing.name or missing})") from missing
    return numpy, optree


def __getattr__(name: str) -> Any:
    if name in ("NumpyTree", "LayoutTree"):
        np_, optree = _deps()
        value = optree.PyTree[np_.ndarray if name == "NumpyTree" else str]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_alignment(alignment: Any) -> int:
    if isinstance(alignment, bool) or not isinstance(alignment, int):
        raise TypeError(f"alignment must be an int, not {type(alignment).__name__}")
    if alignment <= 0 or alignment & (alignment - 1):
        raise ValueError(f"Alignment must be a positive power of two, not {alignment}.")
    return alignment


def build_nptree_layout(tree: Any, alignment: int = 8) -> Any:
    """The layout of ``tree`` (same structure, one description string per
    array): arrays one after another in leaf order, each starting at a multiple
    of ``alignment`` bytes. ``ValueError`` unless ``alignment`` is a positive
    power of two; ``TypeError`` for a leaf that is not a ``numpy.ndarray`` or
    whose dtype a layout string cannot carry (object, structured)."""
    np, optree = _deps()
    step = _check_alignment(alignment)
    end = 0

    def place(arr: Any) -> str:
        nonlocal end
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Unsupported type in NumpyTree: {type(arr).__name__} "
                            "(leaves must be numpy.ndarray)")
        dt = arr.dtype
        if dt.hasobject or np.dtype(dt.str) != dt:
            raise TypeError(f"dtype {dt} cannot be laid out in a flat buffer "
                            "(object and structured dtypes are not supported)")
        start = -(-end // step) * step  # the first multiple of step >= end
        end = start + arr.nbytes
        return f"{dt.str}\t{','.join(str(d) for d in arr.shape)}\t{start}"

    # fastipc's layouts also pad after the last array; offsets are what count.
    return optree.tree_map(place, tree)


_parsed: dict[str, tuple[Any, tuple[int, ...], int, int]] = {}


def _parse_arr_desc(arr_desc: str) -> tuple[np.dtype, tuple[int, ...], int, int]:
    """One layout leaf -> (dtype, shape, offset, size in bytes); cached."""
    got = _parsed.get(arr_desc) if isinstance(arr_desc, str) else None
    if got is not None:
        return got
    if not isinstance(arr_desc, str):
        raise TypeError(f"layout leaves must be str, not {type(arr_desc).__name__}")
    parts = arr_desc.split("\t")
    try:
        if len(parts) != 3:
            raise ValueError("three tab-separated fields expected")
        dtype_str, shape_str, offset_str = parts
        dtype = _deps()[0].dtype(dtype_str)
        shape = tuple(int(d) for d in shape_str.split(",")) if shape_str else ()
        offset = int(offset_str)
        if offset < 0 or any(d < 0 for d in shape) or dtype.hasobject:
            raise ValueError("negative offset or dimension, or an object dtype")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"malformed layout leaf {arr_desc!r}: {exc}") from None
    got = (dtype, shape, offset, math.prod(shape) * dtype.itemsize)
    if len(_parsed) >= 1024:
        _parsed.clear()
    _parsed[arr_desc] = got
    return got


def calc_buffer_size(layout: Any) -> int:
    """Bytes a buffer needs for ``layout``: the end of its last array."""
    optree = _deps()[1]
    return max((off + size for _, _, off, size in map(_parse_arr_desc,
                                                      optree.tree_leaves(layout))), default=0)


def _check_structure(tree: Any, layout: Any) -> None:
    optree = _deps()[1]
    if optree.tree_structure(tree) != optree.tree_structure(layout):
        raise ValueError("NumpyTree structure does not match layout structure.")


def _check_leaf(arr: Any, desc: str) -> tuple[Any, tuple[int, ...], int, int]:
    dtype, shape, offset, size = _parse_arr_desc(desc)
    if not isinstance(arr, _deps()[0].ndarray):
        raise TypeError(f"Unsupported type in NumpyTree: {type(arr).__name__}")
    if arr.dtype != dtype:
        raise TypeError(f"dtype mismatch: layout={dtype}, arr={arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"shape mismatch: layout={shape}, arr={arr.shape}")
    return dtype, shape, offset, size


def validate_layout(tree: Any, layout: Any) -> None:
    """Check that ``tree`` fits ``layout``: ``ValueError`` for another
    structure or shape, ``TypeError`` for another dtype (or a non-array leaf)."""
    optree = _deps()[1]
    _check_structure(tree, layout)
    for arr, desc in zip(optree.tree_leaves(tree), optree.tree_leaves(layout)):
        _check_leaf(arr, desc)


def _bytes_of(buffer: Any, need: int, writable: bool) -> memoryview:
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(f"buffer must support the buffer protocol, not "
                        f"{type(buffer).__name__}") from None
    if writable and view.readonly:
        raise TypeError("buffer is read-only")
    if not view.c_contiguous:
        raise ValueError("buffer must be contiguous")
    view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
    if view.nbytes < need:
        raise ValueError(f"Provided buffer is smaller than required size "
                         f"({view.nbytes} < {need} bytes).")
    return view


def serialize_nptree(nptree: Any, layout: Any, buffer: Any = None) -> Any:
    """Copy each array of ``nptree`` to its place in ``buffer`` (a new zeroed
    ``bytearray`` of ``calc_buffer_size(layout)`` bytes when None) and return
    ``buffer``. ``ValueError`` if the tree does not fit the layout (structure,
    shape) or the buffer is too small; ``TypeError`` for another dtype."""
    np, optree = _deps()
    _check_structure(nptree, layout)
    leaves = list(zip(optree.tree_leaves(nptree), optree.tree_leaves(layout)))
    checked = [(arr, *_check_leaf(arr, desc)) for arr, desc in leaves]  # all before any write
    need = calc_buffer_size(layout)
    if buffer is None:
        buffer = bytearray(need)
    raw = _bytes_of(buffer, need, writable=True)
    for arr, dtype, shape, offset, size in checked:
        if size:
            np.copyto(np.ndarray(shape, dtype, raw, offset), arr, casting="no")
    del raw  # no export of the buffer outlives the call (SharedMemory.close() works)
    return buffer


def deserialize_nptree(layout: Any, buffer: Any = None) -> Any:
    """The tree of ``layout`` as arrays that are views of ``buffer`` (no copy;
    writable when the buffer is). ``buffer=None`` allocates a zeroed one.
    ``ValueError`` if the buffer is smaller than ``calc_buffer_size(layout)``."""
    np, optree = _deps()
    need = calc_buffer_size(layout)
    if buffer is None:
        buffer = bytearray(need)
    raw = _bytes_of(buffer, need, writable=False)

    def view(desc: str) -> Any:
        dtype, shape, offset, size = _parse_arr_desc(desc)
        if not size:  # an empty array needs no bytes (its offset may be at the end)
            return np.empty(shape, dtype)
        return np.ndarray(shape, dtype, raw, offset)

    return optree.tree_map(view, layout)
