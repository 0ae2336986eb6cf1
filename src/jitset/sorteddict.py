"""``SortedDict``: a sorted map whose values are a NumPy column, on the set's engine.

Compiled callers get the scalar and batch methods from
:mod:`jitset._numba_dict`.

The keys are a :class:`~jitset.sortedset.SortedSet` whose storage also holds
the values, as raw bytes beside their keys (:mod:`jitset._storage`); the
same compiled kernels move both (a set's values are 0 bytes wide), so a dict
reuses every kernel of the set of its key dtype.  Key checks, the lock and
the batch strategies are the set's own; this class adds the values.
"""

from __future__ import annotations

import operator
import os
import threading
from collections.abc import Mapping, MutableMapping, Sequence, Set
from typing import Any, Iterator, Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from jitset import _kernels, _persist
from jitset._numba_dict import dict_type, register_class
from jitset._keys import argsort_keys, codec_for, increasing, resolve_dtype, take_keys
from jitset._plumbing import OWNER, SetBusy
from jitset._storage import build
from jitset._values import ValueColumn, resolve_value_dtype
from jitset.sortedset import SortedSet, _chunk_size, _infer_dtype

__all__ = ["SortedDict", "SortedKeysView", "SortedValuesView", "SortedItemsView"]

_MISSING = object()

#: Modes of :meth:`SortedDict.update_many` (Redis ZADD's vocabulary).
MODES = ("upsert", "insert", "update", "add")


