"""Edge cases of SortedSet: dtype limits, empty and one-key sets, input rules,
constructors, from_sorted, repr/nbytes, unsupported item assignment,
mutation during iteration, pickling.

Every expectation is computed from a Python oracle (sorted list + bisect) or
stated exactly; nothing is compared against the set's own output.
"""

from __future__ import annotations

import bisect
import pickle
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jitset import SortedSet

ALL_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


def limits(dtype):
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def extreme_keys(dtype):
    """Keys at and next to both limits, around 0, and across the sign bit of unsigned types."""
    lo, hi = limits(dtype)
    keys = {lo, lo + 1, lo + 2, hi - 2, hi - 1, hi, 0, 1, 2}
    if lo < 0:
        keys |= {-1, -2}
    mid = (lo + hi) // 2  # for uint64: 2**63 - 1, next to 2**63 (the int64 sign bit)
    keys |= {mid - 1, mid, mid + 1, mid + 2}
    return sorted(keys)


def queries_around(keys, dtype):
    """Every key and its neighbours that the dtype can hold."""
    lo, hi = limits(dtype)
    return sorted({q for k in keys for q in (k - 1, k, k + 1) if lo <= q <= hi})


def snapshot(s):
    return s.to_numpy().copy(), s.dtype, len(s)


def assert_unchanged(s, before):
    keys, dtype, n = before
    s._check()
    assert s.dtype == dtype
    assert len(s) == n
    after = s.to_numpy()
    assert after.dtype == keys.dtype
    assert np.array_equal(after, keys)


# ====================================================================== dtype limits


