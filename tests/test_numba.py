"""A SortedSet inside numba-compiled code (``jitset._numba_extension``).

The state machine runs every operation (iteration included) inside compiled wrappers, against a
sorted list of Python values, for int64, uint8, float64 and datetime64[ns]
at chunk sizes 4 and the default.  Then: the key rules and exceptions from
compiled code, growth from empty to a million keys in one call, lifetime
(typed containers, reference counts), threads, nogil functions and caching
across processes.

Every wrapper is compiled once per key dtype and reused by all the tests.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import weakref

import numba
import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from numba.core.errors import TypingError

from jitset import SortedSet, _gil

I64 = np.iinfo(np.int64)


# ---------------------------------------------------------------- wrappers


@numba.njit
def nb_add(s, k):
    return s.add(k)


@numba.njit
def nb_insert(s, k):
    return s.insert(k)


@numba.njit
def nb_discard(s, k):
    return s.discard(k)


@numba.njit
def nb_remove(s, k):
    return s.remove(k)


@numba.njit
def nb_pop(s, i):
    return s.pop(i)


@numba.njit
def nb_pop_last(s):
    return s.pop()


@numba.njit
def nb_getitem(s, i):
    return s[i]


@numba.njit
def nb_lookups(s, k):
    return (k in s, s.count(k), s.bisect_left(k), s.bisect_right(k), len(s), bool(s))


@numba.njit
def nb_member(s, k):
    return k in s, s.count(k)


@numba.njit
def nb_neighbours(s, k):
    return s.floor(k), s.ceiling(k), s.lower(k), s.higher(k)


@numba.njit
def nb_index(s, k):
    return s.index(k)


@numba.njit
def nb_min_max(s):
    return s.min(), s.max()


@numba.njit
def nb_batches(s, new, old, queries):
    added = s.add_many(new)
    removed = s.discard_many(old)
    return added, removed, s.contains_many(queries), s.searchsorted(queries), s.index_many(queries)


@numba.njit
def nb_replace_many(s, old, new):
    return s.replace_many(old, new)


@numba.njit
def nb_take(s, idx):
    return s.take(idx)


@numba.njit
def nb_irange(s, lo, hi):
    return s.irange(lo, hi), s.irange(lo, hi, (False, False), True), s.to_numpy()


@numba.njit
def nb_ident(s):
    return s


@numba.njit
def nb_iterate(s):
    out = s.to_numpy()  # an array of the right dtype and length, overwritten below
    n = 0
    for k in s:
        out[n] = k
        n += 1
    return out, n


@numba.njit
def nb_iterate_and_add(s, step):
    for k in s:
        s.add(k + step)


@numba.njit
def nb_build(a, chunk):
    return SortedSet(a, chunk_size=chunk)


@numba.njit
def nb_round_trip(s, k):
    index, added = s.insert(k)
    return index, added, k in s, s.index(k), s[index], s[-1], s.floor(k), s.discard(k), k in s


def _value_float(x):
    return float(x) + 0.0


def _value_datetime(x):
    return int(np.asarray(x).view(np.int64))


_DT = np.dtype("datetime64[ns]")
_datetimes = st.one_of(st.integers(I64.min + 1, I64.max), st.integers(-30, 30)).map(lambda v: np.datetime64(v, "ns"))

# dtype: (dtype, key strategy, key -> Python value, key -> what the compiled wrappers are passed)
DTYPES = {
    "int64": (np.dtype(np.int64), st.integers(-40, 40) | st.sampled_from([I64.min, I64.min + 1, I64.max]), int, int),
    "uint8": (np.dtype(np.uint8), st.integers(0, 60) | st.sampled_from([0, 254, 255]), int, int),
    "float64": (
        np.dtype(np.float64),
        st.integers(-20, 20).map(float) | st.sampled_from([-np.inf, np.inf, -0.0, 5e-324, 1.7976931348623157e308]),
        _value_float,
        float,
    ),
    "datetime64[ns]": (_DT, _datetimes, _value_datetime, lambda x: x),
}


def make_machine(name: str, chunk_size):
    dtype, keys, value, arg = DTYPES[name]
    batch = st.lists(keys, max_size=20)

    class CompiledMachine(RuleBasedStateMachine):
        def vals(self, arr):
            return [value(x) for x in np.asarray(arr)]

        @initialize(initial=st.lists(keys, max_size=40), inside=st.booleans())
        def build(self, initial, inside):
            arr = np.array(initial, dtype=dtype)
            if inside:  # built by a compiled function
                self.s = nb_build(arr, chunk_size or 512)
            else:
                self.s = SortedSet(arr, chunk_size=chunk_size)
            assert self.s.dtype == dtype and self.s.chunk_size == (chunk_size or 512)
            self.model = sorted({value(k) for k in initial})
            assert nb_ident(self.s) is self.s

        @invariant()
        def consistent(self):
            self.s._check()
            assert self.vals(self.s.to_numpy()) == self.model

        @rule(key=keys)
        def add_insert(self, key):
            v = value(key)
            present = v in self.model
            index, added = nb_insert(self.s, arg(key))
            self.model = sorted(set(self.model) | {v})
            assert (index, added) == (self.model.index(v), not present)
            assert nb_add(self.s, arg(key)) == index

        @rule(key=keys)
        def discard_remove(self, key):
            v = value(key)
            expected = self.model.index(v) if v in self.model else -1
            assert nb_discard(self.s, arg(key)) == expected
            self.model = [m for m in self.model if m != v]
            with pytest.raises(KeyError):
                nb_remove(self.s, arg(key))

        @rule(data=st.data())
        def pop_and_getitem(self, data):
            n = len(self.model)
            i = data.draw(st.integers(-n - 2, n + 1), label="i")
            if -n <= i < n:
                assert value(nb_getitem(self.s, i)) == self.model[i]
                assert value(nb_pop(self.s, i)) == self.model.pop(i)
            else:
                with pytest.raises(IndexError):
                    nb_getitem(self.s, i)
                with pytest.raises(IndexError):
                    nb_pop(self.s, i)
            if self.model:
                assert value(nb_pop_last(self.s)) == self.model.pop()
            else:
                with pytest.raises(IndexError):
                    nb_pop_last(self.s)

        @rule(key=keys)
        def lookups(self, key):
            v = value(key)
            m = self.model
            got = nb_lookups(self.s, arg(key))
            assert got == (v in m, int(v in m), sum(x < v for x in m), sum(x <= v for x in m), len(m), bool(m))
            floor, ceiling, lower, higher = nb_neighbours(self.s, arg(key))
            for got_key, candidates in (
                (floor, [x for x in m if x <= v][-1:]),
                (ceiling, [x for x in m if x >= v][:1]),
                (lower, [x for x in m if x < v][-1:]),
                (higher, [x for x in m if x > v][:1]),
            ):
                assert (got_key is None and not candidates) or [value(got_key)] == candidates
            if v in m:
                assert nb_index(self.s, arg(key)) == m.index(v)
            else:
                with pytest.raises(ValueError):
                    nb_index(self.s, arg(key))
            if m:
                lo, hi = nb_min_max(self.s)
                assert (value(lo), value(hi)) == (m[0], m[-1])
            else:
                with pytest.raises(ValueError):
                    nb_min_max(self.s)

        @rule(new=batch, old=batch, queries=batch)
        def batches(self, new, old, queries):
            before = self.model
            fresh = sorted({value(k) for k in new} - set(before))
            middle = sorted(set(before) | set(fresh))
            gone = sorted({value(k) for k in old} & set(middle))
            self.model = [x for x in middle if x not in set(gone)]
            a, r, found, ranks, idx = nb_batches(self.s, np.array(new, dtype=dtype), np.array(old, dtype=dtype),
                                                 np.array(queries, dtype=dtype))
            assert a.tolist() == [middle.index(v) for v in fresh]
            assert r.tolist() == [middle.index(v) for v in gone]
            qv = [value(k) for k in queries]
            assert found.tolist() == [v in self.model for v in qv]
            assert ranks.tolist() == [sum(x < v for x in self.model) for v in qv]
            assert idx.tolist() == [self.model.index(v) if v in self.model else -1 for v in qv]

        @rule(old=batch, new=batch)
        def replace_many(self, old, new):
            before = self.model
            gone = sorted({value(k) for k in old} & set(before))
            middle = [x for x in before if x not in set(gone)]
            fresh = sorted({value(k) for k in new} - set(middle))
            self.model = sorted(set(middle) | set(fresh))
            removed, inserted = nb_replace_many(self.s, np.array(old, dtype=dtype), np.array(new, dtype=dtype))
            assert removed.tolist() == [before.index(v) for v in gone]
            assert inserted.tolist() == [self.model.index(v) for v in fresh]

        @rule()
        def iterate(self):
            keys, n = nb_iterate(self.s)
            assert n == len(self.model) and self.vals(keys) == self.model

        @rule(lo=keys, hi=keys)
        def ranges(self, lo, hi):
            a, b = sorted([value(lo), value(hi)])
            lo, hi = (lo, hi) if value(lo) <= value(hi) else (hi, lo)
            forward, backward, whole = nb_irange(self.s, arg(lo), arg(hi))
            assert forward.dtype == dtype and self.vals(forward) == [x for x in self.model if a <= x <= b]
            assert self.vals(backward) == [x for x in self.model[::-1] if a < x < b]
            assert self.vals(whole) == self.model
            if self.model:
                idx = np.arange(-len(self.model), len(self.model))
                assert self.vals(nb_take(self.s, idx)) == [self.model[i] for i in idx]

    CompiledMachine.__name__ = f"CompiledMachine_{name}_{chunk_size}"
    return CompiledMachine


for _name in DTYPES:
    for _chunk in (4, None):
        _case = settings(max_examples=20, stateful_step_count=20)(make_machine(_name, _chunk)).TestCase
        globals()[f"TestCompiled_{_name.replace('[', '_').replace(']', '')}_{_chunk}"] = _case
del _case  # else pytest collects the last one a second time, under this name


# ------------------------------------------------------------- key rules


def _unchanged(s, before):
    s._check()
    assert s.to_numpy().tobytes() == before.tobytes()


def test_keys_the_dtype_cannot_hold_raise_and_change_nothing():
    u8 = SortedSet([1, 2], dtype=np.uint8)
    i64 = SortedSet([1, 2])
    f64 = SortedSet([1.5])
    dt = SortedSet(np.array([5], dtype=_DT))
    cases = [
        (u8, 300, OverflowError), (u8, -1, OverflowError), (u8, 1.5, TypeError), (u8, np.inf, TypeError),
        (i64, 2.5, TypeError), (i64, np.uint64(2**63), OverflowError), (i64, float(2**63), OverflowError),
        (f64, np.nan, ValueError), (f64, 2**53 + 1, TypeError),
        (dt, np.datetime64("NaT", "ns"), ValueError), (dt, I64.min, ValueError), (dt, 1.5, TypeError),
    ]
    for s, key, exc in cases:
        before = s.to_numpy()
        for fn in (nb_add, nb_insert, nb_discard, nb_index):
            with pytest.raises(exc):
                fn(s, key)
            _unchanged(s, before)
        assert nb_member(s, key) == (False, 0)  # ``in`` just answers False, as in Python
    # numba compares int64 with uint64 through float64; the converters compare in the key's own type
    assert nb_member(SortedSet([2**63 - 1]), np.uint64(2**63)) == (False, 0)
    assert nb_add(SortedSet(dtype=np.uint64), np.uint64(2**64 - 1)) == 0
    assert nb_member(SortedSet([-0.0, 1.0]), -0.0) == (True, 1) and nb_insert(SortedSet([0.0]), -0.0) == (0, False)


@pytest.mark.parametrize(
    "dtype, keys",
    [
        (np.float32, [np.float32(-np.inf), np.float32(-0.0), np.float32(1e-45), np.float32(3.5), np.float32(np.inf)]),
        (np.bool_, [False, True]),
        ("timedelta64[s]", [np.timedelta64(v, "s") for v in (I64.min + 1, -1, 0, I64.max)]),
        (np.int8, [-128, -1, 0, 127]),
        (np.uint64, [np.uint64(0), np.uint64(2**63), np.uint64(2**64 - 1)]),
    ],
    ids=["float32", "bool", "timedelta64", "int8", "uint64"],
)
def test_the_other_one_word_dtypes_at_their_extremes(dtype, keys):
    s = SortedSet(dtype=dtype, chunk_size=4)
    model = []
    for k in keys:  # ascending: each key is the largest so far
        index, added, found, at, same, last, floor, removed, gone = nb_round_trip(s, k)
        assert (index, added, found, at, removed, gone) == (len(model), True, True, len(model), len(model), False)
        assert same == k and last == k and floor == k
        assert nb_add(s, k) == len(model)
        model.append(k)
        s._check()
    assert s.to_numpy().tolist() == np.array(model, dtype=s.dtype).tolist()
    if s.dtype == np.float32:
        with pytest.raises(TypeError):  # not exactly a float32
            nb_add(s, 0.1)
        assert nb_member(s, np.float32(np.nan)) == (False, 0)


def test_errors_of_compiled_calls_match_python():
    s = SortedSet([10, 20])
    with pytest.raises(IndexError):
        nb_getitem(s, 2)
    with pytest.raises(IndexError):
        nb_getitem(s, -3)
    with pytest.raises(ValueError):
        nb_index(s, 15)
    with pytest.raises(KeyError):
        nb_remove(s, 15)
    empty = SortedSet()
    with pytest.raises(IndexError):
        nb_pop_last(empty)
    with pytest.raises(ValueError):
        nb_min_max(empty)
    assert nb_neighbours(empty, 5) == (None, None, None, None)
    s._check()
    assert s.to_numpy().tolist() == [10, 20]


def test_iterating_in_compiled_code_reports_a_change():
    s = SortedSet(range(3_000), chunk_size=8)
    with pytest.raises(RuntimeError, match="changed during iteration"):
        nb_iterate_and_add(s, 10_000)
    s._check()
    assert len(s) == 3_001  # the first add went through, then the next step noticed it
    keys, n = nb_iterate(SortedSet(dtype=np.int64))
    assert n == 0


def test_wide_keys_are_refused_at_compile_time_naming_the_dtype():
    for s in (SortedSet([b"ab"], dtype="S5"), SortedSet([(1, 2)], dtype=[("a", "u1"), ("b", "u8")])):
        with pytest.raises(TypingError, match="batch methods") as info:
            nb_lookups(s, 1)
        assert str(s.dtype) in str(info.value) or s.dtype.str in str(info.value)
        assert nb_ident(s) is s  # passing one around is fine


def test_wrong_kind_of_key_is_a_typing_error():
    with pytest.raises(TypingError, match="cannot be held"):
        nb_add(SortedSet([1]), np.datetime64(1, "ns"))
    with pytest.raises(TypingError, match="convert"):
        nb_add(SortedSet(np.array([1], dtype="M8[s]")), np.datetime64(1, "ns"))


# ------------------------------------------------- construction and growth


@numba.njit
def nb_fill(n):
    s = SortedSet(dtype=np.int64, chunk_size=64)
    for k in range(n):
        s.add((k * 7919) % n)  # every key once, out of order
    return s


@numba.njit
def nb_from_array(a):
    return SortedSet(a)


def test_a_million_adds_into_an_empty_set_in_one_call():
    s = nb_fill(1_000_000)
    s._check()
    assert len(s) == 1_000_000 and s.chunk_size == 64
    assert np.array_equal(s.to_numpy(), np.arange(1_000_000))


def test_sets_built_inside_compiled_code():
    s = nb_from_array(np.array([3.5, -1.0, 3.5]))
    assert s.dtype == np.float64 and s.to_numpy().tolist() == [-1.0, 3.5]
    s._check()


# ---------------------------------------------------------------- lifetime


@numba.njit
def nb_keep(s):
    kept = numba.typed.List()
    kept.append(s)
    return kept


INT64_SET = numba.typeof(SortedSet([1]))  # what a typed container of int64 sets is declared with


@numba.njit
def nb_in_dict(s):
    d = numba.typed.Dict.empty(numba.types.int64, INT64_SET)
    d[1] = s
    return d


def test_a_set_in_a_typed_container_outlives_its_python_name():
    s = SortedSet([1, 2, 3])
    alive = weakref.ref(s)
    kept, held = nb_keep(s), nb_in_dict(s)
    del s
    gc.collect()
    assert alive() is not None
    assert kept[0] is alive() and held[1] is alive()
    assert nb_add(kept[0], 4) == 3 and alive().to_numpy().tolist() == [1, 2, 3, 4]
    del kept, held
    gc.collect()
    assert alive() is None


def test_no_reference_leak_per_call():
    s = SortedSet([1, 2, 3])
    nb_lookups(s, 2), nb_ident(s), nb_add(s, 9), nb_discard(s, 9)
    before = sys.getrefcount(s)
    for k in range(10_000):
        nb_lookups(s, k)
        nb_add(s, k)
        nb_discard(s, k)
        nb_ident(s)
    assert sys.getrefcount(s) == before


# ----------------------------------------------------------------- threads


@numba.njit
def nb_add_all(s, keys):
    for k in keys:
        s.add(k)


@numba.njit(nogil=True)
def nb_add_all_nogil(s, keys):
    for k in keys:
        s.add(k)


def test_compiled_adds_while_another_thread_runs_batches():
    s = SortedSet(chunk_size=16)
    evens = np.arange(0, 200_000, 2, dtype=np.int64)
    odds = np.arange(1, 200_000, 2, dtype=np.int64)
    nb_add_all(s, evens[:1])
    waits = []
    original = SortedSet._wait

    def counting_wait(self):
        waits.append(1)
        original(self)

    SortedSet._wait = counting_wait
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        def batches():
            for part in np.array_split(odds, 50):
                s.add_many(part)

        t = threading.Thread(target=batches)
        t.start()
        for part in np.array_split(evens, 2_000):
            nb_add_all(s, part)
        t.join()
    finally:
        sys.setswitchinterval(switch)
        SortedSet._wait = original
    s._check()
    assert np.array_equal(s.to_numpy(), np.arange(200_000))
    print(f"compiled calls that waited for the batch thread: {len(waits)}")


@numba.njit(parallel=True)
def nb_add_range_parallel(s, n):
    for k in numba.prange(n):
        s.add(k)


@pytest.mark.parametrize("serialized", [False, True], ids=["gil", "serialized"])
def test_parallel_functions_are_serialized_per_method(serialized):
    """prange's worker threads take the GIL (or, serialized, the set's busy flag) for each method."""
    with _gil.forcing(serialized):
        s = SortedSet(chunk_size=8)
    nb_add_range_parallel(s, 50_000)  # grows from empty, from worker threads
    s._check()
    assert np.array_equal(s.to_numpy(), np.arange(50_000))


@pytest.mark.parametrize("serialized", [False, True], ids=["gil", "serialized"])
def test_nogil_functions_take_the_gil_per_method(serialized):
    """Or, on a serialized set, only its busy flag: the four threads' adds then really run in parallel."""
    with _gil.forcing(serialized):
        s = SortedSet(chunk_size=8)
    parts = [np.arange(t, 120_000, 4, dtype=np.int64) for t in range(4)]
    nb_add_all_nogil(s, parts[0][:1])
    threads = [threading.Thread(target=nb_add_all_nogil, args=(s, p)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s._check()
    assert np.array_equal(s.to_numpy(), np.arange(120_000))


# ----------------------------------------------------------------- caching

USER_MODULE = '''
import numba
import numpy as np
from jitset import SortedSet

@numba.njit(cache=True)
def work(s, k):
    s.add(k)
    return len(s), k in s, s.index(k), s[0]

if __name__ == "__main__":
    print(work(SortedSet([5, 1]), 3))
    print("stats", sum(work.stats.cache_hits.values()), sum(work.stats.cache_misses.values()))
'''


def test_a_cached_user_function_loads_in_a_new_process_and_misses_when_jitset_changes(tmp_path):
    (tmp_path / "user_mod.py").write_text(textwrap.dedent(USER_MODULE))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def run(salt=""):
        env["_JITSET_NUMBA_TAG_SALT"] = salt
        out = subprocess.run([sys.executable, "user_mod.py"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, check=True).stdout.split("\n")
        assert out[0] == "(3, True, 1, 1)", out
        hits, misses = map(int, out[1].split()[1:])
        return hits, misses

    assert run() == (0, 1)  # compiled, then saved
    assert run() == (1, 0)  # loaded: no compilation
    assert run("another jitset") == (0, 1)  # a changed kernel source means a new type name: recompiled
