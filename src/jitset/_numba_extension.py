"""A SortedSet inside numba-compiled code: its numba type, data model, boxing and methods.

Pass a :class:`jitset.SortedSet` to an ``@numba.njit`` function and it is a
:class:`SortedSetType` value there, with the Python API's methods, return
values and exceptions.  This module is the one place that validates keys
for compiled callers, as :mod:`jitset.sortedset` is for Python callers; the
work is done by the very kernels the Python class calls.

The value
---------
A struct of two fields: an NRT MemInfo that owns a reference to the Python
set (its data pointer *is* the ``PyObject*``), and the set's header address,
which is fixed for the life of the set (:mod:`jitset._plumbing`).  Owning a
reference is what keeps a set stored in a ``typed.List``, or returned inside
a tuple, alive after its last Python name is gone: the address alone would
outlive it.  Boxing hands back the same Python object, so ``f(s) is s``.

Which methods run natively
--------------------------
Scalar methods (``len``, ``in``, ``add``, ``insert``, ``discard``, ``remove``,
``pop``, ``s[i]``, ``index``, ``bisect_left``/``right``, ``count``, ``min``,
``max``, ``floor``/``ceiling``/``lower``/``higher``) and ``for k in s`` call
the kernels directly.  Anything that allocates or rarely happens goes back to the Python
class through ``numba.objmode`` (~1-5 us a trip): growing the storage (about
50 times per million inserts), giving memory back, the batch methods (arrays
in, arrays out: the trip is nothing next to a batch), ``irange``,
``to_numpy`` and the constructor.

Threads
-------
Each method takes the set for the duration of its kernels, as the Python
scalar calls do (see "Threads" in :mod:`jitset._plumbing`).  With the GIL,
it holds the GIL, which makes the call atomic with respect to other Python
threads; in a ``nogil=True`` function it takes the GIL for its own duration
(``PyGILState_Ensure``, a GIL round trip per call; a function that holds the
GIL pays one check, ~10 ns).  A set that serializes itself (no GIL in this
interpreter) is taken by a compare-and-swap of its busy flag instead, and
methods called from ``nogil=True`` functions run in parallel with other
threads.  When another thread holds the set (a batch in progress), the call
is handed to the Python method, which waits for the set's lock: the user
never sees ``SetBusy``.

Caching
-------
The type's name carries :func:`jitset._plumbing.source_tag`, a hash of every
module of this package that holds compiled code, so a user's ``cache=True``
function that takes a SortedSet loads from numba's cache in a new process,
and misses (recompiles) as soon as any of them changes: numba itself only
checks the user's own file.

Key dtypes
----------
Every dtype stored in one machine word: integers, float32/float64, bool,
datetime64/timedelta64 of any unit.  A set of bytes, str or structured keys
can be passed around, but its methods raise a typing error that names the
dtype and points to the batch API.
"""

from __future__ import annotations

import functools
import operator

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.core.imputils import RefType, impl_ret_new_ref, iternext_impl, lower_builtin
from numba.core.typing.templates import AbstractTemplate, infer, signature
from numba.extending import (
    NativeValue,
    box,
    intrinsic,
    make_attribute_wrapper,
    models,
    overload,
    overload_method,
    register_jitable,
    register_model,
    typeof_impl,
    unbox,
)
from numba.np.numpy_support import as_dtype, from_dtype

from jitset import _batch_kernels, _kernels  # noqa: F401  (both declared before the tag is taken)
from jitset._entry_points import EXTERN, kernel_address
from jitset._kernels import NEED_ROOM, PRESENT, SHRINK
from jitset._keys import codec_for, resolve_dtype
from jitset._plumbing import (
    H_SERIAL,
    H_SIZE,
    H_TABLE,
    H_VERSION,
    OWNER,
    cached,
    compiled_module,
    give,
    header_view,
    source_tag,
    table_entry,
    take,
)

__all__ = ["KeyedType", "SortedSetType", "numba_type"]

compiled_module(__name__)  # its overloads and intrinsics are compiled code: part of the source tag


@functools.lru_cache(maxsize=None)
def type_tag() -> str:
    """In every type's name: a user's cached function taking a set (or dict) misses
    (recompiles) as soon as any of jitset's compiled sources changes.

    Taken when the first type is made, once ``import jitset`` has declared
    every module (this one comes before :mod:`jitset._numba_dict`).
    """
    return source_tag()

#: Dtype kinds a compiled caller can use: one machine word of storage each.
_ONE_WORD = "iufbMm"


def spelled(dtype: np.dtype) -> str:
    """``dtype`` named the same way in every process ('<i8', '<M8[ns]'), for type names."""
    return dtype.str if dtype.names is None and not dtype.shape else str(dtype.descr)


