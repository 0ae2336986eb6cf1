"""Bad input at every public method: a clear exception, and the set exactly as before.

Hypothesis throws wrong types, wrong dtypes, out-of-range values, NaN/NaT,
0-d and 2-D arrays and objects whose ``__array__`` lies, at each method of
sets of several dtypes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitset import SortedSet

CLEAR = (TypeError, ValueError, OverflowError, IndexError, KeyError, NotImplementedError)
MEMBER = np.dtype([("group", "u1"), ("name", "S16"), ("id", "u8")])


class LyingArray:
    """Claims to be an array, then hands back something else (or fails)."""

    def __init__(self, result):
        self.result = result

    def __array__(self, dtype=None, copy=None):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def __len__(self):
        return 3

    def __iter__(self):
        return iter([1, 2, 3])


BAD_SCALARS = st.sampled_from(
    [None, "a", b"x", 3.5, float("nan"), float("inf"), -1, 2**64, -(2**63) - 1, 2**200, [1], (1, 2), {1: 2},
     np.datetime64("NaT", "s"), np.datetime64("2020-01-01"), np.timedelta64(1, "s"), 1j, object(), np.float64(2.5),
     np.array([1, 2]), np.array(5.5), b"far too long for the widths here", "far too long as well", (1, b"x", -1),
     (1, b"x" * 20, 1), (300, b"x", 1), (1.5, b"x", 1), (1, "x", 1), (1, b"x"), np.array([b"x"])]
)
BAD_BATCHES = st.sampled_from(
    [None, 5, "abc", [1.5], [1, "a"], [[1, 2], [3, 4]], np.zeros((2, 2)), np.array(3.5), [2**64], [-1],
     [float("nan")], np.array([1, 2], dtype=object)[:1] * 2.5, LyingArray(np.zeros((2, 2))),
     LyingArray(np.array(["x", "y"])), LyingArray(ValueError("lying")), LyingArray(np.array([1.5, 2.5])),
     np.array(["2020-01-01"], dtype="datetime64[D]"), [None, 1], [b"x" * 40], ["x" * 40], [(1, b"x")],
     [(1, b"x", 1), 5], np.zeros(2, dtype=[("a", "u1")]), np.array([b"x" * 40]), b"xy", "xy"]
)
BAD_INDICES = st.sampled_from([None, "0", 1.5, 2**70, -(2**70), [0.5], np.array([1.5]), 10**6, -(10**6), [10**6]])


def _sets():
    return [
        SortedSet(range(0, 40, 3), dtype=np.uint8, chunk_size=4),
        SortedSet(range(-20, 20, 3), dtype=np.int64, chunk_size=4),
        SortedSet([-1.5, 0.0, 2.25], chunk_size=4),
        SortedSet(np.array(["2020-01-01", "2021-06-01"], dtype="datetime64[s]")),
        SortedSet([b"", b"a", b"xy"], dtype="S5", chunk_size=4),
        SortedSet(["", "é", "xy"], dtype="U3", chunk_size=4),
        SortedSet([(0, b"a", 1), (2, b"", 5)], dtype=MEMBER, chunk_size=4),
    ]


N_SETS = len(_sets())


SCALAR_METHODS = ["add", "discard", "remove", "index", "bisect_left", "bisect_right", "floor", "ceiling", "lower",
                  "higher", "count"]
BATCH_METHODS = ["add_many", "discard_many", "contains_many", "searchsorted", "index_many", "update",
                 "difference_update", "intersection_update", "union", "intersection", "difference",
                 "symmetric_difference"]
# These take any iterable, as for built-in sets: an element the dtype cannot hold is simply not in the set.
PREDICATES = ["issubset", "issuperset", "isdisjoint"]


def _unchanged(s: SortedSet, before: np.ndarray) -> None:
    s._check()
    after = s.to_numpy()
    assert after.dtype == before.dtype and after.tobytes() == before.tobytes()


def _call_and_check(s, method, *args):
    before = s.to_numpy()
    try:
        getattr(s, method)(*args)
    except CLEAR as exc:
        assert str(exc) or isinstance(exc, KeyError), f"{method}{args!r}: an exception without a message"
        _unchanged(s, before)
        return False
    return True


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(key=BAD_SCALARS, method=st.sampled_from(SCALAR_METHODS), which=st.integers(0, N_SETS - 1))
def test_bad_scalar_keys(key, method, which):
    s = _sets()[which]
    accepted = _call_and_check(s, method, key)
    if accepted and method == "count":
        assert s.count(key) == (key in s)  # like ``in``: a number the set cannot hold counts 0
    elif accepted:
        # only a key the dtype holds exactly may be accepted (e.g. -1 by an int64 set)
        assert s._codec.fits(key), (method, key, s.dtype)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(keys=BAD_BATCHES, method=st.sampled_from(BATCH_METHODS), which=st.integers(0, N_SETS - 1))
def test_bad_batches(keys, method, which):
    s = _sets()[which]
    before = s.to_numpy()
    if method in ("contains_many", "searchsorted", "index_many"):
        # queries of any shape are fine (NumPy style); the set must not change either way
        _call_and_check(s, method, keys)
        _unchanged(s, before)
        return
    accepted = _call_and_check(s, method, keys)
    if accepted:  # e.g. [-1] into the int64 set, or the date into the datetime set
        values = np.asarray(keys)
        assert values.ndim == 1, (method, keys)


@settings(max_examples=100)
@given(index=BAD_INDICES, which=st.integers(0, N_SETS - 1))
def test_bad_indices(index, which):
    s = _sets()[which]
    for method in ("pop", "__getitem__", "take"):
        before = s.to_numpy()
        with pytest.raises(CLEAR):
            getattr(s, method)(index)
        _unchanged(s, before)


def _storage_key(s, value):
    """The set's storage key for ``value`` by the scalar path, or None when the dtype cannot hold it."""
    try:
        return s._codec.key(value)
    except (TypeError, ValueError, OverflowError):
        return None


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(keys=BAD_BATCHES, method=st.sampled_from(PREDICATES), which=st.integers(0, N_SETS - 1))
def test_set_predicates_take_any_iterable(keys, method, which):
    s = _sets()[which]
    before = s.to_numpy()
    try:
        elements = list(keys)
    except TypeError:  # not iterable at all (None, 5, a 0-d array): the same error
        with pytest.raises(TypeError):
            getattr(s, method)(keys)
        _unchanged(s, before)
        return
    got = getattr(s, method)(keys)
    assert type(got) is bool
    # oracle: the scalar conversion path, element by element (the method converts the batch at once)
    fit = [_storage_key(s, v) for v in elements]
    theirs = {k for k in fit if k is not None}
    ours = {_storage_key(s, x) for x in s}
    expected = {
        "issubset": ours <= theirs,
        "issuperset": None not in fit and theirs <= ours,
        "isdisjoint": not ours & theirs,
    }[method]
    assert got is expected, (method, keys, s)
    _unchanged(s, before)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(key=BAD_SCALARS, which=st.integers(0, N_SETS - 1))
