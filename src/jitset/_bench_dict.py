"""``python -m jitset bench``'s SortedDict table: the dict against the set and its peers.

Every case runs on the same keys as the set's table (:func:`jitset._bench._make_keys`),
with a float64 value per key: a :class:`jitset.SortedDict`, the
:class:`jitset.SortedSet` of the same keys (what the dict costs over the
set), ``sortedcontainers.SortedDict`` and NumPy (a sorted keys array and a
values array beside it).  Each case restores its dict (untimed) after
every run, as the set's table does.
"""

from __future__ import annotations

import sys
from typing import Callable, TextIO

import numpy as np

from jitset._bench import (
    PYTHON_PEERS_MAX,
    _Case,
    _fmt_ratio,
    _fmt_value,
    _interleaved,
    _Keys,
    _make_keys,
    _progress,
)
from jitset._plumbing import cached

__all__ = ["run", "table"]

#: Rows: (name, what is timed).  Scalar rows are ns per call, batch rows ns per key.
ROWS = [
    ("d[k] = v", "a new key"),
    ("del d[k]", "a present key"),
    ("d[k]", "a present key"),
    ("update_many", "upsert, new keys"),
    ("get_many", "half present, default"),
    ("irange_items", "per item returned"),
    ("compiled d[k] = v", "from an @njit loop"),
    ("compiled del d[k]", "from an @njit loop"),
    ("memory", "bytes per item"),
]

#: What the set does in each row's place (its ratio says what the values cost).
SET_COUNTERPART = {
    "d[k] = v": "add", "del d[k]": "discard", "d[k]": "in", "update_many": "add_many",
    "get_many": "contains_many", "irange_items": "irange", "compiled d[k] = v": "compiled add",
    "compiled del d[k]": "compiled discard", "memory": "memory",
}


@cached
def _put_loop(d, keys, value):
    for k in keys:
        d[k] = value


@cached
def _del_loop(d, keys):
    for k in keys:
        del d[k]


@cached
def _add_loop(s, keys):
    for k in keys:
        s.add(k)


@cached
def _discard_loop(s, keys):
    for k in keys:
        s.discard(k)


def _loop(fn, items) -> Callable[[], None]:
    def run():
        for x in items:
            fn(x)

    return run