class KeyedType(types.Type):
    """What the numba types of a set and a dict share: the key dtype and its storage.

    The helpers below (key conversion, kernel calls, iteration over keys)
    take either; the methods are registered per class, since ``s[i]`` is by
    position and ``d[k]`` by key.
    """

    class_name = ""  # in messages

    def __init__(self, dtype: np.dtype, name: str) -> None:
        self.dtype = np.dtype(dtype)
        self.supported = self.dtype.names is None and self.dtype.kind in _ONE_WORD
        if self.supported:
            self.storage = codec_for(self.dtype).storage
            self.keytype = from_dtype(self.dtype)  # what methods take and return
            self.rawtype = from_dtype(self.storage)  # what the kernels take and return
        super().__init__(name=f"{name}<{type_tag()}>")


class SortedSetType(KeyedType):
    """The numba type of a :class:`jitset.SortedSet` of one key dtype."""

    class_name = "SortedSet"

    def __init__(self, dtype: np.dtype) -> None:
        super().__init__(dtype, f"jitset.SortedSet[{spelled(np.dtype(dtype))}]")


_TYPES: dict = {}


def numba_type(dtype: np.dtype) -> SortedSetType:
    """The (interned) numba type of a SortedSet of ``dtype``."""
    t = _TYPES.get(dtype)
    if t is None:
        t = _TYPES[dtype] = SortedSetType(dtype)
    return t


# ------------------------------------------------------------ data model


@register_model(SortedSetType)
class _SortedSetModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        members = [
            ("meminfo", types.MemInfoPointer(types.voidptr)),  # owns a reference; data is the PyObject*
            ("addr", types.int64),  # the header address
        ]
        super().__init__(dmm, fe_type, members)


make_attribute_wrapper(SortedSetType, "addr", "_addr")


@unbox(SortedSetType)
def _unbox(typ, obj, c):
    value = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    addr = c.pyapi.object_getattr_string(obj, "_addr")
    with c.builder.if_then(cgutils.is_not_null(c.builder, addr), likely=True):
        value.addr = c.pyapi.long_as_longlong(addr)
        c.pyapi.decref(addr)
        # increfs obj; NRT's destructor decrefs it again (taking the GIL)
        value.meminfo = c.pyapi.nrt_meminfo_new_from_pyobject(c.builder.bitcast(obj, cgutils.voidptr_t), obj)
    failed = cgutils.is_not_null(c.builder, c.pyapi.err_occurred())
    return NativeValue(value._getvalue(), is_error=failed)


@box(SortedSetType)
def _box(typ, val, c):
    value = cgutils.create_struct_proxy(typ)(c.context, c.builder, value=val)
    obj = c.builder.bitcast(c.context.nrt.meminfo_data(c.builder, value.meminfo), c.pyapi.pyobj)
    c.pyapi.incref(obj)
    c.context.nrt.decref(c.builder, typ, val)  # boxing consumes the native reference
    return obj


def register_class(cls) -> None:
    """Tie the Python class to the type (called once, by :mod:`jitset.sortedset`).

    Done from there because the class imports this module, not the reverse.
    """
    global _SortedSet
    _SortedSet = cls

    @typeof_impl.register(cls)
    def _typeof(val, c):
        return val._numba_type_

    overload(cls)(_constructor)


_SortedSet = None  # set by register_class


# ------------------------------------------------------------ intrinsics


@intrinsic
def _bitcast(typingctx, value, like):
    """``value``'s bits as the type of ``like`` (same width): float <-> uint, datetime <-> int64."""
    target = getattr(like, "instance_type", like)  # a NumberClass or TypeRef: the type it names
    sig = target(value, like)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


_I32 = ir.IntType(32)


def _capi(builder, name, ret, args=()):
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(ret, list(args)), name)


@intrinsic
def _gil_held(typingctx):
    def codegen(context, builder, signature, args):
        held = builder.call(_capi(builder, "PyGILState_Check", _I32), [])
        return builder.icmp_signed("!=", held, _I32(0))

    return types.boolean(), codegen


@intrinsic
def _gil_ensure(typingctx):
    def codegen(context, builder, signature, args):
        return builder.call(_capi(builder, "PyGILState_Ensure", _I32), [])

    return types.int32(), codegen


@intrinsic
def _gil_release(typingctx, state):
    def codegen(context, builder, signature, args):
        builder.call(_capi(builder, "PyGILState_Release", ir.VoidType(), [_I32]), [args[0]])
        return context.get_dummy_value()

    return types.none(types.int32), codegen


@register_jitable
def _size(s):
    return header_view(s._addr)[H_SIZE]


# ---------------------------------------------------------------- keys
# A key converter returns (status, storage key): status 0 when the dtype holds
# the key exactly, else which exception Python would raise.  ``in`` and
# ``count`` turn a non-zero status into False; everything else raises.

_OK, _TYPE, _OVERFLOW, _VALUE = 0, 1, 2, 3


