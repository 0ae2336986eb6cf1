"""A SortedDict inside numba-compiled code: its numba type and methods.

Pass a :class:`jitset.SortedDict` to an ``@numba.njit`` function and it is a
:class:`SortedDictType` value there.  Everything of
:mod:`jitset._numba_extension` holds (the value is the same struct, a
reference to the Python object and the header address; the same thread
model; kernels called by their C address; slow paths through
``numba.objmode``); this module adds what is a dict's own.

Which methods run natively
--------------------------
For one-word keys (as for sets) and values of one number (integers,
floats, complex, bool, datetime64/timedelta64): ``len``, ``k in d``,
``d[k]``, ``d[k] = v``, ``del d[k]``, ``get``, ``pop``, ``put``,
``discard``, ``index``, ``bisect_left``/``right``, ``peekitem``,
``popitem``, ``floor_item``/``ceiling_item``/``lower_item``/``higher_item``
and ``for k in d`` (the keys).  A value is copied between the dict's bytes
and a slot on the caller's stack, so no call allocates.

Batches (``update_many``, ``get_many``, ``contains_many``, ``index_many``,
``pop_many``, ``take``, ``to_numpy``, ``irange``, ``irange_items``,
``discard_irange``) go to the Python methods, one objmode trip each, for
every value dtype the Python class takes.

Structured and subarray values
------------------------------
numba has no value type for a record it could return without a buffer to
point into, so a dict of records (or of ``("f8", 3)``) offers its batch
methods only.  One field of one item::

    qty = d.get_many(np.array([k]))["qty"][0]          # read
    v = d.get_many(np.array([k])); v["qty"][0] = 5.0   # write: read the item,
    d.update_many(np.array([k]), v, mode="update")     # change the field, put it back

Values convert exactly, as in Python: an integer out of range is an
``OverflowError``, a non-integral float for an integer column a
``TypeError``, a float a narrower float cannot hold exactly an
``OverflowError``; a value of a kind the column cannot hold at all (a
float for a bool column, a complex for a float column) is a typing error.
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
from numba.core.imputils import lower_builtin
from numba.extending import (
    box,
    intrinsic,
    make_attribute_wrapper,
    overload,
    overload_method,
    register_jitable,
    register_model,
    typeof_impl,
    unbox,
)
from numba.np.numpy_support import as_dtype, from_dtype

from jitset._kernels import NEED_ROOM, PRESENT, SHRINK
from jitset._keys import resolve_dtype
from jitset._numba_extension import (
    _FLAGS,
    _INDICES,
    _OK,
    _OVERFLOW,
    _TYPE,
    KeyedType,
    _absent,
    _array_of,
    _box,
    _call_c,
    _converter,
    _decoder,
    _dtype_argument,
    _getiter,
    _give_back,
    _integer_converter,
    _kernel_at,
    _key_call,
    _native,
    _objmode_call,
    _one_d,
    _raiser,
    _size,
    contains_impl,
    _slot,
    _SortedSetModel,
    _unbox,
    spelled,
)
from jitset._plumbing import H_SIZE, cached, compiled_module, header_view

__all__ = ["SortedDictType", "dict_type"]

compiled_module(__name__)  # overloads and intrinsics: part of the source tag

#: Value dtype kinds the scalar methods take: one number each.
_ONE_NUMBER = "iufcbMm"


class SortedDictType(KeyedType):
    """The numba type of a :class:`jitset.SortedDict` of one key dtype and one value dtype."""

    class_name = "SortedDict"

    def __init__(self, dtype: np.dtype, value_dtype: np.dtype) -> None:
        vd = self.value_dtype = np.dtype(value_dtype)
        self.scalar_values = vd.names is None and not vd.shape and vd.kind in _ONE_NUMBER and vd.isnative
        if self.scalar_values:
            self.valuetype = from_dtype(vd)
        try:  # what batch methods return: a subarray dtype's values are (n, *shape) of its base
            self.values_array = numba.typeof(np.empty((0,) + vd.shape, vd.base if vd.names is None else vd))
        except (ValueError, TypeError, NotImplementedError):  # a dtype numba has no type for
            self.values_array = None
        super().__init__(dtype, f"jitset.SortedDict[{spelled(np.dtype(dtype))}, {spelled(vd)}]")


_TYPES: dict = {}


def dict_type(dtype: np.dtype, value_dtype: np.dtype) -> SortedDictType:
    """The (interned) numba type of a SortedDict of ``dtype`` keys and ``value_dtype`` values."""
    t = _TYPES.get((dtype, value_dtype))
    if t is None:
        t = _TYPES[dtype, value_dtype] = SortedDictType(dtype, value_dtype)
    return t


# The same value as a set's: a reference to the Python object and the header address.
register_model(SortedDictType)(_SortedSetModel)
make_attribute_wrapper(SortedDictType, "addr", "_addr")
unbox(SortedDictType)(_unbox)
box(SortedDictType)(_box)
lower_builtin("getiter", SortedDictType)(_getiter)  # ``for k in d``: the set's iterator over keys

_SortedDict = None  # set by register_class


def register_class(cls) -> None:
    """Tie the Python class to the type (called once, by :mod:`jitset.sorteddict`)."""
    global _SortedDict
    _SortedDict = cls

    @typeof_impl.register(cls)
    def _typeof(val, c):
        return val._numba_type_

    overload(cls)(_constructor)


def _check(d, scalar: bool = True) -> SortedDictType:
    """``d``'s type if it is a dict usable here (None if not a dict); a TypingError saying why not."""
    if not isinstance(d, SortedDictType):
        return None
    if not d.supported:
        raise TypingError(
            f"a SortedDict of key dtype {d.dtype} cannot be used in compiled code: only keys stored in one "
            "machine word (integers, floats, bool, datetime64, timedelta64) are"
        )
    if scalar and not d.scalar_values:
        raise TypingError(
            f"a SortedDict of value dtype {d.value_dtype} has only its batch methods in compiled code "
            "(update_many, get_many, pop_many, take, ...): scalar methods take values of one number; "
            "read a field as d.get_many(keys)[name], write it with update_many(keys, values, mode='update')"
        )
    if not scalar and d.values_array is None:
        raise TypingError(f"numba has no array type for value dtype {d.value_dtype}")
    return d


