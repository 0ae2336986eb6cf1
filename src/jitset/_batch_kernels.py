"""numba kernels for batch operations: one native call per batch.

Which kernel a batch runs is chosen in :mod:`jitset._strategy`, from the
keys per chunk it brings and the share of the set it rewrites:

* **local**: the sorted batch is applied key by key to the chunks it falls
  into (``add_sorted``; queries: ``rank_each``).  Inserting in ascending
  order means each key's index at insertion time is already its final
  index.  Cost ~ m * (log n + chunk).
* **merge**: one walk over the chunks in key order (``merge_add``,
  ``merge_discard``; queries: ``rank_sorted``).  It gallops past chunks no
  key lands in, handles each touched chunk once for all its keys, rebuilds
  the Fenwick tree once, and prefetches the rows a few keys ahead so that
  their cache misses overlap.  Cost ~ nchunks (small arrays) + the bytes of
  the chunks touched.
* **rebuild**: one linear merge of the old keys with the batch into a fresh
  storage (``rebuild``).  Cost ~ n + m, sequential, but it allocates a set's
  worth of memory.

A dict's batches bring values too, as the address of ``H_VWIDTH`` bytes per
key in the batch's order (0 for a set: no values, nothing written); the
kernels move values with their keys (:func:`jitset._plumbing.move_items`).
With ``overwrite`` a key already present takes the batch's value (a dict's
upsert), else it keeps its own.

Batches arrive sorted and deduplicated: NumPy's sort is SIMD-accelerated and
measured 6x faster than numba's ``np.sort`` here (1.2 ms vs 6.8 ms for 100k
int64), so the Python layer sorts with NumPy and the kernels merge.
"""

from __future__ import annotations

import numpy as np

from jitset._kernels import (
    NEED_ROOM,
    _add_key,
    _chunk_after,
    _chunk_of,
    _even_out,
    _emit,
    _emit_run,
    _finish_fill,
    _guess,
    _offset_after,
    _offset_of,
    _search,
    _start_fill,
    _tree_add,
    _tree_build,
    _tree_find,
    _tree_prefix,
    compact_rows,
    merge_limit,
    min_fill,
)
from jitset._plumbing import (
    H_CAP,
    H_CHUNK,
    H_NCHUNKS,
    H_SIZE,
    H_VERSION,
    H_VWIDTH,
    batch_kernel,
    copy_values,
    helper,
    memmove_bytes,
    move_items,
    move_values,
    prefetch,
    state_view,
    value_address,
)


#: merge_add and merge_discard rebuild the Fenwick tree once (and
#: merge_discard counts keys as it walks) when len(batch) * DENSE_BATCH >=
#: nchunks; sparser batches update the tree per touched chunk, O(log).
DENSE_BATCH = 8


# ------------------------------------------------------- walking in order

#: A walk looks this many positions ahead before it interpolates.
_NEAR = 8


@helper
def _next_chunk(fences, p, nchunks, x):
    """First position at or after ``p`` whose fence is >= ``x`` (``nchunks`` if none).

    A dense batch's next chunk is the same or the next one: a gallop over
    the next few fences finds it.  A sparse batch's is far ahead, where a
    gallop from ``p`` would pay a cache miss per doubling on a large set
    (this made 1,000-key discards at 10^8 keys 2x slower than key by key):
    past the first few, the search starts from a guess interpolated over
    the remaining fences, as the scalar kernels' does.
    """
    if p == nchunks or not fences[p] < x:  # the same chunk: the common case of a dense walk
        return p
    near = min(nchunks, p + _NEAR)
    if near == nchunks or not fences[near - 1] < x:
        return p + _search(fences[p:near], near - p, x, 0)
    n = nchunks - near
    return near + _search(fences[near:nchunks], n, x, _guess(n, x, fences[near], fences[nchunks - 1]))


# ------------------------------------------------------------ prefetching

#: Batch walks prefetch the row where the key this many keys ahead lands
#: (see :func:`jitset._plumbing.prefetch`).
PREFETCH_AHEAD = 16