def _integer_converter(dtype: np.dtype, key):
    """Exact conversion of a numba scalar ``key`` type to integer storage ``dtype``."""
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    raw = from_dtype(dtype)
    if isinstance(key, types.Boolean):
        return lambda k: (_OK, raw(1 if k else 0))
    if isinstance(key, types.Integer):
        kinfo = np.iinfo(as_dtype(key))
        # compare in the key's own type: numba compares int64 with uint64 through float64
        check_lo = lo > kinfo.min
        check_hi = hi < kinfo.max
        ktype = as_dtype(key).type
        klo = ktype(lo) if check_lo else ktype(0)
        khi = ktype(hi) if check_hi else ktype(0)

        def convert(k):
            if check_lo and k < klo:
                return _OVERFLOW, raw(0)
            if check_hi and k > khi:
                return _OVERFLOW, raw(0)
            return _OK, raw(k)

        return convert
    if isinstance(key, types.Float):
        flo, fhi = float(lo), float(hi) + 1.0  # both powers of two (or 0): exact as floats

        def convert(k):
            if not np.isfinite(k) or k != np.floor(k):
                return _TYPE, raw(0)
            if k < flo or k >= fhi:
                return _OVERFLOW, raw(0)
            return _OK, raw(k)

        return convert
    return None


def _float_converter(dtype: np.dtype, key):
    """Exact conversion of ``key`` to float ``dtype``'s order-preserving unsigned storage."""
    bits = dtype.itemsize * 8
    ftype = from_dtype(dtype)
    unsigned_dtype = np.dtype(f"uint{bits}")
    utype = from_dtype(unsigned_dtype)
    sign = unsigned_dtype.type(1 << (bits - 1))
    mask = unsigned_dtype.type((1 << bits) - 1)
    exact = float(2 ** (np.finfo(dtype).nmant + 1))  # every integer up to this is exact

    @register_jitable
    def encode(f):
        b = _bitcast(ftype(f) + ftype(0.0), utype)  # + 0.0 turns -0.0 into 0.0
        # back to the storage width: numba widens small integers in arithmetic,
        # and a kernel reads the arrays as the type of the key it is given
        return utype((b ^ mask) if b & sign else (b | sign))

    if isinstance(key, types.Boolean):
        return lambda k: (_OK, encode(1.0 if k else 0.0))
    if isinstance(key, types.Integer):
        unsigned = not key.signed
        kinfo = np.iinfo(as_dtype(key))
        ktype = as_dtype(key).type
        # the bounds of always-exact integers, in the key's own type (see _integer_converter)
        kmin = ktype(max(-int(exact), int(kinfo.min)))
        kmax = ktype(min(int(exact), int(kinfo.max)))

        def convert(k):
            f = np.float64(k)
            if kmin <= k <= kmax:
                return _OK, encode(f)
            # beyond 2**53 (or 2**24) only some integers are exact: round-trip to check
            if unsigned:
                back_ok = f < 18446744073709551616.0 and np.uint64(f) == k
            else:
                back_ok = -9223372036854775808.0 <= f < 9223372036854775808.0 and np.int64(f) == k
            if not back_ok or ftype(f) != f:
                return _TYPE, utype(0)
            return _OK, encode(f)

        return convert
    if isinstance(key, types.Float):

        def convert(k):
            if np.isnan(k):
                return _VALUE, utype(0)
            if ftype(k) != k and np.isfinite(k):
                return _TYPE, utype(0)
            return _OK, encode(k)

        return convert
    return None


def _datetime_converter(dtype: np.dtype, key):
    """A datetime64/timedelta64 key of the set's own unit (or an integer count of it) as int64."""
    unit = np.datetime_data(dtype)[0]
    kind = types.NPDatetime if dtype.kind == "M" else types.NPTimedelta
    nat = np.iinfo(np.int64).min
    if isinstance(key, kind):
        if key.unit != unit:
            raise TypingError(
                f"a SortedSet of dtype {dtype} takes {dtype.kind}8[{unit}] keys in compiled code, not "
                f"{key}: convert with .astype first (NumPy's unit casts are not exact in numba)"
            )

        def convert(k):
            v = _bitcast(k, types.int64)
            return (_VALUE, v) if v == nat else (_OK, v)

        return convert
    if isinstance(key, (types.Float, types.Boolean)):  # a number, not a datetime: TypeError (absent for ``in``)
        return lambda k: (_TYPE, np.int64(0))
    if isinstance(key, types.Integer):
        counts = register_jitable(_integer_converter(np.dtype(np.int64), key))

        def convert(k):
            status, v = counts(k)
            if status == _OK and v == nat:
                return _VALUE, v
            return status, v

        return convert
    return None


def _bool_converter(key):
    if isinstance(key, types.Boolean):
        return lambda k: (_OK, np.uint8(1 if k else 0))
    ints = _integer_converter(np.dtype(np.uint8), key)
    if ints is None:
        return None
    ints = register_jitable(ints)

    def convert(k):
        status, v = ints(k)
        if status == _OK and v > 1:
            return _OVERFLOW, v
        return status, v

    return convert


