"""Value validation and conversion for :class:`jitset.sorteddict.SortedDict`.

A dict's values are stored as raw bytes beside their keys (see
:mod:`jitset._storage`), so any fixed-width NumPy dtype can be a value dtype:
numbers, booleans, datetimes, bytes and strings, structured records and
subarrays such as ``("f8", 3)``.  As keys do (:mod:`jitset._keys`), values
convert *exactly* or not at all: an integer out of range raises
``OverflowError``, a non-integral float for an integer column, a string for a
number or a value of the wrong shape ``TypeError``/``ValueError``.  NaN is an
ordinary float value.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["resolve_value_dtype", "ValueColumn"]


def resolve_value_dtype(dtype) -> np.dtype:
    """The value dtype for ``dtype``, or an exception saying why it cannot be one."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a NumPy dtype: {dtype!r}") from exc
    if resolved.hasobject:
        raise TypeError(f"value dtype {resolved} holds Python objects; values must be fixed-width")
    if resolved.itemsize == 0:
        raise ValueError(f"value dtype {resolved} has no bytes; use a SortedSet for keys alone")
    return resolved


def _shown(x):
    """A NumPy scalar as its Python value, for messages (``2.5``, not ``np.float64(2.5)``)."""
    return x.item() if isinstance(x, np.generic) else x


def _exact(x, base: np.dtype) -> np.ndarray:
    """``x`` as an array of the scalar dtype ``base``, converted exactly, or an exception."""
    src = np.asarray(x)
    if src.dtype == base:
        return src
    kind, skind = base.kind, src.dtype.kind
    if skind == "O":  # e.g. a list mixing big ints and floats: element by element
        try:
            return np.array([_exact(v, base)[()] for v in src.reshape(-1)], dtype=base).reshape(src.shape)
        except ValueError as exc:
            raise TypeError(str(exc)) from None
    numeric = "biufc"
    if kind in "iu":
        if skind in "bi" or skind == "u":
            if src.size and skind != "b":
                info = np.iinfo(base)
                lo, hi = src.min(), src.max()
                if int(lo) < info.min or int(hi) > info.max:
                    bad = lo if int(lo) < info.min else hi
                    raise OverflowError(f"value {_shown(bad)!r} is out of range for value dtype {base}")
            return src.astype(base)
        if skind == "f":
            if src.size and not (np.isfinite(src).all() and (src == np.trunc(src)).all()):
                bad = src.reshape(-1)[np.argmax(~(np.isfinite(src) & (src == np.trunc(src))).reshape(-1))]
                raise TypeError(f"value {_shown(bad)!r} is not an integer, so value dtype {base} cannot hold it")
            info = np.iinfo(base)
            if src.size and (src.min() < float(info.min) or src.max() > float(info.max)):
                raise OverflowError(f"a value is out of range for value dtype {base}")
            out = src.astype(base)
            if src.size and not (out.astype(src.dtype) == src).all():
                raise OverflowError(f"a value is out of range for value dtype {base}")
            return out
    elif kind in "fc":
        if skind in numeric:
            if skind == "c" and kind != "c":
                raise TypeError(f"complex values cannot be stored in value dtype {base}")
            out = src.astype(base)
            if src.size and skind != "b":  # exactly: a round trip gives the values back (NaN is a value)
                back = out.astype(src.dtype)
                same = back == src
                if skind in "fc":
                    same |= np.isnan(src)
                if not same.all():
                    bad = src.reshape(-1)[np.argmax(~same.reshape(-1))]
                    raise OverflowError(f"value {_shown(bad)!r} cannot be represented exactly in value dtype {base}")
            return out
    elif kind == "b":
        if skind == "b":
            return src.astype(base)
    elif kind in "Mm" and skind == kind:
        out = src.astype(base)
        if src.size and not ((out == src) | np.isnat(src)).all():
            raise ValueError(f"a value cannot be represented exactly in value dtype {base}")
        return out
    elif kind in "SU" and skind == kind:
        if src.dtype.itemsize > base.itemsize:
            longest = max((len(v) for v in src.reshape(-1)), default=0)
            if longest * (4 if kind == "U" else 1) > base.itemsize:
                raise ValueError(f"a value is longer than value dtype {base} holds")
        return src.astype(base)
    raise TypeError(f"values of dtype {src.dtype} cannot be stored in value dtype {base}")


