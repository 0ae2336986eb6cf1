"""Shared test configuration.

The "ci" hypothesis profile has no deadline: the first call of a kernel for a
dtype may compile it (or load it from numba's cache), which takes far longer
than any single example should.  ``print_blob`` makes a failure reproducible
with ``@reproduce_failure``.  Select another profile with HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
