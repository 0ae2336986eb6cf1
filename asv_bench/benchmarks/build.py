"""Building sets, and set algebra: two sets of the same size, and a small set with a large one."""

from __future__ import annotations

import functools

import numpy as np

from jitset import SortedSet
from jitset._bench_scale import _long_lived

from ._common import CHUNKS, SIZES, base_set, mixed_queries, other_set, sorted_keys, unsorted_keys, warm_jit


class Build:
    """``SortedSet(array)`` (sort + dedupe + fill) and ``SortedSet.from_sorted(array)`` (verify + fill)."""

    params = [SIZES, CHUNKS]
    param_names = ["size", "chunk_size"]
    timeout = 120  # 1M keys, re-set-up before every sample

    def setup(self, n, chunk):
        warm_jit()
        self.unsorted = unsorted_keys(n)
        self.sorted = sorted_keys(n)

    def time_build_unsorted(self, n, chunk):
        """``SortedSet(keys, chunk_size=c)`` from ``n`` distinct int64 keys in random order."""
        SortedSet(self.unsorted, chunk_size=chunk)

    def time_from_sorted(self, n, chunk):
        """``SortedSet.from_sorted(keys, chunk_size=c)`` from ``n`` ascending keys."""
        SortedSet.from_sorted(self.sorted, chunk_size=chunk)


class SetAlgebra:
    """The four operators on two ``n``-key sets sharing half their keys (fresh ``from_sorted``).

    Each returns a new set, written in one walk over both sets' chunks.
    """

    params = [SIZES]
    param_names = ["size"]

    def setup(self, n):
        warm_jit()
        self.a = base_set(n)
        self.b = other_set(n)

    def time_union(self, n):
        """``a | b``: 1.5 n keys out."""
        self.a | self.b

    def time_intersection(self, n):
        """``a & b``: n / 2 keys out."""
        self.a & self.b

    def time_difference(self, n):
        """``a - b``: n / 2 keys out."""
        self.a - self.b

    def time_symmetric_difference(self, n):
        """``a ^ b``: n keys out."""
        self.a ^ self.b


@functools.lru_cache(maxsize=None)
def _long_lived_pair(n: int) -> tuple:
    """Two independent long-lived ``n``-key sets (memoized, never mutated): see _bench_scale._long_lived."""
    rng = np.random.default_rng(n)
    a = _long_lived(SortedSet(rng.integers(0, 2**62, n)), rng)
    b = _long_lived(SortedSet(rng.integers(0, 2**62, n)), rng)
    return a, b


class SetAlgebraLongLived:
    """Operators and in-place forms on two independent sets after five rounds of batches.

    The inputs users more often have: keys that interleave one by one and
    chunks whose rows lie anywhere in memory.
    """

    params = [[10**5, 10**6]]
    param_names = ["size"]
    number = 1  # the in-place forms mutate: one timed call per setup
    timeout = 120

    def setup(self, n):
        warm_jit()
        self.a, self.b = _long_lived_pair(n)
        self.c = self.a.copy()

    def time_union(self, n):
        self.a | self.b

    def time_difference(self, n):
        self.a - self.b

    def time_in_place_union(self, n):
        """``c |= b`` on a copy of ``a``."""
        self.c |= self.b

    def time_in_place_intersection(self, n):
        self.c &= self.b

    def time_in_place_difference(self, n):
        self.c -= self.b


class SmallWithLarge:
    """1,000 keys with ``n``: answered by searching the large set, not walking it."""

    params = [[10**6, 10**7]]
    param_names = ["size"]

    def setup(self, n):
        warm_jit()
        self.big = base_set(n)
        self.keys = mixed_queries(n, 1_000)
        self.small = SortedSet(self.keys)

    def time_big_and_small(self, n):
        self.big & self.small

    def time_small_and_big(self, n):
        self.small & self.big

    def time_contains_many_reference(self, n):
        """What ``big & small`` is measured against."""
        self.big.contains_many(self.keys)
