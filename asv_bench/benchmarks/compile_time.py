"""Compile time: what a fresh process pays before jitset's first results.

numba compiles each kernel for a key storage type on its first call and
keeps it in its on-disk cache (``cache=True``), so only the first process on
a machine compiles; every later one loads.  Both costs have grown unnoticed
before, so they are tracked here per commit: a kernel that grows, a new
kernel on the first-use path, or a cache that stops being hit shows up like
any other regression.

Everything is measured in a fresh interpreter: asv's own benchmark process
has long since compiled (or loaded) every kernel it needs.

* **Cold**: numba's cache is a new empty ``NUMBA_CACHE_DIR`` (removed
  afterwards), so every kernel the calls need is compiled: the first use
  after an install.
* **Warm**: numba's default cache, filled by ``setup_cache`` first (with an
  editable install it lands in ``src/jitset/__pycache__`` unless
  ``NUMBA_CACHE_DIR`` is set): what every later process pays.

The calls are those of :func:`jitset._compile.first_use` (build a 1,000-key
set, then ``add``, ``in``, ``s[i]``, ``discard``, ``index``, ``add_many``,
``discard_many``, ``contains_many``), and the user function of
:func:`jitset._compile.user_function_seconds` (five ``SortedSet`` methods
called from the user's own ``@njit`` function).

* ``timeraw_`` benchmarks return Python code that asv times in a new
  interpreter: imports included, interpreter start-up not.
* ``track_`` benchmarks report the seconds ``first_use`` measured for its own
  calls (no imports), which splits a cold process into key types: the first
  type, then a second one after it, which compiles only what the first left
  uncompiled.  They run their subprocesses once, in ``setup_cache``.

:class:`FirstCall` is the older whole-process measure (``import jitset`` and
one ``add``), kept so that its history continues.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

#: Seconds a benchmark (or its ``setup_cache``) may take: a cold first use
#: compiles for 10-70 s per key type here, and ``setup_cache`` of
#: :class:`ColdFirstUseSeconds` runs two cold processes.
TIMEOUT = 600

#: ``python -c`` code printing, as one JSON line, ``first_use(dtype)`` (a list
#: of ``[call, seconds]``) for each dtype in ``sys.argv[1:]``, in order, in one
#: process.
_FIRST_USE_JSON = (
    "import json, sys\n"
    "from jitset._compile import first_use\n"
    "print(json.dumps([first_use(dtype) for dtype in sys.argv[1:]]))\n"
)

#: ``python -c`` code running everything a warm benchmark runs, so that numba's
#: default cache holds every jitset kernel they need.  The user function itself
#: is never cached (``cache=False``): only what it calls from jitset is.
_FILL_DEFAULT_CACHE = (
    "from jitset._compile import first_use, user_function_seconds\n"
    "first_use('int64')\n"
    "print(user_function_seconds('int64', cache=False))\n"
)

#: ``python -c`` code printing the seconds of the user function's first call.
_USER_FUNCTION = (
    "from jitset._compile import user_function_seconds\n"
    "print(user_function_seconds('int64', cache=False))\n"
)


def _python(code: str, *args: str, env: dict) -> str:
    """Run ``python -c code *args`` with ``env``; the last line it printed.

    Its stderr (numba warnings, a traceback) is passed on to asv's, which
    ``asv run --show-stderr`` prints.
    """
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT - 30,  # fail with the child's output rather than be killed by asv
    )
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code!r} {' '.join(args)} exited with {proc.returncode}:\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


def _cold_first_use(*dtypes: str) -> list[list[tuple[str, float]]]:
    """``first_use(dtype)`` for each of ``dtypes`` in turn, in one fresh process with an empty numba cache."""
    cache = tempfile.mkdtemp(prefix="jitset-cold-cache-")
    try:
        runs = json.loads(_python(_FIRST_USE_JSON, *dtypes, env=dict(os.environ, NUMBA_CACHE_DIR=cache)))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return [[(name, float(seconds)) for name, seconds in run] for run in runs]


def _fill_default_cache() -> float:
    """Run every warm benchmark's calls once in a subprocess with the normal environment.

    numba's default cache then holds every kernel they need, so a warm
    measurement loads and never compiles (unless ``src/jitset`` changes
    between this and the measurement: numba then recompiles the changed
    files' functions).  Returns the seconds of the user function's first
    call in that process.
    """
    return float(_python(_FILL_DEFAULT_CACHE, env=dict(os.environ)))


class ColdStart:
    """Wall time of a fresh interpreter's first use of jitset, numba cache empty.

    The whole process after start-up: ``import jitset`` (numba, NumPy) and
    compiling every kernel of the int64 first-use calls: what a new user's
    first script costs.  Each sample takes 10-70 s, so there is no warm-up
    run and one round, and samples stop (after at least one, at most three)
    once a minute has passed.
    """

    timeout = TIMEOUT
    rounds = 1
    warmup_time = 0
    min_run_count = 1
    repeat = (1, 3, 60.0)

    def timeraw_first_use_cold_int64(self):
        """``first_use("int64")`` in a new interpreter whose ``NUMBA_CACHE_DIR`` is a new empty directory.

        The directory is set before numba is imported (numba reads it then)
        and removed when the interpreter exits.
        """
        return """
            import atexit, os, shutil, tempfile
            cache = tempfile.mkdtemp(prefix="jitset-cold-cache-")
            atexit.register(shutil.rmtree, cache, True)
            os.environ["NUMBA_CACHE_DIR"] = cache
            from jitset._compile import first_use
            first_use("int64")
        """


class ColdFirstUseSeconds:
    """Seconds of the first-use calls themselves, numba cache empty, per key type.

    ``first_use`` times each call inside the process, so imports are left
    out and a process can be split into key types.  ``setup_cache`` runs two
    fresh processes, each with its own empty ``NUMBA_CACHE_DIR``: int64 then
    int32, and int64 then S16.  Kernels are compiled per storage type: int32
    keys are stored as they are (a second integer type), S16 keys as records
    of two uint64 words (the wide-key path of :mod:`jitset._normalized`).
    The second type's figure leaves out what the process already paid during
    int64: numba's one-time start-up and whatever is not specialized on the
    key type.

    The per-call seconds are printed on stderr (``asv run --show-stderr``
    shows them if ``setup_cache`` fails).
    """

    timeout = TIMEOUT

    def setup_cache(self):
        int64, int32 = _cold_first_use("int64", "int32")
        int64_again, s16 = _cold_first_use("int64", "S16")
        runs = {"int64": int64, "int32 after int64": int32, "int64 (second process)": int64_again, "S16 after int64": s16}
        for label, run in runs.items():
            calls = ", ".join(f"{name} {seconds:.2f}" for name, seconds in run)
            print(f"cold first_use {label}: {sum(s for _, s in run):.2f} s ({calls})", file=sys.stderr)
        return runs

    def track_first_use_cold_int64_seconds(self, runs):
        """Sum of the ``first_use("int64")`` call times, first use of jitset in the process."""
        return sum(seconds for _, seconds in runs["int64"])

    track_first_use_cold_int64_seconds.unit = "seconds"

    def track_first_use_cold_int32_after_int64_seconds(self, runs):
        """Sum of the ``first_use("int32")`` call times, right after ``first_use("int64")`` in the same process."""
        return sum(seconds for _, seconds in runs["int32 after int64"])

    track_first_use_cold_int32_after_int64_seconds.unit = "seconds"

    def track_first_use_cold_S16_after_int64_seconds(self, runs):
        """Sum of the ``first_use("S16")`` call times, right after ``first_use("int64")`` in the same process."""
        return sum(seconds for _, seconds in runs["S16 after int64"])

    track_first_use_cold_S16_after_int64_seconds.unit = "seconds"

    def track_slowest_first_call_cold_seconds(self, runs):
        """The slowest single call of the cold ``first_use("int64")``: one kernel that alone grows shows here."""
        return max(seconds for _, seconds in runs["int64"])

    track_slowest_first_call_cold_seconds.unit = "seconds"


class WarmStart:
    """A fresh interpreter's first use of jitset with numba's default cache already filled.

    ``setup_cache`` runs the calls once in a subprocess with the normal
    environment, so the cache holds every jitset kernel they need; what is
    left is the imports, loading the cache entries, and (for the user
    function) compiling the user's own function.
    """

    timeout = TIMEOUT

    def setup_cache(self):
        return _fill_default_cache()  # not None: asv passes it to every benchmark of the class

    def timeraw_warm_start(self, filled):
        """``first_use("int64")`` in a new interpreter, imports included: what every later process pays."""
        return """
            from jitset._compile import first_use
            first_use("int64")
        """

    def timeraw_user_function_compile(self, filled):
        """A new interpreter importing jitset, compiling a user's ``@njit`` function of five methods and calling it once."""
        return """
            from jitset._compile import user_function_seconds
            user_function_seconds("int64", cache=False)
        """

    def track_user_function_compile_seconds(self, filled):
        """Seconds of the first call of a user's ``@njit(cache=False)`` function calling five methods.

        In a fresh process with jitset's kernels cached: numba types and
        compiles the user's function together with the methods' overload
        bodies, which are part of it (no cache of jitset's can hold them);
        the kernels those call are loaded from the cache.  Imports are left
        out (``timeraw_user_function_compile`` has them).
        """
        return float(_python(_USER_FUNCTION, env=dict(os.environ)))

    track_user_function_compile_seconds.unit = "seconds"


# First use of jitset in a fresh interpreter, exactly as a user would write it.
_FIRST_CALL = "import jitset; jitset.SortedSet([1, 2, 3]).add(4)"


def _first_call_seconds(env: dict) -> float:
    """Wall time of a fresh interpreter importing jitset and making its first call."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


class FirstCall:
    """Seconds from starting ``python`` to the end of jitset's first ``add``.

    * ``track_first_call_cold``: numba's cache directory is empty, so every
      kernel the call needs is compiled: what the first use after an install
      costs.
    * ``track_first_call_warm``: the cache is already filled: what every
      later process pays (interpreter, ``import numba``, loading the cache).
    """

    timeout = 300

    def setup(self):
        # Make sure the default cache holds what the first call needs, so that
        # the warm measurement never compiles.
        _first_call_seconds(dict(os.environ))

    def track_first_call_cold(self):
        """``python -c "import jitset; jitset.SortedSet([1,2,3]).add(4)"``, empty numba cache."""
        cache = tempfile.mkdtemp(prefix="jitset-cold-cache-")
        try:
            return _first_call_seconds(dict(os.environ, NUMBA_CACHE_DIR=cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    track_first_call_cold.unit = "seconds"

    def track_first_call_warm(self):
        """``python -c "import jitset; jitset.SortedSet([1,2,3]).add(4)"``, numba cache filled."""
        return _first_call_seconds(dict(os.environ))

    track_first_call_warm.unit = "seconds"
