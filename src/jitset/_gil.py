"""Whether this interpreter has a GIL, read once at import: it picks each new set's thread mode.

With the GIL, a scalar call is one compiled call that holds it, so it is
atomic without a lock.  On a free-threaded CPython (3.13t, 3.14t) nothing
makes it so, and every set made in that process serializes its own scalar
calls (the busy flag of its header, taken by compare-and-swap; see
"Threads" in :mod:`jitset._plumbing`).

``JITSET_SERIALIZE=1`` in the environment forces the serialized path under
a normal interpreter, and ``JITSET_SERIALIZE=0`` forces it off (for
measurements only: without the GIL that loses keys).  The test suite uses
:func:`forcing` to run both paths in one process.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

__all__ = ["SERIALIZED", "gil_enabled", "forcing"]


def gil_enabled() -> bool:
    """Whether the running interpreter has its GIL on (``sys._is_gil_enabled()`` where it exists)."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def _serialized() -> bool:
    forced = os.environ.get("JITSET_SERIALIZE", "")
    if forced not in ("", "0", "1"):
        raise ValueError(f"JITSET_SERIALIZE must be 0 or 1 (or unset), not {forced!r}")
    return not gil_enabled() if forced == "" else forced == "1"


#: Whether sets made from now on serialize their scalar calls (read once, at import).
SERIALIZED: bool = _serialized()


@contextlib.contextmanager
def forcing(serialized: bool) -> Iterator[None]:
    """Make the sets created inside a ``with`` block use the given mode (for tests and benches).

    A set keeps its mode for life, whatever happens to the switch later.

    Examples
    --------
    >>> from jitset import SortedSet
    >>> with forcing(True):
    ...     s = SortedSet([1, 2])
    >>> s._serialized, SortedSet()._serialized == SERIALIZED
    (True, True)
    """
    global SERIALIZED
    saved = SERIALIZED
    SERIALIZED = bool(serialized)
    try:
        yield
    finally:
        SERIALIZED = saved
