"""``SortedDict.save`` / ``load`` (issue 22, work in progress): round trips, corruption, the other class's files."""

from __future__ import annotations

import numpy as np
import pytest

from jitset import SortedSet
from jitset.sorteddict import SortedDict

RECORD = np.dtype([("qty", "f8"), ("orders", "i4")])
WIDE = np.dtype([("group", "u1"), ("name", "S6")])


def _dicts():
    keys = np.array([5, -3, 2**62, np.iinfo(np.int64).min, 0])
    yield "f8", SortedDict(keys, np.array([0.5, np.nan, -1.0, 2.0, 3.0]), chunk_size=4)
    yield "record", SortedDict(keys, np.array([(1.0, 1), (2.0, 2), (3.0, 3), (4.0, 4), (5.0, 5)], dtype=RECORD))
    yield "subarray", SortedDict(keys, np.arange(15.0).reshape(5, 3), value_dtype=("f8", 3), chunk_size=4)
    yield "wide key", SortedDict([((1, b"ann"), 1), ((0, b"zed"), 2)], dtype=WIDE, value_dtype="i2")
    yield "empty", SortedDict(dtype="u4", value_dtype="f4")


@pytest.mark.parametrize("name, d", list(_dicts()), ids=[n for n, _ in _dicts()])
def test_round_trip(tmp_path, name, d):
    path = tmp_path / "d.jitset"
    d.save(path)
    for mmap_mode in (None, "r"):
        back = SortedDict.load(path, mmap_mode=mmap_mode)
        back._check()
        assert back == d and back.dtype == d.dtype and back.value_dtype == d.value_dtype
        assert back.chunk_size == d.chunk_size


def _saved(tmp_path):
    d = SortedDict(np.arange(0, 300, 3), np.arange(100, dtype=np.float64), chunk_size=8)
    path = tmp_path / "d.jitset"
    d.save(path)
    return path


@pytest.mark.parametrize("where", [-1, -500, -900])  # a value byte, a key byte, another key byte
def test_a_flipped_byte_is_refused(tmp_path, where):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[where] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        SortedDict.load(path)


def test_a_truncated_file_is_refused(tmp_path):
    path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ValueError, match="bytes"):
        SortedDict.load(path)


def test_another_files_header_is_refused(tmp_path):
    path = _saved(tmp_path)
    other = tmp_path / "other.jitset"
    SortedDict(np.arange(0, 300, 3), np.arange(100, dtype=np.float64) + 1, chunk_size=8).save(other)
    data = path.read_bytes()
    head = 16 + int.from_bytes(data[12:16], "little")
    other_data = other.read_bytes()
    path.write_bytes(other_data[:head] + data[head:])  # the other dict's header and checksum
    with pytest.raises(ValueError, match="not a valid jitset file"):
        SortedDict.load(path)


def test_each_class_refuses_the_others_files(tmp_path):
    set_path, dict_path = tmp_path / "s.jitset", _saved(tmp_path)
    SortedSet([1, 2, 3]).save(set_path)
    with pytest.raises(ValueError, match="SortedSet.load"):
        SortedDict.load(set_path)
    with pytest.raises(ValueError, match="SortedDict.load"):
        SortedSet.load(dict_path)
    assert SortedSet.load(set_path).to_numpy().tolist() == [1, 2, 3]  # set files are unchanged