class SortedDict:
    """A sorted map from fixed-width keys to fixed-width NumPy values.

    Parameters
    ----------
    keys, values : array_like, optional
        Two sequences of equal length; or, with ``values=None``, ``keys``
        a mapping or an iterable of ``(key, value)`` pairs.  A repeated key
        keeps its last value, as in ``dict.update``.
    dtype : dtype, optional
        Key dtype: any dtype a :class:`~jitset.SortedSet` takes.
    value_dtype : dtype, optional
        Any fixed-width NumPy dtype, structured records and subarrays such
        as ``("f8", 3)`` included (default: the values' own, else float64).
    chunk_size : int, optional
        Keys per chunk (default 512).  Tiny sizes are for tests.

    Examples
    --------
    >>> d = SortedDict([30, 10, 20], [3.0, 1.0, 2.0])
    >>> d[20], d.put(15, 1.5), len(d)
    (np.float64(2.0), (1, True), 4)
    """

    __slots__ = ("_s", "_vc", "_local", "_addr", "_numba_type_", "__weakref__")

    def __init__(
        self,
        keys: Any = None,
        values: Any = None,
        *,
        dtype: Any = None,
        value_dtype: Any = None,
        chunk_size: Optional[int] = None,
    ) -> None:
        if values is None and keys is not None:
            if isinstance(keys, np.ndarray):
                raise TypeError(
                    "SortedDict(keys, values) takes two arrays of equal length, or a mapping or an "
                    "iterable of (key, value) pairs alone; a NumPy array alone is neither"
                )
            keys, values = _pairs(keys)
        elif values is not None and keys is None:
            raise TypeError("values given without keys")
        chunk = _chunk_size(chunk_size)
        kdt = resolve_dtype(dtype if dtype is not None else _infer_dtype(keys))
        if value_dtype is None:
            given = getattr(values, "dtype", None)  # an array's own, even when empty
            if isinstance(given, np.dtype):
                value_dtype = given
            else:
                value_dtype = np.asarray(values).dtype if values is not None and len(values) else np.float64
        vc = ValueColumn(resolve_value_dtype(value_dtype))
        codec = codec_for(kdt)
        raw = codec.keys(np.empty(0, dtype=kdt) if keys is None else keys)
        column = vc.column(np.empty((0,) + vc.shape, vc.base) if values is None else values, len(raw))
        ordered, column = _distinct(raw, column, "upsert")
        self._init(build(ordered, chunk, values=vc.raw(column)), kdt, vc)

    def _init(self, store, dtype: np.dtype, vc: ValueColumn) -> None:
        s = SortedSet.__new__(SortedSet)
        s._setup(store, dtype)
        self._s = s
        self._vc = vc
        self._local = threading.local()  # per thread: the one-value buffers of scalar calls
        self._addr = s._addr  # for compiled callers (jitset._numba_dict): fixed for the life of the storage
        self._numba_type_ = dict_type(dtype, vc.dtype)

    def _wait(self) -> None:
        """Return once no other thread holds the dict (compiled callers then look again)."""
        self._s._wait()

    def _give_back(self) -> None:
        """Shrink the storage if mostly empty (compiled callers, after a removal said so)."""
        self._s._give_back()

    # ------------------------------------------------------------ mapping

    def __len__(self) -> int:
        return len(self._s)

    def __contains__(self, key) -> bool:
        """``key in d``: O(log n)."""
        return key in self._s

    def __iter__(self) -> Iterator[Any]:
        """The keys, ascending."""
        return iter(self._s)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self._s)

    def _probe(self, key):
        """The storage key for ``key``, or None when the dtype cannot hold it (then absent)."""
        s = self._s
        if type(key) is int and s._lo <= key <= s._hi:
            return key
        return s._codec.key_if_fits(key)

    def _buffer(self) -> _Buffer:
        """This thread's one-value buffers: another thread's call never writes them between
        a kernel's copy and the read of it (the GIL may switch threads between the two)."""
        try:
            return self._local.buffer
        except AttributeError:
            self._local.buffer = b = _Buffer(self._vc.dtype)
            return b

    @staticmethod
    def _value_out(b: "_Buffer"):
        """The value a kernel copied to ``b.out``, as NumPy indexing gives one (a copy)."""
        return SortedDict._value_of(b.out[0])

    def __getitem__(self, key):
        """``d[key]``: its value; ``KeyError`` when absent.  O(log n).

        Examples
        --------
        >>> SortedDict({1: 10, 2: 20}, value_dtype="i4")[2]
        np.int32(20)
        """
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key, default=None):
        """The value of ``key``, or ``default`` when absent.  O(log n).

        Examples
        --------
        >>> SortedDict({1: 10.0}).get(2, -1.0)
        -1.0
        """
        k = self._probe(key)
        if k is None:
            return default
        s = self._s
        b = self._buffer()
        try:
            index = s._k.get_value(s._addr, k, b.out_addr)
        except SetBusy:
            index = s._held_call(s._k.get_value, k, b.out_addr)
        return default if index < 0 else self._value_out(b)

    def put(self, key, value) -> tuple[int, bool]:
        """Set ``d[key] = value``; return ``(index after the call, whether the key was new)``.

        O(log n) plus O(chunk_size) to shift keys and values within a chunk.

        Examples
        --------
        >>> d = SortedDict({10: 1.0, 20: 2.0})
        >>> d.put(15, 1.5), d.put(20, 0.0)
        ((1, True), (2, False))
        """
        s = self._s
        if type(key) is not int or not s._lo <= key <= s._hi:
            key = s._codec.key(key)
        vc = self._vc
        if vc.word_kernel is not None and type(value) is vc.exact_type and (vc.lo <= value <= vc.hi or value != value):
            put, arg = getattr(s._k, vc.word_kernel), value  # the value itself (NaN too): no buffer
        else:
            v = vc.one(value)  # checked and converted; kept alive until the kernel copied it
            put, arg = s._k.put, v.ctypes.data
        try:
            code = put(s._addr, key, arg, True)
        except SetBusy:
            code = _kernels.NEED_ROOM
        if code == _kernels.NEED_ROOM:
            with s._held:
                code = put(s._addr | OWNER, key, arg, True)
                while code == _kernels.NEED_ROOM:
                    s._store.grow()
                    code = put(s._addr | OWNER, key, arg, True)
        return (code, True) if code >= 0 else (_kernels.PRESENT - code, False)

    __setitem__ = put  # d[k] = v: the same call (its result dropped), one Python frame fewer

    def _pop(self, key, out: int = 0) -> int:
        """Remove ``key``, its value copied to address ``out`` unless 0; the index it had, or -1."""
        s = self._s
        if type(key) is not int or not s._lo <= key <= s._hi:
            key = s._codec.key_if_fits(key)
            if key is None:  # a key the dtype cannot hold is absent
                return -1
        try:
            index = s._k.pop_value(s._addr, key, out)
        except SetBusy:
            index = s._held_call(s._k.pop_value, key, out)
        if index < -1:  # removed, and the storage is mostly empty rows: give them back
            with s._held:
                s._store.shrink_if_sparse()
            index = _kernels.SHRINK - index
        return index

    def discard(self, key) -> int:
        """Remove ``key`` if present; return the index it had, or -1.  O(log n + chunk_size).

        Examples
        --------
        >>> d = SortedDict({1: 1.0, 2: 2.0})
        >>> d.discard(2), d.discard(5)
        (1, -1)
        """
        return self._pop(key)

    def __delitem__(self, key) -> None:
        if self._pop(key) < 0:
            raise KeyError(key)

    def pop(self, key, default=_MISSING):
        """Remove ``key`` and return its value; ``default`` (or ``KeyError``) when absent.

        Examples
        --------
        >>> d = SortedDict({1: 1.0, 2: 2.0})
        >>> d.pop(1), d.pop(9, None), len(d)
        (np.float64(1.0), None, 1)
        """
        b = self._buffer()
        if self._pop(key, b.out_addr) < 0:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return self._value_out(b)

    def index(self, key) -> int:
        """Index of ``key``; ``ValueError`` when absent.  O(log n)."""
        return self._s.index(key)

    def bisect_left(self, key) -> int:
        """Number of keys ``< key``."""
        return self._s.bisect_left(key)

    def bisect_right(self, key) -> int:
        """Number of keys ``<= key``."""
        return self._s.bisect_right(key)

    def peekitem(self, index: int = -1) -> tuple[Any, Any]:
        """The ``(key, value)`` at ``index`` (default the largest key); ``IndexError`` out of range.

        Examples
        --------
        >>> SortedDict({1: 1.0, 2: 2.0}).peekitem(0)
        (1, np.float64(1.0))
        """
        s = self._s
        b = self._buffer()
        with s._held:
            key = s[index]
            i = index + len(s) if index < 0 else index
            s._k.take_values(s._addr, np.array([i], dtype=np.int64), b.out_addr)
            return key, self._value_out(b)

    def popitem(self, index: int = -1) -> tuple[Any, Any]:
        """Remove and return the ``(key, value)`` at ``index`` (default the largest key).

        Examples
        --------
        >>> d = SortedDict({1: 1.0, 2: 2.0})
        >>> d.popitem(), len(d)
        ((2, np.float64(2.0)), 1)
        """
        s = self._s
        b = self._buffer()
        if not s:
            raise KeyError("popitem(): SortedDict is empty")
        with s._held:
            try:
                key = s._k.delete_value_at(s._addr | OWNER, s._like, int(index), b.out_addr)
            except (IndexError, OverflowError):
                raise IndexError("popitem index out of range") from None
            s._store.shrink_if_sparse()
        return (key if s._out is None else s._out(key)), self._value_out(b)

    def clear(self) -> None:
        """Remove every item, giving back the memory."""
        self._s.clear()

    def setdefault(self, key, default=None):
        """``d[key]`` if present, else set it to ``default`` and return that.

        ``default`` is required (``TypeError`` without one) unless ``None``
        converts to the value dtype, which no NumPy number does.

        Examples
        --------
        >>> d = SortedDict({1: 1.0})
        >>> d.setdefault(1, 5.0), d.setdefault(2, 5.0), len(d)
        (np.float64(1.0), np.float64(5.0), 2)
        """
        with self._s._held:
            value = self.get(key, _MISSING)
            if value is not _MISSING:
                return value
            if default is None:
                raise TypeError(f"setdefault needs a default: None is not a value of dtype {self.value_dtype}")
            self.put(key, default)
            return self[key]

    def update(self, other: Any = ()) -> None:
        """Set every item of a mapping or an iterable of ``(key, value)`` pairs (the last repeat wins)."""
        keys, values = _pairs(other)
        if len(keys):
            self.update_many(keys if self.dtype.names is None else list(keys), values)

    def copy(self) -> "SortedDict":
        """A new dict with the same items, dtypes and chunk size.  O(n)."""
        keys, values = self.to_numpy()
        return SortedDict(keys, values, dtype=self.dtype, value_dtype=self.value_dtype, chunk_size=self.chunk_size)

    def __eq__(self, other) -> bool:
        """Equal to any mapping with the same keys and equal values (NaN equals NaN here, as in
        ``np.array_equal(..., equal_nan=True)``)."""
        if not isinstance(other, Mapping) and not isinstance(other, SortedDict):
            return NotImplemented
        if len(other) != len(self):
            return False
        keys, values = self.to_numpy()
        if isinstance(other, SortedDict):
            okeys, ovalues = other.to_numpy()
            return bool(np.array_equal(keys, okeys)) and _equal(values, ovalues)
        for key, value in zip(self._s._codec.to_python(keys), values):
            theirs = other.get(key, _MISSING)
            if theirs is _MISSING or not _equal(np.asarray(value), self._as_value(theirs)):
                return False
        return True

    __hash__ = None  # mutable

    # ------------------------------------------------------------ ranges

    def irange(self, minimum: Any = None, maximum: Any = None, inclusive: tuple[bool, bool] = (True, True),
               reverse: bool = False) -> np.ndarray:
        """Keys between ``minimum`` and ``maximum`` as an array (see :meth:`SortedSet.irange`)."""
        return self._s.irange(minimum, maximum, inclusive, reverse)

    def irange_items(self, minimum: Any = None, maximum: Any = None, inclusive: tuple[bool, bool] = (True, True),
                     reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, values)`` of the items with keys between ``minimum`` and ``maximum``.  O(log n + k).

        Examples
        --------
        >>> d = SortedDict({1: 1.0, 2: 2.0, 3: 3.0})
        >>> d.irange_items(2, None)
        (array([2, 3]), array([2., 3.]))
        """
        s = self._s
        bounds = s._bounds(minimum, maximum, inclusive)
        with s._held:
            start, stop = s._positions(*bounds)
            keys = s._gather(start, stop - start)
            values = np.empty(stop - start, dtype=self._vc.dtype)
            s._k.gather_values(s._addr, values.ctypes.data, start, stop - start)
        if reverse:
            return keys[::-1].copy(), values[::-1].copy()
        return keys, values

    def discard_irange(self, minimum: Any = None, maximum: Any = None,
                       inclusive: tuple[bool, bool] = (True, True)) -> tuple[int, int]:
        """Remove the items with keys between the bounds; ``(start, stop)`` as :meth:`SortedSet.discard_irange`."""
        return self._s.discard_irange(minimum, maximum, inclusive)

    def _item_at(self, index: int):
        return self.peekitem(index) if 0 <= index < len(self._s) else None

    def floor_item(self, key):
        """The item with the largest key ``<= key``, or None.  O(log n)."""
        with self._s._held:
            return self._item_at(self._s.bisect_right(key) - 1)

    def ceiling_item(self, key):
        """The item with the smallest key ``>= key``, or None.  O(log n)."""
        with self._s._held:
            return self._item_at(self._s.bisect_left(key))

    def lower_item(self, key):
        """The item with the largest key ``< key``, or None.  O(log n)."""
        with self._s._held:
            return self._item_at(self._s.bisect_left(key) - 1)

    def higher_item(self, key):
        """The item with the smallest key ``> key``, or None.  O(log n)."""
        with self._s._held:
            return self._item_at(self._s.bisect_right(key))

    # ------------------------------------------------------------ views

    def keys(self) -> "SortedKeysView":
        """The keys as a live, sorted sequence: ``[i]``, slices (arrays), ``index``, ``in``,
        set operations (giving a :class:`~jitset.SortedSet`), and ``del d.keys()[i:j]``.

        Examples
        --------
        >>> d = SortedDict({1: 1.0, 2: 2.0, 3: 3.0})
        >>> k = d.keys()
        >>> k[0], k[1:], k & {2, 3, 4}
        (1, array([2, 3]), SortedSet([2, 3], dtype=int64, len=2))
        >>> del k[:2]
        >>> d.to_numpy()
        (array([3]), array([3.]))
        """
        return SortedKeysView(self)

    def values(self) -> "SortedValuesView":
        """The values, in key order, as a live sequence: ``[i]``, slices (arrays), ``len``, iteration.

        Examples
        --------
        >>> SortedDict({2: 20.0, 1: 10.0}).values()[:]
        array([10., 20.])
        """
        return SortedValuesView(self)

    def items(self) -> "SortedItemsView":
        """The items as a live sequence of ``(key, value)``; a slice gives ``(keys, values)`` arrays.

        Examples
        --------
        >>> d = SortedDict({2: 20.0, 1: 10.0})
        >>> d.items()[0], list(d.items())
        ((1, np.float64(10.0)), [(1, np.float64(10.0)), (2, np.float64(20.0))])
        """
        return SortedItemsView(self)

    def _values_at(self, start: int, count: int) -> np.ndarray:
        """Values at indices ``start .. start + count - 1``; the caller holds the dict."""
        out = np.empty(max(count, 0), dtype=self._vc.dtype)
        if count > 0:
            self._s._k.gather_values(self._s._addr, out.ctypes.data, start, count)
        return out

    def _values_slice(self, sl: slice) -> np.ndarray:
        s = self._s
        with s._held:
            r = range(*sl.indices(len(s)))
            if len(r) == 0:
                return np.empty(0, dtype=self._vc.dtype)
            lo = min(r[0], r[-1])
            block = self._values_at(lo, abs(r[-1] - r[0]) + 1)
        return np.ascontiguousarray(block[r.start - lo :: r.step])

    def _iter_items(self, reverse: bool = False) -> Iterator[tuple[Any, Any]]:
        """Items a block at a time; a mutation meanwhile raises RuntimeError (as for the set's iterator)."""
        s = self._s
        store = s._store
        version = store.version
        n = len(s)
        starts = range(0, n, _ITER_BLOCK)
        for first in reversed(starts) if reverse else starts:
            with s._held:
                if store.version != version:
                    raise RuntimeError("SortedDict changed during iteration")
                count = min(_ITER_BLOCK, n - first)
                keys = s._codec.to_python(s._gather(first, count))
                values = self._values_at(first, count)
            pairs = list(zip(keys, (self._value_of(v) for v in values)))
            yield from reversed(pairs) if reverse else pairs
        if store.version != version:
            raise RuntimeError("SortedDict changed during iteration")

    def _as_value(self, x) -> np.ndarray:
        """``x`` as an array of values, for comparing (a subarray dtype's elements, not new subarrays)."""
        vc = self._vc
        return np.asarray(x, dtype=vc.base if vc.dtype.names is None else vc.dtype)

    @staticmethod
    def _value_of(v):
        """One value read from an array: a copy when it is a view (a subarray or a record)."""
        return v.copy() if isinstance(v, (np.ndarray, np.void)) else v

    def take(self, positions: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, values)`` at ``positions`` (negative allowed), like ``np.take``.

        Examples
        --------
        >>> SortedDict({1: 1.0, 2: 2.0, 3: 3.0}).take([-1, 0])
        (array([3, 1]), array([3., 1.]))
        """
        s = self._s
        with s._held:
            keys = s.take(positions)  # checks the bounds
            idx = np.asarray(positions, dtype=np.int64).reshape(-1)
            idx = np.where(idx < 0, idx + len(s), idx)
            values = np.empty(len(idx), dtype=self._vc.dtype)
            s._k.take_values(s._addr, np.ascontiguousarray(idx), values.ctypes.data)
        return keys, values

    # ------------------------------------------------------------ batches

    def _column(self, keys, values) -> tuple[np.ndarray, np.ndarray]:
        raw = self._s._batch(keys)
        return raw, self._vc.column(values, len(raw))

    def update_many(self, keys: ArrayLike, values: ArrayLike, mode: str = "upsert") -> tuple[np.ndarray, np.ndarray]:
        """Set many values in one native call; return ``(inserted_indices, updated_indices)``.

        Modes (Redis ZADD's): ``"upsert"`` sets every key; ``"insert"``
        only keys not present; ``"update"`` only keys present; ``"add"``
        adds the values to the present ones (numeric value dtypes) and
        inserts the others.  Repeated keys in one batch: the last value wins
        (``"insert"``: the first; ``"add"``: they add up; integer sums wrap
        around on overflow, as NumPy's do).  Both index arrays
        are positions after the call, ascending, each key once.  The whole
        batch is checked before anything changes.

        Examples
        --------
        >>> d = SortedDict({10: 1.0, 20: 2.0})
        >>> d.update_many([20, 5], [9.0, 0.5])
        (array([0]), array([2]))
        >>> d.to_numpy()
        (array([ 5, 10, 20]), array([0.5, 1. , 9. ]))
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "add" and not _numeric(self._vc.dtype):
            raise TypeError(f"mode 'add' needs a numeric value dtype, not {self._vc.dtype}")
        raw, column = self._column(keys, values)
        ordered, column = _distinct(raw, column, mode)
        s = self._s
        vc = self._vc
        with s._held:
            if mode == "insert":  # present keys keep their values: nothing to rank
                return s._add_sorted(ordered, vc.raw(column), overwrite=False), np.empty(0, dtype=np.int64)
            old = np.empty(len(ordered), dtype=vc.dtype) if mode == "add" else None
            ranks, found = s._rank(ordered, False, 0 if old is None else old.ctypes.data, ascending=True)
            if mode == "update":
                ordered, column = take_keys(ordered, np.flatnonzero(found)), column[found]
                ranks, found = ranks[found], found[found]
            elif mode == "add" and found.any():  # the present keys' values, from the same search
                column = column.copy()
                column[found] = _added(old[found], column[found])
            inserted = s._add_sorted(ordered, vc.raw(np.ascontiguousarray(column)), overwrite=True)
        # A present key's index after the call: its rank before, plus the new keys
        # below it, which are the batch's absent keys before it (the batch is sorted).
        absent_before = np.arange(len(found)) - (np.cumsum(found) - found)
        return inserted, (ranks + absent_before)[found]

    def get_many(self, keys: ArrayLike, default: Any = _MISSING) -> np.ndarray:
        """The values of ``keys``, in their order; ``default`` where absent (``KeyError`` without one).

        Examples
        --------
        >>> SortedDict({1: 1.0, 2: 2.0}).get_many([2, 7], default=np.nan)
        array([ 2., nan])
        """
        s = self._s
        vc = self._vc
        raw = s._batch(keys)
        if default is _MISSING:
            out = np.empty(len(raw), dtype=vc.dtype)  # a subarray dtype's: shape (n, *shape) of its base
        else:  # checked before the search: the kernel writes only the keys it finds
            out = vc.column(np.full(len(raw), default) if vc.dtype.names is None else [default] * len(raw),
                            len(raw))
        found = s._rank(raw, False, out.ctypes.data)[1]
        if default is _MISSING and not found.all():
            first = int(np.argmax(~found))
            raise KeyError(s._codec.to_python(s._codec.decode(raw[first : first + 1]))[0])
        return out

    def contains_many(self, keys: ArrayLike) -> np.ndarray:
        """Whether each key is present (bool array, shape of ``keys``)."""
        return self._s.contains_many(keys)

    def index_many(self, keys: ArrayLike) -> np.ndarray:
        """Index of each key, -1 where absent."""
        return self._s.index_many(keys)

    def pop_many(self, keys: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Remove the keys present; return ``(indices they had, their values)``, ascending by index.

        Examples
        --------
        >>> d = SortedDict({1: 1.0, 2: 2.0, 3: 3.0})
        >>> d.pop_many([3, 9, 1])
        (array([0, 2]), array([1., 3.]))
        """
        s = self._s
        ordered = _distinct_keys(s._batch(keys))
        with s._held:
            got = np.empty(len(ordered), dtype=self._vc.dtype)
            found = s._rank(ordered, False, got.ctypes.data, ascending=True)[1]
            removed = s._discard_raw(take_keys(ordered, np.flatnonzero(found)))
        return removed, got[found]

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, values)``: two arrays, ascending by key.  O(n).

        Examples
        --------
        >>> SortedDict({2: 20, 1: 10}, value_dtype="u2").to_numpy()
        (array([1, 2]), array([10, 20], dtype=uint16))
        """
        s = self._s
        with s._held:
            keys = s.to_numpy()
            values = np.empty(len(keys), dtype=self._vc.dtype)
            s._k.gather_values(s._addr, values.ctypes.data, 0, len(keys))
        return keys, values

    # ------------------------------------------------------------ files

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the dict to exactly ``path``, atomically, in the checksummed format of
        :meth:`SortedSet.save` with the value dtype in the header.  O(n).

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "book.jitset")
        >>> SortedDict({2: 0.5, 1: 1.5}).save(path)
        >>> SortedDict.load(path).to_numpy()
        (array([1, 2]), array([1.5, 0.5]))
        """
        keys, values = self.to_numpy()
        _persist.write(path, keys, self.chunk_size, values)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], mmap_mode: Optional[str] = None) -> "SortedDict":
        """Read a dict written by :meth:`save`, validating everything first.

        ``ValueError`` for a truncated, corrupted, reordered or foreign file,
        a set's file included (:meth:`SortedSet.load` reads those).  O(n).
        """
        dtype, chunk, keys, values = _persist.read(path, mmap_mode, values=True)
        try:
            kdt = resolve_dtype(dtype)
            raw = codec_for(kdt).keys(keys)
            if len(raw) > 1 and not increasing(raw).all():
                raise ValueError("the keys are not strictly increasing")
            vc = ValueColumn(resolve_value_dtype(values.dtype if values.ndim == 1
                                                 else np.dtype((values.dtype, values.shape[1:]))))
            self = cls.__new__(cls)
            self._init(build(raw, _chunk_size(chunk), values=vc.raw(np.ascontiguousarray(values))), kdt, vc)
            return self
        except (TypeError, OverflowError, ValueError, NotImplementedError) as exc:
            raise ValueError(f"{os.fspath(path)!r} is not a valid jitset file: {exc}") from None

    # ------------------------------------------------------------ properties

    @property
    def dtype(self) -> np.dtype:
        """The key dtype."""
        return self._s.dtype

    @property
    def value_dtype(self) -> np.dtype:
        """The value dtype."""
        return self._vc.dtype

    @property
    def chunk_size(self) -> int:
        return self._s.chunk_size

    @property
    def nbytes(self) -> int:
        """Bytes held by the dict's arrays (allocated, including free room)."""
        return self._s.nbytes

    def __repr__(self) -> str:
        keys, values = self.to_numpy()
        return f"SortedDict({keys!r}, {values!r})"

    def _check(self) -> None:
        """Verify every internal invariant of the keys and the values' layout."""
        self._s._check()
        st = self._s._store
        assert st.value_width == self._vc.width, "the storage's value width is not the value dtype's"


#: Items copied out at a time by the views' iterators.
_ITER_BLOCK = 4096


class _View:
    """What the three views share: the dict they show, and its length."""

    __slots__ = ("_d",)

    def __init__(self, d: SortedDict) -> None:
        self._d = d

    def __len__(self) -> int:
        return len(self._d)


class SortedKeysView(_View, Sequence, Set):
    """The keys of a :class:`SortedDict`: a live sorted sequence; set operations give a SortedSet."""

    __slots__ = ()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._d._s)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self._d._s)

    def __contains__(self, key) -> bool:
        return key in self._d._s

    def __getitem__(self, index):
        return self._d._s[index]

    def __delitem__(self, index) -> None:
        """``del d.keys()[i]`` or ``[i:j:k]``: remove items by position (values with their keys)."""
        del self._d._s[index]

    def index(self, key, start=None, stop=None) -> int:
        """Index of ``key``; ``ValueError`` when absent (or outside ``[start:stop]``, as for a list)."""
        i = self._d._s.index(key)
        if i not in range(len(self))[slice(start, stop)]:
            raise ValueError(f"{key!r} is not in the SortedDict's keys [{start}:{stop}]")
        return i

    def count(self, key) -> int:
        return int(key in self)

    def __and__(self, other):
        return self._d._s & _keys_of(other)

    def __or__(self, other):
        return self._d._s | _keys_of(other)

    def __sub__(self, other):
        return self._d._s - _keys_of(other)

    def __xor__(self, other):
        return self._d._s ^ _keys_of(other)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    def __rsub__(self, other):
        return _keys_of(other, self._d.dtype) - self._d._s

    def __eq__(self, other) -> bool:
        return self._d._s == _keys_of(other) if isinstance(other, (Set, SortedKeysView)) else NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"SortedKeysView({self._d._s.to_numpy()!r})"


def _keys_of(other, dtype=None):
    """A view's dict's keys as the set itself; other operands as they are (SortedSet takes any iterable)."""
    if isinstance(other, SortedKeysView):
        return other._d._s
    if dtype is not None and not isinstance(other, SortedSet):
        return SortedSet(list(other), dtype=dtype)
    return other


class SortedValuesView(_View, Sequence):
    """The values of a :class:`SortedDict`, in key order: a live sequence."""

    __slots__ = ()

    def __iter__(self) -> Iterator[Any]:
        return (v for _, v in self._d._iter_items())

    def __reversed__(self) -> Iterator[Any]:
        return (v for _, v in self._d._iter_items(reverse=True))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._d._values_slice(index)
        return self._d.peekitem(operator.index(index))[1]

    def __repr__(self) -> str:
        return f"SortedValuesView({self._d.to_numpy()[1]!r})"


class SortedItemsView(_View, Sequence, Set):
    """The items of a :class:`SortedDict`: a live sequence of ``(key, value)``."""

    __slots__ = ()

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self._d._iter_items()

    def __reversed__(self) -> Iterator[tuple[Any, Any]]:
        return self._d._iter_items(reverse=True)

    def __contains__(self, item) -> bool:
        try:
            key, value = item
        except (TypeError, ValueError):
            return False
        mine = self._d.get(key, _MISSING)
        return mine is not _MISSING and _equal(np.asarray(mine), self._d._as_value(value))

    def __getitem__(self, index):
        if isinstance(index, slice):
            d = self._d
            with d._s._held:
                return d._s[index], d._values_slice(index)
        return self._d.peekitem(operator.index(index))

    __hash__ = None

    def __repr__(self) -> str:
        return f"SortedItemsView{self._d.to_numpy()!r}"


class _Buffer:
    """One thread's buffers for a scalar call's value: in (``into``) and out."""

    __slots__ = ("into", "into_addr", "out", "out_addr")

    def __init__(self, dtype: np.dtype) -> None:
        self.into = np.empty(1, dtype=dtype)
        self.into_addr = self.into.ctypes.data
        self.out = np.empty(1, dtype=dtype)
        self.out_addr = self.out.ctypes.data


def _pairs(items) -> tuple[list, list]:
    """Keys and values of a mapping or an iterable of ``(key, value)`` pairs."""
    if isinstance(items, SortedDict):
        return items.to_numpy()
    pairs = list(items.items() if isinstance(items, Mapping) else items)
    for p in pairs:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise TypeError(f"expected (key, value) pairs, got {p!r}")
    return [k for k, _ in pairs], [v for _, v in pairs]


def _groups(ordered: np.ndarray) -> np.ndarray:
    """Start of each run of equal keys in sorted ``ordered``."""
    if len(ordered) == 0:
        return np.empty(0, dtype=np.int64)
    change = ordered[1:] != ordered[:-1]
    return np.concatenate(([0], np.flatnonzero(change) + 1))


def _distinct(raw: np.ndarray, column: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and one value each: the last given (``"insert"``: the first; ``"add"``: the sum)."""
    perm = argsort_keys(raw)
    ordered = take_keys(raw, perm)
    starts = _groups(ordered)
    if len(starts) == len(raw):
        return ordered, column[perm]
    if mode == "add":
        summed = _sum_groups(column[perm], starts)
        return take_keys(ordered, starts), summed
    pick = (np.minimum if mode == "insert" else np.maximum).reduceat(perm, starts)
    return take_keys(ordered, starts), column[pick]


def _distinct_keys(raw: np.ndarray) -> np.ndarray:
    ordered = take_keys(raw, argsort_keys(raw))
    return take_keys(ordered, _groups(ordered))


def _numeric(dt: np.dtype) -> bool:
    """Integer, float, complex or timedelta, their subarrays, and records of only those."""
    if dt.names is not None:
        return all(_numeric(dt[name]) for name in dt.names)
    return dt.base.kind in "iufcm"


def _sum_groups(column: np.ndarray, starts: np.ndarray) -> np.ndarray:
    if column.dtype.names is not None:
        out = np.empty(len(starts), dtype=column.dtype)
        for name in column.dtype.names:
            out[name] = _sum_groups(column[name], starts)
        return out
    return np.add.reduceat(column, starts, axis=0).astype(column.dtype, copy=False)


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, NaN equal to NaN (records field by field)."""
    if a.dtype.names is not None:
        return b.dtype.names == a.dtype.names and all(_equal(a[n], b[n]) for n in a.dtype.names)
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:  # equal_nan is for numbers only
        return bool(np.array_equal(a, b))


def _added(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``old + new``, field by field for records (mode ``"add"``)."""
    if old.dtype.names is not None:
        out = np.empty_like(old)
        for name in old.dtype.names:
            out[name] = _added(old[name], new[name])
        return out
    return old + new


MutableMapping.register(SortedDict)


register_class(SortedDict)  # SortedDict(...) in compiled code, and typeof for numba
