"""Batch operations: one call with a NumPy array of keys.

A batch of ``m`` keys against a set of ``n`` in ``c`` chunks picks its
kernel from the keys per chunk (see ``jitset._strategy``): a few keys on
many chunks go key by key, more merge chunk by chunk in one walk; queries
likewise search each key or sweep once.  Both batch sizes run at every set
size, so each strategy is timed where it is chosen.
"""

from __future__ import annotations

from ._common import (
    BATCHES,
    SIZES,
    absent_keys,
    base_set,
    mixed_queries,
    present_keys,
    random_indices,
    warm_jit,
)


class BatchWrites:
    """``add_many``, ``discard_many``, ``replace_many`` on a fresh copy of the set.

    ``setup`` copies the memoized set before every timed call
    (``number = 1``), so each sample starts from the same keys and layout.
    """

    params = [SIZES, BATCHES]
    param_names = ["size", "batch"]
    number = 1  # mutates: one timed call per setup
    repeat = (3, 10, 10.0)

    def setup(self, n, m):
        warm_jit()
        self.s = base_set(n).copy()
        self.new = absent_keys(n, m)  # none in the set: all m are inserted
        self.old = present_keys(n, m)  # all in the set (repeats when m > n)

    def time_add_many(self, n, m):
        """``s.add_many(keys)``: ``m`` new keys in random order."""
        self.s.add_many(self.new)

    def time_discard_many(self, n, m):
        """``s.discard_many(keys)``: ``m`` keys of the set in random order."""
        self.s.discard_many(self.old)

    def time_replace_many(self, n, m):
        """``s.replace_many(old, new)``: remove ``m`` present keys, add ``m`` new ones."""
        self.s.replace_many(self.old, self.new)


class RangeRemoval:
    """Removing a run of consecutive keys (a tenth of the set, from a third of the way in).

    ``del s[i:j]`` and ``discard_irange`` drop the chunks inside the run
    without reading them; ``irange`` + ``discard_many`` is the two-call way
    they replace.  On a fresh copy of the set before every timed call.
    """

    params = [SIZES]
    param_names = ["size"]
    number = 1  # mutates: one timed call per setup
    repeat = (3, 10, 10.0)

    def setup(self, n):
        warm_jit()
        self.s = base_set(n).copy()
        self.i = n // 3
        self.j = self.i + n // 10
        self.lo, self.hi = int(self.s[self.i]), int(self.s[self.j - 1])

    def time_del_slice(self, n):
        """``del s[i:j]``: ``n // 10`` consecutive keys."""
        del self.s[self.i : self.j]

    def time_discard_irange(self, n):
        """``s.discard_irange(lo, hi)``: the same keys, by key range."""
        self.s.discard_irange(self.lo, self.hi)

    def time_irange_then_discard_many(self, n):
        """``s.discard_many(s.irange(lo, hi))``: the same keys, the two-call way."""
        self.s.discard_many(self.s.irange(self.lo, self.hi))


class BatchReads:
    """``contains_many``, ``searchsorted``, ``index_many``, ``take`` (read-only)."""

    params = [SIZES, BATCHES]
    param_names = ["size", "batch"]

    def setup(self, n, m):
        warm_jit()
        self.s = base_set(n)
        self.queries = mixed_queries(n, m)  # half present, half absent, shuffled
        self.indices = random_indices(n, m)

    def time_contains_many(self, n, m):
        """``s.contains_many(keys)``: ``m`` unsorted queries, half of them present."""
        self.s.contains_many(self.queries)

    def time_searchsorted(self, n, m):
        """``s.searchsorted(keys)``: ``m`` unsorted queries."""
        self.s.searchsorted(self.queries)

    def time_index_many(self, n, m):
        """``s.index_many(keys)``: ``m`` unsorted queries, -1 for the absent half."""
        self.s.index_many(self.queries)

    def time_take(self, n, m):
        """``s.take(indices)``: ``m`` random indices."""
        self.s.take(self.indices)