@functools.lru_cache(maxsize=None)  # one compiled function per (dtype, key type), shared by every method
def _converter(st: SortedSetType, key):
    """The converter for keys of numba type ``key``, or a TypingError naming both types."""
    dtype = st.dtype
    if isinstance(key, (types.Omitted, types.NoneType)):
        convert = None
    elif dtype.kind in "iu":
        convert = _integer_converter(dtype, key)
    elif dtype.kind == "f":
        convert = _float_converter(dtype, key)
    elif dtype.kind in "Mm":
        convert = _datetime_converter(dtype, key)
    else:
        convert = _bool_converter(key)
    if convert is None:
        raise TypingError(f"a key of type {key} cannot be held by a {st.class_name} of dtype {dtype}")
    return register_jitable(convert)


@functools.lru_cache(maxsize=None)  # one compiled function per (dtype, key type), shared by every method
def _decoder(st: SortedSetType):
    """Storage key -> the key as the set's dtype."""
    dtype = st.dtype
    key = st.keytype
    if dtype.kind in "iu":
        return register_jitable(lambda r: r)
    if dtype.kind == "b":
        return register_jitable(lambda r: r != 0)
    if dtype.kind in "Mm":
        return register_jitable(lambda r: _bitcast(r, key))
    bits = dtype.itemsize * 8
    unsigned_dtype = np.dtype(f"uint{bits}")
    utype = from_dtype(unsigned_dtype)
    sign = unsigned_dtype.type(1 << (bits - 1))

    def decode(r):
        b = (r ^ sign) if r & sign else ~r
        return _bitcast(utype(b), key)

    return register_jitable(decode)


@functools.lru_cache(maxsize=None)  # one compiled function per (dtype, key type), shared by every method
def _raiser(st: SortedSetType):
    """Raise what Python would for a converter's non-zero status (messages name the dtype)."""
    type_msg = f"key is not a value a {st.class_name} of dtype {st.dtype} can hold exactly"
    range_msg = f"key is out of range for a {st.class_name} of dtype {st.dtype}"
    value_msg = "key is NaN or NaT, which has no place in a sorted order"

    @register_jitable
    def fail(status):
        if status == _TYPE:
            raise TypeError(type_msg)
        if status == _OVERFLOW:
            raise OverflowError(range_msg)
        raise ValueError(value_msg)

    return fail


def _check_supported(s) -> SortedSetType:
    if not isinstance(s, SortedSetType):
        return None
    if not s.supported:
        raise TypingError(
            f"a SortedSet of dtype {s.dtype} cannot be used in compiled code: only keys stored in one "
            "machine word (integers, floats, bool, datetime64, timedelta64) are; call its batch methods "
            "(add_many, contains_many, ...) from Python instead"
        )
    return s


def _method(name):
    """``overload_method`` for SortedSetType.

    Not ``inline="always"``: numba's IR inlining made a function calling
    ``add`` take 11 s to compile against 2.6 s, and LLVM inlines these small
    calls anyway (the MemInfo's incref/decref pair is then pruned).
    """
    return overload_method(SortedSetType, name)


# ------------------------------------------------------------- the GIL
# A method runs its kernel holding the GIL: free when the caller holds it
# (one PyGILState_Check), one Ensure/Release pair in a nogil function.  A set
# that serializes its own calls (no GIL in this interpreter, or forced) needs
# no GIL: the busy flag makes the call atomic, so nogil callers stay parallel.


@register_jitable
def _enter(s):
    if header_view(s._addr)[H_SERIAL] != 0 or _gil_held():
        return np.int32(-1)
    return _gil_ensure()


@register_jitable
def _leave(state):
    if state != -1:
        _gil_release(state)


# ------------------------------------------------------------ slow paths
# Trips to the Python class, each in a small function of its own (numba
# cannot lift an objmode block out of a function it inlines).  Cached on
# disk: lifting an objmode block costs ~0.4 s of compiling per function.


@cached
def _wait(s):
    """Until no other thread holds the set (its lock, in Python)."""
    with numba.objmode():
        s._wait()


@cached
def _give_back(s):
    with numba.objmode():
        s._give_back()


@cached
def _insert_in_python(s, key):
    """``s.insert(key)`` by the Python class, which grows the storage when a split needs a row."""
    with numba.objmode(index="int64", added="boolean"):
        index, added = s.insert(key)
    return index, added


# ------------------------------------------------------------ scalar methods


@overload(len)
def _len(s):
    if isinstance(s, KeyedType):  # a set or a dict: both keep the size in the header
        return lambda s: _size(s)


@overload(bool)
def _bool(s):
    if isinstance(s, KeyedType):
        return lambda s: _size(s) > 0


@register_jitable
def _unchecked(arg):
    """The converter for a body's argument that is not a key (an index): passed as it is."""
    return _OK, arg


# ---------------------------------------------------------- calling kernels
# Methods call the scalar kernels by their C address, read at run time from
# the kernel table of the set's storage type (its header's H_TABLE slot; see
# jitset._entry_points): no kernel code is linked into a user's function.
# Linked, LLVM re-optimized every kernel a user function calls, in every
# user function (4-9 s to compile one calling five methods, kernels cached);
# an indirect call costs a few ns of a 100+ ns call.  The address is not
# baked into the compiled code, so a user's cached function stays valid in
# every process; a slot still empty is filled (the kernel compiled or
# loaded) on the first call.