class ValueColumn:
    """Checks and converts values for one value dtype; their bytes for the kernels.

    ``width`` is the bytes per value; :meth:`column` makes ``n`` values an
    array of the value dtype (shape ``(n,)`` plus a subarray's shape),
    :meth:`raw` that array's bytes, one C-contiguous row per value.
    """

    __slots__ = ("dtype", "width", "base", "shape", "exact_type", "lo", "hi", "word_kernel")

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.width = dtype.itemsize
        self.base = dtype.base  # the element dtype of a subarray dtype, else itself
        self.shape = dtype.shape  # () unless a subarray dtype
        # The Python type a scalar call may store without checks (its value
        # in lo..hi): float into float64, int into an integer column.
        # Anything else takes :meth:`one`, which costs ~2 us more.
        self.exact_type, self.lo, self.hi = None, 0, -1
        if dtype == np.float64:
            self.exact_type, self.lo, self.hi = float, -float("inf"), float("inf")
        elif dtype.kind in "iu" and not dtype.shape:
            info = np.iinfo(dtype)
            self.exact_type, self.lo, self.hi = int, int(info.min), int(info.max)
        # The entry point that takes such a value itself (jitset._kernels.put_word):
        # a float64 as a double; an integer as an int64, its low bytes the value.
        self.word_kernel = None
        if dtype.isnative and sys.byteorder == "little":
            if dtype == np.float64:
                self.word_kernel = "put_f8"
            elif self.exact_type is int and self.hi <= np.iinfo(np.int64).max:
                self.word_kernel = "put_i8"

    def column(self, values, n: int) -> np.ndarray:
        """``n`` values as a C-contiguous array, checked exactly (nothing changed yet)."""
        dt = self.dtype
        if dt.names is not None:
            arr = self._records(values, n)
        else:
            arr = _exact(values, self.base)
            if arr.shape != (n,) + self.shape:
                raise ValueError(
                    f"expected {n} values of shape {self.shape} (an array of shape {(n,) + self.shape}), "
                    f"got shape {arr.shape}"
                )
        return np.ascontiguousarray(arr)

    def one(self, value) -> np.ndarray:
        """One value as a 1-element array (checked exactly)."""
        if self.dtype.names is not None:
            return self._records([value], 1)
        arr = _exact(value, self.base)
        if arr.shape != self.shape:
            raise ValueError(f"expected a value of shape {self.shape}, got shape {arr.shape}")
        return np.ascontiguousarray(arr.reshape((1,) + self.shape))

    def _records(self, values, n: int) -> np.ndarray:
        dt = self.dtype
        src = values if isinstance(values, np.ndarray) else None
        if src is not None and src.dtype == dt:
            arr = src
        elif src is not None and src.dtype.names is not None:
            if set(src.dtype.names) != set(dt.names):
                raise TypeError(f"values have fields {src.dtype.names}, value dtype {dt} has {dt.names}")
            arr = np.empty(len(src), dtype=dt)
            for name in dt.names:
                arr[name] = _column_of(_exact(src[name], dt[name].base), dt[name], len(src))
        else:  # tuples (or lists) of field values
            rows = list(values)
            arr = np.empty(len(rows), dtype=dt)
            for i, name in enumerate(dt.names):
                try:
                    field = [row[i] for row in rows]
                except (TypeError, IndexError):
                    raise TypeError(
                        f"a value of dtype {dt} is a tuple of {len(dt.names)} fields {dt.names}"
                    ) from None
                arr[name] = _column_of(_exact(field, dt[name].base), dt[name], len(rows))
            if any(len(row) != len(dt.names) for row in rows):
                raise TypeError(f"a value of dtype {dt} is a tuple of {len(dt.names)} fields {dt.names}")
        if arr.shape != (n,):
            raise ValueError(f"expected {n} values, got {arr.shape[0] if arr.ndim else 'a scalar'}")
        return arr

    def raw(self, column: np.ndarray) -> np.ndarray:
        """The bytes of a column made by :meth:`column`: shape ``(n, width)``, uint8."""
        n = column.shape[0]
        return column.reshape(-1).view(np.uint8).reshape(n, self.width) if n else np.empty((0, self.width), np.uint8)

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Values from their bytes (the inverse of :meth:`raw`)."""
        return raw.reshape(-1).view(self.base if self.dtype.names is None else self.dtype).reshape(
            (raw.shape[0],) + (self.shape if self.dtype.names is None else ())
        )


def _column_of(arr: np.ndarray, field: np.dtype, n: int) -> np.ndarray:
    if arr.shape != (n,) + field.shape:
        raise ValueError(f"field values of shape {arr.shape}, expected {(n,) + field.shape}")
    return arr
