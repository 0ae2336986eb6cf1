"""How jitset's costs change with the size of the set, up to 10^8 keys.

Measurements, all in one process on random non-negative 63-bit keys:

* :func:`batch_vs_loop`: ``add_many``, ``discard_many`` and ``replace_many``
  against the scalar kernels called in a compiled loop over the same keys in
  sorted order: what a batch saves over the loop it replaces.  Part of every
  ``python -m jitset bench``, at its ``--size``, as is :func:`set_algebra`
  (the set operators against NumPy on sorted arrays).
* :func:`growth` (``python -m jitset bench --growth``): the cost per
  operation of the scalar calls and the batches at 10^4 ... 10^8 keys, with
  sortedcontainers beside it up to the size it can hold here, and the
  memory per key after a bulk build and after many mixed batches.
* :func:`strategies` (``python -m jitset bench --strategies``): each batch
  strategy of :mod:`jitset._strategy`, forced, across batch sizes and set
  sizes: the measurements behind its thresholds.
"""

from __future__ import annotations

import functools
import gc
import operator
import statistics
import sys
import time
from types import SimpleNamespace
from typing import Callable, Optional, TextIO

import numpy as np

from jitset._bench import (
    _progress,
    _KEY_HIGH,
    _SCALAR_OPS,
    PYTHON_PEERS_MAX,
    _Case,
    _fmt_ratio,
    _fmt_value,
    _fresh,
    _interleaved,
    _median_ns,
    _scalar_case,
)

__all__ = ["batch_vs_loop", "set_algebra", "growth", "strategies", "GROWTH_SIZES"]

#: Set sizes of the growth table.
GROWTH_SIZES = (10**4, 10**5, 10**6, 10**7, 10**8)

#: sortedcontainers is measured up to this size (see jitset._bench.PYTHON_PEERS_MAX).
SORTEDCONTAINERS_MAX = PYTHON_PEERS_MAX

_GROWTH_OPS = [
    ("add", "s.add(k) loop, new keys"),
    ("discard", "s.discard(k) loop, present keys"),
    ("contains", "k in s loop, present keys"),
    ("getitem", "s[i] loop, random i"),
    ("index", "s.index(k) loop, present keys"),
    ("add_many", "one batch of new keys, per key"),
    ("discard_many", "one batch of present keys, per key"),
    ("contains_many", "one batch, half present, per key"),
]


