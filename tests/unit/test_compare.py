"""Comparing two runs: alerts matched by rule, entity and raise time after each recording's start (not by id),
alerts in one run only, lifecycles that differ, differing final KPIs; warnings for a recording that starts
mid-stream, lacks a topic or has no readings to find its start by."""

from __future__ import annotations

from typing import Any

import orjson

from ioc.ops.recording import compare
from ioc.ops.recording.file import Entry

M = 60_000
T0 = 1_760_410_800_000  # 2025-10-14 10:00 Vietnam time
ALL = ["raw.environment", "raw.traffic", "aggregates", "alerts"]


def frame(group: str, seq: int, tick: int) -> Entry:
    doc = {"v": 1, "type": "FloodMonitoring", "group": group, "seq": seq, "tick": tick, "cols": {}}
    return Entry("raw.environment", 0, seq, 0, group.encode(), orjson.dumps(doc))


def readings(first: int, last: int, step: int = M) -> list[Entry]:
    """One group's frames every minute; seq counts from the simulator's start (T0)."""
    return [frame("wl.cua-lo", (t - T0) // M, t) for t in range(first, last + 1, step)]


def alert(alert_id: str, severity: str, steps: list[tuple[Any, ...]]) -> Entry:
    """steps: (action, at) or (action, at, severity) or (action, at, severity, by)."""
    rule, entity, _ = alert_id.split(":")
    history = []
    for step in steps:
        full: tuple[Any, ...] = (*step, *(None, "system")[len(step) - 2 :])
        action, at, sev, by = full
        history.append({"action": action, "by": by, "at": at, **({"severity": sev} if sev else {})})
    doc = {"kind": "alert", "id": alert_id, "rule": rule, "entity": entity, "severity": severity,
           "history": history}  # fmt: skip
    return Entry("alerts", 0, 0, 0, alert_id.encode(), orjson.dumps(doc))


def kpi(key: str, value: float) -> Entry:
    doc = {"kind": "kpi", "items": [{"id": key, "value": value}]}
    return Entry("aggregates", 0, 0, 0, b"a", orjson.dumps(doc))


def water(t: int) -> Entry:
    doc = {"kind": "water", "final": True, "items": [{"id": "WL-1", "t": t, "currentLevel": 1.0}]}
    return Entry("aggregates", 0, 0, 0, b"w", orjson.dumps(doc))


def run(name: str, entries: list[Entry], topics: list[str] | None = None, **header: Any) -> compare.Run:
    return compare.load(name, {"topics": ALL if topics is None else topics, **header}, entries)


def compared(a: compare.Run, b: compare.Run, tolerance: float = 0.0) -> tuple[compare.Comparison, str]:
    result = compare.compare(a, b, tolerance)
    return result, compare.report(result)


JAM = "traffic-jam:TD-1:" + str(T0 + 10 * M)
FLOOD = "flood-level:WL-1:" + str(T0 + 5 * M)
RUN = [
    *readings(T0, T0 + 60 * M),
    alert(JAM, "high", [("raise", T0 + 20 * M, "high")]),
    alert(JAM, "high", [("raise", T0 + 20 * M, "high"), ("cleared", T0 + 40 * M)]),  # its latest state counts
    alert(FLOOD, "medium", [("raise", T0 + 5 * M, "medium")]),
    kpi("vinh:traffic", 3.0),
    kpi("vinh:traffic", 12.5),
]


def test_identical_runs_have_no_differences() -> None:
    result, text = compared(run("a", RUN), run("b", list(RUN)))
    assert result.none and result.exit_code == 0 and not result.warnings
    assert text.endswith("no differences") and "alerts: 2 in a, 2 in b, 2 matching" in text
    assert "one clock (both hold the same readings), from their first reading at 10-14 10:00:00" in text


def test_differences_are_listed() -> None:
    other = [
        *readings(T0, T0 + 60 * M),
        alert(JAM, "high", [("raise", T0 + 20 * M, "high"), ("cleared", T0 + 50 * M)]),  # cleared later
        alert("air-quality:AQ-1:" + str(T0), "medium", [("raise", T0 + 60 * M, "medium")]),
        kpi("vinh:traffic", 3.0),
        kpi("vinh:traffic", 20.0),
        kpi("vinh:air", 80.0),
    ]
    result, text = compared(run("a", RUN), run("b", other))
    assert [w.split(" raised")[0] for w in result.only_a] == ["flood-level WL-1"]
    assert [w.split(" raised")[0] for w in result.only_b] == ["air-quality AQ-1"]
    assert [c[0].split(" raised")[0] for c in result.changed] == ["traffic-jam TD-1"]
    assert result.changed[0][1:] == (
        "high: raise +0:20:00, cleared +0:40:00",
        "high: raise +0:20:00, cleared +0:50:00",
    )
    assert [k for k, _, _ in result.kpis or []] == ["vinh:air", "vinh:traffic"]
    assert compare.compare(run("a", RUN), run("b", other), kpi_tolerance=10).kpis == [
        (
            "vinh:air",
            None,
            compare.KpiRange(80.0, 80.0, 80.0),
        )  # absent in one run: a difference whatever the tolerance
    ]
    assert "only in a: flood-level WL-1 raised +0:05:00 (10-14 10:05:00, id " + FLOOD in text
    assert "12.5 / 3 / 12.5  vs  20 / 3 / 20" in text
    assert text.endswith("differences found") and result.exit_code == 1


def test_alerts_are_matched_by_raise_time_after_the_start_not_by_id() -> None:
    """The same run a day later: every id differs (ids hold absolute times), every alert matches."""
    day = 24 * 60 * M
    later = [
        *[frame("wl.cua-lo", 10_000 + i, T0 + day + i * M) for i in range(61)],  # not the same frames
        alert(f"traffic-jam:TD-1:{T0 + day + 10 * M}", "high", [("raise", T0 + day + 20 * M, "high"),
                                                                ("cleared", T0 + day + 40 * M)]),
        alert(f"flood-level:WL-1:{T0 + day + 5 * M}", "medium", [("raise", T0 + day + 5 * M, "medium")]),
        kpi("vinh:traffic", 12.5),
    ]  # fmt: skip
    result, text = compared(run("a", RUN), run("b", later))
    assert result.none and result.matching == 2, text
    assert "each recording's first reading (a 10-14 10:00:00, b 10-15 10:00:00)" in text
    shifted = [
        *later[:-3],
        alert(f"flood-level:WL-1:{T0 + day + 5 * M}", "medium", [("raise", T0 + day + 6 * M)]),
    ]
    assert [w.split(" (")[0] for w in compare.compare(run("a", RUN), run("b", shifted)).only_b] == [
        "flood-level WL-1 raised +0:06:00"  # a minute later after its start: not the same alert
    ]


def test_a_live_recording_started_mid_stream_matches_its_replay_and_is_warned_about() -> None:
    """Live: the flood alert was raised at 09:05, cleared, and came back at 10:20 under its old id; a jam
    was open since 09:30. The replay of the recording (from 10:00) raises the flood anew at 10:20 with its
    own id and worsening steps, and the jam after its hold."""
    old_flood = "flood-level:WL-1:" + str(T0 - 55 * M)
    live = [
        *readings(T0, T0 + 60 * M),
        alert(old_flood, "high", [("raise", T0 - 55 * M, "medium"), ("worsened", T0 - 50 * M, "high"),
                                  ("cleared", T0 - 30 * M), ("raised", T0 + 20 * M),
                                  ("acknowledged", T0 + 25 * M, None, "op"), ("cleared", T0 + 45 * M)]),
        alert("traffic-jam:TD-1:" + str(T0 - 40 * M), "high", [("raise", T0 - 30 * M, "high")]),
        alert("air-quality:AQ-1:" + str(T0 - 60 * M), "high", [("raise", T0 - 60 * M, "high"),
                                                               ("cleared", T0 - 10 * M)]),
        kpi("vinh:flood", 0),
    ]  # fmt: skip
    replayed = [
        *readings(T0, T0 + 60 * M),
        alert("flood-level:WL-1:" + str(T0 + 20 * M), "high", [("raise", T0 + 20 * M, "low"),
                                                               ("worsened", T0 + 21 * M, "high"),
                                                               ("acknowledged", T0 + 25 * M, None, "op"),
                                                               ("cleared", T0 + 45 * M)]),
        alert("traffic-jam:TD-1:" + str(T0), "high", [("raise", T0 + 10 * M, "high")]),
        kpi("vinh:flood", 0),
    ]  # fmt: skip
    result, text = compared(run("live", live, earlier_records=5_000), run("replay", replayed))
    assert result.none and result.exit_code == 0, text
    assert result.matching == 1 and result.before == (3, 0)
    assert result.carried == [
        "traffic-jam TD-1: open in live since 10-14 09:30:00 (before its start), raised anew in replay at "
        "+0:10:00"
    ]  # the air-quality alert was cleared before the start: nothing of it is open to carry over
    warning, consequences = [w for w in result.warnings if "mid-stream" in w]
    assert warning == (
        "live starts mid-stream (recorded from now, with records on its topics from before; 3 of its alerts "
        "were raised before its start)"
    )
    assert (
        "VN_AQI needs readings in 2 of the last 3 clock hours" in consequences
        and "first 12 h" in consequences
    )
    assert "warning: a run replayed from a mid-stream start lacks" in text  # once, however many say so
    # Its lifecycle is compared, without the severities: the live alert's carries its past.
    later = alert("flood-level:WL-1:" + str(T0 + 20 * M), "high", [("raise", T0 + 20 * M, "low"),
                                                                  ("cleared", T0 + 50 * M)])  # fmt: skip
    changed = compare.compare(
        run("live", live), run("replay", [*replayed[:-3], later, *replayed[-2:]])
    ).changed
    assert [c[1:] for c in changed] == [
        ("raise +0:20:00, acknowledged +0:25:00, cleared +0:45:00", "raise +0:20:00, cleared +0:50:00")
    ]
    # Of two alerts raised after their start, severities and worsening are compared.
    milder = alert("flood-level:WL-1:" + str(T0 + 20 * M), "low", [("raise", T0 + 20 * M, "low"),
                                                                  ("acknowledged", T0 + 25 * M, None, "op"),
                                                                  ("cleared", T0 + 45 * M)])  # fmt: skip
    changed = compare.compare(
        run("replay", replayed), run("again", [*replayed[:-3], milder, *replayed[-2:]])
    ).changed
    assert [c[1:] for c in changed] == [
        (
            "high: raise +0:20:00, worsened +0:21:00, acknowledged +0:25:00, cleared +0:45:00",
            "low: raise +0:20:00, acknowledged +0:25:00, cleared +0:45:00",
        )
    ]


def test_a_replay_started_later_is_compared_from_its_start_on_one_clock() -> None:
    """`ioc replay --from 10:30`: its readings are the live ones from 10:30."""
    late = [
        *readings(T0 + 30 * M, T0 + 60 * M),
        alert(JAM, "high", [("raise", T0 + 20 * M, "high"), ("cleared", T0 + 40 * M)]),  # as live, if it were
    ]
    live = [*RUN, alert("traffic-jam:TD-2:" + str(T0 + 35 * M), "low", [("raise", T0 + 35 * M, "low")])]
    result, text = compared(run("live", live), run("late", late, topics=["raw.environment", "alerts"]))
    assert (
        "one clock (both hold the same readings), from the later first reading, late's at 10-14 10:30:00"
        in text
    )
    assert result.alerts == (1, 0) and result.before == (2, 1)  # from 10:30: only TD-2 is left to compare
    assert [w.split(" (")[0] for w in result.only_a] == ["traffic-jam TD-2 raised +0:05:00"]
    assert any(w.startswith("late starts +0:30:00 after live's first reading") for w in result.warnings)
    assert any("late holds no aggregates" in w and "KPIs are not compared" in w for w in result.warnings)
    assert result.kpis is None and "KPIs: not compared" in text


def test_a_raw_only_recording_is_named_and_nothing_is_compared() -> None:
    raw_only = run("raw.ioc", readings(T0, T0 + 60 * M), topics=["raw.environment"])
    result, text = compared(run("a", RUN), raw_only)
    assert result.exit_code == 2 and text.endswith("nothing compared")
    (warning,) = result.warnings
    assert warning.startswith("raw.ioc holds no alerts and no aggregates (its topics: raw.environment)")
    assert "--topics raw,aggregates,alerts" in warning and text.startswith("warning: raw.ioc holds")


def test_without_raw_readings_the_start_is_the_first_aggregate_and_says_so() -> None:
    docs = [water(T0 + 2 * M), water(T0 + M), *RUN[-5:]]
    result, text = compared(run("a", [*RUN[:61], *docs]), run("c", docs, topics=["aggregates", "alerts"]))
    assert result.none, text  # a's first reading is 10:00, but both count from their first aggregate
    assert "each recording's first aggregate (a 10-14 10:01:00, c 10-14 10:01:00)" in text
    assert any(w.startswith("c holds no raw readings") for w in result.warnings)
