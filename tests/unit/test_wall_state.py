"""Wall state beyond air quality: every domain's entities with a map state, alerts entering and leaving the
wall, KPI trends for the charts, alert filters and the REST sensor view's worst alert."""

from __future__ import annotations

from typing import Any

import pytest

from ioc.city import load_city
from ioc.contract.documents import FLOOD_STATUSES, MAP_STATES
from web.state import FLOOD_STATE, TREND_MS, AlertFilter, Subscription, WallState, status_of

CITY = load_city()


def alert(entity: str, status: str, severity: str = "high", t: int = 1000, rule: str = "flood-level") -> dict:
    return {
        "v": 1,
        "kind": "alert",
        "id": f"{rule}:{entity}:{t}",
        "rule": rule,
        "entity": entity,
        "category": "naturalDisaster",
        "subCategory": "flood",
        "severity": severity,
        "dateIssued": t,
        "status": status,
        "history": [],
    }


def kpi(area: str, name: str, value: float) -> dict[str, Any]:
    item = {"id": f"{area}:{name}", "area": area, "kpi": name, "value": value, "standing": "good"}
    return {"v": 1, "kind": "kpi", "group": area, "items": [{**item, "entities": 3}]}


def test_every_domain_reaches_the_wall_with_area_domain_and_map_state() -> None:
    s = WallState(CITY)
    cabinet = CITY.sensors_of("StreetlightControlCabinet")[0]
    lane = CITY.sensors_of("TrafficFlowObserved")[0]
    hospital = next(iter(CITY.hospitals.values()))
    s.apply(
        {"kind": "lighting", "group": cabinet.area, "items": [{"id": cabinet.id, "t": 5, "online": False}]}
    )
    s.apply({"kind": "traffic", "final": False, "items": [{"id": lane.id, "t": 6, "level": 4}]})
    s.apply({"kind": "traffic", "final": True, "items": [{"id": lane.id, "t": 1, "level": 0}]})  # history
    s.apply({"kind": "hospital", "group": f"hc.{hospital.id}", "items": [{"id": hospital.id, "t": 7}]})
    got = {k: (v["domain"], v["area"], v["state"]) for k, v in s.items.items()}
    assert got == {
        f"lighting:{cabinet.id}": ("lighting", cabinet.area, "offline"),
        f"traffic:{lane.id}": ("traffic", lane.area, "alarm"),
        f"hospital:{hospital.id}": ("health", hospital.area, "ok"),
    }
    assert s.sim_time_ms == 7


@pytest.mark.parametrize(
    ("kind", "item", "state"),
    [
        ("lighting", {"online": True, "faulty": 0, "schedule_ok": 0.0}, "warning"),  # 0.0 is off schedule
        ("lighting", {"online": True, "faulty": 0, "schedule_ok": 1.0}, "ok"),
        ("water", {"status": "alert1"}, "warning"),
        ("water", {"status": "alert3"}, "alarm"),
        ("aqi", {"band": 3}, "warning"),
        ("aqi", {"band": 5}, "alarm"),
        ("hospital", {"wait_p90_min": 130}, "alarm"),
    ],
)
def test_map_state_of_a_value(kind: str, item: dict[str, Any], state: str) -> None:
    assert status_of(kind, item) == state


def test_alerts_are_on_the_wall_while_active_and_pushed_once_when_they_leave() -> None:
    s = WallState(CITY)
    s.apply(alert("WL-VIN-NVC", "raised"))
    s.apply(alert("WL-VIN-NVC", "acknowledged"))
    [change] = s.take_changes()  # coalesced: one change in its latest state
    assert change["status"] == "acknowledged"
    assert (change["area"], change["domain"]) == ("vinh", "environment")
    assert "alert:flood-level:WL-VIN-NVC:1000" in s.items
    s.apply(alert("WL-VIN-NVC", "cleared"))
    [gone] = s.take_changes()
    assert gone["status"] == "cleared"
    assert s.snapshot(Subscription()) == []  # a reconnecting client does not see it
    assert s.alerts["flood-level:WL-VIN-NVC:1000"]["status"] == "cleared"  # the REST API still does


