"""The serialized thread mode (``jitset._gil``): what free-threaded CPython runs.

This machine has no free-threaded interpreter, so the mode is forced on
(``_gil.forcing``).  Under a GIL, Python threads never run two kernels at
once, but ``nogil=True`` compiled functions on a serialized set take no GIL
(the busy flag makes each call atomic): with two of them the kernels really
run in parallel on two cores, racing each other and the Python threads for
the flag, as every thread would without a GIL.

Each thread runs a seeded list of ``add``/``insert``/``discard``/``pop``
calls on keys of its own residue mod 4 and records every result.  The check
is a replay: a search for one order of all the calls, keeping each thread's
own order, in which a sorted Python list returns exactly the recorded
results; the set must then hold exactly that list's keys.  Most results pin
the order (an index counts the smaller keys present at that moment); where
calls commute, any order of them is the same replay.
"""

from __future__ import annotations

import bisect
import os
import random
import subprocess
import sys
import threading
import time

import numba
import numpy as np
import pytest

from jitset import SortedSet, _gil

ADD, INSERT, DISCARD, POP = 0, 1, 2, 3
THREADS = 4
SENTINELS = np.arange(10**6, 10**6 + 4_000, dtype=np.int64)  # never touched by a key op: no pop empties the set


@numba.njit(nogil=True)
def nb_hammer(s, kinds, args, index, added):
    for n in range(kinds.shape[0]):
        kind = kinds[n]
        if kind == ADD:
            index[n] = s.add(args[n])
        elif kind == INSERT:
            index[n], added[n] = s.insert(args[n])
        elif kind == DISCARD:
            index[n] = s.discard(args[n])
        else:
            index[n] = s.pop(args[n])


def py_hammer(s, kinds, args, index, added):
    for n in range(len(kinds)):
        kind, a = kinds[n], int(args[n])
        if kind == ADD:
            index[n] = s.add(a)
        elif kind == INSERT:
            index[n], added[n] = s.insert(a)
        elif kind == DISCARD:
            index[n] = s.discard(a)
        else:
            index[n] = s.pop(a)


def _ops(tid: int, count: int):
    """Thread ``tid``'s calls: keys ``4 j + tid`` (j < 100), pops of one of the 8 smallest or largest."""
    rng = random.Random(tid)
    kinds = np.array(rng.choices([ADD, INSERT, DISCARD, POP], weights=[30, 25, 35, 10], k=count), dtype=np.int64)
    args = np.empty(count, dtype=np.int64)
    for n, kind in enumerate(kinds):
        args[n] = rng.choice([*range(8), *range(-8, 0)]) if kind == POP else 4 * rng.randrange(100) + tid
    return kinds, args


class _Replay:
    """A sorted list, with one hash of its keys kept up to date (XOR of a random word per key)."""

    def __init__(self, keys):
        self.keys = sorted(keys)
        self.words: dict = {}
        self.hash = 0
        for k in self.keys:
            self.hash ^= self._word(k)

    def _word(self, k):
        if k not in self.words:
            self.words[k] = random.Random(k).getrandbits(64)
        return self.words[k]

    def _insert(self, pos, k):
        self.keys.insert(pos, k)
        self.hash ^= self._word(k)

    def _delete(self, pos):
        self.hash ^= self._word(self.keys.pop(pos))

    def apply(self, kind, arg, index, added):
        """Apply one call if it returns what was recorded: ``(ok, undo)``."""
        keys = self.keys
        if kind == POP:
            j = arg if arg >= 0 else len(keys) + arg
            if keys[j] != index:
                return False, None
            self._delete(j)
            return True, (j, index)
        pos = bisect.bisect_left(keys, arg)
        present = pos < len(keys) and keys[pos] == arg
        if kind == DISCARD:
            if index != (pos if present else -1):
                return False, None
            if not present:
                return True, None
            self._delete(pos)
            return True, (pos, arg)
        if index != pos or (kind == INSERT and added != (not present)):
            return False, None
        if present:
            return True, None
        self._insert(pos, arg)
        return True, (pos, None)

    def undo(self, undo):
        if undo is None:
            return
        pos, key = undo
        if key is None:
            self._delete(pos)
        else:
            self._insert(pos, key)


