"""The member-list demo behind ``python -m jitset demo``.

A Discord-style guild: members sorted by (presence group, member id), packed
into one int64 (group in the top byte).  Presence changes stream in ticks;
each tick is one :meth:`SortedSet.replace_many`, and the indices it returns,
with the keys now at the inserted rows, are all a client needs to keep its
copy of the list in sync.  The simulated client applies them with NumPy and
is compared with the set at the end.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

GROUP_SHIFT = 56  # member ids below 2**56, presence group above
GROUPS = 4  # online, idle, do-not-disturb, offline


def _pack(group: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return (group.astype(np.int64) << GROUP_SHIFT) | ids


def _percentiles(ticks: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(ticks) * 1e3, [50, 99])
    return float(p50), float(p99)


def _client_apply(client: np.ndarray, removed: np.ndarray, inserted: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """What a client does with one tick's message: delete rows, then insert rows."""
    kept = np.delete(client, removed)
    # ``inserted`` are rows of the final list; np.insert wants rows of ``kept``
    return np.insert(kept, inserted - np.arange(len(inserted)), keys)


def run(members: int = 1_000_000, changes: int = 1_000_000, tick: int = 10_000, seed: int = 0,
        peer_ticks: int = 10, out=sys.stdout, progress=sys.stderr) -> int:
    """Run the demo; returns 0 when the client's list matched the set, else 1."""
    from jitset import SortedSet

    rng = np.random.default_rng(seed)
    ids = rng.choice(2**40, size=members, replace=False).astype(np.int64)
    group = rng.integers(0, GROUPS, size=members)
    # the stream: which members change in each tick, and to which group
    n_ticks = max(1, changes // tick)
    who = [rng.choice(members, size=tick, replace=False) for _ in range(n_ticks)]
    to = [rng.integers(0, GROUPS, size=tick) for _ in range(n_ticks)]

    t0 = time.perf_counter()
    warm = SortedSet([1, 2, 3])  # load the compiled kernels before timing anything
    warm.replace_many([1], [4])
    warm.take([0])
    print(f"kernels loaded in {time.perf_counter() - t0:.2f} s", file=out)

    t0 = time.perf_counter()
    s = SortedSet(_pack(group, ids))
    build = time.perf_counter() - t0
    print(f"guild of {len(s):,} members built in {build * 1e3:.0f} ms; "
          f"{s.nbytes / len(s):.1f} bytes per member", file=out)

    client = s.to_numpy()  # the client's copy, sent once
    g = group.copy()
    ticks = []
    for t in range(n_ticks):
        m = who[t]
        old = _pack(g[m], ids[m])
        g[m] = to[t]
        new = _pack(g[m], ids[m])
        start = time.perf_counter()
        removed, inserted = s.replace_many(old, new)
        message = s.take(inserted)  # the keys at the inserted rows, sent with the rows
        ticks.append(time.perf_counter() - start)
        client = _client_apply(client, removed, inserted, message)
        if progress is not None and (t + 1) % max(1, n_ticks // 10) == 0:
            print(f"  tick {t + 1}/{n_ticks}", file=progress)
    in_sync = bool(np.array_equal(client, s.to_numpy()))
    total = sum(ticks)
    p50, p99 = _percentiles(ticks)
    events = n_ticks * tick
    print(f"jitset: {events:,} presence changes in {n_ticks} ticks of {tick:,}: "
          f"{events / total:,.0f} events/s, per tick p50 {p50:.1f} ms, p99 {p99:.1f} ms", file=out)
    print(f"client list rebuilt from the reported indices matches the set: {'yes' if in_sync else 'NO'}", file=out)
    _peer(ids, group, who, to, min(peer_ticks, n_ticks), events / total, out)
    return 0 if in_sync else 1


def _peer(ids, group, who, to, n_ticks, jitset_rate, out) -> None:
    """The same stream through sortedcontainers.SortedSet, asking each change's rows."""
    try:
        from sortedcontainers import SortedSet as PeerSet
    except ImportError:
        print("sortedcontainers is not installed: peer comparison skipped (pip install 'jitset[bench]')", file=out)
        return
    packed = _pack(group, ids)
    tracemalloc.start()
    peer = PeerSet(packed.tolist())  # counts the int objects it keeps, not just its lists
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    g = group.copy()
    ticks = []
    for t in range(n_ticks):
        m = who[t]
        old = _pack(g[m], ids[m]).tolist()
        g[m] = to[t]
        new = _pack(g[m], ids[m]).tolist()
        start = time.perf_counter()
        # sortedcontainers does not report rows: ask for them, as a server would
        removed = []
        for k in old:
            removed.append(peer.index(k))
            peer.remove(k)
        inserted = []
        for k in new:
            peer.add(k)
            inserted.append(peer.index(k))
        ticks.append(time.perf_counter() - start)
    events = n_ticks * len(who[0])
    p50, p99 = _percentiles(ticks)
    rate = events / sum(ticks)
    print(f"sortedcontainers.SortedSet, first {n_ticks} ticks of the same stream: {rate:,.0f} events/s, "
          f"per tick p50 {p50:.1f} ms, p99 {p99:.1f} ms; {size / len(packed):.1f} bytes per member", file=out)
    print(f"jitset is {jitset_rate / rate:.0f}x the events/s of sortedcontainers here", file=out)