def _method(name):
    return overload_method(SortedDictType, name)


# ------------------------------------------------------------------ values
# A value converter returns (status, value as the value dtype's numba type),
# status as the key converters' (jitset._numba_extension); a value type the
# column cannot hold at all is a typing error.


def _float_value(vd: np.dtype, value):
    ftype = from_dtype(vd)
    if isinstance(value, types.Boolean):
        return lambda v: (_OK, ftype(1.0 if v else 0.0))
    if isinstance(value, types.Float):
        if value.bitwidth <= vd.itemsize * 8:
            return lambda v: (_OK, ftype(v))

        def narrow(v):
            f = ftype(v)
            if f != v and not np.isnan(v):  # e.g. 0.1 or 1e300 into float32
                return _OVERFLOW, f
            return _OK, f

        return narrow
    if isinstance(value, types.Integer):
        exact = int(2 ** (np.finfo(vd).nmant + 1))  # every integer up to this is exact
        kinfo = np.iinfo(as_dtype(value))
        ktype = as_dtype(value).type
        kmin, kmax = ktype(max(-exact, int(kinfo.min))), ktype(min(exact, int(kinfo.max)))
        unsigned = not value.signed

        def integer(v):
            if kmin <= v <= kmax:
                return _OK, ftype(v)
            f = np.float64(v)  # beyond 2**53 (or 2**24) only some integers are exact: round-trip
            if unsigned:
                back = f < 18446744073709551616.0 and np.uint64(f) == v
            else:
                back = -9223372036854775808.0 <= f < 9223372036854775808.0 and np.int64(f) == v
            if not back or ftype(f) != f:
                return _OVERFLOW, ftype(0.0)
            return _OK, ftype(f)

        return integer
    return None


