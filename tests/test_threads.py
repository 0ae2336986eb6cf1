"""Concurrency: one set shared by several threads, scalar and batch calls mixed.

Each thread owns a private key range and keeps a model of it, so its own
results can be checked exactly even while the others run; a shared range is
hammered by all threads and checked for set semantics.  A reader thread
checks that every snapshot it takes is strictly increasing, and iteration
under mutation may only ever raise RuntimeError.
"""

from __future__ import annotations

import random
import sys
import threading
import time

import numpy as np
import pytest

from jitset import SortedSet, _gil

SECONDS = 2.5
SHARED = range(10**9, 10**9 + 300)


def _worker(s: SortedSet, tid: int, stop: threading.Event, errors: list, shared_added: set):
    rng = random.Random(tid)
    base = tid * 10**6
    mine: set = set()
    try:
        while not stop.is_set():
            op = rng.random()
            k = base + rng.randrange(2_000)
            if op < 0.25:
                s.add(k)
                mine.add(k)
                assert k in s
            elif op < 0.45:
                i = s.discard(k)
                assert (i >= 0) == (k in mine), (k, i)
                mine.discard(k)
            elif op < 0.55:
                batch = [base + rng.randrange(2_000) for _ in range(rng.randrange(1, 300))]
                idx = s.add_many(batch)
                assert len(idx) == len(set(batch) - mine)
                mine.update(batch)
            elif op < 0.62:
                batch = [base + rng.randrange(2_000) for _ in range(rng.randrange(1, 300))]
                idx = s.discard_many(batch)
                assert len(idx) == len(set(batch) & mine)
                mine.difference_update(batch)
            elif op < 0.68:
                old = [base + rng.randrange(2_000) for _ in range(50)]
                new = [base + rng.randrange(2_000) for _ in range(50)]
                removed, inserted = s.replace_many(old, new)
                assert len(removed) == len(set(old) & mine)
                mine.difference_update(old)
                assert len(inserted) == len(set(new) - mine)
                mine.update(new)
            elif op < 0.72 and mine:
                old = rng.choice(sorted(mine))
                new = base + rng.randrange(2_000)
                if new not in mine:
                    s.replace(old, new)
                    mine.discard(old)
                    mine.add(new)
            elif op < 0.80:
                probe = [base + rng.randrange(2_000) for _ in range(100)]
                assert s.contains_many(probe).tolist() == [p in mine for p in probe]
                i = s.bisect_left(k)
                if 0 < i:
                    assert s.floor(k) is None or s.floor(k) <= k
            elif op < 0.90:
                shared = SHARED[rng.randrange(len(SHARED))]
                if rng.random() < 0.5:
                    shared_added.add(shared)  # set.add is atomic under the GIL
                    s.add(shared)
                else:
                    s.discard(shared)
            else:
                n = len(s)
                if n:
                    got = s.take([0, -1])
                    assert got[0] <= got[1]
                    _ = s[rng.randrange(-1, 1)]
        # this thread's range now holds exactly its model
        got = s.irange(base, base + 10**6 - 1)
        assert got.tolist() == sorted(mine), tid
    except BaseException as exc:  # reported to the main thread
        errors.append(exc)


def _reader(s: SortedSet, stop: threading.Event, errors: list, counts: dict):
    try:
        while not stop.is_set():
            snap = s.to_numpy()
            assert (np.diff(snap) > 0).all(), "a snapshot is not strictly increasing"
            try:
                previous = None
                for x in s:
                    assert previous is None or x > previous
                    previous = x
                counts["full"] += 1
            except RuntimeError as exc:
                assert "changed during iteration" in str(exc)
                counts["interrupted"] += 1
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.parametrize("serialized", [False, True], ids=["gil", "serialized"])
def test_four_threads_on_one_set(serialized):
    """Run twice: lock-free scalar calls (the GIL makes them atomic), then the
    serialized path that free-threaded Python takes (jitset._gil)."""
    with _gil.forcing(serialized):
        s = SortedSet(chunk_size=8)  # tiny chunks: splits and merges all the time
    assert s._serialized == serialized
    # switch threads every 10 us instead of 5 ms, so that calls really interleave
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        _run_four_threads(s)
    finally:
        sys.setswitchinterval(saved)


def _run_four_threads(s: SortedSet):
    stop = threading.Event()
    errors: list = []
    shared_added: set = set()
    counts = {"full": 0, "interrupted": 0}
    threads = [threading.Thread(target=_worker, args=(s, t, stop, errors, shared_added)) for t in range(4)]
    threads.append(threading.Thread(target=_reader, args=(s, stop, errors, counts)))
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a thread hung (deadlock?)"
    if errors:
        raise errors[0]
    s._check()
    shared = s.irange(SHARED.start, SHARED.stop - 1).tolist()
    assert set(shared) <= shared_added  # nothing appeared that nobody added
    assert counts["full"] + counts["interrupted"] > 0


def test_batches_on_two_sets_in_parallel_threads():
    rng = np.random.default_rng(1)
    sets = [SortedSet(rng.integers(0, 2**40, 200_000)) for _ in range(2)]
    batches = [rng.integers(0, 2**40, 50_000) for _ in range(2)]
    expected = [np.union1d(s.to_numpy(), b) for s, b in zip(sets, batches)]
    threads = [threading.Thread(target=s.add_many, args=(b,)) for s, b in zip(sets, batches)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s, e in zip(sets, expected):
        s._check()
        assert np.array_equal(s.to_numpy(), e)
