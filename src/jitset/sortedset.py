"""The public class: :class:`SortedSet`.

This layer validates and converts, then calls one kernel.  It never loops
over keys in Python, and it never lets an unchecked value reach a kernel
(kernels trust their inputs; see :mod:`jitset._entry_points`).  Compiled
callers get the same methods from :mod:`jitset._numba_extension`.
"""

from __future__ import annotations

import contextlib
import operator
import os
import threading
from collections.abc import MutableSet, Sequence, Set
from typing import Any, Iterable, Iterator, NoReturn, Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from jitset import _kernels, _persist, _strategy
from jitset._kernels import NEED_ROOM, PRESENT
from jitset._keys import (
    argsort_keys,
    as_key_array,
    codec_for,
    increasing,
    resolve_dtype,
    sort_keys,
    sort_unique,
    take_keys,
)
from jitset._numba_extension import numba_type, register_class
from jitset._entry_points import entry_points
from jitset._plumbing import H_BUSY, H_CAP, H_SERIAL, H_VALUES, H_VWIDTH, OWNER, SetBusy, hold, unhold
from jitset._algebra_kernels import (
    DIFFERENCE as _DIFFERENCE,
    INTERSECTION as _INTERSECTION,
    SYMMETRIC_DIFFERENCE as _SYMMETRIC_DIFFERENCE,
    UNION as _UNION,
)
from jitset._storage import SortedRun, Storage, build, rows_for

__all__ = ["SortedSet", "DEFAULT_CHUNK_SIZE"]

#: Keys per chunk.  Capacities from 128 to 1024 measured within 15% of each
#: other on scalar operations at 1M keys (writes prefer smaller chunks, reads
#: larger); 512 is the middle, close to Discord's 500.
DEFAULT_CHUNK_SIZE = 512
MIN_CHUNK_SIZE = 4
MAX_CHUNK_SIZE = 1 << 20

# How many keys an iterator copies out at a time.
_ITER_BLOCK = 1024

# The in-place operations' names in jitset._strategy.IN_PLACE_EDIT.
_OP_NAMES = {_UNION: "union", _DIFFERENCE: "difference", _SYMMETRIC_DIFFERENCE: "symmetric_difference"}


def _chunk_size(chunk_size) -> int:
    if chunk_size is None:
        return DEFAULT_CHUNK_SIZE
    try:
        size = operator.index(chunk_size)
    except TypeError:
        raise TypeError(f"chunk_size must be an integer, not {type(chunk_size).__name__}") from None
    if not MIN_CHUNK_SIZE <= size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}, got {size}")
    return size


def _capacity(capacity) -> Optional[int]:
    if capacity is None:
        return None
    try:
        cap = operator.index(capacity)
    except TypeError:
        raise TypeError(f"capacity must be an integer, not {type(capacity).__name__}") from None
    if cap < 0:
        raise ValueError(f"capacity must be >= 0, got {cap}")
    return cap


def _infer_dtype(values) -> np.dtype:
    """The dtype of the values' array, where jitset supports it; int64 otherwise."""
    if isinstance(values, SortedSet):
        return values.dtype
    dtype = getattr(values, "dtype", None)
    if not isinstance(dtype, np.dtype) and isinstance(values, (list, tuple)) and len(values):
        try:
            dtype = np.asarray(values).dtype
        except (TypeError, ValueError, OverflowError):
            dtype = None
    if isinstance(dtype, np.dtype) and (dtype.kind in "iufbMmSU" or dtype.names is not None):
        return dtype
    return np.dtype(np.int64)


class _Hold:
    """The set's lock; its owner also holds the set's busy flag.

    Scalar kernels that find the flag taken step aside (SetBusy); see
    "Threads" in :mod:`jitset._plumbing`.  Re-entrant, so a held section may
    call another: the flag is taken by the outermost ``with`` only (waiting,
    without the GIL, for a lock-free scalar call in flight to end) and given
    back by it.
    """

    __slots__ = ("lock", "address", "depth")

    def __init__(self, address: int) -> None:
        self.lock = threading.RLock()
        self.address = address
        self.depth = 0  # only ever changed by the lock's owner

    def __enter__(self) -> None:
        self.lock.acquire()
        if self.depth == 0:
            hold(self.address)
        self.depth += 1

    def __exit__(self, *exc) -> None:
        self.depth -= 1
        if self.depth == 0:
            unhold(self.address)
        self.lock.release()