def _complex_value(vd: np.dtype, value):
    ctype = from_dtype(vd)
    part = np.dtype(f"f{vd.itemsize // 2}")
    if isinstance(value, types.Complex):
        ptype = from_dtype(part)

        def complex_(v):
            c = ctype(v)
            for a, b in ((ptype(c.real), v.real), (ptype(c.imag), v.imag)):
                if a != b and not np.isnan(b):
                    return _OVERFLOW, c
            return _OK, c

        return complex_
    real = _float_value(part, value)
    if real is None:
        return None
    real = register_jitable(real)

    def from_real(v):
        status, f = real(v)
        return status, ctype(f)

    return from_real


@functools.lru_cache(maxsize=None)  # one compiled function per (dict type, value type)
def _value_checked(dt: SortedDictType, value):
    """``value`` as the value dtype's numba type, or the exception Python would raise."""
    vd = dt.value_dtype
    convert = None
    if vd.kind in "iu":
        convert = _integer_converter(vd, value)
    elif vd.kind == "f":
        convert = _float_value(vd, value)
    elif vd.kind == "c":
        convert = _complex_value(vd, value)
    elif vd.kind == "b" and isinstance(value, types.Boolean):
        convert = lambda v: (_OK, v)  # noqa: E731
    elif vd.kind in "Mm" and types.unliteral(value) == dt.valuetype:  # the same unit: NaT is a value
        convert = lambda v: (_OK, v)  # noqa: E731
    if convert is None:
        raise TypingError(f"a value of type {value} cannot be held by a SortedDict of value dtype {vd}")
    convert = register_jitable(convert)
    type_msg = f"value is not one a SortedDict of value dtype {vd} can hold exactly"
    range_msg = f"value cannot be represented exactly in value dtype {vd}"

    def checked(v):
        status, x = convert(v)
        if status == _TYPE:
            raise TypeError(type_msg)
        if status != _OK:
            raise OverflowError(range_msg)
        return x

    return register_jitable(checked)


# ---------------------------------------------------- kernels with a value
# The dict kernels read or write one value at an address they are given
# (jitset._kernels.put, get_value, ...).  These intrinsics give them the
# address of a slot on the caller's stack, so the value never needs a heap
# buffer: the slot is made, passed, and read back in the same function.


def _call_with_slot(context, builder, fn, ret, args_type, args, slot):
    """Call the C function at address ``fn`` with the values of tuple ``args``, the slot's
    address standing in for each ``None`` of the tuple."""
    lltypes, values = [], []
    address = builder.ptrtoint(slot, ir.IntType(64))
    for i, t in enumerate(args_type.types):
        if isinstance(t, types.NoneType):
            lltypes.append(ir.IntType(64))
            values.append(address)
        else:
            u = types.unliteral(t)
            lltypes.append(context.get_value_type(u))
            values.append(context.cast(builder, builder.extract_value(args, i), t, u))
    fnty = ir.FunctionType(context.get_value_type(ret), lltypes)
    return builder.call(builder.inttoptr(fn, fnty.as_pointer()), values)


@intrinsic
def _call_reading(typingctx, fn, like, value_type, args):
    """``(result, value)``: kernel ``fn(*args)`` (result of ``like``'s type) given a slot for
    one value of type ``value_type`` (a type), which it may fill; zero if it does not."""
    ret = types.unliteral(like)
    vt = getattr(value_type, "instance_type", value_type)
    sig = types.Tuple((ret, vt))(fn, like, value_type, args)

    def codegen(context, builder, signature, llargs):
        model = context.data_model_manager[vt]
        slot = cgutils.alloca_once(builder, model.get_data_type())
        builder.store(cgutils.get_null_value(model.get_data_type()), slot)
        result = _call_with_slot(context, builder, llargs[0], ret, args, llargs[3], slot)
        value = model.from_data(builder, builder.load(slot))
        return context.make_tuple(builder, signature.return_type, [result, value])

    return sig, codegen


