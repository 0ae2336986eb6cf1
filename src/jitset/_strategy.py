"""Which kernel a batch runs, chosen from what the batch will touch.

A batch of ``m`` keys on a set of ``n`` keys in ``nchunks`` chunks can be
applied three ways (kernels in :mod:`jitset._batch_kernels`):

* **local**: key by key into the chunks they land in (``add_sorted``), or
  one search per query (``rank_each``).  Costs O(log n + chunk) per key and
  nothing per chunk it does not touch: the choice for a few keys.
  ``take`` likewise finds each index in the tree (``take``).
* **merge**: one walk over the chunks in key order (``merge_add``,
  ``merge_discard``, ``rank_sorted``, ``take_sorted``), each touched chunk
  handled once for all its keys, the Fenwick tree rebuilt once rather than
  updated per key.
  Costs O(nchunks) of bookkeeping on the small per-chunk arrays plus the
  bytes of the chunks touched.
* **rebuild**: one linear merge of the whole set into new arrays
  (``rebuild``).  O(n + m), and it allocates (and page-faults) a set's
  worth of memory: only when the batch rewrites most of the set anyway.

So the choice depends on the batch's keys per chunk ``m / nchunks`` (how
much of the walk is shared) and on ``m / n`` (how much of the set it
rewrites), not on ``m`` alone: a rule measured at one set size in absolute
numbers went wrong at others (at 10^7 keys a 100,000-key ``discard_many``
took a rebuild, 1.1-2x slower than calling the scalar kernel per key).

The constants below were measured on the 2-core machine of docs/performance.md, with
random int64 keys and batches of random keys, at 10^5 to 10^8 keys
(``python -m jitset bench --strategies``, ns per key, median of 3; the 10^7
and 10^8 rows after the last change to the walks)::

    keys   batch  keys/chunk | add local  merge | discard merge rebuild | query each sweep
    1e5      100    0.38     |     1,087    943 |           811  17,903 |        650   574
    1e5    1,000    3.9      |       227    184 |           202     624 |        156   188
    1e6      100    0.038    |     1,259  1,092 |           949       - |        765   826
    1e6    1,000    0.38     |       589    511 |           439   9,459 |        421   288
    1e6  100,000   43        |       147   68.6 |          67.5    76.9 |        275   114
    1e7      100    0.0038   |     1,665  1,934 |         1,788       - |      1,288 1,271
    1e7    1,000    0.038    |     1,066  1,026 |           855       - |        704   671
    1e7  100,000    3.9      |       282    240 |           225     606 |        401   186
    1e8    1,000    0.0038   |     1,102  1,383 |         1,061       - |        498   738
    1e8   10,000    0.038    |       737    768 |           673       - |        452   419
    1e8  100,000    0.38     |       420    411 |           423   5,429 |        512   236

Inserts cross over between 0.004 and 0.04 keys per chunk, queries between
0.04 and 0.4; removals have no key-by-key variant left (merge_discard with
a few keys does what the scalar kernel does, per key).  Tests force each
strategy with :func:`forcing` to check that the choice never changes a
result.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

#: ``add_many`` merges chunk by chunk when ``m * ADD_MERGE >= nchunks``.  The
#: merge's walk over the positions costs ~5-10 ns per chunk; inserting one
#: key costs 0.4-1 us: the walk pays off from about one key per 16-64
#: chunks at every size measured.
ADD_MERGE = 32

#: Queries are sorted and answered by one sweep when ``m * QUERY_SWEEP >=
#: nchunks`` (and m > 1); the sweep walks every chunk position, a search
#: costs log(nchunks) probes.
QUERY_SWEEP = 8

#: ``discard_many`` and ``replace_many`` rebuild the set when the keys to
#: remove are at least this fraction of it; otherwise removals merge chunk
#: by chunk.  Not for speed: ``merge_discard`` measured faster than a
#: rebuild at every fraction tried at 10^6 keys (10% of the keys out: 78 vs
#: 97 ns per key; 90%: 25 vs 30), and never slower than key by key (with a
#: few keys it asks the tree, as the scalar kernel does).  For memory: after
#: removing 75% of the keys in place, chunks sit near a quarter full (48
#: bytes per key measured, against 21.5 after a rebuild).
DISCARD_REBUILD = 0.75

#: In-place set algebra (``s |= other``, ``-=``, ``^=``) with an operand of
#: ``m`` keys edits the set's chunks with the batch kernels (as ``add_many``
#: / ``discard_many`` would) when ``m * IN_PLACE_EDIT[op] < n``; otherwise one
#: walk writes new chunks and the set adopts them (``combine``).  Measured on
#: a long-lived 1M-key int64 set (5 rounds of 100,000-key churn), operands of
#: independent random keys, medians of 5, edit / combine time:
#:
#: ====================  ======  ======  ======  ======  ======  ======
#: m                      4,000  16,000  32,000  64,000  125,000 250,000
#: ====================  ======  ======  ======  ======  ======  ======
#: ``|=`` (new keys)       0.34    0.48    0.61    0.56    0.66    0.95
#: ``-=`` (present keys)   0.35    0.44    0.61    0.69    1.09    1.89
#: ``^=`` (new keys)       0.36    0.77    1.26    1.15    1.86    2.30
#: ====================  ======  ======  ======  ======  ======  ======
#:
#: Editing moves the keys of the chunks it touches; the walk moves all of
#: them but at memory speed.  ``^=`` edits twice (a discard and an add).
#: ``&=`` always walks: its result is at most the smaller side.
IN_PLACE_EDIT = {"union": 4, "difference": 10, "symmetric_difference": 40}

_STRATEGIES = {
    "add": ("local", "merge"),
    "discard": ("merge", "rebuild"),
    "query": ("each", "sweep"),
    "in_place": ("edit", "combine"),
}

# Strategies forced by tests (see forcing()); empty in normal use.
_forced: dict[str, str] = {}


def add(m: int, nchunks: int) -> str:
    """``"local"`` or ``"merge"`` for inserting ``m`` new keys (sorted, unique)."""
    forced = _forced.get("add")
    if forced is not None:
        return forced
    return "merge" if m * ADD_MERGE >= nchunks else "local"


def discard(m: int, size: int) -> str:
    """``"merge"`` or ``"rebuild"`` for removing ``m`` keys (sorted, unique) from ``size``."""
    forced = _forced.get("discard")
    if forced is not None:
        return forced
    return "rebuild" if m > 0 and m >= DISCARD_REBUILD * size else "merge"


def query(m: int, nchunks: int) -> str:
    """``"each"`` or ``"sweep"`` for answering ``m`` queries (keys, or indices for ``take``)."""
    forced = _forced.get("query")
    if forced is not None:
        return forced
    return "sweep" if m > 1 and m * QUERY_SWEEP >= nchunks else "each"


def in_place(op: str, m: int, n: int) -> str:
    """``"edit"`` or ``"combine"`` for ``s op= other`` with ``m`` keys on a set of ``n`` (see IN_PLACE_EDIT)."""
    forced = _forced.get("in_place")
    if forced is not None:
        return forced
    return "edit" if m * IN_PLACE_EDIT[op] < n else "combine"


@contextmanager
def forcing(**choices: str) -> Iterator[None]:
    """Force strategies for the duration of a ``with`` block (for tests).

    Examples
    --------
    >>> from jitset import SortedSet
    >>> with forcing(add="local", discard="rebuild", query="each"):
    ...     SortedSet([1, 2]).add_many([3]).tolist()
    [2]
    """
    for kind, choice in choices.items():
        if choice not in _STRATEGIES.get(kind, ()):
            raise ValueError(f"unknown strategy {kind}={choice!r}; choose from {_STRATEGIES}")
    saved = dict(_forced)
    _forced.update(choices)
    try:
        yield
    finally:
        _forced.clear()
        _forced.update(saved)
