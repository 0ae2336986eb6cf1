"""airspeed velocity benchmarks for jitset.

Modules:

* :mod:`.scalar` -- one key per call (add, discard, ``in``, ``s[i]``, index,
  bisect_left, floor), each timed as a Python loop of 1,000 calls.
* :mod:`.batch` -- add_many, discard_many, replace_many, contains_many,
  searchsorted, index_many, take.
* :mod:`.build` -- building from unsorted and from sorted keys; the four set
  operators on fresh and on long-lived sets, in-place forms, a small set
  with a large one.
* :mod:`.memory` -- bytes per key, chunk fill factor, peak memory of a 1M
  build.
* :mod:`.compile_time` -- a fresh process's first use, with numba's cache
  empty (everything compiled) and filled (loaded), per key type, and the
  compile of a user's ``@njit`` function calling the set's methods.

:mod:`._common` holds the keys and sets they share.  asv starts a fresh
process for every benchmark and parameter combination and (in this asv)
re-runs ``setup`` before every timed call, so everything expensive there is
memoized per process.
"""
