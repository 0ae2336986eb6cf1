"""Memory: spare rows are bounded, and a set that shrinks a lot gives memory back."""

from __future__ import annotations

import numpy as np

from jitset import SortedSet


def _rows(s: SortedSet) -> tuple[int, int]:
    return s._store.nchunks, s._store.cap


def test_scalar_discards_give_memory_back():
    rng = np.random.default_rng(5)
    s = SortedSet(rng.integers(0, 2**40, 200_000), chunk_size=64)
    keys = s.to_numpy()
    peak = s.nbytes
    for k in keys[: len(keys) - 2_000].tolist():
        s.discard(k)
    s._check()
    used, cap = _rows(s)
    assert used * 4 >= cap, (used, cap)  # never under a quarter full
    assert s.nbytes < peak / 10
    assert s.to_numpy().tolist() == keys[-2_000:].tolist()


def test_batch_discards_give_memory_back():
    rng = np.random.default_rng(6)
    s = SortedSet(rng.integers(0, 2**40, 200_000), chunk_size=64)
    keys = s.to_numpy()
    peak = s.nbytes
    for part in np.array_split(keys[:-1_000], 50):  # small batches: the in-place path
        s.discard_many(part)
    s._check()
    used, cap = _rows(s)
    assert used * 4 >= cap, (used, cap)
    assert s.nbytes < peak / 10


def test_growth_keeps_spare_rows_bounded():
    rng = np.random.default_rng(7)
    s = SortedSet(chunk_size=64)
    for _ in range(40):
        s.add_many(rng.integers(0, 2**40, 5_000))
        used, cap = _rows(s)
        # growth is by an eighth, or by what a batch's split needs
        assert cap <= used * 1.125 + 8, (used, cap)
    for k in rng.integers(0, 2**40, 20_000).tolist():
        s.add(k)
    used, cap = _rows(s)
    assert cap <= used * 1.125 + 8  # growth is by an eighth
    s._check()
