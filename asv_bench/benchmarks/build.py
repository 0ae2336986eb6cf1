"""Building sets, and set algebra between two sets of the same size."""

from __future__ import annotations

from jitset import SortedSet

from ._common import CHUNKS, SIZES, base_set, other_set, sorted_keys, unsorted_keys, warm_jit


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
    """``a | b`` and ``a & b`` for two ``n``-key sets sharing half their keys.

    Both return a new set (one merge of the sorted runs, then a fill).
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
