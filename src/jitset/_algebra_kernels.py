"""numba kernels for set algebra: one walk over two sets' chunks in key order.

:func:`combine` writes ``a | b``, ``a & b``, ``a - b`` or ``a ^ b`` straight
into the chunk rows of a fresh storage, filled as a bulk build fills them
(:func:`jitset._kernels.fill_sorted`), so the result is a set as soon as the
walk ends: neither side is copied out flat first, and the result is not
copied again into chunks.  :func:`all_in` answers ``issubset`` and
``isdisjoint`` with the same walk, copying nothing.

Either side may also be a flat ascending array, seen as a storage of one
chunk (:class:`jitset._storage.SortedRun`): an array operand is walked as it
is, not copied into chunks.

Where the keys of the two sides interleave, the walk merges key by key
without branches (below); where one side has a run of keys below the other's
current key (disjoint ranges, a small operand against a large one), it finds
the run's end by a search and copies or skips the run whole.  So ``big &
small`` costs O(m log n) and ``big - small`` the copy of ``big`` plus
O(m log n): no separate strategy is needed for a small operand.
"""

from __future__ import annotations

from jitset._kernels import _emit_run, _finish_fill, _guess, _search, _start_fill, merge_limit
from jitset._batch_kernels import _next_chunk
from jitset._plumbing import H_CHUNK, H_NCHUNKS, H_SIZE, batch_kernel, helper, prefetch_read, state_view

__all__ = ["UNION", "INTERSECTION", "DIFFERENCE", "SYMMETRIC_DIFFERENCE", "combine", "all_in"]

UNION = 0
INTERSECTION = 1
DIFFERENCE = 2  # a - b
SYMMETRIC_DIFFERENCE = 3

#: A side whose key this many places ahead still sorts before the other
#: side's current key has a run: it is found by a search and copied (or
#: skipped) whole instead of merged key by key.
RUN = 8

#: At most this many branch-free merge steps between two looks for a run.
#: The steps form one chain of dependent loads, so a block costs its length
#: however few keys it writes: after a run the next block is ``RUN`` steps,
#: and each block that follows doubles up to ``BLOCK``.  Interleaved keys run
#: in long blocks; a sparse operand (``big & small``) looks for the next run
#: after a few steps instead of stepping through keys it then skips.
BLOCK = 64