@intrinsic
def _call_c(typingctx, fn, like, args):
    """Call the C function at address ``fn`` with the values of tuple ``args``;
    its result has the type of ``like`` (only the type is used)."""
    ret = types.unliteral(like)
    argtypes = [types.unliteral(t) for t in args.types]
    sig = ret(fn, like, args)

    def codegen(context, builder, signature, llargs):
        fnty = ir.FunctionType(context.get_value_type(ret), [context.get_value_type(t) for t in argtypes])
        values = [
            context.cast(builder, builder.extract_value(llargs[2], i), args.types[i], argtypes[i])
            for i in range(len(argtypes))
        ]
        return builder.call(builder.inttoptr(llargs[0], fnty.as_pointer()), values)

    return sig, codegen


@cached
def _fill_slot(table, slot):
    """Compile (or load) the kernel of an empty table slot: its address."""
    with numba.objmode(address="int64"):
        address = kernel_address(table, slot)
    return address


@register_jitable
def _kernel_at(addr, slot):
    """The C address of kernel ``EXTERN[slot]`` for the set at ``addr``."""
    table = header_view(addr)[H_TABLE]
    fn = table_entry(table, slot)
    if fn == 0:
        fn = _fill_slot(table, slot)
    return fn


def _check_abi(st: SortedSetType, name: str, args: tuple) -> None:
    """The kernel is called by address, with nothing to check the arguments at run time:
    make sure, while typing, that they are exactly the types it is compiled for."""
    from jitset._entry_points import entry_points

    expected = tuple(entry_points(st.storage).signature(name)[1:])
    if expected != args:  # a bug in this module, never the user's
        raise TypingError(f"jitset: kernel {name} takes {expected}, would be called with {args}")


def _slot(st: SortedSetType, name: str, args: tuple = None) -> int:
    """The table slot of kernel ``name``, its argument types checked (default: one key)."""
    _check_abi(st, name, (st.rawtype,) if args is None else args)
    return EXTERN.index(name)


@functools.lru_cache(maxsize=None)
def _kernel(st: SortedSetType, name: str):
    """A compiled function calling kernel ``name`` (of :data:`EXTERN`) for ``st``'s storage by address,
    for the bodies of :func:`_native` (the set already taken).

    Its arguments are the kernel's after the header address: ``(addr, key)``,
    ``(addr, key, right)`` for ``bisect``, ``(addr, like, index)`` for
    ``getitem`` and ``delete_at``; keys and results are storage keys.
    """
    args = {"bisect": (st.rawtype, types.boolean), "getitem": (st.rawtype, types.int64),
            "delete_at": (st.rawtype, types.int64)}.get(name)
    slot = _slot(st, name, args)
    raw = st.storage.type(0)
    result = raw if name in ("getitem", "delete_at") else (False if name == "contains" else np.int64(0))
    if name == "bisect":

        def call(addr, key, right):
            return _call_c(_kernel_at(addr, slot), result, (addr, key, right))

    elif name in ("getitem", "delete_at"):

        def call(addr, like, index):
            return _call_c(_kernel_at(addr, slot), result, (addr, like, np.int64(index)))

    else:

        def call(addr, key):
            return _call_c(_kernel_at(addr, slot), result, (addr, key))

    return register_jitable(call)


@register_jitable
def _taken_call(s, slot, args, like):
    """Kernel ``EXTERN[slot](addr | OWNER, *args)`` with the set taken and (unless it
    serializes itself) the GIL held; its result has ``like``'s type.

    One compiled function for every kernel of the same argument and result
    types (``add``, ``discard``, ``find``: a key in, an int out), shared by
    the methods that call them, which keeps a user's function to a few small
    compiled pieces (see :func:`_native` for the contract).
    """
    while True:
        gil = _enter(s)
        if take(s._addr):
            addr = s._addr
            result = _call_c(_kernel_at(addr, slot), like, (addr | OWNER,) + args)
            give(addr)
            _leave(gil)
            return result
        _leave(gil)
        _wait(s)


@functools.lru_cache(maxsize=None)  # one compiled function per (set type, key type), shared by every method
def _checked(st: SortedSetType, key):
    """``key`` as a storage key, or the exception Python would raise for it."""
    convert = _converter(st, key)
    fail = _raiser(st)

    def checked(key):
        status, k = convert(key)
        if status != _OK:
            fail(status)
        return k

    return register_jitable(checked)


def _key_call(st: SortedSetType, key, name: str, *extra):
    """An impl ``(s, key)``: the key checked (:func:`_checked`), then kernel
    ``name(addr, k, *extra)`` through :func:`_taken_call`."""
    checked = _checked(st, key)
    slot = _slot(st, name, (st.rawtype,) + tuple(types.boolean for _ in extra))
    like = False if name == "contains" else 0

    def impl(s, key):
        return _taken_call(s, slot, (checked(key),) + extra, like)

    return impl


