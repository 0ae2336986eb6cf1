"""All numba plumbing in one place: decorators, raw views of the storage, entry points.

Why raw addresses
-----------------
A set's state is six NumPy arrays (see :mod:`jitset._storage`).  Passing six
arrays to a compiled function costs about 80 ns of unboxing *per array* on
every call, more than a scalar search itself.  Instead, every kernel receives
one ``int64``: the address of the set's *header* array, which holds the
addresses and shapes of the other arrays.  :func:`state_view` rebuilds the
array views inside the kernel for free.  The Python object that owns the
arrays (:class:`jitset._storage.Storage`) keeps them alive and rewrites the
header whenever it reallocates, so an address is never stale while a kernel
runs.  This is the one unsafe trick in the package and it lives here.

Why entry points
----------------
A numba dispatcher re-derives the argument types on every call (100-300 ns).
``Dispatcher.compile(signature)`` returns the compiled CPython wrapper for one
fixed signature (loaded from the on-disk cache when present); calling it skips
type dispatch.  It converts arguments without checking them, so callers must
pass exactly the types of the signature: the Python layer validates every key
and index first.
"""

from __future__ import annotations

import functools
import operator
import re

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

__all__ = [
    "kernel",
    "batch_kernel",
    "state_view",
    "check_free",
    "entry_points",
    "SetBusy",
    "OWNER",
    "word_dtype",
    "ordinal",
    "key_in",
    "key_out",
]

#: Decorator for scalar kernels: cached on disk so a warm start costs no compilation.
kernel = numba.njit(cache=True)

#: Decorator for batch kernels: also released from the GIL, so two threads working
#: on two different sets run in parallel (costs ~30 ns per call, negligible for batches).
batch_kernel = numba.njit(cache=True, nogil=True)

#: Helpers called from kernels; inlined by LLVM anyway, cached like the rest.
helper = numba.njit(cache=True, inline="always")

# Slots of the int64 header array that describes one set (see _storage.Storage).
H_KEYS = 0  # address of keys[cap, chunk_size], in the storage dtype, rows in any order
H_FENCES = 1  # address of fences[cap]: max key of the chunk at each position
H_COUNTS = 2  # address of counts[cap]: number of keys of the chunk at each position
H_ORDER = 3  # address of order[cap]: row of keys[] holding the chunk at each position
H_TREE = 4  # address of tree[cap + 1]: Fenwick tree over counts
H_CAP = 5  # number of rows allocated
H_CHUNK = 6  # chunk size (keys per row)
H_NCHUNKS = 7  # number of chunks in use (always >= 1; rows 0..n-1 are the used ones)
H_SIZE = 8  # number of keys in the set
H_VERSION = 9  # bumped by every mutation; iterators compare it
H_BUSY = 10  # > 0 while a thread holds the set's lock (see "Threads" below)
HEADER_LEN = 11

# Threads
# -------
# Scalar kernels hold the GIL, so each call is atomic with respect to other
# Python threads, and they take no lock (a lock costs ~100 ns here, more than
# the lookup).  Batch kernels release the GIL, and some operations span
# several calls; those run under the set's lock with H_BUSY raised.  A scalar
# kernel that finds H_BUSY raised raises SetBusy instead of touching the
# arrays; the caller then waits for the lock and calls again.  The lock's
# owner calls scalar kernels with the address's lowest bit set (OWNER): a
# header is 8-byte aligned, so that bit is free, and it says "the caller
# holds the lock, go ahead".
OWNER = 1


class SetBusy(RuntimeError):
    """Raised by a scalar kernel when another thread holds the set; callers retry under the lock."""


