"""jitset.distributed: a DistributedSortedSet on a LocalCluster against one local SortedSet.

The cluster is started and stopped by this module (two worker processes,
one thread each, loopback only); every wait on it has a timeout
(``jitset.distributed.TIMEOUT``), so nothing here can hang.  A tiny
``max_partition_keys`` makes partitions split and merge all the time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from distributed import Client, LocalCluster

from jitset import SortedSet
from jitset.distributed import DistributedSortedSet

MAX = 8  # keys per partition before it splits; neighbours merge at MAX // 2


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                           host="127.0.0.1", worker_dashboard_address=":0")
    c = Client(cluster, timeout=60)
    c.wait_for_workers(2, timeout=60)
    yield c
    c.close(timeout=30)
    cluster.close(timeout=30)


KEY = st.integers(-50, 150)
KEYS = st.lists(KEY, max_size=25)


class DistributedMachine(RuleBasedStateMachine):
    """Every operation on both sets; every returned array compared."""

    client = None  # set by the test

    @initialize(values=KEYS, partitions=st.none() | st.integers(1, 5))
    def build(self, values, partitions):
        if partitions is None and not values:
            self.d = DistributedSortedSet(self.client, max_partition_keys=MAX)
        else:
            self.d = DistributedSortedSet.from_array(self.client, np.array(values, dtype=np.int64),
                                                     partitions=partitions, max_partition_keys=MAX)
        self.s = SortedSet(values, dtype=np.int64)

    @invariant()
    def same_keys(self):
        self.d._check()
        assert len(self.d) == len(self.s)
        assert np.array_equal(self.d.to_numpy(), self.s.to_numpy())

    @rule(keys=KEYS)
    def add_many(self, keys):
        assert np.array_equal(self.d.add_many(keys), self.s.add_many(keys))

    @rule(keys=KEYS)
    def discard_many(self, keys):
        assert np.array_equal(self.d.discard_many(keys), self.s.discard_many(keys))

    @rule(old=KEYS, new=KEYS)
    def replace_many(self, old, new):
        for a, b in zip(self.d.replace_many(old, new), self.s.replace_many(old, new)):
            assert np.array_equal(a, b)

    @rule(keys=KEYS, side=st.sampled_from(["left", "right"]))
    def queries(self, keys, side):
        assert np.array_equal(self.d.contains_many(keys), self.s.contains_many(keys))
        assert np.array_equal(self.d.searchsorted(keys, side), self.s.searchsorted(keys, side))
        assert np.array_equal(self.d.index_many(keys), self.s.index_many(keys))

    @precondition(lambda self: len(self.s) > 0)
    @rule(data=st.data())
    def take(self, data):
        n = len(self.s)
        idx = data.draw(st.lists(st.integers(-n, n - 1), max_size=10))
        assert np.array_equal(self.d.take(idx), self.s.take(idx))
        i = idx[0] if idx else 0
        assert self.d[i] == self.s[i]

    @rule(lo=st.none() | KEY, hi=st.none() | KEY, inclusive=st.tuples(st.booleans(), st.booleans()),
          reverse=st.booleans())
    def irange(self, lo, hi, inclusive, reverse):
        assert np.array_equal(self.d.irange(lo, hi, inclusive, reverse), self.s.irange(lo, hi, inclusive, reverse))

    @rule(key=KEY)
    def scalars(self, key):
        assert (key in self.d) == (key in self.s)
        if key in self.s:
            assert self.d.index(key) == self.s.index(key)
        else:
            with pytest.raises(ValueError):
                self.d.index(key)

    @rule(key=KEY)
    def add(self, key):
        assert self.d.add(key) == self.s.add(key)

    @rule(key=KEY)
    def insert(self, key):
        assert self.d.insert(key) == self.s.insert(key)

    @rule(key=KEY)
    def discard(self, key):
        assert self.d.discard(key) == self.s.discard(key)

    @rule()
    def ends(self):
        if self.s:
            assert (self.d.min(), self.d.max()) == (self.s.min(), self.s.max())
        else:
            with pytest.raises(ValueError):
                self.d.min()
            with pytest.raises(IndexError):
                self.d.take([0])


def test_state_machine(client):
    DistributedMachine.client = client
    machine = DistributedMachine.TestCase
    machine.settings = settings(max_examples=15, stateful_step_count=20, deadline=None,
                                suppress_health_check=list(HealthCheck))
    machine().runTest()


def test_one_batch_splits_a_partition_many_times(client):
    d = DistributedSortedSet(client, max_partition_keys=MAX)
    keys = np.arange(1_000, dtype=np.int64)[::-1]
    assert np.array_equal(d.add_many(keys), np.arange(1_000))
    assert d.partitions >= 1_000 // MAX
    d._check()
    gone = np.arange(0, 1_000, 2)
    assert np.array_equal(d.discard_many(gone[::-1]), gone)
    d._check()
    assert np.array_equal(d.discard_many(np.arange(1_000)), np.arange(500))
    assert d.partitions == 1 and len(d) == 0
    d._check()


def test_many_empty_sets_in_a_row(client):
    # every empty set's one partition starts from the same (empty) keys; scattered with
    # hash=True they shared one key, released under the next set: its calls timed out
    for n in range(20):
        d = DistributedSortedSet(client, max_partition_keys=MAX)
        assert np.array_equal(d.add_many([n, n + 1]), [0, 1])
        del d


@pytest.mark.parametrize("dtype", ["float64", "datetime64[ns]", "uint64", "int8"])
def test_other_dtypes(client, dtype):
    rng = np.random.default_rng(5)
    if dtype == "float64":
        keys = np.concatenate([rng.normal(size=60), [-np.inf, np.inf, -0.0, 0.0, 5e-324]])
    elif dtype == "datetime64[ns]":
        keys = (rng.integers(0, 10**18, 60)).astype("datetime64[ns]")
    elif dtype == "uint64":
        keys = np.concatenate([rng.integers(0, 2**64 - 1, 60, dtype=np.uint64, endpoint=True),
                               np.array([0, 2**64 - 1], dtype=np.uint64)])
    else:
        keys = np.array([-128, 127, 0, 5, -5], dtype=np.int8)
    d = DistributedSortedSet.from_array(client, keys, partitions=3, max_partition_keys=MAX)
    s = SortedSet(keys)
    assert d.dtype == s.dtype
    more = keys[::3]
    d._check()
    assert np.array_equal(d.to_numpy(), s.to_numpy())
    assert np.array_equal(d.discard_many(more), s.discard_many(more))
    assert np.array_equal(d.searchsorted(keys), s.searchsorted(keys))
    assert np.array_equal(d.add_many(more), s.add_many(more))
    assert np.array_equal(d.take([0, -1]), s.take([0, -1]))
    assert d[0] == s[0] and d.max() == s.max()
    d._check()


def test_bad_input_changes_nothing(client):
    d = DistributedSortedSet.from_array(client, np.arange(20), partitions=2, max_partition_keys=MAX)
    before = (d.to_numpy(), d.partition_sizes)
    with pytest.raises(OverflowError):
        d.add_many([1, 2**70])
    with pytest.raises(TypeError):
        d.discard_many(["a"])
    with pytest.raises(ValueError):
        DistributedSortedSet.from_array(client, [1.0, np.nan], max_partition_keys=MAX)
    with pytest.raises(TypeError, match="not an integer"):
        d.add_many([0.5])
    with pytest.raises(IndexError):
        d.take([20])
    with pytest.raises(ValueError, match="side"):
        d.searchsorted([1], side="middle")
    with pytest.raises(ValueError, match="from_array"):
        DistributedSortedSet(client, partitions=3)
    with pytest.raises(TypeError, match="distributed.Client"):
        DistributedSortedSet("not a client")
    assert 2**70 not in d and -1 not in d
    assert np.array_equal(d.to_numpy(), before[0]) and np.array_equal(d.partition_sizes, before[1])
    d._check()


def test_import_jitset_does_not_import_dask():
    import subprocess
    import sys

    code = "import sys, jitset; jitset.SortedSet([1]); print('distributed' in sys.modules, 'dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


# ------------------------------------------------------------ persistence


def _actors(client) -> set:
    """Keys of the actor tasks the scheduler knows of (to show that a failed load built nothing).

    Compared as sets, ``_actors(client) <= before``: earlier tests' actors are released
    asynchronously, so the count can fall during a call (CI once saw 14 before, 8 after).
    """
    return client.run_on_scheduler(lambda dask_scheduler: {k for k, ts in dask_scheduler.tasks.items() if ts.actor})


def test_save_load_round_trip(client, tmp_path):
    keys = np.random.default_rng(2).integers(-10**12, 10**12, 500)
    d = DistributedSortedSet.from_array(client, keys, partitions=3, max_partition_keys=400)
    d.save(tmp_path)
    first = {p.name for p in tmp_path.iterdir() if p.suffix == ".jitset"}
    assert len(first) == d.partitions == 3 and (tmp_path / "manifest.json").exists()
    e = DistributedSortedSet.load(client, tmp_path)
    e._check()
    assert np.array_equal(e.to_numpy(), np.unique(keys))
    assert np.array_equal(e.partition_sizes, d.partition_sizes)
    assert np.array_equal(e.add_many([1, 2]), d.add_many([1, 2]))
    d.save(tmp_path)  # a second save replaces the first one's files
    second = {p.name for p in tmp_path.iterdir() if p.suffix == ".jitset"}
    assert len(second) == d.partitions and not first & second
    assert np.array_equal(DistributedSortedSet.load(client, tmp_path).to_numpy(), d.to_numpy())


@pytest.mark.parametrize("dtype", ["float64", "datetime64[us]"])
def test_save_load_other_dtypes(client, tmp_path, dtype):
    rng = np.random.default_rng(3)
    keys = rng.normal(size=50) if dtype == "float64" else rng.integers(0, 10**15, 50).astype(dtype)
    d = DistributedSortedSet.from_array(client, keys, partitions=2, max_partition_keys=MAX * 4)
    d.save(tmp_path)
    e = DistributedSortedSet.load(client, tmp_path)
    assert e.dtype == np.dtype(dtype)
    assert np.array_equal(e.to_numpy(), np.unique(keys))
    e._check()


def test_an_interrupted_save_leaves_the_previous_one_loadable(client, tmp_path):
    import subprocess
    import sys
    import textwrap

    d = DistributedSortedSet.from_array(client, np.arange(100), partitions=3, max_partition_keys=MAX * 8)
    d.save(tmp_path)
    # another process writes every partition file of a new save, then dies before the manifest
    code = textwrap.dedent(f"""
        import os, numpy as np
        from distributed import Client
        from jitset.distributed import DistributedSortedSet
        client = Client({client.scheduler.address!r}, timeout=60)
        s = DistributedSortedSet.from_array(client, np.arange(1000, 1300), partitions=4, max_partition_keys=1000)
        s.save({str(tmp_path)!r}, _before_manifest=lambda: os._exit(3))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 3, out.stderr
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".jitset"]) == 3 + 4  # its files are there
    e = DistributedSortedSet.load(client, tmp_path)
    assert np.array_equal(e.to_numpy(), np.arange(100))
    e.save(tmp_path)  # the next save clears the interrupted one's files away
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".jitset"]) == 3