@pytest.mark.parametrize("chunk_size", [4, None])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_lookups_at_dtype_limits(dtype, chunk_size):
    keys = extreme_keys(dtype)
    shuffled = list(keys)
    random.Random(1).shuffle(shuffled)
    # built from an array: building from a Python list is tested on its own
    # (test_constructor_python_ints_are_exact), it fails for uint64
    s = SortedSet(np.array(shuffled, dtype=dtype), dtype=dtype, chunk_size=chunk_size)
    s._check()
    n = len(keys)
    lo, hi = limits(dtype)
    assert s.dtype == np.dtype(dtype)
    assert len(s) == n
    assert s.to_numpy().dtype == np.dtype(dtype)
    assert s.to_numpy().tolist() == keys
    it = list(s)
    assert it == keys and all(type(x) is int for x in it)
    assert list(reversed(s)) == keys[::-1]
    assert s.min() == lo and s.max() == hi
    assert type(s.min()) is int and type(s.max()) is int
    for i, k in enumerate(keys):
        assert k in s
        assert s.count(k) == 1
        assert s.index(k) == i
        assert s[i] == k and type(s[i]) is int
        assert s[i - n] == k
    for q in queries_around(keys, dtype):
        left, right = bisect.bisect_left(keys, q), bisect.bisect_right(keys, q)
        assert s.bisect_left(q) == left, q
        assert s.bisect_right(q) == right, q
        assert s.floor(q) == (keys[right - 1] if right else None), q
        assert s.ceiling(q) == (keys[left] if left < n else None), q
        assert s.lower(q) == (keys[left - 1] if left else None), q
        assert s.higher(q) == (keys[right] if right < n else None), q
        assert (q in s) is (q in keys)
    assert s.irange(lo, hi).tolist() == keys
    assert s.irange(lo, hi, inclusive=(False, False)).tolist() == keys[1:-1]
    assert s.irange(lo, hi, reverse=True).tolist() == keys[::-1]
    assert s.irange(hi, None).tolist() == [hi]
    assert s.irange(None, lo).tolist() == [lo]
    assert s.irange(hi, None, inclusive=(False, True)).tolist() == []
    assert s.irange(None, lo, inclusive=(True, False)).tolist() == []
    assert s.irange(lo, hi).dtype == np.dtype(dtype)
    assert s[::-1].tolist() == keys[::-1]
    assert s[1:-1:2].tolist() == keys[1:-1:2]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_mutations_at_dtype_limits(dtype):
    keys = extreme_keys(dtype)
    lo, hi = limits(dtype)
    rng = random.Random(7)
    s = SortedSet(dtype=dtype, chunk_size=4)
    model = []
    order = list(keys)
    rng.shuffle(order)
    for k in order:
        bisect.insort(model, k)
        got = s.add(k)
        assert type(got) is int and got == model.index(k), k
        assert s.add(k) == model.index(k)  # already there: same index, nothing changes
        s._check()
    assert s.to_numpy().tolist() == keys
    rng.shuffle(order)
    for k in order:
        i = model.index(k)
        assert s.discard(k) == i, k
        del model[i]
        assert s.discard(k) == -1
        s._check()
        assert s.to_numpy().tolist() == model
    assert len(s) == 0
    # pop at both ends of a full-range set
    s = SortedSet(np.array(keys, dtype=dtype), chunk_size=4)
    assert s.pop(0) == lo
    assert s.pop() == hi
    assert s.pop(-1) == keys[-2]
    assert s.remove(keys[1]) == 0
    s._check()
    assert s.to_numpy().tolist() == keys[2:-2]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_round_trip_every_integer_dtype(dtype):
    keys = extreme_keys(dtype)
    arr = np.array(keys[::-1] + keys[:3], dtype=dtype)  # unsorted, with repeats
    s = SortedSet(arr)  # dtype inferred from the array
    assert s.dtype == np.dtype(dtype)
    assert s.to_numpy().tolist() == keys
    assert np.asarray(s).dtype == np.dtype(dtype)
    t = SortedSet.from_sorted(np.array(keys, dtype=dtype), chunk_size=4)
    assert t.dtype == np.dtype(dtype) and t == s
    t._check()
    u = SortedSet(s, chunk_size=8)  # from another SortedSet: same dtype
    assert u.dtype == np.dtype(dtype) and u == s and u.chunk_size == 8


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_pickle_every_dtype(dtype):
    keys = extreme_keys(dtype)
    s = SortedSet(np.array(keys, dtype=dtype), chunk_size=4)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        t = pickle.loads(pickle.dumps(s, protocol=protocol))
        assert type(t) is SortedSet
        assert t == s
        assert t.dtype == s.dtype and t.chunk_size == 4
        assert t.to_numpy().tolist() == keys
        t._check()
        t.discard(keys[0])  # independent of the original
        assert s.to_numpy().tolist() == keys
    empty = pickle.loads(pickle.dumps(SortedSet(dtype=dtype, chunk_size=16)))
    assert len(empty) == 0 and empty.dtype == np.dtype(dtype) and empty.chunk_size == 16
    empty._check()


def test_uint64_ordering_is_unsigned():
    # keys above 2**63 must sort after the ones below (no signed comparison anywhere)
    keys = [0, 5, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 2, 2**64 - 1]
    s = SortedSet(np.array(keys[::-1], dtype=np.uint64), chunk_size=4)
    assert list(s) == keys
    assert s.index(2**63) == 3
    assert s.bisect_left(2**63) == 3 and s.bisect_right(2**63) == 4
    assert s.floor(2**64 - 3) == 2**63 + 1
    assert s.ceiling(6) == 2**63 - 1
    assert s.irange(2**63, None).tolist() == keys[3:]
    assert s.discard(2**64 - 1) == 6
    assert s.add(2**64 - 1) == 6
    assert s.pop(3) == 2**63
    s._check()


# ====================================================================== empty / one key


