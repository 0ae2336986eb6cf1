"""The bench command's growth table: how it times sizes, and that it runs.

Timings themselves are never asserted (the machines are noisy; see the
Performance page, docs/performance.md): these tests check what is measured and in
what order, on tiny sets, so that they cost a second or two.
"""

from __future__ import annotations

import io

import pytest

from jitset import _bench_scale
from jitset._bench import _Case


def test_growth_rounds_visit_every_size_before_repeating_one():
    calls = []

    def case(name):
        return _Case(lambda: calls.append(name), 1, restore=lambda: None)

    cases = {
        10: {"bytes": 12.0, "jitset": {"add": case((10, "j")), "s[i]": case((10, "g"))},
             "sortedcontainers": {"add": case((10, "p"))}},
        100: {"bytes": 11.5, "jitset": {"add": case((100, "j")), "s[i]": case((100, "g"))}},
    }
    results = _bench_scale._growth_times(cases, [10, 100], repeats=4, progress=lambda msg: None)

    runs = _bench_scale._RUNS_PER_ROUND
    per_round = [name for name in [(10, "j"), (10, "g"), (10, "p"), (100, "j"), (100, "g")] for _ in range(runs)]
    assert calls == per_round * 4  # each round: every case of every size once, a few runs back to back
    assert set(results) == {10, 100}
    assert results[10]["bytes"] == 12.0 and results[100]["bytes"] == 11.5
    assert set(results[10]) == {"bytes", "jitset", "sortedcontainers"}
    assert set(results[100]) == {"bytes", "jitset"}  # no peer where it was not measured
    assert set(results[10]["jitset"]) == {"add", "s[i]"}
    assert all(v > 0 for v in results[10]["jitset"].values())


def test_growth_prints_every_operation_at_every_size():
    pytest.importorskip("sortedcontainers")
    out = io.StringIO()
    assert _bench_scale.growth(sizes=(1_000, 4_000), batch=100, calls=50, repeats=2, churn_batches=2, out=out) == 0
    text = out.getvalue()
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    for op, _ in _bench_scale._GROWTH_OPS:
        # jitset at both sizes, then sortedcontainers at both: four figures
        figures = lines[op].replace("|", " ").split()[1:]
        assert len(figures) == 4, lines[op]
    assert "bytes/key" in lines
    assert "memory at 4,000 keys" in text


def test_dict_table_prints_every_row_against_every_peer():
    from jitset import _bench_dict

    out = io.StringIO()
    assert _bench_dict.run(size=3_000, batch=300, repeats=1, out=out) == 0
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.startswith("operation"))
    assert all(peer in header for peer in ("SortedSet", "numpy", "sortedcontainers"))
    for row, _ in _bench_dict.ROWS:
        assert any(line.startswith(row + " ") for line in lines), row