class SortedSet:
    """A sorted set of fixed-width keys in chunked NumPy arrays.

    Every mutation reports the index it affected: :meth:`add` returns the
    key's index after the call, :meth:`discard` the index it had before.
    Scalar results are Python objects (like ``ndarray.item()``: ints, floats,
    bools, bytes, str, tuples for structured keys; NumPy scalars for
    datetimes, which Python's datetime would round); ranges and slices come
    back as NumPy arrays of the set's dtype.

    Parameters
    ----------
    values : iterable or array-like, optional
        Initial keys, in any order; duplicates are dropped.
    dtype : dtype-like, optional
        Key dtype: int8..int64, uint8..uint64, float32, float64 (IEEE order;
        -0.0 is stored as 0.0, NaN rejected), bool, datetime64[unit] and
        timedelta64[unit] (NaT rejected), fixed-width bytes ``S<n>`` and
        strings ``U<n>`` (longer values rejected, not truncated), and
        structured dtypes of those fields, ordered field by field (keys given
        as tuples).  By default the dtype of ``values`` when it is one of these
        (Python ints give int64, bytes ``S<n>``, str ``U<n>``), else int64.
    capacity : int, optional
        Number of keys to preallocate room for.
    chunk_size : int, optional
        Keys per chunk (default 512).  Tiny sizes are for tests.

    Raises
    ------
    TypeError, OverflowError, ValueError
        When a value does not fit the dtype exactly (or is NaN/NaT).

    Notes
    -----
    A set may be shared between threads.  Scalar operations are single
    compiled calls that hold the GIL, so each is atomic; batch operations
    release the GIL (two threads on two sets run in parallel) and, like every
    operation that spans several calls, run under the set's lock.  Iterating
    while another call mutates the set raises RuntimeError.

    A set can be passed to ``numba.njit`` functions and used there with the
    same methods (keys of one machine word; see :mod:`jitset._numba_extension`).

    Examples
    --------
    >>> s = SortedSet([30, 10, 20])
    >>> s.add(15)
    1
    >>> s.discard(30)
    3
    >>> s[-1], len(s), 20 in s
    (20, 3, True)
    >>> SortedSet([(2, b"ann"), (1, b"zed")], dtype=[("group", "u1"), ("name", "S8")])[0]
    (1, b'zed')
    """

    __slots__ = (
        "_store", "_addr", "_k", "_lo", "_hi", "_codec", "_out", "_like", "_dtype", "_held", "_numba_type_",
        "__weakref__",
    )

    def __init__(
        self,
        values: Optional[Iterable[Any]] = None,
        *,
        dtype: Any = None,
        capacity: Optional[int] = None,
        chunk_size: Optional[int] = None,
    ) -> None:
        chunk = _chunk_size(chunk_size)
        cap = _capacity(capacity)
        dt = resolve_dtype(dtype if dtype is not None else _infer_dtype(values))
        codec = codec_for(dt)
        if values is None:
            raw = np.empty(0, dtype=codec.storage)
        elif isinstance(values, SortedSet) and values.dtype == dt:
            raw = values._raw()
        else:
            if isinstance(values, SortedSet):
                values = values.to_numpy()
            raw = sort_keys(codec.keys(values))  # the fill kernel drops repeats
        self._setup(build(raw, chunk, cap), dt)

    def _setup(self, store: Storage, dtype: np.dtype) -> None:
        codec = codec_for(dtype)
        self._store = store
        self._addr = store.address  # the header's address: fixed for the life of the storage
        self._k = entry_points(codec.storage)
        self._codec = codec
        self._out = codec.decode_scalar  # None for integers: kernels return the keys themselves
        # What getitem/delete_at take to know the key type: any key of it (a
        # tuple of words for keys of several words, see jitset._plumbing).
        names = store.keys.dtype.names
        self._like = 0 if names is None else (0,) * len(names)
        self._lo = codec.lo
        self._hi = codec.hi
        self._dtype = dtype
        self._held = _Hold(store.address)
        # numba's dispatcher reads this attribute first (a slot: no Python code
        # runs), and only falls back to its slow typeof for objects without it
        self._numba_type_ = numba_type(dtype)

    @classmethod
    def _from_sorted_unique(cls, raw: np.ndarray, chunk: int, dtype: np.dtype) -> "SortedSet":
        """Trusted constructor: ``raw`` storage keys, already ascending, for ``dtype``."""
        self = cls.__new__(cls)
        self._setup(build(np.ascontiguousarray(raw), chunk), dtype)
        return self

    @classmethod
    def from_sorted(
        cls,
        values: Iterable[Any],
        *,
        dtype: Any = None,
        capacity: Optional[int] = None,
        chunk_size: Optional[int] = None,
    ) -> "SortedSet":
        """Build from strictly increasing keys, skipping the sort.  O(n).

        Raises
        ------
        ValueError
            If ``values`` is not strictly increasing (the order is verified).

        Examples
        --------
        >>> SortedSet.from_sorted([1, 5, 9]).index(5)
        1
        """
        chunk = _chunk_size(chunk_size)
        cap = _capacity(capacity)
        dt = resolve_dtype(dtype if dtype is not None else _infer_dtype(values))
        codec = codec_for(dt)
        raw = codec.keys(values)
        if len(raw) > 1:
            bad = ~increasing(raw)
            if bad.any():
                i = int(np.argmax(bad))
                a, b = codec.to_python(codec.decode(raw[i : i + 2]))
                raise ValueError(f"values are not strictly increasing: {a!r} at index {i} is followed by {b!r}")
        self = cls.__new__(cls)
        self._setup(build(raw, chunk, cap), dt)
        return self

    # ------------------------------------------------------------ key checks

    def _key(self, key) -> int:
        """``key`` as its storage int, or TypeError/OverflowError/ValueError."""
        if type(key) is int and self._lo <= key <= self._hi:
            return key
        return self._codec.key(key)

    # ------------------------------------------------------------ mutations

    def add(self, key: Any) -> int:
        """Add ``key``; return its index after the call, new or already there.

        O(log n) plus O(chunk_size) to shift keys within a chunk.  See
        :meth:`insert` to learn whether the key was new in the same call.

        Examples
        --------
        >>> s = SortedSet([10, 20])
        >>> s.add(15), s.add(20)
        (1, 2)
        """
        if type(key) is not int or not self._lo <= key <= self._hi:
            key = self._codec.key(key)
        try:
            code = self._k.add(self._addr, key)
        except SetBusy:
            code = NEED_ROOM
        if code >= 0:  # added at that index
            return code
        if code != NEED_ROOM:  # PRESENT - index: it was there already
            return PRESENT - code
        with self._held:  # a split needs a row (nothing changed), or another thread holds the set
            return self._add_held(key)[0]

    def insert(self, key: Any) -> tuple[int, bool]:
        """Add ``key``; return ``(index after the call, whether it was added)``.

        Like Discord's ``sorted_set_nif`` (``{:added, i}`` / ``{:duplicate, i}``):
        one atomic call says both where the key is and whether a row
        appeared, which comparing ``len()`` before and after cannot when
        another thread shares the set.  Same input rules and cost as
        :meth:`add`: O(log n) plus O(chunk_size).

        Examples
        --------
        >>> s = SortedSet([10, 20])
        >>> s.insert(15), s.insert(20)
        ((1, True), (2, False))
        """
        if type(key) is not int or not self._lo <= key <= self._hi:
            key = self._codec.key(key)
        try:
            code = self._k.add(self._addr, key)
        except SetBusy:
            code = NEED_ROOM
        if code >= 0:
            return code, True
        if code != NEED_ROOM:
            return PRESENT - code, False
        with self._held:
            return self._add_held(key)

    def _add_held(self, key) -> tuple[int, bool]:
        """``insert`` for a caller that holds the set (may grow the storage).

        ``add`` and ``insert`` decode the kernel's answer inline on their
        lock-free path (a call costs more than the decoding); every slower
        path comes here.
        """
        code = self._k.add(self._addr | OWNER, key)
        while code == NEED_ROOM:
            self._store.grow()
            code = self._k.add(self._addr | OWNER, key)
        return (code, True) if code >= 0 else (PRESENT - code, False)

    def _wait(self) -> None:
        """Return once no other thread holds the set (compiled callers then look again)."""
        with self._held:
            pass

    def _give_back(self) -> None:
        """Shrink the storage if mostly empty (compiled callers, after a discard said so)."""
        with self._held:
            self._store.shrink_if_sparse()

    def _held_call(self, kernel, *args):
        """Call a scalar kernel that raised SetBusy again, once the set is ours."""
        with self._held:
            return kernel(self._addr | OWNER, *args)

    def discard(self, key: Any) -> int:
        """Remove ``key`` if present; return the index it had, or -1.

        O(log n) plus O(chunk_size).

        Examples
        --------
        >>> s = SortedSet([10, 20])
        >>> s.discard(20), s.discard(99)
        (1, -1)
        """
        if type(key) is not int or not self._lo <= key <= self._hi:
            key = self._codec.key(key)
        try:
            index = self._k.discard(self._addr, key)
        except SetBusy:
            with self._held:
                return self._discard_held(key)
        if index < -1:  # removed, and the storage is mostly empty rows: give them back
            with self._held:
                self._store.shrink_if_sparse()
            index = _kernels.SHRINK - index
        return index

    def _discard_held(self, key: int) -> int:
        """``discard`` for a caller that holds the set."""
        index = self._k.discard(self._addr | OWNER, key)
        if index < -1:
            self._store.shrink_if_sparse()
            index = _kernels.SHRINK - index
        return index

    def remove(self, key: Any) -> int:
        """Remove ``key``; return the index it had.  ``KeyError`` when absent.

        Examples
        --------
        >>> SortedSet([10, 20]).remove(20)
        1
        """
        index = self.discard(key)
        if index < 0:
            raise KeyError(key)
        return index

    def pop(self, index: int = -1) -> Any:
        """Remove and return the key at ``index`` (default the largest).

        ``IndexError`` when the set is empty or the index is out of range.
        O(log n) plus O(chunk_size).

        Examples
        --------
        >>> s = SortedSet([1, 2, 3])
        >>> s.pop(), s.pop(0), s.to_numpy()
        (3, 1, array([2]))
        """
        i = operator.index(index)
        if not self:
            raise IndexError("pop from an empty SortedSet")
        key = self._delete_at(i, "pop index out of range")
        return key if self._out is None else self._out(key)

    def _delete_at(self, i: int, message: str):
        """Remove the key at index ``i`` (negative counts from the end); the storage key it was."""
        try:
            try:
                return self._k.delete_at(self._addr, self._like, i)
            except SetBusy:
                return self._held_call(self._k.delete_at, self._like, i)
        except (IndexError, OverflowError):  # OverflowError: an index beyond int64 cannot be in range
            raise IndexError(message) from None

    def clear(self) -> None:
        """Remove every key, giving back the memory."""
        with self._held:
            st = self._store
            width = st.value_width  # a dict's values stay as wide
            values = np.empty((0, width), dtype=np.uint8) if width else None
            st.take_over(build(np.empty(0, dtype=self._codec.storage), self.chunk_size, values=values))

    # ------------------------------------------------------ batch mutations

    def _batch(self, keys) -> np.ndarray:
        """A 1-D batch of storage keys, checked exactly (nothing changed yet)."""
        return self._codec.keys(keys)

    def _rebuild(
        self, removed: np.ndarray, added: np.ndarray, values: Optional[np.ndarray] = None, overwrite: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Discard ``removed`` then add ``added`` (both sorted, unique) by one linear merge.

        ``values``: a dict's, one row of bytes per key of ``added`` (see
        :mod:`jitset._batch_kernels`); ``overwrite``: present keys take them.
        """
        with self._held:
            st = self._store
            dest = Storage(self._codec.storage, st.chunk, rows_for(st.size + len(added), st.chunk), st.value_width)
            out_removed = np.empty(len(removed), dtype=np.int64)
            out_added = np.empty(len(added), dtype=np.int64)
            nr, na = self._k.rebuild(
                self._addr, dest.address, removed, added, _address(values), overwrite, out_removed, out_added
            )
            st.take_over(dest)
            st.shrink_if_sparse()  # dest was sized before we knew how many keys went
        return out_removed[:nr], out_added[:na]

    def _add_sorted(
        self, added: np.ndarray, values: Optional[np.ndarray] = None, overwrite: bool = False
    ) -> np.ndarray:
        """Insert sorted unique keys into the chunks they fall in; indices of the new ones.

        ``values`` and ``overwrite``: as for :meth:`_rebuild`.
        """
        out = np.empty(len(added), dtype=np.int64)
        vaddr = _address(values)
        vw = self._store.value_width
        with self._held:
            if _strategy.add(len(added), self._store.nchunks) == "merge":
                # enough keys to be worth one pass over the chunk positions: merge
                # each touched chunk with its keys in one go
                start = written = 0
                while True:
                    done, w, short = self._k.merge_add(
                        self._addr, added[start:], vaddr + start * vw if vaddr else 0, overwrite, out[written:]
                    )
                    written += w
                    if not short:
                        return out[:written]
                    start += done
                    self._store.grow(short)  # rows for the split it stopped at, or an eighth more
            start = written = 0
            while True:
                start, w = self._k.add_sorted(self._addr, added, vaddr, overwrite, start, out[written:])
                written += w
                if start == len(added):
                    return out[:written]
                self._store.grow()  # a split needed a row: grow, then resume where it stopped

    def _discard_sorted(self, removed: np.ndarray) -> np.ndarray:
        """Remove sorted unique keys from the chunks they fall in; the indices they had."""
        out = np.empty(len(removed), dtype=np.int64)
        with self._held:
            n = self._k.merge_discard(self._addr, removed, out)
            self._store.shrink_if_sparse()
        return out[:n]

    def add_many(self, keys: ArrayLike) -> np.ndarray:
        """Add every key of ``keys``; return the indices of the newly added ones.

        The indices (int64, ascending) are positions in the set *after* the
        call; keys already present, or repeated in ``keys``, are not reported.
        Inserting each new key at its index, in ascending order, into a copy
        of the old keys reproduces the new ones.  One native call, its
        kernel chosen from the keys per chunk (:mod:`jitset._strategy`): key
        by key for a few keys among many chunks, O(m (log n + chunk_size));
        otherwise one walk over the chunks merging each touched chunk once,
        O(n / chunk_size + m log(chunk_size) + chunk_size * chunks touched).

        Examples
        --------
        >>> s = SortedSet([10, 20, 30])
        >>> s.add_many([25, 5, 20, 25])
        array([0, 3])
        >>> s.to_numpy()
        array([ 5, 10, 20, 25, 30])
        """
        return self._add_sorted(sort_unique(self._batch(keys)))

    def discard_many(self, keys: ArrayLike) -> np.ndarray:
        """Remove the keys of ``keys`` that are present; return the indices they had.

        The indices (int64, ascending) are positions *before* the call;
        deleting at them in descending order reproduces the new keys.  One
        native call walking the chunks in key order, each touched chunk
        compacted once: O(m log n + chunk_size * chunks touched), plus
        O(n / chunk_size) when chunks empty or merge.  A batch removing most
        of the set rebuilds it instead, O(n), to pack it tightly again.

        Examples
        --------
        >>> s = SortedSet([10, 20, 30])
        >>> s.discard_many([30, 99, 10])
        array([0, 2])
        """
        return self._discard_raw(sort_unique(self._batch(keys)))

    def _discard_raw(self, removed: np.ndarray) -> np.ndarray:
        """``discard_many`` of storage keys already sorted and unique."""
        with self._held:  # the size that picks the strategy must not change under us
            if _strategy.discard(len(removed), len(self)) == "rebuild":
                return self._rebuild(removed, removed[:0])[0]
            return self._discard_sorted(removed)

    def replace(self, old: Any, new: Any) -> tuple[int, int]:
        """Move one key: remove ``old``, add ``new``.

        Returns ``(index old had before, index new has after)``.  ``KeyError``
        and no change when ``old`` is absent.

        Examples
        --------
        >>> s = SortedSet([10, 20, 30])
        >>> s.replace(10, 25)
        (0, 1)
        """
        old_key = self._key(old)
        new_key = self._key(new)
        with self._held:  # nobody sees the set with neither key
            removed_at = self._discard_held(old_key)
            if removed_at < 0:
                raise KeyError(old)
            return removed_at, self._add_held(new_key)[0]

    def replace_many(self, old_keys: ArrayLike, new_keys: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``discard_many(old_keys)`` then ``add_many(new_keys)``, fused.

        Returns ``(removed_indices, inserted_indices)``: the first relative
        to the set before the call, the second to the set after it.  Apply
        the deletes (descending) then the inserts (ascending) to a copy of the
        old list to get the new one.  Both batches are checked before anything
        changes.

        Examples
        --------
        >>> s = SortedSet([10, 20, 30])
        >>> s.replace_many([10, 30], [35, 15])
        (array([0, 2]), array([0, 2]))
        >>> s.to_numpy()
        array([15, 20, 35])
        """
        return self._replace_raw(sort_unique(self._batch(old_keys)), sort_unique(self._batch(new_keys)))

    def _replace_raw(self, removed: np.ndarray, added: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``replace_many`` of storage keys already sorted and unique."""
        with self._held:
            if _strategy.discard(len(removed), len(self)) == "rebuild":
                return self._rebuild(removed, added)
            return self._discard_sorted(removed), self._add_sorted(added)

    # -------------------------------------------------------------- lookups

    def __contains__(self, key) -> bool:
        """``key in s``: O(log n).  Numbers the dtype cannot hold are simply absent."""
        if type(key) is not int or not self._lo <= key <= self._hi:
            key = self._codec.key_if_fits(key)
            if key is None:
                return False
        try:
            return self._k.contains(self._addr, key)
        except SetBusy:
            return self._held_call(self._k.contains, key)

    def __len__(self) -> int:
        return self._store.size

    def __bool__(self) -> bool:
        return self._store.size > 0

    def __getitem__(self, index: Union[int, slice]) -> Any:
        """``s[i]`` (Python int) or ``s[i:j:k]`` (NumPy array).  O(log n) per key.

        Examples
        --------
        >>> s = SortedSet([5, 1, 3])
        >>> s[0], s[-1], s[1:]
        (1, 5, array([3, 5]))
        """
        if type(index) is int:
            try:
                key = self._k.getitem(self._addr, self._like, index)
            except SetBusy:
                key = self._held_call(self._k.getitem, self._like, index)
            except OverflowError:
                raise IndexError("SortedSet index out of range") from None
            return key if self._out is None else self._out(key)
        if isinstance(index, slice):
            return self._slice(index)
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(
                f"SortedSet indices must be integers or slices, not {type(index).__name__}"
            ) from None
        return self[i]

    def _raw_gather(self, start: int, count: int) -> np.ndarray:
        """Storage keys at indices ``start .. start + count - 1``."""
        out = np.empty(max(count, 0), dtype=self._codec.storage)
        if count > 0:
            with self._held:
                self._k.gather(self._addr, out, start)
        return out

    def _raw(self) -> np.ndarray:
        with self._held:
            return self._raw_gather(0, len(self))

    def _gather(self, start: int, count: int) -> np.ndarray:
        """Keys, in the set's dtype, at indices ``start .. start + count - 1``."""
        return self._codec.decode(self._raw_gather(start, count))

    def _slice(self, sl: slice) -> np.ndarray:
        with self._held:
            return self._slice_held(sl)

    def _slice_held(self, sl: slice) -> np.ndarray:
        r = range(*sl.indices(len(self)))
        if len(r) == 0:
            return np.empty(0, dtype=self._dtype)
        if r.step == 1:
            return self._gather(r.start, len(r))
        lo = min(r[0], r[-1])
        block = self._gather(lo, abs(r[-1] - r[0]) + 1)
        return np.ascontiguousarray(block[r.start - lo :: r.step])

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        raise NotImplementedError("a SortedSet decides where keys go: use add() and discard()")

    def __delitem__(self, index: Union[int, slice]) -> None:
        """``del s[i]`` or ``del s[i:j:k]``: remove keys by position.

        A negative ``i`` counts from the end; ``IndexError`` when out of
        range.  A slice takes any start, stop and step, as for a list.  A
        contiguous slice (step 1 or -1) is one native call, O(log n +
        chunk_size + removed), plus O(n / chunk_size) to close the gap in
        the per-chunk arrays when whole chunks go (as a split does): the
        chunks wholly inside the run are dropped without reading their keys
        (see :meth:`discard_irange` for the same by key range).  Other steps gather the keys at those positions and
        remove them as one batch, like :meth:`discard_many`.

        Examples
        --------
        >>> s = SortedSet(range(10))
        >>> del s[0]
        >>> del s[-2:]
        >>> del s[::3]
        >>> s.to_numpy()
        array([2, 3, 5, 6])
        """
        if isinstance(index, slice):
            with self._held:
                r = range(*index.indices(len(self)))
                if r.step < 0:
                    r = r[::-1]
                if len(r) == 0:
                    return
                if r.step == 1:
                    self._delete_run(r.start, r.stop)
                    return
                positions = np.arange(r.start, r.stop, r.step, dtype=np.int64)
                keys = np.empty(len(positions), dtype=self._codec.storage)
                self._k.take(self._addr, positions, keys)
                self._discard_raw(keys)  # ascending: positions were
            return
        if type(index) is not int:
            try:
                index = operator.index(index)
            except TypeError:
                raise TypeError(
                    f"SortedSet indices must be integers or slices, not {type(index).__name__}"
                ) from None
        self._delete_at(index, "SortedSet index out of range")

    def _delete_run(self, start: int, stop: int) -> None:
        """Remove the keys at indices ``start .. stop-1`` (``0 <= start < stop <= len``); caller holds the set."""
        if self._k.delete_range(self._addr | OWNER, self._like, start, stop):
            self._store.shrink_if_sparse()

    def index(self, key: Any) -> int:
        """Index of ``key``; ``ValueError`` when absent.  O(log n).

        Examples
        --------
        >>> SortedSet([10, 20, 30]).index(20)
        1
        """
        k = self._key(key)
        try:
            i = self._k.find(self._addr, k)
        except SetBusy:
            i = self._held_call(self._k.find, k)
        if i < 0:
            raise ValueError(f"{key!r} is not in SortedSet")
        return i

    def _queries(self, keys) -> tuple[np.ndarray, tuple]:
        """Query keys of any shape, flattened and checked, plus the shape to give back.

        Like NumPy, a scalar query gives a scalar answer (the callers index the
        reshaped result with ``[()]``).  Queries follow the batch input rules: a
        value the dtype cannot hold raises rather than answering False.
        Structured keys given as Python tuples are a 1-D list of keys (NumPy
        would read a list of tuples as a 2-D array).
        """
        if self._dtype.names is not None and not isinstance(keys, np.ndarray):
            raw = self._batch(keys)
            return raw, raw.shape
        shape = np.shape(keys)
        if len(shape) != 1:
            keys = np.reshape(np.asarray(keys), -1)
        return self._batch(keys), shape

    def _rank(self, queries: np.ndarray, right: bool, values_out: int = 0,
              ascending: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Bisect ranks and membership of every query, in the queries' order.

        A dict's ``values_out`` (an address; 0 for none) gets the value of
        each query found, in the queries' order, from the same search.
        ``ascending``: the caller knows the queries are sorted (no sort here).
        """
        ranks = np.empty(len(queries), dtype=np.int64)
        found = np.empty(len(queries), dtype=np.bool_)
        if _strategy.query(len(queries), self._store.nchunks) == "sweep":
            if ascending:
                perm, ordered = np.arange(len(queries)), queries
            else:
                perm = argsort_keys(queries)
                ordered = take_keys(queries, perm)
            with self._held:
                self._k.rank_sorted(self._addr, ordered, perm, right, ranks, found, values_out)
        else:
            with self._held:
                self._k.rank_each(self._addr, queries, right, ranks, found, values_out)
        return ranks, found

    def contains_many(self, keys: ArrayLike) -> np.ndarray:
        """Membership of every key, as a bool array of the shape of ``keys``.

        Large batches are sorted and answered by one sweep over the chunks.

        Examples
        --------
        >>> SortedSet([1, 2, 3]).contains_many([3, 4])
        array([ True, False])
        """
        q, shape = self._queries(keys)
        return self._rank(q, False)[1].reshape(shape)[()]

    def searchsorted(self, keys: ArrayLike, side: str = "left") -> np.ndarray:
        """Exactly ``np.searchsorted(s.to_numpy(), keys, side)``, without the copy.

        Examples
        --------
        >>> SortedSet([10, 20, 30]).searchsorted([5, 20, 35], side="right")
        array([0, 2, 3])
        """
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        q, shape = self._queries(keys)
        return self._rank(q, side == "right")[0].reshape(shape)[()]

    def index_many(self, keys: ArrayLike) -> np.ndarray:
        """Index of every key, -1 where absent (int64, shape of ``keys``).

        Examples
        --------
        >>> SortedSet([10, 20, 30]).index_many([30, 15])
        array([ 2, -1])
        """
        q, shape = self._queries(keys)
        ranks, found = self._rank(q, False)
        return np.where(found, ranks, -1).reshape(shape)[()]

    def take(self, indices: ArrayLike) -> np.ndarray:
        """Keys at ``indices`` (negative allowed), like ``np.take``; ``IndexError`` out of range.

        Examples
        --------
        >>> SortedSet([10, 20, 30]).take([0, -1])
        array([10, 30])
        """
        shape = np.shape(indices)
        if len(shape) != 1:
            indices = np.reshape(np.asarray(indices), -1)
        idx = as_key_array(indices, np.dtype(np.int64))
        out = np.empty(len(idx), dtype=self._codec.storage)
        with self._held:  # the bounds must still hold when the kernel runs
            n = len(self)
            bad = (idx < -n) | (idx >= n)
            if bad.any():
                raise IndexError(f"index {int(idx[np.argmax(bad)])} is out of bounds for SortedSet of size {n}")
            idx = np.where(idx < 0, idx + n, idx)
            if _strategy.query(len(idx), self._store.nchunks) == "sweep":
                perm = np.argsort(idx)
                self._k.take_sorted(self._addr, idx[perm], perm, out)
            else:
                self._k.take(self._addr, idx, out)
        return self._codec.decode(out).reshape(shape)

    def count(self, key: Any) -> int:
        """1 if ``key`` is in the set, else 0."""
        return int(key in self)

    def bisect_left(self, key: Any) -> int:
        """Number of keys less than ``key``: where it would be inserted.  O(log n).

        Examples
        --------
        >>> SortedSet([10, 20, 30]).bisect_left(20)
        1
        """
        return self._bisect(self._key(key), False)

    def bisect_right(self, key: Any) -> int:
        """Number of keys less than or equal to ``key``.  O(log n).

        Examples
        --------
        >>> SortedSet([10, 20, 30]).bisect_right(20)
        2
        """
        return self._bisect(self._key(key), True)

    def _bisect(self, key: int, right: bool) -> int:
        try:
            return self._k.bisect(self._addr, key, right)
        except SetBusy:
            return self._held_call(self._k.bisect, key, right)

    def _neighbour(self, key, right: bool, step: int):
        """The key at ``bisect(key) + step``, or None; bisect and read under one hold."""
        k = self._key(key)
        with self._held:
            i = self._k.bisect(self._addr | OWNER, k, right) + step
            if i < 0 or i >= len(self):
                return None
            value = self._k.getitem(self._addr | OWNER, self._like, i)
        return value if self._out is None else self._out(value)

    bisect = bisect_right

    def floor(self, key: Any) -> Any:
        """Greatest key <= ``key``, or None.

        Examples
        --------
        >>> s = SortedSet([10, 20])
        >>> s.floor(15), s.floor(20), s.floor(5)
        (10, 20, None)
        """
        return self._neighbour(key, True, -1)

    def ceiling(self, key: Any) -> Any:
        """Least key >= ``key``, or None.

        Examples
        --------
        >>> SortedSet([10, 20]).ceiling(15)
        20
        """
        return self._neighbour(key, False, 0)

    def lower(self, key: Any) -> Any:
        """Greatest key < ``key``, or None.

        Examples
        --------
        >>> SortedSet([10, 20]).lower(20)
        10
        """
        return self._neighbour(key, False, -1)

    def higher(self, key: Any) -> Any:
        """Least key > ``key``, or None.

        Examples
        --------
        >>> SortedSet([10, 20]).higher(10)
        20
        """
        return self._neighbour(key, True, 0)

    def min(self) -> Any:
        """Smallest key; ``ValueError`` when empty."""
        try:
            return self[0]
        except IndexError:
            raise ValueError("min() of an empty SortedSet") from None

    def max(self) -> Any:
        """Largest key; ``ValueError`` when empty."""
        try:
            return self[-1]
        except IndexError:
            raise ValueError("max() of an empty SortedSet") from None

    def irange(
        self,
        minimum: Any = None,
        maximum: Any = None,
        inclusive: tuple[bool, bool] = (True, True),
        reverse: bool = False,
    ) -> np.ndarray:
        """Keys between ``minimum`` and ``maximum`` as an array.  O(log n + k).

        ``None`` leaves that side open; ``inclusive`` says whether each bound
        itself may be returned.

        Examples
        --------
        >>> s = SortedSet(range(10))
        >>> s.irange(3, 6)
        array([3, 4, 5, 6])
        >>> s.irange(3, 6, inclusive=(False, False), reverse=True)
        array([5, 4])
        """
        bounds = self._bounds(minimum, maximum, inclusive)
        with self._held:
            start, stop = self._positions(*bounds)
            out = self._gather(start, stop - start)
        return out[::-1].copy() if reverse else out

    def discard_irange(
        self,
        minimum: Any = None,
        maximum: Any = None,
        inclusive: tuple[bool, bool] = (True, True),
    ) -> tuple[int, int]:
        """Remove every key between ``minimum`` and ``maximum``; return ``(start, stop)``.

        The bounds mean what they mean for :meth:`irange`.  ``(start, stop)``
        is the index range the removed keys had before the call, so two
        integers describe the whole change ("rows start..stop-1 are gone");
        ``start == stop`` when nothing was removed, at the index where such
        keys would have been.  One native call for the run, costing what
        ``del s[start:stop]`` costs: the chunks wholly inside the range are
        dropped without reading their keys.  Bounds are checked before
        anything changes.

        Examples
        --------
        >>> s = SortedSet(range(0, 100, 10))
        >>> s.discard_irange(15, 40)
        (2, 5)
        >>> s.discard_irange(maximum=0, inclusive=(True, False))
        (0, 0)
        >>> s.to_numpy()
        array([ 0, 10, 50, 60, 70, 80, 90])
        """
        bounds = self._bounds(minimum, maximum, inclusive)
        with self._held:
            start, stop = self._positions(*bounds)
            if stop > start:
                self._delete_run(start, stop)
        return start, stop

    def _bounds(self, minimum, maximum, inclusive) -> tuple:
        """Range bounds as storage keys (None: open) and inclusivity flags, checked before any change."""
        try:
            lo_inc, hi_inc = inclusive
        except (TypeError, ValueError):
            raise TypeError(f"inclusive must be a pair of bools (minimum, maximum), not {inclusive!r}") from None
        lo = None if minimum is None else self._key(minimum)
        hi = None if maximum is None else self._key(maximum)
        return lo, hi, bool(lo_inc), bool(hi_inc)

    def _positions(self, lo, hi, lo_inc: bool, hi_inc: bool) -> tuple[int, int]:
        """``(start, stop)``, the indices of the keys within the bounds; the caller holds the set.

        ``stop >= start``: bounds that cross (``minimum > maximum``) give an
        empty range at ``minimum``'s place.
        """
        start = 0 if lo is None else self._k.bisect(self._addr | OWNER, lo, not lo_inc)
        stop = len(self) if hi is None else self._k.bisect(self._addr | OWNER, hi, hi_inc)
        return start, max(start, stop)

    # ---------------------------------------------------------- set algebra
    # One kernel walks both operands' chunks in key order and writes the
    # result's chunk rows as a bulk build lays them out
    # (jitset._algebra_kernels.combine).  ``other`` may be a SortedSet or any
    # array-like of keys that the set's dtype holds exactly; an array is
    # sorted and walked as one chunk (SortedRun), not copied into chunks.  The
    # result has the dtype and chunk size of ``self``.  In-place forms keep
    # the set's header, so compiled code holding the set stays valid; with a
    # small operand they edit the chunks the keys land in (the batch
    # kernels), otherwise they adopt the walk's new storage.

    def _walkable(self, other) -> Union["SortedSet", SortedRun]:
        """``other`` as an operand of the walks: a SortedSet of the same dtype, or a SortedRun."""
        if self._same_kind(other):
            return other
        if isinstance(other, SortedSet):
            return SortedRun(self._batch(other.to_numpy()))  # an exact conversion keeps ascending order
        return SortedRun(sort_unique(self._batch(other)))

    def _combine(self, op: int, a: Union["SortedSet", Storage], b: Union["SortedSet", SortedRun]) -> Storage:
        """A new storage holding ``a op b`` (``a`` is the set or a storage made by an earlier step).

        The caller holds the sets among ``a`` and ``b``.
        """
        a, b = _walked(a), _walked(b)
        na, nb = a.size, b.size
        bound = {_UNION: na + nb, _INTERSECTION: min(na, nb), _DIFFERENCE: na}.get(op, na + nb)
        dest = Storage(self._codec.storage, self.chunk_size, rows_for(bound, self.chunk_size))
        self._k.combine(a.address, b.address, op, dest.address, self._like)
        dest.trim()
        return dest

    def _combined(self, op: int, others) -> "SortedSet":
        """A new set: ``self op other`` for each of ``others`` in turn."""
        operands = [self._walkable(other) for other in others]  # all converted before any kernel runs
        with _holding(self, *operands):
            result = self
            for b in operands:
                result = self._combine(op, result, b)
        if result is self:  # no operands: a copy
            result = self._combine(_UNION, self, SortedRun(np.empty(0, dtype=self._codec.storage)))
        new = type(self).__new__(type(self))
        new._setup(result, self._dtype)
        return new

    def _update(self, op: int, others) -> None:
        """``self op= other`` for each of ``others`` in turn, keeping the header."""
        operands = [self._walkable(other) for other in others]  # all converted before any change
        with _holding(self, *operands):
            for b in operands:
                m = _walked(b).size
                if op == _INTERSECTION or _strategy.in_place(_OP_NAMES[op], m, len(self)) == "combine":
                    self._store.take_over(self._combine(op, self, b))
                    continue
                raw = b._raw() if isinstance(b, SortedSet) else b.raw()
                if op == _UNION:
                    self._add_sorted(raw)
                elif op == _DIFFERENCE:
                    self._discard_raw(raw)
                else:  # symmetric difference: out with the keys present, in with the others
                    found = self._rank(raw, False)[1]
                    self._replace_raw(raw[found], raw[~found])

    def union(self, *others: Iterable[Any]) -> "SortedSet":
        """Keys in the set or in any of ``others``: a new set (``s | other``).

        O(n + m) for each operand in turn, at memory speed: one walk over
        both sides' chunks, copying runs whole where one side's keys come in
        runs (disjoint ranges, a small operand).  An operand that is not a
        SortedSet of the same dtype is first converted and sorted,
        O(m log m).

        Examples
        --------
        >>> SortedSet([1, 3]).union([2, 3], SortedSet([9])).to_numpy()
        array([1, 2, 3, 9])
        """
        return self._combined(_UNION, others)

    def intersection(self, *others: Iterable[Any]) -> "SortedSet":
        """Keys in the set and in every one of ``others``: a new set (``s & other``).

        O(n + m) for operands of similar sizes; with a small operand of m
        keys, O(m log n): the walk searches its way through the large one.

        Examples
        --------
        >>> SortedSet([1, 2, 3]).intersection([2, 3, 4]).to_numpy()
        array([2, 3])
        """
        return self._combined(_INTERSECTION, others)

    def difference(self, *others: Iterable[Any]) -> "SortedSet":
        """Keys in the set and in none of ``others``: a new set (``s - other``).

        O(n + m); with a small operand of m keys, the copy of the set's
        keys (runs, at memory speed) plus O(m log n).

        Examples
        --------
        >>> SortedSet([1, 2, 3]).difference([2]).to_numpy()
        array([1, 3])
        """
        return self._combined(_DIFFERENCE, others)

    def symmetric_difference(self, other: Iterable[Any]) -> "SortedSet":
        """Keys in exactly one of the set and ``other``: a new set (``s ^ other``).  O(n + m).

        Examples
        --------
        >>> SortedSet([1, 2]).symmetric_difference([2, 3]).to_numpy()
        array([1, 3])
        """
        return self._combined(_SYMMETRIC_DIFFERENCE, (other,))

    def update(self, *others: Iterable[Any]) -> None:
        """Add the keys of every one of ``others`` (``s |= other``; :meth:`add_many` reports indices).

        A small operand (see :func:`jitset._strategy.in_place`) is merged
        into the chunks its keys land in, O(m log n + chunks touched);
        a large one by one walk into new chunks, O(n + m).  Every operand
        is converted before the set changes: a bad one leaves it as it was.

        Examples
        --------
        >>> s = SortedSet([1, 5])
        >>> s.update([3], SortedSet([7]))
        >>> s.to_numpy()
        array([1, 3, 5, 7])
        """
        self._update(_UNION, others)

    def difference_update(self, *others: Iterable[Any]) -> None:
        """Remove the keys of every one of ``others`` (``s -= other``; :meth:`discard_many` reports indices).

        As :meth:`update`: a small operand edits the chunks in place, a
        large one is one walk.

        Examples
        --------
        >>> s = SortedSet([1, 3, 5])
        >>> s.difference_update([3, 4])
        >>> s.to_numpy()
        array([1, 5])
        """
        self._update(_DIFFERENCE, others)

    def intersection_update(self, *others: Iterable[Any]) -> None:
        """Keep only keys found in every one of ``others`` (``s &= other``).

        One walk into new chunks, O(n + m), or O(m log n) for a small
        operand of m keys.

        Examples
        --------
        >>> s = SortedSet([1, 3, 5])
        >>> s.intersection_update([5, 1, 2])
        >>> s.to_numpy()
        array([1, 5])
        """
        self._update(_INTERSECTION, others)

    def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        """Keep the keys in exactly one of the set and ``other`` (``s ^= other``).

        Examples
        --------
        >>> s = SortedSet([1, 3])
        >>> s.symmetric_difference_update([3, 4])
        >>> s.to_numpy()
        array([1, 4])
        """
        self._update(_SYMMETRIC_DIFFERENCE, (other,))

    # ----------------------------------------------------------- comparisons
    # The meaning they have for built-in sets: ``other``'s elements count by
    # value, as ``in`` decides, and an element the dtype cannot hold (a str in
    # an int set, 1.5 in an int set) is simply not in the set, never an error.
    # One kernel (all_in) walks the keys of one side in order, galloping
    # through the other; anything but a SortedSet of the same dtype is
    # converted once to sorted storage keys and walked as one chunk.

    def _same_kind(self, other) -> bool:
        return isinstance(other, SortedSet) and other._dtype == self._dtype

    def _elements(self, other) -> tuple[SortedRun, int]:
        """``other``'s distinct keys as a SortedRun, and how many of its elements the dtype cannot hold."""
        if isinstance(other, SortedSet):
            other = other.to_numpy()
        values = other if isinstance(other, np.ndarray) else list(other)
        try:
            return SortedRun(sort_unique(self._batch(values))), 0
        except (TypeError, ValueError, OverflowError):
            pass  # some element does not fit: sort them out one by one
        fit = []
        for value in values:
            try:
                fit.append(self._codec.key(value))
            except (TypeError, ValueError, OverflowError):
                pass
        raw = np.array(fit, dtype=self._codec.storage)
        return SortedRun(sort_unique(raw)), len(values) - len(fit)

    def _all_in(self, a: Union["SortedSet", SortedRun], b: Union["SortedSet", SortedRun], present: bool) -> bool:
        """Whether every key of ``a`` is (``present``) or none is (not ``present``) in ``b``."""
        with _holding(a, b):
            return bool(self._k.all_in(_walked(a).address, _walked(b).address, self._like, present))

    def _subset_of(self, other: "SortedSet", equal: bool = False) -> bool:
        """Whether every key of the set is in ``other`` (same dtype), and for ``equal`` also as many."""
        with _holding(self, other):
            n, m = len(self), len(other)
            if n > m or (equal and n != m):
                return False
            return self._all_in(self, other, True)

    def issubset(self, other: Iterable[Any]) -> bool:
        """Whether every key of the set is in ``other``, any iterable (``s <= other`` for sets).

        O(n + m) against a SortedSet of the same dtype (a merge walk that
        stops at the first miss); otherwise O(m log m) to sort ``other``'s
        keys first.

        Examples
        --------
        >>> SortedSet([1, 2]).issubset([3, 2, 1]), SortedSet([1, 2]).issubset({1, "a"})
        (True, False)
        """
        if self._same_kind(other):
            return self._subset_of(other)
        run, _ = self._elements(other)  # outside the hold: ``other`` may be any user iterable
        return self._all_in(self, run, True)

    def issuperset(self, other: Iterable[Any]) -> bool:
        """Whether every element of ``other``, any iterable, is in the set (``s >= other`` for sets).

        Examples
        --------
        >>> SortedSet([1, 2, 3]).issuperset([3, 1]), SortedSet([1]).issuperset([1, "a"])
        (True, False)
        """
        if self._same_kind(other):
            return other._subset_of(self)
        run, foreign = self._elements(other)
        return foreign == 0 and self._all_in(run, self, True)

    def isdisjoint(self, other: Iterable[Any]) -> bool:
        """Whether no element of ``other``, any iterable, is in the set.

        A walk over the smaller side's keys, galloping through the larger:
        O(m log(n / m)) for m <= n keys, stopping at the first common key.

        Examples
        --------
        >>> SortedSet([1, 2]).isdisjoint([3, "a"]), SortedSet([1, 2]).isdisjoint(range(2))
        (True, False)
        """
        b = other if self._same_kind(other) else self._elements(other)[0]
        with _holding(self, b):
            small, large = (self, b) if len(self) <= _walked(b).size else (b, self)
            return self._all_in(small, large, False)

    def __eq__(self, other: object) -> bool:
        """``s == other``: for any ``collections.abc.Set``, the same elements (by value, like ``set``).

        Against anything else (a list, an array) ``==`` is False, as for a
        built-in set; a SortedSet is never equal to a sequence of its keys.
        """
        if isinstance(other, Set):
            if self._same_kind(other):
                return self._subset_of(other, equal=True)
            return len(self) == len(other) and self.issubset(other)
        if isinstance(other, np.ndarray):
            return False  # NotImplemented would let NumPy compare element-wise
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Set):
            return NotImplemented
        return len(self) <= len(other) and self.issubset(other)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Set):
            return NotImplemented
        return len(self) < len(other) and self.issubset(other)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Set):
            return NotImplemented
        return len(self) >= len(other) and self.issuperset(other)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Set):
            return NotImplemented
        return len(self) > len(other) and self.issuperset(other)

    @staticmethod
    def _operand(other) -> bool:
        """Operators accept sets and array-likes, like sortedcontainers; not strings or scalars."""
        return isinstance(other, (Set, list, tuple, range, np.ndarray))

    def __or__(self, other: Iterable[Any]) -> "SortedSet":
        return self.union(other) if self._operand(other) else NotImplemented

    def __and__(self, other: Iterable[Any]) -> "SortedSet":
        return self.intersection(other) if self._operand(other) else NotImplemented

    def __sub__(self, other: Iterable[Any]) -> "SortedSet":
        return self.difference(other) if self._operand(other) else NotImplemented

    def __xor__(self, other: Iterable[Any]) -> "SortedSet":
        return self.symmetric_difference(other) if self._operand(other) else NotImplemented

    __ror__ = __or__
    __rand__ = __and__
    __rxor__ = __xor__

    def __rsub__(self, other: Iterable[Any]) -> "SortedSet":
        if not self._operand(other):
            return NotImplemented
        return SortedSet(other, dtype=self._dtype, chunk_size=self.chunk_size).difference(self)

    def __ior__(self, other: Iterable[Any]) -> "SortedSet":
        if not self._operand(other):
            return NotImplemented
        self.update(other)
        return self

    def __iand__(self, other: Iterable[Any]) -> "SortedSet":
        if not self._operand(other):
            return NotImplemented
        self.intersection_update(other)
        return self

    def __isub__(self, other: Iterable[Any]) -> "SortedSet":
        if not self._operand(other):
            return NotImplemented
        self.difference_update(other)
        return self

    def __ixor__(self, other: Iterable[Any]) -> "SortedSet":
        if not self._operand(other):
            return NotImplemented
        self.symmetric_difference_update(other)
        return self

    # ----------------------------------------------------- whole-set access

    def __iter__(self) -> Iterator[Any]:
        """Keys in ascending order.  Mutating the set meanwhile raises RuntimeError."""
        return self._blocks(0, len(self), reverse=False)

    def __reversed__(self) -> Iterator[Any]:
        """Keys in descending order.  Mutating the set meanwhile raises RuntimeError."""
        return self._blocks(0, len(self), reverse=True)

    def islice(self, start: Optional[int] = None, stop: Optional[int] = None, reverse: bool = False) -> Iterator[Any]:
        """An iterator over the keys at indices ``start`` to ``stop - 1``, like ``itertools.islice(s, start, stop)``.

        sortedcontainers' semantics: negative indices count from the end,
        out-of-range ones are clipped, and ``start >= stop`` gives nothing;
        ``reverse`` yields the same keys from the last to the first.  Keys are
        copied out a block at a time, as by ``iter(s)``; mutating the set
        after the call raises RuntimeError at the next block or at the end.
        O(log n) to start, then O(1) per key.

        Examples
        --------
        >>> s = SortedSet(range(10))
        >>> list(s.islice(2, 5)), list(s.islice(-3, reverse=True))
        ([2, 3, 4], [9, 8, 7])
        """
        first, last, _ = slice(start, stop).indices(len(self))
        return self._blocks(first, max(first, last), bool(reverse))

    def _blocks(self, start: int, stop: int, reverse: bool) -> Iterator[Any]:
        # Taken now, not at the first next(): an iterator made before a
        # mutation reports it, as dict's do.
        return self._iterate(self._store, self._store.version, start, stop, reverse)

    def _iterate(self, store: Storage, version: int, start: int, stop: int, reverse: bool) -> Iterator[Any]:
        # Keys are copied out a block at a time; the version counter that every
        # mutation bumps (in the kernels, and on every storage swap) is compared
        # before each block and at the end, so a mutation is reported no later
        # than the end of the current block, like dict's "changed size during
        # iteration", and no key is ever read from a changed layout.
        starts = range(start, stop, _ITER_BLOCK)
        for first in reversed(starts) if reverse else starts:
            with self._held:
                # checked *before* copying: the block bounds come from the old size,
                # and gather trusts them (a shrunk set would be read out of bounds)
                if store.version != version:
                    raise RuntimeError("SortedSet changed during iteration")
                block = self._gather(first, min(_ITER_BLOCK, stop - first))
            yield from self._codec.to_python(block[::-1] if reverse else block)
        if store.version != version:
            raise RuntimeError("SortedSet changed during iteration")

    def to_numpy(self) -> np.ndarray:
        """All keys, ascending, as a new array of the set's dtype.  O(n).

        Examples
        --------
        >>> SortedSet([3, 1, 2]).to_numpy()
        array([1, 2, 3])
        """
        return self._codec.decode(self._raw())

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.to_numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def copy(self) -> "SortedSet":
        """An independent copy with the same keys, dtype and chunk size.  O(n)."""
        return type(self)._from_sorted_unique(self._raw(), self.chunk_size, self._dtype)

    __copy__ = copy

    def __deepcopy__(self, memo) -> "SortedSet":
        return self.copy()

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        show = self._codec.to_python
        with self._held:
            n = len(self)
            if n <= 10:
                body = ", ".join(map(repr, show(self.to_numpy())))
            else:
                head = ", ".join(map(repr, show(self._gather(0, 5))))
                tail = ", ".join(map(repr, show(self._gather(n - 3, 3))))
                body = f"{head}, ..., {tail}"
        name = self._dtype.name if self._dtype.names is None else str(self._dtype)
        return f"SortedSet([{body}], dtype={name}, len={n})"

    def __reduce__(self) -> tuple:
        return (_rebuild, (self._dtype, self.chunk_size, self.to_numpy()))

    # ---------------------------------------------------------- persistence

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the set to exactly ``path`` (no extension added), atomically.

        The format (see :mod:`jitset._persist`) is a versioned header with the
        dtype, count, chunk size and a CRC-32 of the keys, then the keys.  The
        file is written beside ``path`` and renamed over it, so a crash
        mid-save leaves any previous file intact.  O(n).

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "ids.jitset")
        >>> SortedSet([3, 1, 2]).save(path)
        >>> SortedSet.load(path).to_numpy()
        array([1, 2, 3])
        """
        _persist.write(path, self.to_numpy(), self.chunk_size)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], mmap_mode: Optional[str] = None) -> "SortedSet":
        """Read a set written by :meth:`save`, validating everything first.

        ``ValueError`` (never a crash, never a wrong set) for a truncated,
        corrupted, reordered or foreign file: the magic, version, header,
        dtype, key count, checksum and strict order are all checked before
        any kernel sees a key.  ``mmap_mode="r"`` maps the key bytes instead
        of reading them into a buffer; the set itself is still built in
        memory, because chunked storage cannot point into a flat file
        without a copy.  O(n).
        """
        dtype, chunk, keys = _persist.read(path, mmap_mode)
        try:
            return cls.from_sorted(keys, dtype=dtype, chunk_size=chunk)
        except (TypeError, OverflowError, ValueError, NotImplementedError) as exc:
            raise ValueError(f"{os.fspath(path)!r} is not a valid jitset file: {exc}") from None

    # ----------------------------------------------------------- properties

    @property
    def dtype(self) -> np.dtype:
        """The key dtype."""
        return self._dtype

    @property
    def chunk_size(self) -> int:
        """Keys per chunk."""
        return self._store.chunk

    @property
    def _serialized(self) -> bool:
        """Whether this set's scalar calls serialize themselves (no GIL; see :mod:`jitset._gil`)."""
        return bool(self._store.header[H_SERIAL])

    @property
    def nbytes(self) -> int:
        """Bytes held by the set's arrays (allocated, including free room)."""
        return self._store.nbytes

    # ------------------------------------------------------------ checking

    def _check(self) -> None:
        """Verify every internal invariant; ``AssertionError`` on the first violation.

        Written with NumPy rather than kernels, so that it checks the kernels'
        work by independent code.  O(n).
        """
        with self._held:
            self._check_held()

    def _check_held(self) -> None:
        st = self._store
        h = st.header
        chunk, nchunks, size, cap = st.chunk, st.nchunks, st.size, st.cap
        assert h[H_CAP] == cap == st.keys.shape[0], "header capacity disagrees with the arrays"
        assert h[H_BUSY] == 1 and self._held.depth >= 1, "the busy flag is not this check's hold"
        assert h[H_SERIAL] in (0, 1), f"thread mode {h[H_SERIAL]} is neither 0 nor 1"
        assert st.address == self._addr == h.ctypes.data, "header address changed"
        for slot, arr in enumerate((st.keys, st.fences, st.counts, st.order, st.tree)):
            assert h[slot] == arr.ctypes.data, f"header slot {slot} does not point at its array"
            assert arr.flags.c_contiguous, f"array {slot} is not contiguous"
        assert st.keys.shape[1] == chunk, "keys rows are not chunk_size wide"
        width = int(h[H_VWIDTH])
        assert st.values.shape == (cap, chunk * width), "values are not chunk_size values wide, cap rows"
        assert width == 0 or h[H_VALUES] == st.values.ctypes.data, "header does not point at the values"
        assert 1 <= nchunks <= cap, f"nchunks {nchunks} outside 1..{cap}"
        counts = st.counts[:nchunks]
        order = st.order[:nchunks]
        assert np.array_equal(np.sort(order), np.arange(nchunks)), "order is not a permutation of the used rows"
        assert int(counts.sum()) == size, f"counts sum to {int(counts.sum())}, size is {size}"
        assert (counts <= chunk).all(), "a chunk holds more than chunk_size keys"
        if nchunks > 1:
            low = int(_kernels.min_fill(chunk))
            assert (counts >= low).all(), f"a chunk holds fewer than {low} keys while there are several chunks"
        else:
            assert size == counts[0], "single chunk count mismatch"
        # Fenwick tree: node i sums counts over (i - lowbit(i), i]
        prefix = np.concatenate(([0], np.cumsum(counts)))
        nodes = np.arange(1, nchunks + 1)
        expected = prefix[nodes] - prefix[nodes - (nodes & -nodes)]
        assert np.array_equal(st.tree[1 : nchunks + 1], expected), "Fenwick tree disagrees with counts"
        if size == 0:
            return
        rows = st.keys[order]
        mask = np.arange(chunk)[None, :] < counts[:, None]
        flat = rows[mask]  # row-major: chunks in position order, each in offset order
        assert len(flat) == size
        assert increasing(flat).all(), "keys are not strictly increasing across and within chunks"
        last = rows[np.arange(nchunks), counts - 1]
        assert np.array_equal(st.fences[:nchunks], last), "a fence is not its chunk's last key"


