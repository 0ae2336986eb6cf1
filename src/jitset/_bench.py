"""Side-by-side benchmark: jitset.SortedSet against its peers, in one process.

Everyone gets the same keys: ``size`` distinct random non-negative 63-bit
integers (non-negative so that ``pyroaring.BitMap64`` can hold them), plus
``batch`` new keys, ``batch`` present keys and ``batch`` mixed queries.  Each
peer receives them in its natural form: jitset and NumPy an int64 array,
sortedcontainers and pyroaring a list of Python ints (converted outside the
timings).

Peers
-----
``sortedcontainers``
    ``sortedcontainers.SortedSet``: the pure-Python reference.
``numpy``
    A plain sorted int64 array: ``searchsorted`` to find, ``np.insert`` /
    ``np.delete`` to change (a full copy per change), ``np.sort`` plus a
    dedupe mask to build, ``concatenate`` + sort + dedupe and ``intersect1d``
    for set algebra (``np.union1d`` hashes in NumPy 2.x: ~100x slower).
``BitMap64``
    ``pyroaring.BitMap64``: a compressed bitmap.  Its rank and select
    (``index`` and ``s[i]``) walk every 2**32-wide bucket, and random 63-bit
    keys give one bucket per key, so they cost tens of milliseconds per call
    at 1M keys: they are timed on a handful of calls only, and
    ``searchsorted`` (one rank per query) is skipped.

A second table times the batch operations on the member-list key of the
demo, ``(group u1, name S16, id u8)`` (normalized to four 64-bit words),
against the same operations on int64 keys and against
``sortedcontainers.SortedSet`` of ``(int, bytes, int)`` tuples.

A missing peer (not installed) is skipped with a note.  ``python -m jitset
bench`` calls :func:`run`.
"""

from __future__ import annotations

import functools
import gc
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, TextIO

import numpy as np

from jitset._keys import sort_unique  # np.sort + dedupe mask: np.unique hashes first in NumPy 2.x, ~13x slower

__all__ = ["run", "threads", "OPERATIONS"]

#: (name, description) of every measured row, in table order.
OPERATIONS = [
    ("add", "s.add(k) loop, new keys"),
    ("discard", "s.discard(k) loop, present keys"),
    ("contains", "k in s loop, present keys"),
    ("getitem", "s[i] loop, random i"),
    ("index", "s.index(k) loop, present keys"),
    ("add_many", "one batch of new keys"),
    ("discard_many", "one batch of present keys"),
    ("contains_many", "one batch, half present"),
    ("searchsorted", "one batch, half present"),
    ("build", "from size unsorted keys"),
    ("union", "two size sets, half shared"),
    ("intersection", "two size sets, half shared"),
    ("memory", "bytes per key after build"),
]

#: Python-loop calls per scalar operation (fewer when the set is smaller).
SCALAR_CALLS = 5_000
#: Largest set the Python-object peers are built at.  sortedcontainers holds
#: about 80 bytes per key and builds at ~1.5 us per key (10^7 keys: ~1 GB,
#: half a minute); BitMap64 gives random 63-bit keys one bucket each.  At
#: 10^8 neither fits beside jitset's and NumPy's sets on a 24 GiB machine.
PYTHON_PEERS_MAX = 10**7
#: Calls for the pathologically slow scalar cases (BitMap64 rank/select).
HANDFUL = 3
#: Read-only cases quicker than this (seconds) are repeated within one run.
MIN_RUN = 0.005
_KEY_HIGH = 2**63 - 1  # keys in [0, 2**63 - 1): fit int64 and BitMap64 alike


# ---------------------------------------------------------------- the keys