def _corrupt_manifest(path, how):
    import json

    text = path.read_text()
    if how == "truncated":
        path.write_text(text[: len(text) // 2])
    elif how == "edited":  # still valid JSON, wrong checksum
        m = json.loads(text)
        m["splitters"][0] += 1
        path.write_text(json.dumps(m))
    elif how == "missing field":
        m = json.loads(text)
        del m["max_partition_keys"]
        path.write_text(json.dumps(m))
    else:
        path.unlink()


@pytest.mark.parametrize("how", ["truncated", "edited", "missing field", "deleted"])
def test_a_corrupted_manifest_raises_before_anything_is_built(client, tmp_path, how):
    d = DistributedSortedSet.from_array(client, np.arange(60), partitions=3, max_partition_keys=MAX * 8)
    d.save(tmp_path)
    _corrupt_manifest(tmp_path / "manifest.json", how)
    before = _actors(client)
    with pytest.raises(ValueError, match="manifest|no manifest.json"):
        DistributedSortedSet.load(client, tmp_path)
    assert _actors(client) <= before


@pytest.mark.parametrize("how", ["flipped byte", "truncated", "swapped"])
def test_a_corrupted_partition_file_raises_before_anything_is_built(client, tmp_path, how):
    d = DistributedSortedSet.from_array(client, np.arange(60), partitions=3, max_partition_keys=MAX * 8)
    d.save(tmp_path)
    files = sorted(p for p in tmp_path.iterdir() if p.suffix == ".jitset")
    data = files[1].read_bytes()
    if how == "flipped byte":
        files[1].write_bytes(data[:-3] + bytes([data[-3] ^ 1]) + data[-2:])
    elif how == "truncated":
        files[1].write_bytes(data[:-8])
    else:  # a whole, valid file, but another partition's
        files[1].write_bytes(files[0].read_bytes())
    before = _actors(client)
    with pytest.raises(ValueError, match=files[1].name):
        DistributedSortedSet.load(client, tmp_path)
    assert _actors(client) <= before


# ------------------------------------------------------------ faults


def test_a_killed_worker_is_reported_and_the_last_save_recovers(tmp_path):
    import os
    import signal
    import time

    from jitset.distributed import PartitionError

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                           host="127.0.0.1", worker_dashboard_address=":0")
    c = Client(cluster, timeout=60)
    try:
        c.wait_for_workers(2, timeout=60)
        d = DistributedSortedSet.from_array(c, np.arange(200), partitions=4, max_partition_keys=1_000)
        assert len(set(d._where)) == 2  # partitions on both workers
        d.save(tmp_path)
        d.add_many([1_000])  # after the save: lost with the worker
        victim = d._where[0]
        lost = [i for i, w in enumerate(d._where) if w == victim]
        pid = c.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)  # the worker process dies; its nanny starts a new one
        deadline = time.monotonic() + 60
        while victim in c.nthreads():  # asked now (scheduler_info() may return a cache without workers)
            assert time.monotonic() < deadline, "the killed worker never left the cluster"
            time.sleep(0.1)
        with pytest.raises(PartitionError) as err:
            d.add_many(np.arange(0, 200, 7))
        message = str(err.value)
        assert f"partitions {lost}" in message and str(tmp_path) in message and "applied" in message
        with pytest.raises(PartitionError):  # and every later call, instead of a wrong answer
            d.take([0])
        c.wait_for_workers(2, timeout=60)  # the nanny starts a new worker
        e = DistributedSortedSet.load(c, tmp_path)
        assert np.array_equal(e.to_numpy(), np.arange(200))
        e._check()
    finally:
        c.close(timeout=30)
        cluster.close(timeout=30)