@pytest.mark.parametrize("dtype", ["int64", "uint8", "int8", "uint64"])
def test_empty_set(dtype):
    s = SortedSet(dtype=dtype)
    dt = np.dtype(dtype)
    assert len(s) == 0 and not s
    assert list(s) == [] and list(reversed(s)) == []
    for i in (0, -1, 1):
        with pytest.raises(IndexError):
            s[i]
    with pytest.raises(IndexError):
        s.pop()
    with pytest.raises(IndexError):
        s.pop(0)
    with pytest.raises(ValueError):
        s.min()
    with pytest.raises(ValueError):
        s.max()
    with pytest.raises(ValueError):
        s.index(5)
    with pytest.raises(KeyError):
        s.remove(5)
    assert s.discard(5) == -1
    assert 5 not in s and s.count(5) == 0
    assert s.floor(5) is None and s.ceiling(5) is None
    assert s.lower(5) is None and s.higher(5) is None
    assert s.bisect_left(5) == 0 and s.bisect_right(5) == 0
    for arr in (s.irange(), s.irange(1, 9), s.irange(reverse=True), s.to_numpy(), np.asarray(s), s[:], s[::-1]):
        assert isinstance(arr, np.ndarray) and arr.dtype == dt and arr.shape == (0,)
    r = repr(s)
    assert dt.name in r and "0" in r
    assert s == SortedSet(dtype=dtype)
    s._check()
    # an emptied set behaves the same and can be refilled
    s.add(3)
    assert s.pop() == 3
    with pytest.raises(IndexError):
        s.pop()
    assert s.floor(5) is None and s.to_numpy().dtype == dt
    assert s.add(4) == 0 and list(s) == [4]
    s._check()


def test_one_key_set():
    s = SortedSet([7], chunk_size=4)
    assert len(s) == 1 and s
    assert s[0] == 7 and s[-1] == 7
    for i in (1, -2):
        with pytest.raises(IndexError):
            s[i]
    assert s.min() == s.max() == 7
    assert s.index(7) == 0
    assert s.bisect_left(7) == 0 and s.bisect_right(7) == 1
    assert s.bisect_left(8) == 1 and s.bisect_right(6) == 0
    assert s.floor(6) is None and s.floor(7) == 7 and s.floor(100) == 7
    assert s.ceiling(8) is None and s.ceiling(7) == 7 and s.ceiling(-100) == 7
    assert s.lower(7) is None and s.lower(8) == 7
    assert s.higher(7) is None and s.higher(6) == 7
    assert s.irange(7, 7).tolist() == [7]
    assert s.irange(7, 7, inclusive=(False, True)).tolist() == []
    assert s.irange(7, 7, inclusive=(True, False)).tolist() == []
    assert s.irange(8, 6).tolist() == []
    assert list(s) == [7] and list(reversed(s)) == [7]
    assert s.add(7) == 0 and len(s) == 1
    assert s.add(3) == 0 and s.discard(3) == 0
    assert s.add(9) == 1 and s.discard(9) == 1
    with pytest.raises(IndexError):
        s.pop(1)
    assert s.pop() == 7 and len(s) == 0
    s._check()
    t = SortedSet([7])
    assert t.discard(7) == 0 and len(t) == 0
    t._check()


# ====================================================================== key input rules

BAD_KEYS = [
    # (dtype, key, exception)
    ("int64", 3.5, TypeError),
    ("int64", "a", TypeError),
    ("int64", None, TypeError),
    ("int64", b"x", TypeError),
    ("int64", float("nan"), TypeError),
    ("int64", float("inf"), TypeError),
    ("int64", 2**64, OverflowError),
    ("int64", 2**63, OverflowError),
    ("int64", -(2**63) - 1, OverflowError),
    ("int64", 1e19, OverflowError),
    ("int64", np.uint64(2**63), OverflowError),
    ("uint8", -1, OverflowError),
    ("uint8", 256, OverflowError),
    ("uint8", np.int64(300), OverflowError),
    ("uint8", 3.5, TypeError),
    ("uint8", "a", TypeError),
    ("uint8", -1.0, OverflowError),
    ("int8", 128, OverflowError),
    ("int8", -129, OverflowError),
    ("uint64", -1, OverflowError),
    ("uint64", 2**64, OverflowError),
    ("uint64", 0.5, TypeError),
]

