"""Saving and loading a set: a small, versioned, checksummed file format.

Layout of a ``jitset`` file (all integers little-endian)::

    offset  size  content
    0       8     magic  b"JITSET\\x00\\x00"
    8       4     format version (uint32), currently 1
    12      4     length L of the JSON header (uint32)
    16      L     JSON header: {"dtype": <numpy dtype descr: a str such as
                                          "<i8", or for a structured dtype a
                                          list of [name, descr] pairs>,
                                "count": <number of keys>,
                                "chunk_size": <int>,
                                "crc32": <checksum(): CRC-32 of the other three
                                          fields, then of the key bytes>}
    16+L    pad   zero bytes up to a multiple of 64 (so the keys are aligned)
    ...     n*w   the keys, ascending, in the header's dtype (its byte order)
    ...     n*v   a SortedDict's values, in key order (its files only)

A ``SortedDict``'s file has one more header field, ``"value_dtype"`` (the
descr, or ``{"base": descr, "shape": [...]}`` for a subarray dtype such as
``("f8", 3)``, which a descr cannot say), and its checksum covers that field
and the value bytes too.  A set's file is unchanged, so files written before
dicts existed still load as sets; each class refuses the other's files.

Nothing of the file is trusted: :func:`read` checks the magic, version,
header fields, that the file holds exactly ``count`` keys, the checksum,
and strict ascending order, before any kernel sees a key.  :func:`write`
writes a temporary file beside the target and renames it over the target,
so a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib

import numpy as np

MAGIC = b"JITSET\x00\x00"
VERSION = 1
_PREFIX = struct.Struct("<8sII")  # magic, version, header length
_ALIGN = 64
_MAX_HEADER = 1 << 16


def checksum(keys: np.ndarray, dtype, count: int, chunk_size: int, value_dtype=None, values=None) -> int:
    """CRC-32 of the header fields, then of the key bytes (then of a dict's values).

    The fields are included so that a file whose dtype was changed (the same
    bytes read as other keys) fails the check too.  ``dtype`` is the header's
    descr as JSON reads it back (a str, or lists for a structured dtype).
    """
    text = dtype if isinstance(dtype, str) else json.dumps(dtype)
    fields = f"{text}|{count}|{chunk_size}"
    if value_dtype is not None:
        fields += "|" + json.dumps(value_dtype, sort_keys=True)
    crc = zlib.crc32(keys.view(np.uint8), zlib.crc32(fields.encode()))
    if values is not None:
        crc = zlib.crc32(values.reshape(-1).view(np.uint8), crc)
    return crc


def _descr(dtype: np.dtype):
    """The dtype as the header stores it, exactly as JSON will read it back."""
    return json.loads(json.dumps(np.lib.format.dtype_to_descr(dtype)))


def _dtype(descr) -> np.dtype:
    """Inverse of :func:`_descr`; TypeError/ValueError for anything else."""
    if isinstance(descr, list):  # JSON turned the (name, descr) pairs into lists
        descr = [tuple(field) if isinstance(field, list) else field for field in descr]
    return np.lib.format.descr_to_dtype(descr)


def _value_descr(dtype: np.dtype):
    """A value dtype as the header stores it (a subarray dtype's descr would be ``|V<n>``)."""
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return {"base": _descr(base), "shape": list(shape)}
    return _descr(dtype)


def _value_dtype(descr) -> np.dtype:
    """Inverse of :func:`_value_descr`; TypeError/ValueError/KeyError for anything else."""
    if isinstance(descr, dict):
        if set(descr) != {"base", "shape"} or not all(type(n) is int and n > 0 for n in descr["shape"]):
            raise ValueError(descr)
        return np.dtype((_dtype(descr["base"]), tuple(descr["shape"])))
    return _dtype(descr)


def write(path, keys: np.ndarray, chunk_size: int, values: np.ndarray | None = None) -> None:
    """Write ``keys`` (ascending, the set's dtype), and a dict's ``values``, to exactly ``path``, atomically."""
    keys = np.ascontiguousarray(keys)
    descr = _descr(keys.dtype)
    fields = {"dtype": descr, "count": int(len(keys)), "chunk_size": int(chunk_size)}
    if values is None:
        fields["crc32"] = checksum(keys, descr, len(keys), chunk_size)
    else:
        values = np.ascontiguousarray(values)
        vdescr = json.loads(json.dumps(_value_descr(values.dtype if values.ndim == 1 else np.dtype(
            (values.dtype, values.shape[1:])))))
        fields["value_dtype"] = vdescr
        fields["crc32"] = checksum(keys, descr, len(keys), chunk_size, vdescr, values)
    header = json.dumps(fields, sort_keys=True).encode("utf-8")
    head = _PREFIX.pack(MAGIC, VERSION, len(header)) + header
    head += b"\x00" * (-len(head) % _ALIGN)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".jitset-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            f.write(keys.view(np.uint8))  # a byte view: datetimes have no buffer format
            if values is not None:
                f.write(values.reshape(-1).view(np.uint8))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _bad(path, why: str) -> ValueError:
    return ValueError(f"{os.fspath(path)!r} is not a valid jitset file: {why}")


def _header_dtype(path, parse, descr, holds: str) -> np.dtype:
    """The dtype a header field describes (``parse``: :func:`_dtype` or :func:`_value_dtype`),
    or the ValueError saying why it is none a file can hold ``holds`` in."""
    try:
        dtype = parse(descr)
    except (TypeError, ValueError, KeyError, IndexError):
        raise _bad(path, f"unknown {'value ' if holds == 'values' else ''}dtype {descr!r}") from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise _bad(path, f"dtype {dtype} cannot hold {holds}")
    return dtype


def read(path, mmap_mode=None, values: bool = False):
    """``(dtype, chunk_size, keys)`` from a set's file written by :func:`write`, fully validated;
    with ``values=True``, a dict's file: ``(dtype, chunk_size, keys, values)``.

    With ``mmap_mode="r"`` the keys are a read-only memory map of the file
    (validated in place, no read into a separate buffer); without it they
    are read into memory.  A dict's file given for a set, or a set's for a
    dict, is a ``ValueError`` saying which class reads it.
    """
    if mmap_mode not in (None, "r"):
        raise ValueError(f"mmap_mode must be None or 'r', got {mmap_mode!r}")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(_PREFIX.size)
        if len(prefix) < _PREFIX.size:
            raise _bad(path, f"only {len(prefix)} bytes, shorter than the file prefix")
        magic, version, header_len = _PREFIX.unpack(prefix)
        if magic != MAGIC:
            raise _bad(path, f"wrong magic {magic!r}")
        if version != VERSION:
            raise _bad(path, f"format version {version}, this jitset reads version {VERSION}")
        if header_len > _MAX_HEADER:
            raise _bad(path, f"header length {header_len} is implausible")
        raw = f.read(header_len)
        if len(raw) != header_len:
            raise _bad(path, "truncated inside the header")
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _bad(path, f"unreadable header ({exc})") from None
        expected_fields = {"dtype", "count", "chunk_size", "crc32"} | ({"value_dtype"} if values else set())
        if isinstance(header, dict) and set(header) ^ expected_fields == {"value_dtype"}:
            raise _bad(path, "a SortedDict's file: load it with SortedDict.load" if not values
                       else "a SortedSet's file (keys only): load it with SortedSet.load")
        if not isinstance(header, dict) or set(header) != expected_fields:
            raise _bad(path, f"header fields {sorted(header) if isinstance(header, dict) else header!r}")
        count, chunk, crc = header["count"], header["chunk_size"], header["crc32"]
        if not all(type(v) is int for v in (count, chunk, crc)) or count < 0 or crc < 0:
            raise _bad(path, "count, chunk_size and crc32 must be non-negative integers")
        dtype = _header_dtype(path, _dtype, header["dtype"], "keys")
        vdtype = _header_dtype(path, _value_dtype, header["value_dtype"], "values") if values else None
        vsize = 0 if vdtype is None else vdtype.itemsize
        offset = _PREFIX.size + header_len
        padding = -offset % _ALIGN
        if f.read(padding) != b"\x00" * padding:
            raise _bad(path, "damaged padding after the header")
        offset += padding
        expected = offset + count * (dtype.itemsize + vsize)
        if size != expected:
            what = f"{count} keys of {dtype}" + ("" if vdtype is None else f" and values of {vdtype}")
            raise _bad(path, f"{size} bytes, but a header for {what} means {expected}")
        if mmap_mode == "r":
            keys = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,)) if count else np.empty(0, dtype)
        else:
            f.seek(offset)
            keys = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
        if vdtype is not None:
            f.seek(offset + count * dtype.itemsize)
            column = np.frombuffer(f.read(count * vsize), dtype=np.uint8).reshape(count, vsize)
    if vdtype is None:
        if checksum(keys, header["dtype"], count, chunk) != crc:
            raise _bad(path, "checksum mismatch: the keys were changed or damaged")
        return dtype, chunk, keys
    if checksum(keys, header["dtype"], count, chunk, header["value_dtype"], column) != crc:
        raise _bad(path, "checksum mismatch: the keys or values were changed or damaged")
    return dtype, chunk, keys, column.reshape(-1).view(vdtype.base if vdtype.names is None else vdtype).reshape(
        (count,) + (vdtype.shape if vdtype.names is None else ()))
