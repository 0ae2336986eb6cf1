"""Standalone prototype: anchored rows (A, jitset's layout) against rows with
room at both ends (B: a key shifts the shorter side), in a chunked sorted
set; a loop of scalar inserts against one batch merge insert.

Not part of the package and not run by CI: it is the measurement behind
the README's "Nor of moving fewer bytes" (issue 12, stop 13). It imports
only numba and NumPy and writes nothing outside the process.

Measured here (2-core VM, 100,000-key batches, 5 rounds, medians, ns/key):

============  =====  =============  =============
               10^7  10^8 (run 1)   10^8 (run 2)
============  =====  =============  =============
loop A          389   732            609
batch A+pf      279   593            549
loop B          473   773            669
batch B+pf      280   571            499
============  =====  =============  =============

Usage::

  python two_sided_rows.py verify            # all methods against NumPy
  python two_sided_rows.py bench N [ROUNDS]  # e.g. bench 1e7
  python two_sided_rows.py benchpf N         # also whole-row prefetching
  python two_sided_rows_diag.py 1e7 1e8      # where the loop's time goes
"""
import sys
import time
import numpy as np
from numba import njit, types
from numba.extending import intrinsic
from numba.core import cgutils
from llvmlite import ir

# ---------------------------------------------------------------- intrinsics