def test_insert_rejects_like_add(key, which):
    s = _sets()[which]
    before = s.to_numpy()
    try:
        index, added = s.insert(key)
    except CLEAR as exc:
        assert str(exc)
        _unchanged(s, before)
        with pytest.raises(type(exc)):
            s.add(key)
        _unchanged(s, before)
    else:
        assert _storage_key(s, key) is not None, key
        assert s.index(key) == index and added is (len(s) == len(before) + 1)
        s._check()


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(bound=BAD_SCALARS.filter(lambda b: b is not None), side=st.sampled_from(["minimum", "maximum"]), which=st.integers(0, N_SETS - 1))
def test_discard_irange_checks_bounds_first(bound, side, which):
    s = _sets()[which]
    before = s.to_numpy()
    try:
        start, stop = s.discard_irange(**{side: bound})
    except CLEAR as exc:
        assert str(exc)
        _unchanged(s, before)
    else:  # only a bound the dtype holds exactly may be accepted
        assert _storage_key(s, bound) is not None, (bound, s.dtype)
        assert len(s) == len(before) - (stop - start)
        s._check()


@pytest.mark.parametrize("inclusive", [None, 5, (True,), (True, True, True), "ab"[:1]])
def test_discard_irange_and_irange_reject_bad_inclusive(inclusive):
    s = SortedSet(range(10), chunk_size=4)
    before = s.to_numpy()
    for method in (s.discard_irange, s.irange):
        with pytest.raises(TypeError, match="inclusive"):
            method(2, 5, inclusive)
        _unchanged(s, before)


@settings(max_examples=100)
@given(index=BAD_INDICES | st.sampled_from([-15, 15, 2**63, -(2**63) - 1, np.int64(99), "a", 1.0, [0]]),
       which=st.integers(0, N_SETS - 1))
def test_bad_positions_for_deletion(index, which):
    s = _sets()[which]
    before = s.to_numpy()
    with pytest.raises((IndexError, TypeError)) as info:
        del s[index]
    assert str(info.value)
    _unchanged(s, before)
    with pytest.raises(TypeError):
        del s[slice(0, "a")]
    with pytest.raises(ValueError):
        del s[::0]
    with pytest.raises(TypeError):
        s.islice("a")
    with pytest.raises(TypeError):
        s.islice(0, 1.5)
    _unchanged(s, before)


def test_replace_rejects_before_changing_anything():
    s = SortedSet([1, 2, 3], dtype=np.uint8)
    for old, new in ((1, -1), (1, 3.5), (99, 4), ("a", 4), (1, 256)):
        before = s.to_numpy()
        with pytest.raises(CLEAR):
            s.replace(old, new)
        _unchanged(s, before)
    for old, new in (([1], [-1]), ([1], [[2]]), ([[1]], [2]), ([1], [1.5])):
        before = s.to_numpy()
        with pytest.raises(CLEAR):
            s.replace_many(old, new)
        _unchanged(s, before)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity": 2**62},
        {"capacity": -1},
        {"capacity": 1.5},
        {"chunk_size": 0},
        {"chunk_size": -4},
        {"chunk_size": 3},
        {"chunk_size": 2**30},
        {"chunk_size": "512"},
        {"dtype": "float16"},
        {"dtype": "S4"},
        {"dtype": object},
        {"dtype": "not a dtype"},
    ],
)
def test_bad_constructor_arguments(kwargs):
    with pytest.raises((MemoryError,) + CLEAR) as info:
        SortedSet([1, 2], **kwargs)
    assert str(info.value)


def test_lying_array_in_constructor():
    for lie in (LyingArray(np.zeros((2, 2))), LyingArray(ValueError("lying")), LyingArray(np.array(["a"]))):
        with pytest.raises(CLEAR):
            SortedSet(lie)


def test_set_algebra_with_a_lying_operand_changes_nothing():
    s = SortedSet([1, 2, 3])
    before = s.to_numpy()
    for op in ("__ior__", "__iand__", "__isub__", "__ixor__"):
        with pytest.raises(CLEAR):
            getattr(s, op)([1.5])
        _unchanged(s, before)
