"""numba kernels for the scalar operations of a chunked sorted set.

The layout (see :mod:`jitset._storage`): keys live in the rows of a 2-D array,
each row a sorted *chunk* holding ``counts[p]`` keys.  Chunks are addressed by
*position* ``p`` (their rank in key order); ``order[p]`` is the row that holds
position ``p``, so a split inserts one entry in the small per-position arrays
instead of moving rows of keys.  ``fences[p]`` is the largest key of chunk
``p``, so a binary search over fences finds the chunk of a key.  A Fenwick
tree over ``counts`` turns a position into a global index (and back) in
O(log chunks), where Discord's ``sorted_set_nif`` sums every earlier bucket.

Invariants (checked by ``SortedSet._check``):

* rows ``0 .. nchunks-1`` are the used ones and ``order`` is a permutation of them;
* every chunk is sorted, strictly, and each chunk's keys exceed the previous chunk's;
* ``1 <= counts[p] <= chunk`` for every chunk, and ``counts[p] >= min_fill(chunk)``
  whenever there is more than one chunk; the only empty chunk is the single
  chunk of an empty set;
* ``fences[p]`` is the last key of chunk ``p``; the tree matches ``counts``.

A dict's storage also holds a value beside every key, as ``H_VWIDTH`` raw
bytes (0 for a set): every move of keys within a storage goes through
``move_items`` (or ``move_values`` beside a single-key copy), so values
follow their keys through every shift, split and merge, and one compiled
kernel serves a set and a dict of any value dtype.  Values come in and go
out as addresses (``put``, ``get_value``, ...).

Every kernel takes the header address first (see :mod:`jitset._plumbing`) and
trusts its arguments: the Python layer has validated keys and indices.  The
same source serves integer keys and wide (multi-word) keys: comparisons on
wide keys are overloaded in :mod:`jitset._plumbing`, where scalar kernels get
and return them as tuples of words (``store_key`` writes one, ``key_out``
makes one).
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from jitset._plumbing import (
    H_CHUNK,
    H_NCHUNKS,
    H_SIZE,
    H_VERSION,
    H_VWIDTH,
    H_CAP,
    batch_kernel,
    enter,
    helper,
    kernel,
    key_out,
    leave,
    move_items,
    move_values,
    copy_values,
    copy_values_out,
    copy_values_out_run,
    ordinal,
    prefetch_read,
    stack_copy,
    state_view,
    store_key,
)

#: Returned by :func:`add` when a split needs a row and none is free: the caller
#: grows the storage and calls again.  The set is untouched in that case.
NEED_ROOM = -1

#: :func:`add` returns ``PRESENT - index`` for a key that was already there.
PRESENT = -2

#: :func:`discard` returns ``SHRINK - index`` when the storage became sparse.
SHRINK = -2


@helper
def _sparse(h):
    """Whether fewer than a quarter of the rows are in use: a hint to give memory back."""
    return h[H_CAP] > 64 and h[H_NCHUNKS] * 4 < h[H_CAP]


@register_jitable
def min_fill(chunk):
    """A chunk (other than the only one) holding fewer keys than this is rebalanced."""
    return max(1, chunk // 4)


@register_jitable
def merge_limit(chunk):
    """Two neighbours are merged only when the result leaves a quarter free,
    so that a merge is never undone by the very next insert (hysteresis).
    Bulk builds fill chunks to this level too."""
    return max(1, (3 * chunk) // 4)


@register_jitable
def chunks_for(n, chunk):
    """Number of chunks a bulk build lays ``n`` keys into."""
    return max(1, -(-n // merge_limit(chunk)))


# ---------------------------------------------------------------- Fenwick tree
# tree[i] (1-based) holds the sum of counts over positions (i - lowbit(i), i].
# Only nodes 1..nchunks are meaningful; they never depend on later positions.


@helper
def _tree_add(tree, nchunks, p, delta):
    i = p + 1
    while i <= nchunks:
        tree[i] += delta
        i += i & -i


@helper
def _tree_prefix(tree, p):
    """Number of keys in chunks at positions ``0 .. p-1``."""
    total = 0
    i = p
    while i > 0:
        total += tree[i]
        i -= i & -i
    return total


#: _tree_find prefetches ahead on trees of at least this many positions
#: (128 KB: below that the tree stays in L2 and prefetching only costs).
_FIND_PREFETCH = 1 << 14


@helper
def _tree_find(tree, order, nchunks, index):
    """``(p, offset)``: the chunk position holding global ``index`` and the offset in it.

    The descent is a chain of dependent loads, one per level.  On a large
    tree each is a cache miss (the nodes ``step`` apart share few lines), so
    the four nodes two levels down are prefetched: whichever way the next
    two steps go, the node they read is on its way.  With six levels left
    (``step == 32``) the answer is one of 64 positions, and their ``order``
    entries (8 lines), which the caller reads next, are prefetched too.  Measured
    with random indices over 260,000 positions (10^8 keys), the descent
    alone: 108 ns against 581 without; ``s[i]`` in a compiled loop, 604-664
    ns with the ``order`` prefetch against 824-834 without.  Over 26,000
    positions no difference, so small trees skip it.
    """
    step = 1
    while step * 2 <= nchunks:
        step *= 2
    p = 0
    rest = index
    ahead = nchunks >= _FIND_PREFETCH
    while step > 0:
        if ahead:
            q = step >> 2
            if q >= 8:  # closer nodes lie a line or two from the one just read: 142 ns against 108 at 260,000
                for a in range(1, 8, 2):
                    if p + q * a <= nchunks:
                        prefetch_read(tree, p + q * a)
            if step == 32:  # the answer is in p .. p + 63
                for a in range(0, 64, 8):
                    if p + a < nchunks:
                        prefetch_read(order, p + a)
        nxt = p + step
        if nxt <= nchunks and tree[nxt] <= rest:
            p = nxt
            rest -= tree[nxt]
        step >>= 1
    return p, rest


@helper
def _tree_build(tree, counts, nchunks):
    """Rebuild the tree in O(nchunks) after positions were inserted or removed."""
    for i in range(nchunks + 1):
        tree[i] = 0
    for i in range(1, nchunks + 1):
        tree[i] += counts[i - 1]
        parent = i + (i & -i)
        if parent <= nchunks:
            tree[parent] += tree[i]


# --------------------------------------------------------------- searching


@helper
def _guess(n, key, first, last):
    """Where ``key`` would sit among ``n`` keys spread evenly from ``first`` to ``last``.

    Wide keys interpolate on their first word only: ties there fall back to
    the gallop, which is exact whatever the guess.
    """
    span = ordinal(last) - ordinal(first)
    if n < 2 or not span > 0.0:  # span is 0.0 when both ends round to the same float
        return n >> 1
    g = (ordinal(key) - ordinal(first)) / span * (n - 1)
    if g <= 0.0:
        return 0
    if g >= n - 1:
        return n - 1
    return int(g)


@helper
def _search(a, n, key, guess):
    """First offset in the strictly increasing ``a[:n]`` whose key is >= key.

    Gallops from ``guess`` (0 <= guess < n) then bisects the bracket.  With
    an interpolated guess and evenly spread keys (IDs, hashes, timestamps)
    that is one or two dependent memory loads instead of log2(n) ~ 9, and on
    a large set each is a cache miss; for skewed keys it costs about twice a
    plain binary search.
    """
    lo = 0
    hi = n  # invariant: a[lo - 1] < key (or lo == 0) and a[hi] >= key (or hi == n)
    if n > 0:
        step = 1
        if a[guess] < key:
            lo = guess + 1
            while True:
                probe = guess + step
                if probe >= hi:
                    break
                if a[probe] < key:
                    lo = probe + 1
                    step *= 2
                else:
                    hi = probe
                    break
        else:
            hi = guess
            while True:
                probe = guess - step
                if probe < lo:
                    break
                if a[probe] >= key:
                    hi = probe
                    step *= 2
                else:
                    lo = probe + 1
                    break
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@helper
def _chunk_of(fences, nchunks, key):
    """First position whose fence is >= key; ``nchunks`` if key exceeds every key."""
    return _search(fences, nchunks, key, _guess(nchunks, key, fences[0], fences[nchunks - 1]))


@helper
def _chunk_after(fences, nchunks, key):
    """First position whose fence is > key (fences are unique, so one step past _chunk_of)."""
    p = _chunk_of(fences, nchunks, key)
    if p < nchunks and fences[p] == key:
        p += 1
    return p


@helper
def _offset_of(keys, fences, order, counts, p, key):
    """First offset in chunk ``p`` whose key is >= key.

    The interpolation runs between the previous chunk's fence and this one's,
    both already in cache, so only the probe itself touches the chunk's row.
    """
    row = order[p]
    n = counts[p]
    first = fences[p - 1] if p > 0 else keys[row, 0]
    return _search(keys[row], n, key, _guess(n, key, first, fences[p]))


@helper
def _offset_after(keys, fences, order, counts, p, key):
    """First offset in chunk ``p`` whose key is > key (keys are unique)."""
    j = _offset_of(keys, fences, order, counts, p, key)
    if j < counts[p] and keys[order[p], j] == key:
        j += 1
    return j


# ------------------------------------------------- structural changes (helpers)


@helper
def _split(h, keys, fences, counts, order, tree, p):
    """Move the upper half of chunk ``p`` into a new chunk at position ``p + 1``.

    Needs a free row (``nchunks < cap``).  O(chunk + nchunks).
    """
    nchunks = h[H_NCHUNKS]
    row = order[p]
    new_row = nchunks  # rows 0..nchunks-1 are in use, so the next one is free
    count = counts[p]
    half = count // 2
    move_items(h, keys, new_row, 0, row, half, count - half)
    for q in range(nchunks, p + 1, -1):
        order[q] = order[q - 1]
        counts[q] = counts[q - 1]
        fences[q] = fences[q - 1]
    order[p + 1] = new_row
    counts[p + 1] = count - half
    fences[p + 1] = fences[p]
    counts[p] = half
    fences[p] = keys[row, half - 1]
    h[H_NCHUNKS] = nchunks + 1
    _tree_build(tree, counts, nchunks + 1)


@helper
def _drop_position(h, keys, fences, counts, order, tree, p):
    """Forget the (already emptied) chunk at position ``p`` and free its row.

    Rows stay compact: the last used row moves into the freed one.
    """
    nchunks = h[H_NCHUNKS]
    freed = order[p]
    for q in range(p, nchunks - 1):
        order[q] = order[q + 1]
        counts[q] = counts[q + 1]
        fences[q] = fences[q + 1]
    nchunks -= 1
    last = nchunks  # the row index that is no longer in range
    if freed != last:
        for q in range(nchunks):
            if order[q] == last:
                move_items(h, keys, freed, 0, last, 0, counts[q])
                order[q] = freed
                break
    h[H_NCHUNKS] = nchunks
    _tree_build(tree, counts, nchunks)


@helper
def _even_out(h, keys, fences, counts, order, left):
    """Share the keys of chunks ``left`` and ``left + 1`` evenly between them.

    Returns how many keys chunk ``left`` gained (negative if it gave some).
    Both fences are rewritten: the right one is stale when that chunk was
    just emptied.
    """
    right = left + 1
    lrow = order[left]
    rrow = order[right]
    nl = counts[left]
    nr = counts[right]
    total = nl + nr
    target = total // 2
    if nl < target:  # move the first (target - nl) keys of right to the end of left
        moved = target - nl
        move_items(h, keys, lrow, nl, rrow, 0, moved)
        move_items(h, keys, rrow, 0, rrow, moved, nr - moved)
    else:  # move the last (nl - target) keys of left to the front of right
        moved = nl - target
        move_items(h, keys, rrow, moved, rrow, 0, nr)
        move_items(h, keys, rrow, 0, lrow, target, moved)
    counts[left] = target
    counts[right] = total - target
    fences[left] = keys[lrow, target - 1]
    fences[right] = keys[rrow, total - target - 1]
    return target - nl


@helper
def _rebalance(h, keys, fences, counts, order, tree, p):
    """Chunk ``p`` fell under ``min_fill``: merge it with a neighbour, or even them out."""
    nchunks = h[H_NCHUNKS]
    chunk = h[H_CHUNK]
    if p == 0:
        left = 0
    elif p == nchunks - 1:
        left = p - 1
    elif counts[p - 1] <= counts[p + 1]:
        left = p - 1
    else:
        left = p
    right = left + 1
    lrow = order[left]
    rrow = order[right]
    nl = counts[left]
    nr = counts[right]
    total = nl + nr
    if total <= merge_limit(chunk):
        move_items(h, keys, lrow, nl, rrow, 0, nr)
        counts[left] = total
        counts[right] = 0
        # not fences[right]: it is stale when chunk p was just emptied
        fences[left] = keys[lrow, total - 1]
        _drop_position(h, keys, fences, counts, order, tree, right)
        return
    moved = _even_out(h, keys, fences, counts, order, left)
    _tree_add(tree, nchunks, left, moved)
    _tree_add(tree, nchunks, right, -moved)


@helper
def _shift_last_right(h, keys, fences, counts, order, tree, p):
    """Move the last key of chunk ``p`` to the front of chunk ``p + 1`` (which has room)."""
    row = order[p]
    nxt = order[p + 1]
    c = counts[p]
    move_items(h, keys, nxt, 1, nxt, 0, counts[p + 1])
    keys[nxt, 0] = keys[row, c - 1]
    move_values(h, nxt, 0, row, c - 1, 1)
    counts[p + 1] += 1
    counts[p] = c - 1
    fences[p] = keys[row, c - 2]
    _tree_add(tree, h[H_NCHUNKS], p, -1)
    _tree_add(tree, h[H_NCHUNKS], p + 1, 1)


@helper
def _shift_first_left(h, keys, fences, counts, order, tree, p):
    """Move the first key of chunk ``p`` to the end of chunk ``p - 1`` (which has room)."""
    row = order[p]
    prev = order[p - 1]
    c = counts[p]
    keys[prev, counts[p - 1]] = keys[row, 0]
    move_values(h, prev, counts[p - 1], row, 0, 1)
    fences[p - 1] = keys[row, 0]
    counts[p - 1] += 1
    move_items(h, keys, row, 0, row, 1, c - 1)
    counts[p] = c - 1
    _tree_add(tree, h[H_NCHUNKS], p, -1)
    _tree_add(tree, h[H_NCHUNKS], p - 1, 1)


@helper
def _insert_at(h, keys, fences, counts, order, tree, p, j, key, value):
    """Put ``key`` (and the value at address ``value``, if not 0) at offset ``j`` of chunk ``p``, which has room."""
    row = order[p]
    count = counts[p]
    move_items(h, keys, row, j + 1, row, j, count - j)
    store_key(keys, (row, j), key)
    copy_values(h, row, j, value, 1)
    counts[p] = count + 1
    if j == count:
        store_key(fences, p, key)
    _tree_add(tree, h[H_NCHUNKS], p, 1)
    h[H_SIZE] += 1
    h[H_VERSION] += 1


@helper
def _remove_at(h, keys, fences, counts, order, tree, p, j):
    """Remove the key at offset ``j`` of chunk ``p``; rebalance if the chunk got too small."""
    row = order[p]
    count = counts[p] - 1
    move_items(h, keys, row, j, row, j + 1, count - j)
    counts[p] = count
    if count > 0 and j == count:
        fences[p] = keys[row, count - 1]
    _tree_add(tree, h[H_NCHUNKS], p, -1)
    h[H_SIZE] -= 1
    h[H_VERSION] += 1
    if count < min_fill(h[H_CHUNK]) and h[H_NCHUNKS] > 1:
        _rebalance(h, keys, fences, counts, order, tree, p)


@helper
def _add_key(h, keys, fences, counts, order, tree, key, value, overwrite):
    """Insert ``key``.  Returns ``(index after the call, status)`` where status is
    1 (inserted), 0 (was already there) or NEED_ROOM (a split needs a row;
    nothing was changed).

    A dict's value comes from address ``value`` (0 for a set): written with
    a new key, and over a present key's when ``overwrite``.
    """
    nchunks = h[H_NCHUNKS]
    p = _chunk_of(fences, nchunks, key)
    if p == nchunks:  # larger than every key: append to the last chunk
        p = nchunks - 1
    row = order[p]
    count = counts[p]
    j = _offset_of(keys, fences, order, counts, p, key)
    if j < count and keys[row, j] == key:
        if overwrite:
            copy_values(h, row, j, value, 1)
        return _tree_prefix(tree, p) + j, 0
    chunk = h[H_CHUNK]
    if count == chunk:
        # Full: hand a key to a neighbour with room before splitting.  Splits
        # leave two half-full chunks; this keeps rows fuller (memory) for one
        # more O(chunk) shift.
        if p + 1 < nchunks and counts[p + 1] < chunk:
            if j == count:  # the new key itself becomes the neighbour's first
                p += 1
                j = 0
            else:
                _shift_last_right(h, keys, fences, counts, order, tree, p)
        elif p > 0 and counts[p - 1] < chunk:
            if j == 0:  # the new key itself becomes the neighbour's last
                p -= 1
                j = counts[p]
            else:
                _shift_first_left(h, keys, fences, counts, order, tree, p)
                j -= 1
        else:
            if nchunks == h[H_CAP]:
                return -1, NEED_ROOM
            _split(h, keys, fences, counts, order, tree, p)
            if j > counts[p]:
                j -= counts[p]
                p += 1
    _insert_at(h, keys, fences, counts, order, tree, p, j, key, value)
    return _tree_prefix(tree, p) + j, 1


@helper
def _lookup(h, keys, fences, counts, order, key):
    """``(position, offset)`` of ``key``, or ``(-1, -1)`` when it is absent."""
    nchunks = h[H_NCHUNKS]
    p = _chunk_of(fences, nchunks, key)
    if p == nchunks:
        return -1, -1
    j = _offset_of(keys, fences, order, counts, p, key)
    if j < counts[p] and keys[order[p], j] == key:
        return p, j
    return -1, -1


@helper
def _discard(h, keys, fences, counts, order, tree, key, out):
    """Remove ``key``; the index it had, or -1 when absent.  A dict's value is
    copied to address ``out`` first (0 for none)."""
    p, j = _lookup(h, keys, fences, counts, order, key)
    if p < 0:
        return -1
    index = _tree_prefix(tree, p) + j
    if out:
        copy_values_out(h, order[p], j, out)
    _remove_at(h, keys, fences, counts, order, tree, p, j)
    return index


# ----------------------------------------------------------- scalar kernels
# Each one starts with enter() and calls leave() before it returns or raises:
# without the GIL that pair is what makes the call atomic (see "Threads" in
# jitset._plumbing), so the arrays are viewed only once the set is taken.


@helper
def _add(address, key, value, overwrite):
    """The body of :func:`add` and :func:`put` (a set's value address is 0)."""
    enter(address)
    h, keys, fences, counts, order, tree = state_view(address, key)
    index, status = _add_key(h, keys, fences, counts, order, tree, key, value, overwrite)
    leave(address)
    if status == 1:
        return index
    return NEED_ROOM if status == NEED_ROOM else PRESENT - index


@kernel
def add(address, key):
    """Insert ``key``; return its index after the call if it was new,
    ``PRESENT - index`` if it was already there, or NEED_ROOM (nothing
    changed) if a split needs a row.

    One int carries both answers, so that ``add`` and ``insert`` share this
    kernel and no tuple is boxed per call; a new key (the common case for
    ``insert``) needs no decoding at all.
    """
    return _add(address, key, 0, False)


@helper
def _remove(address, key, out):
    """The body of :func:`discard` and :func:`pop_value` (a set's ``out`` is 0)."""
    enter(address)
    h, keys, fences, counts, order, tree = state_view(address, key)
    index = _discard(h, keys, fences, counts, order, tree, key, out)
    sparse = index >= 0 and _sparse(h)
    leave(address)
    return SHRINK - index if sparse else index


@kernel
def discard(address, key):
    """Remove ``key``; return the index it had, or -1 when it was absent.

    Returns ``SHRINK - index`` instead when fewer than a quarter of the rows
    are still in use, as a hint to give memory back (the caller decodes it).
    """
    return _remove(address, key, 0)


@kernel
def contains(address, key):
    """Whether ``key`` is in the set (no index needed, so no tree walk)."""
    enter(address)
    h, keys, fences, counts, order, tree = state_view(address, key)
    found = _lookup(h, keys, fences, counts, order, key)[0] >= 0
    leave(address)
    return found


@helper
def _find(address, key, out):
    """The body of :func:`find` and :func:`get_value` (a set's ``out`` is 0)."""
    enter(address)
    h, keys, fences, counts, order, tree = state_view(address, key)
    p, j = _lookup(h, keys, fences, counts, order, key)
    index = -1
    if p >= 0:
        index = _tree_prefix(tree, p) + j
        if out:
            copy_values_out(h, order[p], j, out)
    leave(address)
    return index


@kernel
def find(address, key):
    """Index of ``key``, or -1 when absent."""
    return _find(address, key, 0)


@kernel
def bisect(address, key, right):
    """Number of keys < key (``right=False``) or <= key (``right=True``)."""
    enter(address)
    h, keys, fences, counts, order, tree = state_view(address, key)
    nchunks = h[H_NCHUNKS]
    # the first chunk whose fence is >= key (> key for right) holds the insertion point
    p = _chunk_after(fences, nchunks, key) if right else _chunk_of(fences, nchunks, key)
    if p == nchunks:
        rank = h[H_SIZE]
    elif right:
        rank = _tree_prefix(tree, p) + _offset_after(keys, fences, order, counts, p, key)
    else:
        rank = _tree_prefix(tree, p) + _offset_of(keys, fences, order, counts, p, key)
    leave(address)
    return rank


@helper
def _position_of_index(h, tree, order, index):
    """``(chunk position, offset)`` of global ``index`` (negative counts from the end); ``(-1, 0)`` out of range."""
    size = h[H_SIZE]
    if index < 0:
        index += size
    if index < 0 or index >= size:
        return -1, 0
    return _tree_find(tree, order, h[H_NCHUNKS], index)


@kernel
def getitem(address, like, index):
    """The key at ``index`` (negative counts from the end)."""
    enter(address)
    h, keys, fences, counts, order, tree = state_view(address, like)
    p, offset = _position_of_index(h, tree, order, index)
    if p < 0:
        leave(address)
        raise IndexError("SortedSet index out of range")
    key = key_out(like, keys[order[p], offset])
    leave(address)
    return key


@helper
def _delete_at(address, like, index, out):
    """The body of :func:`delete_at` and :func:`delete_value_at` (a set's ``out`` is 0)."""
    enter(address)
    h, keys, fences, counts, order, tree = state_view(address, like)
    p, offset = _position_of_index(h, tree, order, index)
    if p < 0:
        leave(address)
        raise IndexError("SortedSet index out of range")
    key = key_out(like, keys[order[p], offset])  # copied out before the keys shift over it
    if out:
        copy_values_out(h, order[p], offset, out)
    _remove_at(h, keys, fences, counts, order, tree, p, offset)
    leave(address)
    return key


@kernel
def delete_at(address, like, index):
    """Remove and return the key at ``index`` (negative counts from the end)."""
    return _delete_at(address, like, index, 0)


# A dict's scalar calls: the same walks as a set's, the value read or written
# at an address the caller gives (H_VWIDTH bytes; see jitset._plumbing).


@kernel
def put(address, key, value, overwrite):
    """:func:`add` with the value at address ``value``: written with a new key, and
    over a present one's when ``overwrite``.  Returns what :func:`add` returns."""
    return _add(address, key, value, overwrite)


@kernel
def put_word(address, key, value, overwrite):
    """:func:`put` with the value itself rather than its address: Python's
    ``d[k] = v`` then writes no buffer first (~0.2 us of a ~1 us call).

    Compiled for a float64 value (a float64 column) and an int64 one (an
    integer column of any width: the kernel copies the value's low bytes, so
    only on little-endian hosts, the value checked to be in range).
    """
    return _add(address, key, stack_copy(value), overwrite)


@kernel
def get_value(address, key, out):
    """Copy ``key``'s value to address ``out``; its index, or -1 when absent (nothing copied)."""
    return _find(address, key, out)


@kernel
def pop_value(address, key, out):
    """Remove ``key``, its value copied to address ``out`` first; :func:`discard`'s result."""
    return _remove(address, key, out)


@kernel
def delete_value_at(address, like, index, out):
    """:func:`delete_at`, the value copied to address ``out`` first."""
    return _delete_at(address, like, index, out)


# ------------------------------------------------------ removing a run of keys


@helper
def _cut(h, keys, fences, counts, order, p, a, b):
    """Remove offsets ``a .. b-1`` of chunk ``p``: the keys after them shift down."""
    row = order[p]
    c = counts[p]
    gone = b - a
    move_items(h, keys, row, a, row, b, c - b)
    counts[p] = c - gone
    if b == c and a > 0:  # the tail went: the last key left is the new fence
        fences[p] = keys[row, a - 1]


@helper
def compact_rows(h, keys, counts, order, n, freed):
    """Make rows ``0 .. n-1`` the used ones after chunks went: each used row
    at or past ``n`` (positions ``0 .. n-1`` are in use) moves into one of the
    ``freed`` rows below ``n``; there are exactly as many of each, so at most
    as many rows are copied as were freed."""
    f = 0
    for q in range(n):
        r = order[q]
        if r >= n:
            while freed[f] >= n:
                f += 1
            dst = freed[f]
            f += 1
            move_items(h, keys, dst, 0, r, 0, counts[q])
            order[q] = dst


@helper
def _drop_range(h, keys, fences, counts, order, tree, lo, hi):
    """Forget the chunks at positions ``lo .. hi-1`` without reading their keys.

    Rows stay compact (rows ``0 .. nchunks-1`` are the used ones): each used
    row past the new chunk count moves into a freed row below it, so at most
    ``hi - lo`` rows are copied, no more than were dropped.  Rebuilds the
    tree.  O(nchunks) on the per-position arrays plus O((hi - lo) * chunk).
    """
    nchunks = h[H_NCHUNKS]
    k = hi - lo  # may be 0: the tree is rebuilt all the same (the callers cut counts)
    freed = np.empty(k, dtype=np.int64)
    for t in range(k):
        freed[t] = order[lo + t]
    for q in range(lo, nchunks - k):
        order[q] = order[q + k]
        counts[q] = counts[q + k]
        fences[q] = fences[q + k]
    left = nchunks - k
    compact_rows(h, keys, counts, order, left, freed)
    h[H_NCHUNKS] = left
    _tree_build(tree, counts, left)


@helper
def _mend_pair(h, keys, fences, counts, order, tree, a):
    """Chunks ``a`` and ``a + 1`` were both cut: merge them if they fit in one, else even them out if either is too small."""
    chunk = h[H_CHUNK]
    b = a + 1
    na = counts[a]
    nb = counts[b]
    if na + nb <= merge_limit(chunk):
        arow = order[a]
        brow = order[b]
        move_items(h, keys, arow, na, brow, 0, nb)
        counts[a] = na + nb
        counts[b] = 0
        fences[a] = fences[b]
        _drop_position(h, keys, fences, counts, order, tree, b)
        if counts[a] < min_fill(chunk) and h[H_NCHUNKS] > 1:
            _rebalance(h, keys, fences, counts, order, tree, a)
    elif na < min_fill(chunk) or nb < min_fill(chunk):
        moved = _even_out(h, keys, fences, counts, order, a)
        _tree_add(tree, h[H_NCHUNKS], a, moved)
        _tree_add(tree, h[H_NCHUNKS], b, -moved)


@kernel
def delete_range(address, like, start, stop):
    """Remove the keys at indices ``start .. stop-1`` (``0 <= start < stop <= size``).

    Only the chunks at the two ends of the run are shifted; the chunks
    wholly inside it are dropped without reading a key.  O(log n + chunk +
    removed), plus O(nchunks) bookkeeping of the per-position arrays when
    whole chunks go (like a split).  Returns 1 when fewer than a quarter of
    the rows are still in use (a hint to give memory back), else 0.  The
    caller holds the set (its lock): this kernel neither checks nor takes it.
    """
    h, keys, fences, counts, order, tree = state_view(address, like)
    n = stop - start
    nchunks = h[H_NCHUNKS]
    if n == h[H_SIZE]:  # everything: the one empty chunk of an empty set, rows kept
        order[0] = 0
        counts[0] = 0
        h[H_NCHUNKS] = 1
        _tree_build(tree, counts, 1)
    else:
        p0, o0 = _tree_find(tree, order, nchunks, start)
        p1, o1 = _tree_find(tree, order, nchunks, stop - 1)
        if p0 == p1:
            _cut(h, keys, fences, counts, order, p0, o0, o1 + 1)
            _tree_add(tree, nchunks, p0, -n)
            if counts[p0] < min_fill(h[H_CHUNK]) and nchunks > 1:
                _rebalance(h, keys, fences, counts, order, tree, p0)
        else:
            _cut(h, keys, fences, counts, order, p0, o0, counts[p0])  # keep the head of p0
            _cut(h, keys, fences, counts, order, p1, 0, o1 + 1)  # keep the tail of p1
            head = counts[p0] > 0
            tail = counts[p1] > 0
            lo = p0 + 1 if head else p0
            hi = p1 if tail else p1 + 1
            _drop_range(h, keys, fences, counts, order, tree, lo, hi)
            # what is left of p0 sits at lo - 1, what is left of p1 at lo
            if head and tail:
                _mend_pair(h, keys, fences, counts, order, tree, lo - 1)
            elif head or tail:
                p = lo - 1 if head else lo
                if counts[p] < min_fill(h[H_CHUNK]) and h[H_NCHUNKS] > 1:
                    _rebalance(h, keys, fences, counts, order, tree, p)
    h[H_SIZE] -= n
    h[H_VERSION] += 1
    return 1 if _sparse(h) else 0


@batch_kernel
def gather(address, out, start):
    """Copy the keys at indices ``start .. start + len(out) - 1`` into ``out``."""
    h, keys, fences, counts, order, tree = state_view(address, out)
    n = out.shape[0]
    if n == 0:
        return
    p, offset = _tree_find(tree, order, h[H_NCHUNKS], start)
    done = 0
    while done < n:
        row = order[p]
        take = min(counts[p] - offset, n - done)
        for t in range(take):
            out[done + t] = keys[row, offset + t]
        done += take
        p += 1
        offset = 0


@batch_kernel
def gather_values(address, out, start, n):
    """Copy the values of the keys at indices ``start .. start + n - 1`` to address ``out`` (a dict's)."""
    h, keys, fences, counts, order, tree = state_view(address, 0)  # keys unread: any dtype will do
    w = h[H_VWIDTH]
    if n == 0 or w == 0:
        return
    p, offset = _tree_find(tree, order, h[H_NCHUNKS], start)
    done = 0
    while done < n:
        take = min(counts[p] - offset, n - done)
        copy_values_out_run(h, order[p], offset, out + done * w, take)
        done += take
        p += 1
        offset = 0


# ------------------------------------------------------- sequential filling
# Bulk builds and rebuilds write keys in ascending order into an empty
# storage: each chunk is filled to merge_limit (3/4 full, so the next inserts
# do not split at once), and the last chunk is evened out with its neighbour
# if it ended under min_fill.


@helper
def _start_fill(counts, order):
    order[0] = 0
    counts[0] = 0
    return 0


@helper
def _emit(h, keys, fences, counts, order, p, key, value, per_chunk):
    """Append ``key`` (greater than every key written so far) and the value at address
    ``value`` (if not 0); returns the position written."""
    if counts[p] == per_chunk:
        p += 1
        order[p] = p  # a fresh storage: rows in position order
        counts[p] = 0
    keys[p, counts[p]] = key
    copy_values(h, p, counts[p], value, 1)
    counts[p] += 1
    fences[p] = key
    return p


@helper
def _emit_run(h, keys, fences, counts, order, p, src, src_row, start, n, values, per_chunk):
    """Append ``src[src_row, start:start + n]`` (ascending, above everything written),
    and the values from address ``values`` on (if not 0)."""
    w = h[H_VWIDTH]
    done = 0
    while done < n:
        if counts[p] == per_chunk:
            p += 1
            order[p] = p
            counts[p] = 0
        base = counts[p]
        take = min(per_chunk - base, n - done)
        for t in range(take):  # a plain copy loop: LLVM turns it into memcpy
            keys[p, base + t] = src[src_row, start + done + t]
        copy_values(h, p, base, values + done * w if values else 0, take)
        counts[p] = base + take
        fences[p] = keys[p, base + take - 1]
        done += take
    return p


@helper
def _finish_fill(h, keys, fences, counts, order, tree, p, size):
    """Close a fill whose last written position is ``p``; set the header and the tree."""
    nchunks = p + 1
    if nchunks > 1 and counts[p] < min_fill(h[H_CHUNK]):
        _even_out(h, keys, fences, counts, order, p - 1)
    h[H_NCHUNKS] = nchunks
    h[H_SIZE] = size
    h[H_VERSION] += 1
    _tree_build(tree, counts, nchunks)


@batch_kernel
def fill_sorted(address, batch, values):
    """Lay ascending keys ``batch`` into an empty storage with room for them, skipping repeats.

    Taking sorted keys *with* duplicates saves the separate dedupe pass of
    a build.  A dict's values come from address ``values`` (0 for a set),
    ``H_VWIDTH`` bytes for each key of ``batch``, in its order.
    """
    h, keys, fences, counts, order, tree = state_view(address, batch)
    per_chunk = merge_limit(h[H_CHUNK])
    w = h[H_VWIDTH]
    p = _start_fill(counts, order)
    size = 0
    for i in range(batch.shape[0]):
        if i > 0 and batch[i] == batch[i - 1]:
            continue
        p = _emit(h, keys, fences, counts, order, p, batch[i], values + i * w if values else 0, per_chunk)
        size += 1
    _finish_fill(h, keys, fences, counts, order, tree, p, size)


__all__ = [
    "NEED_ROOM",
    "PRESENT",
    "SHRINK",
    "add",
    "discard",
    "contains",
    "find",
    "bisect",
    "getitem",
    "delete_at",
    "put",
    "get_value",
    "pop_value",
    "delete_value_at",
    "delete_range",
    "gather",
    "gather_values",
    "fill_sorted",
    "min_fill",
    "merge_limit",
    "chunks_for",
]
