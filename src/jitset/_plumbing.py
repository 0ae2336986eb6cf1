"""All numba plumbing in one place: decorators, raw views of the storage, wide-key compares.

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

The entry points through which Python calls the kernels are built in
:mod:`jitset._entry_points`, above the kernels: this module is below them.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import os
import pathlib
import re
import sys

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher
from numba.core.typing.templates import make_concrete_template
from numba.extending import intrinsic, overload

__all__ = [
    "kernel",
    "batch_kernel",
    "helper",
    "cached",
    "compiled_module",
    "source_tag",
    "state_view",
    "header_view",
    "stack_copy",
    "table_entry",
    "enter",
    "leave",
    "take",
    "give",
    "hold",
    "unhold",
    "prefetch",
    "prefetch_read",
    "move",
    "move_items",
    "memmove_bytes",
    "move_values",
    "copy_values",
    "copy_values_out",
    "copy_values_out_run",
    "value_address",
    "SetBusy",
    "OWNER",
    "word_dtype",
    "ordinal",
    "store_key",
    "key_out",
]

# ------------------------------------------------------------ compiling
# Compile time is what a new user waits for, so the decorators below are
# shaped by what numba spends it on (measured with numba's compile events,
# cold cache, int64 keys):
#
# * Every helper is its own compilation unit, compiled once per signature
#   and linked into each kernel that calls it (LLVM inlines the small ones
#   there).  numba's IR inlining (``inline="always"``) instead re-ran the
#   untyped pipeline and type inference on the helper's body at every call
#   site: 70 s for the first-use script against 40 s without it.
# * A helper is compiled for the argument types at the call, and numba types
#   a constant argument as a literal (``move(keys, r, 1, r, 0, n)``) and a
#   loop variable by its first value before it widens it, so one helper was
#   compiled two or three times per kernel.  Helpers take every argument
#   un-literal: one compile per real signature.
# * Helpers are only ever called from compiled code: no CPython or C
#   wrapper is generated for them (a third of a small function's lowering).
# * Helpers are marked for LLVM to inline always (``forceinline``: LLVM's
#   attribute, not numba's IR inlining).  Left to LLVM's own judgement, a
#   compiled loop of scalar ``discard`` kernels ran at 378-595 ns against
#   216-319 before; inlined, 306-307 against 286-315, and the first-use
#   script compiles in the same time.
# * Every cached function's cache entry is keyed by a hash of all of
#   jitset's compiled sources (:func:`source_tag`), not only of its own
#   file, which is all numba checks: an edit to a helper module can never
#   be served from an old entry.

_COMPILED_MODULES: set = set()

#: Every dispatcher made by the decorators below (for compile statistics).
DISPATCHERS: list = []


def compiled_module(name: str) -> None:
    """Declare that module ``name`` of this package holds code compiled into other
    compiled code (kernels, helpers, overloads, intrinsics).

    :func:`kernel`, :func:`batch_kernel` and :func:`helper` declare the
    modules of the functions they wrap; a module that defines compiled code
    by other means (overloads, intrinsics) calls this itself.  Its source
    then goes into :func:`source_tag`; ``tests/test_compile.py`` checks
    that every module defining such code has declared itself.
    """
    _COMPILED_MODULES.add(name)  # source_tag() is keyed by the set: no cache to clear


@functools.lru_cache(maxsize=None)
def _source_tags(names: frozenset) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode())
        digest.update(pathlib.Path(sys.modules[name].__file__).read_bytes())
    # for the cache tests only: a new salt is a new tag (a fresh cache, a new numba type name)
    digest.update(os.environ.get("_JITSET_NUMBA_TAG_SALT", "").encode())
    return digest.hexdigest()[:16]


def source_tag() -> str:
    """A hash of the source of every module holding compiled code (see :func:`compiled_module`)."""
    return _source_tags(frozenset(_COMPILED_MODULES))


class _TaggedCache(FunctionCache):
    """numba's on-disk function cache, its index keys extended by :func:`source_tag`.

    numba keys an entry by the signature, the CPU and the function's own
    bytecode, and checks only the function's own file: a kernel whose
    helper (in another module) changed would load stale machine code.
    ``_index_key`` is numba-internal (0.68); pyproject pins the numba
    versions this is tested on, and ``tests/test_compile.py`` edits a
    helper module of a copy of the package to check the next process
    recompiles.
    """

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), source_tag())


class _HelperDispatcher(CPUDispatcher):
    """A dispatcher that compiles for un-literal argument types only (see above),
    and offers a call exactly the signature it compiled for it.

    numba's own dispatcher offers every compiled signature and picks the best
    conversion; for wide keys a record of four words "converts" to one of two
    (an experimental subtyping, with a warning), so only the exact one is a
    candidate here: a helper compiled for one key width is never a
    candidate for another.
    """

    def get_call_template(self, args, kws):
        args = tuple(types.unliteral(a) for a in args)
        kws = {k: types.unliteral(v) for k, v in kws.items()}
        pysig, args = self._compiler.fold_argument_types(args, kws)
        args = tuple(args)
        self.compile(args)
        exact = [s for s in self.nopython_signatures if s.args == args]
        template = make_concrete_template(f"CallTemplate({self.py_func.__name__})", key=self.py_func.__name__,
                                          signatures=exact)
        return template, pysig, args, {}


def _jit(func, dispatcher=CPUDispatcher, provides=True, **options):
    """``numba.njit(cache=True, **options)(func)``, cached under :func:`source_tag`.

    ``provides``: other compiled code may call ``func`` (a kernel or a
    helper), so its module's source goes into the tag.
    """
    if provides:
        compiled_module(func.__module__)
    targetoptions = {"nopython": True, **options}
    disp = dispatcher(py_func=func, locals={}, targetoptions=targetoptions)
    disp._cache = _TaggedCache(func)  # what Dispatcher.enable_caching does, with the tagged cache
    DISPATCHERS.append(disp)
    return disp


def kernel(func):
    """Decorator for scalar kernels: compiled on first use, cached on disk."""
    return _jit(func)


def batch_kernel(func):
    """Decorator for batch kernels: also released from the GIL, so two threads working
    on two different sets run in parallel (costs ~30 ns per call, negligible for batches)."""
    return _jit(func, nogil=True)


def helper(func):
    """Decorator for functions called only from compiled code (no Python wrapper)."""
    return _jit(func, _HelperDispatcher, no_cpython_wrapper=True, no_cfunc_wrapper=True, forceinline=True)


def cached(func=None, **options):
    """``numba.njit(cache=True, **options)`` for compiled functions that call jitset's
    kernels but are not called by them (the numba extension's slow paths, the
    bench's loops): keyed by :func:`source_tag`, so a changed kernel is never
    run from an old entry, while their own module stays out of the tag."""
    if func is None:
        return lambda f: _jit(f, provides=False, **options)
    return _jit(func, provides=False, **options)


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
H_BUSY = 10  # the set's busy flag: 0 when free (see "Threads" below)
H_SERIAL = 11  # 1 when scalar calls serialize themselves (no GIL), 0 when the GIL does it
H_TABLE = 12  # address of the kernel table of the set's storage type (see jitset._entry_points)
H_VALUES = 13  # address of values[cap, chunk * H_VWIDTH] (uint8): keys[r, c]'s value is bytes c*w .. (c+1)*w of row r
H_VWIDTH = 14  # bytes per value: 0 for a set, whose values array is never read
HEADER_LEN = 15

# Threads
# -------
# Two modes, fixed per set when it is made (H_SERIAL, from jitset._gil):
#
# * With the GIL (H_SERIAL = 0), scalar kernels hold it, so each call is
#   atomic with respect to other Python threads, and they take no lock (a
#   lock costs ~100 ns here, more than the lookup).  They only read H_BUSY.
# * Without the GIL (H_SERIAL = 1), nothing else makes a call atomic: each
#   scalar kernel takes the flag with one compare-and-swap (0 -> 1) before
#   it reads any array, and gives it back (an atomic store of 0) before it
#   returns.
#
# Batch kernels release the GIL, and some operations span several calls;
# those run under the set's lock (jitset.sortedset._Hold), whose owner takes
# the same flag, waiting for a scalar call in flight to finish.  A scalar
# kernel that finds the flag taken raises SetBusy instead of touching the
# arrays; the caller then waits for the lock and calls again.  The lock's
# owner calls scalar kernels with the address's lowest bit set (OWNER): a
# header is 8-byte aligned, so that bit is free, and it says "the caller
# holds the set, go ahead": such a call neither checks nor takes the flag.
OWNER = 1


class SetBusy(RuntimeError):
    """Raised by a scalar kernel when another thread holds the set; callers retry under the lock."""


@intrinsic
def _pointer_like(typingctx, address, like):
    """Reinterpret an int64 address as a pointer to ``like``'s dtype.

    ``like`` is a scalar or an array of the storage dtype, or the tuple of
    words of a wide key; only its type is used.
    """
    dtype = like.dtype if isinstance(like, types.Array) else _storage_type(like)
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
def header_view(address):
    """The int64 header of one set (slots ``H_*``); the OWNER bit of ``address`` is ignored."""
    return numba.carray(_int64_pointer(address & ~OWNER), (HEADER_LEN,))


@helper
def table_entry(table, slot):
    """Entry ``slot`` of the int64 array at address ``table``."""
    return _int64_pointer(table + 8 * slot)[0]


@helper
def state_view(address, like):
    """All arrays of one set as views: ``(header, keys, fences, counts, order, tree)``.

    ``like`` carries the key dtype (a scalar or array of that dtype, or a
    wide key's tuple of words); the OWNER bit of ``address`` is ignored here.
    """
    h = header_view(address)
    cap = h[H_CAP]
    keys = numba.carray(_pointer_like(h[H_KEYS], like), (cap, h[H_CHUNK]))
    fences = numba.carray(_pointer_like(h[H_FENCES], like), (cap,))
    counts = numba.carray(_int64_pointer(h[H_COUNTS]), (cap,))
    order = numba.carray(_int64_pointer(h[H_ORDER]), (cap,))
    tree = numba.carray(_int64_pointer(h[H_TREE]), (cap + 1,))
    return h, keys, fences, counts, order, tree


@intrinsic
def _memmove(typingctx, array, dst_row, dst_col, src_row, src_col, n):
    sig = types.void(array, dst_row, dst_col, src_row, src_col, n)

    def codegen(context, builder, signature, args):
        arytype = signature.args[0]
        ary = context.make_array(arytype)(context, builder, args[0])
        dst = cgutils.get_item_pointer(context, builder, arytype, ary, [args[1], args[2]], wraparound=False)
        src = cgutils.get_item_pointer(context, builder, arytype, ary, [args[3], args[4]], wraparound=False)
        itemsize = context.get_abi_sizeof(context.get_data_type(arytype.dtype))
        cgutils.raw_memmove(builder, dst, src, args[5], itemsize)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def memmove_bytes(typingctx, dst, src, n):
    """``memmove(dst, src, n)`` on int64 addresses."""
    sig = types.void(types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        byte_ptr = ir.IntType(8).as_pointer()
        dst, src = (builder.inttoptr(a, byte_ptr) for a in args[:2])
        cgutils.raw_memmove(builder, dst, src, args[2], 1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def stack_copy(typingctx, value):
    """The int64 address of a copy of ``value`` on the stack of the function that calls this.

    Valid until that function returns: call it in the kernel itself, never
    in a helper (a helper's frame ends with the helper).  For kernels that
    take a value by value where the engine wants an address.
    """
    if not isinstance(value, (types.Integer, types.Float)):
        return None
    sig = types.int64(value)

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, context.get_value_type(value))
        builder.store(args[0], slot)
        return builder.ptrtoint(slot, ir.IntType(64))

    return sig, codegen


@helper
def value_address(h, row, col):
    """Address of the value of ``keys[row, col]`` (meaningless for a set)."""
    w = h[H_VWIDTH]
    return h[H_VALUES] + (row * h[H_CHUNK] + col) * w


@helper
def move_values(h, dst_row, dst_col, src_row, src_col, n):
    """The values' half of ``move(keys, dst_row, dst_col, src_row, src_col, n)``.

    Every kernel that moves keys within a storage calls this beside it, so
    that a dict's values follow their keys through shifts, splits and
    merges; for a set (``H_VWIDTH`` 0) it is one load and a branch.  One
    helper for every such move keeps the compiled code small: compile time
    grows with every inlined copy.
    """
    w = h[H_VWIDTH]
    if w > 0 and n > 0:
        row = h[H_CHUNK] * w
        base = h[H_VALUES]
        memmove_bytes(base + dst_row * row + dst_col * w, base + src_row * row + src_col * w, n * w)


@helper
def copy_values(h, dst_row, dst_col, src, n):
    """Copy ``n`` values from address ``src`` (a batch's values, another storage's) to
    ``keys[dst_row, dst_col:]``'s; nothing for a set or when ``src`` is 0 (no values given)."""
    w = h[H_VWIDTH]
    if w > 0 and n > 0 and src != 0:
        memmove_bytes(h[H_VALUES] + (dst_row * h[H_CHUNK] + dst_col) * w, src, n * w)


@helper
def copy_values_out_run(h, row, col, dst, n):
    """Copy the values of ``keys[row, col:col + n]`` to address ``dst`` (a dict's; nothing for a set)."""
    w = h[H_VWIDTH]
    if w > 0 and n > 0:
        memmove_bytes(dst, h[H_VALUES] + (row * h[H_CHUNK] + col) * w, n * w)


@helper
def copy_values_out(h, row, col, dst):
    """Copy the value of ``keys[row, col]`` to address ``dst`` (a dict's; nothing for a set)."""
    copy_values_out_run(h, row, col, dst, 1)


@helper
def move(keys, dst_row, dst_col, src_row, src_col, n):
    """``keys[dst_row, dst_col:dst_col+n] = keys[src_row, src_col:src_col+n]``, overlap allowed.

    One ``memmove``: element loops over the same row (``a[t] = a[t + 1]``)
    are not vectorized by LLVM, and measured 5x slower in cache (225 ns
    against 47 for half a 512-key row) and 2x slower from memory.  Indices
    must be in range (nothing is checked); ``n <= 0`` does nothing.
    """
    if n > 0:
        _memmove(keys, dst_row, dst_col, src_row, src_col, n)


@helper
def move_items(h, keys, dst_row, dst_col, src_row, src_col, n):
    """:func:`move` of keys and :func:`move_values` of their values: how kernels move items."""
    if n > 0:
        _memmove(keys, dst_row, dst_col, src_row, src_col, n)
        move_values(h, dst_row, dst_col, src_row, src_col, n)


def _prefetch_codegen(write):
    """Code for ``llvm.prefetch`` of the element at the call's index arguments
    (for writing or for reading, high locality: all cache levels, data cache)."""

    def codegen(context, builder, signature, args):
        arytype = signature.args[0]
        ary = context.make_array(arytype)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arytype, ary, list(args[1:]), wraparound=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]), "llvm.prefetch"
        )
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), i32(1 if write else 0), i32(3), i32(1)])
        return context.get_dummy_value()

    return codegen