@intrinsic
def memmove_flat(typingctx, arr, dst, src, n):
    """memmove n int64 elements within a C-contiguous array, flat indices."""
    sig = types.void(arr, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        data = a.data
        pdst = builder.gep(data, [args[1]])
        psrc = builder.gep(data, [args[2]])
        cgutils.raw_memmove(builder, pdst, psrc, args[3], 8, 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def prefetch_flat(typingctx, arr, idx):
    """llvm.prefetch(ptr, rw=1 (write), locality=3, cache=1 (data))."""
    sig = types.void(arr, types.intp)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        p = builder.gep(a.data, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch")
        builder.call(fn, [builder.bitcast(p, i8p), ir.Constant(i32, 1),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------- helpers


@njit(inline='always')
def find_chunk(fences, lo, nch, x):
    """first p in [lo, nch) with fences[p] >= x; nch-1 if none."""
    hi = nch - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if fences[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(inline='always')
def row_search(rows, p, lo, hi, x):
    """first i in [lo, hi) with rows[p, i] >= x (hi if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if rows[p, mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(inline='always')
def fen_prefix(tree, p):
    s = 0
    i = p
    while i > 0:
        s += tree[i]
        i -= i & -i
    return s


@njit(inline='always')
def fen_add(tree, nch, p, d):
    i = p + 1
    while i <= nch:
        tree[i] += d
        i += i & -i


@njit
def fen_build(tree, counts, nch):
    for i in range(nch + 1):
        tree[i] = 0
    for i in range(1, nch + 1):
        tree[i] += counts[i - 1]
        parent = i + (i & -i)
        if parent <= nch:
            tree[parent] += tree[i]


# ---------------------------------------------------------------- layout A


@njit(inline='always')
def insert_A(rows, counts, fences, tree, nch, x):
    C = rows.shape[1]
    p = find_chunk(fences, 0, nch, x)
    c = counts[p]
    o = row_search(rows, p, 0, c, x)
    assert c < C
    base = p * C
    if c > o:
        memmove_flat(rows, base + o + 1, base + o, c - o)
    rows[p, o] = x
    counts[p] = c + 1
    if o == c:
        fences[p] = x
    fen_add(tree, nch, p, 1)
    return fen_prefix(tree, p) + o


@njit
def loop_A(rows, counts, fences, tree, nch, b, out):
    for i in range(b.size):
        out[i] = insert_A(rows, counts, fences, tree, nch, b[i])


@njit
def batch_A(rows, counts, fences, tree, nch, b, out, pfd):
    C = rows.shape[1]
    m = b.size
    j = 0
    p = 0
    prefix = 0          # sum of (current) counts[0:p]
    pf_next = 0         # next batch index to prefetch
    q = 0               # prefetch chunk cursor
    while j < m:
        x = b[j]
        np_ = find_chunk(fences, p, nch, x)
        for i in range(p, np_):
            prefix += counts[i]
        p = np_
        # run [j, k) of batch keys landing in chunk p
        k = j + 1
        if p == nch - 1:
            k = m
        else:
            f = fences[p]
            while k < m and b[k] <= f:
                k += 1
        # software prefetch of rows for keys up to pfd ahead
        if pfd != 0:
            lim = min(k + abs(pfd), m)
            while pf_next < lim:
                y = b[pf_next]
                q = find_chunk(fences, q, nch, y)
                cq = counts[q]
                lk = fences[q - 1] if q > 0 else 0
                hk = fences[q]
                if hk > lk and y < hk:
                    oe = np.int64((cq * 1.0) * ((y - lk) * 1.0) / ((hk - lk) * 1.0))
                else:
                    oe = cq
                oe = max(oe - 8, 0)
                if pfd < 0:      # variant: whole occupied row
                    oe = 0
                base = q * C
                e = min(cq + 8, C - 1)
                for t in range(oe, e + 1, 8):
                    prefetch_flat(rows, base + t)
                pf_next += 1
        # merge run in place from the back
        c = counts[p]
        r = k - j
        assert c + r <= C
        base = p * C
        hi = c
        for t in range(r - 1, -1, -1):
            xx = b[j + t]
            o = row_search(rows, p, 0, hi, xx)
            if hi > o:
                memmove_flat(rows, base + o + t + 1, base + o, hi - o)
            rows[p, o + t] = xx
            out[j + t] = prefix + o + t
            hi = o
        counts[p] = c + r
        if b[k - 1] > fences[p]:
            fences[p] = b[k - 1]
        j = k
    fen_build(tree, counts, nch)


# ---------------------------------------------------------------- layout B


@njit(inline='always')
def insert_B(rows, counts, starts, fences, tree, nch, x):
    C = rows.shape[1]
    p = find_chunk(fences, 0, nch, x)
    c = counts[p]
    s = starts[p]
    o = row_search(rows, p, s, s + c, x) - s
    base = p * C + s
    if 2 * o < c and s > 0:
        if o > 0:
            memmove_flat(rows, base - 1, base, o)
        rows[p, s - 1 + o] = x
        starts[p] = s - 1
    elif s + c < C:
        if c > o:
            memmove_flat(rows, base + o + 1, base + o, c - o)
        rows[p, s + o] = x
    else:
        assert s > 0
        if o > 0:
            memmove_flat(rows, base - 1, base, o)
        rows[p, s - 1 + o] = x
        starts[p] = s - 1
    counts[p] = c + 1
    if o == c:
        fences[p] = x
    fen_add(tree, nch, p, 1)
    return fen_prefix(tree, p) + o


@njit
def loop_B(rows, counts, starts, fences, tree, nch, b, out):
    for i in range(b.size):
        out[i] = insert_B(rows, counts, starts, fences, tree, nch, b[i])


@njit
def batch_B(rows, counts, starts, fences, tree, nch, b, out, pfd):
    """Per chunk run: split the run at the chunk's middle key. Keys landing in
    the lower half are merged front-to-back with the head block moving left
    (start -= h); keys landing in the upper half are merged back-to-front with
    the tail moving right. Split is clamped to the available head/tail room."""
    C = rows.shape[1]
    m = b.size
    j = 0
    p = 0
    prefix = 0
    pf_next = 0
    q = 0
    while j < m:
        x = b[j]
        np_ = find_chunk(fences, p, nch, x)
        for i in range(p, np_):
            prefix += counts[i]
        p = np_
        k = j + 1
        if p == nch - 1:
            k = m
        else:
            f = fences[p]
            while k < m and b[k] <= f:
                k += 1
        if pfd != 0:
            lim = min(k + abs(pfd), m)
            while pf_next < lim:
                y = b[pf_next]
                q = find_chunk(fences, q, nch, y)
                cq = counts[q]
                sq = starts[q]
                lk = fences[q - 1] if q > 0 else 0
                hk = fences[q]
                if hk > lk and y < hk:
                    oe = np.int64((cq * 1.0) * ((y - lk) * 1.0) / ((hk - lk) * 1.0))
                else:
                    oe = cq
                base = q * C + sq
                if 2 * oe < cq and sq > 0:   # head moves: lines [start-1, start+oe]
                    a0 = -1
                    a1 = min(oe + 8, cq)
                else:                          # tail moves: lines [oe, c]
                    a0 = max(oe - 8, 0)
                    a1 = min(cq + 8, C - 1 - sq)
                if pfd < 0:      # variant: whole occupied row incl. both gap edges
                    a0 = -1 if sq > 0 else 0
                    a1 = min(cq + 8, C - 1 - sq)
                for t in range(a0, a1 + 1, 8):
                    prefetch_flat(rows, base + t)
                pf_next += 1
        c = counts[p]
        s = starts[p]
        r = k - j
        assert c + r <= C and c > 0
        base = p * C + s
        # split: lower group = run keys < key[(c+1)//2 - 1]  (landing o < c/2)
        mid_key = rows[p, s + (c + 1) // 2 - 1]
        h = 0
        while h < r and b[j + h] < mid_key:
            h += 1
        if h > s:
            h = s
        troom = C - s - c
        if r - h > troom:
            h = r - troom
            assert h <= s
        u = r - h
        # upper group: back-to-front, tail moves right (keys not yet moved: [0, hi))
        hi = c
        for t in range(u - 1, -1, -1):
            xx = b[j + h + t]
            o = row_search(rows, p, s, s + hi, xx) - s
            if hi > o:
                memmove_flat(rows, base + o + t + 1, base + o, hi - o)
            rows[p, s + o + t] = xx
            out[j + h + t] = prefix + o + h + t
            hi = o
        # lower group: front-to-back, head moves left (unmoved keys: [lo, hi))
        lo = 0
        for t in range(h):
            xx = b[j + t]
            o = row_search(rows, p, s + lo, s + hi, xx) - s
            sh = h - t
            if o > lo:
                memmove_flat(rows, base + lo - sh, base + lo, o - lo)
            rows[p, s + o - sh] = xx
            out[j + t] = prefix + o + t
            lo = o
        starts[p] = s - h
        counts[p] = c + r
        if b[k - 1] > fences[p]:
            fences[p] = b[k - 1]
        j = k
    fen_build(tree, counts, nch)


# ---------------------------------------------------------------- build / check


@njit
def _fill(rows, counts, starts, fences, keys, fill, start0):
    n = keys.size
    nch = rows.shape[0]
    for p in range(nch):
        a = p * fill
        e = min(a + fill, n)
        c = e - a
        for i in range(c):
            rows[p, start0 + i] = keys[a + i]
        counts[p] = c
        starts[p] = start0
        fences[p] = keys[e - 1]


def build(keys, C, centered):
    fill = (3 * C) // 4
    n = keys.size
    nch = -(-n // fill)
    rows = np.zeros((nch, C), dtype=np.int64)
    counts = np.zeros(nch, dtype=np.int64)
    starts = np.zeros(nch, dtype=np.int64)
    fences = np.zeros(nch, dtype=np.int64)
    start0 = (C - fill) // 2 if centered else 0
    _fill(rows, counts, starts, fences, keys, fill, start0)
    tree = np.zeros(nch + 1, dtype=np.int64)
    fen_build(tree, counts, nch)
    return dict(rows=rows, counts=counts, starts=starts, fences=fences, tree=tree, nch=nch)


def flatten(L, centered):
    rows, counts, starts = L['rows'], L['counts'], L['starts']
    parts = []
    for p in range(L['nch']):
        s = starts[p] if centered else 0
        parts.append(rows[p, s:s + counts[p]])
    return np.concatenate(parts)


def sunique(a):
    """sorted unique via sort (np.unique is pathologically slow in numpy 2.4 here)."""
    a = np.sort(a)
    if a.size == 0:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def rand_keys(rng, n):
    k = sunique(rng.integers(0, 2**62, size=n, dtype=np.int64))
    while k.size < n:
        k = sunique(np.concatenate([k, rng.integers(0, 2**62, size=n - k.size, dtype=np.int64)]))
    return k


def fresh_batch(rng, keys, fences, m, cap, extra=()):
    b = sunique(np.concatenate([rng.integers(0, 2**62, size=m, dtype=np.int64),
                                  np.array(extra, dtype=np.int64)]))
    i = np.searchsorted(keys, b)
    present = (i < keys.size) & (keys[np.minimum(i, keys.size - 1)] == b)
    b = b[~present]
    # enforce per-chunk cap (never binds at C=512 with these sizes)
    ch = np.minimum(np.searchsorted(fences, b), fences.size - 1)
    first = np.flatnonzero(np.concatenate([[True], ch[1:] != ch[:-1]]))
    rank = np.arange(b.size) - np.repeat(first, np.diff(np.append(first, b.size)))
    return np.ascontiguousarray(b[rank < cap])


def copy_layout(L):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in L.items()}


def restore(L, S):
    for k in ('rows', 'counts', 'starts', 'fences', 'tree'):
        np.copyto(L[k], S[k])


def run(method, L, b, out, pfd=0):
    r, c, s, f, t, nch = L['rows'], L['counts'], L['starts'], L['fences'], L['tree'], L['nch']
    if method == 'loopA':
        loop_A(r, c, f, t, nch, b, out)
    elif method == 'batchA':
        batch_A(r, c, f, t, nch, b, out, pfd)
    elif method == 'loopB':
        loop_B(r, c, s, f, t, nch, b, out)
    elif method == 'batchB':
        batch_B(r, c, s, f, t, nch, b, out, pfd)


METHODS = [('loopA', 0), ('batchA', 0), ('batchA', 16), ('loopB', 0), ('batchB', 0), ('batchB', 16)]
METHODS_FULLPF = [('loopA', 0), ('batchA', 16), ('batchA', -16), ('batchB', 16), ('batchB', -16)]


def verify():
    global METHODS
    METHODS = METHODS + [('batchA', -16), ('batchB', -16)]
    rng = np.random.default_rng(1)
    cases = [(100_000, 512, 20_000), (100_000, 512, 1000), (2000, 16, 300),
             (5000, 16, 2000), (300, 16, 500), (1_000_000, 512, 100_000)]
    for n, C, m in cases:
        for rep in range(3):
            keys = rand_keys(rng, n)
            A = build(keys, C, False)
            B = build(keys, C, True)
            cap = C - (3 * C) // 4
            b = fresh_batch(rng, keys, A['fences'], m, cap, extra=(0, 1, 2**62 + 5, 2**62 + 7))
            ref = np.union1d(keys, b)
            refidx = np.searchsorted(ref, b)
            for meth, pfd in METHODS:
                L = copy_layout(B if meth.endswith('B') else A)
                out = np.full(b.size, -1, dtype=np.int64)
                run(meth, L, b, out, pfd)
                fl = flatten(L, meth.endswith('B'))
                ok = np.array_equal(fl, ref) and np.array_equal(out, refidx)
                tr = np.zeros_like(L['tree'])
                fen_build(tr, L['counts'], L['nch'])
                ok &= np.array_equal(tr, L['tree'])
                fe = np.array([fl[i - 1] for i in np.cumsum(L['counts'])])
                ok &= np.array_equal(fe, L['fences'])
                if meth.endswith('B'):
                    ok &= bool(np.all(L['starts'] >= 0) and np.all(L['starts'] + L['counts'] <= C))
                print(f"n={n} C={C} m={b.size} {meth}{('+pf' if pfd > 0 else '+pffull') if pfd else ''}: {'OK' if ok else 'FAIL'}")
                if not ok:
                    raise SystemExit("verification failed")
    print("all verification OK")


def flush(scratch):
    return scratch.sum()


def bench(n, rounds=5, m=100_000, C=512, methods=None):
    global METHODS
    if methods is not None:
        METHODS = methods
    rng = np.random.default_rng(12345 + n)
    t0 = time.perf_counter()
    keys = rand_keys(rng, n)
    A = build(keys, C, False)
    B = build(keys, C, True)
    SA = copy_layout(A)
    SB = copy_layout(B)
    scratch = np.ones(64 * 1024 * 1024 // 8, dtype=np.int64)
    print(f"n={n} nch={A['nch']} rows={A['rows'].nbytes/2**30:.2f} GiB each; setup {time.perf_counter()-t0:.1f}s", flush=True)
    # warm-up compile on a small copy
    wk = rand_keys(rng, 10_000)
    wa, wb = build(wk, C, False), build(wk, C, True)
    wbt = fresh_batch(rng, wk, wa['fences'], 1000, 128)
    for meth, pfd in METHODS:
        run(meth, copy_layout(wb if meth.endswith('B') else wa), wbt, np.empty(wbt.size, np.int64), pfd)
    res = {f"{mm}{('+pf' if pf > 0 else '+pffull') if pf else ''}": [] for mm, pf in METHODS}
    for rd in range(rounds):
        b = fresh_batch(rng, keys, A['fences'], m, 128)
        out = np.empty(b.size, dtype=np.int64)
        for meth, pfd in METHODS:
            L, S = (B, SB) if meth.endswith('B') else (A, SA)
            restore(L, S)
            flush(scratch)
            t = time.perf_counter()
            run(meth, L, b, out, pfd)
            dt = time.perf_counter() - t
            name = f"{meth}{('+pf' if pfd > 0 else '+pffull') if pfd else ''}"
            res[name].append(dt / b.size * 1e9)
        print(f" round {rd}: " + "  ".join(f"{k}={v[-1]:.0f}" for k, v in res.items()), flush=True)
    restore(A, SA)
    restore(B, SB)
    print(f"\nn={n}: ns/key over {rounds} rounds, batch m={b.size}")
    med = {}
    for k, v in res.items():
        v = np.array(v)
        med[k] = np.median(v)
        print(f"  {k:10s} median {med[k]:8.1f}  range [{v.min():.1f}, {v.max():.1f}]")
    la, lb = med['loopA'], med.get('loopB', np.nan)
    for k in med:
        if k.startswith('batchA'):
            print(f"  {k}/loopA = {med[k]/la:.3f}")
        if k.startswith('batchB'):
            print(f"  {k}/loopB = {med[k]/lb:.3f}   {k}/loopA = {med[k]/la:.3f}")
    print(f"  loopB/loopA = {lb/la:.3f}")


if __name__ == '__main__':
    if sys.argv[1] == 'verify':
        verify()
    elif sys.argv[1] == 'benchpf':   # extra: kernel-style vs whole-row prefetch
        bench(int(float(sys.argv[2])), int(sys.argv[3]) if len(sys.argv) > 3 else 5, methods=METHODS_FULLPF)
    else:
        bench(int(float(sys.argv[2])), int(sys.argv[3]) if len(sys.argv) > 3 else 5)
