"""Colliding keys: ConcurrentDict / ConcurrentSet against dict / set when
every key has the same hash (issue 15: an attacker who chooses the keys).

    python bench/bench_collisions.py            # table (n = 2000)
    python bench/bench_collisions.py --json     # JSON on stdout
    python bench/bench_collisions.py --quick    # n = 200 (smoke test)

Keys are instances of a class with ``__hash__`` returning 1 and ``__eq__``
comparing an int field (each call counted). Rows: inserting the n keys into
an empty mapping (``d[k] = None`` / ``s.add(k)``), then one lookup of a key
that is absent (it meets all n stored keys). Times are the best of
``--repeat`` runs; ``eq`` is the number of ``__eq__`` calls of one run (dict
makes n(n-1)/2 for the inserts and n for the lookup). Goal: ratio to dict /
set <= 3.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import interlock.collections as ic

from _timing import environment


class Key:
    __slots__ = ("v",)
    calls = 0

    def __init__(self, v):
        self.v = v

    def __hash__(self):
        return 1

    def __eq__(self, other):
        Key.calls += 1
        return isinstance(other, Key) and self.v == other.v


def run(factory, add, keys, probe, repeat):
    best_ins = best_get = float("inf")
    eq_ins = eq_get = 0
    for _ in range(repeat):
        m = factory()
        Key.calls = 0
        t0 = time.perf_counter()
        for k in keys:
            add(m, k)
        t1 = time.perf_counter()
        eq_ins = Key.calls
        Key.calls = 0
        t2 = time.perf_counter()
        assert probe not in m
        t3 = time.perf_counter()
        eq_get = Key.calls
        best_ins = min(best_ins, t1 - t0)
        best_get = min(best_get, t3 - t2)
    return {"insert_s": best_ins, "lookup_s": best_get, "insert_eq": eq_ins, "lookup_eq": eq_get}


def dict_set(m, k):
    m[k] = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.n, a.repeat = 200, 1
    keys = [Key(i) for i in range(a.n)]
    probe = Key(-1)
    rows = {
        "dict": run(dict, dict_set, keys, probe, a.repeat),
        "ConcurrentDict": run(ic.ConcurrentDict, dict_set, keys, probe, a.repeat),
        "set": run(set, set.add, keys, probe, a.repeat),
        "ConcurrentSet": run(ic.ConcurrentSet, ic.ConcurrentSet.add, keys, probe, a.repeat),
    }
    ratios = {
        "ConcurrentDict/dict insert": rows["ConcurrentDict"]["insert_s"] / rows["dict"]["insert_s"],
        "ConcurrentDict/dict lookup": rows["ConcurrentDict"]["lookup_s"] / rows["dict"]["lookup_s"],
        "ConcurrentSet/set insert": rows["ConcurrentSet"]["insert_s"] / rows["set"]["insert_s"],
        "ConcurrentSet/set lookup": rows["ConcurrentSet"]["lookup_s"] / rows["set"]["lookup_s"],
    }
    report = {"environment": environment(), "n": a.n, "rows": rows, "ratios": ratios}
    if a.json:
        json.dump(report, sys.stdout, indent=1)
        print()
        return
    print(f"n = {a.n} keys with one hash; {sys.version.split()[0]}")
    print(f"{'':16}{'insert s':>10}{'insert eq':>11}{'lookup ms':>11}{'lookup eq':>11}")
    for name, r in rows.items():
        print(f"{name:16}{r['insert_s']:10.3f}{r['insert_eq']:11d}{r['lookup_s'] * 1e3:11.3f}"
              f"{r['lookup_eq']:11d}")
    for name, v in ratios.items():
        print(f"{name:30}{v:6.2f}")


if __name__ == "__main__":
    main()