def _jitset_cases(d: _Keys, values: np.ndarray, new_values: np.ndarray) -> tuple[dict, dict]:
    """The dict's cases and the set's counterparts, by row."""
    from jitset import SortedDict, SortedSet

    m = SortedDict(d.keys, values)
    s = SortedSet.from_sorted(d.keys)
    new, old = d.scalar_new, d.scalar_old
    new_arr, old_arr = np.array(new), np.array(old)
    old_values = m.get_many(old_arr)
    lo, hi = int(d.keys[len(d.keys) // 3]), int(d.keys[len(d.keys) // 3 + len(d.new) - 1])
    span = int(np.searchsorted(d.keys, hi, "right") - np.searchsorted(d.keys, lo))
    _put_loop(m, new_arr[:1], 1.0), m.pop_many(new_arr[:1])  # compile (or load) the loops before timing
    _del_loop(m, new_arr[:0]), _add_loop(s, new_arr[:0]), _discard_loop(s, new_arr[:0])
    put_back = lambda: m.update_many(old_arr, old_values)  # noqa: E731
    dict_cases = {
        "d[k] = v": _Case(_loop(lambda k: m.__setitem__(k, 0.5), new), len(new), restore=lambda: m.pop_many(new_arr)),
        "del d[k]": _Case(_loop(m.__delitem__, old), len(old), restore=put_back),
        "d[k]": _Case(_loop(m.__getitem__, old), len(old)),
        "update_many": _Case(lambda: m.update_many(d.new, new_values), len(d.new), restore=lambda: m.pop_many(d.new)),
        "get_many": _Case(lambda: m.get_many(d.queries, 0.0), len(d.queries)),
        "irange_items": _Case(lambda: m.irange_items(lo, hi), span),
        "compiled d[k] = v": _Case(lambda: _put_loop(m, new_arr, 0.5), len(new), restore=lambda: m.pop_many(new_arr)),
        "compiled del d[k]": _Case(lambda: _del_loop(m, old_arr), len(old), restore=put_back),
        "memory": _Case(lambda: None, 1, value=SortedDict(d.unsorted, np.ones(len(d.keys))).nbytes / len(d.keys)),
    }
    set_cases = {
        "d[k] = v": _Case(_loop(s.add, new), len(new), restore=lambda: s.discard_many(new_arr)),
        "del d[k]": _Case(_loop(s.discard, old), len(old), restore=lambda: s.add_many(old_arr)),
        "d[k]": _Case(_loop(s.__contains__, old), len(old)),
        "update_many": _Case(lambda: s.add_many(d.new), len(d.new), restore=lambda: s.discard_many(d.new)),
        "get_many": _Case(lambda: s.contains_many(d.queries), len(d.queries)),
        "irange_items": _Case(lambda: s.irange(lo, hi), span),
        "compiled d[k] = v": _Case(lambda: _add_loop(s, new_arr), len(new), restore=lambda: s.discard_many(new_arr)),
        "compiled del d[k]": _Case(lambda: _discard_loop(s, old_arr), len(old), restore=lambda: s.add_many(old_arr)),
        "memory": _Case(lambda: None, 1, value=SortedSet(d.unsorted).nbytes / len(d.keys)),
    }
    return dict_cases, set_cases


def _numpy_cases(d: _Keys, values: np.ndarray, new_values: np.ndarray) -> dict:
    """A sorted keys array with a values array beside it: ``searchsorted`` + ``np.insert``."""
    state = {"k": d.keys, "v": values}
    new, old = d.scalar_new[:200], d.scalar_old[:200]  # each call copies both arrays: a few suffice
    snapshot = lambda: state.update(k=d.keys, v=values)  # noqa: E731

    def put(k):
        i = np.searchsorted(state["k"], k)
        state["k"], state["v"] = np.insert(state["k"], i, k), np.insert(state["v"], i, 0.5)

    def delete(k):
        i = np.searchsorted(state["k"], k)
        state["k"], state["v"] = np.delete(state["k"], i), np.delete(state["v"], i)

    def get(k):
        return state["v"][np.searchsorted(state["k"], k)]

    def update_many():
        order = np.argsort(d.new, kind="stable")
        nk, nv = d.new[order], new_values[order]
        keys = state["k"]
        pos = np.searchsorted(keys, nk)
        hit = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == nk)
        v = state["v"].copy()
        v[pos[hit]] = nv[hit]
        return np.insert(keys, pos[~hit], nk[~hit]), np.insert(v, pos[~hit], nv[~hit])

    def get_many():
        keys = state["k"]
        pos = np.minimum(np.searchsorted(keys, d.queries), len(keys) - 1)
        return np.where(keys[pos] == d.queries, state["v"][pos], 0.0)

    lo, hi = int(d.keys[len(d.keys) // 3]), int(d.keys[len(d.keys) // 3 + len(d.new) - 1])

    def irange_items():
        keys = state["k"]
        i, j = np.searchsorted(keys, lo), np.searchsorted(keys, hi, "right")
        return keys[i:j].copy(), state["v"][i:j].copy()

    span = int(np.searchsorted(d.keys, hi, "right") - np.searchsorted(d.keys, lo))
    return {
        "d[k] = v": _Case(_loop(put, new), len(new), restore=snapshot),
        "del d[k]": _Case(_loop(delete, old), len(old), restore=snapshot),
        "d[k]": _Case(_loop(get, d.scalar_old), len(d.scalar_old)),
        "update_many": _Case(update_many, len(d.new)),
        "get_many": _Case(get_many, len(d.queries)),
        "irange_items": _Case(irange_items, span),
        "memory": _Case(lambda: None, 1, value=16.0),
    }


def _sortedcontainers_cases(d: _Keys, values: np.ndarray, new_values: np.ndarray) -> dict:
    from sortedcontainers import SortedDict

    m = SortedDict(zip(d.as_list("keys"), values.tolist()))
    new, old = d.scalar_new, d.scalar_old
    old_items = [(k, m[k]) for k in old]
    batch = dict(zip(d.as_list("new"), new_values.tolist()))
    queries = d.as_list("queries")
    lo, hi = int(d.keys[len(d.keys) // 3]), int(d.keys[len(d.keys) // 3 + len(d.new) - 1])
    span = int(np.searchsorted(d.keys, hi, "right") - np.searchsorted(d.keys, lo))

    def drop(keys):
        for k in keys:
            del m[k]

    def irange_items():
        keys = list(m.irange(lo, hi))
        return keys, [m[k] for k in keys]

    return {
        "d[k] = v": _Case(_loop(lambda k: m.__setitem__(k, 0.5), new), len(new), restore=lambda: drop(new)),
        "del d[k]": _Case(_loop(m.__delitem__, old), len(old), restore=lambda: m.update(old_items)),
        "d[k]": _Case(_loop(m.__getitem__, old), len(old)),
        "update_many": _Case(lambda: m.update(batch), len(batch), restore=lambda: drop(batch),
                             note="SortedDict.update(dict)"),
        "get_many": _Case(lambda: [m.get(k, 0.0) for k in queries], len(queries), note="[d.get(k) for k in list]"),
        "irange_items": _Case(irange_items, span, note="irange, then d[k] for each key"),
        "memory": _Case(lambda: None, 1, value=_dict_bytes(m) / len(m), note="sys.getsizeof of its dict, lists, "
                        "int keys and float values"),
    }


def _dict_bytes(m) -> int:
    """Deep size of a sortedcontainers.SortedDict: its dict, its sorted list and the objects."""
    sl = m._list  # sortedcontainers internals, stable since 2.0
    total = sys.getsizeof(m) + sys.getsizeof(sl._lists) + sys.getsizeof(sl._maxes)
    total += sum(sys.getsizeof(x) for x in sl._lists) + sum(sys.getsizeof(x) for x in getattr(sl, "_index", []))
    total += sum(sys.getsizeof(k) for k in m) + sum(sys.getsizeof(v) for v in m.values())
    return total


def table(d: _Keys, repeats: int, out: TextIO, progress: Callable[[str], None]) -> dict:
    """Time every row for the dict, the set and the peers; print the table; return ``{row: {peer: ns}}``."""
    rng = np.random.default_rng(7)
    values, new_values = rng.random(len(d.keys)), rng.random(len(d.new))
    dict_cases, set_cases = _jitset_cases(d, values, new_values)
    peers = {"numpy": _numpy_cases(d, values, new_values)}
    notes = []
    if len(d.keys) <= PYTHON_PEERS_MAX:
        try:
            peers["sortedcontainers"] = _sortedcontainers_cases(d, values, new_values)
        except ImportError:
            notes.append("sortedcontainers: skipped, not installed (pip install sortedcontainers)")
    results: dict = {}
    for row, _ in ROWS:
        cases = {"jitset": dict_cases[row], "SortedSet": set_cases[row]}
        cases.update({name: c[row] for name, c in peers.items() if row in c})
        results[row] = _interleaved(cases, repeats)  # the dict and the set alternate: close ratios
        progress(f"dict {row:<18}" + "  ".join(f"{p}={_fmt_value(v)}" for p, v in results[row].items()))
        for name, c in peers.items():
            if row in c and c[row].note:
                notes.append(f"{name} {row}: {c[row].note}")
    names = ["SortedSet"] + list(peers)
    print(f"\nSortedDict: {len(d.keys):,} random 63-bit keys -> float64, batches of {len(d.new):,}; "
          f"ns per call (batches: per key; memory: bytes per item); ratio = jitset / peer "
          "(SortedSet: the set's counterpart of the row)", file=out)
    head = f"{'operation':<18} {'':<22} {'jitset':>9}" + "".join(f" | {n:>19}" for n in names)
    print(head, file=out)
    print("-" * len(head), file=out)
    for row, what in ROWS:
        r = results[row]
        line = f"{row:<18} {what:<22} {_fmt_value(r['jitset']):>9}"
        for n in names:
            peer = r.get(n)
            line += f" | {_fmt_value(peer):>10} {_fmt_ratio(r['jitset'] / peer if peer else None):>8}"
        print(line, file=out)
    print("  SortedSet's counterparts: " + ", ".join(f"{k}: {v}" for k, v in SET_COUNTERPART.items()), file=out)
    for note in notes:
        print(f"  - {note}", file=out)
    return results


def run(size: int = 1_000_000, batch: int = 100_000, repeats: int = 5, out: TextIO = sys.stdout) -> int:
    """The dict table alone (``python -m jitset bench --dict``); 0, an exit status."""
    progress = _progress(__import__("time").perf_counter())
    d = _make_keys(size, batch, min(5_000, size), seed=12345)
    table(d, repeats, out, progress)
    return 0