KEY_OPS = ["add", "discard", "remove", "index", "bisect_left", "bisect_right"]


@pytest.mark.parametrize("op", KEY_OPS)
@pytest.mark.parametrize(
    "dtype, key, exc", BAD_KEYS, ids=[f"{dt}-{k!r}-{e.__name__}" for dt, k, e in BAD_KEYS]
)
def test_rejected_keys(dtype, key, exc, op):
    lo, hi = limits(dtype)
    s = SortedSet(np.array([lo, 0, 1, 2, hi], dtype=dtype), chunk_size=4)
    before = snapshot(s)
    with pytest.raises(exc) as info:
        getattr(s, op)(key)
    message = str(info.value)
    assert repr(key) in message, message
    assert np.dtype(dtype).name in message, message
    assert_unchanged(s, before)


@pytest.mark.parametrize(
    "dtype, key, exc", BAD_KEYS, ids=[f"{dt}-{k!r}-{e.__name__}" for dt, k, e in BAD_KEYS]
)
def test_contains_with_rejected_keys(dtype, key, exc):
    s = SortedSet([0, 1, 2, 3], dtype=dtype)
    before = snapshot(s)
    if isinstance(key, (int, float, np.number)):
        # a number the dtype cannot hold is simply not there
        assert (key in s) is False
        assert s.count(key) == 0
    else:
        with pytest.raises(TypeError):
            key in s
    assert_unchanged(s, before)


@pytest.mark.parametrize("dtype", ["int64", "uint8", "int8", "uint64"])
@pytest.mark.parametrize(
    "key, value",
    [
        (3.0, 3),
        (np.float64(4.0), 4),
        (np.float32(6.0), 6),
        (np.int8(5), 5),
        (np.uint8(9), 9),
        (np.int64(11), 11),
        (np.uint64(12), 12),
        (True, 1),
        (False, 0),
        (np.bool_(True), 1),
    ],
    ids=repr,
)
def test_accepted_key_types(dtype, key, value):
    base = [2, 7, 10]
    s = SortedSet(base, dtype=dtype, chunk_size=4)
    model = sorted(set(base) | {value})
    assert s.add(key) == model.index(value)
    assert key in s and value in s
    assert s.index(key) == model.index(value)
    assert s.bisect_left(key) == bisect.bisect_left(model, value)
    assert s.bisect_right(key) == bisect.bisect_right(model, value)
    assert s.floor(key) == value and s.ceiling(key) == value
    assert s.to_numpy().tolist() == model
    assert s.discard(key) == model.index(value)
    assert key not in s
    s._check()


# ====================================================================== constructors


def test_constructor_iterables():
    expected = [-3, 1, 2, 9]
    values = [9, 1, -3, 2, 1, 9]
    for source in (values, tuple(values), (v for v in values), iter(values), set(values), dict.fromkeys(values)):
        s = SortedSet(source)
        assert s.dtype == np.int64
        assert s.to_numpy().tolist() == expected
        s._check()
    r = SortedSet(range(10, 0, -3))
    assert r.to_numpy().tolist() == [1, 4, 7, 10]
    assert SortedSet().to_numpy().tolist() == [] and SortedSet([]).dtype == np.int64
    assert SortedSet([True, False, True]).to_numpy().tolist() == [0, 1]


def test_constructor_dtype_inference_and_override():
    assert SortedSet([1, 2]).dtype == np.int64
    assert SortedSet(np.array([5, 1], dtype=np.uint16)).dtype == np.uint16
    assert SortedSet(np.array([5, 1], dtype=np.int8)).dtype == np.int8
    assert SortedSet(np.array([5.0, 1.0])).dtype == np.float64  # a float array keeps its dtype
    assert SortedSet([5.0, 1]).dtype == np.float64 and SortedSet([]).dtype == np.int64
    assert SortedSet(SortedSet([1], dtype=np.uint32)).dtype == np.uint32
    for dtype in (np.uint32, "int16", np.dtype("uint8")):
        s = SortedSet([3, 1, 2], dtype=dtype)
        assert s.dtype == np.dtype(dtype)
        assert s.to_numpy().tolist() == [1, 2, 3]
    assert SortedSet(np.array([5, 1], dtype=np.uint16), dtype=np.int8).dtype == np.int8


