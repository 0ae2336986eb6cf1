"""Key validation and conversion at the API boundary.

Nothing reaches a kernel before passing through here: a key that the set's
dtype cannot hold *exactly* is rejected with ``TypeError`` (wrong kind of
value: ``3.5``, ``"a"``, ``None``) or ``OverflowError`` (an integer outside
the dtype's range), and the message names the key and the dtype.  Values are
never wrapped around or truncated.
"""

from __future__ import annotations

import math
import numbers
import operator
import struct

import numpy as np

INTEGER_DTYPES = tuple(
    np.dtype(t) for t in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
)


OTHER_DTYPES = tuple(np.dtype(t) for t in ("float32", "float64", "bool"))


def resolve_dtype(dtype) -> np.dtype:
    """The key dtype for ``dtype``, or an exception saying why jitset cannot store it."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a NumPy dtype: {dtype!r}") from exc
    if resolved.names is not None:  # structured: fields keep their layout
        from jitset._normalized import check_wide

        return check_wide(resolved)
    native = resolved.newbyteorder("=")  # keys are stored in native byte order
    if native in OTHER_DTYPES or native in INTEGER_DTYPES:
        return native
    if native.kind in "Mm" and np.datetime_data(native)[0] != "generic":
        return native
    if native.kind in "SU" and resolved.subdtype is None:
        from jitset._normalized import check_wide

        return check_wide(native)
    raise NotImplementedError(
        f"SortedSet does not support dtype {resolved}; supported: integer dtypes, float32, float64, "
        f"bool, datetime64[unit], timedelta64[unit], S<n>, U<n>, and structured dtypes of those"
    )


class ScalarKey:
    """Checks and converts one key for a given integer dtype.

    ``convert(key)`` returns a Python ``int`` within the dtype's range.  The
    public class inlines the fast path (``type(key) is int`` and in range)
    and calls :meth:`convert` for everything else.
    """

    __slots__ = ("dtype", "lo", "hi")

    def __init__(self, dtype: np.dtype) -> None:
        info = np.iinfo(dtype)
        self.dtype = dtype
        self.lo = int(info.min)
        self.hi = int(info.max)

    def convert(self, key) -> int:
        if isinstance(key, (bool, np.bool_)):
            value = int(key)
        elif isinstance(key, (numbers.Integral, np.integer)):
            value = operator.index(key)
        elif isinstance(key, (numbers.Real, np.floating)):
            f = float(key)
            if not math.isfinite(f) or not f.is_integer():
                raise TypeError(f"key {key!r} is not an integer, so a SortedSet of dtype {self.dtype} cannot hold it")
            if float(key) != key:  # e.g. a Fraction or a float subclass lying about its value
                raise TypeError(f"key {key!r} is not exactly an integer (dtype {self.dtype})")
            value = int(f)
        else:
            raise TypeError(
                f"key {key!r} of type {type(key).__name__} cannot be held by a SortedSet of dtype {self.dtype}"
            )
        if not self.lo <= value <= self.hi:
            raise OverflowError(f"key {key!r} is out of range for dtype {self.dtype} [{self.lo}, {self.hi}]")
        return value

def _first(values: np.ndarray, bad: np.ndarray):
    """The first offending element, for error messages."""
    return values[int(np.argmax(bad))]


def _materialize(values):
    """Arrays, array-likes, lists, tuples and ranges as they are; other iterables as a list.

    A lone ``str`` or ``bytes`` is one key, not a batch of characters: refused.
    """
    if isinstance(values, (str, bytes)):
        raise TypeError(f"keys must be an iterable or array of keys, not a single {type(values).__name__} {values!r}")
    if isinstance(values, (np.ndarray, list, tuple, range)) or hasattr(values, "__array__"):
        return values
    try:
        return list(values)
    except TypeError as exc:
        raise TypeError(f"keys must be an iterable or array-like, not {type(values).__name__}") from exc


def _require_1d(arr: np.ndarray) -> None:
    if arr.ndim != 1:
        raise ValueError(f"keys must be a 1-D array, got {arr.ndim}-D with shape {arr.shape}")


def as_key_array(values, dtype: np.dtype) -> np.ndarray:
    """``values`` as a 1-D C-contiguous array of ``dtype``, checked exactly.

    Accepts any array-like whose elements convert exactly: other integer
    dtypes within range, integral floats, bools, Python ints of any size.
    Raises ``ValueError`` for a 0-d or multi-dimensional input, ``TypeError``
    for non-integer values and ``OverflowError`` for out-of-range ones.
    """
    values = original = _materialize(values)
    if not isinstance(values, np.ndarray):
        with np.errstate(all="ignore"):
            try:
                values = np.asarray(values)
            except (ValueError, OverflowError) as exc:
                raise ValueError(f"keys must form a 1-D array: {exc}") from exc
    _require_1d(values)
    kind = values.dtype.kind
    if not isinstance(original, np.ndarray) and kind not in "biu":
        # NumPy turns a list mixing ints with floats, or small ints with ints
        # beyond 2**63, into float64 (rounding them), and ints with strings
        # into strings: check the original elements one by one instead.
        kind = "O"
    info = np.iinfo(dtype)
    if kind == "b":
        return np.ascontiguousarray(values, dtype=dtype)
    if kind in "iu":
        if len(values) and not np.can_cast(values.dtype, dtype, casting="safe"):
            lo, hi = int(values.min()), int(values.max())
            if lo < info.min or hi > info.max:
                bad = (values < info.min) | (values > info.max)
                raise OverflowError(
                    f"key {_first(values, bad)!r} is out of range for dtype {dtype} [{info.min}, {info.max}]"
                )
        return np.ascontiguousarray(values, dtype=dtype)
    if kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.trunc(values))
        if bad.any():
            raise TypeError(
                f"key {_first(values, bad)!r} is not an integer, so a SortedSet of dtype {dtype} cannot hold it"
            )
        if len(values):
            # compare as Python ints: float(2**63 - 1) rounds up to 2**63
            lo, hi = int(values.min()), int(values.max())
            if lo < info.min or hi > info.max:
                bad = np.array([not info.min <= int(v) <= info.max for v in values.tolist()])
                raise OverflowError(
                    f"key {_first(values, bad)!r} is out of range for dtype {dtype} [{info.min}, {info.max}]"
                )
        return values.astype(dtype)
    if kind == "O":
        # Python ints too large for int64, mixed lists: exact checks element by
        # element (a Python-level loop, but over a Python-level input anyway).
        checker = ScalarKey(dtype)
        return np.array([checker.convert(v) for v in np.asarray(original, dtype=object)], dtype=dtype)
    example = values[0] if len(values) else None
    raise TypeError(f"keys of dtype {values.dtype} (e.g. {example!r}) cannot be held by a SortedSet of dtype {dtype}")


def sort_keys(values: np.ndarray) -> np.ndarray:
    """Storage keys, ascending (repeats kept)."""
    if values.dtype.names is None:
        return np.sort(values)
    from jitset._normalized import argsort_words, take_words

    return take_words(values, argsort_words(values))


def argsort_keys(values: np.ndarray) -> np.ndarray:
    """An ascending order of storage keys of any kind; equal keys in any order.

    Not stable on purpose: queries only need equal keys side by side, and
    NumPy's default argsort is ~2.5x faster than its stable one on int64.
    """
    if values.dtype.names is None:
        return np.argsort(values)
    from jitset._normalized import argsort_words

    return argsort_words(values)


def take_keys(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``values[indices]`` for storage keys of any kind."""
    if values.dtype.names is None:
        return values[indices]
    from jitset._normalized import take_words

    return take_words(values, indices)