def _member(sorted_keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Membership of each query in ``sorted_keys`` (vectorized)."""
    if len(sorted_keys) == 0:
        return np.zeros(len(queries), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    return sorted_keys[pos] == queries


def _fresh(rng: np.random.Generator, avoid: np.ndarray, m: int) -> np.ndarray:
    """``m`` distinct random keys, none in ``avoid`` (sorted), in random order."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < m:
        more = rng.integers(0, _KEY_HIGH, m - len(out), dtype=np.int64)
        more = more[~_member(avoid, more)]
        out = sort_unique(np.concatenate([out, more]))
    return rng.permutation(out)


@dataclass
class _Keys:
    """Every key any peer sees, generated once."""

    keys: np.ndarray  # the set: sorted, distinct
    unsorted: np.ndarray  # the same keys shuffled (build input)
    other: np.ndarray  # second set operand: sorted, half of it shared with ``keys``
    new: np.ndarray  # ``batch`` keys not in the set, random order
    old: np.ndarray  # ``batch`` keys of the set (distinct when batch <= size)
    queries: np.ndarray  # ``batch`` queries, half in the set, shuffled
    scalar_new: list  # Python ints not in the set, distinct from ``new``
    scalar_old: list  # Python ints in the set, distinct
    scalar_idx: list  # valid indices
    lists: dict = field(default_factory=dict)  # ndarray -> list, memoized by name

    def as_list(self, name: str) -> list:
        if name not in self.lists:
            self.lists[name] = getattr(self, name).tolist()
        return self.lists[name]


def _make_keys(size: int, batch: int, n_scalar: int, seed: int) -> _Keys:
    """All keys of one run from one seed, so that every peer sees the same ones.

    New keys (batch, scalar, and the half of ``other`` not in the set) are
    drawn together so they are distinct from each other too: then adding
    and discarding them restores every peer exactly.
    """
    rng = np.random.default_rng(seed)
    keys = _fresh(rng, np.empty(0, dtype=np.int64), size)
    unsorted = keys  # _fresh returns random order
    keys = np.sort(keys)
    fresh = _fresh(rng, keys, batch + n_scalar + (size - size // 2))
    new, scalar_new, other_half = fresh[:batch], fresh[batch : batch + n_scalar], fresh[batch + n_scalar :]
    old = keys[rng.choice(size, size=batch, replace=batch > size)]
    shared = keys[rng.choice(size, size=size // 2, replace=False)]
    other = np.sort(np.concatenate([shared, other_half]))
    queries = rng.permutation(
        np.concatenate([keys[rng.integers(0, size, batch // 2)], new[: batch - batch // 2]])
    )
    return _Keys(
        keys=keys,
        unsorted=unsorted,
        other=other,
        new=new,
        old=old,
        queries=queries,
        scalar_new=scalar_new.tolist(),
        scalar_old=keys[rng.choice(size, size=n_scalar, replace=False)].tolist(),
        scalar_idx=rng.integers(0, size, n_scalar).tolist(),
    )


# ------------------------------------------------------------- measuring


@dataclass
class _Case:
    """One timed thing: ``fn`` does ``n`` operations; ``restore`` undoes it (untimed)."""

    fn: Callable[[], object]
    n: int
    restore: Optional[Callable[[], object]] = None
    repeats: Optional[int] = None  # overrides run(repeats=...) for very slow cases
    note: Optional[str] = None
    value: Optional[float] = None  # a number to report instead of a timing (memory)


def _progress(started: float) -> Callable[[str], None]:
    """A progress printer for stderr: seconds since ``started``, then the message."""

    def progress(msg: str) -> None:
        print(f"[bench {time.perf_counter() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    return progress


def _median_ns(case: _Case, repeats: int) -> float:
    """Median over ``repeats`` runs of the time per operation, in ns."""
    if case.value is not None:
        return case.value
    calls = 1
    if case.restore is None and case.repeats is None:
        # A read-only case faster than MIN_RUN is called several times per run
        # (like timeit's autorange), or a tiny batch would be timed at the
        # clock's and the first call's noise.
        start = time.perf_counter()
        case.fn()
        once = time.perf_counter() - start
        calls = max(1, min(1_000, int(MIN_RUN / max(once, 1e-9))))
    fn = case.fn
    times = []
    for _ in range(case.repeats or repeats):
        # As timeit does: no collection pause lands inside a timing (the
        # Python-object peers allocate millions of objects).  No gc.collect()
        # here: with numba loaded one costs ~75 ms, once per operation is enough.
        gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times.append((time.perf_counter() - start) / calls)
        finally:
            gc.enable()
        if case.restore is not None:
            case.restore()
    return statistics.median(times) / case.n * 1e9


class _Skip(Exception):
    """A peer cannot do an operation (sensibly); the message says why."""


# ------------------------------------------------------------------ peers
# Each peer turns an operation name into a _Case working on its own copy of
# the data.  Scalar loops bind the method to a local first, for every peer,
# as a performance-aware caller would.


_SCALAR_OPS = ("add", "discard", "contains", "getitem", "index")


def _scalar_case(s, d: _Keys, op: str, undo_add, undo_discard) -> _Case:
    """A Python loop of one scalar call per key, for sets with sortedcontainers' API."""
    if op == "getitem":
        idx = d.scalar_idx

        def fn():
            for i in idx:
                s[i]

        return _Case(fn, len(idx))
    keys = d.scalar_new if op == "add" else d.scalar_old
    if op == "contains":

        def fn():
            for k in keys:
                k in s

        return _Case(fn, len(keys))
    method = getattr(s, op)

    def fn():
        for k in keys:
            method(k)

    if op == "add":
        return _Case(fn, len(keys), restore=lambda: undo_add(keys))
    if op == "discard":
        return _Case(fn, len(keys), restore=lambda: undo_discard(keys))
    return _Case(fn, len(keys))


class _Jitset:
    name = "jitset"

    def __init__(self, d: _Keys) -> None:
        from jitset import SortedSet

        self.cls = SortedSet
        self.d = d
        self.s = SortedSet.from_sorted(d.keys)
        self.t = SortedSet.from_sorted(d.other)

    def case(self, op: str) -> _Case:
        d, s = self.d, self.s
        if op in _SCALAR_OPS:
            # restore in batch: a loop of single calls would cost more than the timed run
            return _scalar_case(s, d, op, undo_add=lambda keys: s.discard_many(keys),
                                undo_discard=lambda keys: s.add_many(keys))
        if op == "add_many":
            return _Case(lambda: s.add_many(d.new), len(d.new), restore=lambda: s.discard_many(d.new))
        if op == "discard_many":
            return _Case(lambda: s.discard_many(d.old), len(d.old), restore=lambda: s.add_many(d.old))
        if op == "contains_many":
            return _Case(lambda: s.contains_many(d.queries), len(d.queries))
        if op == "searchsorted":
            return _Case(lambda: s.searchsorted(d.queries), len(d.queries))
        if op == "build":
            return _Case(lambda: self.cls(d.unsorted), len(d.unsorted))
        if op == "union":
            return _Case(lambda: s | self.t, len(s) + len(self.t))
        if op == "intersection":
            return _Case(lambda: s & self.t, len(s) + len(self.t))
        if op == "memory":
            built = self.cls(d.unsorted)
            return _Case(lambda: None, 1, value=built.nbytes / len(built), note="nbytes: allocated arrays, spare rows included")
        raise _Skip(f"unknown operation {op}")

    # results compared with the NumPy reference before anything is timed
    def check(self) -> list[str]:
        d, s = self.d, self.s
        problems = []
        if not np.array_equal(s.to_numpy(), d.keys):
            problems.append("jitset: to_numpy() differs from the keys it was built from")
        if not np.array_equal(s.contains_many(d.queries), _member(d.keys, d.queries)):
            problems.append("jitset: contains_many disagrees with NumPy")
        if not np.array_equal(s.searchsorted(d.queries), np.searchsorted(d.keys, d.queries)):
            problems.append("jitset: searchsorted disagrees with np.searchsorted")
        if not np.array_equal((s | self.t).to_numpy(), sort_unique(np.concatenate([d.keys, d.other]))):
            problems.append("jitset: union disagrees with NumPy")
        if not np.array_equal((s & self.t).to_numpy(), np.intersect1d(d.keys, d.other, assume_unique=True)):
            problems.append("jitset: intersection disagrees with np.intersect1d")
        return problems


class _SortedContainers:
    name = "sortedcontainers"
    max_keys = PYTHON_PEERS_MAX

    def __init__(self, d: _Keys) -> None:
        from sortedcontainers import SortedSet

        self.cls = SortedSet
        self.d = d
        self.s = SortedSet(d.as_list("keys"))
        self.t = SortedSet(d.as_list("other"))

    def case(self, op: str) -> _Case:
        d, s = self.d, self.s
        if op in _SCALAR_OPS:
            return _scalar_case(s, d, op, undo_add=s.difference_update, undo_discard=s.update)
        if op == "add_many":
            new = d.as_list("new")
            return _Case(lambda: s.update(new), len(new), restore=lambda: s.difference_update(new))
        if op == "discard_many":
            old = d.as_list("old")
            return _Case(lambda: s.difference_update(old), len(old), restore=lambda: s.update(old))
        if op == "contains_many":
            q = d.as_list("queries")
            return _Case(lambda: list(map(s.__contains__, q)), len(q), note="map(s.__contains__, list)")
        if op == "searchsorted":
            q = d.as_list("queries")
            return _Case(lambda: list(map(s.bisect_left, q)), len(q), note="map(s.bisect_left, list)")
        if op == "build":
            keys = d.as_list("unsorted")
            return _Case(lambda: self.cls(keys), len(keys))
        if op == "union":
            return _Case(lambda: s | self.t, len(s) + len(self.t))
        if op == "intersection":
            return _Case(lambda: s & self.t, len(s) + len(self.t))
        if op == "memory":
            built = self.cls(d.as_list("unsorted"))
            return _Case(lambda: None, 1, value=_sortedcontainers_bytes(built) / len(built), note="sys.getsizeof of its set, lists and int objects")
        raise _Skip(f"unknown operation {op}")

    def check(self) -> list[str]:
        # Cheap on purpose: a union of two 1M-key sets here costs seconds.
        d, s = self.d, self.s
        mid = len(d.keys) // 2
        if len(s) != len(d.keys) or s[mid] != d.keys[mid] or s.index(int(d.keys[mid])) != mid:
            return ["sortedcontainers: the set disagrees with its keys (benchmark bug)"]
        return []


def _sortedcontainers_bytes(s) -> int:
    """Deep size of a sortedcontainers.SortedSet (its internals: stable since 2.0)."""
    sl = s._list
    total = sys.getsizeof(s) + sys.getsizeof(s._set) + sys.getsizeof(sl)
    total += sys.getsizeof(sl._lists) + sum(map(sys.getsizeof, sl._lists))
    total += sys.getsizeof(sl._maxes) + sys.getsizeof(sl._index)
    # The int objects are shared by the hash set and the lists: count them once.
    return total + sum(map(sys.getsizeof, s._set))


class _NumPy:
    name = "numpy"
    max_keys = None

    def __init__(self, d: _Keys) -> None:
        self.d = d
        self.a = d.keys  # never modified: every change makes a new array

    def _scalar_calls(self) -> int:
        # np.insert / np.delete copy the whole array per call (~0.25 ms at 1M
        # keys, ~0.3 s at 10^8): fewer calls keep a run short without
        # changing the per-call cost.
        return int(min(len(self.d.scalar_new), max(10, 50_000_000 // len(self.a))))

    def case(self, op: str) -> _Case:
        d, a = self.d, self.a
        if op == "add":
            keys = d.scalar_new[: self._scalar_calls()]

            def fn():
                x = a
                for k in keys:
                    x = np.insert(x, x.searchsorted(k), k)

            return _Case(fn, len(keys), note=f"np.insert per key ({len(keys):,} calls)")
        if op == "discard":
            keys = d.scalar_old[: self._scalar_calls()]

            def fn():
                x = a
                for k in keys:
                    i = x.searchsorted(k)
                    if i < len(x) and x[i] == k:
                        x = np.delete(x, i)

            return _Case(fn, len(keys), note=f"np.delete per key ({len(keys):,} calls)")
        if op == "contains":
            keys = d.scalar_old
            n = len(a)

            def fn():
                ss = a.searchsorted
                for k in keys:
                    i = ss(k)
                    i < n and a[i] == k

            return _Case(fn, len(keys))
        if op == "getitem":
            idx = d.scalar_idx

            def fn():
                for i in idx:
                    a[i]

            return _Case(fn, len(idx))
        if op == "index":
            keys = d.scalar_old

            def fn():
                ss = a.searchsorted
                for k in keys:
                    ss(k)

            return _Case(fn, len(keys), note="searchsorted, presence not checked")
        if op == "add_many":
            return _Case(lambda: _numpy_add_many(a, d.new), len(d.new))
        if op == "discard_many":
            return _Case(lambda: _numpy_discard_many(a, d.old), len(d.old))
        if op == "contains_many":
            return _Case(lambda: _member(a, d.queries), len(d.queries))
        if op == "searchsorted":
            return _Case(lambda: a.searchsorted(d.queries), len(d.queries))
        if op == "build":
            return _Case(lambda: sort_unique(d.unsorted), len(d.unsorted), note="np.sort + dedupe mask")
        if op == "union":
            return _Case(lambda: sort_unique(np.concatenate([a, d.other])), len(a) + len(d.other),
                         note="concatenate + sort + dedupe (np.union1d hashes: ~100x slower)")
        if op == "intersection":
            return _Case(lambda: np.intersect1d(a, d.other, assume_unique=True), len(a) + len(d.other))
        if op == "memory":
            return _Case(lambda: None, 1, value=a.nbytes / len(a))
        raise _Skip(f"unknown operation {op}")

    def check(self) -> list[str]:
        d = self.d
        expected = sort_unique(np.concatenate([d.keys, d.new]))
        if not np.array_equal(_numpy_add_many(d.keys, d.new), expected):
            return ["numpy peer: add_many is wrong (benchmark bug)"]
        return []


def _numpy_add_many(a: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Sorted ``a`` plus the keys of ``new`` not in it: one ``np.insert``."""
    u = sort_unique(new)
    pos = np.searchsorted(a, u)
    fresh = ~_member(a, u)
    return np.insert(a, pos[fresh], u[fresh])


def _numpy_discard_many(a: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Sorted ``a`` without the keys of ``old``: one ``np.delete``."""
    u = sort_unique(old)
    pos = np.searchsorted(a, u)
    return np.delete(a, pos[_member(a, u)])


class _BitMap64:
    name = "BitMap64"
    max_keys = PYTHON_PEERS_MAX

    def __init__(self, d: _Keys) -> None:
        from pyroaring import BitMap64

        self.cls = BitMap64
        self.d = d
        self.s = BitMap64(d.as_list("keys"))
        self.t = BitMap64(d.as_list("other"))

    def case(self, op: str) -> _Case:
        d, s = self.d, self.s
        if op == "add":
            keys = d.scalar_new

            def fn():
                add = s.add
                for k in keys:
                    add(k)

            def restore():
                for k in keys:
                    s.discard(k)

            return _Case(fn, len(keys), restore=restore)
        if op == "discard":
            keys = d.scalar_old

            def fn():
                discard = s.discard
                for k in keys:
                    discard(k)

            return _Case(fn, len(keys), restore=lambda: s.update(keys))
        if op == "contains":
            keys = d.scalar_old

            def fn():
                for k in keys:
                    k in s

            return _Case(fn, len(keys))
        if op == "getitem":
            idx = d.scalar_idx[:HANDFUL]

            def fn():
                for i in idx:
                    s[i]

            return _Case(fn, len(idx), repeats=1, note=f"select walks every bucket: {len(idx)} calls, 1 run")
        if op == "index":
            keys = d.scalar_old[:HANDFUL]

            def fn():
                rank = s.rank
                for k in keys:
                    rank(k) - 1

            return _Case(fn, len(keys), repeats=1, note=f"rank walks every bucket: {len(keys)} calls, 1 run")
        if op == "add_many":
            new = d.as_list("new")

            def restore():
                for k in new:
                    s.discard(k)

            return _Case(lambda: s.update(new), len(new), restore=restore)
        if op == "discard_many":
            old = d.as_list("old")

            def fn():
                # A discard() loop: faster here than difference_update(BitMap64(keys)).
                discard = s.discard
                for k in old:
                    discard(k)

            return _Case(fn, len(old), restore=lambda: s.update(old), note="discard() loop")
        if op == "contains_many":
            q = d.as_list("queries")
            return _Case(lambda: list(map(s.__contains__, q)), len(q), note="map(s.__contains__, list)")
        if op == "searchsorted":
            raise _Skip("skipped: one rank() per query, and rank walks every 2**32-wide bucket (see the index row)")
        if op == "build":
            keys = d.as_list("unsorted")
            return _Case(lambda: self.cls(keys), len(keys))
        if op == "union":
            return _Case(lambda: s | self.t, len(s) + len(self.t))
        if op == "intersection":
            return _Case(lambda: s & self.t, len(s) + len(self.t))
        if op == "memory":
            return _Case(lambda: None, 1, value=len(s.serialize()) / len(s), note="serialized size; memory in use is not exposed")
        raise _Skip(f"unknown operation {op}")

    def check(self) -> list[str]:
        d = self.d
        if len(self.s & self.t) != len(np.intersect1d(d.keys, d.other, assume_unique=True)):
            return ["BitMap64: intersection size disagrees with np.intersect1d"]
        return []


_PEERS = [
    (_SortedContainers, "sortedcontainers"),
    (_NumPy, "numpy"),
    (_BitMap64, "pyroaring"),
]


# ---------------------------------------------------------------- output


def _fmt_value(v: Optional[float]) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def _fmt_ratio(r: Optional[float]) -> str:
    if r is None:
        return "-"
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    if r >= 0.1:
        return f"{r:.2f}x"
    if r >= 0.001:
        return f"{r:.3f}x"
    return f"{r:.0e}x"  # e.g. 4e-05x: jitset ~25,000 times faster


def _warm_jitset() -> None:
    """Compile (or load from numba's cache) every kernel the timings use, both batch paths included."""
    from jitset import SortedSet

    s = SortedSet(np.arange(0, 20_000, 2, dtype=np.int64))
    few, many = np.array([1, 3], dtype=np.int64), np.arange(1, 8_001, 2, dtype=np.int64)
    s.add(5), s.discard(5), 4 in s, s[3], s.index(4)
    for b in (few, many):
        s.add_many(b), s.discard_many(b), s.contains_many(b), s.searchsorted(b)
    s.contains_many(few[:1]), s.searchsorted(few[:1])
    s | s, s & s, SortedSet.from_sorted(s.to_numpy())
    s.insert(5), s.discard(5), s.discard_irange(100, 4_000), s.add_many(np.arange(100, 4_001, 2)), s.irange(5, 9)


def _structured(d: _Keys, repeats: int, out: TextIO, progress: Callable[[str], None]) -> None:
    """The structured-key table: (u1, S16, u8) against int64 and against sortedcontainers tuples."""
    from jitset import SortedSet
    from jitset._demo import random_members

    size, batch = len(d.keys), len(d.new)
    rng = np.random.default_rng(54321)
    every = random_members(rng, size + batch)
    keys, new = every[:size], every[size:]
    queries = np.concatenate([new[: batch // 2], keys[rng.choice(size, batch - batch // 2, replace=False)]])
    progress("structured keys: building the sets")
    wide = SortedSet(keys)
    ints = SortedSet.from_sorted(d.keys)
    wide.add_many(new[:2]), wide.discard_many(new[:2]), wide.contains_many(queries[:2])  # compile
    rows = {
        "add_many": (
            _Case(lambda: wide.add_many(new), batch, restore=lambda: wide.discard_many(new)),
            _Case(lambda: ints.add_many(d.new), batch, restore=lambda: ints.discard_many(d.new)),
        ),
        "contains_many": (
            _Case(lambda: wide.contains_many(queries), batch),
            _Case(lambda: ints.contains_many(d.queries), batch),
        ),
    }
    peer = None
    try:
        from sortedcontainers import SortedSet as PeerSet

        peer = PeerSet(keys.tolist())
        new_t, queries_t = new.tolist(), queries.tolist()
        rows["add_many"] += (_Case(lambda: peer.update(new_t), batch, restore=lambda: peer.difference_update(new_t)),)
        rows["contains_many"] += (_Case(lambda: list(map(peer.__contains__, queries_t)), batch),)
    except ImportError:
        pass
    if not np.array_equal(wide.contains_many(queries), np.isin(np.arange(batch), np.arange(batch // 2, batch))):
        print("WARNING: structured contains_many disagrees with the keys (benchmark bug)", file=out)
    print(f"\nstructured keys (group u1, name S16, id u8) vs int64 keys and sortedcontainers tuples: "
          f"{size:,} keys, batches of {batch:,}, ns per key", file=out)
    head = f"{'operation':<14} {'jitset (u1,S16,u8)':>19} | {'jitset int64':>12} {'ratio':>7}"
    if peer is not None:
        head += f" | {'sortedcontainers':>16} {'ratio':>8}"
    print(head, file=out)
    print("-" * len(head), file=out)
    for op, cases in rows.items():
        gc.collect()
        ns = [_median_ns(case, repeats) for case in cases]
        line = f"{op:<14} {_fmt_value(ns[0]):>19} | {_fmt_value(ns[1]):>12} {_fmt_ratio(ns[0] / ns[1]):>7}"
        if len(ns) > 2:
            line += f" | {_fmt_value(ns[2]):>16} {_fmt_ratio(ns[0] / ns[2]):>8}"
        print(line, file=out)
        progress(f"structured {op}: " + " ".join(_fmt_value(v) for v in ns))
    if peer is None:
        print("  - sortedcontainers: skipped, not installed (pip install sortedcontainers)", file=out)
    else:
        print("  - sortedcontainers: update(list of tuples); contains_many is map(s.__contains__, list), "
              "a hash lookup per key", file=out)
    print(f"  - memory: {wide.nbytes / len(wide):.1f} bytes per key for jitset (25 bytes of key data, "
          f"stored as 32)", file=out)


def _interleaved(cases: dict, repeats: int, rounds: int = 3,
                 after_round: Optional[Callable[[int], None]] = None) -> dict:
    """Median ns per operation of each case, measured in ``rounds`` alternating rounds.

    For ratios between cases of one peer that are close (``insert`` against
    ``add``): alternating spreads the machine's drift over all of them.
    Each round takes the median of ``repeats`` runs of each case;
    ``after_round(r)`` (if given) is called after round ``r`` (from 1), for
    progress reports on long runs.
    """
    samples: dict = {name: [] for name in cases}
    for r in range(rounds):
        for name, case in cases.items():
            samples[name].append(_median_ns(case, repeats))
        if after_round is not None:
            after_round(r + 1)
    return {name: statistics.median(v) for name, v in samples.items()}


def _api(d: _Keys, repeats: int, out: TextIO, progress: Callable[[str], None]) -> None:
    """``insert`` against ``add``, and removing a run of keys by position or by key range.

    The run is ``batch`` consecutive keys from a third of the way in.  The
    same removal is timed as ``del s[i:j]``, ``discard_irange(lo, hi)``,
    ``discard_many(irange(lo, hi))`` (the two-call way it replaces),
    ``del s[i:j]`` on a sortedcontainers.SortedSet, and a NumPy copy without
    the run; every case puts the keys back (untimed) after each run.
    """
    from jitset import SortedSet

    size, batch = len(d.keys), len(d.new)
    s = SortedSet.from_sorted(d.keys)
    new = d.scalar_new
    add, insert = s.add, s.insert

    def add_loop():
        for k in new:
            add(k)

    def insert_loop():
        for k in new:
            insert(k)

    progress("api: insert against add")
    scalar = _interleaved({
        "add": _Case(add_loop, len(new), restore=lambda: s.discard_many(new)),
        "insert": _Case(insert_loop, len(new), restore=lambda: s.discard_many(new)),
    }, repeats)

    i = size // 3
    j = min(size, i + batch)
    run = d.keys[i:j]
    lo, hi = int(run[0]), int(run[-1])
    put_back = lambda: s.add_many(run)  # noqa: E731
    cases = {
        "del s[i:j]": _Case(lambda: s.__delitem__(slice(i, j)), len(run), restore=put_back),
        "discard_irange": _Case(lambda: s.discard_irange(lo, hi), len(run), restore=put_back),
        "irange + discard_many": _Case(lambda: s.discard_many(s.irange(lo, hi)), len(run), restore=put_back),
        "numpy concatenate": _Case(lambda: np.concatenate((d.keys[:i], d.keys[j:])), len(run)),
    }
    if s.discard_irange(lo, hi) != (i, j) or len(s) != size - len(run):
        print("WARNING: discard_irange disagrees with the keys (benchmark bug)", file=out)
    put_back()
    notes = []
    try:
        from sortedcontainers import SortedSet as PeerSet

        peer = PeerSet(d.as_list("keys"))
        run_list = run.tolist()
        cases["sortedcontainers del s[i:j]"] = _Case(
            lambda: peer.__delitem__(slice(i, j)), len(run), restore=lambda: peer.update(run_list))
    except ImportError:
        notes.append("sortedcontainers: skipped, not installed (pip install sortedcontainers)")
    progress("api: removing a run of keys")
    removal = _interleaved(cases, repeats)

    print(f"\ninsert and range removal: {size:,} keys; scalar rows ns per call ({len(new):,}-call loops), "
          f"removal rows ns per removed key ({len(run):,} consecutive keys)", file=out)
    ratio = scalar["insert"] / scalar["add"]
    print(f"{'add(k)':<30} {_fmt_value(scalar['add']):>9}", file=out)
    print(f"{'insert(k)':<30} {_fmt_value(scalar['insert']):>9}   insert / add = {_fmt_ratio(ratio)}", file=out)
    base = removal["del s[i:j]"]
    print(f"{'':<30} {'ns/key':>9}   {'del s[i:j] / this':>17}", file=out)
    for name, ns in removal.items():
        print(f"{name:<30} {_fmt_value(ns):>9}   {_fmt_ratio(base / ns):>17}", file=out)
    for note in notes:
        print(f"  - {note}", file=out)
    progress("api: " + " ".join(f"{k}={_fmt_value(v)}" for k, v in {**scalar, **removal}.items()))


def _serialized(d: _Keys, repeats: int, out: TextIO, progress: Callable[[str], None]) -> None:
    """Scalar calls on the serialized path (free-threaded Python's) against the lock-free one.

    Two sets of the same keys, one made under ``_gil.forcing(True)``: each
    scalar call then takes and gives back the set's busy flag (a
    compare-and-swap and an atomic store).  Python loops of the Python
    methods, and compiled loops of the same methods, alternating rounds.
    """
    from jitset import SortedSet, _gil

    sets = {}
    for mode in (False, True):
        with _gil.forcing(mode):
            sets[mode] = SortedSet.from_sorted(d.keys)
    loops = compiled_loops()
    new = np.array(d.scalar_new, dtype=np.int64)
    old = np.array(d.scalar_old, dtype=np.int64)
    idx = np.array(d.scalar_idx, dtype=np.int64)
    cases, rows = {}, []
    for op in ("add", "discard", "contains", "getitem"):
        rows.append(op)
        for mode, s in sets.items():
            cases[op, mode] = _scalar_case(s, d, op, undo_add=s.discard_many, undo_discard=s.add_many)
    rows.append("compiled add + discard")
    rows.append("compiled in")
    rows.append("compiled s[i]")
    for mode, s in sets.items():
        loops["add_discard"](s, new[:2])  # compiled (or loaded) before any timing
        loops["contains"](s, old[:2])
        loops["getitem"](s, idx[:2])
        cases["compiled add + discard", mode] = _Case(functools.partial(loops["add_discard"], s, new), 2 * len(new))
        cases["compiled in", mode] = _Case(functools.partial(loops["contains"], s, old), len(old))
        cases["compiled s[i]", mode] = _Case(functools.partial(loops["getitem"], s, idx), len(idx))
    progress("threads: serialized against lock-free scalar calls")
    ns = _interleaved(cases, repeats)
    for s in sets.values():
        s._check()
        if not np.array_equal(s.to_numpy(), d.keys):
            print("WARNING: a set differs from its keys after the serialized-path timings (benchmark bug)", file=out)
    print(f"\nthreads: scalar calls on the serialized path (what free-threaded Python runs) against the "
          f"lock-free one; {len(d.keys):,} keys, ns per call, alternating rounds", file=out)
    print(f"{'call':<24} {'lock-free':>10} {'serialized':>11} {'ratio':>7}", file=out)
    for op in rows:
        a, b = ns[op, False], ns[op, True]
        print(f"{op:<24} {_fmt_value(a):>10} {_fmt_value(b):>11} {_fmt_ratio(b / a):>7}", file=out)
    progress("threads: " + " ".join(f"{op}={ns[op, True] / ns[op, False]:.2f}x" for op in rows))


# ------------------------------------------------------- inside numba code
# Loops compiled once per process (cached on disk) that call a SortedSet's
# methods from numba code; the same loops run in Python for the peers.


@functools.lru_cache(maxsize=None)
def compiled_loops() -> dict:
    """The compiled loops, made once (lazily: the bench's other tables need no numba compile)."""
    from jitset._plumbing import cached  # numba's cache, keyed by jitset's compiled sources too

    @cached
    def add_discard(s, keys):
        total = 0
        for k in keys:
            total += s.add(k)
        for k in keys:
            total += s.discard(k)
        return total

    @cached
    def contains(s, keys):
        total = 0
        for k in keys:
            total += k in s
        return total

    @cached
    def index(s, keys):
        total = 0
        for k in keys:
            total += s.index(k)
        return total

    @cached
    def getitem(s, idx):
        total = 0
        for i in idx:
            total += s[i]
        return total

    @cached
    def passing(s):
        return s

    return {"add_discard": add_discard, "contains": contains, "index": index, "getitem": getitem,
            "passing": passing}


@functools.lru_cache(maxsize=None)
def window_ranks_compiled():
    """The sliding-window example of docs/numba.md, compiled: rank of each value among the last ``w``."""
    from jitset import SortedSet
    from jitset._plumbing import cached

    @cached
    def window_ranks(values, w):
        s = SortedSet(dtype=np.int64)
        ranks = np.empty(len(values), dtype=np.int64)
        for i in range(len(values)):
            if i >= w:
                s.discard(values[i - w] * 2**32 + (i - w))
            ranks[i] = s.add(values[i] * 2**32 + i)  # (value, arrival) in one int64: unique keys
        return ranks

    return window_ranks


def window_ranks_python(values: list, w: int, s) -> list:
    """The same loop in Python on a jitset.SortedSet, whose ``add`` returns the index."""
    ranks = []
    add, discard = s.add, s.discard
    for i, v in enumerate(values):
        if i >= w:
            discard(values[i - w] * 2**32 + (i - w))
        ranks.append(add(v * 2**32 + i))
    return ranks


def window_ranks_sortedcontainers(values: list, w: int, s) -> list:
    """The same loop on a sortedcontainers.SortedSet: ``add`` returns nothing, so ``index`` too."""
    ranks = []
    add, discard, index = s.add, s.discard, s.index
    for i, v in enumerate(values):
        if i >= w:
            discard(values[i - w] * 2**32 + (i - w))
        key = v * 2**32 + i
        add(key)
        ranks.append(index(key))
    return ranks


def _inside_numba(d: _Keys, repeats: int, out: TextIO, progress: Callable[[str], None]) -> None:
    """Scalar methods called from compiled loops against jitset's Python calls and sortedcontainers."""
    from jitset import SortedSet

    size = len(d.keys)
    loops = compiled_loops()
    s = SortedSet.from_sorted(d.keys)
    rng = np.random.default_rng(777)
    n = min(100_000, size)
    new = d.new[: min(n, len(d.new))]
    present = d.keys[rng.integers(0, size, n)]
    idx = rng.integers(0, size, n)
    progress("inside numba: compiling the loops (once; cached afterwards)")
    for name, args in (("add_discard", (new[:2],)), ("contains", (present[:2],)), ("index", (present[:2],)),
                       ("getitem", (idx[:2],)), ("passing", ())):
        loops[name](s, *args)
    new_l, present_l, idx_l = new.tolist(), present.tolist(), idx.tolist()

    def python_add_discard(t, keys):
        add, discard = t.add, t.discard
        for k in keys:
            add(k)
        for k in keys:
            discard(k)

    def python_contains(t, keys):
        for k in keys:
            k in t

    def python_index(t, keys):
        index = t.index
        for k in keys:
            index(k)

    def python_getitem(t, positions):
        for i in positions:
            t[i]

    peers = {}
    try:
        from sortedcontainers import SortedSet as PeerSet

        peers["sortedcontainers"] = PeerSet(d.as_list("keys"))
    except ImportError:
        pass
    rows = {
        "add + discard": (loops["add_discard"], python_add_discard, new, new_l, 2 * len(new)),
        "k in s": (loops["contains"], python_contains, present, present_l, n),
        "index(k)": (loops["index"], python_index, present, present_l, n),
        "s[i]": (loops["getitem"], python_getitem, idx, idx_l, n),
    }
    progress("inside numba: timing")
    print(f"\ninside numba code: {size:,} keys, loops of {n:,} operations, ns per operation; "
          "ratio = compiled / peer", file=out)
    head = f"{'operation':<16} {'compiled':>9} | {'jitset from Python':>18} {'ratio':>7}"
    for name in peers:
        head += f" | {name:>16} {'ratio':>7}"
    print(head, file=out)
    print("-" * len(head), file=out)
    for op, (compiled, python, arr, lst, count) in rows.items():
        ns = _interleaved({
            "compiled": _Case(lambda: compiled(s, arr), count),
            "python": _Case(lambda: python(s, lst), count),
            **{name: _Case(lambda t=t: python(t, lst), count) for name, t in peers.items()},
        }, repeats, rounds=1)
        line = f"{op:<16} {_fmt_value(ns['compiled']):>9} | {_fmt_value(ns['python']):>18} " \
               f"{_fmt_ratio(ns['compiled'] / ns['python']):>7}"
        for name in peers:
            line += f" | {_fmt_value(ns[name]):>16} {_fmt_ratio(ns['compiled'] / ns[name]):>7}"
        print(line, file=out)
        progress(f"inside numba {op}: " + " ".join(f"{k}={_fmt_value(v)}" for k, v in ns.items()))
    passing = loops["passing"]
    call = _median_ns(_Case(lambda: [passing(s) for _ in range(1_000)], 1_000), repeats)
    print(f"  - passing a set into a compiled function (f(s) returning s): {call:,.0f} ns per call", file=out)
    from jitset._compile import user_function_seconds

    print(f"  - compiling a new user function that calls add, in, index, s[i] and discard (jitset's own "
          f"kernels already compiled): {user_function_seconds('int64'):.1f} s", file=out)

    # the sliding-window ranks of docs/numba.md, the same loop three ways
    values = np.random.default_rng(4242).integers(0, 1_000, 200_000)
    w = 1_000
    window = window_ranks_compiled()
    window(values[:10], 3)
    values_l = values.tolist()
    cases = {"compiled": _Case(lambda: window(values, w), len(values)),
             "jitset from Python": _Case(lambda: window_ranks_python(values_l, w, SortedSet(dtype=np.int64)),
                                         len(values))}
    if peers:
        cases["sortedcontainers"] = _Case(lambda: window_ranks_sortedcontainers(values_l, w, PeerSet()),
                                          len(values))
    ns = _interleaved(cases, max(1, repeats // 2), rounds=1)
    expected = window_ranks_python(values_l[:5_000], w, SortedSet(dtype=np.int64))
    if window(values[:5_000], w).tolist() != expected:
        print("WARNING: the compiled window ranks disagree with the Python loop (benchmark bug)", file=out)
    print(f"  - sliding-window ranks ({len(values):,} events, window {w:,}), ns per event: "
          + ", ".join(f"{k} {_fmt_value(v)}" for k, v in ns.items())
          + "; compiled / " + ", ".join(f"{k} {_fmt_ratio(ns['compiled'] / v)}" for k, v in ns.items()
                                        if k != "compiled"), file=out)


def _plot(path: str, title: str, ops: list[str], peers: list[str], ratios: dict, out: TextIO) -> None:
    """Horizontal bars of jitset/peer per operation, on a log axis, anchored at 1.

    Anchoring the bars at 1 (not at the axis edge) makes a bar's direction
    mean something: left of 1 jitset is faster (or smaller), right it is not.
    """
    try:
        from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
    except ImportError:
        print(f"note: matplotlib is not installed, no plot written to {path} (pip install matplotlib)", file=out)
        return
    rows = [op for op in ops if ratios[op]]
    fig = Figure(figsize=(8, 0.22 * len(rows) * max(1, len(peers)) + 1.6))
    ax = fig.add_subplot()
    height = 0.8 / max(1, len(peers))
    for j, peer in enumerate(peers):
        ys = [i + (j - (len(peers) - 1) / 2) * height for i in range(len(rows))]
        xs = [ratios[op].get(peer, float("nan")) for op in rows]  # nan: not measured, no bar
        ax.barh(ys, [x - 1.0 for x in xs], left=1.0, height=height, label=peer)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    ax.set_xlabel("jitset / peer (time, or bytes for memory); left of 1: jitset better")
    ax.set_title(title, fontsize="medium")
    ax.grid(axis="x", which="major", linewidth=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}", file=out)


# ------------------------------------------------------------------ run


def threads(size: int = 1_000_000, repeats: int = 5, out: TextIO = sys.stdout) -> int:
    """Only the serialized-path table of :func:`run` (``python -m jitset bench --threads``)."""
    started = time.perf_counter()
    progress = _progress(started)

    _warm_jitset()
    _serialized(_make_keys(size, 1, min(SCALAR_CALLS, size), seed=12345), repeats, out, progress)
    return 0


def run(
    size: int = 1_000_000,
    batch: int = 100_000,
    plot: Optional[str] = None,
    repeats: int = 5,
    out: TextIO = sys.stdout,
    structured: bool = True,
    api: bool = True,
    numba_rows: bool = True,
    threads: bool = True,
) -> int:
    """Time jitset.SortedSet and its peers on the same keys and print a table.

    Parameters
    ----------
    size : int
        Keys in each set (at least 2).
    batch : int
        Keys per batch operation (``add_many``, ``discard_many``,
        ``contains_many``, ``searchsorted``).
    plot : str, optional
        Write a horizontal bar chart of the ratios (log scale) to this file
        (needs matplotlib; without it a note is printed instead).
    repeats : int
        Runs per measurement; the median is reported.
    out : file-like
        Where the table goes.  Progress goes to stderr.
    structured : bool
        Also time batch operations on the demo's (u1, S16, u8) key.
    api : bool
        Also time ``insert`` against ``add``, and removing a run of ``batch``
        keys with ``del s[i:j]`` and ``discard_irange`` against
        ``discard_many(irange(...))``, sortedcontainers and NumPy.
    numba_rows : bool
        Also time scalar methods called from compiled (numba) loops against
        jitset's Python calls and sortedcontainers, the cost of passing a set
        into a compiled function, and the sliding-window example of docs/numba.md.
    threads : bool
        Also time scalar calls (from Python and from compiled loops) on the
        serialized path that free-threaded Python takes, against the
        lock-free path.

    Returns
    -------
    int
        0 (an exit status for the command line).

    Notes
    -----
    Each row is nanoseconds per operation: per call for scalar rows (a
    Python loop of up to 5,000 calls; state restored, untimed, after every
    run), per key for batch rows and ``build``, per input key (``2 * size``)
    for ``union`` and ``intersection``; ``memory`` is bytes per key.  A
    ratio is jitset / peer: below 1 jitset is faster (or smaller).

    Examples
    --------
    >>> run(size=20_000, batch=2_000)  # doctest: +SKIP
    0
    """
    if size < 2 or batch < 1 or repeats < 1:
        raise ValueError(f"need size >= 2, batch >= 1 and repeats >= 1; got {size}, {batch}, {repeats}")
    started = time.perf_counter()
    progress = _progress(started)

    notes: list[str] = []
    n_scalar = min(SCALAR_CALLS, size)
    progress(f"generating keys: size={size:,} batch={batch:,}")
    d = _make_keys(size, batch, n_scalar, seed=12345)

    progress("warming jitset's kernels (compiling on the first run after an install)")
    _warm_jitset()
    peers = [_Jitset(d)]
    for cls, module in _PEERS:
        if cls.max_keys is not None and size > cls.max_keys:
            notes.append(f"{cls.name}: skipped above {cls.max_keys:,} keys (memory and build time; "
                         "see python -m jitset bench --growth for how it grows)")
            continue
        try:
            peers.append(cls(d))
            progress(f"built the {cls.name} sets")
        except ImportError:
            notes.append(f"{cls.name}: skipped, {module} is not installed (pip install {module})")
    progress("checking every peer's answers against NumPy's")
    for peer in peers:
        for problem in peer.check():
            notes.append(f"WARNING: {problem}")

    ops = [op for op, _ in OPERATIONS]
    results: dict = {op: {} for op in ops}
    for op in ops:
        gc.collect()  # garbage of the previous operation is not collected inside this one's timings
        for peer in peers:
            try:
                case = peer.case(op)
            except _Skip as why:
                notes.append(f"{peer.name} {op}: {why}")
                continue
            results[op][peer.name] = _median_ns(case, repeats)
            if case.note:
                notes.append(f"{peer.name} {op}: {case.note}")
        progress(f"{op:<14}" + "  ".join(f"{p}={_fmt_value(v)}" for p, v in results[op].items()))

    names = [p.name for p in peers[1:]]
    ratios = {
        op: {p: results[op]["jitset"] / results[op][p] for p in names if results[op].get(p)}
        for op in ops
    }

    desc = dict(OPERATIONS)
    print(
        f"jitset vs peers: {size:,} random 63-bit keys, batches of {batch:,}, "
        f"median of {repeats} runs; ns per operation (memory: bytes per key); "
        "ratio = jitset / peer, below 1 jitset is faster",
        file=out,
    )
    head1 = f"{'operation':<14} {'':<32} {'jitset':>9}"
    head2 = f"{'':<14} {'':<32} {'ns/op':>9}"
    for name in names:
        head1 += f" | {name:>19}"
        head2 += f" | {'ns/op':>10} {'ratio':>8}"
    print(head1, file=out)
    print(head2, file=out)
    print("-" * len(head2), file=out)
    for op in ops:
        line = f"{op:<14} {desc[op]:<32} {_fmt_value(results[op].get('jitset')):>9}"
        for name in names:
            line += f" | {_fmt_value(results[op].get(name)):>10} {_fmt_ratio(ratios[op].get(name)):>8}"
        print(line, file=out)
    if notes:
        print("notes:", file=out)
        for note in notes:
            print(f"  - {note}", file=out)
    from jitset._bench_scale import batch_vs_loop, set_algebra

    batch_vs_loop(batch=batch, rounds=repeats, out=out, progress=progress, keys=d.keys)
    set_algebra(d.keys, d.other, repeats=repeats, out=out)
    progress("set algebra")
    if size > PYTHON_PEERS_MAX and (structured or api or numba_rows):
        structured = api = numba_rows = False
        print(f"\n(the structured-key, API and inside-numba tables compare with sortedcontainers: "
              f"skipped above {PYTHON_PEERS_MAX:,} keys)", file=out)
    if structured:
        _structured(d, repeats, out, progress)
    if api:
        _api(d, repeats, out, progress)
    if numba_rows:
        _inside_numba(d, repeats, out, progress)
    if threads:
        _serialized(d, repeats, out, progress)
    print(f"total time {time.perf_counter() - started:.1f} s", file=out)

    if plot:
        _plot(plot, f"jitset vs peers: {size:,} keys, batches of {batch:,}", ops, names, ratios, out)
    return 0
