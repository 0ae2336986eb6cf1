"""Model-based tests: SortedSet against a sorted Python list, operation by operation.

A hypothesis state machine drives a :class:`jitset.SortedSet` and the oracle
(a sorted ``list`` of distinct Python ints) side by side through every scalar
operation of the API, compares every return value, and verifies the internal
invariants (``_check``) plus the full content after every step.  Keys come
from a small range (plus the dtype's extremes) so that adds and discards
collide often; a bulk rule adds or removes hundreds of keys so that chunks of
4 or 8 keys split and merge constantly.

A seeded, plain randomized soak test then runs 20,000 add/discard steps.
"""

from __future__ import annotations

import bisect
import copy
import pickle
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from jitset import SortedSet, _gil

# ------------------------------------------------------------------ oracle helpers


def oracle_irange(model, minimum, maximum, inclusive, reverse):
    lo_inc, hi_inc = inclusive
    out = [
        x
        for x in model
        if (minimum is None or x > minimum or (lo_inc and x == minimum))
        and (maximum is None or x < maximum or (hi_inc and x == maximum))
    ]
    return out[::-1] if reverse else out


def assert_array(actual, expected_list, dtype):
    """``actual`` is an ndarray of ``dtype`` holding exactly ``expected_list``."""
    assert isinstance(actual, np.ndarray), type(actual)
    assert actual.dtype == dtype, (actual.dtype, dtype)
    assert actual.ndim == 1
    assert actual.tolist() == expected_list


def assert_compares_like_sets(a, b, sa, sb):
    """``a`` and ``b`` compare, in both orders, as the Python sets ``sa`` and ``sb`` do."""
    for x, y, px, py in ((a, b, sa, sb), (b, a, sb, sa)):
        assert (x == y) is (px == py)
        assert (x != y) is (px != py)
        assert (x <= y) is (px <= py)
        assert (x < y) is (px < py)
        assert (x >= y) is (px >= py)
        assert (x > y) is (px > py)


def assert_pyint(value, expected):
    assert type(value) is int, (type(value), value)
    assert value == expected


# ------------------------------------------------------------------ the machine


def keys_for(dtype):
    """(keys for mutations and queries, keys of a wider range); always within the dtype's range."""
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    extremes = st.sampled_from([lo, lo + 1, hi - 1, hi])
    if lo == 0:
        small = st.integers(0, 60)
    else:
        small = st.integers(max(lo, -50), min(hi, 50))
    wide = st.integers(max(lo, -2000), min(hi, 2000))
    # three parts ordinary keys to one part extremes
    return st.one_of(small, small, small, extremes), st.one_of(wide, wide, wide, extremes)


