"""Model-based tests of ``SortedDict`` (issue 22, work in progress) against a Python dict.

A hypothesis state machine drives a :class:`jitset.sorteddict.SortedDict`
and a plain ``dict`` side by side through its scalar and batch calls,
compares every returned index and value, and after every step runs
``_check()`` and compares the whole content (keys in order, and the value
beside each key).  Chunks of 4 and 8 keys split, merge and rebuild all the
time, so every kernel that moves keys must move their values too.  Value
dtypes: float64, a record of two fields, a subarray; keys: int64 and a wide
(structured) key.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from jitset.sorteddict import SortedDict

INT64 = np.iinfo(np.int64)
KEYS = st.one_of(st.integers(-40, 40), st.sampled_from([int(INT64.min), int(INT64.max)]))
RECORD = np.dtype([("qty", "f8"), ("orders", "i4")])
WIDE = np.dtype([("group", "u1"), ("name", "S6")])


def _value_strategy(value_dtype):
    if value_dtype == RECORD:
        return st.tuples(st.integers(-1000, 1000).map(float), st.integers(-100, 100))
    if value_dtype.shape:
        return st.lists(st.integers(-9, 9).map(float), min_size=3, max_size=3)
    return st.one_of(st.integers(-1000, 1000).map(float), st.just(float("nan")))


def _key_strategy(dtype):
    if dtype == WIDE:
        return st.tuples(st.integers(0, 3), st.sampled_from([b"", b"a", b"ann", b"zed", b"zzzzzz"]))
    return KEYS


def _norm(value, value_dtype):
    """A value as a comparable Python object (NaN compared as a string)."""
    if value_dtype.names is None:
        arr = np.array(value, dtype=value_dtype.base)  # a subarray's elements
    elif isinstance(value, (np.void, np.ndarray)):
        arr = np.array(value, dtype=value_dtype)
    else:
        arr = np.array(tuple(value), dtype=value_dtype)
    return repr(arr.tolist())


class DictMachine(RuleBasedStateMachine):
    dtype = np.dtype(np.int64)
    value_dtype = np.dtype(np.float64)

    def __init__(self):
        super().__init__()
        self.model: dict = {}
        self.d = None

    def _key(self, key):
        return tuple(key) if self.dtype.names is not None else int(key)

    def _as_key(self, key):
        """A key from the dict (a tuple or an int) in the model's form."""
        return self._key(key) if self.dtype.names is not None else int(key)

    @initialize(chunk=st.sampled_from([4, 8, None]), data=st.data())
    def start(self, chunk, data):
        ks = data.draw(st.lists(_key_strategy(self.dtype), max_size=60))
        vs = data.draw(st.lists(_value_strategy(self.value_dtype), min_size=len(ks), max_size=len(ks)))
        if ks:
            self.d = SortedDict(list(zip(ks, vs)), dtype=self.dtype, value_dtype=self.value_dtype, chunk_size=chunk)
        else:
            self.d = SortedDict(dtype=self.dtype, value_dtype=self.value_dtype, chunk_size=chunk)
        for k, v in zip(ks, vs):
            self.model[self._key(k)] = _norm(v, self.value_dtype)
        self.compare()

    def ordered(self):
        return sorted(self.model)

    def compare(self):
        self.d._check()
        keys, values = self.d.to_numpy()
        assert [self._as_key(k) for k in keys.tolist()] == self.ordered()
        assert [_norm(v, self.value_dtype) for v in values] == [self.model[k] for k in self.ordered()]
        assert len(self.d) == len(self.model)

    def _put(self, key, value):
        k = self._key(key)
        added = k not in self.model
        self.model[k] = _norm(value, self.value_dtype)
        assert self.d.put(key, value) == (self.ordered().index(k), added)

    @rule(data=st.data())
    def put(self, data):
        self._put(data.draw(_key_strategy(self.dtype)), data.draw(_value_strategy(self.value_dtype)))
        self.compare()

    @rule(data=st.data())
    def put_run(self, data):
        """Scalar puts of a run of keys, so that full chunks split (and neighbours take keys) often."""
        keys = data.draw(st.lists(_key_strategy(self.dtype), min_size=10, max_size=40))
        for key in keys:
            self._put(key, data.draw(_value_strategy(self.value_dtype)))
        self.compare()

    @rule(data=st.data())
    def discard_run(self, data):
        """Scalar removals of many keys, so that small chunks merge and even out often."""
        keys = data.draw(st.lists(_key_strategy(self.dtype), min_size=10, max_size=40))
        for key in keys:
            k = self._key(key)
            index = self.ordered().index(k) if k in self.model else -1
            self.model.pop(k, None)
            assert self.d.discard(key) == index
        self.compare()

    @rule(data=st.data())
    def get(self, data):
        key = data.draw(_key_strategy(self.dtype))
        k = self._key(key)
        got = self.d.get(key, None)
        if k in self.model:
            assert _norm(got, self.value_dtype) == self.model[k]
            assert _norm(self.d[key], self.value_dtype) == self.model[k]
        else:
            assert got is None
            with pytest.raises(KeyError):
                self.d[key]

    @rule(data=st.data())
    def pop(self, data):
        key = data.draw(_key_strategy(self.dtype))
        k = self._key(key)
        if k in self.model:
            index = self.ordered().index(k)
            value = self.model.pop(k)
            if data.draw(st.booleans()):
                assert _norm(self.d.pop(key), self.value_dtype) == value
            else:
                assert self.d.discard(key) == index
        else:
            assert self.d.pop(key, "absent") == "absent"
            assert self.d.discard(key) == -1
        self.compare()

    @rule(data=st.data())
    def popitem(self, data):
        if not self.model:
            with pytest.raises(KeyError):
                self.d.popitem()
            return
        i = data.draw(st.integers(-len(self.model), len(self.model) - 1))
        k = self.ordered()[i]
        key, value = self.d.popitem(i)
        assert self._as_key(key) == k
        assert _norm(value, self.value_dtype) == self.model.pop(k)
        self.compare()

    @rule(data=st.data())
    def peekitem(self, data):
        if not self.model:
            return
        i = data.draw(st.integers(-len(self.model), len(self.model) - 1))
        key, value = self.d.peekitem(i)
        k = self.ordered()[i]
        assert self._as_key(key) == k and _norm(value, self.value_dtype) == self.model[k]

    @rule(data=st.data(), mode=st.sampled_from(["upsert", "insert", "update", "add"]), big=st.booleans())
    def update_many(self, data, mode, big):
        n = data.draw(st.integers(0, 300 if big else 12))
        ks = data.draw(st.lists(_key_strategy(self.dtype), min_size=n, max_size=n))
        vs = data.draw(st.lists(_value_strategy(self.value_dtype), min_size=n, max_size=n))
        if self.value_dtype.names is None:
            column = np.array(vs, dtype=self.value_dtype.base).reshape((n,) + self.value_dtype.shape)
        else:
            column = np.array([tuple(v) for v in vs], dtype=self.value_dtype)
        before = dict(self.model)
        new = {}
        for k, v in zip(ks, column):
            kk = self._key(k)
            if mode == "insert":
                if kk not in before and kk not in new:
                    new[kk] = v
            elif mode == "update":
                if kk in before:
                    new[kk] = v
            elif mode == "add":
                base = new.get(kk, None)
                if base is None:
                    base = np.array(_unnorm(before[kk], self.value_dtype)) if kk in before else None
                new[kk] = v if base is None else _plus(base, v, self.value_dtype)
            else:
                new[kk] = v
        for kk, v in new.items():
            self.model[kk] = _norm(v, self.value_dtype)
        keys_arg = ks if self.dtype.names is not None else np.array(ks, dtype=np.int64)
        inserted, updated = self.d.update_many(keys_arg, column, mode=mode)
        order = self.ordered()
        assert inserted.tolist() == sorted(order.index(k) for k in new if k not in before)
        assert updated.tolist() == sorted(order.index(k) for k in new if k in before)
        self.compare()

    @rule(data=st.data(), big=st.booleans())
    def pop_many(self, data, big):
        n = data.draw(st.integers(0, 300 if big else 12))
        ks = data.draw(st.lists(_key_strategy(self.dtype), min_size=n, max_size=n))
        order = self.ordered()
        gone = sorted({self._key(k) for k in ks if self._key(k) in self.model}, key=order.index)
        expected_idx = [order.index(k) for k in gone]
        expected_values = [self.model.pop(k) for k in gone]
        keys_arg = ks if self.dtype.names is not None else np.array(ks, dtype=np.int64)
        indices, values = self.d.pop_many(keys_arg)
        assert indices.tolist() == expected_idx
        assert [_norm(v, self.value_dtype) for v in values] == expected_values
        self.compare()

    @rule(data=st.data())
    def get_many(self, data):
        n = data.draw(st.integers(0, 20))
        ks = data.draw(st.lists(_key_strategy(self.dtype), min_size=n, max_size=n))
        keys_arg = ks if self.dtype.names is not None else np.array(ks, dtype=np.int64)
        if all(self._key(k) in self.model for k in ks):
            got = self.d.get_many(keys_arg)
            assert [_norm(v, self.value_dtype) for v in got] == [self.model[self._key(k)] for k in ks]
        else:
            with pytest.raises(KeyError):
                self.d.get_many(keys_arg)

    def _bounds(self, data):
        lo = data.draw(st.none() | _key_strategy(self.dtype))
        hi = data.draw(st.none() | _key_strategy(self.dtype))
        inc = data.draw(st.tuples(st.booleans(), st.booleans()))
        lo_k = None if lo is None else self._key(lo)
        hi_k = None if hi is None else self._key(hi)

        def inside(k):
            return ((lo_k is None or k > lo_k or (inc[0] and k == lo_k))
                    and (hi_k is None or k < hi_k or (inc[1] and k == hi_k)))

        return lo, hi, inc, inside

    @rule(data=st.data(), reverse=st.booleans())
    def irange_items(self, data, reverse):
        lo, hi, inc, inside = self._bounds(data)
        expected = [k for k in self.ordered() if inside(k)]
        if reverse:
            expected.reverse()
        keys, values = self.d.irange_items(lo, hi, inc, reverse)
        assert [self._as_key(k) for k in keys.tolist()] == expected
        assert [_norm(v, self.value_dtype) for v in values] == [self.model[k] for k in expected]
        assert [self._as_key(k) for k in self.d.irange(lo, hi, inc, reverse).tolist()] == expected

    @rule(data=st.data())
    def discard_irange(self, data):
        lo, hi, inc, inside = self._bounds(data)
        order = self.ordered()
        gone = [i for i, k in enumerate(order) if inside(k)]
        start, stop = self.d.discard_irange(lo, hi, inc)
        if gone:
            assert (start, stop) == (gone[0], gone[-1] + 1)
        else:
            assert start == stop
        for i in gone:
            del self.model[order[i]]
        self.compare()

    @rule(data=st.data())
    def neighbours(self, data):
        key = data.draw(_key_strategy(self.dtype))
        k = self._key(key)
        order = self.ordered()
        below_or_at = [x for x in order if x <= k]
        at_or_above = [x for x in order if x >= k]
        below = [x for x in order if x < k]
        above = [x for x in order if x > k]
        for got, want in ((self.d.floor_item(key), below_or_at[-1:]), (self.d.ceiling_item(key), at_or_above[:1]),
                          (self.d.lower_item(key), below[-1:]), (self.d.higher_item(key), above[:1])):
            if not want:
                assert got is None
            else:
                assert self._as_key(got[0]) == want[0] and _norm(got[1], self.value_dtype) == self.model[want[0]]

    @rule(data=st.data())
    def setdefault(self, data):
        key = data.draw(_key_strategy(self.dtype))
        value = data.draw(_value_strategy(self.value_dtype))
        k = self._key(key)
        if k not in self.model:
            self.model[k] = _norm(value, self.value_dtype)
        assert _norm(self.d.setdefault(key, value), self.value_dtype) == self.model[k]
        self.compare()

    @rule()
    def copy_compares_equal(self):
        c = self.d.copy()
        c._check()
        assert c == self.d and self.d == c
        if self.model:
            c.popitem(0)
            assert c != self.d
            assert self.d.copy() == self.d

    @rule(data=st.data())
    def views(self, data):
        order = self.ordered()
        n = len(order)
        k, v, it = self.d.keys(), self.d.values(), self.d.items()
        assert len(k) == len(v) == len(it) == n
        if n:
            i = data.draw(st.integers(-n, n - 1))
            assert self._as_key(k[i]) == order[i] and _norm(v[i], self.value_dtype) == self.model[order[i]]
            key, value = it[i]
            assert self._as_key(key) == order[i] and _norm(value, self.value_dtype) == self.model[order[i]]
            assert k.index(k[i]) == i % n and k[i] in k and (key, value) in it
        a, b = sorted(data.draw(st.tuples(st.integers(-n - 2, n + 2), st.integers(-n - 2, n + 2))))
        step = data.draw(st.sampled_from([1, 2, -1]))
        expected = order[a:b:step]
        keys, values = it[a:b:step]
        assert [self._as_key(x) for x in k[a:b:step].tolist()] == expected
        assert [self._as_key(x) for x in keys.tolist()] == expected
        assert [_norm(x, self.value_dtype) for x in v[a:b:step]] == [self.model[x] for x in expected]
        assert [_norm(x, self.value_dtype) for x in values] == [self.model[x] for x in expected]
        assert [self._as_key(x) for x in k] == order
        assert [(self._as_key(x), _norm(y, self.value_dtype)) for x, y in reversed(it)] == \
            [(x, self.model[x]) for x in reversed(order)]
        assert [_norm(x, self.value_dtype) for x in v] == [self.model[x] for x in order]
        other = data.draw(st.lists(_key_strategy(self.dtype), max_size=8))
        mine, theirs = set(order), {self._key(x) for x in other}
        for got, want in ((k & other, mine & theirs), (k | other, mine | theirs), (k - other, mine - theirs),
                          (k ^ other, mine ^ theirs)):
            got._check()
            assert sorted(self._as_key(x) for x in got) == sorted(want)

    @rule(data=st.data())
    def delete_positions(self, data):
        order = self.ordered()
        n = len(order)
        a, b = sorted(data.draw(st.tuples(st.integers(-n - 2, n + 2), st.integers(-n - 2, n + 2))))
        step = data.draw(st.sampled_from([1, 1, 3, -1]))
        if n and data.draw(st.booleans()):
            i = data.draw(st.integers(-n, n - 1))
            del self.d.keys()[i]
            del self.model[order[i]]
        else:
            del self.d.keys()[a:b:step]
            for x in order[a:b:step]:
                del self.model[x]
        self.compare()

    @rule(data=st.data())
    def take(self, data):
        order = self.ordered()
        if not order:
            return
        positions = data.draw(st.lists(st.integers(-len(order), len(order) - 1), max_size=10))
        keys, values = self.d.take(np.array(positions, dtype=np.int64))
        assert [self._as_key(x) for x in keys.tolist()] == [order[i] for i in positions]
        assert [_norm(x, self.value_dtype) for x in values] == [self.model[order[i]] for i in positions]

    @rule()
    def clear(self):
        if len(self.model) > 100:  # now and then: start again from empty
            self.d.clear()
            self.model.clear()
            self.compare()


