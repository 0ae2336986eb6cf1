"""A SortedDict inside numba-compiled code (``jitset._numba_dict``).

The state machine runs every compiled method (iteration and the batches
included) against a Python dict, for int64 keys with float64 values and
float64 keys with int32 values, at chunk sizes 4 and the default, with
``_check()`` after each step.  Then: value and key rules from compiled code
(a rejected call changes nothing), structured values through the batch
methods, growth inside one compiled call, lifetime, and threads.

Every wrapper is compiled once per dict type and reused by all the tests.
"""

from __future__ import annotations

import gc
import sys
import threading
import weakref

import numba
import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from numba.core.errors import TypingError

from jitset import SortedDict, SortedSet

I64 = np.iinfo(np.int64)


# ---------------------------------------------------------------- wrappers


@numba.njit
def nb_put(d, k, v):
    index, added = d.put(k, v)
    return index, added, d[k], d.index(k), k in d


@numba.njit
def nb_setitem(d, k, v):
    d[k] = v


@numba.njit
def nb_lookups(d, k, default):
    return d.get(k), d.get(k, default), k in d, d.bisect_left(k), d.bisect_right(k), len(d), bool(d)


@numba.njit
def nb_getitem(d, k):
    return d[k]


@numba.njit
def nb_index(d, k):
    return d.index(k)


@numba.njit
def nb_pop(d, k):
    return d.pop(k)


@numba.njit
def nb_pop_default(d, k, default):
    return d.pop(k, default)


@numba.njit
def nb_discard(d, k):
    return d.discard(k)


@numba.njit
def nb_delitem(d, k):
    del d[k]


@numba.njit
def nb_peekitem(d, i):
    return d.peekitem(i)


@numba.njit
def nb_popitem(d, i):
    return d.popitem(i)


@numba.njit
def nb_popitem_last(d):
    return d.popitem()


@numba.njit
def nb_neighbours(d, k):
    return d.floor_item(k), d.ceiling_item(k), d.lower_item(k), d.higher_item(k)


@numba.njit
def nb_iterate(d):
    out = np.empty(len(d), dtype=d.to_numpy()[0].dtype)
    n = 0
    for k in d:
        out[n] = k
        n += 1
    return out


@numba.njit
def nb_update(d, keys, values, mode):
    return d.update_many(keys, values, mode)


@numba.njit
def nb_batches(d, queries, default):
    return (d.get_many(queries, default), d.contains_many(queries), d.index_many(queries), d.to_numpy(),
            d.irange_items(queries.min(), queries.max()) if len(queries) else d.irange_items())


@numba.njit
def nb_pop_many(d, keys):
    return d.pop_many(keys)


@numba.njit
def nb_take(d, positions):
    return d.take(positions)


@numba.njit
def nb_build(keys, values, chunk):
    return SortedDict(keys, values, chunk_size=chunk)


@numba.njit
def nb_ident(d):
    return d


# dict type: (key dtype, value dtype, key strategy, value strategy)
TYPES = {
    "i8_f8": (
        np.dtype(np.int64), np.dtype(np.float64),
        st.integers(-40, 40) | st.sampled_from([I64.min, I64.max]),
        # sums of these are exact in any order (mode "add")
        st.integers(-1000, 1000).map(float) | st.sampled_from([np.nan, np.inf, -np.inf, 0.5, -0.0]),
    ),
    "f8_i4": (
        np.dtype(np.float64), np.dtype(np.int32),
        st.integers(-20, 20).map(float) | st.sampled_from([-np.inf, np.inf, 5e-324]),
        st.integers(-(2**31), 2**31 - 1) | st.integers(-3, 3),
    ),
}


def _same(a, b) -> bool:
    """Values equal, NaN equal to NaN."""
    return a == b or (a != a and b != b)


