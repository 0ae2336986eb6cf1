"""Command line: ``python -m jitset demo``.

``demo`` shows the point of the library on a member list: every change to the
set answers the row it touched, so a client's copy of the list can be kept in
sync with inserts and deletes at those rows.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def demo(members: int = 200_000, changes: int = 20_000, seed: int = 0) -> int:
    """Build a member list, stream presence changes, replay them on a client list."""
    from jitset import SortedSet

    rng = np.random.default_rng(seed)
    ids = rng.choice(2**40, size=members, replace=False).astype(np.int64)
    group = rng.integers(0, 4, size=members, dtype=np.int64)  # online / idle / dnd / offline
    # sort key: (presence group, member id) packed in one int64
    t0 = time.perf_counter()
    s = SortedSet((group << 48) | ids)
    build = time.perf_counter() - t0
    client = s.to_numpy().tolist()  # what a client was sent once
    print(f"built a member list of {len(s):,} members in {build * 1e3:.1f} ms ({s.nbytes / len(s):.1f} bytes/member)")

    t0 = time.perf_counter()
    shown = 0
    for n in range(changes):
        m = int(rng.integers(members))
        old = int((group[m] << 48) | ids[m])
        group[m] = (group[m] + 1 + rng.integers(3)) % 4
        new = int((group[m] << 48) | ids[m])
        removed_at = s.remove(old)
        added_at = s.add(new)
        # the client applies the same two row operations
        del client[removed_at]
        client.insert(added_at, new)
        if shown < 3:
            print(f"  member {ids[m]}: moved from row {removed_at} to row {added_at}")
            shown += 1
    elapsed = time.perf_counter() - t0
    ok = client == s.to_numpy().tolist()
    print(f"{changes:,} presence changes in {elapsed:.2f} s ({changes / elapsed:,.0f} changes/s)")
    print(f"client list in sync with the set: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jitset", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="member-list demo: every change reports its row")
    p.add_argument("--members", type=int, default=200_000)
    p.add_argument("--changes", type=int, default=20_000)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.members, args.changes)
    return 2


if __name__ == "__main__":
    sys.exit(main())