@intrinsic
def _pointer_like(typingctx, address, like):
    """Reinterpret an int64 address as a pointer to ``like``'s dtype.

    ``like`` is a scalar or an array of the storage dtype; only its type is used.
    """
    dtype = like.dtype if isinstance(like, types.Array) else like
    sig = types.CPointer(dtype)(types.int64, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@intrinsic
def _int64_pointer(typingctx, address):
    sig = types.CPointer(types.int64)(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@helper
def state_view(address, like):
    """All arrays of one set as views: ``(header, keys, fences, counts, order, tree)``.

    ``like`` carries the key dtype (a scalar or array of that dtype); the
    OWNER bit of ``address`` is ignored here.
    """
    h = numba.carray(_int64_pointer(address & ~OWNER), (HEADER_LEN,))
    cap = h[H_CAP]
    keys = numba.carray(_pointer_like(h[H_KEYS], like), (cap, h[H_CHUNK]))
    fences = numba.carray(_pointer_like(h[H_FENCES], like), (cap,))
    counts = numba.carray(_int64_pointer(h[H_COUNTS]), (cap,))
    order = numba.carray(_int64_pointer(h[H_ORDER]), (cap,))
    tree = numba.carray(_int64_pointer(h[H_TREE]), (cap + 1,))
    return h, keys, fences, counts, order, tree


@helper
def check_free(address, h):
    """Raise SetBusy if another thread holds the set (scalar kernels call this first)."""
    if h[H_BUSY] != 0 and (address & OWNER) == 0:
        raise SetBusy("the set is held by another thread")


# ------------------------------------------------------------- wide keys
# Keys wider than 8 bytes (long bytes, strings, structured keys) are stored as
# records of W uint64 "words" named w0..w{W-1}: the key's order-preserving
# bytes, big-endian, in native-endian words (see jitset._normalized).  The
# overloads below give those records the comparison operators of a
# lexicographic word tuple, so every kernel serves integers and wide keys
# from the same source: ``a[mid] < key`` compiles to a word-by-word compare.
#
# Two things differ from integers, and the helpers below absorb them:
# * a record read from an array is a *view*: the key a kernel is about to
#   remove must be copied out before the keys shift over it (``key_out``);
# * a record argument costs ~850 ns to unbox and ~3 us to box a result, so
#   wide keys travel in and out of kernels as 1-element arrays (``key_in``).

_WORD = re.compile(r"w\d+")


def word_dtype(words: int) -> np.dtype:
    """The storage dtype of keys ``words`` uint64 words wide (``words >= 2``)."""
    return np.dtype([(f"w{i}", np.uint64) for i in range(words)])


def _is_words(t) -> bool:
    return isinstance(t, types.Record) and all(
        _WORD.fullmatch(name) and t.typeof(name) == types.uint64 for name in t.fields
    )


def _lexicographic(op: str):
    """An overload of ``op`` for two word records: compare word by word."""

    def typer(a, b):
        if not (_is_words(a) and _is_words(b) and len(a.fields) == len(b.fields)):
            return None
        n = len(a.fields)
        if op in ("==", "!="):
            join = " and " if op == "==" else " or "
            body = "    return " + join.join(f"a.w{i} {op} b.w{i}" for i in range(n))
        else:  # the first differing word decides
            lines = [f"    if a.w{i} != b.w{i}:\n        return a.w{i} {op} b.w{i}" for i in range(n - 1)]
            body = "\n".join(lines + [f"    return a.w{n - 1} {op} b.w{n - 1}"])
        namespace: dict = {}
        exec(f"def impl(a, b):\n{body}", namespace)  # one straight-line function per width
        return namespace["impl"]

    return typer


for _op, _symbol in (
    (operator.lt, "<"),
    (operator.le, "<="),
    (operator.gt, ">"),
    (operator.ge, ">="),
    (operator.eq, "=="),
    (operator.ne, "!="),
):
    overload(_op)(_lexicographic(_symbol))


def ordinal(key):
    """A float that grows with ``key``, for interpolation (the first word of a wide key)."""
    return float(key)


@overload(ordinal)
def _ordinal(key):
    if _is_words(key):
        return lambda key: float(key.w0)
    return lambda key: float(key)


def key_in(key):
    """The key a scalar kernel received: itself, or element 0 of a 1-element array."""
    return key


@overload(key_in)
def _key_in(key):
    if isinstance(key, types.Array):
        return lambda key: key[0]
    return lambda key: key


def key_out(like, key):
    """A key a kernel returns: itself, or copied into ``like[0]`` (then 0 is returned)."""
    return key


@overload(key_out)
def _key_out(like, key):
    if isinstance(like, types.Array):

        def impl(like, key):
            like[0] = key
            return 0

        return impl
    return lambda like, key: key


def _array(dtype, ndim=1):
    return types.Array(dtype, ndim, "C")


def _signatures(key):
    """Argument types of every kernel, for a storage whose numba key type is ``key``.

    Scalar kernels live in :mod:`jitset._kernels`, batch kernels in
    :mod:`jitset._batch_kernels`.  They take a header address first; ``key``
    stands for a key or for a dummy "like" argument that only carries the dtype.
    """
    i64, b1 = types.int64, types.boolean
    keys, ints, flags = _array(key), _array(i64), _array(b1)
    one = keys if isinstance(key, types.Record) else key  # wide keys travel as 1-element arrays
    return {
        "add": (i64, one),
        "discard": (i64, one),
        "contains": (i64, one),
        "find": (i64, one),
        "bisect": (i64, one, b1),
        "getitem": (i64, one, i64),
        "delete_at": (i64, one, i64),
        "gather": (i64, keys, i64),
        "fill_sorted": (i64, keys),
        "add_sorted": (i64, keys, i64, ints),
        "merge_add": (i64, keys, ints),
        "discard_sorted": (i64, keys, ints),
        "rebuild": (i64, i64, keys, keys, ints, ints),
        "rank_sorted": (i64, keys, ints, b1, ints, flags),
        "rank_each": (i64, keys, b1, ints, flags),
        "take": (i64, ints, keys),
        "merge_sets": (keys, keys, i64, keys),
        "settle_ties": (keys, ints, ints, i64),
        "drop_repeats": (keys,),
    }


def _compile(dispatcher, signature):
    """The entry point of ``dispatcher`` for ``signature`` (disk cache used if warm).

    ``Dispatcher.compile`` returning the CPython wrapper is numba behaviour
    since 0.4x but not a documented promise: if it ever returns something not
    callable, fall back to the (slower, type-checking) dispatcher itself.
    """
    entry = dispatcher.compile(signature)
    return entry if callable(entry) else dispatcher


class EntryPoints:
    """Compiled entry points of every kernel for one key dtype, compiled on first use.

    ``entry_points(dtype).add`` compiles (or loads from numba's cache) the
    ``add`` kernel for that dtype the first time it is read, then keeps it as a
    plain attribute, so later reads cost one attribute lookup.
    """

    def __init__(self, dtype: np.dtype) -> None:
        self._signatures = _signatures(numba.from_dtype(dtype))

    def __getattr__(self, name: str):
        from jitset import _batch_kernels, _kernels  # imported here: they import this module

        try:
            signature = self._signatures[name]
        except KeyError:
            raise AttributeError(name) from None
        dispatcher = getattr(_kernels, name, None) or getattr(_batch_kernels, name)
        entry = _compile(dispatcher, signature)
        setattr(self, name, entry)
        return entry


@functools.lru_cache(maxsize=None)
def entry_points(dtype: np.dtype) -> EntryPoints:
    """The (lazily compiled) kernels for keys stored as ``dtype``."""
    return EntryPoints(np.dtype(dtype))
