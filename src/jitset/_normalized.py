"""Normalized keys: bytes, strings and structured keys as unsigned machine words.

The technique of database sort engines: each key becomes a fixed-width byte
string whose plain byte order (``memcmp``) is the key order, and those bytes,
read big-endian as uint64 *words*, compare like the keys as unsigned word
tuples.  The kernels then serve every dtype from one source:

* a key of at most 8 normalized bytes is one uint64, stored like an integer
  key (the integer fast path: ``S8``, ``U2``, ``(u1, u4)``, ...);
* a wider key is a record of uint64 words ``w0 .. w{W-1}`` (see "wide keys"
  in :mod:`jitset._plumbing` for the compare overloads).

How each field becomes bytes, in key order:

======================  ================================================
field                   normalized bytes
======================  ================================================
unsigned int, bool      big-endian
signed int, datetime,   big-endian with the sign bit flipped (storage of
timedelta               :class:`jitset._keys.DatetimeCodec`: int64 counts)
float                   the order-preserving unsigned int of
                        :class:`jitset._keys.FloatCodec`, big-endian
``S<n>``                the n bytes as NumPy stores them (NUL padded)
``U<n>``                each code point as 3 big-endian bytes (Unicode
                        needs 21 bits, so 3 of UCS-4's 4 bytes suffice)
======================  ================================================

Fields are concatenated in declaration order, so bytes compare field by
field.  NUL padding makes ``S``/``U`` order Python's ``bytes``/``str``
order of the values NumPy reads back (NumPy strips trailing NULs:
``b"ab\\0"`` *is* ``b"ab"`` in an ``S3`` array, and so in this set).
"""

from __future__ import annotations

import functools
import struct

import numpy as np

from jitset._keys import _NonIntCodec, _materialize, _require_1d, codec_for, resolve_dtype
from jitset._entry_points import entry_points
from jitset._plumbing import word_dtype

#: Widest normalized key accepted (bytes); wider keys would make every compare
#: and shift slow, and a hash or a prefix is the better key there.
MAX_KEY_BYTES = 512

_BE64 = np.dtype(">u8")
_str_len = getattr(np, "strings", np.char).str_len  # np.strings is NumPy >= 2; np.char before


def _first_index(bad: np.ndarray) -> int:
    return int(np.argmax(bad))


class _NumberField:
    """An integer, float, bool or datetime field, through its scalar codec."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.codec = codec_for(resolve_dtype(dtype))
        storage = self.codec.storage
        self.width = storage.itemsize
        self._unsigned = np.dtype(f"u{self.width}")
        self._big = self._unsigned.newbyteorder(">")
        # signed storage (ints, datetime counts): flipping the sign bit makes
        # unsigned order signed order
        self._flip = self._unsigned.type(1 << (8 * self.width - 1)) if storage.kind == "i" else None
        self._offset = 0 if self._flip is None else int(self._flip)  # the flip, for Python ints
        self._decode = self.codec.decode_scalar  # None: the storage int is the value

    def storage(self, values) -> np.ndarray:
        return self.codec.keys(values)

    @property
    def layout(self) -> np.dtype:
        """The field's dtype inside a normalized key: big-endian unsigned."""
        return self._big

    def to_layout(self, storage: np.ndarray) -> np.ndarray:
        """Values to assign to the layout field (NumPy swaps the bytes while assigning)."""
        u = storage.view(self._unsigned)
        return u ^ self._flip if self._flip is not None else u

    def from_layout(self, column: np.ndarray) -> np.ndarray:
        u = column.astype(self._unsigned)
        if self._flip is not None:
            u ^= self._flip
        return self.codec.decode(u.view(self.codec.storage))

    def to_python(self, values: np.ndarray) -> list:
        return self.codec.to_python(values)

    # One key at a time, in plain Python: a NumPy round trip costs ~40 us per key.
    def scalar_bytes(self, value) -> bytes:
        codec = self.codec
        if type(value) is int and codec.lo <= value <= codec.hi:  # integer fields: the common case
            v = value
        else:
            v = codec.key(value)  # the storage int, checked exactly
        # + 2**(bits-1) for signed storage: unsigned order is then signed order
        return (v + self._offset).to_bytes(self.width, "big")

    def scalar_value(self, raw: bytes):
        v = int.from_bytes(raw, "big") - self._offset
        return v if self._decode is None else self._decode(v)


