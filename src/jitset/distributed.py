"""A range-partitioned sorted set on Dask workers that reports global indices.

``pip install "jitset[distributed]"`` installs Dask's ``distributed``
scheduler; ``import jitset`` never imports this module.

Layout
------
Splitter keys cut the key space into contiguous ranges.  Each range is a
*partition*: a :class:`jitset.SortedSet` inside a Dask actor on a worker
(``client.submit(..., actor=True)``).  Partition ``i`` holds the keys ``k``
with ``splitters[i - 1] <= k < splitters[i]``.  The client-side object holds
the splitters and every partition's size, so a global index is the size of
the partitions before a key's partition plus its index there.  A batch is
split by partition on the client with one ``searchsorted``, sent to all the
partitions it touches at once, and the local indices come back offset.

Consistency
-----------
Every method holds the object's lock from the moment it reads the splitters
to the moment it has stored the new sizes, so the operations of one
:class:`DistributedSortedSet` are linearizable (applied in call order, from
any number of threads of its process).  Two client-side objects must not
share partitions: each keeps its own splitters and sizes, which the other's
writes would make stale.  That is why there is no way to attach to the
actors of another object.

Rebalancing
-----------
After a batch that added keys, a partition with more than
``max_partition_keys`` keys splits: its upper half moves (one bulk
transfer through the client) to a new partition on the worker holding the
fewest keys, as many times as it takes.  After a batch that removed keys,
two neighbours whose combined size is at most ``max_partition_keys // 2``
merge, so a merge is never undone by the next split.

Persistence
-----------
:meth:`DistributedSortedSet.save` writes each partition with
:meth:`jitset.SortedSet.save`'s checksummed format, in parallel on the
workers, then a manifest renamed into place; :meth:`DistributedSortedSet.load`
checks the manifest and every file before it builds anything.  The
directory must be on a filesystem that the client and every worker see at
the same path.

Failures
--------
A batch touching several partitions is sent to all of them at once.  If any
of them fails, :class:`PartitionError` is raised once the others have
answered (they are applied: there is no rollback).  It names the partitions
that were lost with their worker, says how many partition calls were
applied, and names the last save; from then on the set refuses every call
instead of answering from partial state.  ``DistributedSortedSet.load``
rebuilds the last save.  Input is checked on the client before anything is
sent, so bad keys change nothing.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
import zlib
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

try:
    import distributed
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(
        'jitset.distributed needs Dask\'s distributed scheduler: pip install "jitset[distributed]"'
    ) from exc

from jitset import _persist
from jitset._keys import sort_unique
from jitset.sortedset import DEFAULT_CHUNK_SIZE, SortedSet, _infer_dtype

__all__ = ["DistributedSortedSet", "PartitionError"]

#: Seconds any wait on the cluster may take before it fails (no call can hang).
TIMEOUT = 120.0


class PartitionError(RuntimeError):
    """Some partitions failed (a lost worker, an actor error); the set can no longer be trusted."""


class _Partition:
    """One range of keys: a jitset.SortedSet living in a Dask actor.

    Mutations get sorted, unique keys of the set's storage dtype, checked on
    the client; each method answers with the partition's size after it, so
    the client's sizes stay exact.
    """

    def __init__(self, keys, dtype: str, chunk_size: int, presorted: bool, path: Optional[str] = None) -> None:
        if path is not None:  # checked beforehand by _verify_file
            self.s = SortedSet.load(path)
            return
        if isinstance(keys, list):  # pieces routed here from several dask chunks
            keys = np.concatenate(keys) if keys else np.empty(0, dtype=np.dtype(dtype))
        if presorted:
            self.s = SortedSet.from_sorted(keys, dtype=np.dtype(dtype), chunk_size=chunk_size)
        else:
            self.s = SortedSet(keys, dtype=np.dtype(dtype), chunk_size=chunk_size)

    def size(self) -> int:
        return len(self.s)

    def add_raw(self, raw: np.ndarray):
        return self.s._add_sorted(raw), len(self.s)

    def discard_raw(self, raw: np.ndarray):
        return self.s._discard_raw(raw), len(self.s)

    def replace_raw(self, removed: np.ndarray, added: np.ndarray):
        r, a = self.s._replace_raw(removed, added)
        return r, a, len(self.s)

    def rank_raw(self, raw: np.ndarray, right: bool):
        return self.s._rank(raw, right)

    def take(self, local: np.ndarray) -> np.ndarray:
        return self.s.take(local)

    def call(self, name: str, *args) -> Any:
        """A scalar method of the set; ``(result, size after)``."""
        return getattr(self.s, name)(*args), len(self.s)

    def irange(self, minimum, maximum, inclusive) -> np.ndarray:
        return self.s.irange(minimum, maximum, inclusive)

    def to_numpy(self) -> np.ndarray:
        return self.s.to_numpy()

    def split_off(self, keep: int):
        """Remove and return the keys from index ``keep`` on; ``(keys, size after)``."""
        upper = self.s[keep:]
        del self.s[keep:]
        return upper, len(self.s)

    def save(self, path: str) -> tuple[int, int]:
        """Write the partition with SortedSet's checksummed format; ``(count, crc32)`` for the manifest."""
        keys = self.s.to_numpy()
        _persist.write(path, keys, self.s.chunk_size)
        return len(keys), _persist.checksum(keys, _persist._descr(keys.dtype), len(keys), self.s.chunk_size)

    def check(self) -> tuple:
        """``_check()`` of the set; ``(size, smallest, largest storage key)`` (None, None when empty)."""
        self.s._check()
        raw = self.s._raw()
        return len(self.s), (raw[0] if len(raw) else None), (raw[-1] if len(raw) else None)

    def absorb(self, keys: np.ndarray) -> int:
        """Add keys all above this partition's range (a merge); the size after."""
        self.s.add_many(keys)
        return len(self.s)


