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


def checksum(keys: np.ndarray, dtype, count: int, chunk_size: int) -> int:
    """CRC-32 of the header fields, then of the key bytes.

    The fields are included so that a file whose dtype was changed (the same
    bytes read as other keys) fails the check too.  ``dtype`` is the header's
    descr as JSON reads it back (a str, or lists for a structured dtype).
    """
    text = dtype if isinstance(dtype, str) else json.dumps(dtype)
    return zlib.crc32(keys.view(np.uint8), zlib.crc32(f"{text}|{count}|{chunk_size}".encode()))


def _descr(dtype: np.dtype):
    """The dtype as the header stores it, exactly as JSON will read it back."""
    return json.loads(json.dumps(np.lib.format.dtype_to_descr(dtype)))


def _dtype(descr) -> np.dtype:
    """Inverse of :func:`_descr`; TypeError/ValueError for anything else."""
    if isinstance(descr, list):  # JSON turned the (name, descr) pairs into lists
        descr = [tuple(field) if isinstance(field, list) else field for field in descr]
    return np.lib.format.descr_to_dtype(descr)


def write(path, keys: np.ndarray, chunk_size: int) -> None:
    """Write ``keys`` (ascending, the set's dtype) to exactly ``path``, atomically."""
    keys = np.ascontiguousarray(keys)
    descr = _descr(keys.dtype)
    header = json.dumps(
        {"dtype": descr, "count": int(len(keys)), "chunk_size": int(chunk_size),
         "crc32": checksum(keys, descr, len(keys), chunk_size)},
        sort_keys=True,
    ).encode("utf-8")
    head = _PREFIX.pack(MAGIC, VERSION, len(header)) + header
    head += b"\x00" * (-len(head) % _ALIGN)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".jitset-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            f.write(keys.view(np.uint8))  # a byte view: datetimes have no buffer format
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


def read(path, mmap_mode=None) -> tuple[np.dtype, int, np.ndarray]:
    """``(dtype, chunk_size, keys)`` from a file written by :func:`write`, fully validated.

    With ``mmap_mode="r"`` the keys are a read-only memory map of the file
    (validated in place, no read into a separate buffer); without it they
    are read into memory.
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
        if not isinstance(header, dict) or set(header) != {"dtype", "count", "chunk_size", "crc32"}:
            raise _bad(path, f"header fields {sorted(header) if isinstance(header, dict) else header!r}")
        count, chunk, crc = header["count"], header["chunk_size"], header["crc32"]
        if not all(type(v) is int for v in (count, chunk, crc)) or count < 0 or crc < 0:
            raise _bad(path, "count, chunk_size and crc32 must be non-negative integers")
        try:
            dtype = _dtype(header["dtype"])
        except (TypeError, ValueError, KeyError, IndexError):
            raise _bad(path, f"unknown dtype {header['dtype']!r}") from None
        if dtype.hasobject or dtype.itemsize == 0:
            raise _bad(path, f"dtype {dtype} cannot hold keys")
        offset = _PREFIX.size + header_len
        padding = -offset % _ALIGN
        if f.read(padding) != b"\x00" * padding:
            raise _bad(path, "damaged padding after the header")
        offset += padding
        expected = offset + count * dtype.itemsize
        if size != expected:
            raise _bad(path, f"{size} bytes, but a header for {count} keys of {dtype} means {expected}")
        if mmap_mode == "r":
            keys = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,)) if count else np.empty(0, dtype)
        else:
            f.seek(offset)
            keys = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    if checksum(keys, header["dtype"], count, chunk) != crc:
        raise _bad(path, "checksum mismatch: the keys were changed or damaged")
    return dtype, chunk, keys
