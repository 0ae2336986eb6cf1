"""The member-list demo behind ``python -m jitset demo``.

A Discord-style guild: members sorted by (presence group, display name,
member id), a structured key like the tuples Discord's ``sorted_set_nif``
sorts.  Presence changes stream in ticks; each tick is one
:meth:`SortedSet.replace_many`, and the indices it returns, with the keys
now at the inserted rows, are all a client needs to keep its copy of the
list in sync.  The simulated client applies them with NumPy and is compared
with the set at the end.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

#: The sort key of a member: presence group first, then name, then id (names repeat).
MEMBER = np.dtype([("group", "u1"), ("name", "S16"), ("id", "u8")])
GROUPS = 4  # online, idle, do-not-disturb, offline


def random_members(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random member keys (``MEMBER`` dtype): any group, random names, random 63-bit ids."""
    return _keys(rng.integers(0, GROUPS, size=n), _names(rng, n), rng.integers(0, 2**63, size=n, dtype=np.uint64))


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random lowercase display names of 3 to 16 letters."""
    letters = rng.integers(ord("a"), ord("z") + 1, size=(n, 16), dtype=np.uint8)
    lengths = rng.integers(3, 17, size=n)
    letters[np.arange(16)[None, :] >= lengths[:, None]] = 0  # NUL padding: shorter names
    return letters.view("S16").reshape(n)


def _keys(group: np.ndarray, names: np.ndarray, ids: np.ndarray) -> np.ndarray:
    keys = np.empty(len(ids), dtype=MEMBER)
    keys["group"] = group
    keys["name"] = names
    keys["id"] = ids
    return keys


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
    ids = rng.choice(2**40, size=members, replace=False).astype(np.uint64)
    names = _names(rng, members)
    group = rng.integers(0, GROUPS, size=members)
    # the stream: which members change in each tick, and to which group
    n_ticks = max(1, changes // tick)
    who = [rng.choice(members, size=tick, replace=False) for _ in range(n_ticks)]
    to = [rng.integers(0, GROUPS, size=tick) for _ in range(n_ticks)]

    t0 = time.perf_counter()
    warm = SortedSet(_keys(np.arange(3), names[:3], ids[:3]))  # load the compiled kernels before timing anything
    warm.replace_many(warm.to_numpy()[:1], _keys(np.array([3]), names[:1], ids[:1]))
    warm.take([0])
    print(f"kernels loaded in {time.perf_counter() - t0:.2f} s", file=out)

    t0 = time.perf_counter()
    s = SortedSet(_keys(group, names, ids))
    build = time.perf_counter() - t0
    print(f"guild of {len(s):,} members built in {build * 1e3:.0f} ms; "
          f"{s.nbytes / len(s):.1f} bytes per member", file=out)

    client = s.to_numpy()  # the client's copy, sent once
    g = group.copy()
    ticks = []
    for t in range(n_ticks):
        m = who[t]
        old = _keys(g[m], names[m], ids[m])
        g[m] = to[t]
        new = _keys(g[m], names[m], ids[m])
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
    _peer(ids, names, group, who, to, min(peer_ticks, n_ticks), events / total, out)
    return 0 if in_sync else 1


def _peer(ids, names, group, who, to, n_ticks, jitset_rate, out) -> None:
    """The same stream through sortedcontainers.SortedSet of (group, name, id) tuples, asking each change's rows."""
    try:
        from sortedcontainers import SortedSet as PeerSet
    except ImportError:
        print("sortedcontainers is not installed: peer comparison skipped (pip install 'jitset[bench]')", file=out)
        return
    keys = _keys(group, names, ids)
    tracemalloc.start()
    peer = PeerSet(keys.tolist())  # counts the (int, bytes, int) tuples it keeps, not just its lists
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    g = group.copy()
    ticks = []
    for t in range(n_ticks):
        m = who[t]
        old = _keys(g[m], names[m], ids[m]).tolist()
        g[m] = to[t]
        new = _keys(g[m], names[m], ids[m]).tolist()
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
          f"per tick p50 {p50:.1f} ms, p99 {p99:.1f} ms; {size / len(keys):.1f} bytes per member", file=out)
    ratio = jitset_rate / rate
    print(f"jitset is {ratio:.0f}x" if ratio >= 10 else f"jitset is {ratio:.2g}x", "the events/s of sortedcontainers here",
          file=out)
