"""save/load: exact round trips, atomic writes, and files that lie in every way."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitset import SortedSet, _persist

SETS = {
    "int64": lambda: SortedSet(np.arange(-500, 500, 7), chunk_size=8),
    "uint64": lambda: SortedSet(np.array([0, 1, 2**63, 2**64 - 1], dtype=np.uint64)),
    "int8": lambda: SortedSet(range(-128, 128), dtype=np.int8, chunk_size=4),
    "float64": lambda: SortedSet([-np.inf, -0.0, 5e-324, 1.5, np.inf]),
    "float32": lambda: SortedSet(np.array([1.5, -2.25], dtype=np.float32)),
    "datetime": lambda: SortedSet(np.array(["2020-01-01", "1970-01-01"], dtype="datetime64[ns]")),
    "bool": lambda: SortedSet([True]),
    "empty": lambda: SortedSet(),
}


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_round_trip_is_exact(tmp_path, name, mmap_mode):
    s = SETS[name]()
    path = tmp_path / "keys"  # no extension is added
    s.save(path)
    assert sorted(os.listdir(tmp_path)) == ["keys"]
    t = SortedSet.load(path, mmap_mode=mmap_mode)
    t._check()
    assert t == s and t.dtype == s.dtype and t.chunk_size == s.chunk_size
    assert t.to_numpy().tobytes() == s.to_numpy().tobytes()
    t.add(t.max() if len(t) else 0)  # a loaded set is an ordinary, writable set


def test_save_replaces_atomically(tmp_path, monkeypatch):
    path = tmp_path / "ids.jitset"
    SortedSet([1, 2, 3]).save(path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        SortedSet([4, 5]).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before  # the previous file survived
    assert os.listdir(tmp_path) == ["ids.jitset"]  # and no temporary file was left


def _saved(tmp_path, s=None):
    s = SortedSet(np.arange(0, 2000, 3), chunk_size=16) if s is None else s
    path = tmp_path / "set.jitset"
    s.save(path)
    return s, path, bytearray(path.read_bytes())


def _layout(data: bytes):
    """(header dict, offset of the keys) of a valid file's bytes."""
    _, _, n = struct.unpack("<8sII", bytes(data[:16]))
    offset = 16 + n
    return json.loads(bytes(data[16:offset])), offset + (-offset % 64)


def _rewrite(path, header: dict, keys: bytes):
    raw = json.dumps(header).encode()
    head = struct.pack("<8sII", _persist.MAGIC, _persist.VERSION, len(raw)) + raw
    head += b"\x00" * (-len(head) % 64)
    path.write_bytes(head + keys)


def _rejects(path, text):
    with pytest.raises(ValueError, match=text):
        SortedSet.load(path)
    with pytest.raises(ValueError, match=text):
        SortedSet.load(path, mmap_mode="r")


@pytest.mark.parametrize("cut", [0, 5, 15, 20, 70, -8, -1])
def test_truncated(tmp_path, cut):
    _, path, data = _saved(tmp_path)
    path.write_bytes(bytes(data[:cut]))
    _rejects(path, "not a valid jitset file")


def test_flipped_key_byte(tmp_path):
    _, path, data = _saved(tmp_path)
    data[-5] ^= 0x40
    path.write_bytes(bytes(data))
    _rejects(path, "checksum mismatch")


def test_reordered_pair_with_a_matching_checksum(tmp_path):
    s, path, data = _saved(tmp_path)
    header, offset = _layout(data)
    keys = s.to_numpy().copy()
    keys[[10, 11]] = keys[[11, 10]]
    header["crc32"] = _persist.checksum(keys, header["dtype"], header["count"], header["chunk_size"])
    _rewrite(path, header, keys.tobytes())
    _rejects(path, "not strictly increasing")


def test_duplicate_key_with_a_matching_checksum(tmp_path):
    s, path, data = _saved(tmp_path)
    header, _ = _layout(data)
    keys = s.to_numpy().copy()
    keys[11] = keys[10]
    header["crc32"] = _persist.checksum(keys, header["dtype"], header["count"], header["chunk_size"])
    _rewrite(path, header, keys.tobytes())
    _rejects(path, "not strictly increasing")


@pytest.mark.parametrize("dtype", ["<i4", "<f8", "<u8", ">i8", "|S8", "<U2", "|O", "no-such-dtype", "<M8"])
def test_wrong_dtype_header(tmp_path, dtype):
    s, path, data = _saved(tmp_path)
    header, offset = _layout(data)
    header["dtype"] = dtype
    _rewrite(path, header, bytes(data[offset:]))
    _rejects(path, "not a valid jitset file")


@pytest.mark.parametrize("dtype", ["<i4", "|S8", "<c16", "|O", "no-such-dtype", "<M8"])
def test_forged_dtype_header_with_matching_checksum(tmp_path, dtype):
    # A forger who recomputes the checksum is still caught by the size, dtype
    # or order checks (a dtype of the same width whose words happen to be
    # ascending would be a genuinely valid file of those keys).
    s, path, data = _saved(tmp_path)
    header, offset = _layout(data)
    header["dtype"] = dtype
    keys = bytes(data[offset:])
    header["crc32"] = _persist.checksum(np.frombuffer(keys, np.uint8), dtype, header["count"], header["chunk_size"])
    _rewrite(path, header, keys)
    _rejects(path, "not a valid jitset file")


@pytest.mark.parametrize("delta", [-1, 1, 10**6])
def test_wrong_count(tmp_path, delta):
    _, path, data = _saved(tmp_path)
    header, offset = _layout(data)
    header["count"] += delta
    _rewrite(path, header, bytes(data[offset:]))
    _rejects(path, "bytes, but a header for")


@pytest.mark.parametrize(
    "change",
    [
        {"count": -1},
        {"count": "12"},
        {"chunk_size": 1},
        {"chunk_size": 2**40},
        {"crc32": None},
        {"extra": 1},
    ],
)
def test_bad_header_fields(tmp_path, change):
    _, path, data = _saved(tmp_path)
    header, offset = _layout(data)
    header.update(change)
    _rewrite(path, header, bytes(data[offset:]))
    _rejects(path, "not a valid jitset file")


def test_foreign_files(tmp_path):
    npy = tmp_path / "a.npy"
    np.save(npy, np.arange(10))
    _rejects(npy, "wrong magic")
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(300))
    _rejects(junk, "not a valid jitset file")
    _, path, data = _saved(tmp_path)
    data[8] = 9  # a future format version
    path.write_bytes(bytes(data))
    _rejects(path, "format version 9")
    _, path, data = _saved(tmp_path)
    data[17] = 0xFF  # the JSON header is no longer UTF-8
    path.write_bytes(bytes(data))
    _rejects(path, "unreadable header")


def test_nan_and_nat_in_a_file(tmp_path):
    for keys in (np.array([1.0, np.nan]), np.array([0, "NaT"], dtype="datetime64[s]")):
        path = tmp_path / "k"
        _persist.write(path, keys, 512)  # bypasses SortedSet's own checks
        _rejects(path, "not a valid jitset file")


@settings(max_examples=150)
@given(data=st.data())
def test_any_single_byte_change_is_caught_or_harmless(tmp_path_factory, data):
    s = SortedSet(np.arange(0, 300, 7), chunk_size=8)
    path = tmp_path_factory.mktemp("flip") / "s"
    s.save(path)
    raw = bytearray(path.read_bytes())
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    try:
        t = SortedSet.load(path)
    except ValueError:
        return
    t._check()
    # a change the format cannot see (e.g. JSON whitespace) must give back the same set
    assert t == s and t.chunk_size == s.chunk_size