@intrinsic
def _call_writing(typingctx, fn, like, value, args):
    """Kernel ``fn(*args)`` (result of ``like``'s type) given a slot holding ``value``."""
    ret = types.unliteral(like)
    vt = types.unliteral(value)
    sig = ret(fn, like, value, args)

    def codegen(context, builder, signature, llargs):
        model = context.data_model_manager[vt]
        slot = cgutils.alloca_once(builder, model.get_data_type())
        builder.store(model.as_data(builder, llargs[2]), slot)
        return _call_with_slot(context, builder, llargs[0], ret, args, llargs[3], slot)

    return sig, codegen


@intrinsic
def _zero(typingctx, value_type):
    """A zero of type ``value_type`` (a type): what a body returns when there is no value."""
    vt = getattr(value_type, "instance_type", value_type)

    def codegen(context, builder, signature, args):
        return cgutils.get_null_value(context.get_value_type(vt))

    return vt(value_type), codegen


@functools.lru_cache(maxsize=None)  # one set of compiled bodies per dict type, shared by every method
def _bodies(dt: SortedDictType) -> dict:
    """The kernel calls of a dict's scalar methods, by name, each an impl ``(d, arg)`` that runs
    its body with the dict taken (:func:`jitset._numba_extension._native`; ``arg`` is
    already converted, and a body must not raise)."""
    i64, b1, raw, VT = types.int64, types.boolean, dt.rawtype, dt.valuetype
    like = dt.storage.type(0)
    get_slot = _slot(dt, "get_value", (raw, i64))
    pop_slot = _slot(dt, "pop_value", (raw, i64))
    put_slot = _slot(dt, "put", (raw, i64, b1))
    delete_slot = _slot(dt, "delete_value_at", (raw, i64, i64))
    gather_slot = _slot(dt, "gather_values", (i64, i64, i64))
    bisect_slot = _slot(dt, "bisect", (raw, b1))
    getitem_slot = _slot(dt, "getitem", (raw, i64))

    def get(addr, k):  # (index or -1, value)
        return _call_reading(_kernel_at(addr, get_slot), np.int64(0), VT, (addr, k, None))

    def pop(addr, k):  # (discard's code, value)
        return _call_reading(_kernel_at(addr, pop_slot), np.int64(0), VT, (addr, k, None))

    def put(addr, kv):  # add's code
        k, v = kv
        return _call_writing(_kernel_at(addr, put_slot), np.int64(0), v, (addr, k, None, True))

    @register_jitable
    def at(addr, i):  # (found, key, value) at index i (negative: from the end)
        size = header_view(addr)[H_SIZE]
        if i < 0:
            i += size
        if i < 0 or i >= size:
            return False, like, _zero(VT)
        r = _call_c(_kernel_at(addr, getitem_slot), like, (addr, like, i))
        value = _call_reading(_kernel_at(addr, gather_slot), None, VT, (addr, None, i, np.int64(1)))[1]
        return True, r, value

    def item(addr, i):
        return at(addr, i)

    def neighbour(addr, query):  # the item at bisect(k, right) + step
        k, right, step = query
        i = _call_c(_kernel_at(addr, bisect_slot), np.int64(0), (addr, k, right)) + step
        if i < 0:  # before the first key: none (not an index from the end)
            return False, like, _zero(VT)
        return at(addr, i)

    def pop_at(addr, i):  # (found, key, value), removed
        size = header_view(addr)[H_SIZE]
        if i < 0:
            i += size
        if i < 0 or i >= size:
            return False, like, _zero(VT)
        r, value = _call_reading(_kernel_at(addr, delete_slot), like, VT, (addr, like, i, None))
        return True, r, value

    bodies = {"get": get, "pop": pop, "put": put, "item": item, "neighbour": neighbour, "pop_at": pop_at}
    return {name: register_jitable(_native(dt, None, register_jitable(f))) for name, f in bodies.items()}


@cached
def _put_in_python(d, key, value):
    """``d.put(key, value)`` by the Python class, which grows the storage when a split needs a row."""
    with numba.objmode(index="int64", added="boolean"):
        index, added = d.put(key, value)
    return index, added


