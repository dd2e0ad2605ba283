"""Load-test thresholds: written as a load tester writes them (k6's `p(99)<1000` spelt `e2e_p99<1s`), read
strictly (a wrong one is refused with what is wrong), and judged on a report: pass, fail or not judged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ioc.ops.loadtest import slo


@pytest.mark.parametrize(
    ("text", "figure", "op", "limit"),
    [
        ("e2e_p99<1s", "e2e_p99", "<", 1000.0),
        (" e2e_p99.9 <= 2500ms ", "e2e_p99.9", "<=", 2500.0),
        ("produce_p50<5ms", "produce_p50", "<", 5.0),
        ("lag_max<2s", "lag_max", "<", 2000.0),
        ("lag_max_readings<50k", "lag_max_readings", "<", 50_000.0),
        ("dropped==0", "dropped", "==", 0.0),
        ("achieved>=19.5k/s", "achieved", ">=", 19_500.0),
        ("achieved_ratio>95%", "achieved_ratio", ">", 0.95),
        ("achieved_ratio>0.95", "achieved_ratio", ">", 0.95),
        ("pacing_max_deviation<10%", "pacing_max_deviation", "<", 0.10),
        ("drain<1m", "drain", "<", 60_000.0),
        ("e2e_max!=0ms", "e2e_max", "!=", 0.0),
    ],
)
def test_thresholds_read_like_a_load_tester_writes_them(
    text: str, figure: str, op: str, limit: float
) -> None:
    (t,) = slo.parse(text)
    assert (t.figure.name, t.op, t.limit) == (figure, op, pytest.approx(limit))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("e2e_p99<<1s", "is not a number"),
        ("e2e_p99<1", "unit of time"),
        ("e2e_p99<1kg", "unit of time"),
        ("latency<1s", "unknown figure 'latency'"),
        ("e2e_p100<1s", "unknown figure"),
        ("dropped=0", "is not FIGURE OP VALUE"),
        ("dropped==none", "is not a number"),
        ("dropped==5s", "is a count"),
        ("achieved_ratio>95 percent", "is a share"),
        ("e2e_p99", "is not FIGURE OP VALUE"),
    ],
)
def test_a_wrong_threshold_is_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        slo.parse(text)


def test_a_file_holds_thresholds_with_comments_and_names_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "slo.txt"
    good.write_text("# the wall's promise\ne2e_p99<1s, e2e_p50<500ms\n\nlag_max<2s  # worker keeps up\n")
    assert [t.text for t in slo.read(good)] == ["e2e_p99<1s", "e2e_p50<500ms", "lag_max<2s"]
    bad = tmp_path / "bad.txt"
    bad.write_text("e2e_p99<1s\nlag_max<2\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: lag_max: give '2' a unit of time"):
        slo.read(bad)


def report(e2e: dict[str, Any], dropped: int = 0) -> dict[str, Any]:
    return {
        "summary": {"e2e_latency_ms": e2e, "readings_dropped": dropped, "lag_max_seconds": 0.4},
        "errors": {"deadletter_readings": {}},
        "plan": {"percentiles": [50, 99]},
    }


def test_each_threshold_passes_fails_or_is_not_judged_and_so_does_the_whole() -> None:
    ts = slo.parse("e2e_p99<1s,lag_max<500ms,dropped==0")
    ok = slo.judge(ts, report({"count": 5000, "p99": 900.0}))
    assert [r["verdict"] for r in ok["results"]] == ["pass", "pass", "pass"] and ok["verdict"] == "pass"
    assert ok["results"][1]["shown"] == "400 ms" and ok["results"][1]["label"] == "Worst lag (time behind)"
    bad = slo.judge(ts, report({"count": 5000, "p99": 1200.0}, dropped=3))
    assert [r["verdict"] for r in bad["results"]] == ["fail", "pass", "fail"] and bad["verdict"] == "fail"
    few = slo.judge(ts, report({"count": 304, "p99": None}))
    assert few["results"][0]["verdict"] == "not judged" and few["verdict"] == "not judged"
    assert few["results"][0]["note"] == "n too small: 304 samples, p99 needs 1,000"
    assert slo.judge([], report({"count": 0}))["verdict"] == "none"
