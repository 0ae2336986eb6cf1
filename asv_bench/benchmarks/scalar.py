"""Scalar operations: one key per call, from Python.

Every benchmark times a Python loop of ``N_CALLS`` (1,000) calls, so the
reported time divided by 1,000 is the time of one call, loop overhead
(~20 ns per iteration) included.  Keys are Python ints, the common fast path.
"""

from __future__ import annotations

from ._common import (
    CHUNKS,
    N_CALLS,
    SIZES,
    absent_keys,
    base_set,
    present_keys,
    random_indices,
    warm_jit,
)


class ScalarReads:
    """``x in s``, ``s[i]``, ``s.index(x)``, ``s.bisect_left(x)``, ``s.floor(x)``: 1,000 calls each.

    Read-only, so every call works on the same memoized set.
    """

    params = [SIZES]
    param_names = ["size"]

    def setup(self, n):
        warm_jit()
        self.s = base_set(n)
        self.present = present_keys(n, N_CALLS).tolist()
        # bisect/floor queries fall between keys: the search never stops early
        self.between = absent_keys(n, N_CALLS).tolist()
        self.indices = random_indices(n, N_CALLS).tolist()

    def time_contains(self, n):
        """1,000 x ``key in s`` for keys in the set."""
        s = self.s
        for k in self.present:
            k in s

    def time_getitem(self, n):
        """1,000 x ``s[i]`` at random indices."""
        s = self.s
        for i in self.indices:
            s[i]

    def time_index(self, n):
        """1,000 x ``s.index(key)`` for keys in the set."""
        index = self.s.index
        for k in self.present:
            index(k)

    def time_bisect_left(self, n):
        """1,000 x ``s.bisect_left(key)`` for keys between the set's keys."""
        bisect_left = self.s.bisect_left
        for k in self.between:
            bisect_left(k)

    def time_floor(self, n):
        """1,000 x ``s.floor(key)`` (a bisect then an ``s[i]``) for keys between the set's keys."""
        floor = self.s.floor
        for k in self.between:
            floor(k)


class ScalarWrites:
    """``s.add(x)``, ``s.insert(x)`` and ``s.discard(x)``: 1,000 calls each, on a fresh copy of the set.

    ``setup`` runs again before every timed call (``number = 1``) and copies
    the memoized set, so every sample starts from the same keys and layout.
    Chunk size matters here: an insert shifts on average half a chunk.
    """

    params = [SIZES, CHUNKS]
    param_names = ["size", "chunk_size"]
    number = 1  # mutates: one timed call per setup
    repeat = (3, 10, 10.0)

    def setup(self, n, chunk):
        warm_jit()
        self.s = base_set(n, chunk).copy()
        self.new = absent_keys(n, N_CALLS).tolist()
        self.old = present_keys(n, N_CALLS).tolist()

    def time_add(self, n, chunk):
        """1,000 x ``s.add(key)`` of keys not yet in the set."""
        add = self.s.add
        for k in self.new:
            add(k)

    def time_insert(self, n, chunk):
        """1,000 x ``s.insert(key)`` (index and whether it was added) of keys not yet in the set."""
        insert = self.s.insert
        for k in self.new:
            insert(k)

    def time_discard(self, n, chunk):
        """1,000 x ``s.discard(key)`` of keys in the set."""
        discard = self.s.discard
        for k in self.old:
            discard(k)

    def time_add_then_discard(self, n, chunk):
        """1,000 x ``s.add(key)`` then 1,000 x ``s.discard(key)`` of the same keys: size unchanged."""
        s = self.s
        add, discard = s.add, s.discard
        for k in self.new:
            add(k)
        for k in self.new:
            discard(k)
