"""Freeing a deep chain of native containers is safe at any depth (issue 15).

Each chain is built and freed in a child interpreter, so that a crash (the
C stack overflowing in a recursive tp_dealloc) is a failed test, not a dead
test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# name -> (depth, statement making `obj` a container of `prev`)
CHAINS = {
    "AtomicReference": (500_000, "from interlock.atomic import AtomicReference as C\n"
                                 "make = lambda prev: C(prev)"),
    # A Python subclass's instances (freed by subtype_dealloc, which the
    # abi3 wheel's own trashcan leaves to CPython's) between native ones.
    "AtomicReference+subclass": (200_000, "from interlock.atomic import AtomicReference as C\n"
                                          "class S(C):\n    pass\n"
                                          "make = lambda prev: S(prev) if isinstance(prev, C) and"
                                          " type(prev) is C else C(prev)"),
    # Lists (CPython's trashcan) between native links.
    "AtomicReference+list": (200_000, "from interlock.atomic import AtomicReference as C\n"
                                      "make = lambda prev: [C(prev)]"),
    "syncx.AtomicReference": (300_000, "from interlock.compat.syncx.atomic import AtomicReference as C\n"
                                       "make = lambda prev: C(prev)"),
    "ft_utils.AtomicReference": (300_000, "from interlock.compat.ft_utils.concurrency import AtomicReference as C\n"
                                          "make = lambda prev: C(prev)"),
    "Queue": (100_000, "from interlock.collections import Queue\n"
                       "def make(prev):\n    q = Queue()\n    q.put(prev)\n    return q"),
    "ConcurrentQueue": (100_000, "from interlock.collections import ConcurrentQueue\n"
                                 "def make(prev):\n    q = ConcurrentQueue()\n    q.push(prev)\n    return q"),
    "StdConcurrentQueue": (100_000, "from interlock.collections import StdConcurrentQueue\n"
                                    "def make(prev):\n    q = StdConcurrentQueue()\n    q.put(prev)\n    return q"),
    "ConcurrentGatheringIterator": (
        100_000, "from interlock.collections import ConcurrentGatheringIterator as G\n"
                 "def make(prev):\n    g = G()\n    g.insert(0, prev)\n    return g"),
    "LocalWrapper": (300_000, "from interlock.collections import LocalWrapper as C\n"
                              "make = lambda prev: C(prev)"),
    "ConcurrentDict": (100_000, "from interlock.collections import ConcurrentDict\n"
                                "def make(prev):\n    d = ConcurrentDict()\n    d[0] = prev\n    return d"),
    "ConcurrentSet": (100_000, "from interlock.collections import ConcurrentSet\n"
                               "class Box:\n    __slots__ = ('v',)\n"
                               "def make(prev):\n    b = Box()\n    b.v = prev\n"
                               "    s = ConcurrentSet()\n    s.add(b)\n    return s"),
    "Once": (100_000, "from interlock.locks import Once\n"
                      "def make(prev):\n    o = Once()\n    o.call(lambda: prev)\n    return o"),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_deep_chain_frees(name):
    depth, setup = CHAINS[name]
    code = setup + textwrap.dedent(f"""
        import gc
        gc.disable()  # free by reference count, link after link
        obj = None
        for _ in range({depth}):
            obj = make(obj)
        del obj
        gc.enable()
        gc.collect()
        print("freed")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.strip() == "freed"
