"""The API that code written for sortedcontainers and sorted_set_nif expects.

``insert``, deletion by position (``del s[i]``, ``del s[i:j:k]``) and by key
range (``discard_irange``), ``islice``, comparisons with any
``collections.abc.Set``, and the ``MutableSet``/``Sequence`` registration.
The state machines of ``test_model``, ``test_dtypes`` and ``test_wide`` run
these against their oracles step by step; this module adds long runs
across many chunks, edge values and threads.
"""

from __future__ import annotations

import collections.abc as abc
import random
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitset import SortedSet
from test_model import assert_compares_like_sets

I64 = np.iinfo(np.int64)


def _varied(n: int, chunk: int, seed: int) -> tuple[SortedSet, list]:
    """A set of ``n`` keys whose chunks have uneven fill (batch build, then single adds and discards)."""
    rng = random.Random(seed)
    keys = rng.sample(range(-10 * n - 10, 10 * n + 10), n + n // 4)
    s = SortedSet(keys[: n // 2], chunk_size=chunk)
    for k in keys[n // 2 :]:
        s.add(k)
    for k in keys[n :]:
        s.discard(k)
    return s, sorted(keys[:n])


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(0, 2500),
    chunk=st.sampled_from([4, 8, 16, 512]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_delete_runs_across_many_chunks(n, chunk, seed, data):
    """Runs inside one chunk, across two neighbours, across hundreds, to either end, or everything."""
    s, model = _varied(n, chunk, seed)
    for _ in range(3):
        size = len(model)
        start = data.draw(st.integers(0, size), label="start")
        stop = data.draw(st.integers(start, size) | st.just(size), label="stop")
        del s[start:stop]
        del model[start:stop]
        s._check()
        assert s.to_numpy().tolist() == model
        # the set stays usable: adds land where they should
        key = data.draw(st.integers(-10 * n - 10, 10 * n + 10), label="key")
        index, added = s.insert(key)
        if added:
            model.insert(index, key)
        assert model[index] == key and s.to_numpy().tolist() == model
    s._check()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 2000), chunk=st.sampled_from([4, 16, 512]), seed=st.integers(0, 2**32 - 1),
       lo=st.integers(-25_000, 25_000), width=st.integers(0, 30_000),
       inclusive=st.tuples(st.booleans(), st.booleans()))
def test_discard_irange_across_many_chunks(n, chunk, seed, lo, width, inclusive):
    s, model = _varied(n, chunk, seed)
    hi = lo + width
    inside = [k for k in model if (lo < k or (inclusive[0] and k == lo)) and (k < hi or (inclusive[1] and k == hi))]
    start, stop = s.discard_irange(lo, hi, inclusive)
    if inside:
        assert (start, stop) == (model.index(inside[0]), model.index(inside[-1]) + 1)
    else:
        assert start == stop
    assert model[start:stop] == inside
    s._check()
    assert s.to_numpy().tolist() == [k for k in model if k not in set(inside)]


def test_deletion_at_dtype_extremes_and_tiny_sets():
    for dtype in (np.int64, np.uint64, np.int8):
        info = np.iinfo(dtype)
        lo, hi = int(info.min), int(info.max)
        mid = (lo + hi) // 2
        s = SortedSet([lo, lo + 1, mid, hi - 1, hi], dtype=dtype, chunk_size=4)
        assert s.discard_irange(hi, None) == (4, 5)
        assert s.discard_irange(None, lo) == (0, 1)
        del s[-1]
        del s[0]
        assert s.to_numpy().tolist() == [mid]
        with pytest.raises(IndexError):
            del s[1]
        del s[0]
        assert len(s) == 0 and s.discard_irange() == (0, 0)
        with pytest.raises(IndexError):
            del s[0]
        with pytest.raises(IndexError):
            del s[-1]
        del s[:]  # nothing to delete: fine, as for a list
        assert list(s.islice()) == [] and list(s.islice(-5, 5, reverse=True)) == []
        s.add(hi)
        s._check()
        assert s.insert(lo) == (0, True) and s.insert(hi) == (1, False)
        del s[:]
        s._check()
        assert len(s) == 0 and s.insert(7) == (0, True)


def test_delete_everything_then_refill_keeps_working():
    s = SortedSet(range(100_000), chunk_size=64)
    assert s.discard_irange() == (0, 100_000)
    s._check()
    assert s.add_many(np.arange(0, 1000, 2)).tolist() == list(range(500))
    del s[100:]
    s._check()
    assert s.to_numpy().tolist() == list(range(0, 200, 2))


def test_large_removal_gives_memory_back():
    s = SortedSet(range(200_000), chunk_size=64)
    before = s.nbytes
    del s[1000:199_000]
    s._check()
    assert s.nbytes < before / 4
    assert s.to_numpy().tolist() == list(range(1000)) + list(range(199_000, 200_000))


def test_delete_with_steps_on_a_large_set():
    s = SortedSet(range(50_000), chunk_size=32)
    model = list(range(50_000))
    for sl in (slice(None, None, 2), slice(-1, 100, -3), slice(5, 40_000, 7), slice(None, None, -1)):
        del s[sl]
        del model[sl]
        s._check()
        assert s.to_numpy().tolist() == model


def test_islice_matches_list_slicing_and_blocks():
    s = SortedSet(range(5_000), chunk_size=8)  # several iteration blocks
    model = list(range(5_000))
    for start, stop in ((None, None), (10, 4_000), (-2_500, -3), (4_000, 10), (1_023, 1_025), (-10**9, 10**9)):
        assert list(s.islice(start, stop)) == model[start:stop]
        assert list(s.islice(start, stop, reverse=True)) == model[start:stop][::-1]
    assert list(s.islice(np.int64(3), np.int32(6))) == [3, 4, 5]


def test_islice_and_iter_report_a_mutation_made_after_they_were_created():
    s = SortedSet(range(3_000))
    it = s.islice(0, 2_500)
    s.add(-1)  # before the first next(): the positions it was asked for have moved
    with pytest.raises(RuntimeError, match="changed during iteration"):
        next(it)
    it = iter(s)
    next(it)
    del s[0]
    with pytest.raises(RuntimeError, match="changed during iteration"):
        list(it)


def test_insert_matches_add_and_reports_new_keys_only():
    s = SortedSet([10, 20], chunk_size=4)
    assert s.insert(15) == (1, True)
    assert s.insert(15) == (1, False)
    assert s.insert(np.int8(5)) == (0, True)
    assert s.insert(20.0) == (3, False)
    index, added = s.insert(25)
    assert type(index) is int and type(added) is bool
    for k in range(1_000):  # splits and growth go through the same kernel call; keys < k are all in
        new = k not in s
        assert s.insert(k) == (k, new)
    s._check()
    assert list(s) == list(range(1_000))


def test_insert_is_atomic_across_threads():
    """Every key is reported added exactly once, however the threads interleave."""
    s = SortedSet(chunk_size=4)
    keys = list(range(3_000))
    results: list = [[] for _ in range(4)]

    def worker(t):
        order = keys[:]
        random.Random(t).shuffle(order)
        results[t] = [(k, s.insert(k)) for k in order]

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    added = {}
    for res in results:
        for k, (_, was_added) in res:
            added[k] = added.get(k, 0) + was_added
    assert all(added[k] == 1 for k in keys)
    s._check()
    assert list(s) == keys


def test_comparisons_like_builtin_sets():
    s = SortedSet([1, 2, 3])
    assert s == {1, 2, 3} and {1, 2, 3} == s and s == frozenset({1, 2, 3}) and s == {1: 0, 2: 0, 3: 0}.keys()
    assert s != {1, 2} and {1, 2} != s
    assert {1, 2} < s and s > {1, 2} and frozenset({1, 2}) <= s and s >= frozenset()
    assert not (s < {1, 2, 3}) and s <= {1, 2, 3} and not ({1, 2, 3} < s)
    assert not (s < {4, 5, 6, 7}) and not (s > {4}) and s.isdisjoint({4, 5}) and not s.isdisjoint({3})
    assert SortedSet() == set() and set() == SortedSet() and SortedSet() <= {1} and not (SortedSet() > set())
    # elements the dtype cannot hold are simply absent, never an error
    assert SortedSet([1]) != {"a"} and SortedSet([1]) < {1, "a"} and not SortedSet([1]).issuperset({1, 1.5})
    assert SortedSet([1.0, 2.5]) == {1, 2.5} and SortedSet([b"a"], dtype="S2") == {b"a"}
    member = np.dtype([("g", "u1"), ("name", "S4")])
    assert SortedSet([(1, b"x"), (0, b"y")], dtype=member) == {(0, b"y"), (1, b"x")}
    # sets of other dtypes compare by value
    assert SortedSet([1, 2], dtype=np.uint8) == SortedSet([2, 1]) and SortedSet([1.0]) == SortedSet([1])
    assert SortedSet([1, 2], dtype=np.uint8) < SortedSet([-1, 1, 2])
    assert SortedSet(np.array([1], dtype="m8[s]")) != SortedSet([1.5])


def test_comparisons_with_non_sets():
    s = SortedSet([1, 2])
    assert (s == [1, 2]) is False and (s != [1, 2]) is True
    assert (s == (1, 2)) is False and (s == np.array([1, 2])) is False and (s != np.array([1, 2])) is True
    assert (s == 5) is False and (s == "ab") is False
    for other in ([1, 2], (1, 2), np.array([1, 2]), 5, "ab"):
        for op in (s.__lt__, s.__le__, s.__gt__, s.__ge__):
            assert op(other) is NotImplemented
    with pytest.raises(TypeError):
        s < [1, 2, 3]
    with pytest.raises(TypeError):
        [1] <= s
    with pytest.raises(TypeError):
        s >= 3


def test_comparisons_at_dtype_extremes():
    for dtype in (np.int64, np.uint64, np.int8, np.uint8):
        info = np.iinfo(dtype)
        edges = {int(info.min), int(info.max)}
        s = SortedSet(edges, dtype=dtype, chunk_size=4)
        assert s == edges and s >= {int(info.max)} and s < edges | {int(info.max) + 1}
        assert s.isdisjoint({int(info.min) - 1, int(info.max) + 1})
    # int64 vs uint64 compare in their own types (numba's mixed compare goes through float64)
    assert SortedSet([2**63 - 1]) != SortedSet([2**63], dtype=np.uint64)


@settings(max_examples=100, deadline=None)
@given(a=st.sets(st.integers(-60, 60), max_size=80), b=st.sets(st.integers(-60, 60), max_size=80),
       chunks=st.tuples(st.sampled_from([4, 8, 512]), st.sampled_from([4, 8, 512])))
def test_comparing_two_sorted_sets_walks_both(a, b, chunks):
    x = SortedSet(a, chunk_size=chunks[0])
    y = SortedSet(b, chunk_size=chunks[1])
    assert_compares_like_sets(x, y, a, b)
    assert_compares_like_sets(x, x, a, a)
    for p, q, sp, sq in ((x, y, a, b), (y, x, b, a), (x, x, a, a)):
        assert p.issubset(q) is sp.issubset(sq) and p.issuperset(q) is sp.issuperset(sq)
        assert p.isdisjoint(q) is sp.isdisjoint(sq)


def test_two_threads_comparing_opposite_ways_do_not_deadlock():
    a = SortedSet(range(2_000))
    b = SortedSet(range(1_000))
    failures = []

    def compare(x, y, expected):
        for _ in range(300):
            if (x <= y) is not expected:
                failures.append((x, y))

    threads = [threading.Thread(target=compare, args=(a, b, False)), threading.Thread(target=compare, args=(b, a, True))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads), "deadlock"
    assert not failures


def test_abc_registration_keeps_the_fast_methods():
    s = SortedSet([1, 2])
    assert isinstance(s, abc.MutableSet) and isinstance(s, abc.Set) and isinstance(s, abc.Sequence)
    assert isinstance(s, abc.Reversible) and isinstance(s, abc.Collection)
    assert not isinstance(s, abc.MutableSequence) and not isinstance(s, abc.Hashable)
    # registered, not inherited: no mixin stands in for a method of the class
    assert abc.MutableSet not in SortedSet.__mro__ and abc.Sequence not in SortedSet.__mro__
    mixins = {"__le__", "__lt__", "__eq__", "__gt__", "__ge__", "__and__", "__or__", "__sub__", "__xor__",
              "__rand__", "__ror__", "__rsub__", "__rxor__", "isdisjoint", "clear", "pop", "remove", "add",
              "discard", "__ior__", "__iand__", "__ixor__", "__isub__", "__contains__", "__iter__",
              "__reversed__", "index", "count", "__len__", "__getitem__"}
    assert mixins <= set(vars(SortedSet)), mixins - set(vars(SortedSet))
    assert s | {3} == {1, 2, 3} and {3} | s == {1, 2, 3} and {1: 0}.keys() | s == {1, 2}
    assert (s & {2, 5}) == {2} and ({2, 5} - s) == {5} and (s ^ frozenset({2, 5})) == {1, 5}