def test_constructor_checked_casts_from_arrays():
    s = SortedSet(np.array([300, -5, 7], dtype=np.int16), dtype=np.int32)
    assert s.to_numpy().tolist() == [-5, 7, 300]
    s = SortedSet(np.array([255, 0], dtype=np.int64), dtype=np.uint8)
    assert s.to_numpy().tolist() == [0, 255]
    s = SortedSet(np.array([2**64 - 1, 0], dtype=np.uint64), dtype=np.uint64)
    assert s.to_numpy().tolist() == [0, 2**64 - 1]
    with pytest.raises(OverflowError):
        SortedSet(np.array([-1, 3], dtype=np.int16), dtype=np.uint8)
    with pytest.raises(OverflowError):
        SortedSet(np.array([1, 300], dtype=np.int16), dtype=np.int8)
    with pytest.raises(OverflowError):
        SortedSet(np.array([2**63], dtype=np.uint64), dtype=np.int64)
    with pytest.raises(OverflowError):
        SortedSet(np.array([-1], dtype=np.int64), dtype=np.uint64)
    with pytest.raises(OverflowError):
        SortedSet([2**64])
    with pytest.raises(OverflowError):
        SortedSet([-(2**63) - 1])
    with pytest.raises(OverflowError):
        SortedSet([0, 256], dtype=np.uint8)
    with pytest.raises(OverflowError):
        SortedSet(SortedSet([1, 1000]), dtype=np.uint8)


def test_constructor_float_values():
    s = SortedSet(np.array([3.0, -1.0, 3.0, 0.0]), dtype=np.int64)
    assert s.dtype == np.int64 and s.to_numpy().tolist() == [-1, 0, 3]
    assert SortedSet([2.0, 1.0], dtype=np.uint8).to_numpy().tolist() == [1, 2]
    for bad in ([1.5], np.array([1.0, 1.5]), [float("nan")], np.array([np.inf])):
        with pytest.raises(TypeError):
            SortedSet(bad, dtype=np.int64)
    with pytest.raises(OverflowError):
        SortedSet(np.array([-1.0]), dtype=np.uint8)


def test_constructor_python_ints_are_exact():
    # Python ints that the dtype holds must be stored exactly, whatever else is
    # in the list: no detour through float64 (NumPy's common type of a small
    # int and an int above 2**63), which turns 2**63 + 1 into 2**63 and
    # 2**64 - 1 into 2**64.
    assert SortedSet([1, 2**63 + 1], dtype=np.uint64).to_numpy().tolist() == [1, 2**63 + 1]
    assert SortedSet([0, 2**64 - 1], dtype=np.uint64).to_numpy().tolist() == [0, 2**64 - 1]
    assert SortedSet.from_sorted([0, 2**64 - 1], dtype=np.uint64).to_numpy().tolist() == [0, 2**64 - 1]
    keys = extreme_keys("uint64")
    assert SortedSet(keys, dtype=np.uint64).to_numpy().tolist() == keys


def test_constructor_mixed_ints_and_floats_are_exact():
    # Every element converts exactly (a Python int, an integral float), so the
    # set must hold exactly those values: no detour through float64 that
    # rounds 2**53 + 1 to 2**53, or 2**63 - 1 up to 2**63.
    assert SortedSet([2**53 + 1, 1.0], dtype=np.int64).to_numpy().tolist() == [1, 2**53 + 1]
    assert SortedSet([2**63 - 1, 0.0], dtype=np.int64).to_numpy().tolist() == [0, 2**63 - 1]
    # inferred as float64, where 2**53 + 1 has no exact value: rejected, not rounded
    with pytest.raises(TypeError, match="9007199254740993"):
        SortedSet([2**53 + 1, 1.0])
    assert SortedSet([2**64 - 1, 1.0], dtype=np.uint64).to_numpy().tolist() == [1, 2**64 - 1]


