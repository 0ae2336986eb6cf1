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

import numpy as np

INTEGER_DTYPES = tuple(
    np.dtype(t) for t in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
)


def resolve_dtype(dtype) -> np.dtype:
    """The key dtype for ``dtype``, or ``TypeError`` when jitset cannot store it."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a NumPy dtype: {dtype!r}") from exc
    native = resolved.newbyteorder("=")  # keys are stored in native byte order
    if native not in INTEGER_DTYPES:
        raise NotImplementedError(
            f"SortedSet does not support dtype {resolved} yet; "
            f"supported: {', '.join(str(d) for d in INTEGER_DTYPES)}"
        )
    return native


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

    def fits(self, key) -> bool:
        """Whether ``convert`` would accept ``key`` (used by ``in``, which answers False instead)."""
        try:
            self.convert(key)
        except OverflowError:
            return False
        except TypeError:
            if isinstance(key, (numbers.Number, np.number)):
                return False  # 3.5 is a number, just not one this set can hold
            raise
        return True


def _first(values: np.ndarray, bad: np.ndarray):
    """The first offending element, for error messages."""
    return values[int(np.argmax(bad))]


def as_key_array(values, dtype: np.dtype) -> np.ndarray:
    """``values`` as a 1-D C-contiguous array of ``dtype``, checked exactly.

    Accepts any array-like whose elements convert exactly: other integer
    dtypes within range, integral floats, bools, Python ints of any size.
    Raises ``ValueError`` for a 0-d or multi-dimensional input, ``TypeError``
    for non-integer values and ``OverflowError`` for out-of-range ones.
    """
    original = values
    if not isinstance(values, np.ndarray):
        if not hasattr(values, "__array__") and not isinstance(values, (list, tuple, range)):
            try:
                values = original = list(values)
            except TypeError as exc:
                raise TypeError(f"keys must be an iterable or array-like, not {type(values).__name__}") from exc
        with np.errstate(all="ignore"):
            try:
                values = np.asarray(values)
            except (ValueError, OverflowError) as exc:
                raise ValueError(f"keys must form a 1-D array: {exc}") from exc
    if values.ndim != 1:
        raise ValueError(f"keys must be a 1-D array, got {values.ndim}-D with shape {values.shape}")
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


def sort_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct keys; ``np.unique`` hashes in NumPy 2.x and is ~10x slower than this."""
    if len(values) < 2:
        return values.copy()
    s = np.sort(values)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]
