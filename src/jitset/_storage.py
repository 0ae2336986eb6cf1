"""The arrays behind one set, and their (re)allocation.

A :class:`Storage` owns seven NumPy arrays and an int64 *header* that records
their addresses and shapes (slot names in :mod:`jitset._plumbing`).  The
seventh holds a dict's values, as raw bytes beside their keys (no columns for
a set): kernels move them with the keys, whatever their dtype.  Kernels
receive only the header's address.  Every reallocation goes through
:meth:`Storage._adopt`, which rewrites the header, so a kernel never sees a
freed array.
"""

from __future__ import annotations

import numpy as np

from jitset import _gil, _kernels
from jitset._entry_points import entry_points
from jitset._plumbing import (
    H_CAP,
    H_CHUNK,
    H_COUNTS,
    H_FENCES,
    H_KEYS,
    H_NCHUNKS,
    H_ORDER,
    H_SERIAL,
    H_SIZE,
    H_TABLE,
    H_TREE,
    H_VALUES,
    H_VERSION,
    H_VWIDTH,
    HEADER_LEN,
)


def _point_header(h: np.ndarray, keys, fences, counts, order, tree, values) -> None:
    """Write the arrays' addresses and the row count into the header ``h``."""
    h[H_VALUES] = values.ctypes.data
    h[H_KEYS] = keys.ctypes.data
    h[H_FENCES] = fences.ctypes.data
    h[H_COUNTS] = counts.ctypes.data
    h[H_ORDER] = order.ctypes.data
    h[H_TREE] = tree.ctypes.data
    h[H_CAP] = keys.shape[0]


