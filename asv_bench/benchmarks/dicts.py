"""SortedDict: int64 keys to float64 values, the set's keys (``_common``).

Scalar rows time 1,000 calls from Python (divide by 1,000 for one call);
batch rows one call with ``m`` keys.  Writes work on a fresh copy of the
memoized dict before every timed call (``number = 1``).
"""

from __future__ import annotations

import functools

import numpy as np

from jitset import SortedDict

from ._common import N_CALLS, absent_keys, mixed_queries, present_keys, sorted_keys

#: Smaller than the set's sizes: asv runs every combination in CI once.
DICT_SIZES = [10**4, 10**6]


@functools.lru_cache(maxsize=None)
def base_dict(n: int) -> SortedDict:
    """The ``n``-item dict (memoized): NEVER mutate it; mutate ``base_dict(n).copy()``."""
    keys = sorted_keys(n)
    return SortedDict(keys, np.arange(n, dtype=np.float64))


@functools.lru_cache(maxsize=None)
def _warm() -> None:
    """Every call once, so no timing includes compiling or loading kernels."""
    d = SortedDict(np.arange(0, 20_000, 2), np.zeros(10_000), chunk_size=64)
    d[1] = 1.0
    del d[1]
    d.get(2), d.get_many(np.array([2, 3]), 0.0), d.irange_items(0, 100)
    for batch in (np.array([1, 3, 5]), np.arange(1, 8_001, 2)):  # both merge strategies
        d.update_many(batch, np.ones(len(batch)))
        d.pop_many(batch)
    big = np.arange(1, 300_001, 2)
    d.get_many(big, 0.0)  # the sorted sweep
    d.pop_many(np.arange(0, 20_000, 2))  # every key: the rebuild path


class DictScalar:
    """``d[k] = v`` (new keys), ``del d[k]``, ``d[k]``: 1,000 calls each."""

    params = [DICT_SIZES]
    param_names = ["size"]
    number = 1  # mutates: one timed loop per setup
    repeat = (3, 10, 10.0)

    def setup(self, n):
        _warm()
        self.d = base_dict(n).copy()
        self.new = absent_keys(n, N_CALLS).tolist()
        self.old = present_keys(n, N_CALLS).tolist()

    def time_setitem_new(self, n):
        d = self.d
        for k in self.new:
            d[k] = 0.5

    def time_delitem(self, n):
        d = self.d
        for k in self.old:
            del d[k]

    def time_getitem(self, n):
        d = self.d
        for k in self.old:
            d[k]


class DictBatches:
    """``update_many`` (new keys), ``get_many`` (half present), ``pop_many``, ``irange_items``."""

    params = [DICT_SIZES, [100_000]]
    param_names = ["size", "batch"]
    number = 1
    repeat = (3, 10, 10.0)

    def setup(self, n, m):
        _warm()
        self.d = base_dict(n).copy()
        self.new = absent_keys(n, m)
        self.values = np.ones(m)
        self.queries = mixed_queries(n, m)
        self.old = present_keys(n, min(m, n))
        keys = sorted_keys(n)
        self.lo, self.hi = int(keys[n // 3]), int(keys[n // 3 + n // 10])

    def time_update_many(self, n, m):
        self.d.update_many(self.new, self.values)

    def time_get_many(self, n, m):
        self.d.get_many(self.queries, 0.0)

    def time_pop_many(self, n, m):
        self.d.pop_many(self.old)

    def time_irange_items(self, n, m):
        """A tenth of the dict, from a third of the way in."""
        self.d.irange_items(self.lo, self.hi)


class DictMemory:
    """Bytes per item after a bulk build (key and value bytes: 16)."""

    params = [DICT_SIZES]
    param_names = ["size"]
    unit = "bytes/item"

    def track_bytes_per_item(self, n):
        return base_dict(n).nbytes / n
