"""Key types: the same batch operations on int64 keys and on wider keys.

``member`` is the demo's structured key ``(group u1, name S16, id u8)``:
25 bytes, normalized to four 64-bit words.  ``S16`` is a plain 16-byte
string (two words).  Compare each with ``int64`` at the same set and batch
size: the issue's target is at most 3x the int64 time per key at 1M keys.
"""

from __future__ import annotations

import functools

import numpy as np

from jitset import SortedSet
from jitset._demo import random_members

from ._common import absent_keys, base_set, mixed_queries

KEYS = ["int64", "S16", "member"]
SIZE = 10**6


@functools.lru_cache(maxsize=None)
def _wide_keys(key: str, n: int, salt: int) -> np.ndarray:
    members = random_members(np.random.default_rng([7, n, salt]), n)
    if key == "member":
        out = members
    else:  # S16: names repeat, so 8 name bytes then 8 id bytes keep the keys distinct
        out = np.char.add(members["name"].astype("S8"), members["id"].astype(">u8").view("S8")).astype("S16")
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=None)
def _set(key: str) -> SortedSet:
    if key == "int64":
        return base_set(SIZE)
    return SortedSet(_wide_keys(key, SIZE, 0))


@functools.lru_cache(maxsize=None)
def _warm(key: str) -> None:
    """Compile (or load) every batch path for this key type outside the timings (see warm_jit)."""
    keys = _wide_keys(key, 20_000, 2) if key != "int64" else np.arange(0, 40_000, 2)
    s = SortedSet(keys[:10_000])
    for batch in (keys[10_000:10_003], keys[10_000:]):  # a local merge, then a rebuild or sweep
        s.add_many(batch), s.contains_many(batch), s.discard_many(batch)


def _batch(key: str, m: int, kind: str) -> np.ndarray:
    if key == "int64":
        return absent_keys(SIZE, m) if kind == "new" else mixed_queries(SIZE, m)
    new = _wide_keys(key, m, 1)
    if kind == "new":
        return new
    present = _wide_keys(key, SIZE, 0)[: m - m // 2]
    return np.concatenate([new[: m // 2], present])


class KeyTypeWrites:
    """``add_many`` of new keys into a fresh copy of a 1M-key set, per key type."""

    params = [KEYS, [1_000, 100_000]]
    param_names = ["key", "batch"]
    number = 1
    repeat = (3, 10, 10.0)

    def setup(self, key, m):
        _warm(key)
        self.s = _set(key).copy()
        self.new = _batch(key, m, "new")

    def time_add_many(self, key, m):
        self.s.add_many(self.new)


class KeyTypeReads:
    """``contains_many`` of half-present queries against a 1M-key set, per key type."""

    params = [KEYS, [1_000, 100_000]]
    param_names = ["key", "batch"]

    def setup(self, key, m):
        _warm(key)
        self.s = _set(key)
        self.q = _batch(key, m, "queries")

    def time_contains_many(self, key, m):
        self.s.contains_many(self.q)