def test_constructor_rejects_bad_shapes_and_values():
    with pytest.raises(ValueError):
        SortedSet(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError):
        SortedSet([[1, 2], [3, 4]])
    with pytest.raises(ValueError):
        SortedSet(np.array(5))
    with pytest.raises(TypeError):
        SortedSet(5)
    with pytest.raises(TypeError):
        SortedSet(["a", "b"], dtype=np.int64)
    with pytest.raises(TypeError):
        SortedSet([1, None])
    with pytest.raises(TypeError):
        SortedSet([1, "a"])


def test_constructor_invalid_dtype():
    for dtype in ("V8", np.dtype([("a", "u1"), ("b", "c8")]), np.complex128, object, "datetime64"):
        with pytest.raises(NotImplementedError):
            SortedSet([1], dtype=dtype)
    with pytest.raises(TypeError):
        SortedSet([1], dtype="foo")
    with pytest.raises(NotImplementedError):
        SortedSet.from_sorted([1], dtype="c8")


def test_constructor_non_native_byte_order():
    # a big-endian int32 array holds int32 keys; the set stores them natively
    arr = np.array([3, 1, 2], dtype=">i4")
    s = SortedSet(arr)
    assert s.dtype == np.dtype("int32")
    assert s.to_numpy().tolist() == [1, 2, 3]
    assert SortedSet([5, 4], dtype="<u2").to_numpy().tolist() == [4, 5]


@pytest.mark.parametrize("chunk_size", [3, 0, -1, -512, 2**20 + 1])
def test_chunk_size_out_of_range(chunk_size):
    with pytest.raises(ValueError):
        SortedSet([1, 2], chunk_size=chunk_size)
    with pytest.raises(ValueError):
        SortedSet.from_sorted([1, 2], chunk_size=chunk_size)


@pytest.mark.parametrize("chunk_size", [4.0, "8", 8.5])
def test_chunk_size_not_an_integer(chunk_size):
    with pytest.raises(TypeError):
        SortedSet([1, 2], chunk_size=chunk_size)


def test_chunk_size_and_capacity_accepted():
    assert SortedSet(chunk_size=4).chunk_size == 4
    assert SortedSet(chunk_size=np.int32(16)).chunk_size == 16
    assert SortedSet().chunk_size == 512
    s = SortedSet([5, 1], capacity=1000, chunk_size=4)
    for k in range(100):
        s.add(k)
    s._check()
    assert s.to_numpy().tolist() == list(range(100))
    assert len(SortedSet(capacity=0)) == 0
    with pytest.raises(ValueError):
        SortedSet(capacity=-1)
    with pytest.raises(TypeError):
        SortedSet(capacity=2.5)


def test_from_sorted():
    s = SortedSet.from_sorted([1, 5, 9], chunk_size=4)
    assert s.to_numpy().tolist() == [1, 5, 9] and s.chunk_size == 4
    s._check()
    assert len(SortedSet.from_sorted([])) == 0
    assert SortedSet.from_sorted(np.array([2**64 - 1], dtype=np.uint64)).dtype == np.uint64
    big = SortedSet.from_sorted(range(0, 3000, 3), chunk_size=4)
    big._check()
    assert big.to_numpy().tolist() == list(range(0, 3000, 3))
    for values, (a, b) in (([10, 30, 20, 40], (30, 20)), ([10, 20, 20, 30], (20, 20)), ([50, 40], (50, 40))):
        with pytest.raises(ValueError) as info:
            SortedSet.from_sorted(values)
        message = str(info.value)
        assert str(a) in message and str(b) in message, message
        assert message.index(str(a)) <= message.rindex(str(b))


