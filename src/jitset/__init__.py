"""jitset: a sorted set and a sorted map of fixed-width keys in chunked NumPy arrays.

numba kernels do the searching, shifting, splitting and merging; every
mutation reports the index it affected.

>>> from jitset import SortedSet
>>> s = SortedSet([5, 1, 9])
>>> s.add(7)
2
"""

from jitset._version import __version__
from jitset.sortedset import DEFAULT_CHUNK_SIZE, SortedSet
from jitset.sorteddict import SortedDict  # after SortedSet: a dict holds one

__all__ = ["SortedSet", "SortedDict", "DEFAULT_CHUNK_SIZE", "__version__"]
