"""Files saved by jitset 0.1.0 before the storage changed (issue 20) keep loading unchanged.

The files in ``tests/data/saved_v0.1`` were written by the code of commit
5b5f550, whose integer sets stored signed keys as they are.  Whatever the
storage becomes, loading them must give the same keys, dtype and chunk size.
The expected keys are rebuilt here from the same recipe, not read back from
the files.
"""

import pathlib

import numpy as np
import pytest

from jitset import SortedSet

DATA = pathlib.Path(__file__).parent / "data" / "saved_v0.1"

_MEMBER = np.dtype([("group", "u1"), ("name", "S16"), ("id", "u8")])


def _ints(dtype, n, seed):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    v = rng.integers(info.min, info.max, size=n, dtype=dtype, endpoint=True)
    return np.concatenate([v, np.array([info.min, info.max, 0], dtype=dtype)])


def _members():
    rng = np.random.default_rng(4)
    out = np.zeros(300, dtype=_MEMBER)
    out["group"] = rng.integers(0, 4, 300)
    out["name"] = [b"user%03d" % i for i in rng.integers(0, 1000, 300)]
    out["id"] = rng.integers(0, 2**64 - 1, 300, dtype=np.uint64, endpoint=True)
    return out


def _floats():
    rng = np.random.default_rng(3)
    v = rng.standard_normal(500) * 1e6
    return np.concatenate([v, [np.inf, -np.inf, 0.0, np.finfo(np.float64).max, np.finfo(np.float64).min, 5e-324]])


def _datetimes():
    rng = np.random.default_rng(5)
    v = rng.integers(-(2**62), 2**62, 400)
    return np.concatenate([v, [np.iinfo(np.int64).min + 1, np.iinfo(np.int64).max]]).view("M8[ns]")


#: name: (dtype, values, chunk_size); small chunks so the files hold many chunks' worth
CASES = {
    "int64": (np.int64, _ints(np.int64, 1000, 1), 8),
    "uint8": (np.uint8, _ints(np.uint8, 300, 2), 4),
    "float64": (np.float64, _floats(), 16),
    "datetime64": ("M8[ns]", _datetimes(), 512),
    "member": (_MEMBER, _members(), 8),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_file_saved_by_0_1_loads_unchanged(name):
    dtype, values, chunk = CASES[name]
    s = SortedSet.load(DATA / f"{name}.jitset")
    s._check()
    expected = np.unique(np.asarray(values, dtype=dtype))
    assert s.dtype == np.dtype(dtype)
    assert s.chunk_size == chunk
    assert len(s) == len(expected)
    got = s.to_numpy()
    assert got.dtype == expected.dtype
    assert got.tobytes() == expected.tobytes()
    # and the loaded set works: the smallest key is found, and goes
    first = expected[0].item() if expected.dtype.names is None else tuple(expected[0].item())
    assert s.index(first) == 0
    assert s.discard(first) == 0
    s._check()
