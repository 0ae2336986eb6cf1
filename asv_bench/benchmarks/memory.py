"""Memory: bytes per key, chunk fill factor, peak RSS.

The ``track_`` benchmarks report a number rather than a time; asv records
and plots it per commit like a timing, so a regression in memory shows up
the same way.  Start-up and compile time are in :mod:`.compile_time`.
"""

from __future__ import annotations

from jitset import SortedSet

from ._common import CHUNKS, absent_keys, unsorted_keys, warm_jit

#: Keys in the "built" set.
BUILD_KEYS = 10**6
#: Keys added one ``add`` call at a time to an empty set: enough for the chunk
#: layout to reach its steady state of splits (~0.3 s per chunk size), far
#: cheaper than 1M calls.
INSERT_KEYS = 200_000


def _stats(s: SortedSet) -> dict:
    store = s._store  # private: the number of chunks is not public API
    return {
        "bytes_per_key": s.nbytes / len(s),
        "fill": len(s) / (store.nchunks * s.chunk_size),
    }


class Layout:
    """Bytes per key and chunk fill factor, after a build and after random single inserts.

    * ``bytes_per_key``: ``nbytes / len``: every array the set allocated,
      free rows included (a build keeps ~25% spare rows for later inserts).
    * ``fill``: ``len / (chunks * chunk_size)``: how full the chunks in use
      are.  A build fills them to 3/4; random inserts split full chunks in
      two, which settles lower.

    All numbers are computed once in ``setup_cache`` (one process builds
    every set) and only read by the benchmarks.
    """

    params = [CHUNKS]
    param_names = ["chunk_size"]
    timeout = 300

    def setup_cache(self):
        warm_jit()
        out = {}
        for chunk in CHUNKS:
            built = SortedSet(unsorted_keys(BUILD_KEYS), chunk_size=chunk)
            inserted = SortedSet(chunk_size=chunk)
            add = inserted.add
            for k in absent_keys(0, INSERT_KEYS).tolist():  # random order
                add(k)
            out[chunk] = {"built": _stats(built), "inserted": _stats(inserted)}
        return out

    def track_bytes_per_key_built(self, stats, chunk):
        """``nbytes / len`` after ``SortedSet(keys)`` of 1M random int64 keys."""
        return stats[chunk]["built"]["bytes_per_key"]

    track_bytes_per_key_built.unit = "bytes/key"

    def track_bytes_per_key_inserted(self, stats, chunk):
        """``nbytes / len`` after 200,000 random ``s.add(key)`` calls into an empty set."""
        return stats[chunk]["inserted"]["bytes_per_key"]

    track_bytes_per_key_inserted.unit = "bytes/key"

    def track_fill_built(self, stats, chunk):
        """``len / (chunks * chunk_size)`` after ``SortedSet(keys)`` of 1M random keys."""
        return stats[chunk]["built"]["fill"]

    track_fill_built.unit = "fraction"

    def track_fill_inserted(self, stats, chunk):
        """``len / (chunks * chunk_size)`` after 200,000 random ``s.add(key)`` calls."""
        return stats[chunk]["inserted"]["fill"]

    track_fill_inserted.unit = "fraction"


def track_bytes_over_raw_10m_batches():
    """``nbytes / (8 * len)`` after 10M random int64 keys added in 100 batches of 100,000.

    The ratio of memory held to the keys' own bytes (issue: stay under 1.5),
    spare rows and partly filled chunks included.
    """
    import numpy as np

    rng = np.random.default_rng(10)
    s = SortedSet()
    for _ in range(100):
        s.add_many(rng.integers(0, 2**62, 100_000))
    return s.nbytes / (8 * len(s))


track_bytes_over_raw_10m_batches.unit = "ratio"
track_bytes_over_raw_10m_batches.timeout = 300


class PeakMemory:
    """Peak resident memory of a process building a 1M-key set.

    Importing numba alone takes ~170-200 MB, so this mostly tracks the
    interpreter; bytes per key (:class:`Layout`) is the finer measure.
    """

    timeout = 120

    def setup(self):
        warm_jit()
        self.keys = unsorted_keys(BUILD_KEYS)

    def peakmem_build_1m(self):
        """``SortedSet(keys)`` of 1M random int64 keys."""
        SortedSet(self.keys)