class Storage:
    """Chunk arrays of one set.

    Attributes
    ----------
    keys : ndarray, shape (cap, chunk)
        Rows of sorted keys; row ``order[p]`` holds chunk position ``p``.
    fences, counts, order : ndarray, shape (cap,)
        Per position: last key, number of keys, row.
    tree : ndarray, shape (cap + 1,)
        Fenwick tree over ``counts``.
    values : ndarray of uint8, shape (cap, chunk * value_width)
        The value of ``keys[r, c]`` is ``values[r, c * w:(c + 1) * w]``
        (``w = value_width``, 0 for a set).
    header : ndarray of int64, shape (HEADER_LEN,)
        Addresses, shapes and counters; ``address`` is where kernels find it.
    """

    __slots__ = ("keys", "fences", "counts", "order", "tree", "values", "header", "address")

    def __init__(self, dtype: np.dtype, chunk: int, cap: int, value_width: int = 0) -> None:
        self.header = np.zeros(HEADER_LEN, dtype=np.int64)
        self.address = self.header.ctypes.data
        self.header[H_CHUNK] = chunk
        self.header[H_VWIDTH] = value_width
        self.header[H_NCHUNKS] = 1
        self.header[H_SERIAL] = _gil.SERIALIZED  # for life: a set never changes thread mode
        self.header[H_TABLE] = entry_points(dtype).table_address  # for compiled callers
        # Keys are only ever read below counts[p], so they need no zero-filling.
        self._adopt(
            np.empty((cap, chunk), dtype=dtype),
            np.empty(cap, dtype=dtype),
            np.zeros(cap, dtype=np.int64),
            np.zeros(cap, dtype=np.int64),
            np.zeros(cap + 1, dtype=np.int64),
            np.empty((cap, chunk * value_width), dtype=np.uint8),
        )

    def _adopt(self, keys, fences, counts, order, tree, values) -> None:
        self.keys, self.fences, self.counts, self.order, self.tree = keys, fences, counts, order, tree
        self.values = values
        _point_header(self.header, keys, fences, counts, order, tree, values)

    @property
    def chunk(self) -> int:
        return int(self.header[H_CHUNK])

    @property
    def nchunks(self) -> int:
        return int(self.header[H_NCHUNKS])

    @property
    def size(self) -> int:
        return int(self.header[H_SIZE])

    @property
    def version(self) -> int:
        return int(self.header[H_VERSION])

    @property
    def cap(self) -> int:
        return int(self.keys.shape[0])

    @property
    def value_width(self) -> int:
        return int(self.header[H_VWIDTH])

    @property
    def nbytes(self) -> int:
        arrays = (self.keys, self.fences, self.counts, self.order, self.tree, self.values, self.header)
        return sum(a.nbytes for a in arrays)

    def resize(self, cap: int) -> None:
        """Reallocate to ``cap`` rows (at least the rows in use), keeping the content."""
        used = self.nchunks
        cap = max(cap, used)
        keys = np.empty((cap, self.chunk), dtype=self.keys.dtype)
        keys[:used] = self.keys[:used]
        fences = np.empty(cap, dtype=self.fences.dtype)
        counts = np.zeros(cap, dtype=np.int64)
        order = np.zeros(cap, dtype=np.int64)
        tree = np.zeros(cap + 1, dtype=np.int64)
        fences[:used] = self.fences[:used]
        counts[:used] = self.counts[:used]
        order[:used] = self.order[:used]
        tree[: used + 1] = self.tree[: used + 1]
        values = np.empty((cap, self.values.shape[1]), dtype=np.uint8)
        values[:used] = self.values[:used]
        self._adopt(keys, fences, counts, order, tree, values)

    def take_over(self, other: "Storage") -> None:
        """Adopt ``other``'s arrays and content, keeping this header (and its address)."""
        self._adopt(other.keys, other.fences, other.counts, other.order, other.tree, other.values)
        self.header[H_NCHUNKS] = other.header[H_NCHUNKS]
        self.header[H_SIZE] = other.header[H_SIZE]
        self.header[H_VERSION] += 1

    def grow(self, rows: int = 1) -> None:
        """Room for at least ``rows`` more chunks.

        Growth is geometric, so inserts stay amortised O(1), but by an eighth
        rather than doubling: spare rows are memory held for nothing, while
        copying the arrays (eight times per doubling) costs little next to
        the inserts that filled them.
        """
        self.resize(self.cap + max(rows, self.cap // 8, 2))

    def trim(self) -> None:
        """Give back the rows beyond those a build of this many keys allocates (:func:`rows_for`).

        For storages filled with room for more keys than they got (a set
        operation allocates for its largest possible result).  Shrinking
        is a ``realloc``, usually in place, so the rows kept are rarely
        copied; the pages of the rows given back were never touched.
        """
        rows = rows_for(self.size, self.chunk)
        # Two spare rows more than a build's are not worth a reallocation (and
        # the header's rewrite, ~10 us) on a small result such as big & small.
        if self.cap > rows + 2:
            self.keys.resize((rows, self.chunk), refcheck=False)  # no views of them exist yet
            self.values.resize((rows, self.values.shape[1]), refcheck=False)
            for a in (self.fences, self.counts, self.order):
                a.resize(rows, refcheck=False)
            self.tree.resize(rows + 1, refcheck=False)
            self._adopt(self.keys, self.fences, self.counts, self.order, self.tree, self.values)  # realloc may move them

    def shrink_if_sparse(self) -> None:
        """Give memory back once fewer than a quarter of the rows are in use."""
        if self.cap > 64 and self.nchunks * 4 < self.cap:
            self.resize(self.nchunks * 2)


class SortedRun:
    """An ascending unique array of storage keys seen as a storage of one chunk.

    Kernels that walk two sets (:mod:`jitset._algebra_kernels`) take an
    array operand through one of these: its header points at the array
    itself, so nothing is copied.  Read-only: no kernel may change it.
    """

    __slots__ = ("keys", "fences", "counts", "order", "tree", "values", "header", "address")

    def __init__(self, raw: np.ndarray) -> None:
        n = len(raw)
        self.keys = np.ascontiguousarray(raw).reshape(1, n)
        self.fences = self.keys[0, -1:].copy() if n else np.empty(1, dtype=raw.dtype)
        self.counts = np.array([n], dtype=np.int64)
        self.order = np.zeros(1, dtype=np.int64)
        self.tree = np.array([0, n], dtype=np.int64)
        self.values = np.empty((1, 0), dtype=np.uint8)  # keys only
        self.header = h = np.zeros(HEADER_LEN, dtype=np.int64)
        self.address = h.ctypes.data
        _point_header(h, self.keys, self.fences, self.counts, self.order, self.tree, self.values)
        h[H_CHUNK] = n
        h[H_NCHUNKS] = 1
        h[H_SIZE] = n

    @property
    def size(self) -> int:
        return int(self.header[H_SIZE])

    def raw(self) -> np.ndarray:
        """The keys, as the flat array they came from."""
        return self.keys[0]


def rows_for(n: int, chunk: int, capacity: int | None = None) -> int:
    """Rows to allocate for ``n`` keys now and room for ``capacity`` keys in all.

    A sixteenth of slack so that the inserts following a build do not
    reallocate at once: builds fill chunks to 3/4, which leaves room in every
    chunk too, so splits (the only users of spare rows) start late.  An
    eighth measured 12.09 bytes per int64 key at 10^8 keys, a sixteenth 11.4.
    """
    rows = _kernels.chunks_for(n, chunk)
    if capacity is not None:
        rows = max(rows, _kernels.chunks_for(capacity, chunk))
    return rows + rows // 16 + 1


def build(
    keys: np.ndarray, chunk: int, capacity: int | None = None, values: np.ndarray | None = None
) -> Storage:
    """A storage holding the distinct keys of ``keys`` (ascending, of the key dtype, repeats allowed).

    ``values``: a dict's, a C-contiguous uint8 array of one row per key
    (the first of repeated keys keeps its value).
    """
    width = 0 if values is None else values.shape[1]
    storage = Storage(keys.dtype, chunk, rows_for(len(keys), chunk, capacity), width)
    entry_points(keys.dtype).fill_sorted(storage.address, keys, 0 if values is None else values.ctypes.data)
    needed = rows_for(storage.size, chunk, capacity)
    if storage.cap > 2 * needed:  # many repeats: give the unused rows back
        storage.resize(needed)
    return storage
