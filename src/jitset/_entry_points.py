"""Entry points: the compiled CPython wrappers through which Python calls the kernels.

A numba dispatcher re-derives the argument types on every call (100-300 ns).
``Dispatcher.compile(signature)`` returns the compiled CPython wrapper for one
fixed signature (loaded from the on-disk cache when present); calling it skips
type dispatch.  It converts arguments without checking them, so callers must
pass exactly the types of the signature: the Python layer validates every key
and index first.

Imports run one way: this module sits above the kernels it serves
(:mod:`jitset._kernels`, :mod:`jitset._batch_kernels`,
:mod:`jitset._algebra_kernels`), which sit above
:mod:`jitset._plumbing`.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba import types

from jitset import _algebra_kernels, _batch_kernels, _kernels

__all__ = ["entry_points", "EntryPoints", "EXTERN", "kernel_address"]

#: Kernels that compiled callers (the numba extension) call by their C address,
#: in the order of each storage type's table: numba then never links their
#: code into a user's function, whose compile would re-optimize it each time.
EXTERN = ("add", "discard", "contains", "find", "bisect", "getitem", "delete_at",
          "put", "get_value", "pop_value", "delete_value_at", "gather_values")


def _array(dtype, ndim=1):
    return types.Array(dtype, ndim, "C")


def _signatures(key):
    """Argument types of every kernel, for a storage whose numba key type is ``key``.

    Scalar kernels live in :mod:`jitset._kernels`, batch kernels in
    :mod:`jitset._batch_kernels`, set algebra in :mod:`jitset._algebra_kernels`.
    They take a header address first; ``key``
    stands for a key or for a dummy "like" argument that only carries the dtype.
    A dict's values travel as int64 addresses (0: none, for a set), so one
    compiled kernel serves a set and a dict of every value dtype.
    """
    i64, b1 = types.int64, types.boolean
    keys, ints, flags = _array(key), _array(i64), _array(b1)
    one = types.UniTuple(types.uint64, len(key.fields)) if isinstance(key, types.Record) else key  # wide: words
    return {
        "add": (i64, one),
        "discard": (i64, one),
        "contains": (i64, one),
        "find": (i64, one),
        "bisect": (i64, one, b1),
        "getitem": (i64, one, i64),
        "delete_at": (i64, one, i64),
        "delete_range": (i64, one, i64, i64),
        "put": (i64, one, i64, b1),
        "put_f8": (i64, one, types.float64, b1),  # put_word, for a float64 column
        "put_i8": (i64, one, i64, b1),  # put_word, for an integer column
        "get_value": (i64, one, i64),
        "pop_value": (i64, one, i64),
        "delete_value_at": (i64, one, i64, i64),
        "gather": (i64, keys, i64),
        "gather_values": (i64, i64, i64, i64),
        "take_values": (i64, ints, i64),
        "fill_sorted": (i64, keys, i64),
        "add_sorted": (i64, keys, i64, b1, i64, ints),
        "merge_add": (i64, keys, i64, b1, ints),
        "merge_discard": (i64, keys, ints),
        "rebuild": (i64, i64, keys, keys, i64, b1, ints, ints),
        "rank_sorted": (i64, keys, ints, b1, ints, flags, i64),
        "rank_each": (i64, keys, b1, ints, flags, i64),
        "take": (i64, ints, keys),
        "take_sorted": (i64, ints, ints, keys),
        "combine": (i64, i64, i64, i64, one),
        "all_in": (i64, i64, one, b1),
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
        # The C addresses of the EXTERN kernels, filled on first use from compiled code;
        # every set's header points here (H_TABLE), and this object lives as long as the process.
        self.table = np.zeros(len(EXTERN), dtype=np.int64)
        self.table_address = self.table.ctypes.data
        _TABLES[self.table_address] = self

    def signature(self, name: str) -> tuple:
        """The argument types kernel ``name`` is compiled for."""
        return self._signatures[name]

    def address(self, name: str) -> int:
        """The C address of kernel ``name`` (compiled or loaded first), also stored in the table.

        numba makes a C wrapper of every compiled function (``cfunc`` in its
        terms): arguments and result as the types' LLVM values, exceptions
        printed instead of raised, so callers must not let a kernel raise
        (they call with the OWNER bit and check indices first).
        """
        getattr(self, name)  # compile or load
        dispatcher = getattr(_kernels, name)
        cres = dispatcher.overloads[tuple(self._signatures[name])]
        address = cres.library.get_pointer_to_function(cres.fndesc.llvm_cfunc_wrapper_name)
        if not address:
            raise RuntimeError(f"numba gave no C wrapper for kernel {name}")
        self.table[EXTERN.index(name)] = address
        return address

    def kernel_names(self) -> list[str]:
        """The names of every kernel (attributes of this object)."""
        return list(self._signatures)

    def __getattr__(self, name: str):
        try:
            signature = self._signatures[name]
        except KeyError:
            raise AttributeError(name) from None
        kernel = _ALIASES.get(name, name)
        dispatcher = next(getattr(m, kernel) for m in _KERNEL_MODULES if hasattr(m, kernel))
        entry = _compile(dispatcher, signature)
        setattr(self, name, entry)
        return entry


_KERNEL_MODULES = (_kernels, _batch_kernels, _algebra_kernels)

_TABLES: dict = {}  # table address -> its EntryPoints

#: Entry points that are one kernel compiled for another signature: name -> the kernel's name.
_ALIASES = {"put_f8": "put_word", "put_i8": "put_word"}


def kernel_address(table_address: int, slot: int) -> int:
    """Kernel ``EXTERN[slot]`` of the table at ``table_address``: its C address (filling the slot)."""
    return _TABLES[table_address].address(EXTERN[slot])


@functools.lru_cache(maxsize=None)
def entry_points(dtype: np.dtype) -> EntryPoints:
    """The (lazily compiled) kernels for keys stored as ``dtype``."""
    return EntryPoints(np.dtype(dtype))