def increasing(values: np.ndarray) -> np.ndarray:
    """``values[1:] > values[:-1]`` for storage keys of any kind (storage order is key order)."""
    if values.dtype.names is None:
        return values[1:] > values[:-1]
    from jitset._normalized import increasing_words

    return increasing_words(values)


def sort_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct keys; ``np.unique`` hashes in NumPy 2.x and is ~10x slower than this."""
    if len(values) < 2:
        return values.copy()
    if values.dtype.names is not None:
        from jitset._normalized import sort_unique_words

        return sort_unique_words(values)
    s = np.sort(values)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    if keep.all():  # the usual batch has no repeats: skip the masked copy (~10 ns per key)
        return s
    return s[keep]


# --------------------------------------------------------------------- codecs
# One engine for every dtype: each key is mapped to an unsigned (or, for
# integers and datetimes, signed) integer whose order is the key order, and
# the kernels only ever see those "storage" integers.  Integer dtypes are
# stored as they are (the fast path); the others go through a codec.


class _Codec:
    """What every codec shares: ``fits`` (for ``in``) and ``to_python``."""

    #: Values that are numbers of some kind: ``in`` answers False for those the
    #: dtype cannot hold (3.5 in an int set) and raises TypeError for the rest.
    _numbers: tuple = (numbers.Number, np.generic)

    def key_if_fits(self, key):
        """``self.key(key)``, or None for a value the dtype cannot hold (``in`` answers False).

        A value of the wrong kind altogether (a str for an int set) still raises TypeError.
        """
        try:
            return self.key(key)
        except (OverflowError, ValueError):
            return None
        except TypeError:
            if isinstance(key, self._numbers):
                return None  # a number, just not one this set can hold
            raise

    def fits(self, key) -> bool:
        """Whether ``key`` would be accepted."""
        return self.key_if_fits(key) is not None

    def to_python(self, block: np.ndarray) -> list:
        return block.tolist()


class IntCodec(_Codec):
    """Integer dtypes: stored as they are; scalar results are Python ints."""

    _numbers = (numbers.Number, np.number)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = self.storage = dtype
        self._scalar = ScalarKey(dtype)
        # the public class checks ``type(key) is int and lo <= key <= hi`` inline
        self.lo, self.hi = self._scalar.lo, self._scalar.hi

    def key(self, key) -> int:
        return self._scalar.convert(key)

    def keys(self, values) -> np.ndarray:
        return as_key_array(values, self.dtype)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        return raw

    decode_scalar = None  # storage ints are already the keys


class _NonIntCodec(_Codec):
    """Shared parts of the codecs whose storage differs from the dtype."""

    lo, hi = 1, 0  # an empty range: the inline int fast path never applies

    def _reject(self, key, why: str, exc=TypeError):
        raise exc(f"key {key!r} {why}, so a SortedSet of dtype {self.dtype} cannot hold it")


class FloatCodec(_NonIntCodec):
    """float32/float64 in IEEE total order, as unsigned integers of the same width.

    The sign bit is flipped for positive numbers and every bit for negative
    ones, so unsigned order is numeric order.  ``-0.0`` is stored as ``0.0``
    (they are one key); NaN is rejected with ValueError.
    """

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        bits = dtype.itemsize * 8
        self.storage = np.dtype(f"uint{bits}")
        self._sign = 1 << (bits - 1)
        self._mask = (1 << bits) - 1
        self._ffmt, self._ufmt = ("=d", "=Q") if bits == 64 else ("=f", "=I")
        self._exact_ints = 2 ** (np.finfo(dtype).nmant + 1)  # every int up to this is exact

    def _value(self, key) -> float:
        if isinstance(key, (bool, np.bool_)):
            return float(key)
        if isinstance(key, (numbers.Integral, np.integer)):
            v = operator.index(key)
            f = float(self.dtype.type(v)) if abs(v) < 2**1024 else math.inf
            if math.isinf(f) or int(f) != v:
                self._reject(key, "is not exactly representable as a float", OverflowError if math.isinf(f) else TypeError)
            return f
        if isinstance(key, (numbers.Real, np.floating)):
            f = float(key)
            if math.isnan(f):
                self._reject(key, "is NaN, which has no place in a sorted order", ValueError)
            if float(self.dtype.type(f)) != f and not math.isinf(f):
                self._reject(key, "is not exactly representable at this precision")
            return f
        self._reject(key, f"is a {type(key).__name__}, not a number")

    def key(self, key) -> int:
        f = self._value(key) + 0.0  # -0.0 + 0.0 == 0.0: one key for both zeros
        b = struct.unpack(self._ufmt, struct.pack(self._ffmt, f))[0]
        return (b ^ self._mask) if b & self._sign else (b | self._sign)

    def decode_scalar(self, raw: int) -> float:
        b = (raw ^ self._sign) if raw & self._sign else (raw ^ self._mask)
        return struct.unpack(self._ffmt, struct.pack(self._ufmt, b))[0]

    def keys(self, values) -> np.ndarray:
        values = _materialize(values)
        arr = values if isinstance(values, np.ndarray) else None
        if arr is None:
            arr = np.asarray(values)
            if arr.dtype.kind == "f" and any(type(v) is int for v in values):
                # ints mixed with floats went through float64: check each exactly
                arr = np.asarray(values, dtype=object)
        _require_1d(arr)
        kind = arr.dtype.kind
        if kind == "O":
            cast = np.array([self._value(v) for v in arr.tolist()], dtype=self.dtype)
        elif kind == "f":
            nan = np.isnan(arr)
            if nan.any():
                self._reject(arr[int(np.argmax(nan))], "is NaN, which has no place in a sorted order", ValueError)
            cast = arr.astype(self.dtype)
            inexact = (cast != arr) & np.isfinite(arr)
            if inexact.any():
                self._reject(arr[int(np.argmax(inexact))], "is not exactly representable at this precision")
        elif kind in "iub":
            if kind != "b" and len(arr) and int(np.abs(arr).max()) > self._exact_ints:
                return self.keys(arr.astype(object))  # big ints: exact check one by one
            cast = arr.astype(self.dtype)
        else:
            cast = np.array([self._value(v) for v in np.asarray(values, dtype=object).tolist()], dtype=self.dtype)
        bits = (cast + self.dtype.type(0)).view(self.storage)  # + 0 turns -0.0 into 0.0
        sign = self.storage.type(self._sign)
        return np.where(bits & sign, ~bits, bits | sign)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        sign = self.storage.type(self._sign)
        return np.where(raw & sign, raw ^ sign, ~raw).view(self.dtype)


class DatetimeCodec(_NonIntCodec):
    """datetime64[unit] and timedelta64[unit], stored as their int64 counts.

    NaT is rejected with ValueError (like NaN); values of another unit are
    accepted only when they convert exactly; scalar results are NumPy scalars
    (Python's datetime would drop nanoseconds).
    """

    storage = np.dtype(np.int64)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self._generic = np.dtype(dtype.kind + "8")  # M8 or m8: let NumPy pick the unit

    def _checked(self, arr: np.ndarray, original) -> np.ndarray:
        """``arr`` (datetime-like) cast exactly to the set's dtype."""
        if arr.dtype.kind != self.dtype.kind:
            raise TypeError(f"keys of dtype {arr.dtype} cannot be held by a SortedSet of dtype {self.dtype}")
        nat = np.isnat(arr)
        if nat.any():
            self._reject(np.asarray(original, dtype=object).reshape(-1)[int(np.argmax(nat))] if arr.ndim else original,
                         "is NaT, which has no place in a sorted order", ValueError)
        cast = arr.astype(self.dtype)
        inexact = cast.astype(arr.dtype) != arr
        if np.any(inexact):
            bad = arr.reshape(-1)[int(np.argmax(inexact.reshape(-1)))]
            self._reject(bad, f"is not a whole number of {np.datetime_data(self.dtype)[0]}")
        return cast

    def _array(self, values) -> np.ndarray:
        arr = np.asarray(values)
        if arr.dtype.kind in "fcb":  # NumPy would cast 1.5 to 1 and True to 1: refused, as for scalars
            raise TypeError(f"keys of dtype {arr.dtype} cannot be held by a SortedSet of dtype {self.dtype}")
        if arr.dtype.kind in "iu":  # counts of the set's unit, as NumPy reads them
            return as_key_array(arr.reshape(-1), np.dtype(np.int64)).reshape(arr.shape).view(self.dtype)
        if arr.dtype.kind not in "Mm":
            try:
                arr = np.asarray(values, dtype=self._generic)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"keys {values!r} cannot be held by a SortedSet of dtype {self.dtype}: {exc}") from None
        return self._checked(arr, values)

    def key(self, key) -> int:
        if isinstance(key, (bool, np.bool_, float, np.floating)) or key is None:
            self._reject(key, f"is a {type(key).__name__}, not a {self.dtype}")
        return int(self._array(key).reshape(()).view(np.int64))

    def decode_scalar(self, raw: int):
        return np.array(raw, dtype=np.int64).view(self.dtype)[()]

    def keys(self, values) -> np.ndarray:
        arr = self._array(_materialize(values))
        _require_1d(arr)
        return np.ascontiguousarray(arr).view(np.int64)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        return raw.view(self.dtype)

    def to_python(self, block: np.ndarray) -> list:
        return list(block)  # NumPy scalars: tolist() would round to microseconds