def _random_set_keys(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct random keys in [0, 2**63 - 1), sorted."""
    return np.sort(_fresh(rng, np.empty(0, dtype=np.int64), n))


def _present(rng: np.random.Generator, keys: np.ndarray, m: int) -> np.ndarray:
    """``m`` distinct keys of the sorted ``keys``, sorted (no permutation of all of ``keys``)."""
    idx = np.unique(rng.integers(0, len(keys), m + m // 4 + 16))
    while len(idx) < m:
        idx = np.union1d(idx, rng.integers(0, len(keys), m))
    return keys[np.sort(rng.choice(idx, m, replace=False))]


def _absent(rng: np.random.Generator, keys: np.ndarray, m: int) -> np.ndarray:
    """``m`` distinct random keys not in the sorted ``keys``, sorted."""
    return np.sort(_fresh(rng, keys, m))


@functools.lru_cache(maxsize=None)
def _kernel_loops():
    """Compiled loops calling the scalar kernels directly (the floor a batch must beat)."""
    from jitset._plumbing import cached  # keyed by the kernels' sources: never a stale kernel

    from jitset import _kernels

    @cached
    def add_loop(address, keys):
        done = 0
        for k in keys:
            done += _kernels.add(address, k) >= 0
        return done

    @cached
    def discard_loop(address, keys):
        done = 0
        for k in keys:
            done += _kernels.discard(address, k) != -1
        return done

    return add_loop, discard_loop


def _room(s, m: int) -> None:
    """Spare rows for ``m`` inserts, so that the kernel loop never needs to grow (untimed)."""
    st = s._store
    need = m // max(1, st.chunk // 4) + 8
    if st.cap - st.nchunks < need:
        st.grow(need)


def _timed(fn: Callable[[], object]) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def batch_vs_loop(
    size: int = 1_000_000,
    batch: int = 100_000,
    rounds: int = 5,
    out: TextIO = sys.stdout,
    progress: Optional[Callable[[str], None]] = None,
    keys: Optional[np.ndarray] = None,
) -> dict:
    """Time the write batches against the scalar kernels in a compiled loop.

    Each round times, on fresh random keys, the loop and the batch one after
    the other (alternating, so the machine's drift hits both), restoring the
    set after each.  The loop gets the batch's keys sorted: its best case,
    since consecutive keys then share cache lines.

    Returns ``{op: (loop ns/key, batch ns/key)}`` (medians) and prints a table.
    """
    from jitset import SortedSet

    progress = progress or _progress(time.perf_counter())
    rng = np.random.default_rng(777)
    if keys is None:
        keys = _random_set_keys(rng, size)
    size = len(keys)
    batch = max(1, min(batch, size // 2))
    s = SortedSet.from_sorted(keys)
    add_loop, discard_loop = _kernel_loops()
    addr = s._addr
    warm = _absent(rng, keys, 4)
    add_loop(addr, warm), discard_loop(addr, warm)  # compile (or load) outside the timings

    def pair(make, loop, batch_op, undo):
        """(loop seconds, batch seconds), each on fresh keys from ``make``, the set restored after each."""
        times = []
        for op in (loop, batch_op):
            k = make()
            if op is loop:
                _room(s, batch)  # spare rows, so that the kernel loop never needs to grow
            times.append(_timed(lambda: op(*k)))
            undo(*k)
        return tuple(times)

    half = max(1, batch // 2)
    samples: dict = {"add_many": [], "discard_many": [], "replace_many": []}
    for r in range(rounds):
        samples["add_many"].append(pair(
            lambda: (_absent(rng, keys, batch),), lambda new: add_loop(addr, new), s.add_many, s.discard_many))
        samples["discard_many"].append(pair(
            lambda: (_present(rng, keys, batch),), lambda old: discard_loop(addr, old), s.discard_many, s.add_many))
        samples["replace_many"].append(pair(
            lambda: (_present(rng, keys, half), _absent(rng, keys, half)),
            lambda old, new: (discard_loop(addr, old), add_loop(addr, new)),
            s.replace_many, lambda old, new: s.replace_many(new, old)))
        progress(f"batch vs loop, round {r + 1}/{rounds}")
    if len(s) != size or s[size // 2] != keys[size // 2]:
        print("WARNING: the set was not restored between rounds (benchmark bug)", file=out)
    result = {}
    print(f"\nbatches vs the scalar kernels in a compiled loop over the same keys (sorted): {size:,} keys, "
          f"batches of {batch:,} random keys (replace_many: {batch // 2:,} out, {batch // 2:,} in), "
          f"median of {rounds} alternating rounds, ns per key", file=out)
    head = f"{'operation':<14} {'kernel loop':>12} {'batch':>9} {'ratio':>7} {'paired':>7}"
    print(head, file=out)
    print("-" * len(head), file=out)
    for op, pairs in samples.items():
        n = batch if op != "replace_many" else 2 * (batch // 2)
        loop = statistics.median(p[0] for p in pairs) / n * 1e9
        fast = statistics.median(p[1] for p in pairs) / n * 1e9
        paired = statistics.median(p[1] / p[0] for p in pairs)
        result[op] = (loop, fast)
        print(f"{op:<14} {_fmt_value(loop):>12} {_fmt_value(fast):>9} {_fmt_ratio(fast / loop):>7} "
              f"{_fmt_ratio(paired):>7}", file=out)
    print("  - ratio: batch / loop of the medians; paired: median of the per-round ratios", file=out)
    return result


def _long_lived(s, rng: np.random.Generator, rounds: int = 5):
    """``s`` after ``rounds`` of ``add_many`` and ``discard_many`` of a tenth of its size each.

    Chunks split and merge and their rows end up anywhere in memory: the
    layout a set has after a while in use, not the one a bulk build leaves.
    """
    m = max(1, len(s) // 10)
    for _ in range(rounds):
        s.add_many(rng.integers(0, _KEY_HIGH, m, dtype=np.int64))
        s.discard_many(s.take(rng.integers(0, len(s), m)))
    return s


def _algebra_inputs(a_keys: np.ndarray, b_keys: np.ndarray, rng: np.random.Generator):
    """The input kinds of the set-algebra table: ``(label, a, b)``, each a pair of SortedSets."""
    from jitset import SortedSet

    yield "half shared, fresh from_sorted", SortedSet.from_sorted(a_keys), SortedSet.from_sorted(b_keys)
    c_keys = _random_set_keys(rng, len(b_keys))  # independent of a: they share almost nothing
    yield "independent, fresh from_sorted", SortedSet.from_sorted(a_keys), SortedSet.from_sorted(c_keys)
    a, c = SortedSet(rng.permutation(a_keys)), SortedSet(rng.permutation(c_keys))
    yield "independent, built unsorted", a, c
    yield "independent, long-lived", _long_lived(a, rng), _long_lived(c, rng)


def _numpy_ops():
    """NumPy's counterpart of each operator on two sorted unique arrays, and its name."""
    from jitset._keys import sort_unique

    return {
        "|": (lambda x, y: sort_unique(np.concatenate([x, y])), "concatenate + sort + dedupe"),
        "&": (lambda x, y: np.intersect1d(x, y, assume_unique=True), "intersect1d(assume_unique=True)"),
        "-": (lambda x, y: np.setdiff1d(x, y, assume_unique=True), "setdiff1d(assume_unique=True)"),
        "^": (lambda x, y: np.setxor1d(x, y, assume_unique=True), "setxor1d(assume_unique=True)"),
    }


_OPERATORS = {"|": operator.or_, "&": operator.and_, "-": operator.sub, "^": operator.xor}
_IN_PLACE = {"|=": operator.ior, "&=": operator.iand, "-=": operator.isub, "^=": operator.ixor}


def set_algebra(
    a_keys: np.ndarray,
    b_keys: np.ndarray,
    repeats: int = 5,
    out: TextIO = sys.stdout,
    seed: int = 21,
) -> dict:
    """``|``, ``&``, ``-``, ``^`` and their in-place forms against NumPy, on four kinds of input.

    The inputs: the bench's two sets sharing half their keys (``a_keys``,
    ``b_keys``, fresh ``from_sorted``); ``a_keys`` with an independent set
    of ``len(b_keys)`` random keys, built by ``from_sorted``, from unsorted
    arrays, and long-lived (five rounds of batches of a tenth of the set,
    :func:`_long_lived`).  NumPy's side is what a user holding two sorted
    unique arrays would call: ``concatenate`` + ``sort`` + dedupe for the
    union (``np.union1d`` hashes in NumPy 2.x and is far slower),
    ``intersect1d`` / ``setdiff1d`` / ``setxor1d`` with
    ``assume_unique=True``, on the sets' own keys.  Both sides start from
    their own containers and end with a new one.  The in-place forms run on
    a copy of the long-lived set (the copy untimed).  Then a small set
    (1,000 keys, or a tenth of the set if smaller, half of them present)
    with the large one, against ``contains_many`` of its keys.

    Returns ``{"kinds": {label: {op: (jitset ns, numpy ns)}}, "in_place":
    {op: (...)}, "small": {case: (jitset ns, reference ns)}}``, ns per input
    key (per small key for the small cases).
    """
    from jitset import SortedSet

    rng = np.random.default_rng(seed)
    numpy_ops = _numpy_ops()
    result: dict = {"kinds": {}, "in_place": {}, "small": {}}
    print(f"\nset algebra: {len(a_keys):,} + {len(b_keys):,} random keys; ns per input key, median of "
          f"{repeats} alternating runs (ratio: jitset / NumPy on the sets' sorted keys)", file=out)
    head = f"{'input':<31}" + "".join(f" | {'a ' + op + ' b':>8} {'ratio':>6}" for op in _OPERATORS)
    print(head, file=out)
    print("-" * len(head), file=out)

    def paired(mine, theirs, n):
        pairs = [(_timed(mine), _timed(theirs)) for _ in range(repeats)]
        return (statistics.median(p[0] for p in pairs) / n * 1e9, statistics.median(p[1] for p in pairs) / n * 1e9)

    for label, a, b in _algebra_inputs(a_keys, b_keys, rng):
        x, y = a.to_numpy(), b.to_numpy()
        row = result["kinds"][label] = {}
        line = f"{label:<31}"
        for op, fn in _OPERATORS.items():
            theirs = numpy_ops[op][0]
            if not np.array_equal(fn(a, b).to_numpy(), theirs(x, y)):
                print(f"WARNING: a {op} b disagrees with NumPy (benchmark bug)", file=out)
            row[op] = j, k = paired(lambda: fn(a, b), lambda: theirs(x, y), len(a) + len(b))
            line += f" | {_fmt_value(j):>8} {_fmt_ratio(j / k):>6}"
        print(line, file=out)

    # In place, on the last (long-lived) pair: each run on a fresh copy of a.
    line = f"{'in place, long-lived (a op= b)':<31}"
    for op, fn in _IN_PLACE.items():
        theirs = numpy_ops[op[0]][0]
        samples = []
        for _ in range(repeats):
            c = a.copy()
            samples.append((_timed(lambda: fn(c, b)), _timed(lambda: theirs(x, y))))
        n = len(a) + len(b)
        result["in_place"][op] = j, k = (statistics.median(p[0] for p in samples) / n * 1e9,
                                         statistics.median(p[1] for p in samples) / n * 1e9)
        line += f" | {_fmt_value(j):>8} {_fmt_ratio(j / k):>6}"
    print(line, file=out)
    print("  NumPy: " + "; ".join(f"a {op} b: {call}" for op, (_, call) in numpy_ops.items()), file=out)

    # A small set with the large one: answered by searching the large one.
    big = SortedSet.from_sorted(a_keys)
    m = max(1, min(1_000, len(a_keys) // 10))
    small_keys = rng.permutation(np.concatenate([_present(rng, a_keys, m - m // 2), _absent(rng, a_keys, m // 2)]))
    small = SortedSet(small_keys)
    probe = lambda: big.contains_many(small_keys)  # noqa: E731
    copy = big.copy
    cases = {
        "big & small": (lambda: big & small, probe, "big.contains_many(small)"),
        "small & big": (lambda: small & big, probe, "big.contains_many(small)"),
        "big - small": (lambda: big - small, copy, "big.copy()"),
    }
    print(f"\nsmall with large: {m:,} keys (half present) and {len(a_keys):,}; us per call, median of "
          f"{repeats} alternating runs", file=out)
    for name, (mine, reference, call) in cases.items():
        mine(), reference()  # first calls: nothing to load in the timed ones
        j, k = paired(mine, reference, 1)
        result["small"][name] = (j, k)
        print(f"  {name:<12} {_fmt_value(j / 1e3):>9} us   {_fmt_ratio(j / k):>7} of {call} "
              f"({_fmt_value(k / 1e3)} us)", file=out)
    return result


# ---------------------------------------------------------------- growth


def _scalar_cases(s, new: list, old: list, idx: list, undo_add, undo_discard) -> dict:
    """The bench's scalar Python loops (:func:`jitset._bench._scalar_case`) on these keys."""
    d = SimpleNamespace(scalar_new=new, scalar_old=old, scalar_idx=idx)
    return {op: _scalar_case(s, d, op, undo_add, undo_discard) for op in _SCALAR_OPS}


def _growth_cases(n: int, batch: int, calls: int, peers: bool, progress) -> dict:
    """The timed cases at ``n`` keys: ``{"jitset": {op: _Case}, "sortedcontainers": {...}, "bytes": float}``.

    The cases hold their sets (closures), so every size's sets stay alive
    until :func:`growth` has timed them all, in alternating rounds.
    """
    from jitset import SortedSet

    rng = np.random.default_rng(n)
    keys = _random_set_keys(rng, n)
    m = max(1, min(batch, n // 10))
    new = _absent(rng, keys, m + calls)
    new_batch, new_calls = rng.permutation(new[:m]), rng.permutation(new[m:])
    old_batch = rng.permutation(_present(rng, keys, m))
    old_calls = rng.permutation(_present(rng, keys, min(calls, n)))
    queries = rng.permutation(np.concatenate([_present(rng, keys, m - m // 2), new_batch[: m // 2]]))
    idx = rng.integers(0, n, calls).tolist()
    s = SortedSet(rng.permutation(keys))
    result: dict = {"bytes": s.nbytes / len(s)}
    s.add_many(new_batch[:2]), s.discard_many(new_batch[:2]), s.contains_many(queries[:2])  # compile
    cases = _scalar_cases(s, new_calls.tolist(), old_calls.tolist(), idx,
                          undo_add=lambda k: s.discard_many(np.array(k)), undo_discard=lambda k: s.add_many(np.array(k)))
    cases["add_many"] = _Case(lambda: s.add_many(new_batch), m, restore=lambda: s.discard_many(new_batch))
    cases["discard_many"] = _Case(lambda: s.discard_many(old_batch), m, restore=lambda: s.add_many(old_batch))
    cases["contains_many"] = _Case(lambda: s.contains_many(queries), m)
    result["jitset"] = cases
    if peers and n <= SORTEDCONTAINERS_MAX:
        try:
            from sortedcontainers import SortedSet as PeerSet
        except ImportError:
            return result
        t = PeerSet(keys.tolist())
        nb, ob, q = new_batch.tolist(), old_batch.tolist(), queries.tolist()
        cases = _scalar_cases(t, new_calls.tolist(), old_calls.tolist(), idx,
                              undo_add=t.difference_update, undo_discard=t.update)
        cases["add_many"] = _Case(lambda: t.update(nb), m, restore=lambda: t.difference_update(nb))
        cases["discard_many"] = _Case(lambda: t.difference_update(ob), m, restore=lambda: t.update(ob))
        cases["contains_many"] = _Case(lambda: list(map(t.__contains__, q)), m)
        result["sortedcontainers"] = cases
    progress(f"growth {n:>11,}: sets built")
    return result


#: Runs of a growth case each round; the round's figure is their median.
_RUNS_PER_ROUND = 3


def _growth_times(cases: dict, sizes: list, repeats: int, progress) -> dict:
    """Median ns per operation of every case, ``{n: {"jitset": {op: ns}, ...}, "bytes": ...}``.

    Timed in ``repeats`` rounds, each visiting every size and peer once, so
    that the machine's drift lands on every size alike: timed one size after
    the other, the same code's 10^8/10^6 ratio for ``in`` came out 2.3x in
    one run and 3.3x in the next.  A visit's figure is the median of
    :data:`_RUNS_PER_ROUND` runs back to back, so that a small set is timed
    warm, as a caller looping on it would see it.
    """
    flat = {(n, peer, op): case for n in sizes for peer in ("jitset", "sortedcontainers")
            if peer in cases[n] for op, case in cases[n][peer].items()}
    ns = _interleaved(flat, _RUNS_PER_ROUND, rounds=repeats,
                      after_round=lambda r: progress(f"growth: round {r}/{repeats} timed"))
    results = {n: {"bytes": cases[n]["bytes"]} for n in sizes}
    for (n, peer, op), v in ns.items():
        results[n].setdefault(peer, {})[op] = v
    return results


def churn(size: int, batches: int, batch: int, progress, out: TextIO = sys.stdout) -> tuple[float, float, float]:
    """Bytes per key after a bulk build of ``size`` keys and after ``batches`` mixed batches.

    Each batch is one ``replace_many`` of ``batch // 2`` present keys out and
    ``batch // 2`` new random keys in, so the size stays put while every
    chunk keeps changing.  Returns ``(bytes after build, bytes after, ms per batch)``.
    """
    from jitset import SortedSet

    rng = np.random.default_rng(99)
    s = SortedSet(rng.integers(0, _KEY_HIGH, size, dtype=np.int64))
    after_build = s.nbytes / len(s)
    half = batch // 2
    started = time.perf_counter()
    for b in range(batches):
        old = s.take(np.unique(rng.integers(0, len(s), half)))
        s.replace_many(old, rng.integers(0, _KEY_HIGH, half, dtype=np.int64))
        if (b + 1) % max(1, batches // 10) == 0:
            progress(f"churn: {b + 1}/{batches} batches, {s.nbytes / len(s):.2f} bytes per key")
    per_batch = (time.perf_counter() - started) / max(1, batches) * 1e3
    s._check()  # vectorized: a few seconds at 10^8
    return after_build, s.nbytes / len(s), per_batch


def growth(
    sizes=GROWTH_SIZES,
    batch: int = 100_000,
    calls: int = 5_000,
    repeats: int = 5,
    plot: Optional[str] = None,
    churn_batches: int = 1_000,
    out: TextIO = sys.stdout,
) -> int:
    """Print (and plot) the cost per operation at each set size in ``sizes``.

    Scalar rows are per call (a Python loop of ``calls`` calls), batch rows
    per key of a batch of ``min(batch, size // 10)`` keys.  sortedcontainers
    is measured up to :data:`SORTEDCONTAINERS_MAX` keys.  Every size's sets
    are built first and timed together, in ``repeats`` rounds (see
    :func:`_growth_times`), so they must fit in memory at once (the
    default sizes do on a 24 GiB machine).  At the largest size, memory is
    also measured after ``churn_batches`` mixed batches.
    """
    started = time.perf_counter()
    progress = _progress(started)
    from jitset._bench import _warm_jitset

    _warm_jitset()
    sizes = sorted(int(n) for n in sizes)
    cases = {n: _growth_cases(n, batch, calls, True, progress) for n in sizes}
    results = _growth_times(cases, sizes, repeats, progress)
    del cases
    gc.collect()
    peer_sizes = [n for n in sizes if "sortedcontainers" in results[n]]
    print(f"cost per operation by set size: random 63-bit keys, scalar rows per call ({calls:,} calls), "
          f"batch rows per key (batches of min({batch:,}, size/10)), median of {repeats} rounds over all sizes; ns", file=out)
    head = f"{'operation':<14}" + "".join(f" {n:>9.0e}" for n in sizes)
    lo, hi = 10**6, max(sizes)
    if lo in results and hi > lo:
        head += f" | {f'{hi:.0e}/1e+06':>12}"
    if peer_sizes:
        head += " | sortedcontainers" + "".join(f" {n:>8.0e}" for n in peer_sizes)
    print(head, file=out)
    print("-" * len(head), file=out)
    for op, _ in _GROWTH_OPS:
        line = f"{op:<14}" + "".join(f" {_fmt_value(results[n]['jitset'][op]):>9}" for n in sizes)
        if lo in results and hi > lo:
            line += f" | {_fmt_ratio(results[hi]['jitset'][op] / results[lo]['jitset'][op]):>12}"
        if peer_sizes:
            line += " | " + " " * 16 + "".join(
                f" {_fmt_value(results[n]['sortedcontainers'][op]):>8}" for n in peer_sizes)
        print(line, file=out)
    print(f"{'bytes/key':<14}" + "".join(f" {results[n]['bytes']:>9.2f}" for n in sizes) + "   (after a bulk build)",
          file=out)
    if churn_batches:
        built, after, ms = churn(hi, churn_batches, batch, progress, out)
        print(f"memory at {hi:,} keys: {built:.2f} bytes per key after the bulk build, {after:.2f} after "
              f"{churn_batches:,} replace_many batches of {batch // 2:,} out + {batch // 2:,} in "
              f"({ms:.0f} ms per batch)", file=out)
    print(f"total time {time.perf_counter() - started:.1f} s", file=out)
    if plot:
        _plot_growth(plot, sizes, results, out)
    return 0


def _plot_growth(path: str, sizes: list, results: dict, out: TextIO) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(f"note: matplotlib is not installed, no plot written to {path} (pip install matplotlib)", file=out)
        return
    fig = Figure(figsize=(9, 5.5))
    axes = fig.subplots(1, 2, sharey=True)
    groups = (("scalar calls from Python (per call)", _GROWTH_OPS[:5]), ("batches (per key)", _GROWTH_OPS[5:]))
    for ax, (title, ops) in zip(axes, groups):
        for j, (op, _) in enumerate(ops):
            color = f"C{j}"
            ax.plot(sizes, [results[n]["jitset"][op] for n in sizes], "o-", color=color, label=f"jitset {op}")
            peer = [n for n in sizes if "sortedcontainers" in results[n]]
            if peer:
                ax.plot(peer, [results[n]["sortedcontainers"][op] for n in peer], "x--", color=color,
                        alpha=0.6, label=f"sortedcontainers {op}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("keys in the set")
        ax.set_title(title, fontsize="medium")
        ax.grid(which="major", linewidth=0.3)
        ax.legend(fontsize="x-small", loc="upper left")
    axes[0].set_ylabel("ns per operation")
    fig.suptitle("jitset (solid) and sortedcontainers (dashed) as the set grows", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}", file=out)


# ------------------------------------------------------------ strategies


def strategies(sizes=(10**5, 10**6, 10**7, 10**8), batches=(10, 100, 1_000, 10_000, 100_000),
               repeats: int = 5, out: TextIO = sys.stdout) -> int:
    """Time every strategy of :mod:`jitset._strategy`, forced, per key, at each set and batch size."""
    from jitset import SortedSet, _strategy

    progress = _progress(time.perf_counter())
    print("batch strategies, forced: ns per key (median of "
          f"{repeats}); keys/chunk = batch / chunks in the set", file=out)
    head = f"{'keys':>9} {'batch':>8} {'keys/chunk':>10} | {'add local':>9} {'merge':>7} | " \
           f"{'discard merge':>13} {'rebuild':>8} | {'query each':>10} {'sweep':>7}"
    print(head, file=out)
    print("-" * len(head), file=out)
    for n in sizes:
        rng = np.random.default_rng(n + 1)
        keys = _random_set_keys(rng, n)
        s = SortedSet.from_sorted(keys)
        for m in batches:
            if m > n // 2:
                continue
            row = {}
            for kind, choices in (("add", ("local", "merge")), ("discard", ("merge", "rebuild")),
                                  ("query", ("each", "sweep"))):
                for choice in choices:
                    if kind == "discard" and choice == "rebuild" and m * 1000 < n:
                        continue  # a rebuild rewrites the whole set: hopeless this far from it
                    with _strategy.forcing(**{kind: choice}):
                        times = []
                        for _ in range(repeats):
                            if kind == "add":
                                b = rng.permutation(_absent(rng, keys, m))
                                times.append(_timed(lambda: s.add_many(b)))
                                s.discard_many(b)
                            elif kind == "discard":
                                b = rng.permutation(_present(rng, keys, m))
                                times.append(_timed(lambda: s.discard_many(b)))
                                s.add_many(b)
                            else:
                                b = rng.permutation(np.concatenate([_present(rng, keys, m - m // 2),
                                                                    _absent(rng, keys, m // 2)]))
                                times.append(_timed(lambda: s.contains_many(b)))
                        row[(kind, choice)] = statistics.median(times) / m * 1e9
            v = lambda k, c: _fmt_value(row.get((k, c)))  # noqa: E731
            print(f"{n:>9.0e} {m:>8,} {m / s._store.nchunks:>10.3g} | {v('add', 'local'):>9} {v('add', 'merge'):>7} | "
                  f"{v('discard', 'merge'):>13} {v('discard', 'rebuild'):>8} | {v('query', 'each'):>10} "
                  f"{v('query', 'sweep'):>7}", file=out, flush=True)
            progress(f"strategies at {n:,} keys, batch {m:,}")
        del s
        gc.collect()
    return 0
