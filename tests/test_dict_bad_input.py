"""``SortedDict`` (issue 22, work in progress): bad input raises clearly and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from jitset.sorteddict import SortedDict

RECORD = np.dtype([("qty", "f8"), ("orders", "i4")])


def _snapshot(d):
    keys, values = d.to_numpy()
    return keys.tolist(), values.tolist()


@pytest.fixture
def d():
    return SortedDict(np.arange(0, 200, 2), np.arange(100, dtype=np.int32), value_dtype="i4", chunk_size=4)


@pytest.mark.parametrize(
    "keys, values, error",
    [
        ([1, 3], [1], ValueError),  # lengths differ
        ([1, 3], [1.5, 2], TypeError),  # a non-integral float for an integer column
        ([1, 3], [1, 2**31], OverflowError),  # out of the column's range
        ([1, 3], ["a", "b"], TypeError),  # strings for numbers
        ([1.5, 3], [1, 2], TypeError),  # a non-integral key
        ([1, 2**63], [1, 2], OverflowError),  # a key out of int64's range
        ([1, 3], [[1, 2], [3, 4]], ValueError),  # the wrong shape
    ],
)
def test_a_rejected_batch_changes_nothing(d, keys, values, error):
    before = _snapshot(d)
    for mode in ("upsert", "insert", "update", "add"):
        with pytest.raises(error):
            d.update_many(keys, values, mode=mode)
        assert _snapshot(d) == before
    d._check()


@pytest.mark.parametrize("value, error", [(1.5, TypeError), (2**40, OverflowError), ("x", TypeError),
                                          ([1, 2], ValueError)])
def test_a_rejected_put_changes_nothing(d, value, error):
    before = _snapshot(d)
    with pytest.raises(error):
        d[7] = value
    with pytest.raises(error):
        d.put(8, value)  # present key: its value stays
    assert _snapshot(d) == before


def test_nan_is_a_value_but_not_a_key():
    d = SortedDict(value_dtype="f8")
    d[1] = float("nan")
    assert np.isnan(d[1])
    with pytest.raises((TypeError, ValueError)):
        SortedDict(dtype="f8", value_dtype="f8").put(float("nan"), 1.0)


def test_construction_forms():
    assert SortedDict({2: 20, 1: 10}, value_dtype="i8").to_numpy()[1].tolist() == [10, 20]
    assert SortedDict([(2, 20), (1, 10), (2, 5)], value_dtype="i8").to_numpy()[1].tolist() == [10, 5]  # last wins
    with pytest.raises(TypeError, match="pairs alone"):
        SortedDict(np.array([1, 2]))
    with pytest.raises(TypeError, match="pairs"):
        SortedDict([1, 2])
    with pytest.raises(TypeError, match="fixed-width"):
        SortedDict(value_dtype=object)


def test_modes_and_repeats():
    d = SortedDict({1: 1.0, 2: 2.0})
    assert [a.tolist() for a in d.update_many([2, 3, 3], [5.0, 6.0, 7.0], mode="insert")] == [[2], []]
    assert d[3] == 6.0 and d[2] == 2.0  # insert: the first of repeats, present keys untouched
    assert [a.tolist() for a in d.update_many([2, 9, 2], [1.0, 1.0, 4.0], mode="update")] == [[], [1]]
    assert d[2] == 4.0 and 9 not in d  # update: only present keys, the last of repeats
    assert [a.tolist() for a in d.update_many([1, 1, 5], [1.0, 2.0, 3.0], mode="add")] == [[3], [0]]
    assert d[1] == 4.0 and d[5] == 3.0  # add: repeats add up, then to the present value
    with pytest.raises(ValueError, match="mode"):
        d.update_many([1], [1.0], mode="replace")
    with pytest.raises(TypeError, match="numeric"):
        SortedDict({b"a": b"x"}, dtype="S2", value_dtype="S2").update_many([b"a"], [b"y"], mode="add")


def test_record_values_add_field_by_field():
    d = SortedDict([(10, (1.0, 1))], value_dtype=RECORD)
    d.update_many([10, 20], np.array([(0.5, 2), (3.0, 1)], dtype=RECORD), mode="add")
    assert d[10].tolist() == (1.5, 3) and d[20].tolist() == (3.0, 1)


def test_edges():
    d = SortedDict(dtype="i8", value_dtype="f4")
    assert len(d) == 0 and d.get(1) is None and d.to_numpy()[0].size == 0
    with pytest.raises(KeyError):
        d.popitem()
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    d[hi] = 1.0
    d[lo] = 2.0
    assert d.peekitem(0) == (lo, np.float32(2.0)) and d.peekitem(-1) == (hi, np.float32(1.0))
    assert d.pop(lo) == 2.0 and list(d) == [hi]
    d._check()