class _TextField:
    """A fixed-width ``S<n>`` (bytes) or ``U<n>`` (str) field.

    Values longer than the width raise ValueError: NumPy would truncate them
    silently.  Trailing NULs do not count (NumPy strips them on reading).
    """

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype.newbyteorder("=") if dtype.kind == "U" else dtype
        self.kind = dtype.kind
        self.chars = dtype.itemsize // (4 if self.kind == "U" else 1)
        self.width = self.chars * (3 if self.kind == "U" else 1)
        self._type, self._nul = (str, "\0") if self.kind == "U" else (bytes, b"\0")
        self._name = "str" if self.kind == "U" else "bytes"

    def _too_long(self, value) -> None:
        raise ValueError(
            f"key {value!r} is longer than {self.chars} {'characters' if self.kind == 'U' else 'bytes'}, "
            f"the width of dtype {self.dtype} (it would be truncated)"
        )

    def _check_type(self, value) -> None:
        if not isinstance(value, self._type):
            raise TypeError(
                f"key {value!r} of type {type(value).__name__} is not {self._name}, so dtype {self.dtype} cannot hold it"
            )

    def _fitted(self, value):
        """``value`` without the trailing NULs NumPy drops, or ValueError if still too long."""
        if len(value) > self.chars:
            stripped = value.rstrip(self._nul)
            if len(stripped) > self.chars:
                self._too_long(value)
            return stripped
        return value

    def storage(self, values) -> np.ndarray:
        if isinstance(values, np.ndarray) and values.dtype.kind == self.kind:
            arr = values
        else:
            items = list(np.asarray(values, dtype=object).reshape(-1)) if isinstance(values, np.ndarray) else list(values)
            for value in items:  # every type first, then every length: the same error as before for mixed lists
                self._check_type(value)
            for value in items:
                self._fitted(value)
            return np.array(items, dtype=self.dtype).reshape(-1)
        if arr.dtype.itemsize > self.dtype.itemsize:
            lengths = _str_len(arr)
            bad = lengths > self.chars
            if bad.any():
                self._too_long(arr.reshape(-1)[_first_index(bad.reshape(-1))])
        arr = np.ascontiguousarray(arr, dtype=self.dtype)
        if self.kind == "U" and arr.size:
            # NumPy holds any 32-bit value in a U array (from raw bytes); only
            # Unicode's 21 bits fit the 3-byte encoding, and only they are str
            bad = arr.view(np.uint32).reshape(len(arr), -1) > 0x10FFFF
            if bad.any():
                row = _first_index(bad.any(axis=1))
                raise ValueError(f"the key at position {row} holds a value that is not a Unicode code point")
        return arr

    @property
    def layout(self) -> np.dtype:
        """The field's dtype inside a normalized key: the bytes, or 3 bytes per code point."""
        return self.dtype if self.kind == "S" else np.dtype((np.uint8, (self.width,)))

    def to_layout(self, storage: np.ndarray) -> np.ndarray:
        if self.kind == "S":
            return storage
        points = storage.view(np.uint32).reshape(-1, self.chars)
        out = np.empty((len(points), self.width), dtype=np.uint8)
        out[:, 0::3] = points >> 16
        out[:, 1::3] = (points >> 8) & 0xFF
        out[:, 2::3] = points & 0xFF
        return out

    def from_layout(self, column: np.ndarray) -> np.ndarray:
        if self.kind == "S":
            return np.ascontiguousarray(column)
        r = column.astype(np.uint32)
        points = (r[:, 0::3] << 16) | (r[:, 1::3] << 8) | r[:, 2::3]
        return np.ascontiguousarray(points).view(self.dtype).reshape(-1)

    def to_python(self, values: np.ndarray) -> list:
        return values.tolist()

    def scalar_bytes(self, value) -> bytes:
        self._check_type(value)
        value = self._fitted(value)
        if self.kind == "S":
            return bytes(value).ljust(self.width, b"\0")
        utf32 = value.encode("utf-32-be", "surrogatepass")  # 4 bytes per code point, the first always 0
        return b"".join(utf32[i + 1 : i + 4] for i in range(0, len(utf32), 4)).ljust(self.width, b"\0")

    def scalar_value(self, raw: bytes):
        if self.kind == "S":
            return raw.rstrip(b"\0")  # as NumPy reads S values back
        return "".join(chr(int.from_bytes(raw[i : i + 3], "big")) for i in range(0, len(raw), 3)).rstrip("\0")