@helper
def _prefetch_key(keys, fences, counts, order, p, nchunks, x):
    """Prefetch the part of a row a mutation will stream through: from about
    where ``x`` (in a chunk at or after ``p``, not yet modified) would be
    found to the end of its chunk."""
    pa = _next_chunk(fences, p, nchunks, x)
    if pa < nchunks:
        first = fences[pa - 1] if pa > p else fences[pa]
        c = counts[pa]
        row = order[pa]
        g = _guess(c, x, first, fences[pa])
        step = max(1, 64 // keys.itemsize)  # one prefetch per cache line
        for o in range(max(0, g - step), c, step):
            prefetch(keys, row, o)


@helper
def _prefetch_query(keys, fences, counts, order, p, nchunks, x):
    """Prefetch the cache lines around where a search for ``x`` (at or after chunk ``p``) will look."""
    pa = _next_chunk(fences, p, nchunks, x)
    if pa < nchunks:
        first = fences[pa - 1] if pa > p else fences[pa]
        c = counts[pa]
        g = _guess(c, x, first, fences[pa])
        if c == 0:
            return
        step = max(1, 64 // keys.itemsize)
        prefetch(keys, order[pa], max(0, g - step))
        prefetch(keys, order[pa], g)
        prefetch(keys, order[pa], min(c - 1, g + step))


# ----------------------------------------------------------- insertions


@batch_kernel
def add_sorted(address, batch, values, overwrite, start, out):
    """Insert ``batch[start:]`` (sorted, unique) one by one, ascending (values: see the module).

    Writes the index of every newly inserted key to ``out`` (from ``out[0]``).
    Returns ``(next_start, written)``: ``next_start < len(batch)`` means a
    split needed a row; the caller grows the storage and calls again from there.
    """
    h, keys, fences, counts, order, tree = state_view(address, batch)
    w = h[H_VWIDTH]
    written = 0
    for i in range(start, batch.shape[0]):
        value = values + i * w if values else 0
        index, status = _add_key(h, keys, fences, counts, order, tree, batch[i], value, overwrite)
        if status == NEED_ROOM:
            return i, written
        if status == 1:
            out[written] = index
            written += 1
    return batch.shape[0], written


@helper
def _landing(batch, i, fences, p, last):
    """End of the run of ``batch[i:]`` that lands in chunk ``p`` (keys <= its fence; all for the last)."""
    if p == last:
        return batch.shape[0]
    return _run_end(batch, i, fences[p])


@helper
def _run_end(batch, i, fence):
    """End of the run of ``batch[i:]`` (ascending) at or below ``fence``: gallops, O(log run)."""
    n = batch.shape[0] - i
    if n == 0:
        return i
    j = i + _search(batch[i:], n, fence, 0)
    if j < batch.shape[0] and batch[j] == fence:
        j += 1
    return j


@helper
def _merge_chunk(h, merged, mvalues, n, keys, row, c, batch, values, overwrite, i, j, out, written, emitted):
    """Append chunk ``row`` (``c`` keys) merged with ``batch[i:j]`` to ``merged[n:]``.

    New keys get index ``emitted + position`` in ``out[written:]``; keys
    already present are kept once and not reported.  A dict's values go to
    address ``mvalues`` (``H_VWIDTH`` bytes a key, like ``merged``).
    Returns ``(n, written)``.
    """
    w = h[H_VWIDTH]
    t = 0
    k = i
    while t < c and k < j:
        a = keys[row, t]
        b = batch[k]
        if a < b:
            merged[n] = a
            if w:
                _value_out(w, mvalues, n, value_address(h, row, t))
            t += 1
        elif b < a:
            merged[n] = b
            if w:
                _value_out(w, mvalues, n, values + k * w if values else 0)
            out[written] = emitted + n
            written += 1
            k += 1
        else:
            merged[n] = a
            if w:
                _value_out(w, mvalues, n, values + k * w if overwrite and values else value_address(h, row, t))
            t += 1
            k += 1
        n += 1
    while t < c:
        merged[n] = keys[row, t]
        if w:
            _value_out(w, mvalues, n, value_address(h, row, t))
        n += 1
        t += 1
    while k < j:
        merged[n] = batch[k]
        if w:
            _value_out(w, mvalues, n, values + k * w if values else 0)
        out[written] = emitted + n
        written += 1
        n += 1
        k += 1
    return n, written


@helper
def _value_out(w, dst, n, src):
    """Copy a value (``w`` bytes, at address ``src``) to slot ``n`` of the values at ``dst``; not for a set."""
    if w > 0 and src != 0:
        memmove_bytes(dst + n * w, src, w)


#: _merge_in_row merges by one backward pass comparing every key (not a
#: search and a memmove per batch key) when len(run) * LINEAR_MERGE >= keys
#: in the chunk: a search and a memmove call cost ~30 ns, a compared move
#: ~1 ns (dense batches: 100,000 keys on 10^6, ~37 per chunk, were 15-20%
#: slower by blocks).
LINEAR_MERGE = 32


@helper
def _merge_in_row_linear(h, keys, row, c, batch, values, overwrite, i, j, out, written, emitted, scratch):
    """:func:`_merge_in_row` for many keys per chunk: one backward pass, a compare per key moved."""
    vw = h[H_VWIDTH]
    w = c + (j - i) - 1  # next slot to write, from the back
    t = c - 1  # next chunk key to read
    b = j - 1  # next batch key to read
    found = 0
    while b >= i:
        x = batch[b]
        # ``if vw`` on a local, not inside the helpers (which read the header):
        # a set's loop then loads nothing more per key moved.
        while t >= 0 and x < keys[row, t]:  # chunk keys above x move up
            keys[row, w] = keys[row, t]
            if vw:
                move_values(h, row, w, row, t, 1)
            w -= 1
            t -= 1
        if t >= 0 and not keys[row, t] < x:  # present already: keep one, report nothing
            keys[row, w] = keys[row, t]
            if vw:
                if overwrite:
                    copy_values(h, row, w, values + b * vw if values else 0, 1)
                else:
                    move_values(h, row, w, row, t, 1)
            t -= 1
        else:
            keys[row, w] = x
            if vw:
                copy_values(h, row, w, values + b * vw if values else 0, 1)
            scratch[found] = w
            found += 1
        w -= 1
        b -= 1
    gap = w - t  # keys that were present: empty slots between the untouched front and the merged back
    n = c + (j - i) - gap
    if gap > 0:
        move_items(h, keys, row, t + 1, row, t + 1 + gap, n - (t + 1))
    for f in range(found):  # positions were found descending; report them ascending
        out[written + f] = emitted + scratch[found - 1 - f] - gap
    return n, written + found


@helper
def _merge_in_row(h, keys, row, c, first, fence, batch, values, overwrite, i, j, out, written, emitted, scratch):
    """Merge ``batch[i:j]`` into chunk ``row`` (``c`` keys, room for ``c + j - i``) in place.

    Works from the back, so no key is moved twice and nothing is copied
    through a buffer: half the memory traffic of merging into ``merged`` and
    copying back.  Writes never overtake reads (the write slot stays at or
    right of the next unread key).  Keys already present leave a gap at the
    front, closed by one shift at the end.  Returns ``(n, written)`` like
    :func:`_merge_chunk`; ``scratch`` holds at least ``j - i`` ints.  Each
    search starts from a guess interpolated between ``first`` and the
    chunk's largest key not yet placed: on a large set each probe of a row
    can be a cache miss, and a gallop from the previous key's place
    measured ~15-25% slower at 10^7 keys.
    """
    if (j - i) * LINEAR_MERGE >= c:
        return _merge_in_row_linear(h, keys, row, c, batch, values, overwrite, i, j, out, written, emitted, scratch)
    vw = h[H_VWIDTH]
    w = c + (j - i) - 1  # next slot to write, from the back
    t = c - 1  # last chunk key not yet placed
    found = 0
    pos = _guess(c, batch[j - 1], first, fence)
    for b in range(j - 1, i - 1, -1):
        x = batch[b]
        if b < j - 1 and t >= 0:  # interpolate again, up to the last unplaced key (in cache)
            pos = _guess(t + 1, x, first, keys[row, t])
        # the chunk keys >= x, from offset lo to t, move up as one block
        lo = _search(keys[row, : t + 1], t + 1, x, min(pos, t)) if t >= 0 else 0
        pos = lo
        n = t - lo + 1
        if n > 0:
            move_items(h, keys, row, w - n + 1, row, lo, n)
            w -= n
            t = lo - 1
            if not x < keys[row, w + 1]:  # the block starts with x: present already, report nothing
                if overwrite:
                    copy_values(h, row, w + 1, values + b * vw if values else 0, 1)
                continue
        keys[row, w] = x
        copy_values(h, row, w, values + b * vw if values else 0, 1)
        scratch[found] = w
        found += 1
        w -= 1
    gap = w - t  # keys that were present: empty slots between the untouched front and the merged back
    n = c + (j - i) - gap
    if gap > 0:
        move_items(h, keys, row, t + 1, row, t + 1 + gap, n - (t + 1))
    for f in range(found):  # positions were found descending; report them ascending
        out[written + f] = emitted + scratch[found - 1 - f] - gap
    return n, written + found


@helper
def _copy_positions(order, counts, fences, p, stop, to_order, to_counts, to_fences, q):
    """Copy the entries of positions ``p .. stop-1`` to positions ``q ..`` of the ``to_`` arrays
    (the same arrays or others; forward, so moving entries down in place is safe)."""
    # Loops, not slice assignments: a slice assignment compiles numba's
    # shape-mismatch error message (int and str formatting), 4 s cold.
    for t in range(stop - p):
        to_order[q + t] = order[p + t]
        to_counts[q + t] = counts[p + t]
        to_fences[q + t] = fences[p + t]


@batch_kernel
def merge_add(address, batch, values, overwrite, out):
    """Merge the sorted, unique ``batch`` into the chunks it lands in, in place.

    Each touched chunk is merged with its share of the batch in one pass,
    from the back, moving blocks of keys (``memmove``).  A chunk that would
    overflow is merged together with the next one and the two are laid out
    evenly over as few rows as hold them (rows stay full: memory).
    Untouched chunks are not read: the walk gallops over their fences, and
    the rows a few keys ahead are prefetched.  While no chunk overflows the
    per-position arrays are updated where they are (the Fenwick tree per
    touched chunk, or rebuilt once for a dense batch); from the first
    overflow on, positions are rewritten into new per-position arrays and
    installed at the end.  Nothing of the set's size is allocated: fresh
    memory costs about as much as the merge itself here (first-touch page
    faults).

    Writes the indices (after the call) of the new keys to ``out`` and
    returns ``(consumed, written, rows_short)``.  When a split needs more
    rows than are free, the chunks done so far are kept, the call stops
    before that chunk and says how many rows it lacks; ``batch[consumed:]``
    is what is left (already-reported indices stay right: the keys left are
    all larger).  Growing by what is needed, not by a worst case, keeps
    spare rows (memory) low.
    """
    h, keys, fences, counts, order, tree = state_view(address, batch)
    chunk = h[H_CHUNK]
    nchunks = h[H_NCHUNKS]
    cap = h[H_CAP]
    last = nchunks - 1
    m = batch.shape[0]
    dense = m * DENSE_BATCH >= nchunks  # the tree is rebuilt once rather than updated per chunk
    # Positions from ``base`` on are rewritten into these (allocated at the
    # first overflow; base < 0 until then).  A chunk that would overflow is
    # laid out together with the next chunk, evenly over as few rows as hold
    # them (usually the same two): splitting one chunk in two would leave
    # two half-empty rows, this leaves two full ones, and memory follows the
    # number of rows.
    base = -1
    new_order = np.empty(0, dtype=np.int64)
    new_counts = np.empty(0, dtype=np.int64)
    new_fences = np.empty(0, dtype=fences.dtype)
    merged = np.empty(0, dtype=batch.dtype)
    vw = h[H_VWIDTH]
    mvalues = np.empty(0, dtype=np.uint8)  # merged's values (a dict's)
    scratch = np.empty(chunk, dtype=np.int64)
    q = 0  # positions written to the new arrays
    free_row = nchunks
    emitted = 0  # keys of the new set before the chunk at hand
    written = 0
    i = 0
    p = 0
    short = 0
    while p < nchunks:
        # untouched chunks up to the one batch[i] lands in: same rows, same content
        nxt = nchunks if i == m else min(last, _next_chunk(fences, p, nchunks, batch[i]))
        if nxt > p:
            r = nxt - p
            if base >= 0:
                _copy_positions(order, counts, fences, p, nxt, new_order, new_counts, new_fences, q)
                q += r
            for t in range(p, nxt):
                emitted += counts[t]
            p = nxt
            if p == nchunks:
                break
        row = order[p]
        c = counts[p]
        j = _landing(batch, i, fences, p, last)
        if j + PREFETCH_AHEAD < m:
            _prefetch_key(keys, fences, counts, order, p, nchunks, batch[j + PREFETCH_AHEAD])
        upper = c + (j - i)  # keys after the merge, if none of the batch was present
        pair = upper > chunk and p < last
        j2 = j
        if pair:
            j2 = _landing(batch, j, fences, p + 1, last)
            upper += counts[p + 1] + (j2 - j)
        own = 2 if pair else 1
        short = free_row + max(0, (upper + chunk - 1) // chunk - own) - cap
        if short > 0:  # keep what is done, leave this chunk and the rest as they are
            if base >= 0:
                _copy_positions(order, counts, fences, p, nchunks, new_order, new_counts, new_fences, q)
                q += nchunks - p
            break
        if not pair and upper <= chunk:  # fits in its own row: merge there
            first = fences[p - 1] if p > 0 else keys[row, 0]
            n, written = _merge_in_row(
                h, keys, row, c, first, fences[p], batch, values, overwrite, i, j, out, written, emitted, scratch
            )
            i = j
            if base < 0:  # the position stays where it is
                counts[p] = n
                fences[p] = keys[row, n - 1]
                if not dense:
                    _tree_add(tree, nchunks, p, n - c)
            else:
                new_order[q] = row
                new_counts[q] = n
                new_fences[q] = keys[row, n - 1]
                q += 1
            emitted += n
            p += 1
            continue
        if base < 0:  # the first overflow: positions from here on are rewritten
            base = p
            new_order = np.empty(cap - p, dtype=np.int64)
            new_counts = np.empty(cap - p, dtype=np.int64)
            new_fences = np.empty(cap - p, dtype=fences.dtype)
            merged = np.empty(2 * chunk + m, dtype=batch.dtype)
            mvalues = np.empty((2 * chunk + m) * vw, dtype=np.uint8)
        maddr = mvalues.ctypes.data
        n, written = _merge_chunk(h, merged, maddr, 0, keys, row, c, batch, values, overwrite, i, j, out, written,
                                  emitted)
        if pair:
            n, written = _merge_chunk(h, merged, maddr, n, keys, order[p + 1], counts[p + 1], batch, values, overwrite,
                                      j, j2, out, written, emitted)
        i = j2
        # lay the run out evenly: over its own row(s), then free rows if needed
        pieces = max(own, (n + chunk - 1) // chunk)
        size_base = n // pieces
        spare = n - size_base * pieces
        start = 0
        for r in range(pieces):
            size = size_base + (1 if r < spare else 0)
            if r == 0:
                dst = row
            elif r == 1 and pair:
                dst = order[p + 1]
            else:
                dst = free_row
                free_row += 1
            for t in range(size):
                keys[dst, t] = merged[start + t]
            copy_values(h, dst, 0, maddr + start * vw, size)
            new_order[q] = dst
            new_counts[q] = size
            new_fences[q] = merged[start + size - 1]
            q += 1
            start += size
        emitted += n
        p += own
    if base >= 0:
        _copy_positions(new_order, new_counts, new_fences, 0, q, order, counts, fences, base)
        h[H_NCHUNKS] = base + q
    if base >= 0 or dense:
        _tree_build(tree, counts, h[H_NCHUNKS])
    h[H_SIZE] += written
    h[H_VERSION] += 1
    if short > 0:
        return i, written, short
    return m, written, 0


@helper
def _mend_last(h, keys, fences, counts, order, q, low, limit, freed, nfreed):
    """Keep every position below ``q - 1`` at or above ``low`` keys: fix the last two.

    When either of positions ``q - 2`` and ``q - 1`` holds fewer than ``low``
    keys, they are merged (when the result fits under ``limit``) or evened
    out.  Returns ``(q, nfreed)``: a merge frees the right one's row.
    """
    if q < 2 or (counts[q - 1] >= low and counts[q - 2] >= low):
        return q, nfreed
    left = q - 2
    nl = counts[left]
    nr = counts[left + 1]
    if nl + nr <= limit:
        move_items(h, keys, order[left], nl, order[left + 1], 0, nr)
        rrow = order[left + 1]
        counts[left] = nl + nr
        fences[left] = fences[left + 1]
        freed[nfreed] = rrow
        return q - 1, nfreed + 1
    _even_out(h, keys, fences, counts, order, left)
    return q, nfreed


@helper
def _keep_untouched(h, keys, fences, counts, order, p, stop, q, low, limit, freed, nfreed):
    """merge_discard: keep the untouched positions ``p .. stop-1`` as positions ``q ..``.

    They move down only if chunks went before them.  Only the first can need
    mending, with a chunk left small just before it.  Returns ``(q, nfreed)``.
    """
    if q > 0 and counts[q - 1] < low:
        order[q] = order[p]
        counts[q] = counts[p]
        fences[q] = fences[p]
        q, nfreed = _mend_last(h, keys, fences, counts, order, q + 1, low, limit, freed, nfreed)
        p += 1
    if q < p:
        _copy_positions(order, counts, fences, p, stop, order, counts, fences, q)
    return q + stop - p, nfreed


@helper
def _remove_in_row(h, keys, row, c, first, fence, batch, i, j, out, written, before):
    """Remove the keys of ``batch[i:j]`` present in chunk ``row`` (``c`` keys), in place.

    Each key is searched from a guess interpolated between the key before
    the previous removal's place (``first`` at the start) and ``fence``: a
    probe or two, where a gallop would touch a new cache line per doubling
    on a large set.  The keys between two removals move down as one block
    (``memmove``).  Writes ``before + offset`` of each removed key to
    ``out[written:]``.  Returns ``(keys left, written)``.
    """
    if c == 0:
        return c, written
    lo = 0  # no key of the rest of the batch is below offset lo
    w = -1  # where the block after the last removal goes (-1: nothing removed yet)
    src = 0  # first key not yet moved down
    for k in range(i, j):
        if lo >= c:
            break
        x = batch[k]
        # interpolated from the key before lo (in cache) to the fence
        guess = _guess(c - lo, x, keys[row, lo - 1] if lo > 0 else first, fence)
        o = lo + _search(keys[row, lo:c], c - lo, x, guess)
        if o < c and not x < keys[row, o]:  # keys[row, o] == x
            out[written] = before + o
            written += 1
            if w < 0:
                w = o
            else:
                move_items(h, keys, row, w, row, src, o - src)
                w += o - src
            src = o + 1
            lo = o + 1
        else:
            lo = o
    if w < 0:
        return c, written
    move_items(h, keys, row, w, row, src, c - src)
    return w + c - src, written





@batch_kernel
def merge_discard(address, batch, out):
    """Remove the keys of the sorted, unique ``batch`` that are present, in one pass.

    The chunks are visited in key order, galloping over the positions no
    key lands in (nothing of them is read) and through the batch; each
    touched chunk is compacted in place once, however many of its keys go.
    Until a chunk has to go, the per-position arrays stay where they are
    and the Fenwick tree takes one update per touched chunk.  From the
    first chunk that goes (emptied, or merged into its left neighbour after
    falling under ``min_fill``; a small chunk that cannot merge is evened
    out with it), the positions after it move down as the walk reaches
    them, and the tree is rebuilt once at the end.  Cost: O(log) per key
    plus the bytes of the chunks touched, plus O(nchunks) only when chunks
    go -- once per batch, where removing key by key pays it per chunk.

    Writes the indices the removed keys had before the call to ``out``,
    ascending, and returns how many were written.
    """
    h, keys, fences, counts, order, tree = state_view(address, batch)
    chunk = h[H_CHUNK]
    nchunks = h[H_NCHUNKS]
    low = min_fill(chunk)
    limit = merge_limit(chunk)
    m = batch.shape[0]
    freed = np.empty(min(nchunks, 2 * m + 2), dtype=np.int64)
    nfreed = 0
    q = 0  # positions kept so far (q <= p: the write position trails the read one)
    written = 0
    # A dense batch (touching most chunks) counts the keys before each chunk
    # as it walks and rebuilds the tree once; a sparse one asks the tree
    # (O(log) per chunk) and updates it while no chunk has gone.
    dense = m * DENSE_BATCH >= nchunks
    frozen = 0 if dense else -1  # removals in the tree when it stopped being updated (-1: still updated)
    walked = 0  # dense: keys at positions before p, before the call
    i = 0
    p = 0
    while p < nchunks and i < m:
        nxt = _next_chunk(fences, p, nchunks, batch[i])  # first chunk batch[i] can be in
        if nxt > p:  # untouched chunks: moved down if chunks went before them, else not even read
            if dense:
                for t in range(p, nxt):
                    walked += counts[t]
            q, nfreed = _keep_untouched(h, keys, fences, counts, order, p, nxt, q, low, limit, freed, nfreed)
            p = nxt
        if p == nchunks:  # the rest of the batch exceeds every key
            break
        j = _run_end(batch, i, fences[p])
        if j + PREFETCH_AHEAD < m:
            _prefetch_key(keys, fences, counts, order, p, nchunks, batch[j + PREFETCH_AHEAD])
        row = order[p]
        c = counts[p]
        first = fences[p - 1] if p > 0 else keys[row, 0]
        if dense:
            before = walked
            walked += c
        else:  # the tree holds the removals before p until it is frozen
            before = _tree_prefix(tree, p) + (written if frozen < 0 else frozen)
        n, written = _remove_in_row(h, keys, row, c, first, fences[p], batch, i, j, out, written, before)
        i = j
        p += 1
        if n == c:  # nothing of the batch was here
            if q < p - 1:
                order[q] = row
                counts[q] = c
                fences[q] = fences[p - 1]
            q += 1
            if q > 1 and counts[q - 2] < low:  # the chunk before was left small: mend the two
                q, nfreed = _mend_last(h, keys, fences, counts, order, q, low, limit, freed, nfreed)
            continue
        if frozen < 0 and n >= low:  # stays in place: the tree can follow
            _tree_add(tree, nchunks, p - 1, n - c)
            counts[q] = n
            fences[q] = keys[row, n - 1]
            q += 1
            continue
        if frozen < 0:
            frozen = written - (c - n)  # the tree holds the removals before this chunk
        if n == 0:
            freed[nfreed] = row
            nfreed += 1
            continue
        order[q] = row
        counts[q] = n
        fences[q] = keys[row, n - 1]
        q, nfreed = _mend_last(h, keys, fences, counts, order, q + 1, low, limit, freed, nfreed)
    if written == 0:
        return 0
    if p < nchunks:  # the untouched rest
        q, nfreed = _keep_untouched(h, keys, fences, counts, order, p, nchunks, q, low, limit, freed, nfreed)
    if q == 0:  # everything went: the one empty chunk of an empty set
        order[0] = freed[0]
        counts[0] = 0
        q = 1
    if q < nchunks:
        compact_rows(h, keys, counts, order, q, freed[:nfreed])
        h[H_NCHUNKS] = q
    if frozen >= 0:
        _tree_build(tree, counts, q)
    h[H_SIZE] -= written
    h[H_VERSION] += 1
    return written


@batch_kernel
def rebuild(address, dest, removed, added, values, overwrite, out_removed, out_added):
    """Merge the set at ``address`` minus ``removed`` plus ``added`` into the empty storage ``dest``.

    ``removed`` and ``added`` are sorted and unique; ``dest`` has room for
    ``size + len(added)`` keys at the bulk fill level.  Semantics are those of
    discarding ``removed`` and then adding ``added``: the indices (before the
    call) of the removed keys that were present go to ``out_removed``, the
    indices (after the call) of added keys that were not present afterwards-
    minus-removed go to ``out_added``.  Returns ``(n_removed, n_added)``.
    A dict's keys keep their values; ``values`` are those of ``added`` (see
    the module), taken by a re-added key, and by a present one with ``overwrite``.
    """
    h, keys, fences, counts, order, tree = state_view(address, added)
    d, dkeys, dfences, dcounts, dorder, dtree = state_view(dest, added)
    per_chunk = merge_limit(d[H_CHUNK])
    vw = h[H_VWIDTH]
    p = _start_fill(dcounts, dorder)  # destination position being filled
    written = 0  # keys written to dest
    nr = 0
    na = 0
    ri = 0
    ai = 0
    n_rm = removed.shape[0]
    n_add = added.shape[0]
    old_index = 0
    for q in range(h[H_NCHUNKS]):
        row = order[q]
        c = counts[q]
        t = 0
        while t < c:
            # Old keys below both the next added and the next removed key are
            # copied in one run; in a typical batch most keys are in such runs.
            e = c
            if ai < n_add or ri < n_rm:
                bound = added[ai] if ai < n_add else removed[ri]
                if ri < n_rm and removed[ri] < bound:
                    bound = removed[ri]
                e = t
                while e < c and keys[row, e] < bound:
                    e += 1
            if e > t:
                old = value_address(h, row, t) if vw else 0
                p = _emit_run(d, dkeys, dfences, dcounts, dorder, p, keys, row, t, e - t, old, per_chunk)
                written += e - t
                old_index += e - t
                t = e
                continue
            key = keys[row, t]
            # added keys below this old key are new
            while ai < n_add and added[ai] < key:
                value = values + ai * vw if values else 0
                p = _emit(d, dkeys, dfences, dcounts, dorder, p, added[ai], value, per_chunk)
                out_added[na] = written
                na += 1
                written += 1
                ai += 1
            while ri < n_rm and removed[ri] < key:
                ri += 1
            if ri < n_rm and removed[ri] == key:
                out_removed[nr] = old_index
                nr += 1
                ri += 1
                # re-added after removal: reported as an insert at its new index
                if ai < n_add and added[ai] == key:
                    p = _emit(d, dkeys, dfences, dcounts, dorder, p, key, values + ai * vw if values else 0, per_chunk)
                    out_added[na] = written
                    na += 1
                    written += 1
                    ai += 1
            else:
                value = value_address(h, row, t) if vw else 0
                if ai < n_add and added[ai] == key:
                    if overwrite and values:
                        value = values + ai * vw
                    ai += 1  # already present: not reported
                p = _emit(d, dkeys, dfences, dcounts, dorder, p, key, value, per_chunk)
                written += 1
            old_index += 1
            t += 1
    while ai < n_add:
        p = _emit(d, dkeys, dfences, dcounts, dorder, p, added[ai], values + ai * vw if values else 0, per_chunk)
        out_added[na] = written
        na += 1
        written += 1
        ai += 1
    _finish_fill(d, dkeys, dfences, dcounts, dorder, dtree, p, written)
    return nr, na


@helper
def _rank_in_chunk(keys, fences, order, counts, p, x, right):
    """``(offset, present)``: bisect offset of ``x`` in chunk ``p`` and whether it is there."""
    row = order[p]
    if right:
        j = _offset_after(keys, fences, order, counts, p, x)
        return j, j > 0 and keys[row, j - 1] == x
    j = _offset_of(keys, fences, order, counts, p, x)
    return j, j < counts[p] and keys[row, j] == x


@batch_kernel
def rank_sorted(address, queries, perm, right, ranks, found, out):
    """For ascending ``queries``: rank (bisect left or right) and membership.

    Results for ``queries[i]`` go to ``ranks[perm[i]]`` and ``found[perm[i]]``,
    so callers can pass queries sorted by ``perm = argsort(original)`` and get
    answers in the original order.  One forward pass over the chunks, galloping
    past those no query lands in, prefetching the rows a few queries ahead.
    A dict's ``out`` (an address, 0 for none) gets each found key's value in
    slot ``perm[i]``, from the position just found (no second search).
    """
    h, keys, fences, counts, order, tree = state_view(address, queries)
    vw = h[H_VWIDTH] if out else 0
    nchunks = h[H_NCHUNKS]
    m = queries.shape[0]
    p = 0
    before = 0  # keys in chunks before p
    for i in range(m):
        x = queries[i]
        # the first chunk whose fence is >= x (> x for right): a gallop from p
        nxt = _next_chunk(fences, p, nchunks, x)
        if right and nxt < nchunks and fences[nxt] == x:
            nxt += 1
        if nxt - p <= 8:  # a few chunks on: add their counts
            for t in range(p, nxt):
                before += counts[t]
        else:  # far: ask the tree, O(log nchunks) instead of a walk
            before = _tree_prefix(tree, nxt)
        moved = nxt > p or i == 0
        p = nxt
        if moved and i + PREFETCH_AHEAD < m:  # once per chunk reached: dense queries share their rows
            _prefetch_query(keys, fences, counts, order, p, nchunks, queries[i + PREFETCH_AHEAD])
        dst = perm[i]
        if p == nchunks:
            ranks[dst] = before
            found[dst] = False
            continue
        j, hit = _rank_in_chunk(keys, fences, order, counts, p, x, right)
        found[dst] = hit
        ranks[dst] = before + j
        if vw and hit:
            _value_out(vw, out, dst, value_address(h, order[p], j))
    return 0


@batch_kernel
def rank_each(address, queries, right, ranks, found, out):
    """Like :func:`rank_sorted` for queries in any order, one search per query.

    Better than sorting when the batch is small next to the number of chunks.
    """
    h, keys, fences, counts, order, tree = state_view(address, queries)
    vw = h[H_VWIDTH] if out else 0
    nchunks = h[H_NCHUNKS]
    size = h[H_SIZE]
    for i in range(queries.shape[0]):
        x = queries[i]
        p = _chunk_after(fences, nchunks, x) if right else _chunk_of(fences, nchunks, x)
        if p == nchunks:
            ranks[i] = size
            found[i] = False
            continue
        j, hit = _rank_in_chunk(keys, fences, order, counts, p, x, right)
        found[i] = hit
        ranks[i] = _tree_prefix(tree, p) + j
        if vw and hit:
            _value_out(vw, out, i, value_address(h, order[p], j))
    return 0


@batch_kernel
def take(address, indices, out):
    """``out[i] = key at indices[i]``; indices already normalised to ``0 <= i < size``."""
    h, keys, fences, counts, order, tree = state_view(address, out)
    nchunks = h[H_NCHUNKS]
    for i in range(indices.shape[0]):
        p, offset = _tree_find(tree, order, nchunks, indices[i])
        out[i] = keys[order[p], offset]
    return 0


@batch_kernel
def take_values(address, indices, out):
    """Copy the value of the key at ``indices[i]`` to slot ``i`` of the values at address ``out``
    (a dict's; indices already normalised to ``0 <= i < size``)."""
    h, keys, fences, counts, order, tree = state_view(address, 0)  # keys unread: any dtype will do
    vw = h[H_VWIDTH]
    nchunks = h[H_NCHUNKS]
    for i in range(indices.shape[0]):
        p, offset = _tree_find(tree, order, nchunks, indices[i])
        _value_out(vw, out, i, value_address(h, order[p], offset))
    return 0


@batch_kernel
def take_sorted(address, indices, perm, out):
    """``out[perm[i]] = key at indices[i]`` for ascending, normalised ``indices``.

    One forward walk over the chunks: an index in the same or one of the
    next few chunks is reached by adding counts, a farther one by the tree.
    Sorted indices visit rows in memory order, like sorted queries.
    """
    h, keys, fences, counts, order, tree = state_view(address, out)
    nchunks = h[H_NCHUNKS]
    p = 0
    before = 0  # keys in chunks before p
    for i in range(indices.shape[0]):
        x = indices[i]
        steps = 0
        while x - before >= counts[p] and steps < 8:
            before += counts[p]
            p += 1
            steps += 1
        if x - before >= counts[p]:
            p, offset = _tree_find(tree, order, nchunks, x)
            before = x - offset
        out[perm[i]] = keys[order[p], x - before]
    return 0


# ------------------------------------------------------- sorting wide keys
# NumPy sorts a record array ~60x slower than int64 (a generic compare per
# pair), and lexsort over the words costs one stable sort per word.  Instead
# the Python layer sorts the first word packed with the row number (one
# SIMD-sorted uint64 array), and this kernel settles the rare runs whose
# packed high bits tie by comparing whole keys.


@helper
def _before(raw, a, b):
    """Whether row ``a`` sorts before row ``b``: by key, then by row (stable)."""
    x = raw[a]
    y = raw[b]
    if x == y:
        return a < b
    return x < y


@batch_kernel
def settle_ties(raw, perm, packed, shift):
    """Sort each run of ``perm`` whose ``packed >> shift`` ties by the whole key.

    ``perm`` is the row order sorted by ``packed`` (first word high bits,
    row number low bits); afterwards it orders ``raw`` by key, ties by row.
    Short runs are insertion-sorted, long ones merge-sorted: O(n log n)
    even when every first word is the same.
    """
    n = perm.shape[0]
    tmp = np.empty(n, dtype=np.int64)
    s = 0
    while s < n:
        e = s + 1
        high = packed[s] >> shift
        while e < n and (packed[e] >> shift) == high:
            e += 1
        if e - s > 1:
            for b in range(s, e, 16):  # insertion sort in blocks of 16
                be = min(b + 16, e)
                for i in range(b + 1, be):
                    x = perm[i]
                    k = i - 1
                    while k >= b and _before(raw, x, perm[k]):
                        perm[k + 1] = perm[k]
                        k -= 1
                    perm[k + 1] = x
            width = 16
            while width < e - s:  # then bottom-up merges of the sorted blocks
                for lo in range(s, e, 2 * width):
                    mid = min(lo + width, e)
                    hi = min(lo + 2 * width, e)
                    i = lo
                    j = mid
                    k = lo
                    while i < mid and j < hi:
                        if _before(raw, perm[j], perm[i]):
                            tmp[k] = perm[j]
                            j += 1
                        else:
                            tmp[k] = perm[i]
                            i += 1
                        k += 1
                    while i < mid:
                        tmp[k] = perm[i]
                        i += 1
                        k += 1
                    while j < hi:
                        tmp[k] = perm[j]
                        j += 1
                        k += 1
                    for t in range(lo, hi):
                        perm[t] = tmp[t]
                width *= 2
        s = e
    return 0


@batch_kernel
def drop_repeats(ordered):
    """Compact ascending ``ordered`` in place, keeping one of each run of equal keys; returns the count.

    For records of words, where NumPy has no fast ``!=`` (one compare per field).
    """
    m = ordered.shape[0]
    n = min(m, 1)
    for i in range(1, m):
        if ordered[i] != ordered[n - 1]:
            ordered[n] = ordered[i]
            n += 1
    return n