def replay(initial, logs, budget=5_000_000):
    """Find an order of the logged calls (each thread's own order kept) that reproduces every result.

    ``logs[t]`` is a list of ``(kind, arg, index, added)``.  Depth-first, with
    the dead ends remembered by (calls done per thread, hash of the keys).
    Returns the keys after the last call, or None if no order reproduces
    the results.
    """
    model = _Replay(initial)
    progress = [0] * len(logs)
    total = sum(map(len, logs))
    path = []  # (thread, undo) per call applied
    dead = set()
    start = 0
    steps = 0
    while len(path) < total:
        steps += 1
        assert steps < budget, "the replay search ran out of budget"
        for t in range(start, len(logs)):
            if progress[t] == len(logs[t]):
                continue
            ok, undo = model.apply(*logs[t][progress[t]])
            if not ok:
                continue
            progress[t] += 1
            if (tuple(progress), model.hash) in dead:
                progress[t] -= 1
                model.undo(undo)
                continue
            path.append((t, undo))
            start = 0
            break
        else:  # no thread's next call fits here
            dead.add((tuple(progress), model.hash))
            if not path:
                return None
            t, undo = path.pop()
            model.undo(undo)
            progress[t] -= 1
            start = t + 1
    return model.keys


def _hammer(serialized: bool, workers, count: int):
    """Run ``workers[t]`` (nb_hammer or py_hammer) in thread t on one set; replay and check."""
    with _gil.forcing(serialized):
        s = SortedSet(SENTINELS, chunk_size=4)  # tiny chunks: splits, merges and growth all the time
    assert s._serialized == serialized
    initial = SENTINELS.tolist()
    plans = [_ops(t, count) for t in range(THREADS)]
    results = [(np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.bool_)) for _ in range(THREADS)]
    nb_hammer(s, *_ops(0, 1), *results[0])  # compiled before the threads start, then undone
    s.clear()
    s.add_many(SENTINELS)
    errors = []

    def run(t):
        try:
            workers[t](s, *plans[t], *results[t])
        except BaseException as exc:
            errors.append(exc)

    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # Python threads switch every 10 us: their calls interleave too
    try:
        threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
            assert not th.is_alive(), "a thread hung (deadlock?)"
    finally:
        sys.setswitchinterval(saved)
    if errors:
        raise errors[0]
    s._check()
    logs = [
        list(zip(kinds.tolist(), args.tolist(), index.tolist(), added.tolist()))
        for (kinds, args), (index, added) in zip(plans, results)
    ]
    final = replay(initial, logs)
    assert final is not None, "no order of the calls reproduces the returned indices"
    assert s.to_numpy().tolist() == final


@pytest.mark.parametrize("serialized", [True, False], ids=["serialized", "gil"])
def test_two_compiled_and_two_python_threads_on_one_set(serialized):
    _hammer(serialized, [nb_hammer, nb_hammer, py_hammer, py_hammer], count=3_000)


def test_four_compiled_threads_without_the_gil_on_one_set():
    _hammer(True, [nb_hammer] * THREADS, count=5_000)


def test_four_python_threads_on_one_serialized_set():
    _hammer(True, [py_hammer] * THREADS, count=2_000)


def test_replay_rejects_an_impossible_history():
    # the checker can fail: after 5 went in at index 1 (so 1 was there), 7 cannot go in at index 1
    assert replay([], [[(ADD, 1, 0, False)], [(ADD, 5, 1, False), (ADD, 7, 1, False)]]) is None
    assert replay([], [[(ADD, 1, 0, False)], [(ADD, 5, 1, False), (ADD, 7, 2, False)]]) == [1, 5, 7]
    assert replay([], [[(ADD, 1, 0, False)], [(ADD, 5, 0, False)]]) == [1, 5]  # 5 first
    assert replay([], [[(INSERT, 1, 0, False)]]) is None  # a new key reported as present
    assert replay([3, 4], [[(POP, 0, 3, False)]]) == [4]
    assert replay([3, 4], [[(POP, 0, 4, False)]]) is None
    assert replay([3], [[(DISCARD, 3, 0, False)], [(DISCARD, 3, -1, False)]]) == []
    assert replay([3], [[(DISCARD, 3, 0, False)], [(DISCARD, 3, 0, False)]]) is None  # removed twice