@intrinsic
def prefetch(typingctx, array, row, col):
    """Hint the CPU to load ``array[row, col]`` into cache, to be written; no effect on results.

    Batch kernels walking a large set in key order know which rows they
    will touch a few chunks ahead; each row is a cache miss (~100+ ns here),
    and prefetching lets several misses overlap instead of paying them one
    after the other.  Any in-range (or even stale) position is harmless.
    For writing: most callers change the row, so the line arrives ready to
    be modified.
    """
    return types.void(array, row, col), _prefetch_codegen(write=True)


@intrinsic
def prefetch_read(typingctx, array, i):
    """Hint the CPU to load ``array[i]`` (1-D) into cache, to be read; no effect on results."""
    return types.void(array, i), _prefetch_codegen(write=False)


@intrinsic
def _swap_busy(typingctx, address, expected, value):
    """Atomically: if the header's H_BUSY is ``expected``, make it ``value``; whether it was."""
    sig = types.boolean(types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        slot = builder.gep(builder.inttoptr(args[0], ir.IntType(64).as_pointer()), [ir.IntType(64)(H_BUSY)])
        pair = builder.cmpxchg(slot, args[1], args[2], "acq_rel", "acquire")
        return builder.extract_value(pair, 1)

    return sig, codegen


@intrinsic
def _clear_busy(typingctx, address):
    """Atomically set the header's H_BUSY to 0, after every write before it (release)."""
    sig = types.void(types.int64)

    def codegen(context, builder, signature, args):
        slot = builder.gep(builder.inttoptr(args[0], ir.IntType(64).as_pointer()), [ir.IntType(64)(H_BUSY)])
        builder.store_atomic(ir.IntType(64)(0), slot, "release", 8)
        return context.get_dummy_value()

    return sig, codegen


@helper
def take(address):
    """Take the set for one call, if it is free; whether it was.

    Without the GIL (H_SERIAL) this is the compare-and-swap of the busy
    flag; with it, a check that nobody holds the set (the GIL keeps it so
    until the call returns).  A caller that took it calls :func:`give`.
    """
    base = address & ~OWNER
    h = header_view(base)
    if h[H_SERIAL] != 0:
        return _swap_busy(base, 0, 1)
    return h[H_BUSY] == 0


@helper
def give(address):
    """Give back a set taken by :func:`take` (nothing to do with the GIL)."""
    base = address & ~OWNER
    if header_view(base)[H_SERIAL] != 0:
        _clear_busy(base)


@helper
def enter(address):
    """Start a scalar kernel: the set's header, the set taken unless the caller holds it (OWNER).

    Raises SetBusy when another thread holds the set; nothing has been read
    then.  The kernel reads the arrays only after this (without the GIL
    another thread may be reallocating them until the flag is ours), and
    calls :func:`leave` before every return and every raise.
    """
    if (address & OWNER) == 0 and not take(address):
        raise SetBusy("the set is held by another thread")
    return header_view(address)


@helper
def leave(address):
    """End a scalar kernel started by :func:`enter`."""
    if (address & OWNER) == 0:
        give(address)


@cached(nogil=True)
def hold(address):
    """Take the set for the lock's owner, waiting (without the GIL) for a call in flight to end."""
    while not _swap_busy(address, 0, 1):
        pass


@cached
def unhold(address):
    """Give the set back when the lock's owner is done with it."""
    _clear_busy(address)


compiled_module(__name__)  # the intrinsics and overloads here are compiled into every kernel

# ------------------------------------------------------------- wide keys
# Keys wider than 8 bytes (long bytes, strings, structured keys) are stored as
# records of W uint64 "words" named w0..w{W-1}: the key's order-preserving
# bytes, big-endian, in native-endian words (see jitset._normalized).  The
# overloads below give those records the comparison operators of a
# lexicographic word tuple, so every kernel serves integers and wide keys
# from the same source: ``a[mid] < key`` compiles to a word-by-word compare.
#
# A record argument costs ~850 ns to unbox and ~3 us to box as a result, and
# a 1-element array ~1-2 us to make in Python, so a wide key travels in and
# out of scalar kernels as a tuple of W uint64 (~150 ns).  The overloads
# compare such a tuple with a record too, ``store_key`` writes one into an
# array, and ``key_out`` turns the record a kernel returns into one; that
# also copies it, which matters because a record read from an array is a
# *view* (the key ``delete_at`` returns would otherwise be overwritten by
# the shift that removes it).

_WORD = re.compile(r"w\d+")


def word_dtype(words: int) -> np.dtype:
    """The storage dtype of keys ``words`` uint64 words wide (``words >= 2``)."""
    return np.dtype([(f"w{i}", np.uint64) for i in range(words)])


def _is_words(t) -> bool:
    """Whether ``t`` is the numba type of a wide key stored in an array (a record of words)."""
    return isinstance(t, types.Record) and all(
        _WORD.fullmatch(name) and t.typeof(name) == types.uint64 for name in t.fields
    )


def _is_word_tuple(t) -> bool:
    """Whether ``t`` is the numba type of a wide key passed to a scalar kernel (a tuple of words)."""
    return isinstance(t, types.UniTuple) and t.dtype == types.uint64


def _width(t) -> int:
    return len(t.fields) if _is_words(t) else t.count


def _storage_type(t):
    """The storage (record) type of a key type: the record for a tuple of words, else itself."""
    return numba.from_dtype(word_dtype(t.count)) if _is_word_tuple(t) else t


def _word(name: str, t, i: int) -> str:
    """Source text for word ``i`` of variable ``name`` of type ``t``."""
    return f"{name}.w{i}" if _is_words(t) else f"{name}[{i}]"


def _compiled(source: str, name: str = "impl"):
    namespace: dict = {}
    exec(source, namespace)  # straight-line code generated for one key width
    return namespace[name]


def _lexicographic(op: str):
    """An overload of ``op`` for wide keys (records or tuples of words, at least one a record)."""

    def typer(a, b):
        if not (
            (_is_words(a) or _is_word_tuple(a))
            and (_is_words(b) or _is_word_tuple(b))
            and (_is_words(a) or _is_words(b))  # two tuples compare as tuples already
            and _width(a) == _width(b)
        ):
            return None
        n = _width(a)
        x = [_word("a", a, i) for i in range(n)]
        y = [_word("b", b, i) for i in range(n)]
        if op in ("==", "!="):
            join = " and " if op == "==" else " or "
            body = "    return " + join.join(f"{x[i]} {op} {y[i]}" for i in range(n))
        else:  # the first differing word decides
            lines = [f"    if {x[i]} != {y[i]}:\n        return {x[i]} {op} {y[i]}" for i in range(n - 1)]
            body = "\n".join(lines + [f"    return {x[-1]} {op} {y[-1]}"])
        return _compiled(f"def impl(a, b):\n{body}")

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
    if _is_word_tuple(key):
        return lambda key: float(key[0])
    return lambda key: float(key)


def store_key(array, index, key):
    """``array[index] = key``, also for a wide key given as a tuple of words."""
    array[index] = key


@overload(store_key)
def _store_key(array, index, key):
    if _is_word_tuple(key):
        words = "\n".join(f"    slot.w{i} = key[{i}]" for i in range(key.count))
        return _compiled(f"def impl(array, index, key):\n    slot = array[index]\n{words}")

    def impl(array, index, key):
        array[index] = key

    return impl


def key_out(like, key):
    """A key as a kernel returns it: itself, or as a tuple of words when ``like`` is one."""
    return key


@overload(key_out)
def _key_out(like, key):
    if _is_word_tuple(like):
        words = ", ".join(f"key.w{i}" for i in range(like.count))
        return _compiled(f"def impl(like, key):\n    return ({words},)")
    return lambda like, key: key
