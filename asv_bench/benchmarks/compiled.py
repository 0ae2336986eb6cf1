"""Scalar methods called from inside numba-compiled loops (``jitset._numba_extension``).

Each benchmark is one compiled call looping over ``N_LOOP`` (100,000) keys
or indices, so the reported time divided by 100,000 is the cost of one
method call from compiled code; compare with ``scalar.py``, where each of
1,000 calls comes from Python.  The loops are the bench command's own
(``jitset._bench.compiled_loops``), compiled in ``setup``.
"""

from __future__ import annotations

from jitset._bench import compiled_loops

from ._common import SIZES, absent_keys, base_set, present_keys, random_indices, warm_jit

#: Operations per compiled call.
N_LOOP = 100_000


def _loops():
    loops = compiled_loops()
    s = base_set(10_000)
    few = present_keys(10_000, 2)
    loops["contains"](s, few), loops["index"](s, few), loops["getitem"](s, random_indices(10_000, 2))
    loops["add_discard"](s.copy(), absent_keys(10_000, 2)), loops["passing"](s)  # compile (or load) them all
    return loops


class CompiledReads:
    """``k in s``, ``s.index(k)``, ``s[i]`` from a compiled loop, 100,000 each (read-only)."""

    params = [SIZES]
    param_names = ["size"]

    def setup(self, n):
        warm_jit()
        self.loops = _loops()
        self.s = base_set(n)
        self.present = present_keys(n, N_LOOP)
        self.indices = random_indices(n, N_LOOP)

    def time_contains(self, n):
        """100,000 x ``key in s`` for keys in the set, in one compiled loop."""
        self.loops["contains"](self.s, self.present)

    def time_index(self, n):
        """100,000 x ``s.index(key)``, in one compiled loop."""
        self.loops["index"](self.s, self.present)

    def time_getitem(self, n):
        """100,000 x ``s[i]`` at random indices, in one compiled loop."""
        self.loops["getitem"](self.s, self.indices)

    def time_pass_set_1000_calls(self, n):
        """1,000 calls of a compiled function taking the set and returning it (boxing and unboxing)."""
        passing, s = self.loops["passing"], self.s
        for _ in range(1_000):
            passing(s)


class CompiledWrites:
    """``add`` then ``discard`` of 100,000 new keys from a compiled loop, on a fresh copy of the set."""

    params = [SIZES]
    param_names = ["size"]
    number = 1  # mutates: one timed call per setup
    repeat = (3, 10, 10.0)

    def setup(self, n):
        warm_jit()
        self.loops = _loops()
        self.s = base_set(n).copy()
        self.new = absent_keys(n, N_LOOP)

    def time_add_then_discard(self, n):
        """100,000 x ``s.add(key)`` then 100,000 x ``s.discard(key)``, in one compiled call."""
        self.loops["add_discard"](self.s, self.new)