def _native(st: SortedSetType, key, body):
    """An impl that converts ``key`` (raising what Python raises) and runs ``body(addr, k)``
    (a jitable function)
    with the set taken (see :func:`jitset._plumbing.take`) and, unless the set
    serializes itself, the GIL held.  ``key=None``: no key, ``body(addr, arg)``.

    ``addr`` carries the OWNER bit, so the kernels the body calls neither
    check nor take the set again.  A body must not raise: the set would stay
    taken.  It returns a status instead, and the impl around it raises.
    """
    fail = _raiser(st)
    convert = _unchecked if key is None else _converter(st, key)

    def impl(s, key):
        status, k = convert(key)
        if status != _OK:
            fail(status)
        while True:
            gil = _enter(s)
            if take(s._addr):
                result = body(s._addr | OWNER, k)
                give(s._addr)
                _leave(gil)
                return result
            _leave(gil)
            _wait(s)

    return impl


@overload(operator.contains)
def _contains(s, key):
    st = _check_supported(s)
    if st is not None:
        return contains_impl(st, key)


def contains_impl(st: KeyedType, key):
    """The impl of ``key in s`` for a set or a dict of type ``st``."""
    convert = _converter(st, key)
    slot = _slot(st, "contains")

    def impl(s, key):
        status, k = convert(key)
        if status != _OK:
            return False  # a number the dtype cannot hold is simply absent
        return _taken_call(s, slot, (k,), False)

    return impl


@_method("count")
def _count(s, key):
    if _check_supported(s) is None:
        return None

    def impl(s, key):
        if key in s:
            return 1
        return 0

    return impl


@_method("insert")
def _insert(s, key):
    st = _check_supported(s)
    if st is None:
        return None
    add = register_jitable(_key_call(st, key, "add"))

    def impl(s, key):
        code = add(s, key)
        if code >= 0:
            return code, True
        if code != NEED_ROOM:
            return PRESENT - code, False
        return _insert_in_python(s, key)  # a split needs a row: grow, in Python

    return impl


@_method("add")
def _add(s, key):
    st = _check_supported(s)
    if st is None:
        return None
    checked = _checked(st, key)
    slot = _slot(st, "add")

    def impl(s, key):  # insert's, without the flag: one compiled function fewer in a user's function
        code = _taken_call(s, slot, (checked(key),), 0)
        if code >= 0:
            return code
        if code != NEED_ROOM:
            return PRESENT - code
        return _insert_in_python(s, key)[0]

    return impl


@_method("discard")
def _discard(s, key):
    st = _check_supported(s)
    if st is None:
        return None
    checked = _checked(st, key)
    slot = _slot(st, "discard")

    def impl(s, key):
        index = _taken_call(s, slot, (checked(key),), 0)
        if index < -1:  # removed, and the storage is mostly empty rows: give them back
            _give_back(s)
            index = SHRINK - index
        return index

    return impl


@_method("remove")
def _remove(s, key):
    if _check_supported(s) is None:
        return None

    def impl(s, key):
        index = s.discard(key)
        if index < 0:
            raise KeyError("key is not in the SortedSet")
        return index

    return impl


@overload(operator.getitem)
def _getitem(s, i):
    st = _check_supported(s)
    if st is None:
        return None
    if not isinstance(i, types.Integer):
        raise TypingError(f"SortedSet indices in compiled code must be integers, not {i} (use take() for arrays)")
    decode = _decoder(st)
    like = st.storage.type(0)
    get = register_jitable(_native(st, None, register_jitable(_at_index(like, _kernel(st, "getitem")))))

    def impl(s, i):
        found, r = get(s, np.int64(i))
        if not found:
            raise IndexError("SortedSet index out of range")
        return decode(r)

    return impl


def _at_index(like, kernel):
    """A body calling ``kernel(addr, like, i)`` if ``i`` is in range: ``(False, like)`` if not."""

    def body(addr, i):
        size = header_view(addr)[H_SIZE]
        if i < 0:
            i += size
        if i < 0 or i >= size:
            return False, like
        return True, kernel(addr, like, i)

    return body


@_method("pop")
def _pop(s, i=-1):
    st = _check_supported(s)
    if st is None:
        return None
    if not isinstance(i, (types.Integer, types.Omitted, int)):
        raise TypingError(f"pop() takes an integer index, not {i}")
    decode = _decoder(st)
    like = st.storage.type(0)
    pop = register_jitable(_native(st, None, register_jitable(_at_index(like, _kernel(st, "delete_at")))))

    def impl(s, i=-1):
        if _size(s) == 0:
            raise IndexError("pop from an empty SortedSet")
        found, r = pop(s, np.int64(i))
        if not found:
            raise IndexError("SortedSet index out of range")
        return decode(r)

    return impl


@_method("index")
def _index(s, key):
    st = _check_supported(s)
    if st is None:
        return None
    checked = _checked(st, key)
    slot = _slot(st, "find")

    def impl(s, key):
        i = _taken_call(s, slot, (checked(key),), 0)
        if i < 0:
            raise ValueError("key is not in the SortedSet")
        return i

    return impl


