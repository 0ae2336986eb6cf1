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

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

__all__ = ["kernel", "batch_kernel", "state_view", "check_free", "entry_points", "SetBusy", "OWNER"]

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
    return {
        "add": (i64, key),
        "discard": (i64, key),
        "contains": (i64, key),
        "find": (i64, key),
        "bisect": (i64, key, b1),
        "getitem": (i64, key, i64),
        "delete_at": (i64, key, i64),
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