def _split_block(block: np.ndarray, dtype: str, bounds: np.ndarray) -> list:
    """On a worker: one dask chunk checked as a batch and cut by partition (keys of ``dtype``, unsorted)."""
    check = SortedSet(dtype=np.dtype(dtype))
    raw = check._batch(np.reshape(block, -1))
    route = np.searchsorted(bounds, raw, side="right")
    order = np.argsort(route, kind="stable")
    cuts = np.searchsorted(route[order], np.arange(len(bounds) + 2))
    return [check._codec.decode(raw[order[cuts[i]:cuts[i + 1]]]) for i in range(len(bounds) + 1)]


def _piece(pieces: list, i: int) -> np.ndarray:
    return pieces[i]


def _partition_keys(actor) -> np.ndarray:
    """A task: a partition's keys, read from its actor (for to_dask_array)."""
    return actor.to_numpy().result(timeout=TIMEOUT)


def _verify_file(path: str, dtype: str, count: int, crc: int, lo, hi) -> None:
    """On a worker, before anything is built: the partition file is whole, and holds the
    manifest's count of keys of its dtype, strictly increasing, inside ``[lo, hi)``
    (storage keys; ``None`` for an open end).  ValueError naming the file if not."""
    file_dtype, chunk, keys = _persist.read(path)  # magic, header, length and its own CRC-32
    if file_dtype != np.dtype(dtype) or len(keys) != count:
        raise ValueError(f"{path!r} holds {len(keys)} keys of {file_dtype}; the manifest says {count} of {dtype}")
    if _persist.checksum(keys, _persist._descr(file_dtype), len(keys), chunk) != crc:
        raise ValueError(f"{path!r} does not match the manifest's checksum (a file of another save?)")
    raw = SortedSet(dtype=file_dtype)._batch(keys)
    if len(raw) > 1 and not np.all(raw[1:] > raw[:-1]):
        raise ValueError(f"{path!r}: keys not strictly increasing")
    if len(raw) and ((lo is not None and raw[0] < lo) or (hi is not None and raw[-1] >= hi)):
        raise ValueError(f"{path!r} holds keys outside its partition's range")


MANIFEST = "manifest.json"
_FORMAT = "jitset.DistributedSortedSet"


def _manifest_crc(body: dict) -> int:
    return zlib.crc32(json.dumps(body, sort_keys=True).encode("utf-8"))