def test_dask_arrays_in_and_out(client):
    import dask.array as da

    rng = np.random.default_rng(4)
    x = da.from_array(rng.integers(0, 5_000, 3_000), chunks=700)
    d = DistributedSortedSet.from_dask_array(client, x, partitions=3, max_partition_keys=1_000)
    d._check()
    assert np.array_equal(d.to_numpy(), np.unique(x.compute()))
    y = d.to_dask_array()
    assert y.numblocks[0] == int(np.count_nonzero(d.partition_sizes))
    d.add_many([-1])  # the dask array is a snapshot taken when it was made
    assert np.array_equal(y.compute(), np.unique(x.compute()))
    bad = da.from_array(np.array([1.0, 2.5, 3.0]), chunks=1)
    before = _actors(client)
    with pytest.raises(TypeError, match="not an integer"):  # 2.5 in an int64 set, found on a worker
        DistributedSortedSet.from_dask_array(client, bad, dtype=np.int64, max_partition_keys=MAX)
    assert _actors(client) <= before


def test_the_readme_example_runs(tmp_path):
    """The example of the guide's "Beyond one machine" page, as a script, prints what its comments say."""
    import pathlib
    import re
    import subprocess
    import sys

    page = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "distributed.md").read_text()
    section = re.search(r"# Beyond one machine\n(.*?)\n## ", page, re.S).group(1)
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1).replace("/tmp/ids", str(tmp_path / "ids"))
    script = tmp_path / "example.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    printed = out.stdout.split("\n")
    expected = [re.search(r"# (.*?)(:|$)", line).group(1).strip() for line in code.splitlines()
                if "print(" in line]
    assert [p.strip() for p in printed if p.strip()] == expected