# ------------------------------------------------------------ scalar methods


@overload(operator.contains)
def _contains(s, key):  # named as the set's impl it returns
    dt = _check(s, scalar=False)
    if dt is not None:
        return contains_impl(dt, key)  # the set's; len() and bool() are the set's overloads too


@functools.lru_cache(maxsize=None)
def _by_key(dt: SortedDictType, key, body: str):
    """``(the body's index or code, value)`` for ``key``, body ``"get"`` or ``"pop"`` of
    :func:`_bodies`; a key the dtype cannot hold is absent: ``(-1, 0)``."""
    convert = _converter(dt, key)
    run = _bodies(dt)[body]
    VT = dt.valuetype

    def by_key(d, key):
        status, k = convert(key)
        if status != _OK:
            return np.int64(-1), _zero(VT)
        return run(d, k)

    return register_jitable(by_key)


@overload(operator.getitem)
def _getitem(d, key):
    dt = _check(d)
    if dt is None:
        return None
    lookup = _by_key(dt, key, "get")  # (index or -1, value)

    def impl(d, key):
        index, value = lookup(d, key)
        if index < 0:
            raise KeyError("key is not in the SortedDict")
        return value

    return impl


@_method("get")
def _get(d, key, default=None):
    dt = _check(d)
    if dt is None:
        return None
    lookup = _by_key(dt, key, "get")  # (index or -1, value)

    def impl(d, key, default=None):
        index, value = lookup(d, key)
        if index < 0:
            return default
        return value

    return impl


@functools.lru_cache(maxsize=None)
def _putter(dt: SortedDictType, key, value):
    """``put(d, key, value) -> (index, added)``: both checked, growing in Python when a split needs a row."""
    convert = _converter(dt, key)
    checked = _value_checked(dt, value)
    put = _bodies(dt)["put"]
    fail = _raiser(dt)

    def putter(d, key, value):
        status, k = convert(key)
        if status != _OK:
            fail(status)
        v = checked(value)
        code = put(d, (k, v))
        if code >= 0:
            return code, True
        if code != NEED_ROOM:
            return PRESENT - code, False
        return _put_in_python(d, key, v)

    return register_jitable(putter)


@_method("put")
def _put(d, key, value):
    dt = _check(d)
    if dt is not None:
        return _putter(dt, key, value)


@overload(operator.setitem)
def _setitem(d, key, value):
    dt = _check(d)
    if dt is None:
        return None
    put = _putter(dt, key, value)

    def impl(d, key, value):
        put(d, key, value)

    return impl


@functools.lru_cache(maxsize=None)
def _popper(dt: SortedDictType, key):
    """``(index it had or -1, value)``, the key removed; a key the dtype cannot hold is absent."""
    pop = _by_key(dt, key, "pop")

    def popper(d, key):
        index, value = pop(d, key)
        if index < -1:  # removed, and the storage is mostly empty rows: give them back
            _give_back(d)
            index = SHRINK - index
        return index, value

    return register_jitable(popper)


@_method("discard")
def _discard(d, key):
    dt = _check(d)
    if dt is None:
        return None
    pop = _popper(dt, key)
    return lambda d, key: pop(d, key)[0]


@overload(operator.delitem)
def _delitem(d, key):
    dt = _check(d)
    if dt is None:
        return None
    pop = _popper(dt, key)

    def impl(d, key):
        if pop(d, key)[0] < 0:
            raise KeyError("key is not in the SortedDict")

    return impl


@_method("pop")
def _pop(d, key, default=None):
    dt = _check(d)
    if dt is None:
        return None
    pop = _popper(dt, key)
    if _absent(default) and not isinstance(default, types.NoneType):  # d.pop(k): KeyError when absent

        def impl(d, key, default=None):
            index, value = pop(d, key)
            if index < 0:
                raise KeyError("key is not in the SortedDict")
            return value

        return impl

    def impl_default(d, key, default=None):
        index, value = pop(d, key)
        if index < 0:
            return default
        return value

    return impl_default