def make_machine(dtype_name, chunk_size):
    dtype = np.dtype(dtype_name)
    lo, hi = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    KEY, WIDE = keys_for(dtype)
    BOUND = st.none() | KEY
    SEED = st.integers(0, 2**32 - 1)
    CHUNKS = st.sampled_from([4, 8, None])

    def wide_key(rng):
        """Like WIDE, from a seeded generator (cheap for bulk rules)."""
        if rng.random() < 0.25:
            return rng.choice((lo, lo + 1, hi - 1, hi))
        return rng.randint(max(lo, -2000), min(hi, 2000))

    def absent_key(model, data):
        """A key of the dtype not in ``model`` (None if there is none)."""
        if dtype.itemsize == 1:
            free = sorted(set(range(lo, hi + 1)).difference(model))
            return data.draw(st.sampled_from(free), label="extra") if free else None
        return data.draw(WIDE.filter(lambda k: k not in model), label="extra")

    class SortedSetMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.s = None
            self.model = []

        # ---------------------------------------------------------- setup

        @initialize(
            values=st.lists(KEY, max_size=60),
            seed=st.none() | SEED,
            how=st.sampled_from(["list", "ndarray", "generator", "from_sorted", "tuple"]),
        )
        def build(self, values, seed, how):
            if seed is not None:  # a bigger start: up to 300 more keys from the wide range
                rng = random.Random(seed)
                values = values + [wide_key(rng) for _ in range(rng.randrange(300))]
            expected = sorted(set(values))
            if how == "list":
                s = SortedSet(values, dtype=dtype, chunk_size=chunk_size)
            elif how == "tuple":
                s = SortedSet(tuple(values), dtype=dtype, chunk_size=chunk_size)
            elif how == "generator":
                s = SortedSet((v for v in values), dtype=dtype, chunk_size=chunk_size)
            elif how == "ndarray":
                # dtype inferred from the array
                s = SortedSet(np.array(values, dtype=dtype), chunk_size=chunk_size)
            else:
                s = SortedSet.from_sorted(expected, dtype=dtype, chunk_size=chunk_size)
            assert s.dtype == dtype
            assert s.chunk_size == (chunk_size or 512)
            self.s = s
            self.model = expected

        @invariant()
        def consistent(self):
            if self.s is None:
                return
            self.s._check()
            assert self.s._serialized == _gil.SERIALIZED  # the thread mode the run asked for
            assert len(self.s) == len(self.model)
            assert bool(self.s) == bool(self.model)
            assert_array(self.s.to_numpy(), self.model, dtype)

        # ------------------------------------------------------ mutations

        @rule(key=KEY)
        def add(self, key):
            present = key in self.model
            got = self.s.add(key)
            if not present:
                bisect.insort(self.model, key)
            assert_pyint(got, self.model.index(key))

        @rule(key=KEY)
        def discard(self, key):
            got = self.s.discard(key)
            if key in self.model:
                expected = self.model.index(key)
                del self.model[expected]
            else:
                expected = -1
            assert_pyint(got, expected)

        @rule(key=KEY)
        def remove(self, key):
            if key in self.model:
                expected = self.model.index(key)
                got = self.s.remove(key)
                del self.model[expected]
                assert_pyint(got, expected)
            else:
                with pytest.raises(KeyError):
                    self.s.remove(key)

        @rule(data=st.data())
        def pop(self, data):
            n = len(self.model)
            index = data.draw(st.none() | st.integers(-n - 2, n + 1), label="index")
            i = -1 if index is None else index
            if -n <= i < n:
                expected = self.model.pop(i)
                got = self.s.pop() if index is None else self.s.pop(index)
                assert_pyint(got, expected)
            else:
                with pytest.raises(IndexError):
                    if index is None:
                        self.s.pop()
                    else:
                        self.s.pop(index)

        @rule(key=KEY)
        def insert(self, key):
            present = key in self.model
            index, added = self.s.insert(key)
            if not present:
                bisect.insort(self.model, key)
            assert_pyint(index, self.model.index(key))
            assert added is (not present)

        @rule(data=st.data())
        def delete_index(self, data):
            n = len(self.model)
            i = data.draw(st.integers(-n - 2, n + 1), label="i")
            if -n <= i < n:
                del self.s[i]
                del self.model[i]
            else:
                with pytest.raises(IndexError):
                    del self.s[i]

        @rule(
            start=st.none() | st.integers(-400, 400),
            stop=st.none() | st.integers(-400, 400),
            step=st.none() | st.integers(-7, 7).filter(bool),
        )
        def delete_slice(self, start, stop, step):
            del self.s[start:stop:step]
            del self.model[start:stop:step]

        @rule(
            minimum=BOUND,
            maximum=BOUND,
            inclusive=st.tuples(st.booleans(), st.booleans()),
        )
        def discard_irange(self, minimum, maximum, inclusive):
            gone = oracle_irange(self.model, minimum, maximum, inclusive, False)
            got = self.s.discard_irange(minimum, maximum, inclusive)
            if gone:
                expected = (self.model.index(gone[0]), self.model.index(gone[-1]) + 1)
            else:  # where keys in that range would be: the first key above the minimum
                expected = (len(oracle_irange(self.model, None, minimum, (True, not inclusive[0]), False))
                            if minimum is not None else 0,) * 2
            assert type(got) is tuple and len(got) == 2
            assert_pyint(got[0], expected[0])
            assert_pyint(got[1], expected[1])
            self.model = [x for x in self.model if x not in set(gone)]

        @rule(
            start=st.none() | st.integers(-400, 400),
            stop=st.none() | st.integers(-400, 400),
            reverse=st.booleans(),
        )
        def islice(self, start, stop, reverse):
            got = list(self.s.islice(start, stop, reverse=reverse))
            expected = self.model[start:stop]
            assert got == (expected[::-1] if reverse else expected)
            assert all(type(x) is int for x in got)

        @rule(data=st.data())
        def compare_with_builtin_sets(self, data):
            mine = set(self.model)
            kind = data.draw(st.sampled_from(["equal", "subset", "superset", "other"]), label="kind")
            if kind == "equal":
                other = set(mine)
            elif kind == "subset":
                other = set(data.draw(st.lists(st.sampled_from(self.model), unique=True), label="sub")) if mine else set()
            elif kind == "superset":
                other = mine | set(data.draw(st.lists(KEY, max_size=5), label="more"))
            else:
                other = set(data.draw(st.lists(KEY, max_size=10), label="other"))
            for o in (other, frozenset(other), dict.fromkeys(other).keys()):
                assert_compares_like_sets(self.s, o, mine, other)
            assert self.s.issubset(list(other)) is mine.issubset(other)
            assert self.s.issuperset(iter(other)) is mine.issuperset(other)
            assert self.s.isdisjoint(tuple(other)) is mine.isdisjoint(other)

        @rule()
        def clear(self):
            self.s.clear()
            self.model = []
            assert len(self.s) == 0
            assert self.s.dtype == dtype
            assert self.s.chunk_size == (chunk_size or 512)

        # Bulk rules take their keys from a seeded generator: drawing hundreds of
        # keys through hypothesis costs more than the operations themselves.

        @rule(seed=SEED, count=st.integers(20, 200))
        def bulk_add(self, seed, count):
            rng = random.Random(seed)
            for _ in range(count):
                key = wide_key(rng)
                present = key in self.model
                got = self.s.add(key)
                if not present:
                    bisect.insort(self.model, key)
                assert got == bisect.bisect_left(self.model, key), key
            self.s._check()

        @rule(seed=SEED, count=st.integers(20, 200))
        def bulk_discard(self, seed, count):
            # mostly keys that are present (so chunks empty and merge), some that are not
            rng = random.Random(seed)
            for _ in range(count):
                key = self.model[rng.randrange(len(self.model))] if self.model and rng.random() < 0.8 else wide_key(rng)
                got = self.s.discard(key)
                i = bisect.bisect_left(self.model, key)
                if i < len(self.model) and self.model[i] == key:
                    del self.model[i]
                    assert got == i, key
                else:
                    assert got == -1, key
            self.s._check()

        @rule(seed=SEED, fraction=st.floats(0, 1))
        def bulk_pop(self, seed, fraction):
            rng = random.Random(seed)
            for _ in range(int(len(self.model) * fraction)):
                i = rng.randrange(-len(self.model), len(self.model))
                assert self.s.pop(i) == self.model.pop(i), i
            self.s._check()

        # -------------------------------------------------------- lookups

        @rule(key=KEY)
        def contains_and_count(self, key):
            expected = key in self.model
            assert (key in self.s) is expected
            assert (key not in self.s) is (not expected)
            assert_pyint(self.s.count(key), int(expected))

        @rule()
        def iterate(self):
            forward = list(self.s)
            backward = list(reversed(self.s))
            assert forward == self.model
            assert backward == self.model[::-1]
            assert all(type(x) is int for x in forward)
            assert all(type(x) is int for x in backward)

        @rule(data=st.data())
        def getitem(self, data):
            n = len(self.model)
            i = data.draw(st.integers(-n - 3, n + 2), label="i")
            if -n <= i < n:
                assert_pyint(self.s[i], self.model[i])
                assert_pyint(self.s[np.int64(i)], self.model[i])
            else:
                with pytest.raises(IndexError):
                    self.s[i]

        @rule(
            start=st.none() | st.integers(-120, 120),
            stop=st.none() | st.integers(-120, 120),
            step=st.none() | st.integers(-7, 7).filter(bool),
        )
        def getslice(self, start, stop, step):
            assert_array(self.s[start:stop:step], self.model[start:stop:step], dtype)

        @rule(key=KEY)
        def index(self, key):
            if key in self.model:
                assert_pyint(self.s.index(key), self.model.index(key))
            else:
                with pytest.raises(ValueError):
                    self.s.index(key)

        @rule(key=KEY)
        def bisects(self, key):
            assert_pyint(self.s.bisect_left(key), bisect.bisect_left(self.model, key))
            assert_pyint(self.s.bisect_right(key), bisect.bisect_right(self.model, key))
            assert_pyint(self.s.bisect(key), bisect.bisect_right(self.model, key))

        @rule(key=KEY)
        def neighbours(self, key):
            m = self.model
            le = [x for x in m if x <= key]
            ge = [x for x in m if x >= key]
            lt = [x for x in m if x < key]
            gt = [x for x in m if x > key]
            assert self.s.floor(key) == (le[-1] if le else None)
            assert self.s.ceiling(key) == (ge[0] if ge else None)
            assert self.s.lower(key) == (lt[-1] if lt else None)
            assert self.s.higher(key) == (gt[0] if gt else None)
            for value in (self.s.floor(key), self.s.ceiling(key), self.s.lower(key), self.s.higher(key)):
                assert value is None or type(value) is int

        @rule()
        def min_max(self):
            if self.model:
                assert_pyint(self.s.min(), self.model[0])
                assert_pyint(self.s.max(), self.model[-1])
            else:
                with pytest.raises(ValueError):
                    self.s.min()
                with pytest.raises(ValueError):
                    self.s.max()

        @rule(
            minimum=BOUND,
            maximum=BOUND,
            inclusive=st.tuples(st.booleans(), st.booleans()),
            reverse=st.booleans(),
        )
        def irange(self, minimum, maximum, inclusive, reverse):
            got = self.s.irange(minimum, maximum, inclusive=inclusive, reverse=reverse)
            assert_array(got, oracle_irange(self.model, minimum, maximum, inclusive, reverse), dtype)

        @rule()
        def irange_defaults(self):
            assert_array(self.s.irange(), self.model, dtype)

        @rule()
        def arrays(self):
            a = self.s.to_numpy()
            assert_array(a, self.model, dtype)
            b = np.asarray(self.s)
            assert_array(b, self.model, dtype)
            # a new array each time: writing to it leaves the set alone
            if len(a):
                a[0] = a[-1]
                b[-1] = b[0]
            assert self.s.to_numpy().tolist() == self.model

        # ------------------------------------------- copies and equality

        @rule(how=st.sampled_from(["copy", "copy.copy", "copy.deepcopy"]), k1=KEY, k2=KEY, k3=KEY)
        def copies_are_independent(self, how, k1, k2, k3):
            c = {"copy": lambda s: s.copy(), "copy.copy": copy.copy, "copy.deepcopy": copy.deepcopy}[how](self.s)
            assert c is not self.s
            assert c == self.s
            assert c.dtype == dtype and c.chunk_size == self.s.chunk_size
            c._check()
            # mutate the copy: the original must not move
            cmodel = list(self.model)
            c.add(k1)
            if k1 not in cmodel:
                bisect.insort(cmodel, k1)
            c.discard(k2)
            if k2 in cmodel:
                cmodel.remove(k2)
            assert c.to_numpy().tolist() == cmodel
            assert self.s.to_numpy().tolist() == self.model
            # mutate the original: the copy must not move
            self.s.add(k3)
            if k3 not in self.model:
                bisect.insort(self.model, k3)
            assert c.to_numpy().tolist() == cmodel
            c._check()

        @rule(other_chunk=CHUNKS, data=st.data())
        def equality(self, other_chunk, data):
            same = SortedSet(self.model, dtype=dtype, chunk_size=other_chunk)
            assert self.s == same and same == self.s
            assert not (self.s != same)
            # one key more
            extra = absent_key(self.model, data)
            if extra is None:  # every key of the dtype is in the set
                return
            bigger = SortedSet(self.model + [extra], dtype=dtype, chunk_size=other_chunk)
            assert self.s != bigger and bigger != self.s
            # one key less, or one key swapped for another
            if self.model:
                gone = data.draw(st.sampled_from(self.model), label="gone")
                smaller = [x for x in self.model if x != gone]
                assert self.s != SortedSet(smaller, dtype=dtype, chunk_size=other_chunk)
                assert self.s != SortedSet(smaller + [extra], dtype=dtype, chunk_size=other_chunk)
            # not a SortedSet: never equal, even with the same keys
            assert (self.s == list(self.model)) is False
            assert (self.s == tuple(self.model)) is False

        @rule(protocol=st.sampled_from([2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL]), key=KEY)
        def pickle_round_trip(self, protocol, key):
            t = pickle.loads(pickle.dumps(self.s, protocol=protocol))
            assert t == self.s
            assert t.dtype == self.s.dtype
            assert t.chunk_size == self.s.chunk_size
            t._check()
            assert_array(t.to_numpy(), self.model, dtype)
            t.add(key)
            assert self.s.to_numpy().tolist() == self.model

    SortedSetMachine.__name__ = SortedSetMachine.__qualname__ = f"SortedSetMachine_{dtype_name}_{chunk_size}"
    return SortedSetMachine


