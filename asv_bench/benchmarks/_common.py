"""Keys, sets and JIT warm-up shared by every benchmark module.

Why memoize: asv runs each benchmark and parameter combination in a fresh
process and calls ``setup`` again before every timed call (so that a mutating
benchmark always starts from the same state).  Random keys, sorting them and
building a 1M-key set cost ~0.1 s each time; memoized, a read-only
benchmark's ``setup`` costs a dictionary lookup after its first call.

Why even and odd keys: every set built here holds *even* keys only, so any
odd key is certainly absent.  "New" keys for inserts are then drawn without
a membership test, and the same keys can be added then removed again to
restore a set.
"""

from __future__ import annotations

import functools

import numpy as np

from jitset import SortedSet
from jitset._keys import sort_unique  # np.sort + dedupe mask: np.unique hashes first in NumPy 2.x

#: Set sizes every size-parameterized benchmark runs at.  10^7 is where
#: batches turn memory-bound (the keys no longer fit in cache); 10^8 is for
#: ``python -m jitset bench --size 1e8`` (minutes per run: too slow for CI).
SIZES = [10**4, 10**5, 10**6, 10**7]
#: Batch sizes: 1,000 keys touch a few of the chunks of a large set (at 10^7,
#: one key per 26 chunks); 100,000 touch several keys per chunk up to 10^7.
BATCHES = [1_000, 100_000]
#: Chunk sizes: writes prefer smaller chunks, reads larger ones.
CHUNKS = [64, 512]
#: Calls per scalar benchmark: its time divided by N_CALLS is the time per call.
N_CALLS = 1_000

_SEED = 20_240_601
# Keys are 2 * r with r < 2**61: non-negative, even, and below 2**62.
_HALF_RANGE = 2**61


def _rng(*salt: int) -> np.random.Generator:
    """A generator that depends only on ``salt``: the same keys in every process."""
    return np.random.default_rng([_SEED, *salt])


@functools.lru_cache(maxsize=None)
def sorted_keys(n: int) -> np.ndarray:
    """``n`` distinct random even int64 keys, ascending (read-only, memoized)."""
    rng = _rng(1, n)
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < n:  # collisions among 2**61 values are rare; top up if any
        more = rng.integers(0, _HALF_RANGE, n - len(keys), dtype=np.int64) * 2
        keys = sort_unique(np.concatenate([keys, more]))
    keys.flags.writeable = False
    return keys


@functools.lru_cache(maxsize=None)
def unsorted_keys(n: int) -> np.ndarray:
    """The keys of :func:`sorted_keys` in random order (read-only, memoized)."""
    keys = _rng(2, n).permutation(sorted_keys(n))
    keys.flags.writeable = False
    return keys


@functools.lru_cache(maxsize=None)
def present_keys(n: int, m: int, salt: int = 0) -> np.ndarray:
    """``m`` random keys of the ``n``-key set: distinct when ``m <= n``."""
    keys = sorted_keys(n)
    idx = _rng(3, n, m, salt).choice(n, size=m, replace=m > n)
    out = keys[idx]
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=None)
def absent_keys(n: int, m: int, salt: int = 0) -> np.ndarray:
    """``m`` distinct random odd keys: never in any set built here."""
    rng = _rng(4, n, m, salt)
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < m:
        more = rng.integers(0, _HALF_RANGE, m - len(keys), dtype=np.int64) * 2 + 1
        keys = np.unique(np.concatenate([keys, more]))  # only m keys: hashing is fine here
    keys = _rng(5, n, m, salt).permutation(keys)  # random order, like real inserts
    keys.flags.writeable = False
    return keys


@functools.lru_cache(maxsize=None)
def mixed_queries(n: int, m: int) -> np.ndarray:
    """``m`` query keys, half in the ``n``-key set and half not, shuffled."""
    q = np.concatenate([present_keys(n, m // 2, 1), absent_keys(n, m - m // 2, 1)])
    q = _rng(6, n, m).permutation(q)
    q.flags.writeable = False
    return q


@functools.lru_cache(maxsize=None)
def random_indices(n: int, m: int) -> np.ndarray:
    """``m`` random valid indices into an ``n``-key set."""
    out = _rng(7, n, m).integers(0, n, m, dtype=np.int64)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=None)
def other_keys(n: int) -> np.ndarray:
    """``n`` sorted keys sharing half of :func:`sorted_keys`: the second set operand."""
    both = np.concatenate([present_keys(n, n // 2, 2), absent_keys(n, n - n // 2, 2)])
    out = np.sort(both)  # already distinct: present keys are even, absent ones odd
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=None)
def base_set(n: int, chunk: int = 512) -> SortedSet:
    """The ``n``-key set (memoized): NEVER mutate it; mutate ``base_set(...).copy()``."""
    return SortedSet.from_sorted(sorted_keys(n), chunk_size=chunk)


@functools.lru_cache(maxsize=None)
def other_set(n: int, chunk: int = 512) -> SortedSet:
    """The second operand of union/intersection (memoized, never mutated)."""
    return SortedSet.from_sorted(other_keys(n), chunk_size=chunk)


@functools.lru_cache(maxsize=None)
def warm_jit() -> None:
    """Call every operation once so that no timing includes compiling or cache loading.

    jitset compiles (or loads from numba's disk cache) each kernel on its
    first use, per key dtype; a first call can cost seconds.  Batch
    operations have two paths each (a local merge for a batch small next to
    the set, a linear rebuild otherwise; a per-query search or a sorted
    sweep), so both sizes of batch are exercised here.
    """
    evens = np.arange(0, 20_000, 2, dtype=np.int64)
    s = SortedSet.from_sorted(evens, chunk_size=64)
    few = np.array([1, 3, 5], dtype=np.int64)  # local merge: 3 * 32 < 10,000
    many = np.arange(1, 8_001, 2, dtype=np.int64)  # rebuild: 4,000 * 32 >= 10,000
    s.add(7), s.discard(7), 8 in s, s[5], s.index(8), s.bisect_left(9), s.bisect_right(9), s.floor(9)
    for batch in (few, many):
        s.add_many(batch)
        s.discard_many(batch)
        s.replace_many(evens[: len(batch)], batch)
        s.replace_many(batch, evens[: len(batch)])
        s.contains_many(batch), s.searchsorted(batch), s.index_many(batch), s.take(few)
    s.contains_many(few[:1]), s.searchsorted(few[:1])  # single query: the per-query path
    t = SortedSet(evens[::-1].copy(), chunk_size=64)
    s | t, s & t, s.copy(), s.to_numpy(), s <= t
    s.insert(7), s.discard_irange(7, 7)
    del t[10:5000]