def test_repr():
    s = SortedSet([3, 1, 2], dtype=np.uint16)
    r = repr(s)
    assert "uint16" in r and "3" in r
    assert r.index("1") < r.index("2") < r.index("3")
    big = SortedSet(range(1000, 2000))
    r = repr(big)
    assert "int64" in r and "1000" in r and "1999" in r
    assert str(len(big)) in r.replace("1000,", "")  # the length, not just the first key
    assert len(r) < 200  # large sets are abbreviated


def test_nbytes_grows():
    s = SortedSet(chunk_size=8)
    empty = s.nbytes
    assert empty > 0
    for k in range(5000):
        s.add(k)
    assert s.nbytes > empty
    # at least the keys themselves
    assert s.nbytes >= 5000 * 8
    assert SortedSet(range(5000), dtype=np.int64).nbytes > SortedSet(range(5000), dtype=np.int16).nbytes


def test_item_assignment_is_not_supported():
    s = SortedSet([1, 2, 3])
    before = snapshot(s)
    with pytest.raises(NotImplementedError):
        s[0] = 5
    with pytest.raises(NotImplementedError):
        s[0:2] = [7, 8]
    assert_unchanged(s, before)


def test_index_arguments():
    s = SortedSet(range(10), chunk_size=4)
    before = snapshot(s)
    assert s[np.int64(3)] == 3 and s[np.uint8(9)] == 9
    for bad in (2**70, -(2**70), 10, -11):
        with pytest.raises(IndexError):
            s[bad]
        with pytest.raises(IndexError):
            s.pop(bad)
    for bad in (1.0, "a", None):
        with pytest.raises(TypeError):
            s[bad]
        with pytest.raises(TypeError):
            s.pop(bad)
    assert_unchanged(s, before)
    assert s.pop(np.int64(2)) == 2


# ====================================================================== iteration


def test_iteration_spans_many_blocks():
    keys = list(range(-2500, 7500, 3))
    s = SortedSet(keys[::-1], chunk_size=8)
    assert list(s) == keys
    assert list(reversed(s)) == keys[::-1]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mutation", ["add", "add_many_small"])
def test_growing_the_set_while_iterating_raises(reverse, mutation):
    s = SortedSet(range(5000))
    seen = 0
    with pytest.raises(RuntimeError):
        for _ in reversed(s) if reverse else s:
            seen += 1
            if seen == 1:
                if mutation == "add":
                    s.add(10**6)
                else:
                    for k in range(10**6, 10**6 + 10):
                        s.add(k)
    assert seen < 5000
    s._check()
    assert len(s) == (5001 if mutation == "add" else 5010)


# Shrinking the set during iteration is run in a child process: on failure
# the iterator may read past the end of the arrays and crash the interpreter.
SHRINK_SCRIPT = textwrap.dedent(
    """
    import sys
    from jitset import SortedSet

    mode = sys.argv[1]
    raised = 0
    trials = 0
    for n in (1100, 2100, 5000, 20000):
        for reverse in (False, True):
            trials += 1
            s = SortedSet(range(n))
            try:
                for i, _ in enumerate(reversed(s) if reverse else s):
                    if i == 0:
                        if mode == "clear":
                            s.clear()
                        elif mode == "discard":
                            s.discard(n - 1)
                            s.discard(0)
                        else:
                            for _ in range(n - 10):
                                s.pop()
            except RuntimeError:
                raised += 1
            s._check()
    print(f"raised {raised} of {trials}")
    """
)


@pytest.mark.parametrize("mode", ["clear", "discard", "pop"])
def test_shrinking_the_set_while_iterating_raises(mode):
    proc = subprocess.run(
        [sys.executable, "-c", SHRINK_SCRIPT, mode], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"child exited with {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.strip() == "raised 8 of 8", proc.stdout
