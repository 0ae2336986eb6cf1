"""The examples in the docstrings and the README run and give what they show."""

from __future__ import annotations

import doctest
import pathlib
import re

import jitset
import jitset.sortedset

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_docstring_examples():
    for module in (jitset, jitset.sortedset):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)


def test_readme_usage_example():
    text = README.read_text()
    block = re.search(r"## Usage\s+```python\n(.*?)```", text, re.S).group(1)
    test = doctest.DocTestParser().get_doctest(block, {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