@helper
def _prefetch_row(keys, order, p, n):
    """Hint the first lines of the row of chunk ``p`` (if any) into cache: rows
    of a long-lived set lie anywhere in memory, so the hardware cannot guess
    where the next chunk starts."""
    if p < n:
        row = keys[order[p]]
        step = max(1, 64 // keys.itemsize)
        for o in range(0, min(row.shape[0], 4 * step), step):
            prefetch_read(row, o)


@helper
def _emit_rest(h, keys, fences, counts, order, p, skeys, scounts, sorder, q, start, n, per_chunk):
    """Append the keys of a side from chunk ``q``, offset ``start``, to its end (``n`` chunks).

    Keys only: a set operation's result is a set, whatever its operands are.
    """
    while q < n:
        c = scounts[q]
        p = _emit_run(h, keys, fences, counts, order, p, skeys, sorder[q], start, c - start, 0, per_chunk)
        start = 0
        q += 1
    return p


@batch_kernel
def combine(a_address, b_address, op, dest_address, like):
    """Write ``a op b`` (``UNION``, ``INTERSECTION``, ``DIFFERENCE``, ``SYMMETRIC_DIFFERENCE``) into ``dest``.

    ``dest`` is an empty storage with room for the largest result the
    operation can have (``len(a) + len(b)`` keys for a union, ``len(a)``
    for a difference, ...); it ends filled as :func:`fill_sorted` fills one.
    Returns the result's size.

    Each step of the branch-free merge writes a candidate and advances the
    output and each side by the outcome of the comparisons (0 or 1): on
    interleaved keys a branch per comparison is mispredicted half the time
    (a union of two 1M-key arrays measured 4.8 ms against 18.4 ms with
    branches).  A block of steps is bounded so that it never leaves either
    side's chunk or the output's row, so the loop checks nothing per step.
    """
    ha, akeys, afences, acounts, aorder, _ = state_view(a_address, like)
    hb, bkeys, bfences, bcounts, border, _ = state_view(b_address, like)
    h, keys, fences, counts, order, tree = state_view(dest_address, like)
    per_chunk = merge_limit(h[H_CHUNK])
    keep_a = op != INTERSECTION  # keys of a that b lacks
    keep_b = op == UNION or op == SYMMETRIC_DIFFERENCE  # keys of b that a lacks
    na = ha[H_NCHUNKS] if ha[H_SIZE] > 0 else 0
    nb = hb[H_NCHUNKS] if hb[H_SIZE] > 0 else 0
    p = _start_fill(counts, order)
    pa = 0  # chunk position and offset in a, and in b
    ia = 0
    pb = 0
    ib = 0
    blk = RUN  # the next block's length (see BLOCK)
    while pa < na and pb < nb:
        arow = akeys[aorder[pa]]
        brow = bkeys[border[pb]]
        ca = acounts[pa]
        cb = bcounts[pb]
        x = arow[ia]
        y = brow[ib]
        # ---- a run of one side below the other's current key: copy or skip it whole
        if afences[pa] < y:  # the rest of a's chunk
            if keep_a:
                p = _emit_run(h, keys, fences, counts, order, p, akeys, aorder[pa], ia, ca - ia, 0, per_chunk)
                pa += 1
            else:
                pa = _next_chunk(afences, pa + 1, na, y)
            ia = 0
            _prefetch_row(akeys, aorder, pa + 1, na)
            blk = RUN
            continue
        if bfences[pb] < x:
            if keep_b:
                p = _emit_run(h, keys, fences, counts, order, p, bkeys, border[pb], ib, cb - ib, 0, per_chunk)
                pb += 1
            else:
                pb = _next_chunk(bfences, pb + 1, nb, x)
            ib = 0
            _prefetch_row(bkeys, border, pb + 1, nb)
            blk = RUN
            continue
        # A run within the chunk (its fence is >= y): its end is searched from a
        # guess interpolated over the rest of the chunk, as the scalar search
        # does; a gallop from ia + RUN took ~16 dependent loads per key of a
        # small operand.
        if ia + RUN < ca and arow[ia + RUN] < y:
            e = _search(arow, ca, y, ia + RUN + _guess(ca - ia - RUN, y, arow[ia + RUN], afences[pa]))
            if keep_a:
                p = _emit_run(h, keys, fences, counts, order, p, akeys, aorder[pa], ia, e - ia, 0, per_chunk)
            ia = e
            blk = RUN
            continue
        if ib + RUN < cb and brow[ib + RUN] < x:
            e = _search(brow, cb, x, ib + RUN + _guess(cb - ib - RUN, x, brow[ib + RUN], bfences[pb]))
            if keep_b:
                p = _emit_run(h, keys, fences, counts, order, p, bkeys, border[pb], ib, e - ib, 0, per_chunk)
            ib = e
            blk = RUN
            continue
        # ---- keys interleave: a block of branch-free steps
        if counts[p] == per_chunk:
            p += 1
            order[p] = p  # a fresh storage: rows in position order
            counts[p] = 0
        out = keys[p]
        n0 = counts[p]
        n = n0
        k = min(ca - ia, cb - ib, per_chunk - n0, blk)  # no step can leave a chunk or the row
        blk = min(2 * blk, BLOCK)
        # One loop per operation rather than one loop with flags for which keys
        # are kept: the generic step measured 11.1 against 9.1 ms for a union of
        # two 1M-key sets, and compiled no faster.
        if op == UNION:
            for _ in range(k):
                x = arow[ia]
                y = brow[ib]
                out[n] = y if y < x else x
                n += 1
                ia += not y < x
                ib += not x < y
        elif op == INTERSECTION:
            for _ in range(k):
                x = arow[ia]
                y = brow[ib]
                out[n] = x
                n += not (x < y or y < x)
                ia += not y < x
                ib += not x < y
        elif op == DIFFERENCE:
            for _ in range(k):
                x = arow[ia]
                y = brow[ib]
                out[n] = x
                n += x < y
                ia += not y < x
                ib += not x < y
        else:
            for _ in range(k):
                x = arow[ia]
                y = brow[ib]
                out[n] = y if y < x else x
                n += x < y or y < x
                ia += not y < x
                ib += not x < y
        if n > n0:
            counts[p] = n
            fences[p] = out[n - 1]
        if ia == ca:
            pa += 1
            ia = 0
            _prefetch_row(akeys, aorder, pa + 1, na)
        if ib == cb:
            pb += 1
            ib = 0
            _prefetch_row(bkeys, border, pb + 1, nb)
    if keep_a:
        p = _emit_rest(h, keys, fences, counts, order, p, akeys, acounts, aorder, pa, ia, na, per_chunk)
    if keep_b:
        p = _emit_rest(h, keys, fences, counts, order, p, bkeys, bcounts, border, pb, ib, nb, per_chunk)
    if p > 0 and counts[p] == 0:  # a row opened for a block that kept nothing
        p -= 1
    size = 0
    for q in range(p + 1):
        size += counts[q]
    _finish_fill(h, keys, fences, counts, order, tree, p, size)
    return size


@batch_kernel
def all_in(a_address, b_address, like, present):
    """Whether every key of ``a`` is in ``b`` (``present``), or none is (not ``present``).

    One walk over ``a``'s keys in order, galloping through ``b`` (so a small
    ``a`` costs O(len(a) log(len(b)/len(a)))), stopping at the first key
    that decides.  Nothing is copied out.
    """
    ha, akeys, afences, acounts, aorder, _ = state_view(a_address, like)
    hb, bkeys, bfences, bcounts, border, _ = state_view(b_address, like)
    if ha[H_SIZE] == 0:
        return True
    if hb[H_SIZE] == 0:
        return not present
    nb = hb[H_NCHUNKS]
    q = 0  # b's chunk position and offset: every key of b before them is < the current key of a
    t = 0
    for p in range(ha[H_NCHUNKS]):
        row = akeys[aorder[p]]
        for s in range(acounts[p]):
            x = row[s]
            if bfences[q] < x:  # past this chunk of b
                q = _next_chunk(bfences, q + 1, nb, x)
                if q == nb:
                    return not present  # every later key of a is past b too
                t = 0
            brow = bkeys[border[q]]
            t = _search(brow, bcounts[q], x, t)  # the fence is >= x: t stays in the chunk
            if (brow[t] == x) != present:
                return False
    return True
