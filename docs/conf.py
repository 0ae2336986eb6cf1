"""Sphinx configuration for jitset's documentation.

Build with warnings as errors (what CI runs)::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

No extension here needs the network (no intersphinx): the build works offline.
"""

from __future__ import annotations

import inspect

import jitset

project = "jitset"
author = "The jitset developers"
copyright = "The jitset developers"
release = jitset.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# experiments/ holds standalone prototypes (Python files the performance page cites), not pages
exclude_patterns = ["_build", "experiments", "**/__pycache__"]
templates_path = ["_templates"]

# MyST: headings get anchors down to ### so pages can link to [text](page.md#a-heading)
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API pages: autosummary writes one page per class into docs/api/ (ignored by
# git, regenerated on every build) from _templates/autosummary/class.rst,
# which lists every public method and documents each with its docstring.
autosummary_generate = True
autosummary_generate_overwrite = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
# keep numpy.typing.ArrayLike by name (expanded, it is a union of five lines)
autodoc_type_aliases = {"ArrayLike": "numpy.typing.ArrayLike"}
autodoc_preserve_defaults = True
# numpydoc renders the sections; the class template, not numpydoc, lists the members
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"jitset {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": []}


def _drop_private_parameters(app, what, name, obj, options, signature, return_annotation):
    """Leave parameters whose name starts with ``_`` (test hooks) out of the rendered signatures."""
    if what not in ("method", "function", "class") or not signature or "_" not in signature:
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    if not any(p.startswith("_") for p in sig.parameters):
        return None
    return signature_without_private(signature), return_annotation


def signature_without_private(signature: str) -> str:
    """``(directory, _hook=None)`` -> ``(directory)``: top-level parameters only, brackets respected."""
    body = signature[1:-1]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    kept = [p.strip() for p in parts if p.strip() and not p.strip().lstrip("*").startswith("_")]
    return "(" + ", ".join(kept) + ")"


def setup(app):
    app.connect("autodoc-process-signature", _drop_private_parameters)
