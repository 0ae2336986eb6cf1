"""Command line: ``python -m jitset demo`` and ``python -m jitset bench``.

``demo`` is the main job: a member list of a million members kept in sync
with a client through the indices every change reports.  ``bench`` compares
jitset with its peers, operation by operation, in one process.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jitset", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="Discord-style member list: stream presence changes, sync a client")
    demo.add_argument("--members", type=int, default=1_000_000)
    demo.add_argument("--changes", type=int, default=1_000_000)
    demo.add_argument("--tick", type=int, default=10_000, help="changes per replace_many call")
    demo.add_argument("--peer-ticks", type=int, default=10, help="ticks replayed on sortedcontainers")
    bench = sub.add_parser("bench", help="per-operation comparison with sortedcontainers, NumPy, pyroaring")
    bench.add_argument("--size", type=int, default=1_000_000)
    bench.add_argument("--batch", type=int, default=100_000)
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument("--plot", metavar="FILE.png", default=None)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from jitset import _demo

        return _demo.run(args.members, args.changes, args.tick, peer_ticks=args.peer_ticks)
    from jitset import _bench

    return _bench.run(size=args.size, batch=args.batch, plot=args.plot, repeats=args.repeats)


if __name__ == "__main__":
    sys.exit(main())
