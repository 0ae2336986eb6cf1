"""The examples in the docstrings and the README run and give what they show."""

from __future__ import annotations

import doctest
import pathlib
import re

import jitset
import jitset._gil
import jitset.sortedset

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_docstring_examples():
    for module in (jitset, jitset.sortedset, jitset._gil):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)


def test_readme_usage_examples():
    text = README.read_text()
    usage = re.search(r"## Usage\n(.*?)\n## ", text, re.S).group(1)
    inside = re.search(r"## Inside numba code\n(.*?)\n## ", text, re.S).group(1)
    blocks = re.findall(r"```python\n(.*?)```", usage + inside, re.S)
    assert len(blocks) >= 4
    test = doctest.DocTestParser().get_doctest("".join(blocks), {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
