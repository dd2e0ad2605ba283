"""`ioc loadtest compare`: two reports side by side; a change for the worse beyond the tolerance is a
regression, whichever way the figure is better; a file that is not a report is named."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ioc.ops.loadtest import compare
from ioc.ops.loadtest.report import build
from tests.unit.test_loadreport import synthetic_run


def test_worse_latency_lag_and_rate_are_regressions_and_better_ones_are_not() -> None:
    a = build(synthetic_run(lag_s=0.2))
    b = build(synthetic_run(lag_s=0.5, per_second=[1500.0] * 4))  # a slower worker, fewer readings sent
    table = compare.rows(a, b)
    worse = {r.label for r in compare.regressions(table, 0.10)}
    assert {"Worst lag (time behind)", "Sent by the simulators (mean)", "Sent ÷ target"} <= worse
    assert "Readings sent" not in worse  # a count with no better direction is shown, never judged
    back = {r.label: r.judge(0.10) for r in compare.rows(b, a) if isinstance(r, compare.Row)}
    assert back["Worst lag (time behind)"] == "better" and back["Sent by the simulators (mean)"] == "better"
    lag = next(r for r in table if r.label == "Worst lag (time behind)")
    assert isinstance(lag, compare.Row) and lag.change() == "+300 ms (+150%)" and lag.judge(2.0) == ""
    lines = compare.console(table, 0.10, ("a", "b"))
    assert any("Worst lag (time behind)" in text and "▲ worse" in text for text, _ in lines)
    html = compare.html_page(table, 0.10, ("a", "b"))
    assert '<tr class="worse"><td>Worst lag (time behind)</td>' in html and "regressions</title>" in html


def test_a_report_compared_with_itself_has_no_regressions() -> None:
    a = build(synthetic_run(lag_s=0.2))
    assert compare.regressions(compare.rows(a, a), 0.0) == []


def test_what_is_not_a_report_is_named(tmp_path: Path) -> None:
    with pytest.raises(compare.NotAReport, match="no such file"):
        compare.load(tmp_path / "missing.json")
    old = tmp_path / "old"
    old.mkdir()
    (old / "report.json").write_bytes(orjson.dumps({"summary": {}}))
    with pytest.raises(compare.NotAReport, match=r"old/report.json: not a load-test report of format 2"):
        compare.load(old)
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(compare.NotAReport, match=r"x\.json: not a JSON load-test report"):
        compare.load(tmp_path / "x.json")