def _field(dtype: np.dtype, where: str):
    if dtype.names is not None or dtype.subdtype is not None:
        raise NotImplementedError(f"{where}: nested structures and subarrays are not supported as key fields")
    if dtype.kind in "SU":
        if dtype.itemsize == 0:
            raise TypeError(f"{where}: dtype {dtype} has no width; give one, e.g. S16 or U8")
        return _TextField(dtype)
    if dtype.kind == "V":
        raise NotImplementedError(f"{where}: raw void fields have no order; use S<n> for raw bytes")
    return _NumberField(dtype)


def check_wide(dtype: np.dtype) -> np.dtype:
    """``dtype`` if a :class:`WideCodec` can hold it, else a clear exception.

    Goes through the cache of :func:`wide_codec`, so the set built next reuses this codec.
    """
    wide_codec(dtype)
    return dtype


class WideCodec(_NonIntCodec):
    """Keys of ``S<n>``, ``U<n>`` or a structured dtype, as normalized words.

    ``key`` returns a Python int (one word) or a 1-element array of the
    storage record (several words); ``keys`` a 1-D storage array.  Results
    come back in the set's dtype; scalars as Python ``bytes``/``str`` or, for
    structured keys, tuples of each field's Python value.
    """

    _numbers = ()  # a value of the wrong kind raises TypeError, even in ``in``

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.names = dtype.names
        if self.names is None:
            self.fields = [_field(dtype, f"dtype {dtype}")]
        else:
            if not self.names:
                raise TypeError("a structured key dtype needs at least one field")
            self.fields = [_field(dtype.fields[n][0], f"field {n!r} of {dtype}") for n in self.names]
        self.width = sum(f.width for f in self.fields)
        if self.width > MAX_KEY_BYTES:
            raise NotImplementedError(
                f"keys of dtype {dtype} normalize to {self.width} bytes; at most {MAX_KEY_BYTES} are supported"
            )
        self.words = max(1, -(-self.width // 8))
        self.storage = np.dtype(np.uint64) if self.words == 1 else word_dtype(self.words)
        self._offsets = np.cumsum([0] + [f.width for f in self.fields])[:-1].tolist()
        # The normalized key as a record: each field's bytes at its offset, zero
        # padding up to whole words.  NumPy copies a field per element (not per
        # byte) and swaps integer bytes while assigning into it.
        self._layout = np.dtype({
            "names": [f"f{i}" for i in range(len(self.fields))],
            "formats": [f.layout for f in self.fields],
            "offsets": self._offsets,
            "itemsize": self.words * 8,
        })
        self._big = f">{self.words}Q"
        self._slices = [(f.scalar_value, o, o + f.width) for f, o in zip(self.fields, self._offsets)]

    # ------------------------------------------------------------ encoding

    def _columns(self, values) -> list:
        """Per-field storage arrays of a batch, each checked exactly."""
        if self.names is None:
            if isinstance(values, np.ndarray) and values.dtype.names is not None:
                raise TypeError(f"keys of dtype {values.dtype} cannot be held by a SortedSet of dtype {self.dtype}")
            if not isinstance(values, np.ndarray):
                values = list(values)
            else:
                _require_1d(values)
            return [self.fields[0].storage(values)]
        if isinstance(values, np.ndarray):
            _require_1d(values)
            if values.dtype.names is None or len(values.dtype.names) != len(self.names):
                raise TypeError(
                    f"keys of dtype {values.dtype} cannot be held by a SortedSet of dtype {self.dtype}: "
                    f"give an array with {len(self.names)} fields, or a list of tuples"
                )
            return [f.storage(values[n]) for f, n in zip(self.fields, values.dtype.names)]
        rows = list(values)
        for row in rows:
            if isinstance(row, np.void) and row.dtype.names is not None:
                continue
            if not isinstance(row, tuple) or len(row) != len(self.names):
                raise TypeError(
                    f"key {row!r} is not a tuple of {len(self.names)} fields, "
                    f"so a SortedSet of dtype {self.dtype} cannot hold it"
                )
        if any(isinstance(row, np.void) for row in rows):
            rows = [tuple(row[i] for i in range(len(self.names))) if isinstance(row, np.void) else row for row in rows]
        columns = list(zip(*rows)) if rows else [()] * len(self.names)
        return [f.storage(list(c)) for f, c in zip(self.fields, columns)]

    def _encode(self, columns: list) -> np.ndarray:
        buf = np.zeros(len(columns[0]), dtype=self._layout)  # zero padding sorts first
        for i, (field, column) in enumerate(zip(self.fields, columns)):
            buf[f"f{i}"] = field.to_layout(column)
        words = buf.view(_BE64).astype(np.uint64)  # big-endian words as native ones
        return words if self.words == 1 else words.view(self.storage)

    def keys(self, values) -> np.ndarray:
        return self._encode(self._columns(_materialize(values)))

    def key(self, key):
        """One key: its word as a Python int, or its words as a tuple of ints (see ``_plumbing``)."""
        if self.names is None:
            raw = self.fields[0].scalar_bytes(key)  # checks the type and the length
        else:
            if type(key) is not tuple and isinstance(key, np.void) and key.dtype.names is not None:
                key = tuple(key[i] for i in range(len(key.dtype.names)))
            if not isinstance(key, tuple) or len(key) != len(self.names):
                self._reject(key, f"is not a tuple of {len(self.names)} fields")
            raw = b"".join([f.scalar_bytes(v) for f, v in zip(self.fields, key)])
        raw = raw.ljust(self.words * 8, b"\0")
        if self.words == 1:
            return int.from_bytes(raw, "big")
        return struct.unpack(self._big, raw)

    # ------------------------------------------------------------ decoding

    def decode(self, raw: np.ndarray) -> np.ndarray:
        buf = raw.view(np.uint64).astype(_BE64).view(self._layout)
        if self.names is None:
            return self.fields[0].from_layout(buf["f0"])
        out = np.empty(len(buf), dtype=self.dtype)
        for i, (field, name) in enumerate(zip(self.fields, self.names)):
            out[name] = field.from_layout(buf[f"f{i}"])
        return out

    def decode_scalar(self, raw):
        """The Python value of one storage key (an int, or a tuple of words)."""
        data = raw.to_bytes(8, "big") if self.words == 1 else struct.pack(self._big, *raw)
        if self.names is None:
            return self.fields[0].scalar_value(data[: self.width])
        return tuple([value(data[start:stop]) for value, start, stop in self._slices])

    def to_python(self, block: np.ndarray) -> list:
        if self.names is None:
            return self.fields[0].to_python(block)
        return list(zip(*(f.to_python(block[n]) for f, n in zip(self.fields, self.names))))


# --------------------------------------------------- storage-array helpers
# NumPy cannot order record arrays quickly (or at all, with < and >), so these
# work on the (n, W) uint64 view of the words.


def _words(raw: np.ndarray) -> np.ndarray:
    return raw.view(np.uint64).reshape(len(raw), raw.dtype.itemsize // 8)


def argsort_words(raw: np.ndarray) -> np.ndarray:
    """``np.argsort(raw, kind="stable")`` for a record array of words (lexicographic).

    The first word's high bits and the row number are packed into one uint64
    and sorted by NumPy's SIMD sort; rows whose high bits tie are then
    settled by whole keys in one kernel call (see ``settle_ties``).
    """
    n = len(raw)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    shift = (n - 1).bit_length()
    first = np.ascontiguousarray(_words(raw)[:, 0])
    packed = ((first >> np.uint64(shift)) << np.uint64(shift)) | np.arange(n, dtype=np.uint64)
    packed.sort()
    perm = (packed & np.uint64((1 << shift) - 1)).astype(np.int64)
    entry_points(raw.dtype).settle_ties(raw, perm, packed.view(np.int64), shift)
    return perm


def take_words(raw: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``raw[indices]``: NumPy fancy-indexes records ~10x slower than it takes rows of words."""
    return np.take(_words(raw), indices, axis=0).view(raw.dtype).reshape(-1)


def sort_unique_words(raw: np.ndarray) -> np.ndarray:
    """The distinct keys of a record array of words, ascending."""
    ordered = take_words(raw, argsort_words(raw))
    return ordered[: entry_points(raw.dtype).drop_repeats(ordered)]


def increasing_words(raw: np.ndarray) -> np.ndarray:
    """``raw[1:] > raw[:-1]`` for a record array of words (lexicographic)."""
    w = _words(raw)
    a, b = w[1:], w[:-1]
    differ = a != b
    first = np.argmax(differ, axis=1)  # the first word that differs decides
    rows = np.arange(len(a))
    return differ.any(axis=1) & (a[rows, first] > b[rows, first])


@functools.lru_cache(maxsize=None)
def wide_codec(dtype: np.dtype) -> WideCodec:
    return WideCodec(dtype)