CONFIGS = [(dt, chunk) for dt in ("int64", "uint8", "int8") for chunk in (4, 8, None)]

MACHINE_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=50,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize(
    "dtype_name, chunk_size", CONFIGS, ids=[f"{dt}-chunk{chunk or 'default'}" for dt, chunk in CONFIGS]
)
def test_state_machine(dtype_name, chunk_size):
    run_state_machine_as_test(make_machine(dtype_name, chunk_size), settings=MACHINE_SETTINGS)


@pytest.mark.parametrize("chunk_size", [4, None], ids=["chunk4", "chunkdefault"])
def test_state_machine_serialized(chunk_size):
    """The same machine with every set serializing its own calls (free-threaded Python's path)."""
    with _gil.forcing(True):
        machine = make_machine("int64", chunk_size)
        run_state_machine_as_test(machine, settings=settings(MACHINE_SETTINGS, max_examples=30))


# ------------------------------------------------------------------ soak test


def test_random_soak_chunk4():
    """20,000 seeded add/discard steps at chunk_size 4 against a sorted list."""
    rng = random.Random(20240601)
    s = SortedSet(chunk_size=4)
    model = []  # sorted, distinct
    members = set()
    # the add probability drifts so the set grows to a few thousand keys, shrinks, grows again
    phases = [0.75, 0.6, 0.35, 0.2, 0.6, 0.4]
    steps = 20_000
    for step in range(steps):
        p_add = phases[step * len(phases) // steps]
        if rng.random() < p_add:
            key = rng.randrange(-5000, 5000)
            got = s.add(key)
            if key not in members:
                members.add(key)
                bisect.insort(model, key)
            assert got == bisect.bisect_left(model, key), (step, key)
        else:
            if model and rng.random() < 0.8:
                key = model[rng.randrange(len(model))]
            else:
                key = rng.randrange(-5000, 5000)
            got = s.discard(key)
            if key in members:
                expected = bisect.bisect_left(model, key)
                members.discard(key)
                del model[expected]
            else:
                expected = -1
            assert got == expected, (step, key)
        assert len(s) == len(model)
        if step % 50 == 49:
            s._check()
            if step % 1000 == 999:
                assert s.to_numpy().tolist() == model, step
    s._check()
    assert s.to_numpy().tolist() == model
    assert list(s) == model