def _walked(x: Union[SortedSet, Storage, SortedRun]) -> Union[Storage, SortedRun]:
    """What the algebra kernels walk for an operand: a set's storage, or the
    storage or SortedRun itself (each has ``.address`` and ``.size``)."""
    return x._store if isinstance(x, SortedSet) else x


@contextlib.contextmanager
def _holding(*operands):
    """Hold the sets among ``operands`` (SortedRuns need no lock), always in the
    same order (by header address), so that two threads comparing ``a <= b``
    and ``b <= a`` cannot deadlock."""
    sets = sorted({id(x): x for x in operands if isinstance(x, SortedSet)}.values(), key=lambda x: x._addr)
    if len(sets) == 1:  # the common cases without an ExitStack's few microseconds
        with sets[0]._held:
            yield
    elif len(sets) == 2:
        with sets[0]._held, sets[1]._held:
            yield
    else:
        with contextlib.ExitStack() as stack:
            for x in sets:
                stack.enter_context(x._held)
            yield


register_class(SortedSet)  # SortedSet(...) in compiled code, and typeof for numba

# sortedcontainers' SortedSet is both; registering (rather than inheriting)
# keeps the mixins' generic methods from standing in for the fast ones.
MutableSet.register(SortedSet)
Sequence.register(SortedSet)


def _address(values: Optional[np.ndarray]) -> int:
    """The address of a batch's values (C-contiguous bytes), or 0 for none (a set's batch)."""
    return 0 if values is None else values.ctypes.data


def _rebuild(dtype, chunk: int, keys: np.ndarray) -> SortedSet:
    """Unpickle: the keys are trusted only after the same checks as from_sorted."""
    return SortedSet.from_sorted(keys, dtype=np.dtype(dtype), chunk_size=chunk)
