"""The examples in the docstrings, the guide's pages and the README run and give what they show."""

from __future__ import annotations

import doctest
import pathlib
import re

import pytest

import jitset
import jitset._gil
import jitset.sorteddict
import jitset.sortedset

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# The guide's pages that must show runnable examples (a page dropping all of
# them fails here instead of silently testing nothing); every other docs/*.md
# page with ``>>>`` examples runs too.
PAGES_WITH_EXAMPLES = {
    "index.md",
    "keys.md",
    "maps.md",
    "indices.md",
    "batches.md",
    "algebra.md",
    "numba.md",
    "threads.md",
    "persistence.md",
}


def _run_python_blocks(text: str, name: str, path: pathlib.Path) -> doctest.DocTestRunner:
    """Run the ```python blocks of ``text`` as one doctest (the blocks share their names, in order)."""
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    test = doctest.DocTestParser().get_doctest("".join(blocks), {}, name, str(path), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    return runner


def _pages() -> list[pathlib.Path]:
    return sorted(p for p in DOCS.glob("*.md") if p.name in PAGES_WITH_EXAMPLES or ">>>" in p.read_text())


def test_docstring_examples():
    for module in (jitset, jitset.sortedset, jitset.sorteddict, jitset._gil):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)


def test_guide_pages_have_examples():
    missing = PAGES_WITH_EXAMPLES - {p.name for p in DOCS.glob("*.md")}
    assert not missing, f"pages listed in PAGES_WITH_EXAMPLES but not in docs/: {sorted(missing)}"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_guide_examples(page: pathlib.Path):
    runner = _run_python_blocks(page.read_text(encoding="utf-8"), page.stem, page)
    assert runner.tries > 0, f"{page.name} has no >>> examples in its ```python blocks"
    assert runner.failures == 0


def test_readme_usage_example():
    text = README.read_text(encoding="utf-8")
    usage = re.search(r"^## Usage\n(.*?)^## ", text, re.S | re.M).group(1)
    runner = _run_python_blocks(usage, "README", README)
    assert runner.tries > 0 and runner.failures == 0


def test_readme_order_book_example():
    """The README's SortedDict section: jitset's book and sortedcontainers' agree."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Sorted maps: an order book\n(.*?)^## ", text, re.S | re.M).group(1)
    runner = _run_python_blocks(section, "README-maps", README)
    assert runner.tries > 0 and runner.failures == 0