@_method("index")
def _index(d, key):
    dt = _check(d, scalar=False)
    if dt is None:
        return None
    find = register_jitable(_key_call(dt, key, "find"))

    def impl(d, key):
        i = find(d, key)
        if i < 0:
            raise ValueError("key is not in the SortedDict")
        return i

    return impl


@_method("bisect_left")
def _bisect_left(s, key):  # named as the set's impl it returns
    dt = _check(s, scalar=False)
    if dt is not None:
        return _key_call(dt, key, "bisect", False)


@_method("bisect_right")
def _bisect_right(s, key):  # named as the set's impl it returns
    dt = _check(s, scalar=False)
    if dt is not None:
        return _key_call(dt, key, "bisect", True)


def _positional(dt: SortedDictType, i, body: str, what: str):
    """``peekitem``/``popitem``: the item at index ``i``, as ``(key, value)``."""
    if not isinstance(i, (types.Integer, types.Omitted, int)):
        raise TypingError(f"{what}() takes an integer index, not {i}")
    run = _bodies(dt)[body]
    decode = _decoder(dt)
    empty = f"{what}(): SortedDict is empty"

    def impl(d, i=-1):
        if _size(d) == 0:
            raise KeyError(empty)
        found, r, value = run(d, np.int64(i))
        if not found:
            raise IndexError(f"{what} index out of range")
        return decode(r), value

    return impl


@_method("peekitem")
def _peekitem(d, i=-1):
    dt = _check(d)
    if dt is not None:
        return _positional(dt, i, "item", "peekitem")


@_method("popitem")
def _popitem(d, i=-1):
    dt = _check(d)
    if dt is not None:
        return _positional(dt, i, "pop_at", "popitem")


def _neighbour(dt: SortedDictType, key, right: bool, step: int):
    """floor/ceiling/lower/higher_item: the item at ``bisect(key) + step`` or None (one call)."""
    fail = _raiser(dt)
    convert = _converter(dt, key)
    decode = _decoder(dt)
    run = _bodies(dt)["neighbour"]

    def impl(d, key):
        status, k = convert(key)
        if status != _OK:
            fail(status)
        found, r, value = run(d, (k, right, np.int64(step)))
        if found:
            return decode(r), value
        return None

    return impl


for _name, _right, _step in (("floor_item", True, -1), ("ceiling_item", False, 0), ("lower_item", False, -1),
                             ("higher_item", True, 0)):

    def _make(right=_right, step=_step):
        def typer(d, key):
            dt = _check(d)
            if dt is not None:
                return _neighbour(dt, key, right, step)

        return typer

    _method(_name)(_make())


# ------------------------------------------------------------- batch methods
# Arrays in, arrays out, through the Python methods, as a set's (one objmode
# trip per batch); every value dtype numba has an array type for.


def _keys_type(dt):
    return _array_of(dt.keytype)


def _batch(name: str, result, nargs: int = 1):
    """Register batch method ``name`` taking ``nargs`` (0 or 1) arrays; ``result(dt)`` gives its
    numba return type.  The set's object-mode impls serve (their first argument is named ``s``)."""
    if nargs == 0:

        def typer(s):
            dt = _check(s, scalar=False)
            return None if dt is None else _objmode_call(name, result(dt), 0)

    else:

        def typer(s, a0):
            dt = _check(s, scalar=False)
            if dt is None:
                return None
            _one_d(name, a0)
            return _objmode_call(name, result(dt), 1)

    overload_method(SortedDictType, name)(typer)


_batch("contains_many", lambda dt: _FLAGS)
_batch("index_many", lambda dt: _INDICES)
_batch("pop_many", lambda dt: types.Tuple((_INDICES, dt.values_array)))
_batch("take", lambda dt: types.Tuple((_keys_type(dt), dt.values_array)))
_batch("to_numpy", lambda dt: types.Tuple((_keys_type(dt), dt.values_array)), nargs=0)


