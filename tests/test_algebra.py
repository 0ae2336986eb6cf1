"""Model-based tests of set algebra: every operator and in-place form against Python sets.

A hypothesis state machine keeps three operand slots, each a
:class:`jitset.SortedSet` beside a Python ``set`` of the same keys, and drives
them through ``|``, ``&``, ``-``, ``^``, their in-place forms, the
several-operand methods, the ``*_update`` methods and the comparisons.  The
other operand is a set of the same dtype (same or another chunk size), a
NumPy array (unsorted, with repeats), a list or a generator.  Operands are
empty, one key, about one chunk, many chunks or much larger than the other;
their keys come from ranges that overlap or are disjoint, with or without
the dtype's extremes; they are fresh (built by each constructor) or
long-lived (churned by batches).  After every step, ``_check()`` runs on the
result and on every operand, and every operand's content is compared with
its Python set: operands of a binary operation stay unchanged, in-place forms
keep the set's header (compiled code holding the set stays valid).  Both
paths of the in-place forms (editing the chunks, adopting a walk's new
chunks) are forced in turn.

Dtypes: int64, float64 and a wide key (``S12``, two words), whose kernels
other tests compile anyway; chunk sizes 4 and 8, so that every walk crosses
many chunks and runs cross chunk ends.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from jitset import SortedSet, _strategy
from jitset._storage import rows_for
from test_model import assert_compares_like_sets

# ------------------------------------------------------------------ keys of each dtype
# Keys are made from integers, so that two operands drawn from the same range
# overlap and from far-apart ranges are disjoint, whatever the dtype.

_I64 = np.iinfo(np.int64)
_F64 = np.finfo(np.float64)


def _int64_keys(ints: np.ndarray) -> np.ndarray:
    return ints.astype(np.int64)


def _float64_keys(ints: np.ndarray) -> np.ndarray:
    return ints.astype(np.float64) / 4  # fractions too; never -0.0


def _s12_keys(ints: np.ndarray) -> np.ndarray:
    # zero-padded, so that byte order is integer order (ints are > -10**10)
    return np.array([b"k%011d" % (int(i) + 10**10) for i in ints], dtype="S12")


KINDS = {
    # dtype, keys from ints, the dtype's extremes
    "int64": (np.dtype(np.int64), _int64_keys, [int(_I64.min), int(_I64.min) + 1, int(_I64.max)]),
    "float64": (np.dtype(np.float64), _float64_keys, [-np.inf, float(_F64.min), float(_F64.max), np.inf]),
    "S12": (np.dtype("S12"), _s12_keys, [b"", b"\x01", b"\xff" * 12]),
}

SLOTS = st.sampled_from(["a", "b", "c"])
SIZES = st.sampled_from([0, 1, 2, 5, 9, 40, 300, 2000])
STARTS = st.sampled_from([0, 0, 37, 5000, -100_000])  # equal starts overlap, far ones are disjoint
SPREADS = st.sampled_from([1, 2, 3])
SEEDS = st.integers(0, 2**32 - 1)
FORMS = st.sampled_from(["set", "set-other-chunks", "ndarray", "list", "generator"])
BINARY = {"|": operator.or_, "&": operator.and_, "-": operator.sub, "^": operator.xor}
IN_PLACE = {"|=": operator.ior, "&=": operator.iand, "-=": operator.isub, "^=": operator.ixor}
METHODS = ["union", "intersection", "difference", "symmetric_difference"]
UPDATES = ["update", "intersection_update", "difference_update", "symmetric_difference_update"]


def make_machine(kind: str, chunk: int):
    dtype, keys_of, extremes = KINDS[kind]

    def as_python(keys: np.ndarray) -> list:
        return keys.tolist()

    class AlgebraMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.sets: dict[str, SortedSet] = {}
            self.models: dict[str, set] = {}

        def draw_keys(self, size, start, spread, extreme, seed) -> np.ndarray:
            rng = np.random.default_rng(seed)
            ints = start + spread * rng.choice(3 * size + 3, size, replace=False)
            keys = keys_of(ints)
            if extreme:
                keys = np.concatenate([keys, np.array(extremes, dtype=dtype)])
            return keys

        def put(self, slot, keys, how, seed):
            rng = np.random.default_rng(seed)
            unique = np.unique(keys)
            if how == "from_sorted":
                s = SortedSet.from_sorted(unique, dtype=dtype, chunk_size=chunk)
            elif how == "unsorted":
                s = SortedSet(rng.permutation(np.concatenate([keys, keys[: len(keys) // 3]])), chunk_size=chunk)
            else:  # long-lived: built small, then grown and churned by batches
                s = SortedSet(keys[:1], dtype=dtype, chunk_size=chunk)
                s.add_many(rng.permutation(keys))
                extra = np.setdiff1d(keys_of(rng.integers(-200_000, 200_000, len(keys) // 2 + 1)), keys)
                s.add_many(extra)
                s.discard_many(extra)
            self.sets[slot] = s
            self.models[slot] = set(as_python(unique))

        @initialize(size=SIZES, start=STARTS, spread=SPREADS, extreme=st.booleans(), seed=SEEDS,
                    how=st.sampled_from(["from_sorted", "unsorted", "churned"]))
        def first(self, size, start, spread, extreme, seed, how):
            keys = self.draw_keys(size, start, spread, extreme, seed)
            for slot in "abc":  # three equal sets to start with; rules replace them
                self.put(slot, keys, how, seed)

        @rule(slot=SLOTS, size=SIZES, start=STARTS, spread=SPREADS, extreme=st.booleans(), seed=SEEDS,
              how=st.sampled_from(["from_sorted", "unsorted", "churned"]))
        def build(self, slot, size, start, spread, extreme, seed, how):
            self.put(slot, self.draw_keys(size, start, spread, extreme, seed), how, seed)

        @rule(slot=SLOTS, seed=SEEDS, count=st.sampled_from([1, 10, 200]))
        def churn(self, slot, seed, count):
            """A long-lived set: batches add and discard keys, splitting and merging chunks."""
            rng = np.random.default_rng(seed)
            s, model = self.sets[slot], self.models[slot]
            new = keys_of(rng.integers(-1000, 6000, count))
            s.add_many(new)
            model |= set(as_python(new))
            if len(s):
                old = s.to_numpy()[rng.integers(0, len(s), count)]
                s.discard_many(old)
                model -= set(as_python(old))

        # -------------------------------------------------------- operands

        def operand(self, slot, form, seed):
            """The set in ``slot`` in the given form (the Python set stays the model)."""
            s = self.sets[slot]
            if form == "set":
                return s
            if form == "set-other-chunks":
                return SortedSet(s.to_numpy(), chunk_size=12 - chunk)
            keys = s.to_numpy()
            rng = np.random.default_rng(seed)
            keys = rng.permutation(np.concatenate([keys, keys[: len(keys) // 4]]))  # unsorted, repeats
            if form == "ndarray":
                return keys
            if form == "list":
                return keys.tolist()
            return (k for k in keys.tolist())

        def check_result(self, result, expected: set):
            assert isinstance(result, SortedSet)
            assert result.dtype == dtype and result.chunk_size == chunk
            result._check()
            got = result.to_numpy()
            assert got.dtype == dtype
            assert as_python(got) == sorted(expected)
            # the layout of a bulk build: chunks filled alike, no more rows than it allocates
            assert result._store.cap <= rows_for(len(result), chunk) + 2
            assert result._store.nchunks == SortedSet.from_sorted(got, chunk_size=chunk)._store.nchunks

        @invariant()
        def operands_intact(self):
            for slot, s in self.sets.items():
                s._check()
                assert as_python(s.to_numpy()) == sorted(self.models[slot])

        # -------------------------------------------------------- operations

        @rule(op=st.sampled_from(sorted(BINARY)), left=SLOTS, right=SLOTS)
        def binary(self, op, left, right):
            result = BINARY[op](self.sets[left], self.sets[right])
            self.check_result(result, BINARY[op](self.models[left], self.models[right]))

        @rule(method=st.sampled_from(METHODS), left=SLOTS, right=SLOTS, form=FORMS, seed=SEEDS)
        def method(self, method, left, right, form, seed):
            result = getattr(self.sets[left], method)(self.operand(right, form, seed))
            self.check_result(result, getattr(self.models[left], method)(self.models[right]))

        @rule(method=st.sampled_from(["union", "intersection", "difference"]), left=SLOTS,
              rights=st.lists(SLOTS, min_size=0, max_size=3), form=FORMS, seed=SEEDS)
        def several_operands(self, method, left, rights, form, seed):
            operands = [self.operand(r, form if i % 2 else "set", seed + i) for i, r in enumerate(rights)]
            result = getattr(self.sets[left], method)(*operands)
            self.check_result(result, getattr(self.models[left], method)(*(self.models[r] for r in rights)))
            assert result is not self.sets[left]

        @rule(op=st.sampled_from(sorted(IN_PLACE)), left=SLOTS, right=SLOTS, form=FORMS, seed=SEEDS,
              path=st.sampled_from(["edit", "combine", None]))
        def in_place(self, op, left, right, form, seed, path):
            s = self.sets[left]
            address, header = s._addr, s._store.header
            other = self.operand(right, form, seed) if form != "generator" else self.operand(right, "list", seed)
            forced = {"in_place": path} if path else {}
            with _strategy.forcing(**forced):
                result = IN_PLACE[op](s, other)
            assert result is s
            assert s._addr == address and s._store.header is header, "the header moved"
            IN_PLACE[op](self.models[left], set(self.models[right]))
            s._check()

        @rule(method=st.sampled_from(UPDATES), left=SLOTS, rights=st.lists(SLOTS, min_size=1, max_size=2),
              form=FORMS, seed=SEEDS, path=st.sampled_from(["edit", "combine"]))
        def update_methods(self, method, left, rights, form, seed, path):
            s = self.sets[left]
            address = s._addr
            if method == "symmetric_difference_update":
                rights = rights[:1]  # takes one operand, as set's does
            operands = [self.operand(r, form, seed + i) for i, r in enumerate(rights)]
            models = [set(self.models[r]) for r in rights]
            with _strategy.forcing(in_place=path):
                assert getattr(s, method)(*operands) is None
            getattr(self.models[left], method)(*models)
            assert s._addr == address

        @rule(left=SLOTS, right=SLOTS, form=FORMS, seed=SEEDS)
        def comparisons(self, left, right, form, seed):
            a, sa, sb = self.sets[left], self.models[left], self.models[right]
            assert_compares_like_sets(a, self.sets[right], sa, sb)
            assert a.isdisjoint(self.operand(right, form, seed)) is sa.isdisjoint(sb)
            assert a.issubset(self.operand(right, form, seed)) is sa.issubset(sb)
            assert a.issuperset(self.operand(right, form, seed)) is sa.issuperset(sb)

    AlgebraMachine.__name__ = f"AlgebraMachine_{kind}_chunk{chunk}"
    return AlgebraMachine


CONFIGS = [(kind, chunk) for kind in KINDS for chunk in (4, 8)]

MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("kind, chunk", CONFIGS, ids=[f"{k}-chunk{c}" for k, c in CONFIGS])
def test_algebra_machine(kind, chunk):
    run_state_machine_as_test(make_machine(kind, chunk), settings=MACHINE_SETTINGS)


# ------------------------------------------------------------------ targeted cases


@pytest.mark.parametrize("chunk", [4, 512])
def test_small_with_large_in_both_orders(chunk):
    """A few keys against many (the search path of the walk), hits at both ends and in between."""
    big_keys = np.arange(0, 200_000, 3, dtype=np.int64)
    big = SortedSet.from_sorted(big_keys, chunk_size=chunk)
    small_keys = np.array([-5, 0, 1, 3, 99_999, 100_002, 199_998, 199_999, 10**9], dtype=np.int64)
    small = SortedSet(small_keys, chunk_size=chunk)
    pb, ps = set(big_keys.tolist()), set(small_keys.tolist())
    for op in BINARY.values():
        for x, y, px, py in ((big, small, pb, ps), (small, big, ps, pb)):
            r = op(x, y)
            r._check()
            assert r.to_numpy().tolist() == sorted(op(px, py))
    assert not big.isdisjoint(small) and not small.issubset(big)
    assert SortedSet([3, 199_998], chunk_size=chunk) < big
