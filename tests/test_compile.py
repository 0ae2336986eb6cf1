"""Compile time and numba's cache: what compiles when, and that nothing stale is ever loaded.

Every test here runs fresh interpreters against a private, empty
``NUMBA_CACHE_DIR``, so it measures what a new install does.  They check
behaviour (what compiled, what loaded, what a call returned), not seconds:
timings are the asv suite's (``asv_bench/benchmarks/compile_time.py``).
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import jitset
from jitset import _numba_extension, _plumbing

PACKAGE = pathlib.Path(jitset.__file__).parent


def _python(code: str, cache: pathlib.Path, pythonpath: str | None = None, *args: str) -> str:
    """Run ``code`` in a fresh interpreter with numba's cache at ``cache``; its last printed line."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    env.pop("_JITSET_NUMBA_TAG_SALT", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


_FIRST_USE = """
import json, sys
from jitset._compile import compile_counts, first_use
for dtype in sys.argv[1:]:
    first_use(dtype)
print(json.dumps(compile_counts()))
"""


def test_a_second_process_loads_every_kernel_of_the_first_use_from_the_cache(tmp_path):
    """The first-use script for two storage types: compiled once, then only loaded."""
    dtypes = ("int32", "S16")
    compiled, loaded = json.loads(_python(_FIRST_USE, tmp_path, None, *dtypes))
    assert compiled > 0 and loaded == 0
    compiled, loaded = json.loads(_python(_FIRST_USE, tmp_path, None, *dtypes))
    assert compiled == 0, "a second process compiled again instead of loading from the cache"
    assert loaded > 0


def test_the_compile_command_fills_the_cache_for_the_first_use(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "jitset", "compile", "--dtype", "int64"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("compiled ") and str(tmp_path) in done.stdout, done.stdout
    compiled, loaded = json.loads(_python(_FIRST_USE, tmp_path, None, "int64"))
    assert (compiled, loaded) == (0, loaded) and loaded > 0, "the first use compiled after `jitset compile`"


_GETITEM = """
import json, jitset
from jitset import SortedSet
from jitset._compile import compile_counts
assert jitset.__file__.startswith(PREFIX), jitset.__file__
s = SortedSet([10, 20, 30, 40, 50])
print(json.dumps([s[3], compile_counts()[0]]))
"""


def test_a_change_to_a_helper_module_alone_is_never_served_from_the_old_cache(tmp_path):
    """numba checks only a cached function's own file: edit only ``_plumbing.py`` in a copy
    of the package (what ``getitem`` returns), and the next process must recompile and see it."""
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "jitset", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    code = _GETITEM.replace("PREFIX", repr(str(copy)))
    value, compiled = json.loads(_python(code, cache, str(copy)))
    assert value == 40 and compiled > 0
    value, compiled = json.loads(_python(code, cache, str(copy)))
    assert (value, compiled) == (40, 0)  # the cache works: nothing compiled

    plumbing = copy / "jitset" / "_plumbing.py"
    source = plumbing.read_text()
    old = "    return lambda like, key: key\n"
    assert source.count(old) == 1
    plumbing.write_text(source.replace(old, "    return lambda like, key: key + 1\n"))
    value, compiled = json.loads(_python(code, cache, str(copy)))
    assert value == 41, "the kernel was loaded from the cache entry made before the helper changed"
    assert compiled > 0


# ------------------------------------------------------- the source tag


def _compiled_code_definitions(tree: ast.Module) -> list[str]:
    """Names of the numba constructs ``tree`` uses to define compiled code."""
    makers = {"kernel", "batch_kernel", "helper", "intrinsic", "overload", "overload_method", "register_jitable",
              "lower_builtin", "register_model", "infer", "typeof_impl", "unbox", "box"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for d in node.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in makers:
                    found.append(name)
    return found


def test_every_module_defining_compiled_code_is_covered_by_the_source_tag():
    """The tag's module list is derived (the decorators declare their modules); this checks that no
    module defines compiled code some other way without declaring itself."""
    for path in sorted(PACKAGE.glob("*.py")):
        definitions = _compiled_code_definitions(ast.parse(path.read_text()))
        if definitions:
            assert f"jitset.{path.stem}" in _plumbing._COMPILED_MODULES, (path.name, definitions)
    assert _numba_extension.type_tag() == _plumbing.source_tag()  # taken after every module declared itself


def _cached_numba_jit_calls(tree: ast.Module) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("njit", "jit") and any(k.arg == "cache" for k in node.keywords):
                count += 1
    return count


def test_nothing_is_cached_by_numba_alone():
    """``numba.njit(cache=True)`` would key its entry by its own file only: every cached function
    goes through jitset._plumbing's decorators, keyed by the source tag too."""
    for path in sorted(PACKAGE.glob("*.py")):
        assert _cached_numba_jit_calls(ast.parse(path.read_text())) == 0, path.name


def test_the_source_tag_changes_with_the_salt_the_cache_tests_use(monkeypatch):
    before = _plumbing.source_tag()
    monkeypatch.setenv("_JITSET_NUMBA_TAG_SALT", "another")
    _plumbing._source_tags.cache_clear()
    try:
        assert _plumbing.source_tag() != before
    finally:
        monkeypatch.delenv("_JITSET_NUMBA_TAG_SALT")
        _plumbing._source_tags.cache_clear()
    assert _plumbing.source_tag() == before


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_compile_all_lists_every_kernel(dtype):
    """``python -m jitset compile`` covers every kernel of the entry points, plus the extension's paths."""
    from jitset._compile import _units
    from jitset._entry_points import EntryPoints
    from jitset._keys import codec_for

    names = [name for name, _ in _units(np.dtype(dtype))]
    kernels = EntryPoints(codec_for(np.dtype(dtype)).storage).kernel_names()
    assert set(kernels) <= set(names)
    assert {"_wait", "_give_back", "_insert_in_python", "hold", "unhold", "_fill_slot"} <= set(names)