class BoolCodec(_NonIntCodec):
    """bool, stored as uint8 0/1: a set of at most two keys, for completeness."""

    storage = np.dtype(np.uint8)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self._ints = IntCodec(np.dtype(np.uint8))

    def key(self, key) -> int:
        if isinstance(key, (bool, np.bool_)):
            return int(key)
        value = self._ints.key(key)
        if value > 1:
            raise OverflowError(f"key {key!r} is not 0 or 1, so a SortedSet of dtype bool cannot hold it")
        return value

    def keys(self, values) -> np.ndarray:
        raw = self._ints.keys(values)
        if len(raw) and raw.max() > 1:
            raise OverflowError(f"key {raw[int(np.argmax(raw > 1))]!r} is not 0 or 1, so a SortedSet of dtype bool cannot hold it")
        return raw

    def decode_scalar(self, raw: int) -> bool:
        return bool(raw)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        return raw.view(np.bool_)


def codec_for(dtype: np.dtype):
    """The codec of a dtype already resolved by :func:`resolve_dtype`."""
    if dtype.kind in "SU" or dtype.names is not None:
        from jitset._normalized import wide_codec  # it builds on the codecs here

        return wide_codec(dtype)
    if dtype.kind in "iu":
        return IntCodec(dtype)
    if dtype.kind == "f":
        return FloatCodec(dtype)
    if dtype.kind in "Mm":
        return DatetimeCodec(dtype)
    return BoolCodec(dtype)