def make_machine(name: str, chunk_size):
    kd, vd, keys, values = TYPES[name]
    pk = float if kd.kind == "f" else int  # a key as the compiled wrappers take it, and as Python compares it
    pv = float if vd.kind == "f" else int
    default = pv(-7)
    batch = st.lists(st.tuples(keys, values), max_size=20)

    class CompiledDictMachine(RuleBasedStateMachine):
        def sorted_keys(self):
            return sorted(self.model)

        @initialize(initial=batch, inside=st.booleans())
        def build(self, initial, inside):
            ks = np.array([k for k, _ in initial], dtype=kd)
            vs = np.array([v for _, v in initial], dtype=vd)
            if inside:
                self.d = nb_build(ks, vs, chunk_size or 512)
            else:
                self.d = SortedDict(ks, vs, chunk_size=chunk_size)
            assert (self.d.dtype, self.d.value_dtype, self.d.chunk_size) == (kd, vd, chunk_size or 512)
            self.model = {}
            for k, v in initial:
                self.model[pk(k)] = pv(v)
            assert nb_ident(self.d) is self.d

        @invariant()
        def consistent(self):
            self.d._check()
            ks, vs = self.d.to_numpy()
            assert ks.tolist() == self.sorted_keys()
            assert all(_same(a, self.model[k]) for k, a in zip(ks.tolist(), vs.tolist()))

        @rule(key=keys, value=values, how=st.sampled_from(["put", "setitem"]))
        def put(self, key, value, how):
            k, v = pk(key), pv(value)
            added = k not in self.model
            self.model[k] = v
            if how == "put":
                index, was_added, got, index2, inside = nb_put(self.d, k, v)
                assert (index, was_added, index2, inside) == (self.sorted_keys().index(k), added, index, True)
                assert _same(got, v)
            else:
                nb_setitem(self.d, k, v)

        @rule(key=keys)
        def lookups(self, key):
            k = pk(key)
            m = self.sorted_keys()
            got, got_default, inside, left, right, n, nonempty = nb_lookups(self.d, k, default)
            if k in self.model:
                assert _same(got, self.model[k]) and _same(got_default, self.model[k])
                assert _same(nb_getitem(self.d, k), self.model[k]) and nb_index(self.d, k) == m.index(k)
            else:
                assert got is None and got_default == default
                with pytest.raises(KeyError):
                    nb_getitem(self.d, k)
                with pytest.raises(ValueError):
                    nb_index(self.d, k)
            assert (inside, left, right) == (k in self.model, sum(x < k for x in m), sum(x <= k for x in m))
            assert (n, nonempty) == (len(m), bool(m))
            for got_item, candidates in zip(
                nb_neighbours(self.d, k),
                ([x for x in m if x <= k][-1:], [x for x in m if x >= k][:1], [x for x in m if x < k][-1:],
                 [x for x in m if x > k][:1]),
            ):
                if candidates:
                    assert got_item[0] == candidates[0] and _same(got_item[1], self.model[candidates[0]])
                else:
                    assert got_item is None

        @rule(key=keys, how=st.sampled_from(["pop", "pop_default", "discard", "del"]))
        def remove(self, key, how):
            k = pk(key)
            m = self.sorted_keys()
            present = k in self.model
            expected = self.model.pop(k, None)
            if how == "pop":
                if present:
                    assert _same(nb_pop(self.d, k), expected)
                else:
                    with pytest.raises(KeyError):
                        nb_pop(self.d, k)
            elif how == "pop_default":
                assert _same(nb_pop_default(self.d, k, default), expected if present else default)
            elif how == "discard":
                assert nb_discard(self.d, k) == (m.index(k) if present else -1)
            elif present:
                nb_delitem(self.d, k)
            else:
                with pytest.raises(KeyError):
                    nb_delitem(self.d, k)

        @rule(data=st.data())
        def positions(self, data):
            m = self.sorted_keys()
            n = len(m)
            i = data.draw(st.integers(-n - 2, n + 1), label="i")
            if not m:
                for f in (nb_peekitem, nb_popitem):
                    with pytest.raises(KeyError):
                        f(self.d, i)
                return
            if -n <= i < n:
                key, value = nb_peekitem(self.d, i)
                assert key == m[i] and _same(value, self.model[m[i]])
                key, value = nb_popitem(self.d, i)
                assert key == m[i] and _same(value, self.model.pop(m[i]))
            else:
                with pytest.raises(IndexError):
                    nb_peekitem(self.d, i)
                with pytest.raises(IndexError):
                    nb_popitem(self.d, i)
            if self.model:
                key, value = nb_popitem_last(self.d)
                last = self.sorted_keys()[-1]
                assert key == last and _same(value, self.model.pop(last))

        @rule(items=batch, mode=st.sampled_from(["upsert", "insert", "update", "add"]))
        def update_many(self, items, mode):
            ks = np.array([k for k, _ in items], dtype=kd)
            vs = np.array([v for _, v in items], dtype=vd)
            if mode == "add" and vd.kind == "i":
                vs = (vs % 100).astype(vd)  # sums stay in range
            before = dict(self.model)
            for k, v in zip(ks.tolist(), vs.tolist()):
                k, v = pk(k), pv(v)
                if mode == "upsert" or (mode == "insert" and k not in self.model) or (
                        mode == "update" and k in before):
                    self.model[k] = v
                elif mode == "add":  # a repeated key adds up, a new one starts from its first value
                    total = self.model[k] + v if k in self.model else v
                    if vd.kind == "i":  # integer sums wrap around, as NumPy's do
                        total = int(np.array([total]).astype(np.int64).astype(vd)[0])
                    self.model[k] = total
            with np.errstate(invalid="ignore"):  # inf + -inf is NaN, as NumPy says with a warning
                inserted, updated = nb_update(self.d, ks, vs, mode)
            m = self.sorted_keys()
            touched = {pk(k) for k in ks.tolist()} & set(before)
            assert inserted.tolist() == [m.index(k) for k in sorted(set(self.model) - set(before))]
            assert updated.tolist() == ([] if mode == "insert" else [m.index(k) for k in sorted(touched)])

        @rule(queries=st.lists(keys, max_size=10))
        def batches(self, queries):
            q = np.array(queries, dtype=kd)
            m = self.sorted_keys()
            got, found, idx, (ks, vs), (rk, rv) = nb_batches(self.d, q, default)
            qv = [pk(k) for k in q.tolist()]
            assert all(_same(g, self.model.get(k, default)) for g, k in zip(got.tolist(), qv))
            assert found.tolist() == [k in self.model for k in qv]
            assert idx.tolist() == [m.index(k) if k in self.model else -1 for k in qv]
            assert ks.tolist() == m
            lo, hi = (min(qv), max(qv)) if qv else (-np.inf, np.inf)
            inside = [k for k in m if lo <= k <= hi]
            assert rk.tolist() == inside and all(_same(a, self.model[k]) for k, a in zip(inside, rv.tolist()))
            if m:
                positions = np.arange(-len(m), len(m))
                tk, tv = nb_take(self.d, positions)
                assert tk.tolist() == [m[i] for i in positions]
                assert all(_same(a, self.model[m[i]]) for i, a in zip(positions, tv.tolist()))

        @rule(queries=st.lists(keys, max_size=10))
        def pop_many(self, queries):
            m = self.sorted_keys()
            gone = sorted({pk(k) for k in queries} & set(self.model))
            indices, vals = nb_pop_many(self.d, np.array(queries, dtype=kd))
            assert indices.tolist() == [m.index(k) for k in gone]
            assert all(_same(a, self.model.pop(k)) for k, a in zip(gone, vals.tolist()))

        @rule()
        def iterate(self):
            assert nb_iterate(self.d).tolist() == self.sorted_keys()

    CompiledDictMachine.__name__ = f"CompiledDictMachine_{name}_{chunk_size}"
    return CompiledDictMachine


