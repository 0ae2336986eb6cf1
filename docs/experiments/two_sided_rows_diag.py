"""Diagnostics: where does loop time go? search-only floor, warm vs cold, memmove direction."""
import sys, time
import numpy as np
from numba import njit
import two_sided_rows as op

@njit
def loop_A_search(rows, counts, fences, tree, nch, b, out):
    # same as loop A but no memmove / key write (fenwick add + prefix kept)
    for i in range(b.size):
        x = b[i]
        p = op.find_chunk(fences, 0, nch, x)
        o = op.row_search(rows, p, 0, counts[p], x)
        op.fen_add(tree, nch, p, 1)
        out[i] = op.fen_prefix(tree, p) + o

@njit
def loop_A_nofen(rows, counts, fences, tree, nch, b, out):
    # loop A without Fenwick (search + memmove only)
    C = rows.shape[1]
    for i in range(b.size):
        x = b[i]
        p = op.find_chunk(fences, 0, nch, x)
        c = counts[p]
        o = op.row_search(rows, p, 0, c, x)
        base = p * C
        if c > o:
            op.memmove_flat(rows, base + o + 1, base + o, c - o)
        rows[p, o] = x
        counts[p] = c + 1
        out[i] = o

@njit
def mm_bench(a, reps, nel, left):
    for r in range(reps):
        if left:
            op.memmove_flat(a, 63, 64, nel)
        else:
            op.memmove_flat(a, 65, 64, nel)

def main(n, rounds=3):
    rng = np.random.default_rng(7)
    keys = op.rand_keys(rng, n)
    A = op.build(keys, 512, False); B = op.build(keys, 512, True)
    SA, SB = op.copy_layout(A), op.copy_layout(B)
    scratch = np.ones(8 * 1024 * 1024, np.int64)
    fns = {'loopA': None, 'loopB': None, 'A_search_only': loop_A_search, 'A_no_fenwick': loop_A_nofen}
    res = {k: [] for k in fns}
    for rd in range(rounds + 1):
        b = op.fresh_batch(rng, keys, A['fences'], 100_000, 128)
        out = np.empty(b.size, np.int64)
        for k, f in fns.items():
            L, S = (B, SB) if k == 'loopB' else (A, SA)
            op.restore(L, S); scratch.sum()
            t = time.perf_counter()
            if f is None:
                op.run(k, L, b, out)
            else:
                f(L['rows'], L['counts'], L['fences'], L['tree'], L['nch'], b, out)
            dt = (time.perf_counter() - t) / b.size * 1e9
            if rd > 0:  # round 0 = warm-up/compile
                res[k].append(dt)
    print(f"n={n}: " + "  ".join(f"{k}={np.median(v):.0f} [{min(v):.0f},{max(v):.0f}]" for k, v in res.items()), flush=True)

if __name__ == '__main__':
    a = np.zeros((1, 512), np.int64)
    for nel in (96, 192, 384):
        for left in (True, False):
            mm_bench(a, 10, nel, left)
            t = time.perf_counter(); mm_bench(a, 2_000_000, nel, left); dt = time.perf_counter() - t
            print(f"memmove {nel*8}B {'left' if left else 'right'} by 8: {dt/2e6*1e9:.1f} ns (L1-hot)")
    for n in [int(float(v)) for v in (sys.argv[1:] or ["1e6", "1e7"])]:
        main(n)
