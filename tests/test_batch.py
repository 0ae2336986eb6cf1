"""Batch operations against a plain sorted-list oracle (hypothesis state machine + properties).

The replay property is checked on every mutation: applying the reported
inserts (ascending) / deletes (descending) to a copy of the old list must give
the new list.  Tiny chunk sizes make splits, merges and rebuilds constant.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from jitset import SortedSet, _strategy

KEY = st.integers(-60, 60)
BATCH = st.lists(KEY, max_size=40)


def replay_inserts(old: list, new_keys: list, indices) -> list:
    out = list(old)
    for key, i in zip(sorted(new_keys), indices):
        out.insert(int(i), key)
    return out


def replay_deletes(old: list, indices) -> list:
    out = list(old)
    for i in sorted((int(i) for i in indices), reverse=True):
        del out[i]
    return out


class BatchMachine(RuleBasedStateMachine):
    chunk_size = 4
    # strategies forced for the whole run (see jitset._strategy); none: the set's own choice
    strategies: dict = {}

    def __init__(self):
        super().__init__()
        self._forced = contextlib.ExitStack()

    @initialize(keys=st.lists(KEY, max_size=80))
    def build(self, keys):
        self._forced.enter_context(_strategy.forcing(**self.strategies))
        self.s = SortedSet(np.array(keys, dtype=np.int64), chunk_size=self.chunk_size)
        self.model = sorted(set(keys))

    def teardown(self):
        self._forced.close()

    @invariant()
    def consistent(self):
        if hasattr(self, "s"):
            self.s._check()
            assert self.s.to_numpy().tolist() == self.model

    @rule(keys=BATCH)
    def add_many(self, keys):
        old = self.model
        idx = self.s.add_many(keys)
        assert idx.dtype == np.int64
        new_keys = sorted(set(keys) - set(old))
        self.model = sorted(set(old) | set(keys))
        assert idx.tolist() == [self.model.index(k) for k in new_keys]
        assert replay_inserts(old, new_keys, idx) == self.model

    @rule(keys=BATCH)
    def discard_many(self, keys):
        old = self.model
        idx = self.s.discard_many(np.array(keys, dtype=np.int64))
        gone = sorted(set(keys) & set(old))
        assert idx.tolist() == [old.index(k) for k in gone]
        self.model = sorted(set(old) - set(keys))
        assert replay_deletes(old, idx) == self.model

    @rule(old_keys=BATCH, new_keys=BATCH)
    def replace_many(self, old_keys, new_keys):
        old = self.model
        removed, inserted = self.s.replace_many(old_keys, new_keys)
        middle = sorted(set(old) - set(old_keys))
        added = sorted(set(new_keys) - set(middle))
        self.model = sorted(set(middle) | set(new_keys))
        assert removed.tolist() == [old.index(k) for k in sorted(set(old_keys) & set(old))]
        assert inserted.tolist() == [self.model.index(k) for k in added]
        assert replay_inserts(replay_deletes(old, removed), added, inserted) == self.model

    @rule(old=KEY, new=KEY)
    def replace(self, old, new):
        if old not in self.model:
            with pytest.raises(KeyError):
                self.s.replace(old, new)
            return
        before = self.model
        removed_at, added_at = self.s.replace(old, new)
        assert removed_at == before.index(old)
        self.model = sorted((set(before) - {old}) | {new})
        assert added_at == self.model.index(new)

    @rule(keys=BATCH)
    def queries(self, keys):
        flat = np.array(self.model, dtype=np.int64)
        q = np.array(keys, dtype=np.int64)
        assert self.s.contains_many(q).tolist() == [k in self.model for k in keys]
        for side in ("left", "right"):
            assert np.array_equal(self.s.searchsorted(q, side=side), np.searchsorted(flat, q, side=side))
        assert self.s.index_many(q).tolist() == [self.model.index(k) if k in self.model else -1 for k in keys]

    @rule(data=st.data())
    def take(self, data):
        n = len(self.model)
        if n == 0:
            with pytest.raises(IndexError):
                self.s.take([0])
            return
        idx = data.draw(st.lists(st.integers(-n, n - 1), max_size=30))
        assert self.s.take(idx).tolist() == [self.model[i] for i in idx]
        with pytest.raises(IndexError):
            self.s.take([n])

    @rule(keys=BATCH, op=st.sampled_from(["union", "intersection", "difference", "symmetric_difference"]))
    def algebra(self, keys, op):
        other = SortedSet(keys, chunk_size=self.chunk_size) if len(keys) % 2 else keys
        result = getattr(self.s, op)(other)
        expected = sorted(getattr(set(self.model), op)(set(keys)))
        result._check()
        assert result.to_numpy().tolist() == expected
        assert result.chunk_size == self.s.chunk_size

    @rule(keys=BATCH, op=st.sampled_from(["|=", "&=", "-=", "^="]))
    def in_place(self, keys, op):
        s = self.s
        model = set(self.model)
        if op == "|=":
            s |= keys
            model |= set(keys)
        elif op == "&=":
            s &= keys
            model &= set(keys)
        elif op == "-=":
            s -= keys
            model -= set(keys)
        else:
            s ^= keys
            model ^= set(keys)
        assert s is self.s
        self.model = sorted(model)

    @rule(keys=BATCH)
    def predicates(self, keys):
        model, other = set(self.model), set(keys)
        assert self.s.isdisjoint(keys) == model.isdisjoint(other)
        assert self.s.issubset(keys) == model.issubset(other)
        assert self.s.issuperset(keys) == model.issuperset(other)

    @rule(bad=st.sampled_from([[1, 2**70], [1.5], [[1, 2], [3, 4]], ["a"], [None], [2**63]]))
    def rejected_batch_changes_nothing(self, bad):
        before = self.s.to_numpy()
        methods = [self.s.add_many, self.s.discard_many]
        if np.ndim(bad) == 1:  # queries accept any shape, like np.searchsorted
            methods.append(self.s.contains_many)
        for method in methods:
            with pytest.raises((TypeError, OverflowError, ValueError)):
                method(bad)
        with pytest.raises((TypeError, OverflowError, ValueError)):
            self.s.replace_many([before[0]] if len(before) else [], bad)
        assert np.array_equal(self.s.to_numpy(), before)


class LocalBatchMachine(BatchMachine):
    # key-by-key inserts, one search per query (deletes always merge or rebuild)
    strategies = {"add": "local", "discard": "merge", "query": "each"}


class MergeBatchMachine(BatchMachine):
    # chunk-by-chunk merges and sweeps, even for a single key
    strategies = {"add": "merge", "discard": "merge", "query": "sweep"}


class RebuildBatchMachine(BatchMachine):
    # always a linear rebuild for deletes, a chunk-by-chunk merge for inserts
    strategies = {"add": "merge", "discard": "rebuild", "query": "sweep"}


SPARSE_KEY = st.integers(-3000, 3000)


class SparseBatchMachine(BatchMachine):
    """Sets of hundreds of tiny chunks and batches of a few keys: fewer than one
    key per chunk, as for 100,000 keys on 10^8.  The strategies change between
    steps, so every strategy meets every state the others leave behind."""

    @initialize(keys=st.lists(SPARSE_KEY, min_size=200, max_size=600))
    def build(self, keys):
        super().build(keys)

    @rule(
        add=st.sampled_from(["local", "merge"]),
        discard=st.sampled_from(["merge", "rebuild"]),
        query=st.sampled_from(["each", "sweep"]),
    )
    def choose_strategies(self, add, discard, query):
        self._forced.enter_context(_strategy.forcing(add=add, discard=discard, query=query))

    @rule(keys=st.lists(SPARSE_KEY, max_size=12))
    def sparse_add_many(self, keys):
        self.add_many(keys)

    @rule(data=st.data())
    def sparse_discard_many(self, data):
        # mostly present keys, so that chunks empty and merge
        keys = data.draw(st.lists(st.sampled_from(self.model) if self.model else SPARSE_KEY, max_size=60))
        self.discard_many(keys + data.draw(st.lists(SPARSE_KEY, max_size=4)))

    @rule(data=st.data())
    def sparse_replace_many(self, data):
        old = data.draw(st.lists(st.sampled_from(self.model) if self.model else SPARSE_KEY, max_size=20))
        self.replace_many(old, data.draw(st.lists(SPARSE_KEY, max_size=20)))

    @rule(keys=st.lists(SPARSE_KEY, max_size=12))
    def sparse_queries(self, keys):
        self.queries(keys)


class Chunk8Machine(BatchMachine):
    chunk_size = 8


class DefaultChunkMachine(BatchMachine):
    chunk_size = None


_settings = settings(max_examples=40, stateful_step_count=30)
TestLocalBatch = _settings(LocalBatchMachine).TestCase
TestMergeBatch = _settings(MergeBatchMachine).TestCase
TestRebuildBatch = _settings(RebuildBatchMachine).TestCase
TestSparseBatch = settings(max_examples=30, stateful_step_count=40)(SparseBatchMachine).TestCase
TestChunk8Batch = _settings(Chunk8Machine).TestCase
TestDefaultChunkBatch = _settings(DefaultChunkMachine).TestCase


@settings(max_examples=50)
@given(keys=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=200), chunk=st.sampled_from([4, 8, 512]))
def test_build_and_from_sorted(keys, chunk):
    s = SortedSet(keys, chunk_size=chunk)
    s._check()
    expected = sorted(set(keys))
    assert s.to_numpy().tolist() == expected
    t = SortedSet.from_sorted(np.array(expected, dtype=np.int64), chunk_size=chunk)
    t._check()
    assert t == s


def test_from_sorted_rejects_disorder_and_repeats():
    with pytest.raises(ValueError, match="not strictly increasing"):
        SortedSet.from_sorted([1, 3, 2])
    with pytest.raises(ValueError, match="not strictly increasing"):
        SortedSet.from_sorted([1, 2, 2])


def test_batch_inputs_convert_exactly():
    s = SortedSet([1, 2, 3], dtype=np.int32)
    # non-contiguous, other dtypes that fit exactly: accepted
    assert s.add_many(np.arange(10, 20, dtype=np.int64)[::3]).tolist() == [3, 4, 5, 6]
    assert s.add_many(np.array([4.0, 5.0])).tolist() == [3, 4]
    assert s.contains_many(np.array([1, 2], dtype=np.uint8)).tolist() == [True, True]
    before = s.to_numpy()
    with pytest.raises(OverflowError, match="1099511627776"):
        s.add_many([1, 2**40])
    with pytest.raises(TypeError, match="1.5"):
        s.add_many([1.5])
    with pytest.raises(ValueError, match="1-D"):
        s.add_many(np.zeros((2, 2), dtype=np.int32))
    assert np.array_equal(s.to_numpy(), before)
    s._check()


def test_queries_keep_shape_and_match_numpy():
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 10_000, 3_000)
    s = SortedSet(keys, chunk_size=16)
    flat = s.to_numpy()
    q = rng.integers(-5, 10_005, (40, 50))  # big enough for the sorted sweep
    for side in ("left", "right"):
        assert np.array_equal(s.searchsorted(q, side=side), np.searchsorted(flat, q, side=side))
    assert np.array_equal(s.contains_many(q), np.isin(q, flat))
    assert s.searchsorted(5) == np.searchsorted(flat, 5) and isinstance(s.searchsorted(5), np.integer)
    assert isinstance(s.contains_many(int(flat[0])), np.bool_) and s.index_many(int(flat[0])) == 0
    with pytest.raises(ValueError):
        s.searchsorted(q, side="middle")


def test_large_batches_every_strategy_agrees():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**40, 50_000)
    batch = rng.integers(0, 2**40, 5_000)
    results = []
    for add, discard, query in itertools.product(["local", "merge"], ["merge", "rebuild"], ["each", "sweep"]):
        with _strategy.forcing(add=add, discard=discard, query=query):
            s = SortedSet(base, chunk_size=64)
            added = s.add_many(batch)
            removed = s.discard_many(base[:7_000])
            replaced = s.replace_many(base[7_000:9_000], batch[:3_000] + 1)
            sparse = s.discard_many(base[9_000::997])  # ~40 keys on ~1,000 chunks
            ranks = s.searchsorted(batch[::7])
        s._check()
        results.append((added, removed, *replaced, sparse, ranks, s.to_numpy()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


def test_set_operators_with_sortedsets_and_arrays():
    a = SortedSet([1, 2, 3, 4])
    b = SortedSet([3, 4, 5])
    assert (a | b).to_numpy().tolist() == [1, 2, 3, 4, 5]
    assert (a & b).to_numpy().tolist() == [3, 4]
    assert (a - b).to_numpy().tolist() == [1, 2]
    assert (a ^ b).to_numpy().tolist() == [1, 2, 5]
    assert ([0, 1] | a).to_numpy().tolist() == [0, 1, 2, 3, 4]
    assert ([0, 1, 5] - a).to_numpy().tolist() == [0, 5]
    assert SortedSet([3, 4]) <= a and SortedSet([3, 4]) < a and not a < a and a >= SortedSet([1])
    assert a.union([9], [8]).to_numpy().tolist() == [1, 2, 3, 4, 8, 9]
    with pytest.raises(TypeError):
        a | "abc"


def test_discard_many_mends_a_chunk_left_small_before_a_chunk_it_visits_but_keeps():
    """Found by test_wide's state machine: the batch emptied chunk 0 to one key, then landed in
    chunk 1 without removing anything there; chunk 0 stayed under min_fill (now merged)."""
    s = SortedSet(dtype="U3", chunk_size=8)
    s.replace_many([""], ["", "0", "1", "2", "4", "5", "00"])
    assert s._store.counts[: s._store.nchunks].tolist() == [3, 4]  # the layout the bug needed
    assert s.replace_many(["", "0", "3"], [])[0].tolist() == [0, 1]
    s._check()
    assert s.to_numpy().tolist() == ["00", "1", "2", "4", "5"]