for _name in TYPES:
    for _chunk in (4, None):
        _case = settings(max_examples=20, stateful_step_count=25)(make_machine(_name, _chunk)).TestCase
        globals()[f"TestCompiledDict_{_name}_{_chunk}"] = _case
del _case  # else pytest collects the last one a second time, under this name


# ------------------------------------------------------------- bad input


def _contents(d):
    ks, vs = d.to_numpy()
    return ks.tobytes(), vs.tobytes()


@pytest.mark.parametrize(
    "kd, vd, key, value, error",
    [
        ("i8", "f8", 1, 2**53 + 1, OverflowError),  # an integer a float64 cannot hold exactly
        ("i8", "f8", 2**63, 1.0, OverflowError),  # a key out of range (uint64 in numba)
        ("f8", "i4", 1.0, 2.5, TypeError),  # not an integer
        ("f8", "i4", 1.0, 2**31, OverflowError),  # out of range
        ("f8", "i4", 1.0, 2.0**40, OverflowError),
        ("f8", "i4", np.nan, 1, ValueError),  # a NaN key
    ],
)
def test_values_and_keys_the_dict_cannot_hold_raise_and_change_nothing(kd, vd, key, value, error):
    d = SortedDict(np.array([1, 2], dtype=kd), np.array([10, 20], dtype=vd), chunk_size=4)
    before = _contents(d)
    with pytest.raises(error):
        nb_setitem(d, key, value)
    with pytest.raises(error):
        nb_put(d, key, value)
    d._check()
    assert _contents(d) == before


def test_nan_is_a_value_and_a_key_the_dtype_cannot_hold_is_absent():
    d = SortedDict(np.array([1, 2]), np.array([1.0, 2.0]))
    nb_setitem(d, 3, np.nan)
    assert np.isnan(d[3]) and np.isnan(nb_getitem(d, 3))
    f = SortedDict(np.array([1.0]), np.array([1], dtype="i4"))
    with pytest.raises(KeyError):
        nb_getitem(f, np.nan)
    with pytest.raises(KeyError):
        f[np.nan]  # as in Python
    assert nb_discard(f, np.nan) == -1 and nb_pop_default(f, np.nan, 5) == 5


def test_a_value_of_a_kind_the_column_cannot_hold_is_a_typing_error():
    with pytest.raises(TypingError, match="value dtype int32"):
        nb_setitem(SortedDict(np.array([1]), np.array([1], dtype="i4")), 1, 1j)


# ---------------------------------------------------- structured values