class DistributedSortedSet:
    """A sorted set of fixed-width keys partitioned by key range over Dask workers.

    Every operation returns exactly what one :class:`jitset.SortedSet`
    holding the same keys would return, global indices included.

    Parameters
    ----------
    client : distributed.Client
        The cluster to place partitions on.
    dtype : dtype, default int64
        Key dtype (integers, floats, datetimes, timedeltas).
    partitions : None or 1
        An empty set starts as one partition and splits as it grows; to
        start with several, build it with :meth:`from_array`.
    max_partition_keys : int, default 2**26
        A partition above this size splits in two.
    chunk_size : int, optional
        Chunk size of every partition's SortedSet.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2, processes=True))  # doctest: +SKIP
    >>> s = DistributedSortedSet.from_array(client, np.arange(0, 100, 10))  # doctest: +SKIP
    >>> s.add_many([15, 5]), s.take([0, -1])  # doctest: +SKIP
    (array([1, 3]), array([ 0, 90]))
    """

    def __init__(
        self,
        client: "distributed.Client",
        dtype: Any = np.int64,
        partitions: Optional[int] = None,
        max_partition_keys: int = 2**26,
        chunk_size: Optional[int] = None,
    ) -> None:
        self._setup(client, dtype, max_partition_keys, chunk_size)
        if partitions not in (None, 1):
            raise ValueError(
                "an empty DistributedSortedSet starts as one partition and splits as it grows (there are "
                "no keys to choose splitters from); use from_array(client, keys, partitions=...) instead"
            )
        self._build([np.empty(0, dtype=self._dtype)], presorted=True)

    def _setup(self, client, dtype, max_partition_keys: int, chunk_size: Optional[int]) -> None:
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a distributed.Client, not {type(client).__name__}")
        if int(max_partition_keys) < 2:
            raise ValueError(f"max_partition_keys must be at least 2, got {max_partition_keys}")
        self._client = client
        self._v = SortedSet(dtype=dtype, chunk_size=chunk_size)  # checks keys as one local set would
        self._dtype = self._v.dtype
        if self._dtype.names is not None or self._dtype.kind in "SU":
            raise NotImplementedError(
                f"DistributedSortedSet holds keys of one machine word; {self._dtype} keys are not supported yet"
            )
        self._chunk = self._v.chunk_size if chunk_size is not None else DEFAULT_CHUNK_SIZE
        self._max = int(max_partition_keys)
        self._lock = threading.RLock()
        self._broken: Optional[str] = None
        self._last_save: Optional[str] = None
        self._bounds = np.empty(0, dtype=self._v._codec.storage)  # no partition yet: _build adds them
        self._parts, self._sizes, self._where = [], np.zeros(0, dtype=np.int64), []

    def _layout(self, n: int, partitions: Optional[int], seed: int) -> tuple[int, np.ndarray]:
        """How many partitions for ``n`` keys, and the positions of the keys to sample for splitters.

        One per worker, or more to stay under ``max_partition_keys``, unless
        ``partitions`` says; 64 sampled keys per partition (with repeats).
        """
        want = max(len(self._workers()), -(-n // max(1, self._max // 2)))
        count = want if partitions is None else max(1, int(partitions))
        positions = np.random.default_rng(seed).integers(0, n, min(n, 64 * count)) if n else np.empty(0, np.int64)
        return count, positions

    def _split_at(self, sample: np.ndarray, count: int) -> None:
        """``count - 1`` splitters at the quantiles of ``sample`` (sorted, unique storage keys);
        fewer if it has few distinct keys."""
        picks = np.unique(np.linspace(0, len(sample), count, endpoint=False).astype(np.int64)[1:])
        self._bounds = sample[picks] if len(sample) else sample

    # ------------------------------------------------------------ building

    @classmethod
    def from_array(
        cls,
        client: "distributed.Client",
        keys: Any,
        partitions: Optional[int] = None,
        max_partition_keys: int = 2**26,
        dtype: Any = None,
        chunk_size: Optional[int] = None,
        seed: int = 0,
    ) -> "DistributedSortedSet":
        """A set of ``keys`` (any order, repeats allowed), built in parallel on the workers.

        Splitters come from a sorted sample of the keys; every key is routed
        to its partition with one ``searchsorted``, and each partition sorts
        its own keys on its worker.  ``partitions`` defaults to one per
        worker, or more if that is needed to stay under
        ``max_partition_keys``.
        """
        arr = np.asarray(keys)
        self = cls.__new__(cls)
        self._setup(client, _infer_dtype(arr) if dtype is None else dtype, max_partition_keys, chunk_size)
        raw = self._v._batch(arr.reshape(-1))
        count, positions = self._layout(len(raw), partitions, seed)
        self._split_at(sort_unique(raw[positions]), count)
        route = np.searchsorted(self._bounds, raw, side="right")
        groups = [raw[route == i] for i in range(len(self._bounds) + 1)]
        self._build([self._v._codec.decode(g) for g in groups], presorted=False)
        self._rebalance(merge=False)  # the partitions asked for stay, however small
        return self

    @classmethod
    def from_dask_array(
        cls,
        client: "distributed.Client",
        keys: Any,
        partitions: Optional[int] = None,
        max_partition_keys: int = 2**26,
        dtype: Any = None,
        chunk_size: Optional[int] = None,
        seed: int = 0,
    ) -> "DistributedSortedSet":
        """A set of the keys of a ``dask.array`` (any shape, read flattened), never collected on the client.

        Splitters come from a sample of the keys (the only keys the client
        sees); each dask chunk is checked and cut by partition on a worker,
        and each partition is built from its pieces on a worker.  Every chunk
        is checked before any partition is built: a bad key raises and
        builds nothing.
        """
        n = int(keys.size)
        self = cls.__new__(cls)
        self._setup(client, keys.dtype if dtype is None else dtype, max_partition_keys, chunk_size)
        count, positions = self._layout(n, partitions, seed)
        flat = keys.reshape(-1)
        positions = np.unique(positions)  # dask gathers sorted positions without repeats fastest
        sample = client.compute(flat[positions]).result(timeout=TIMEOUT) if n else []
        self._split_at(sort_unique(self._v._batch(sample)), count)
        blocks = client.compute(list(flat.to_delayed().ravel()))
        pieces = [client.submit(_split_block, b, self._dtype.str, self._bounds, pure=False) for b in blocks]
        distributed.wait(pieces, timeout=TIMEOUT)
        for p in pieces:
            if p.status == "error":
                p.result()  # the chunk's exception (TypeError, ValueError, OverflowError): nothing built
        groups = [[client.submit(_piece, p, i) for p in pieces] for i in range(len(self._bounds) + 1)]
        lengths = [[client.submit(len, g) for g in grp] for grp in groups]
        distributed.wait([f for row in lengths for f in row], timeout=TIMEOUT)
        placed = self._place([sum(client.gather(row)) for row in lengths])  # all done: gather cannot wait
        futures = [client.submit(_Partition, grp, self._dtype.str, self._chunk, False, actor=True, workers=[target],
                                 allow_other_workers=False, pure=False)
                   for grp, target in zip(groups, placed)]
        actors = [f.result(timeout=TIMEOUT) for f in futures]
        self._parts, self._where = actors, placed
        self._sizes = np.array(self._ask([(a, "size") for a in actors], "from_dask_array"), dtype=np.int64)
        self._rebalance(merge=False)
        return self

    def to_dask_array(self) -> Any:
        """The keys as a ``dask.array``, one chunk per (non-empty) partition: a snapshot of now."""
        import dask
        import dask.array as da

        with self._lock:
            self._check_usable()
            live = [(a, w, int(n)) for a, w, n in zip(self._parts, self._where, self._sizes) if n]
            futures = [self._client.submit(_partition_keys, a, workers=[w], pure=False) for a, w, _ in live]
            distributed.wait(futures, timeout=TIMEOUT)  # read before the next call can change them
            for f in futures:
                if f.status == "error":
                    self._collect([f], "to_dask_array")
            chunks = [da.from_delayed(dask.delayed(f), shape=(n,), dtype=self._dtype)
                      for f, (_, _, n) in zip(futures, live)]
        return da.concatenate(chunks) if chunks else da.from_array(np.empty(0, dtype=self._dtype))

    def _alive(self) -> set:
        """The addresses of the cluster's workers, asked of the scheduler now.

        Not ``client.scheduler_info()["workers"]``: that returns the client's
        cached identity, which its periodic refresh fetches without the
        workers, so under load it was seen empty (a CI run's "no workers").
        """
        return set(self._client.nthreads())

    def _workers(self) -> list:
        workers = sorted(self._alive())
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        return workers

    def _place(self, sizes: Sequence[int]) -> list:
        """A worker for each new partition of these sizes: each to the worker holding the fewest keys."""
        workers = self._workers()
        load = {w: 0 for w in workers}
        for w, size in zip(self._where, self._sizes):
            if w in load:
                load[w] += int(size)
        placed = []
        for size in sizes:
            target = min(workers, key=lambda w: (load[w], w))
            load[target] += int(size)
            placed.append(target)
        return placed

    def _build(self, groups: Sequence[np.ndarray], presorted: bool, at: Optional[int] = None) -> None:
        """New partitions from key groups (in key order), spread over the workers, inserted at ``at``."""
        placed = self._place([len(g) for g in groups])
        futures = []
        for g, target in zip(groups, placed):
            # straight to the worker, under a key of its own: with hash=True, equal groups (every
            # empty set's one empty partition) share a key that may be released meanwhile
            data = self._client.scatter(g, workers=[target], direct=True, hash=False, timeout=TIMEOUT)
            futures.append(self._client.submit(
                _Partition, data, self._dtype.str, self._chunk, presorted, actor=True, workers=[target],
                allow_other_workers=False, pure=False))
        actors = [f.result(timeout=TIMEOUT) for f in futures]
        sizes = self._ask([(a, "size") for a in actors], "build")
        at = len(self._parts) if at is None else at
        self._parts[at:at] = actors
        self._where[at:at] = placed
        self._sizes = np.concatenate([self._sizes[:at], np.array(sizes, dtype=np.int64), self._sizes[at:]])

    # ------------------------------------------------------------ plumbing

    def _ask(self, calls: list, what: str) -> list:
        """Send every ``(actor, method, *args)`` call at once, then their results, in order.

        ``PartitionError`` once every call has answered, if any failed (naming
        the lost partitions, what was applied and the last save); the set then
        refuses every later call.
        """
        sent = []
        for actor, method, *args in calls:
            try:
                sent.append(getattr(actor, method)(*args))  # an ActorFuture: the call runs meanwhile
            except Exception as exc:  # the actor's worker is known to be gone already
                sent.append(exc)
        return self._collect(sent, what)

    def _collect(self, sent: list, what: str) -> list:
        """Results of calls already sent (futures, or the exception sending raised); see :meth:`_ask`."""
        results, failed = [], []
        for n, future in enumerate(sent):
            try:
                if isinstance(future, Exception):
                    raise future
                results.append(future.result(timeout=TIMEOUT))
            except Exception as exc:  # a lost worker, a timeout, an actor's exception
                results.append(None)
                failed.append((n, exc))
        if failed:
            ids = [n for n, _ in failed]
            applied = [n for n in range(len(sent)) if n not in ids]
            lost = self._lost()
            saved = (f"the last save is {self._last_save!r}: DistributedSortedSet.load(client, directory) "
                     "rebuilds it" if self._last_save else "this set was never saved")
            if lost:
                why = (f"partitions {lost} were on workers that left the cluster: their keys are lost; "
                       f"{len(applied)} of the {len(sent)} partition calls of this {what} were applied")
            else:
                why = (f"{what}: {len(ids)} of the {len(sent)} partition calls failed ({failed[0][1]!r}), "
                       f"the other {len(applied)} were applied")
            self._broken = f"{why}; the set can no longer be trusted and refuses every call; {saved}"
            raise PartitionError(self._broken) from failed[0][1]
        return results

    def _lost(self) -> list:
        """Partitions whose worker is no longer in the cluster."""
        try:
            alive = self._alive()
        except Exception:  # the scheduler is gone too: every partition is lost
            alive = set()
        return [i for i, w in enumerate(self._where) if w not in alive]

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise PartitionError(self._broken)

    def _starts(self, sizes: np.ndarray) -> np.ndarray:
        """Global index of each partition's first key."""
        starts = np.zeros(len(sizes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        return starts

    def _cuts(self, raw_sorted: np.ndarray) -> np.ndarray:
        """Where each partition's run starts and ends in sorted storage keys (P + 1 offsets)."""
        inner = np.searchsorted(raw_sorted, self._bounds, side="left")
        return np.concatenate([[0], inner, [len(raw_sorted)]]).astype(np.int64)

    def _route(self, raw: np.ndarray) -> np.ndarray:
        """Partition of every storage key."""
        return np.searchsorted(self._bounds, raw, side="right")

    def _sorted_batch(self, keys) -> np.ndarray:
        return sort_unique(self._v._batch(keys))

    # ------------------------------------------------------------ batches

    def add_many(self, keys: Any) -> np.ndarray:
        """Add every key; the global indices (after the call) of the new ones, ascending."""
        raw = self._sorted_batch(keys)
        with self._lock:
            self._check_usable()
            cuts = self._cuts(raw)
            touched = [i for i in range(len(self._parts)) if cuts[i + 1] > cuts[i]]
            calls = [(self._parts[i], "add_raw", raw[cuts[i]:cuts[i + 1]]) for i in touched]
            answers = self._ask(calls, "add_many")
            for i, (_, size) in zip(touched, answers):
                self._sizes[i] = size
            starts = self._starts(self._sizes)
            out = self._offset(touched, [a[0] for a in answers], starts)
            self._rebalance(merge=False)
            return out

    def discard_many(self, keys: Any) -> np.ndarray:
        """Remove the keys present; the global indices they had (before the call), ascending."""
        raw = self._sorted_batch(keys)
        with self._lock:
            self._check_usable()
            starts = self._starts(self._sizes)
            cuts = self._cuts(raw)
            touched = [i for i in range(len(self._parts)) if cuts[i + 1] > cuts[i]]
            calls = [(self._parts[i], "discard_raw", raw[cuts[i]:cuts[i + 1]]) for i in touched]
            answers = self._ask(calls, "discard_many")
            for i, (_, size) in zip(touched, answers):
                self._sizes[i] = size
            out = self._offset(touched, [a[0] for a in answers], starts)
            self._rebalance(split=False)
            return out

    def replace_many(self, old_keys: Any, new_keys: Any) -> tuple[np.ndarray, np.ndarray]:
        """``discard_many(old_keys)`` then ``add_many(new_keys)`` as one call: ``(removed, inserted)``.

        Removed indices are relative to the set before the call, inserted
        ones to the set after it, as :meth:`jitset.SortedSet.replace_many`.
        """
        removed = self._sorted_batch(old_keys)
        added = self._sorted_batch(new_keys)
        with self._lock:
            self._check_usable()
            before = self._starts(self._sizes)
            rc, ac = self._cuts(removed), self._cuts(added)
            touched = [i for i in range(len(self._parts)) if rc[i + 1] > rc[i] or ac[i + 1] > ac[i]]
            calls = [(self._parts[i], "replace_raw", removed[rc[i]:rc[i + 1]], added[ac[i]:ac[i + 1]])
                     for i in touched]
            answers = self._ask(calls, "replace_many")
            for i, (_, _, size) in zip(touched, answers):
                self._sizes[i] = size
            after = self._starts(self._sizes)
            out = (self._offset(touched, [a[0] for a in answers], before),
                   self._offset(touched, [a[1] for a in answers], after))
            self._rebalance()
            return out

    @staticmethod
    def _offset(touched, locals_, starts) -> np.ndarray:
        parts = [np.asarray(loc, dtype=np.int64) + starts[i] for i, loc in zip(touched, locals_)]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def _ranks(self, keys, right: bool) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Global bisect ranks and membership of every query, in the queries' order."""
        q, shape = self._v._queries(keys)
        with self._lock:
            self._check_usable()
            route = self._route(q)
            starts = self._starts(self._sizes)
            touched = np.unique(route).tolist()
            picks = [np.flatnonzero(route == i) for i in touched]
            calls = [(self._parts[i], "rank_raw", q[p], right) for i, p in zip(touched, picks)]
            answers = self._ask(calls, "query")
        ranks = np.empty(len(q), dtype=np.int64)
        found = np.empty(len(q), dtype=np.bool_)
        for i, p, (r, f) in zip(touched, picks, answers):
            ranks[p] = r + starts[i]
            found[p] = f
        return ranks, found, shape

    def contains_many(self, keys: Any) -> np.ndarray:
        """Membership of every key (bool array of the shape of ``keys``)."""
        ranks, found, shape = self._ranks(keys, False)
        return found.reshape(shape)[()]

    def searchsorted(self, keys: Any, side: str = "left") -> np.ndarray:
        """Exactly ``np.searchsorted(s.to_numpy(), keys, side)``."""
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        ranks, found, shape = self._ranks(keys, side == "right")
        return ranks.reshape(shape)[()]

    def index_many(self, keys: Any) -> np.ndarray:
        """Global index of every key, -1 where absent."""
        ranks, found, shape = self._ranks(keys, False)
        return np.where(found, ranks, -1).reshape(shape)[()]

    def take(self, indices: Any) -> np.ndarray:
        """Keys at global ``indices`` (negative allowed); ``IndexError`` out of range."""
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu" and idx.size:
            raise TypeError(f"indices must be integers, not {idx.dtype}")
        flat = idx.reshape(-1).astype(np.int64)
        with self._lock:
            self._check_usable()
            n = int(self._sizes.sum())
            flat = np.where(flat < 0, flat + n, flat)
            if flat.size and (flat.min() < 0 or flat.max() >= n):
                raise IndexError(f"index out of range for a DistributedSortedSet of {n} keys")
            starts = self._starts(self._sizes)
            owner = np.searchsorted(starts, flat, side="right") - 1
            # an empty partition shares its start with the next: searchsorted(right) skips it
            touched = np.unique(owner).tolist()
            picks = [np.flatnonzero(owner == i) for i in touched]
            calls = [(self._parts[i], "take", flat[p] - starts[i]) for i, p in zip(touched, picks)]
            answers = self._ask(calls, "take")
        out = np.empty(len(flat), dtype=self._dtype)
        for p, keys in zip(picks, answers):
            out[p] = keys
        return out.reshape(idx.shape)

    def irange(self, minimum: Any = None, maximum: Any = None, inclusive: tuple[bool, bool] = (True, True),
               reverse: bool = False) -> np.ndarray:
        """Keys between ``minimum`` and ``maximum`` as an array, as :meth:`jitset.SortedSet.irange`."""
        self._v.irange(minimum, maximum, inclusive)  # the same checks of the bounds, on an empty set
        with self._lock:
            self._check_usable()
            lo = 0 if minimum is None else self._route_scalar(minimum, 0)
            hi = len(self._parts) - 1 if maximum is None else self._route_scalar(maximum, len(self._parts) - 1)
            calls = [(self._parts[i], "irange", minimum, maximum, tuple(inclusive))
                     for i in range(lo, hi + 1) if self._sizes[i]]
            answers = self._ask(calls, "irange")
        out = np.concatenate(answers) if answers else np.empty(0, dtype=self._dtype)
        return out[::-1].copy() if reverse else out

    def to_numpy(self) -> np.ndarray:
        """Every key, ascending, gathered on the client."""
        with self._lock:
            self._check_usable()
            answers = self._ask([(p, "to_numpy") for p, n in zip(self._parts, self._sizes) if n], "to_numpy")
        return np.concatenate(answers) if answers else np.empty(0, dtype=self._dtype)

    # ------------------------------------------------------------ scalars

    def _route_scalar(self, key: Any, default: int) -> int:
        """Partition of one key (``default`` for a number the dtype cannot hold)."""
        k = self._v._codec.key_if_fits(key)
        if k is None:
            return default
        return int(np.searchsorted(self._bounds, np.asarray([k], dtype=self._bounds.dtype), side="right")[0])

    def _scalar(self, name: str, key: Any, *, mutates: bool) -> Any:
        """Call ``SortedSet.name(key)`` on the key's partition; its result with indices made global."""
        self._v._codec.key(key)  # the same exception as SortedSet, before anything is sent
        with self._lock:
            self._check_usable()
            i = self._route_scalar(key, 0)
            starts = self._starts(self._sizes)
            ((result, size),) = self._ask([(self._parts[i], "call", name, key)], name)
            self._sizes[i] = size
            if mutates:
                self._rebalance(split=name != "discard", merge=name == "discard")
        if name == "insert":
            return int(result[0]) + int(starts[i]), result[1]
        return result if result < 0 else int(result) + int(starts[i])

    def add(self, key: Any) -> int:
        """Add ``key``; its global index after the call."""
        return self._scalar("add", key, mutates=True)

    def insert(self, key: Any) -> tuple[int, bool]:
        """Add ``key``; ``(global index after the call, whether it was added)``."""
        return self._scalar("insert", key, mutates=True)

    def discard(self, key: Any) -> int:
        """Remove ``key`` if present; the global index it had, or -1."""
        return self._scalar("discard", key, mutates=True)

    def index(self, key: Any) -> int:
        """Global index of ``key``; ``ValueError`` when absent."""
        self._v._codec.key(key)  # the same exception as SortedSet.index for a key the dtype cannot hold
        i = int(self.index_many(np.asarray([key]))[0])
        if i < 0:
            raise ValueError(f"{key!r} is not in the DistributedSortedSet")
        return i

    def __contains__(self, key: Any) -> bool:
        if self._v._codec.key_if_fits(key) is None:
            return False  # a number the dtype cannot hold is simply absent, as in SortedSet
        return bool(self.contains_many(np.asarray([key]))[0])

    def __getitem__(self, index: int) -> Any:
        """``s[i]`` for one global index (negative counts from the end)."""
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"DistributedSortedSet indices must be integers, not {type(index).__name__}")
        try:
            key = self.take([index])[0]
        except IndexError:
            raise IndexError("DistributedSortedSet index out of range") from None
        return key.item() if self._dtype.kind not in "mM" else key

    def __len__(self) -> int:
        with self._lock:
            return int(self._sizes.sum())

    def __bool__(self) -> bool:
        return len(self) > 0

    def min(self) -> Any:
        """The smallest key; ``ValueError`` when empty."""
        if not len(self):
            raise ValueError("min() of an empty DistributedSortedSet")
        return self[0]

    def max(self) -> Any:
        """The largest key; ``ValueError`` when empty."""
        if not len(self):
            raise ValueError("max() of an empty DistributedSortedSet")
        return self[-1]

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def partitions(self) -> int:
        """Number of partitions now."""
        return len(self._parts)

    @property
    def partition_sizes(self) -> np.ndarray:
        """Keys per partition, in key order (a copy)."""
        with self._lock:
            return self._sizes.copy()

    def __repr__(self) -> str:
        return (f"DistributedSortedSet(dtype={self._dtype}, keys={len(self):,}, "
                f"partitions={len(self._parts)}, max_partition_keys={self._max:,})")

    def _check(self) -> None:
        """Verify every invariant (each partition's own ``_check()`` included); ``AssertionError``."""
        with self._lock:
            self._check_usable()
            p = len(self._parts)
            assert len(self._sizes) == len(self._where) == p >= 1, "partition lists of different lengths"
            assert len(self._bounds) == p - 1, "not one splitter between each two partitions"
            assert np.all(self._bounds[:-1] < self._bounds[1:]), "splitters not strictly increasing"
            answers = self._ask([(a, "check") for a in self._parts], "check")
            for i, (size, lo, hi) in enumerate(answers):
                assert size == self._sizes[i], f"partition {i} holds {size} keys, the client thinks {self._sizes[i]}"
                assert size <= self._max, f"partition {i} holds {size} > max_partition_keys keys"
                if size:
                    assert i == 0 or lo >= self._bounds[i - 1], f"partition {i} holds a key below its range"
                    assert i == p - 1 or hi < self._bounds[i], f"partition {i} holds a key above its range"

    # ------------------------------------------------------------ persistence

    def save(self, directory: Union[str, os.PathLike], _before_manifest: Optional[Callable[[], None]] = None) -> None:
        """Write every partition, in parallel on the workers, then the manifest.

        Partition files use :meth:`jitset.SortedSet.save`'s checksummed
        format and carry a name new to this save; the manifest (dtype,
        splitters, sizes, each file's checksum) is written last, to a
        temporary file renamed over ``manifest.json``.  A save interrupted
        before that rename leaves the previous one loadable; after it, the
        previous save's files are deleted.  The directory must be on a
        filesystem every worker and the client see at the same path, and
        hold one set's saves only.
        """
        directory = os.path.abspath(os.fspath(directory))
        os.makedirs(directory, exist_ok=True)
        with self._lock:
            self._check_usable()
            token = uuid.uuid4().hex[:12]
            names = [f"part-{token}-{i:05d}.jitset" for i in range(len(self._parts))]
            answers = self._ask(
                [(a, "save", os.path.join(directory, n)) for a, n in zip(self._parts, names)], "save")
            body = {
                "format": _FORMAT,
                "version": 1,
                "dtype": _persist._descr(self._dtype),
                "storage": _persist._descr(self._bounds.dtype),
                "chunk_size": self._chunk,
                "max_partition_keys": self._max,
                "splitters": self._bounds.tolist(),
                "partitions": [{"file": n, "count": int(c), "crc32": int(crc)} for n, (c, crc) in zip(names, answers)],
            }
            manifest = {**body, "crc32": _manifest_crc(body)}
            if _before_manifest is not None:
                _before_manifest()  # tests: a crash between the partition files and the manifest
            tmp = os.path.join(directory, f".{MANIFEST}.{token}.tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(manifest, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, os.path.join(directory, MANIFEST))
            keep = set(names)
            for name in os.listdir(directory):  # earlier saves', and interrupted saves' files
                if name.startswith("part-") and name.endswith(".jitset") and name not in keep:
                    os.unlink(os.path.join(directory, name))
            self._last_save = directory

    @classmethod
    def load(cls, client: "distributed.Client", directory: Union[str, os.PathLike],
             max_partition_keys: Optional[int] = None) -> "DistributedSortedSet":
        """A set from the last complete :meth:`save` in ``directory``, everything checked first.

        The manifest (format, checksum, fields, strictly increasing
        splitters, file names) is checked on the client, then every
        partition file (length, its own checksum and the manifest's, key
        order and range) on the workers; only then are the partitions built,
        in parallel.  ``ValueError`` names the first problem found.
        """
        directory = os.path.abspath(os.fspath(directory))
        path = os.path.join(directory, MANIFEST)
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except FileNotFoundError:
            raise ValueError(f"{directory!r} holds no {MANIFEST}: not a saved DistributedSortedSet") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path!r} is not a valid manifest: unreadable ({exc})") from None
        body = cls._checked_manifest(manifest, path)
        self = cls.__new__(cls)
        self._setup(client, _persist._dtype(body["dtype"]),
                    body["max_partition_keys"] if max_partition_keys is None else max_partition_keys,
                    body["chunk_size"])
        storage = self._v._codec.storage
        if _persist._dtype(body["storage"]) != storage:
            raise ValueError(f"{path!r} is not a valid manifest: storage dtype {body['storage']} is not {storage}")
        bounds = np.array(body["splitters"], dtype=storage)
        if len(bounds) > 1 and not np.all(bounds[1:] > bounds[:-1]):
            raise ValueError(f"{path!r} is not a valid manifest: splitters not strictly increasing")
        entries = body["partitions"]
        files = [os.path.join(directory, e["file"]) for e in entries]
        workers = self._workers()
        edges = [None, *bounds.tolist(), None]
        checks = [
            client.submit(_verify_file, f, self._dtype.str, e["count"], e["crc32"], edges[i], edges[i + 1],
                          workers=[workers[i % len(workers)]], pure=False)
            for i, (f, e) in enumerate(zip(files, entries))
        ]
        for f, future in zip(files, checks):
            try:
                future.result(timeout=TIMEOUT)
            except ValueError:
                raise
            except Exception as exc:  # e.g. the file is missing on that worker
                raise ValueError(f"{f!r} could not be checked: {exc!r}") from None
        self._bounds = bounds
        self._build_from_files(files, [e["count"] for e in entries])
        for i, e in enumerate(entries):
            if self._sizes[i] != e["count"]:
                raise ValueError(f"{files[i]!r} changed while it was loaded")
        self._last_save = directory
        return self

    @staticmethod
    def _checked_manifest(manifest: Any, path: str) -> dict:
        def bad(why: str) -> ValueError:
            return ValueError(f"{path!r} is not a valid manifest: {why}")

        fields = {"format", "version", "dtype", "storage", "chunk_size", "max_partition_keys", "splitters",
                  "partitions", "crc32"}
        if not isinstance(manifest, dict) or set(manifest) != fields:
            raise bad(f"fields {sorted(manifest) if isinstance(manifest, dict) else manifest!r}")
        body = {k: v for k, v in manifest.items() if k != "crc32"}
        if manifest["format"] != _FORMAT or manifest["version"] != 1:
            raise bad(f"format {manifest['format']!r} version {manifest['version']!r}")
        if manifest["crc32"] != _manifest_crc(body):
            raise bad("checksum mismatch (a damaged or edited manifest)")
        parts, splitters = manifest["partitions"], manifest["splitters"]
        if not isinstance(parts, list) or not parts or not isinstance(splitters, list):
            raise bad("no partitions")
        if len(splitters) != len(parts) - 1:
            raise bad(f"{len(splitters)} splitters for {len(parts)} partitions")
        for e in parts:
            if (not isinstance(e, dict) or set(e) != {"file", "count", "crc32"} or not isinstance(e["file"], str)
                    or os.path.basename(e["file"]) != e["file"] or not e["file"].endswith(".jitset")
                    or not all(type(e[k]) is int and e[k] >= 0 for k in ("count", "crc32"))):
                raise bad(f"partition entry {e!r}")
        for k in ("chunk_size", "max_partition_keys"):
            if type(manifest[k]) is not int or manifest[k] < 1:
                raise bad(f"{k} {manifest[k]!r}")
        try:
            _persist._dtype(manifest["dtype"]), _persist._dtype(manifest["storage"])
        except (TypeError, ValueError, KeyError, IndexError):
            raise bad(f"unknown dtype {manifest['dtype']!r}") from None
        return body

    def _build_from_files(self, files: Sequence[str], counts: Sequence[int]) -> None:
        """Partitions loaded from checked files, in parallel, spread by key count over the workers."""
        placed = self._place(counts)
        futures = [self._client.submit(_Partition, None, self._dtype.str, self._chunk, True, f, actor=True,
                                       workers=[target], allow_other_workers=False, pure=False)
                   for f, target in zip(files, placed)]
        actors = [fut.result(timeout=TIMEOUT) for fut in futures]
        self._parts, self._where = actors, placed
        self._sizes = np.array(self._ask([(a, "size") for a in actors], "load"), dtype=np.int64)

    # ------------------------------------------------------------ rebalancing

    def _rebalance(self, split: bool = True, merge: bool = True) -> None:
        """Split partitions above ``max_partition_keys`` (after adds); merge neighbours that fit in
        half of it (after removals)."""
        i = 0
        while split and i < len(self._parts):
            size = int(self._sizes[i])
            if size <= self._max:
                i += 1
                continue
            keep = size // 2
            ((upper, left),) = self._ask([(self._parts[i], "split_off", keep)], "split")
            self._sizes[i] = left
            first = self._v._batch(upper[:1])
            self._bounds = np.concatenate([self._bounds[:i], first, self._bounds[i:]])
            self._build([upper], presorted=True, at=i + 1)
            # partition i may still be too large (several splits for one batch): look at it again
        i = 0
        while merge and i + 1 < len(self._parts):
            if int(self._sizes[i]) + int(self._sizes[i + 1]) <= self._max // 2:
                right = self._parts[i + 1]
                keys = self._ask([(right, "to_numpy")], "merge")[0]
                if len(keys):
                    (size,) = self._ask([(self._parts[i], "absorb", keys)], "merge")
                    self._sizes[i] = size
                del self._parts[i + 1], self._where[i + 1]
                self._sizes = np.delete(self._sizes, i + 1)
                self._bounds = np.delete(self._bounds, i)
                continue  # the merged partition may merge with the next one too
            i += 1