@_method("update_many")
def _update_many(d, keys, values, mode="upsert"):
    dt = _check(d, scalar=False)
    if dt is None:
        return None
    if not isinstance(values, types.Array):
        raise TypingError(f"update_many() takes an array of values in compiled code, not {values}")
    _one_d("update_many", keys)

    out_type = types.UniTuple(_INDICES, 2)

    def impl(d, keys, values, mode="upsert"):
        with numba.objmode(out=out_type):
            out = d.update_many(keys, values, mode)
        return out

    return impl


@_method("get_many")
def _get_many(d, keys, default=None):
    dt = _check(d, scalar=False)
    if dt is None:
        return None
    _one_d("get_many", keys)
    out_type = dt.values_array
    if _absent(default):  # KeyError naming the first missing key

        def impl(d, keys, default=None):
            with numba.objmode(out=out_type):
                out = d.get_many(keys)
            return out

        return impl

    def impl_default(d, keys, default=None):
        with numba.objmode(out=out_type):
            out = d.get_many(keys, default)
        return out

    return impl_default


def _range_impl(dt: SortedDictType, method: str, out_type):
    def impl(d, minimum=None, maximum=None, inclusive=(True, True), reverse=False):
        with numba.objmode(out=out_type):
            out = getattr(d, method)(minimum, maximum, inclusive, reverse)
        return out

    return impl


@_method("irange")
def _irange(d, minimum=None, maximum=None, inclusive=(True, True), reverse=False):
    dt = _check(d, scalar=False)
    if dt is not None:
        return _range_impl(dt, "irange", _keys_type(dt))


@_method("irange_items")
def _irange_items(d, minimum=None, maximum=None, inclusive=(True, True), reverse=False):
    dt = _check(d, scalar=False)
    if dt is not None:
        return _range_impl(dt, "irange_items", types.Tuple((_keys_type(dt), dt.values_array)))


@_method("discard_irange")
def _discard_irange(d, minimum=None, maximum=None, inclusive=(True, True)):
    dt = _check(d, scalar=False)
    if dt is None:
        return None

    out_type = types.UniTuple(types.int64, 2)

    def impl(d, minimum=None, maximum=None, inclusive=(True, True)):
        with numba.objmode(out=out_type):
            out = d.discard_irange(minimum, maximum, inclusive)
        return out

    return impl


# ------------------------------------------------------------ constructor


def _constructor(keys=None, values=None, dtype=None, value_dtype=None, chunk_size=None):
    """``SortedDict(keys, values, dtype=None, value_dtype=None, chunk_size=None)`` in compiled code,
    from two 1-D arrays (or nothing), built by Python."""
    for name, a in (("keys", keys), ("values", values)):
        if not (_absent(a) or isinstance(a, types.Array)):
            raise TypingError(f"SortedDict() takes arrays of keys and values in compiled code, not {name}={a}")
    if _absent(keys) != _absent(values):
        raise TypingError("SortedDict() in compiled code takes both keys and values, or neither")
    kd = _dtype_argument(dtype)
    vd = _dtype_argument(value_dtype)
    if kd is None:
        kd = np.dtype(np.int64) if _absent(keys) else as_dtype(keys.dtype)
    if vd is None:
        vd = np.dtype(np.float64) if _absent(values) else as_dtype(values.dtype)
    dt = _check(dict_type(resolve_dtype(kd), vd), scalar=False)
    kname, vname = spelled(dt.dtype), spelled(dt.value_dtype)  # strs cross into object mode as they are
    _SPELLED[kname], _SPELLED[vname] = dt.dtype, dt.value_dtype

    def impl(keys=None, values=None, dtype=None, value_dtype=None, chunk_size=None):
        with numba.objmode(d=dt):
            d = _new(keys, values, kname, vname, chunk_size)
        return d

    return impl


_SPELLED: dict = {}  # spelled(dtype) -> dtype, for the constructor's trip into object mode


def _new(keys, values, dtype: str, value_dtype: str, chunk_size):
    """What the compiled constructor runs in object mode."""
    return _SortedDict(keys, values, dtype=_SPELLED[dtype], value_dtype=_SPELLED[value_dtype], chunk_size=chunk_size)