@_method("bisect_left")
def _bisect_left(s, key):
    st = _check_supported(s)
    if st is not None:
        return _key_call(st, key, "bisect", False)


@_method("bisect_right")
def _bisect_right(s, key):
    st = _check_supported(s)
    if st is not None:
        return _key_call(st, key, "bisect", True)


def _neighbour(st: SortedSetType, key, right: bool, step: int):
    """floor/ceiling/lower/higher: the key at ``bisect(key) + step``, or None (one GIL hold)."""
    decode = _decoder(st)
    like = st.storage.type(0)
    bisect = _kernel(st, "bisect")
    getitem = _kernel(st, "getitem")

    def body(addr, k):
        i = bisect(addr, k, right) + step
        size = header_view(addr)[H_SIZE]
        if i < 0 or i >= size:
            return False, like
        return True, getitem(addr, like, i)

    find = register_jitable(_native(st, key, register_jitable(body)))

    def impl(s, key):
        found, r = find(s, key)
        if found:
            return decode(r)
        return None

    return impl


for _name, _right, _step in (("floor", True, -1), ("ceiling", False, 0), ("lower", False, -1), ("higher", True, 0)):

    def _make(right=_right, step=_step):
        def typer(s, key):
            st = _check_supported(s)
            if st is not None:
                return _neighbour(st, key, right, step)

        return typer

    _method(_name)(_make())


@_method("min")
def _min(s):
    if _check_supported(s) is None:
        return None

    def impl(s):
        if _size(s) == 0:
            raise ValueError("min() of an empty SortedSet")
        return s[0]

    return impl


@_method("max")
def _max(s):
    if _check_supported(s) is None:
        return None

    def impl(s):
        if _size(s) == 0:
            raise ValueError("max() of an empty SortedSet")
        return s[-1]

    return impl


# --------------------------------------------------------------- iteration
# ``for k in s`` in compiled code: an iterator holding the set (a new
# reference) and its position; each step reads the key at that index, and
# raises RuntimeError if the set changed meanwhile, as Python's iterator does.


class SortedSetIterType(types.SimpleIteratorType):
    def __init__(self, set_type: SortedSetType) -> None:
        self.set_type = set_type
        super().__init__(f"iter({set_type.name})", set_type.keytype)


@register_model(SortedSetIterType)
class _IterModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        members = [
            ("set", fe_type.set_type),
            ("index", types.EphemeralPointer(types.int64)),
            ("version", types.int64),
        ]
        super().__init__(dmm, fe_type, members)


@infer
class _GetIter(AbstractTemplate):
    key = "getiter"

    def generic(self, args, kws):
        (s,) = args
        if isinstance(s, SortedSetType) and _check_supported(s) is not None:
            return signature(SortedSetIterType(s), s)
        if isinstance(s, KeyedType) and s.supported:  # a dict: its keys
            return signature(SortedSetIterType(s), s)


def _version(s):
    return header_view(s._addr)[H_VERSION]


@lower_builtin("getiter", SortedSetType)
def _getiter(context, builder, sig, args):
    it = context.make_helper(builder, sig.return_type)
    it.set = args[0]
    it.index = cgutils.alloca_once_value(builder, context.get_constant(types.int64, 0))
    it.version = context.compile_internal(builder, _version, types.int64(sig.args[0]), args)
    context.nrt.incref(builder, sig.args[0], args[0])
    return impl_ret_new_ref(context, builder, sig.return_type, it._getvalue())


def _step(set_type: SortedSetType):
    decode = _decoder(set_type)
    like = set_type.storage.type(0)
    getitem = _kernel(set_type, "getitem")

    def body(addr, position):
        # the version is checked in the same GIL-held, not-busy section as the
        # read: a set changed while this waited is reported, never read
        i, version = position
        h = header_view(addr)
        if h[H_VERSION] != version:
            return -1, like
        if i >= h[H_SIZE]:
            return 0, like
        return 1, getitem(addr, like, i)

    read = register_jitable(_native(set_type, None, register_jitable(body)))
    changed = f"{set_type.class_name} changed during iteration"

    def step(s, i, version):
        """(whether index ``i`` is in the set, its key)."""
        status, r = read(s, (i, version))
        if status < 0:
            raise RuntimeError(changed)
        return status == 1, decode(r)

    return step


@lower_builtin("iternext", SortedSetIterType)
@iternext_impl(RefType.BORROWED)
def _iternext(context, builder, sig, args, result):
    (iter_type,) = sig.args
    st = iter_type.set_type
    it = context.make_helper(builder, iter_type, value=args[0])
    index = builder.load(it.index)
    step_sig = types.Tuple((types.boolean, st.keytype))(st, types.int64, types.int64)
    pair = context.compile_internal(builder, _step(st), step_sig, [it.set, index, it.version])
    valid = builder.extract_value(pair, 0)
    result.set_valid(valid)
    with builder.if_then(valid):
        result.yield_(builder.extract_value(pair, 1))
        builder.store(builder.add(index, context.get_constant(types.int64, 1)), it.index)


