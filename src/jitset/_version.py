"""jitset's version: the one place it is written.

``pyproject.toml`` reads it (``[tool.setuptools.dynamic]``: statically, so a
build never imports jitset or numba), and ``jitset.__version__`` and
``python -m jitset --version`` import it.
"""

__version__ = "0.1.0"
