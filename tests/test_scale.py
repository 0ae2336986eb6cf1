"""Ten million keys: every index a batch returns, checked against a replay on a NumPy array.

The model-based batch tests (test_batch.py) force each strategy on tiny
chunks; this test runs the strategies the set picks by itself at the size
where they change, with the default chunk size, on one seeded sequence of
batches: dense ones (100,000 keys, several per chunk) and sparse ones (a
few hundred keys on ~26,000 chunks, fewer than one per chunk).  About 6 s
here; marked ``large`` (selectable with ``-m large``, and run by default).
"""

from __future__ import annotations

import numpy as np
import pytest

from jitset import SortedSet, _strategy

N = 10_000_000
HIGH = 2**62

pytestmark = pytest.mark.large


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values: sort + mask (np.unique hashes in NumPy 2.x, ~10x slower at 10^7)."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if len(a) else a


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _unique(np.concatenate([a, b]))


def _without(a: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """Sorted ``a`` without the sorted ``gone`` (all of which are in ``a``)."""
    keep = np.ones(len(a), dtype=bool)
    keep[np.searchsorted(a, gone)] = False
    return a[keep]


def _fresh(rng, avoid: np.ndarray, m: int) -> np.ndarray:
    """``m`` distinct random keys not in the sorted ``avoid``, in random order."""
    out = _unique(rng.integers(-HIGH, HIGH, m + m // 8 + 8))
    pos = np.minimum(np.searchsorted(avoid, out), len(avoid) - 1)
    out = out[avoid[pos] != out][:m]
    assert len(out) == m
    return rng.permutation(out)


def _present(rng, keys: np.ndarray, m: int) -> np.ndarray:
    """``m`` distinct keys of the sorted ``keys``, in random order (with a few repeats added)."""
    picked = keys[_unique(rng.integers(0, len(keys), m))]
    return rng.permutation(np.concatenate([picked, picked[: m // 50]]))


def test_ten_million_keys_against_numpy_replay():
    rng = np.random.default_rng(20261201)
    model = _unique(rng.integers(-HIGH, HIGH, N))
    s = SortedSet(rng.permutation(model))  # the bulk build, from unsorted keys
    assert len(s) == len(model)
    picks = []
    for step, m in enumerate([100_000, 300, 100_000, 40, 30_000, 2_000, 100_000, 1]):
        kind = ("add", "discard", "replace")[step % 3]
        if kind == "add":
            new = _fresh(rng, model, m)
            batch = np.concatenate([new, model[rng.integers(0, len(model), m // 10)]])  # some present
            picks.append(_strategy.add(m, s._store.nchunks))
            got = s.add_many(batch)
            after = _union(model, new)
            assert np.array_equal(got, np.searchsorted(after, np.sort(new)))
        elif kind == "discard":
            old = _present(rng, model, m)
            batch = np.concatenate([old, _fresh(rng, model, m // 10 + 1)])  # some absent
            got = s.discard_many(batch)
            gone = _unique(old)
            assert np.array_equal(got, np.searchsorted(model, gone))
            after = _without(model, gone)
        else:
            old = _unique(_present(rng, model, m))
            new = _fresh(rng, model, m)
            removed, inserted = s.replace_many(old, new)
            assert np.array_equal(removed, np.searchsorted(model, old))
            after = _union(_without(model, old), new)
            assert np.array_equal(inserted, np.searchsorted(after, np.sort(new)))
        model = after
        assert len(s) == len(model)
        # the queries, at the same two densities
        q = np.concatenate([model[rng.integers(0, len(model), m)], _fresh(rng, model, m)])
        q = rng.permutation(q)
        ranks = np.searchsorted(model, q)
        assert np.array_equal(s.searchsorted(q), ranks)
        found = model[np.minimum(ranks, len(model) - 1)] == q
        assert np.array_equal(s.contains_many(q), found)
        assert np.array_equal(s.index_many(q), np.where(found, ranks, -1))
        idx = rng.integers(-len(model), len(model), m)
        assert np.array_equal(s.take(idx), model[idx])
        for i in idx[:20].tolist():  # the scalar descent (prefetching on ~26,000 positions)
            assert s[i] == model[i]
    # both insertion strategies ran, picked by the set itself
    assert set(picks) == {"local", "merge"}
    s._check()
    assert np.array_equal(s.to_numpy(), model)
