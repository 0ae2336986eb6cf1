"""Non-integer key dtypes (floats, datetimes, timedeltas, bool) against Python's own ordering.

Each dtype has a strategy of keys (extremes included: +-inf, subnormals,
-0.0, datetime min/max) and a function mapping a key to a Python value that
orders the same way; the oracle is a sorted list of those values.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from jitset import SortedSet
from test_model import assert_compares_like_sets

I64 = np.iinfo(np.int64)


def _float_value(x) -> float:
    return float(x) + 0.0  # -0.0 and 0.0 are one key


def _count(x) -> int:
    return int(np.asarray(x).view(np.int64))


DTYPES = {
    "float64": (
        np.dtype(np.float64),
        st.one_of(
            st.floats(allow_nan=False),
            st.sampled_from([0.0, -0.0, 5e-324, -5e-324, np.inf, -np.inf, 1.7976931348623157e308]),
            st.integers(-20, 20).map(float),
        ),
        _float_value,
    ),
    "float32": (
        np.dtype(np.float32),
        st.one_of(
            st.floats(width=32, allow_nan=False).map(np.float32),
            st.sampled_from([np.float32(1e-45), np.float32(-0.0), np.float32(np.inf), np.float32(-np.inf)]),
            st.integers(-20, 20).map(np.float32),
        ),
        _float_value,
    ),
    "datetime64[ns]": (
        np.dtype("datetime64[ns]"),
        st.one_of(st.integers(I64.min + 1, I64.max), st.integers(-30, 30)).map(lambda v: np.datetime64(v, "ns")),
        _count,
    ),
    "timedelta64[s]": (
        np.dtype("timedelta64[s]"),
        st.one_of(st.integers(I64.min + 1, I64.max), st.integers(-30, 30)).map(lambda v: np.timedelta64(v, "s")),
        _count,
    ),
    "bool": (np.dtype(bool), st.booleans(), bool),
}


def make_machine(name: str, chunk_size, spec=None):
    """A state machine for ``spec = (dtype, key strategy, key -> Python value)``, by default ``DTYPES[name]``."""
    dtype, keys, value = spec or DTYPES[name]
    batch = st.lists(keys, max_size=25)

    class DtypeMachine(RuleBasedStateMachine):
        def values(self, arr) -> list:
            return [value(x) for x in np.asarray(arr)]

        @initialize(initial=st.lists(keys, max_size=40))
        def build(self, initial):
            self.s = SortedSet(np.array(initial, dtype=dtype), dtype=dtype, chunk_size=chunk_size)
            self.model = sorted({value(k) for k in initial})

        @invariant()
        def consistent(self):
            self.s._check()
            out = self.s.to_numpy()
            assert out.dtype == dtype
            assert self.values(out) == self.model

        @rule(key=keys)
        def add(self, key):
            i = self.s.add(key)
            self.model = sorted(set(self.model) | {value(key)})
            assert i == self.model.index(value(key))

        @rule(key=keys)
        def discard(self, key):
            v = value(key)
            expected = self.model.index(v) if v in self.model else -1
            assert self.s.discard(key) == expected
            self.model = [m for m in self.model if m != v]

        @rule(key=keys)
        def lookups(self, key):
            v = value(key)
            assert (key in self.s) == (v in self.model)
            assert self.s.bisect_left(key) == sum(m < v for m in self.model)
            assert self.s.bisect_right(key) == sum(m <= v for m in self.model)
            floor = self.s.floor(key)
            below = [m for m in self.model if m <= v]
            assert (floor is None and not below) or value(floor) == below[-1]
            if self.model:
                i = self.model.index(v) if v in self.model else 0
                assert value(self.s[i]) == self.model[i]
                assert value(self.s[-1]) == self.model[-1]

        @rule(new=batch)
        def add_many(self, new):
            idx = self.s.add_many(np.array(new, dtype=dtype))
            fresh = sorted({value(k) for k in new} - set(self.model))
            self.model = sorted(set(self.model) | {value(k) for k in new})
            assert idx.tolist() == [self.model.index(v) for v in fresh]

        @rule(old=batch, new=batch)
        def replace_many(self, old, new):
            removed, inserted = self.s.replace_many(np.array(old, dtype=dtype), np.array(new, dtype=dtype))
            before = self.model
            gone = sorted({value(k) for k in old} & set(before))
            middle = sorted(set(before) - set(gone))
            fresh = sorted({value(k) for k in new} - set(middle))
            self.model = sorted(set(middle) | set(fresh))
            assert removed.tolist() == [before.index(v) for v in gone]
            assert inserted.tolist() == [self.model.index(v) for v in fresh]

        @rule(query=batch)
        def batch_queries(self, query):
            q = np.array(query, dtype=dtype)
            assert self.s.contains_many(q).tolist() == [value(k) in self.model for k in query]
            assert self.s.searchsorted(q).tolist() == [sum(m < value(k) for m in self.model) for k in query]
            if self.model:
                idx = list(range(-len(self.model), len(self.model)))
                assert self.values(self.s.take(idx)) == [self.model[i] for i in idx]

        @rule(lo=keys, hi=keys, other=batch)
        def ranges_and_algebra(self, lo, hi, other):
            a, b = sorted([value(lo), value(hi)])
            lo, hi = (lo, hi) if value(lo) <= value(hi) else (hi, lo)
            assert self.values(self.s.irange(lo, hi)) == [m for m in self.model if a <= m <= b]
            assert self.values(self.s.irange(lo, hi, inclusive=(False, False), reverse=True)) == [
                m for m in self.model[::-1] if a < m < b
            ]
            for name, expected in (("ceiling", [m for m in self.model if m >= a][:1]),
                                   ("higher", [m for m in self.model if m > a][:1]),
                                   ("lower", [m for m in self.model if m < a][-1:])):
                got = getattr(self.s, name)(lo)
                assert (got is None and not expected) or [value(got)] == expected
            arr = np.array(other, dtype=dtype)
            theirs = {value(k) for k in other}
            ours = set(self.model)
            assert self.values((self.s | arr).to_numpy()) == sorted(ours | theirs)
            assert self.values((self.s & arr).to_numpy()) == sorted(ours & theirs)
            assert self.values((self.s - arr).to_numpy()) == sorted(ours - theirs)
            assert self.values((self.s ^ arr).to_numpy()) == sorted(ours ^ theirs)
            assert self.s.index_many(arr).tolist() == [self.model.index(value(k)) if value(k) in ours else -1
                                                       for k in other]
            assert self.values(self.s[1::2]) == self.model[1::2]
            if self.model:
                assert value(self.s.min()) == self.model[0] and value(self.s.max()) == self.model[-1]

        @rule(old=batch, key=keys, data=st.data())
        def removals(self, old, key, data):
            before = self.model
            gone = sorted({value(k) for k in old} & set(before))
            removed = self.s.discard_many(np.array(old, dtype=dtype))
            assert removed.tolist() == [before.index(v) for v in gone]
            self.model = [m for m in before if m not in set(gone)]
            if self.model:
                i = data.draw(st.integers(-len(self.model), len(self.model) - 1))
                assert value(self.s.pop(i)) == self.model.pop(i)
            if self.model:
                old_key = self.s[0]
                v_old, v_new = value(old_key), value(key)
                at, to = self.s.replace(old_key, key)
                assert at == 0
                self.model = sorted((set(self.model) - {v_old}) | {v_new})
                assert to == self.model.index(v_new)

        @rule(key=keys)
        def insert(self, key):
            v = value(key)
            present = v in self.model
            index, added = self.s.insert(key)
            self.model = sorted(set(self.model) | {v})
            assert index == self.model.index(v)
            assert added is (not present)

        @rule(data=st.data())
        def delete_by_position(self, data):
            n = len(self.model)
            i = data.draw(st.integers(-n - 1, n), label="i")
            if -n <= i < n:
                del self.s[i]
                del self.model[i]
            else:
                with pytest.raises(IndexError):
                    del self.s[i]
            bounds = st.none() | st.integers(-n - 3, n + 3)
            start, stop = data.draw(bounds, label="start"), data.draw(bounds, label="stop")
            step = data.draw(st.none() | st.integers(-4, 4).filter(bool), label="step")
            del self.s[start:stop:step]
            del self.model[start:stop:step]

        @rule(lo=st.none() | keys, hi=st.none() | keys, inclusive=st.tuples(st.booleans(), st.booleans()))
        def discard_irange(self, lo, hi, inclusive):
            a = None if lo is None else value(lo)
            b = None if hi is None else value(hi)

            def inside(m):
                return ((a is None or m > a or (inclusive[0] and m == a))
                        and (b is None or m < b or (inclusive[1] and m == b)))

            gone = [i for i, m in enumerate(self.model) if inside(m)]
            at = sum(a is not None and (m < a or (m == a and not inclusive[0])) for m in self.model)
            expected = (gone[0], gone[-1] + 1) if gone else (at, at)
            assert self.s.discard_irange(lo, hi, inclusive) == expected
            self.model = [m for m in self.model if not inside(m)]

        @rule(start=st.none() | st.integers(-30, 30), stop=st.none() | st.integers(-30, 30), reverse=st.booleans())
        def islice(self, start, stop, reverse):
            expected = self.model[start:stop]
            assert self.values(list(self.s.islice(start, stop, reverse))) == (expected[::-1] if reverse else expected)

        @rule(other=batch, data=st.data())
        def compare_with_builtin_sets(self, other, data):
            elements = list(self.s)  # the set's own Python values: hashable, equal where keys are
            mine = set(elements)
            theirs = set(SortedSet(np.array(other, dtype=dtype), dtype=dtype))
            sub = set(data.draw(st.lists(st.sampled_from(elements)), label="sub")) if elements else set()
            for o in (mine, sub, mine | theirs, theirs):
                for b in (o, frozenset(o)):
                    assert_compares_like_sets(self.s, b, mine, o)
                assert self.s.issubset(list(o)) is mine.issubset(o)
                assert self.s.issuperset(list(o)) is mine.issuperset(o)
                assert self.s.isdisjoint(list(o)) is mine.isdisjoint(o)
            same = SortedSet(np.array(other, dtype=dtype), dtype=dtype, chunk_size=chunk_size)
            ours = SortedSet(self.s, chunk_size=8)
            assert (self.s == ours) and (self.s <= ours) and not (self.s < ours)
            assert_compares_like_sets(self.s, same, mine, theirs)
            assert self.s.isdisjoint(same) is mine.isdisjoint(theirs)
            assert same.isdisjoint(self.s) is theirs.isdisjoint(mine)

        @rule()
        def whole(self):
            assert [value(x) for x in self.s] == self.model
            assert [value(x) for x in reversed(self.s)] == self.model[::-1]
            clone = pickle.loads(pickle.dumps(self.s))
            assert clone == self.s and clone.dtype == dtype
            assert np.array_equal(clone.to_numpy(), self.s.to_numpy())

    DtypeMachine.__name__ = f"DtypeMachine_{name}_{chunk_size}"
    return DtypeMachine


for _name in DTYPES:
    for _chunk in (4, None):
        _machine = make_machine(_name, _chunk)
        _case = settings(max_examples=25, stateful_step_count=25)(_machine).TestCase
        globals()[f"Test_{_name.replace('[', '_').replace(']', '')}_{_chunk}"] = _case
del _case  # else pytest collects the last one a second time, under this name


def test_float_bits_round_trip_exactly():
    x = np.array([-np.inf, -1.5, -5e-324, 0.0, 5e-324, 1 / 3, np.inf])
    s = SortedSet(x[::-1])
    assert s.to_numpy().tobytes() == x.tobytes()  # bit-exact
    assert SortedSet([-0.0]).to_numpy().tobytes() == np.array([0.0]).tobytes()  # documented: -0.0 -> 0.0


def test_rejections_name_the_key_and_leave_the_set_unchanged():
    f = SortedSet([1.0, 2.0])
    d = SortedSet(np.array(["2020-01-01"], dtype="datetime64[s]"))
    cases = [
        (f.add, float("nan"), ValueError, "nan"),
        (f.add_many, [1.0, float("nan")], ValueError, "nan"),
        (f.add, "a", TypeError, "'a'"),
        (f.add, 2**60 + 1, TypeError, str(2**60 + 1)),
        (SortedSet([1.0], dtype=np.float32).add, 0.1, TypeError, "0.1"),
        (d.add, np.datetime64("NaT", "s"), ValueError, "NaT"),  # a unit: NumPy deprecates NaT without one
        (d.add, np.datetime64("2020-01-01T00:00:00.5"), TypeError, "2020-01-01T00:00:00.500"),
        (d.add, 1.5, TypeError, "1.5"),
        (d.add, np.timedelta64(1, "s"), TypeError, "timedelta64"),
        (d.add_many, np.array([1.5]), TypeError, "float64"),  # NumPy's cast would truncate it to 1
        (d.add_many, np.array([True]), TypeError, "bool"),
        (SortedSet([True]).add, 2, OverflowError, "2"),
    ]
    for method, key, exc, text in cases:
        owner = method.__self__
        before = owner.to_numpy()
        with pytest.raises(exc) as info:
            method(key)
        assert text in str(info.value), (text, str(info.value))
        assert np.array_equal(owner.to_numpy(), before)
        owner._check()
    assert float("nan") not in f
    assert 1.5 not in SortedSet([1, 2])


def test_scalar_results_are_python_values_or_numpy_datetimes():
    assert type(SortedSet([1.5])[0]) is float
    assert type(SortedSet([True])[0]) is bool
    d = SortedSet(np.array([5], dtype="datetime64[ns]"))
    assert d[0] == np.datetime64(5, "ns") and isinstance(d[0], np.datetime64)
    assert d.min() == d.max() == np.datetime64(5, "ns")