def _unnorm(text, value_dtype):
    import ast

    value = ast.literal_eval(text.replace("nan", "None"))
    if value_dtype.names is not None:
        return np.array(tuple(value), dtype=value_dtype)
    return np.array(value, dtype=float)


def _plus(a, b, value_dtype):
    if value_dtype.names is not None:
        out = np.array(a, dtype=value_dtype).copy()
        for name in value_dtype.names:
            out[name] = out[name] + b[name]
        return out
    return np.asarray(a, dtype=value_dtype.base) + np.asarray(b, dtype=value_dtype.base)


class RecordValues(DictMachine):
    value_dtype = RECORD


class SubarrayValues(DictMachine):
    value_dtype = np.dtype(("f8", 3))


class WideKeys(DictMachine):
    dtype = WIDE


@pytest.mark.parametrize("machine", [DictMachine, RecordValues, SubarrayValues, WideKeys],
                         ids=["int64-f8", "record", "subarray", "wide-key"])
def test_sorted_dict_against_a_dict(machine):
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=40, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )


def test_a_long_random_run_keeps_every_value_beside_its_key():
    """20,000 seeded scalar and batch steps at chunk size 4 against a dict (int64 -> float64)."""
    rng = np.random.default_rng(7)
    d = SortedDict(dtype=np.int64, value_dtype=np.float64, chunk_size=4)
    model = {}
    for step in range(20_000):
        op = rng.integers(0, 10)
        if op < 5:
            k, v = int(rng.integers(-500, 500)), float(rng.integers(0, 1000))
            model[k] = v
            d[k] = v
        elif op < 9:
            k = int(rng.integers(-500, 500))
            assert d.pop(k, None) == model.pop(k, None)
        elif rng.integers(0, 2):
            ks = rng.integers(-500, 500, 200)
            vs = rng.integers(0, 1000, 200).astype(float)
            d.update_many(ks, vs)
            model.update(zip(ks.tolist(), vs.tolist()))
        else:
            ks = rng.integers(-500, 500, 200)
            d.pop_many(ks)
            for k in ks.tolist():
                model.pop(k, None)
        if step % 1000 == 0:
            d._check()
            keys, values = d.to_numpy()
            assert keys.tolist() == sorted(model) and values.tolist() == [model[k] for k in sorted(model)]
    d._check()
    keys, values = d.to_numpy()
    assert keys.tolist() == sorted(model) and values.tolist() == [model[k] for k in sorted(model)]


def test_threads_read_and_write_their_own_values():
    """Four threads put, get and pop keys of their own residue mod 4: every value read is the one
    that thread wrote (the one-value buffers of scalar calls are per thread)."""
    import threading

    d = SortedDict(dtype=np.int64, value_dtype=np.float64, chunk_size=8)
    errors = []

    def work(t):
        rng = np.random.default_rng(t)
        mine = {}
        for _ in range(3000):
            k = int(rng.integers(0, 400)) * 4 + t
            if rng.random() < 0.6:
                d[k] = mine[k] = float(k) * 0.5 + t
            elif rng.random() < 0.5:
                if d.get(k) != mine.get(k):
                    errors.append((t, k, d.get(k), mine.get(k)))
            elif d.pop(k, None) != mine.pop(k, None):
                errors.append((t, k))
        for k, v in mine.items():
            if d[k] != v:
                errors.append((t, k, d[k], v))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:5]
    d._check()