@numba.njit
def nb_records(d, keys, values):
    d.update_many(keys, values, "upsert")
    return d.get_many(keys[:1])["qty"][0], d.pop_many(keys[-1:])


@numba.njit
def nb_set_field(d, key, qty):
    """One field of one item: read the item, change the field, put it back (as the docs say)."""
    keys = np.array([key])
    v = d.get_many(keys)
    v["qty"][0] = qty
    d.update_many(keys, v, "update")


@numba.njit
def nb_scalar_on_records(d, key):
    return d[key]


BOOK = np.dtype([("qty", "f8"), ("orders", "i4")])


def test_structured_values_through_the_batch_methods():
    d = SortedDict(np.array([100, 101]), np.array([(1.5, 1), (2.5, 2)], dtype=BOOK), chunk_size=4)
    vals = np.array([(3.0, 3), (4.0, 4), (5.0, 5)], dtype=BOOK)
    qty, (indices, popped) = nb_records(d, np.array([99, 100, 102]), vals)
    assert qty == 3.0 and indices.tolist() == [3] and popped.tolist() == [(5.0, 5)]
    nb_set_field(d, 101, 9.5)
    d._check()
    assert d.to_numpy()[1].tolist() == [(3.0, 3), (4.0, 4), (9.5, 2)]
    with pytest.raises(TypingError, match="batch methods"):
        nb_scalar_on_records(d, 100)


def test_subarray_values_through_the_batch_methods():
    d = SortedDict(np.array([1, 2]), np.arange(6.0).reshape(2, 3), value_dtype=("f8", 3))
    keys, values = nb_take(d, np.array([1, 0]))
    assert keys.tolist() == [2, 1] and values.tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]


# ------------------------------------------------- construction and growth


@numba.njit
def nb_fill(n):
    d = SortedDict(np.empty(0, np.int64), np.empty(0, np.float64), chunk_size=64)
    for k in range(n):
        d[(k * 7919) % n] = k * 0.5  # every key once, out of order
    for k in range(0, n, 2):
        del d[k]
    return d


def test_a_hundred_thousand_puts_and_deletes_in_one_call():
    n = 200_000
    d = nb_fill(n)
    d._check()
    keys, values = d.to_numpy()
    assert np.array_equal(keys, np.arange(1, n, 2))
    order = (np.arange(n) * 7919) % n  # key written at step k
    written = np.empty(n)
    written[order] = np.arange(n) * 0.5
    assert np.array_equal(values, written[1::2])


# ---------------------------------------------------------------- lifetime


@numba.njit
def nb_keep(d):
    kept = numba.typed.List()
    kept.append(d)
    return kept


def test_a_dict_in_a_typed_container_outlives_its_python_name():
    d = SortedDict(np.array([1, 2]), np.array([1.0, 2.0]))
    alive = weakref.ref(d)
    kept = nb_keep(d)
    del d
    gc.collect()
    assert alive() is not None and kept[0] is alive()
    nb_setitem(kept[0], 3, 3.0)
    assert alive()[3] == 3.0
    del kept
    gc.collect()
    assert alive() is None


def test_no_reference_leak_per_call():
    d = SortedDict(np.array([1, 2]), np.array([1.0, 2.0]))
    nb_lookups(d, 1, 0.0), nb_put(d, 5, 5.0), nb_discard(d, 5), nb_ident(d)
    before = sys.getrefcount(d)
    for k in range(5_000):
        nb_lookups(d, k, 0.0)
        nb_put(d, k + 10, 1.0)
        nb_discard(d, k + 10)
        nb_ident(d)
    assert sys.getrefcount(d) == before


def test_a_set_is_not_a_dict_in_compiled_code():
    with pytest.raises(TypingError):
        nb_getitem(SortedSet([1.0]), 0.5)  # s[i] takes an integer position: a float is refused


# ----------------------------------------------------------------- threads


@numba.njit(nogil=True)
def nb_put_all_nogil(d, keys):
    for k in keys:
        d[k] = k * 2.0


def test_compiled_puts_while_another_thread_runs_batches():
    d = SortedDict(np.empty(0, np.int64), np.empty(0), chunk_size=16)
    evens = np.arange(0, 100_000, 2, dtype=np.int64)
    odds = np.arange(1, 100_000, 2, dtype=np.int64)
    nb_put_all_nogil(d, evens[:1])
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        def batches():
            for part in np.array_split(odds, 50):
                d.update_many(part, part * 2.0)

        t = threading.Thread(target=batches)
        t.start()
        for part in np.array_split(evens, 1_000):
            nb_put_all_nogil(d, part)
        t.join()
    finally:
        sys.setswitchinterval(switch)
    d._check()
    keys, values = d.to_numpy()
    assert np.array_equal(keys, np.arange(100_000)) and np.array_equal(values, keys * 2.0)