# ------------------------------------------------------------- batch methods
# Arrays in, arrays out, through the Python methods: one objmode trip per
# batch (microseconds) against a native call that costs as much per 10-50
# keys, and the validation stays in one place.


def _array_of(dtype_type, ndim=1):
    return types.Array(dtype_type, ndim, "C")


def _objmode_call(method: str, out_type, nargs: int):
    """An impl calling ``s.<method>(*args)`` in object mode, returning ``out_type``."""
    args = ", ".join(f"a{i}" for i in range(nargs))
    source = (
        f"def impl(s{', ' if nargs else ''}{args}):\n"
        f"    with numba.objmode(out=OUT):\n"
        f"        out = s.{method}({args})\n"
        f"    return out\n"
    )
    namespace = {"numba": numba, "OUT": out_type}
    exec(source, namespace)  # one small function per (method, result type)
    return namespace["impl"]


_INDICES = _array_of(types.int64)
_FLAGS = _array_of(types.boolean)


def _one_d(name, *arrays):
    for a in arrays:
        if isinstance(a, types.Array) and a.ndim != 1:
            raise TypingError(f"{name}() takes 1-D arrays in compiled code, not {a}")


def _batch(name: str, result, nargs: int):
    """Register batch method ``name`` taking ``nargs`` arrays; ``result(st)`` gives its numba return type."""
    if nargs == 0:

        def typer(s):
            st = _check_supported(s)
            return None if st is None else _objmode_call(name, result(st), 0)

    elif nargs == 1:

        def typer(s, a0):
            st = _check_supported(s)
            if st is None:
                return None
            _one_d(name, a0)
            return _objmode_call(name, result(st), 1)

    else:

        def typer(s, a0, a1):
            st = _check_supported(s)
            if st is None:
                return None
            _one_d(name, a0, a1)
            return _objmode_call(name, result(st), 2)

    overload_method(SortedSetType, name)(typer)


_batch("add_many", lambda st: _INDICES, 1)
_batch("discard_many", lambda st: _INDICES, 1)
_batch("replace_many", lambda st: types.UniTuple(_INDICES, 2), 2)
_batch("contains_many", lambda st: _FLAGS, 1)
_batch("index_many", lambda st: _INDICES, 1)
_batch("take", lambda st: _array_of(st.keytype), 1)
_batch("to_numpy", lambda st: _array_of(st.keytype), 0)


@overload_method(SortedSetType, "searchsorted")
def _searchsorted(s, keys, side="left"):
    if _check_supported(s) is None:
        return None

    def impl(s, keys, side="left"):
        with numba.objmode(out=_INDICES):
            out = s.searchsorted(keys, side)
        return out

    return impl


@overload_method(SortedSetType, "irange")
def _irange(s, minimum=None, maximum=None, inclusive=(True, True), reverse=False):
    st = _check_supported(s)
    if st is None:
        return None
    out_type = _array_of(st.keytype)

    def impl(s, minimum=None, maximum=None, inclusive=(True, True), reverse=False):
        with numba.objmode(out=out_type):
            out = s.irange(minimum, maximum, inclusive, reverse)
        return out

    return impl


# ------------------------------------------------------------ constructor


def _absent(t) -> bool:
    """Whether an overload argument was left out (or given as None)."""
    return t is None or isinstance(t, (types.Omitted, types.NoneType))


def _dtype_argument(t):
    """The NumPy dtype a ``dtype=`` argument in compiled code stands for (None: not given)."""
    if _absent(t):
        return None
    if isinstance(t, types.DType):
        return as_dtype(t.dtype)
    if isinstance(t, types.NumberClass):
        return as_dtype(t.instance_type)
    if isinstance(t, types.StringLiteral):
        return np.dtype(t.literal_value)
    raise TypingError(f"SortedSet(dtype=...) in compiled code takes a NumPy dtype or scalar type, not {t}")


def _constructor(values=None, dtype=None, chunk_size=None):
    """``SortedSet(values=None, dtype=None, chunk_size=None)`` in compiled code, built by Python."""
    given = _dtype_argument(dtype)
    if isinstance(values, types.Array) and values.ndim == 1:
        resolved = given if given is not None else as_dtype(values.dtype)
    elif _absent(values):
        resolved = given if given is not None else np.dtype(np.int64)
    else:
        raise TypingError(f"SortedSet() takes a 1-D array (or nothing) in compiled code, not {values}")
    st = _check_supported(numba_type(resolve_dtype(resolved)))
    name = st.dtype.str  # a str crosses into object mode as it is; the dtype is rebuilt there

    def impl(values=None, dtype=None, chunk_size=None):
        with numba.objmode(s=st):
            s = _new(values, name, chunk_size)
        return s

    return impl


def _new(values, dtype: str, chunk_size):
    """What the compiled constructor runs in object mode."""
    return _SortedSet(values, dtype=np.dtype(dtype), chunk_size=chunk_size)
