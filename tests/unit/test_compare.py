"""Comparing two runs: alerts in one run only, alerts whose lifecycle differs, differing final KPIs."""

from __future__ import annotations

import orjson

from ioc.ops.recording import compare
from ioc.ops.recording.file import Entry


def alert(alert_id: str, severity: str, steps: list[tuple[str, int]]) -> Entry:
    doc = {"kind": "alert", "id": alert_id, "severity": severity,
           "history": [{"action": a, "by": "system", "at": t} for a, t in steps]}  # fmt: skip
    return Entry("alerts", 0, 0, 0, alert_id.encode(), orjson.dumps(doc))


def kpi(key: str, value: float) -> Entry:
    doc = {"kind": "kpi", "items": [{"id": key, "value": value}]}
    return Entry("aggregates", 0, 0, 0, b"a", orjson.dumps(doc))


RUN = [
    alert("traffic-jam:TD-1:100", "high", [("raise", 100)]),
    alert("traffic-jam:TD-1:100", "high", [("raise", 100), ("cleared", 700)]),  # its latest state counts
    alert("flood-level:WL-1:50", "medium", [("raise", 50)]),
    kpi("vinh:traffic", 3.0),
    kpi("vinh:traffic", 12.5),
]


def test_identical_runs_have_no_differences() -> None:
    diff = compare.compare(RUN, list(RUN))
    assert diff.none
    text = compare.report(diff, "a", "b", compare.timeline(RUN), compare.timeline(RUN))
    assert text.endswith("no differences") and "alerts: 2 in a, 2 in b" in text


def test_differences_are_listed() -> None:
    other = [
        alert("traffic-jam:TD-1:100", "high", [("raise", 100), ("cleared", 1300)]),  # cleared later
        alert("air-quality:AQ-1:10", "medium", [("raise", 10)]),
        kpi("vinh:traffic", 3.0),
        kpi("vinh:traffic", 20.0),
        kpi("vinh:air", 80.0),
    ]
    diff = compare.compare(RUN, other)
    assert diff.only_a == ["flood-level:WL-1:50"] and diff.only_b == ["air-quality:AQ-1:10"]
    assert [c[0] for c in diff.changed] == ["traffic-jam:TD-1:100"]
    assert [k for k, _, _ in diff.kpis] == ["vinh:air", "vinh:traffic"]
    assert compare.compare(RUN, other, kpi_tolerance=10).kpis[0][0] == "vinh:air"  # absent in one run
    text = compare.report(diff, "a", "b", compare.timeline(RUN), compare.timeline(other))
    assert "cleared 01-01 07:00" in text and "12.5 / 3 / 12.5  vs  20 / 3 / 20" in text
    assert text.endswith("differences found")
