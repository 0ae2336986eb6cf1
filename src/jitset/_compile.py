"""Compile time: what a first use compiles, and ``python -m jitset compile``.

numba compiles each kernel for a key storage type on its first call and
keeps it in its on-disk cache (``cache=True``), so only the first process
on a machine pays.  This module holds the two things that measure and
prepay that cost:

* :func:`first_use`: the first-use script of the compile-time issue (a
  1,000-key set, then the calls a new user makes first), timing each call.
  The tests and the asv ``timeraw_`` benchmarks run it in fresh
  interpreters with an empty ``NUMBA_CACHE_DIR``.
* :func:`compile_all`: ``python -m jitset compile``: every kernel and every
  cached function of the numba extension, for the named key dtypes, in one
  process (parallel compiles into one cache race on numba's index files).

numba's cache entries are keyed by the CPU, so a cache filled here helps
only on machines of the same CPU (a CI image, a fleet).
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Iterable, Optional

import numpy as np

__all__ = ["FIRST_USE", "first_use", "user_function_seconds", "compile_all", "compile_counts", "cache_locations"]

#: The calls of the first-use table, in order.
FIRST_USE = ("build", "add", "in", "s[i]", "discard", "index", "add_many", "discard_many", "contains_many")


def _sample(dtype: np.dtype, n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct keys of ``dtype`` in random order."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(4 * n)[:n]
    if dtype.kind in "SU":
        return np.array([f"k{i:07d}" for i in order], dtype=dtype)
    if dtype.kind in "Mm":
        return order.astype(np.int64).view(dtype)
    return order.astype(dtype)


def first_use(dtype="int64", n: int = 1_000) -> list[tuple[str, float]]:
    """Run the first-use calls on a fresh set of ``n`` keys; seconds per call.

    The calls, in order: ``SortedSet(array)``, ``add``, ``in``, ``s[i]``,
    ``discard``, ``index``, ``add_many``, ``discard_many``,
    ``contains_many`` (batches of 100 keys).  In a fresh process with an
    empty numba cache each one's time is mostly the compiling of its kernels.
    """
    from jitset import SortedSet

    dtype = np.dtype(dtype)
    keys = _sample(dtype, n + 101)
    base, new, batch = keys[:n], keys[n], keys[n + 1 :]
    key = base[0]
    times = []

    def timed(name: str, call: Callable):
        start = time.perf_counter()
        result = call()
        times.append((name, time.perf_counter() - start))
        return result

    s = timed("build", lambda: SortedSet(base))
    timed("add", lambda: s.add(new))
    timed("in", lambda: key in s)
    timed("s[i]", lambda: s[3])
    timed("discard", lambda: s.discard(new))
    timed("index", lambda: s.index(key))
    timed("add_many", lambda: s.add_many(batch))
    timed("discard_many", lambda: s.discard_many(batch))
    timed("contains_many", lambda: s.contains_many(batch))
    return times


#: A user's function calling five methods of a SortedSet (the issue's example).
USER_FUNCTION = '''
import numba

@numba.njit(cache=CACHE)
def five_methods(s, keys):
    total = 0
    for k in keys:
        total += s.add(k)
        if k in s:
            total += s.index(k)
        total += s[0]
        total += s.discard(k)
    return total
'''


def user_function_seconds(dtype="int64", cache: bool = False) -> float:
    """Seconds to compile (or load) and run once the :data:`USER_FUNCTION` for a set of ``dtype``."""
    from jitset import SortedSet

    namespace: dict = {}
    exec(USER_FUNCTION.replace("CACHE", repr(cache)), namespace)  # a fresh function: nothing compiled yet
    s = SortedSet(_sample(np.dtype(dtype), 100))
    keys = _sample(np.dtype(dtype), 4, seed=1)
    start = time.perf_counter()
    namespace["five_methods"](s, keys)
    return time.perf_counter() - start


def _units(dtype: np.dtype) -> list[tuple[str, Callable[[], object]]]:
    """Every compiled function a set of ``dtype`` may call: ``(name, compile it)``."""
    from jitset import _numba_extension, _plumbing
    from jitset._entry_points import entry_points
    from jitset._keys import codec_for

    points = entry_points(codec_for(dtype).storage)
    units = [(name, lambda name=name: getattr(points, name)) for name in points.kernel_names()]
    st = _numba_extension.numba_type(dtype)
    if st.supported:  # the extension's trips back to Python, cached like the kernels
        for f in (_numba_extension._wait, _numba_extension._give_back):
            units.append((f.__name__, lambda f=f: f.compile((st,))))
        insert = _numba_extension._insert_in_python
        units.append((insert.__name__, lambda: insert.compile((st, st.keytype))))
    from numba import types

    for f in (_plumbing.hold, _plumbing.unhold):
        units.append((f.__name__, lambda f=f: f.compile((types.int64,))))
    fill = _numba_extension._fill_slot
    units.append((fill.__name__, lambda: fill.compile((types.int64, types.int64))))
    return units


def compile_counts() -> tuple[int, int]:
    """``(compiled, loaded)``: how many of jitset's cached functions this process
    compiled (numba cache misses) and loaded from numba's cache (hits)."""
    from jitset import _plumbing

    misses = sum(sum(d.stats.cache_misses.values()) for d in _plumbing.DISPATCHERS)
    hits = sum(sum(d.stats.cache_hits.values()) for d in _plumbing.DISPATCHERS)
    return misses, hits


def cache_locations() -> list[str]:
    """Where numba keeps jitset's compiled kernels (``NUMBA_CACHE_DIR`` when set)."""
    from jitset import _batch_kernels, _kernels

    return sorted({d._cache._cache_path for d in (_kernels.add, _batch_kernels.merge_add)})


def compile_all(dtypes: Iterable = ("int64",), out=sys.stdout, progress=sys.stderr) -> float:
    """Compile (or load from numba's cache) every kernel for each key dtype; seconds taken.

    One process, one function at a time: parallel compiles into one cache
    race on numba's index files and lose entries.  Prints a progress bar to
    ``progress`` and a final line to ``out``.
    """
    from jitset._keys import resolve_dtype

    resolved = [resolve_dtype(d) for d in dtypes]
    work = [(dt, name, unit) for dt in resolved for name, unit in _units(dt)]
    start = time.perf_counter()
    for i, (dt, name, unit) in enumerate(work):
        if progress is not None:  # what is being compiled now
            done = 30 * i // len(work)
            print(f"\r[{'#' * done}{'.' * (30 - done)}] {i}/{len(work)} {dt} {name:<24}", end="", file=progress,
                  flush=True)
        unit()
    if progress is not None:
        print(f"\r[{'#' * 30}] {len(work)}/{len(work)} {'':<40}", file=progress)
    took = time.perf_counter() - start
    names = ", ".join(str(d) for d in resolved)
    print(f"compiled {len(work)} functions for {names} in {took:.1f} s; numba cache: "
          f"{', '.join(cache_locations())}", file=out)
    return took