# ------------------------------------------------------- the switch decides


@numba.njit(nogil=True)
def nb_index_counting(s, keys, progress):
    # runs until told to stop (progress[2]), so it cannot finish early and look stuck; the
    # stop flag is reread after every call: each call is an atomic or an external GIL call,
    # which the compiler may not move a load across. The bound only guards against a hang.
    n = 0
    while progress[2] == 0 and n < 200_000_000:
        key = keys[n % keys.shape[0]]
        if s.index(key) != key:  # lookups only: nothing here ever needs the GIL for growth
            progress[1] += 1  # wrong answers (pytest's assert rewriting does not compile)
        n += 1
        progress[0] = n


@pytest.mark.parametrize("serialized", [False, True], ids=["gil", "serialized"])
def test_the_switch_decides_whether_compiled_calls_need_the_gil(serialized):
    """With the mode off, a nogil function's calls wait for the GIL; with it on, they do not
    (the busy flag alone makes them atomic).

    The main thread keeps the GIL (a pure-Python loop with a switch interval
    of 1,000 s) and watches the compiled thread's progress counter.
    """
    with _gil.forcing(serialized):
        s = SortedSet(np.arange(100_000), chunk_size=64)
    keys = np.random.default_rng(0).integers(0, 100_000, 100_000)
    progress = np.zeros(3, dtype=np.int64)
    progress[2] = 1
    nb_index_counting(s, keys, progress)  # compiles (the stop flag is already up)
    progress[2] = 0
    thread = threading.Thread(target=nb_index_counting, args=(s, keys, progress))
    saved = sys.getswitchinterval()
    thread.start()
    try:
        while progress[0] < 10:  # running (this sleep lets it take the GIL)
            time.sleep(0.001)
        sys.setswitchinterval(1000.0)
        # a thread already waiting for the GIL waits out the old interval once (and may get
        # it): let every such wait end before counting
        grace = time.perf_counter() + 0.2
        while time.perf_counter() < grace:
            pass
        before = int(progress[0])
        deadline = time.perf_counter() + (5.0 if serialized else 0.3)
        while time.perf_counter() < deadline and progress[0] - before < 1_000:
            pass
        moved = int(progress[0]) - before
    finally:
        progress[2] = 1
        sys.setswitchinterval(saved)
        thread.join(timeout=120)
    assert not thread.is_alive()
    if serialized:
        assert moved >= 1_000, f"only {moved} compiled calls ran while this thread held the GIL"
    else:
        assert moved <= 1, f"{moved} compiled calls ran without the GIL on a set in GIL mode"
    assert progress[0] < 200_000_000, "the thread never saw the stop flag"
    assert progress[1] == 0
    s._check()


def test_a_set_keeps_its_mode_and_the_default_follows_the_interpreter():
    assert _gil.SERIALIZED == (os.environ.get("JITSET_SERIALIZE") == "1" or not _gil.gil_enabled())
    with _gil.forcing(True):
        s = SortedSet([1, 2, 3])
        assert s.copy()._serialized and SortedSet()._serialized
    with _gil.forcing(False):
        assert not SortedSet()._serialized
        s.clear()
        s.add_many([4, 5])
    assert s._serialized  # made serialized, stays so (clear and batches rebuild storage, not the header)
    s._check()


def test_the_environment_variable(monkeypatch):
    monkeypatch.setenv("JITSET_SERIALIZE", "yes")
    with pytest.raises(ValueError, match="JITSET_SERIALIZE must be 0 or 1"):
        _gil._serialized()
    monkeypatch.setenv("JITSET_SERIALIZE", "0")
    assert _gil._serialized() is False
    monkeypatch.setenv("JITSET_SERIALIZE", "1")
    assert _gil._serialized() is True
    # and read at import, in a fresh interpreter
    code = "import jitset; print(jitset.SortedSet([1])._serialized, jitset.SortedSet([1]).add(0))"
    env = {**os.environ, "JITSET_SERIALIZE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "0"]
