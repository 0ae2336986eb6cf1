"""Command line: ``python -m jitset demo``, ``bench`` and ``compile`` (and ``--version``).

``demo`` is the main job: a member list of a million members kept in sync
with a client through the indices every change reports.  ``bench`` compares
jitset with its peers, operation by operation, in one process (the set's
tables, then the dict's).  ``compile``
fills numba's cache with every kernel for the named key dtypes, so that
later processes on the same kind of machine compile nothing.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from jitset._version import __version__

    parser = argparse.ArgumentParser(prog="python -m jitset", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"jitset {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="Discord-style member list: stream presence changes, sync a client")
    demo.add_argument("--members", type=int, default=1_000_000)
    demo.add_argument("--changes", type=int, default=1_000_000)
    demo.add_argument("--tick", type=int, default=10_000, help="changes per replace_many call")
    demo.add_argument("--peer-ticks", type=int, default=10, help="ticks replayed on sortedcontainers")
    bench = sub.add_parser("bench", help="per-operation comparison with sortedcontainers, NumPy, pyroaring")
    bench.add_argument("--size", type=_count, default=None, help="keys per set (1e8 is accepted; default 1e6)")
    bench.add_argument("--batch", type=_count, default=None, help="keys per batch (default 1e5)")
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument("--plot", metavar="FILE.png", default=None)
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument("--growth", action="store_true",
                      help="cost per operation at 10^4 ... 10^8 keys (--sizes), memory after --churn batches")
    mode.add_argument("--strategies", action="store_true", help="every batch strategy, forced, across sizes")
    mode.add_argument("--distributed", action="store_true",
                      help="DistributedSortedSet on a 2-worker LocalCluster against one SortedSet "
                           "(default --size 1e7 --batch 1e6; needs jitset[distributed])")
    mode.add_argument("--threads", action="store_true",
                      help="only the table of scalar calls on the serialized (free-threaded) path")
    mode.add_argument("--dict", action="store_true",
                      help="only the SortedDict table (against SortedSet, sortedcontainers.SortedDict, NumPy)")
    bench.add_argument("--sizes", type=lambda v: [_count(x) for x in v.split(",")], default=None,
                       help="comma-separated set sizes for --growth / --strategies")
    bench.add_argument("--churn", type=int, default=1_000, help="--growth: mixed batches for the memory figure")
    compile_ = sub.add_parser("compile", help="compile every kernel into numba's cache now (first use then waits for nothing)")
    compile_.add_argument("--dtype", action="append", default=None, metavar="DTYPE",
                          help="a key dtype to compile for (repeatable; default int64), e.g. int32, float64, S16, M8[ns]")
    args = parser.parse_args(argv)
    if args.command == "compile":
        from jitset import _compile

        _compile.compile_all(args.dtype or ["int64"])
        return 0
    if args.command == "demo":
        from jitset import _demo

        return _demo.run(args.members, args.changes, args.tick, peer_ticks=args.peer_ticks)
    if args.distributed:  # its own defaults: a bigger set and batch, to amortize the round trips
        from jitset import _bench_distributed

        return _bench_distributed.run(size=args.size or 10_000_000, batch=args.batch or 1_000_000,
                                      repeats=args.repeats)
    args.size = args.size or 1_000_000
    args.batch = args.batch or 100_000
    if args.growth or args.strategies:
        from jitset import _bench_scale

        if args.growth:
            sizes = args.sizes or _bench_scale.GROWTH_SIZES
            return _bench_scale.growth(sizes, batch=args.batch, repeats=args.repeats, plot=args.plot,
                                       churn_batches=args.churn)
        return _bench_scale.strategies(args.sizes or (10**5, 10**6, 10**7, 10**8), repeats=args.repeats)
    from jitset import _bench, _bench_dict

    if args.threads:
        return _bench.threads(size=args.size, repeats=args.repeats)
    if args.dict:
        return _bench_dict.run(size=args.size, batch=args.batch, repeats=args.repeats)
    status = _bench.run(size=args.size, batch=args.batch, plot=args.plot, repeats=args.repeats)
    return status or _bench_dict.run(size=args.size, batch=args.batch, repeats=args.repeats)


def _count(text: str) -> int:
    """A positive count, also written like ``1e8`` or ``100_000``."""
    value = float(text.replace("_", "")) if any(c in text for c in ".eE") else int(text.replace("_", ""))
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(value)


if __name__ == "__main__":
    sys.exit(main())