def test_alert_filter_and_order_most_severe_then_newest() -> None:
    s = WallState(CITY)
    s.apply(alert("WL-VIN-NVC", "raised", "medium", t=1))
    s.apply(alert("WL-CL-PORT", "raised", "critical", t=2))
    s.apply(alert("AQ-VIN-01", "acknowledged", "high", t=3, rule="air-quality"))
    s.apply(alert("WL-VIN-LN", "raised", "high", t=4))
    everything = s.alert_list(AlertFilter(), 10)
    assert [a["entity"] for a in everything] == ["WL-CL-PORT", "WL-VIN-LN", "AQ-VIN-01", "WL-VIN-NVC"]
    raised_vinh = AlertFilter(status=frozenset({"raised"}), area="vinh")
    assert [a["entity"] for a in s.alert_list(raised_vinh, 10)] == ["WL-VIN-LN", "WL-VIN-NVC"]
    assert [a["entity"] for a in s.alert_list(AlertFilter(rule="air-quality"), 10)] == ["AQ-VIN-01"]
    assert len(s.alert_list(AlertFilter(since=3), 10)) == 2
    assert s.worst_alerts()["WL-CL-PORT"]["severity"] == "critical"


def test_kpi_trend_keeps_the_last_hour_of_changes_stamped_with_the_wall_clock() -> None:
    s = WallState(CITY)
    minute = 60_000
    for k in range(90):
        s.sim_time_ms = k * minute
        s.apply(kpi("vinh", "traffic", float(k // 2)))  # changes every other minute
    ts, values = s.trend_snapshot(Subscription())["kpi:vinh:traffic"]
    assert ts[-1] == 88 * minute and values[-1] == 44.0
    assert ts[0] >= 88 * minute - TREND_MS - 2 * minute
    assert ts[0] <= 88 * minute - TREND_MS  # the value in force at the window's start is kept
    assert len(ts) == len(set(ts)) <= 32  # only changes, only the last hour
    assert s.trend_snapshot(Subscription(domains=frozenset({"health"}))) == {}
    assert s.items["kpi:vinh:traffic"]["domain"] == "traffic"


def test_a_value_that_held_for_long_before_a_change_is_the_one_in_force_at_the_windows_start() -> None:
    s = WallState(CITY)
    s.sim_time_ms = 0
    s.apply(kpi("vinh", "flood", 2.0))
    s.sim_time_ms = 2 * TREND_MS  # two hours of the same value, then a change
    s.apply(kpi("vinh", "flood", 3.0))
    ts, values = s.trend_snapshot(Subscription())["kpi:vinh:flood"]
    assert (ts, values) == ([0, 2 * TREND_MS], [2.0, 3.0])


def test_markers_are_the_last_hours_alerts_of_any_status() -> None:
    s = WallState(CITY)
    s.sim_time_ms = 2 * TREND_MS
    s.apply(alert("WL-VIN-NVC", "cleared", t=TREND_MS - 1))  # older than an hour
    s.apply(alert("WL-VIN-LN", "cleared", t=TREND_MS + 5))
    s.apply(alert("AQ-CL-01", "raised", t=TREND_MS + 6, rule="air-quality"))
    assert [m["entity"] for m in s.markers(Subscription())] == ["WL-VIN-LN", "AQ-CL-01"]
    assert [m["entity"] for m in s.markers(Subscription(areas=frozenset({"cua-lo"})))] == ["AQ-CL-01"]


def test_every_flood_status_has_a_map_state() -> None:
    assert set(FLOOD_STATE) == set(FLOOD_STATUSES)
    assert set(FLOOD_STATE.values()) <= set(MAP_STATES)


def test_what_is_not_an_alert_document_is_refused_and_an_alert_is_kept_in_json_types() -> None:
    s = WallState(CITY)
    broken = {k: v for k, v in alert("WL-VIN-NVC", "raised").items() if k != "subCategory"}
    with pytest.raises(ValueError):
        s.apply(broken)  # the feed dead-letters it
    with pytest.raises(ValueError):
        s.apply(alert("WL-VIN-NVC", "forgotten"))  # no such status
    assert s.alerts == {} and s.take_changes() == []
    s.apply(alert("WL-VIN-NVC", "raised", "critical"))
    [held] = s.alerts.values()
    assert type(held["severity"]) is str and type(held["status"]) is str  # encoded as the feed sent them
    assert "v" not in held and "assignee" not in held  # nothing added that the document did not carry


def test_the_replay_banner_takes_only_a_replay_status() -> None:
    s = WallState(CITY)
    status = {"v": 1, "kind": "replay", "job": "j", "speed": 10, "state": "paused", "sim_ms": 5}
    with pytest.raises(ValueError):
        s.apply(status)  # no position, records nor time: not what a replay publishes
    assert s.replay is None
    s.apply({**status, "position": 3, "records": 9, "at": 7})
    assert s.replay is not None and (s.replay.job, s.replay.state, s.replay.speed) == ("j", "paused", 10.0)
    [change] = s.take_changes()
    assert change["key"] == "replay:status" and change["state"] == "paused"
