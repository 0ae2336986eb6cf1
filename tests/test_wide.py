"""Bytes, str and structured keys (normalized words) against Python's own ordering.

The machine of ``test_dtypes`` runs over each wide dtype: one-word keys (the
integer fast path), two-word and four-word records, so that every kernel is
exercised on each storage shape with tiny chunks.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitset import SortedSet
from jitset._keys import argsort_keys, sort_unique
from jitset._normalized import WideCodec
from jitset._plumbing import word_dtype
from test_dtypes import make_machine

I64 = np.iinfo(np.int64)
U64 = np.iinfo(np.uint64)

MEMBER = np.dtype([("group", "u1"), ("name", "S16"), ("id", "u8")])
MIXED = np.dtype([("score", "f8"), ("name", "U5"), ("when", "M8[s]")])
SMALL = np.dtype([("a", "i1"), ("b", "U1")])


def _bytes(x) -> bytes:
    return bytes(x).rstrip(b"\0")  # NumPy strips trailing NULs: b"a\0" is b"a"


def _str(x) -> str:
    return str(x).rstrip("\0")


def _fields(x) -> tuple:
    return tuple(x[i] for i in range(len(x))) if isinstance(x, np.void) else x


def _member(x):
    g, name, i = _fields(x)
    return int(g), _bytes(name), int(i)


def _mixed(x):
    score, name, when = _fields(x)
    return float(score) + 0.0, _str(name), int(np.asarray(when, dtype="M8[s]").view(np.int64))


def _small(x):
    a, b = _fields(x)
    return int(a), _str(b)


_text = st.text(max_size=5) | st.sampled_from(["", "\U0010ffff" * 5, "\0a", "a\0", "zzzzz", "\x7f\x80"])
_floats = st.floats(allow_nan=False) | st.sampled_from([0.0, -0.0, 5e-324, -np.inf, np.inf])
_seconds = st.integers(I64.min + 1, I64.max) | st.integers(-3, 3)

WIDE = {
    "S5": (np.dtype("S5"), st.binary(max_size=5) | st.sampled_from([b"", b"\xff" * 5, b"a\0b", b"a\0"]), _bytes),
    "S12": (np.dtype("S12"), st.binary(max_size=12) | st.sampled_from([b"", b"\xff" * 12, b"\0" * 11 + b"\1"]), _bytes),
    "U3": (np.dtype("U3"), st.text(max_size=3) | st.sampled_from(["", "\U0010ffff" * 3, "\0\0a"]), _str),
    "member": (
        MEMBER,
        st.tuples(
            st.integers(0, 255) | st.sampled_from([0, 255]),
            st.binary(max_size=16) | st.sampled_from([b"", b"\xff" * 16]),
            st.integers(0, U64.max) | st.sampled_from([0, U64.max]),
        ),
        _member,
    ),
    "mixed": (
        MIXED,
        st.tuples(_floats | st.integers(-3, 3).map(float), _text, _seconds.map(lambda v: np.datetime64(v, "s"))),
        _mixed,
    ),
    "small": (SMALL, st.tuples(st.integers(-128, 127), st.text(max_size=1)), _small),
}
for _name in WIDE:
    for _chunk in (4, 8, None):
        _machine = make_machine(_name, _chunk, WIDE[_name])
        _case = settings(max_examples=25, stateful_step_count=25)(_machine).TestCase
        globals()[f"Test_{_name}_{_chunk}"] = _case
del _case  # else pytest collects the last one a second time, under this name


@pytest.mark.parametrize("name", sorted(WIDE))
def test_scalar_and_batch_encodings_agree(name):
    """Scalars take a plain-Python path, batches a NumPy one: same words, same values back."""
    dtype, keys, _ = WIDE[name]
    codec = WideCodec(dtype)

    @given(st.lists(keys, min_size=1, max_size=20))
    @settings(max_examples=40)
    def check(values):
        batch = codec.keys(np.array(values, dtype=dtype))
        for value, raw in zip(values, batch):
            one = codec.key(value)
            if codec.words == 1:
                assert one == int(raw)
            else:
                assert one == raw.item()  # the words, as a tuple of ints
            back = codec.decode_scalar(one)
            assert back == codec.to_python(codec.decode(np.array([raw], dtype=codec.storage)))[0]

    check()


def test_storage_shapes():
    """One word where the normalized key fits in 8 bytes, records of words beyond."""
    assert WideCodec(np.dtype("S8")).storage == np.uint64
    assert WideCodec(np.dtype("U2")).storage == np.uint64  # 2 code points x 3 bytes
    assert WideCodec(SMALL).storage == np.uint64
    assert WideCodec(np.dtype("S9")).storage == word_dtype(2)
    assert WideCodec(MEMBER).storage == word_dtype(4)  # 1 + 16 + 8 = 25 bytes
    assert WideCodec(MIXED).storage == word_dtype(4)  # 8 + 15 + 8 = 31 bytes


def test_orders_like_python():
    keys = [b"", b"\0\1", b"a", b"a\0b", b"ab", b"b", b"\xff"]
    s = SortedSet(keys[::-1], dtype="S3")
    assert list(s) == keys
    words = ["", "a", "ab", "b", "é", "\uffff", "\U0010ffff"]
    u = SortedSet(words[::-1], dtype="U2")
    assert list(u) == sorted(words) == words
    m = SortedSet([(1, b"a", 0), (0, b"zz", 9), (1, b"", 5), (0, b"zz", 2)], dtype=MEMBER)
    assert list(m) == [(0, b"zz", 2), (0, b"zz", 9), (1, b"", 5), (1, b"a", 0)]
    x = SortedSet([(-0.0, "b", np.datetime64(1, "s")), (-1.5, "", np.datetime64(0, "s"))], dtype=MIXED)
    assert [v[0] for v in x] == [-1.5, 0.0]


def test_round_trips_bit_exactly():
    rng = np.random.default_rng(7)
    arr = np.zeros(500, dtype=MEMBER)
    arr["group"] = rng.integers(0, 256, 500)
    arr["name"] = [bytes(rng.integers(1, 256, rng.integers(0, 17)).astype(np.uint8)) for _ in range(500)]
    arr["id"] = rng.integers(0, 2**63, 500, dtype=np.uint64) * 2
    expected = np.sort(arr)  # NumPy's own (slow) structured sort, as the reference
    s = SortedSet(arr, chunk_size=8)
    out = s.to_numpy()
    assert out.dtype == MEMBER
    assert out.tobytes() == expected.tobytes()
    assert s.take([0, -1]).tobytes() == expected[[0, -1]].tobytes()
    assert np.array_equal(s.searchsorted(expected), np.arange(500))


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2**64 - 1)), max_size=200))
@settings(max_examples=60)
def test_argsort_of_words_is_stable_and_lexicographic(rows):
    """Heavy first-word ties (runs beyond 16 use the merge path) and duplicates."""
    w = np.array(rows, dtype=np.uint64).reshape(-1, 3)
    w[:, 0] <<= np.uint64(60)  # ties in the packed high bits, differences in the low ones too
    raw = np.ascontiguousarray(w).view(word_dtype(3)).reshape(-1)
    perm = argsort_keys(raw)
    expected = np.lexsort(w.T[::-1]) if len(w) else np.arange(0)
    assert perm.tolist() == expected.tolist()
    uniq = sort_unique(raw)
    assert list(map(tuple, uniq.view(np.uint64).reshape(-1, 3).tolist())) == sorted(set(map(tuple, w.tolist())))


def test_argsort_with_every_first_word_equal():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 4, size=(5000, 2), dtype=np.uint64)
    w[:, 0] = 7
    raw = w.view(word_dtype(2)).reshape(-1)
    assert argsort_keys(raw).tolist() == np.lexsort(w.T[::-1]).tolist()


def test_rejections_name_the_key_and_leave_the_set_unchanged():
    b = SortedSet([b"ab"], dtype="S3")
    u = SortedSet(["ab"], dtype="U3")
    m = SortedSet([(1, b"x", 2)], dtype=MEMBER)
    x = SortedSet([(1.0, "a", np.datetime64(0, "s"))], dtype=MIXED)
    cases = [
        (b.add, b"abcd", ValueError, "longer than 3 bytes"),
        (b.add_many, [b"a", b"abcd"], ValueError, "abcd"),
        (b.add_many, np.array([b"abcd"]), ValueError, "abcd"),
        (b.add, "ab", TypeError, "not bytes"),
        (b.add_many, [b"a", 1], TypeError, "1"),
        (b.add_many, np.array(["a"]), TypeError, "not bytes"),
        (u.add, "abcd", ValueError, "longer than 3 characters"),
        (u.add, b"ab", TypeError, "not str"),
        (m.add, (1, b"x"), TypeError, "tuple of 3 fields"),
        (m.add, (256, b"x", 1), OverflowError, "256"),
        (m.add, (1, b"x" * 17, 1), ValueError, "longer than 16 bytes"),
        (m.add, (1, "x", 1), TypeError, "not bytes"),
        (m.add, (1.5, b"x", 1), TypeError, "1.5"),
        (m.add_many, [(1, b"x", 1), (1, b"y")], TypeError, "tuple of 3 fields"),
        (m.add_many, np.zeros(2, dtype=[("a", "u1"), ("b", "u8")]), TypeError, "3 fields"),
        (m.add_many, np.array([(1, b"x" * 17, 1)], dtype=[("a", "u1"), ("b", "S17"), ("c", "u8")]), ValueError, "longer"),
        (m.add, 5, TypeError, "not a tuple"),
        (x.add, (float("nan"), "a", np.datetime64(0, "s")), ValueError, "NaN"),
        (x.add, (1.0, "a", np.datetime64("NaT", "s")), ValueError, "NaT"),
        (x.add, (1.0, "a", np.datetime64(1, "ms")), TypeError, "whole number"),
    ]
    for method, key, exc, text in cases:
        owner = method.__self__
        before = owner.to_numpy().tobytes()
        with pytest.raises(exc) as info:
            method(key)
        assert text in str(info.value), (text, str(info.value))
        assert owner.to_numpy().tobytes() == before
        owner._check()
    assert b"abcd" not in b and (1, b"x" * 17, 1) not in m  # cannot be held, so absent
    with pytest.raises(TypeError):
        b.__contains__("ab")  # a str in a bytes set is the wrong kind of key, not an absent one


def test_raw_u_arrays_must_hold_code_points():
    u = SortedSet(["a"], dtype="U2")
    forged = np.frombuffer(np.array([0x110000, 0], dtype=np.uint32).tobytes(), dtype="U2")
    with pytest.raises(ValueError, match="not a Unicode code point"):
        u.add_many(forged)
    assert list(u) == ["a"]


def test_structured_arrays_of_other_field_types_convert_exactly():
    m = SortedSet(dtype=MEMBER)
    other = np.array([(3, b"short", 7)], dtype=[("g", "i4"), ("n", "S32"), ("i", "i8")])
    assert m.add_many(other).tolist() == [0]
    assert m[0] == (3, b"short", 7)
    other["n"] = b"x" * 20
    with pytest.raises(ValueError, match="longer than 16"):
        m.add_many(other)
    other["n"] = b"ok"
    other["i"] = -1
    with pytest.raises(OverflowError):
        m.add_many(other)
    assert len(m) == 1


def test_unsupported_dtypes_say_why():
    for dtype, exc, text in [
        ("S", TypeError, "no width"),
        ("V8", NotImplementedError, "S<n>"),
        ([("a", "u1", (2,))], NotImplementedError, "subarrays"),
        ([("a", [("b", "u1")])], NotImplementedError, "nested"),
        ([("a", "O")], NotImplementedError, "object"),
        ("S600", NotImplementedError, "at most 512"),
        ("c16", NotImplementedError, "supported"),
    ]:
        with pytest.raises(exc, match=text):
            SortedSet(dtype=dtype)


def test_dtype_inferred_from_bytes_str_and_structured_values():
    assert SortedSet([b"b", b"a"]).dtype == np.dtype("S1")
    assert SortedSet(["bb", "a"]).dtype == np.dtype("U2")
    arr = np.array([(1, b"a", 2)], dtype=MEMBER)
    assert SortedSet(arr).dtype == MEMBER


def test_scalar_results_are_python_values():
    m = SortedSet([(1, b"a", 2)], dtype=MEMBER)
    assert m[0] == (1, b"a", 2) and type(m[0][1]) is bytes and type(m[0][2]) is int
    assert m.pop() == (1, b"a", 2) and len(m) == 0
    assert type(SortedSet(["x"], dtype="U4")[0]) is str
    assert SortedSet([b"x"], dtype="S20").floor(b"y") == b"x"


def test_persistence_keeps_the_structured_dtype(tmp_path):
    m = SortedSet([(2, b"b", 1), (1, b"a", 2)], dtype=MEMBER)
    path = tmp_path / "members.jitset"
    m.save(path)
    back = SortedSet.load(path)
    assert back.dtype == MEMBER and back == m
    back._check()
