"""Alert rules with a dead band and holds on every rule, deduplication, the lifecycle with who/when/comment,
and a severity that follows the condition alone (no escalation by time in the worker)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from processors.alerts import ActionError, AlertBook, default_rules

M = 60_000
STREET = [0.2, 0.4, 0.7]  # a street gauge's alert levels 1-3: one step = 0.2 m, the dead band 5 cm
RULES = {rule.id: rule for rule in default_rules()}


def water(t: int, level: float, gauge: str = "WL-VIN-NVC") -> dict[str, Any]:
    status = ("normal", "alert1", "alert2", "alert3")[sum(level >= x for x in STREET)]
    item = {"id": gauge, "t": t, "currentLevel": level, "levels": STREET, "status": status}
    return {"kind": "water", "final": True, "items": [item]}


def jam(t: int, level: int) -> dict[str, Any]:
    return {"kind": "traffic", "final": True, "items": [{"id": "TD-HM-02-A1", "t": t, "level": level}]}


def air(t: int, aqi: int) -> dict[str, Any]:
    return {"kind": "aqi", "final": True, "items": [{"id": "AQ-VIN-01", "t": t, "aqi": aqi}]}


def cabinet(t: int, offline: int) -> dict[str, Any]:
    return {"kind": "lighting", "final": True, "items": [{"id": "LC-VIN-001", "t": t, "online": not offline}]}


def waits(t: int, p90: float | None) -> dict[str, Any]:
    return {"kind": "hospital", "final": True, "items": [{"id": "bv-ha-tinh", "t": t, "wait_p90_min": p90}]}


def actions(doc: dict[str, Any]) -> list[str]:
    return [h["action"] for h in doc["history"]]


def flood_level(book: AlertBook) -> list[dict[str, Any]]:
    """The flood-level documents drained (water that jumps also trips flood-rising)."""
    return [d for d in book.drain() if d["rule"] == "flood-level"]


def test_a_flood_raises_once_worsens_clears_and_returns() -> None:
    book = AlertBook()
    book.observe(water(0, 0.21))
    book.observe(water(M, 0.22))  # same rule and entity: no second alert
    (doc,) = flood_level(book)
    assert (doc["category"], doc["subCategory"], doc["severity"], doc["status"]) == (
        "naturalDisaster",
        "flood",
        "medium",
        "raised",
    )
    book.observe(water(2 * M, 0.75))
    assert flood_level(book)[0]["severity"] == "critical"
    book.observe(water(3 * M, 0.10))
    book.observe(water(12 * M, 0.10))
    assert flood_level(book) == []  # past the clear line for 9 minutes: not yet
    book.observe(water(13 * M, 0.10))
    (cleared,) = flood_level(book)
    assert cleared["status"] == "cleared" and cleared["history"][-1]["at"] == 13 * M
    assert cleared["severity"] == "critical"  # the worst the condition reached
    book.observe(water(14 * M, 0.45))
    (again,) = flood_level(book)
    assert again["id"] == doc["id"] and again["status"] == "raised"
    assert [a.id for a in book.alerts.values() if a.rule == "flood-level"] == [doc["id"]]


def test_water_at_the_line_with_noise_raises_once_and_clears_only_below_the_band_after_the_hold() -> None:
    book = AlertBook()
    for minute in range(240):  # four hours at level 1 ± 3 cm (a tide, a shower, sensor noise)
        book.observe(water(minute * M, round(0.2 + 0.03 * math.sin(minute / 7), 3)))
    (doc,) = book.drain()
    assert actions(doc) == ["raise"] and doc["status"] == "raised" and doc["dateIssued"] == 0
    for minute in range(240, 300):  # an hour 4 cm under the line: in the dead band (5 cm), still a flood
        book.observe(water(minute * M, 0.16))
    assert book.drain() == []
    for minute in range(300, 310):  # under the clear line (0.15 m) for 9 minutes: not yet
        book.observe(water(minute * M, 0.14))
    assert book.drain() == []
    book.observe(water(310 * M, 0.14))
    (cleared,) = book.drain()
    assert cleared["status"] == "cleared" and cleared["history"][-1]["at"] == 310 * M
    for minute in range(311, 400):  # back in the band: a cleared alert does not come back from there
        book.observe(water(minute * M, 0.18 + 0.01 * (minute % 2)))
    assert book.drain() == []


def test_severity_at_a_higher_line_steps_up_once_and_never_down() -> None:
    book = AlertBook()
    for minute in range(60):  # at level 2 ± 1 cm
        book.observe(water(minute * M, 0.39 + 0.02 * (minute % 2)))
    (doc,) = book.drain()
    assert actions(doc) == ["raise", "worsened"] and doc["severity"] == "high"


def test_the_holds_are_the_ones_the_readme_documents() -> None:
    holds = {rule.id: (rule.raise_hold_ms // M, rule.clear_hold_ms // M) for rule in default_rules()}
    assert holds == {"flood-level": (0, 10), "flood-rising": (0, 10), "air-quality": (0, 60),
                     "traffic-jam": (10, 5), "traffic-anomaly": (0, 5), "cabinet-offline": (0, 5),
                     "hospital-waits": (30, 15)}  # fmt: skip


# (rule, document at a value, above the raise line, in the dead band, past the clear line, event time step)
BANDS: list[tuple[str, Callable[[int, Any], dict[str, Any]], Any, Any, Any, int]] = [
    ("flood-level", water, 0.21, 0.17, 0.14, M),
    ("air-quality", air, 151, 145, 140, 60 * M),
    ("traffic-jam", jam, 4, 3, 2, 5 * M),
    ("cabinet-offline", cabinet, 1, None, 0, M),  # yes/no: no band; the clear hold does its work
    ("hospital-waits", waits, 125.0, 115.0, 110.0, 5 * M),
]


@pytest.mark.parametrize(("rule", "doc", "above", "band", "past", "step"), BANDS)
def test_every_rule_oscillating_at_its_line_raises_once_and_clears_past_the_band_after_the_hold(
    rule: str, doc: Callable[[int, Any], dict[str, Any]], above: Any, band: Any, past: Any, step: int
) -> None:
    raise_hold, clear_hold = RULES[rule].raise_hold_ms, RULES[rule].clear_hold_ms
    assert clear_hold >= step  # a single reading past the clear line never clears
    book, t = AlertBook(), 0
    under = past if band is None else band
    for k in range(raise_hold // step + 12):  # above and just under the line by turns
        book.observe(doc(t := k * step, above if k % 2 == 0 else under))
    book.observe(doc(t := t + step, above))  # ending above: the clear hold below starts from scratch
    (raised,) = book.drain()
    assert raised["rule"] == rule and actions(raised) == ["raise"]
    assert raised["dateIssued"] == -(-raise_hold // step) * step  # after the raise hold, not before
    if band is not None:  # in the dead band for longer than the clear hold: the condition still holds
        start = t + step
        for t in range(start, start + clear_hold + 2 * step, step):
            book.observe(doc(t, band))
        assert book.drain() == []
    gone = t + step
    for t in range(gone, gone + clear_hold, step):  # past the clear line, one step short of the hold
        book.observe(doc(t, past))
    assert book.drain() == []
    book.observe(doc(gone + clear_hold, past))
    (cleared,) = book.drain()
    assert cleared["status"] == "cleared" and cleared["history"][-1]["at"] == gone + clear_hold
    back = gone + clear_hold + step
    for t in range(back, back + raise_hold + step, step):  # the condition back: held again before it returns
        book.observe(doc(t, above))
    (returned,) = book.drain()
    assert returned["id"] == raised["id"] and returned["status"] == "raised"
    assert returned["history"][-1] == {
        "action": "raised", "by": "system", "at": back + raise_hold, "comment": "condition returned"
    }  # fmt: skip


def test_a_jam_must_hold_ten_minutes_before_it_raises() -> None:
    book = AlertBook()
    for minute in range(0, 10, 5):
        book.observe(jam(minute * M, 5))
    book.observe(jam(10 * M, 1))  # over before the hold: no alert
    for minute in range(15, 25, 5):
        book.observe(jam(minute * M, 5))
    assert book.drain() == []
    book.observe(jam(25 * M, 5))
    (doc,) = book.drain()
    assert (
        doc["subCategory"] == "trafficJam" and doc["dateIssued"] == 25 * M and doc["id"].endswith(":900000")
    )


def test_lifecycle_records_who_when_and_why() -> None:
    book = AlertBook()
    book.observe(water(0, 0.45))
    alert_id = book.drain()[0]["id"]
    book.act(
        {"alert": alert_id, "action": "acknowledge", "by": "op.lan", "at": 5 * M, "comment": "seen on camera"}
    )
    book.act(
        {"alert": alert_id, "action": "assign", "by": "op.lan", "at": 6 * M, "assignee": "pumping-team-2"}
    )
    book.act(
        {"alert": alert_id, "action": "comment", "by": "op.minh", "at": 7 * M, "comment": "pumps running"}
    )
    book.observe(water(20 * M, 0.05))
    book.observe(water(30 * M, 0.05))
    book.act({"alert": alert_id, "action": "resolve", "by": "op.minh", "at": 40 * M, "comment": "drained"})
    doc = book.drain()[-1]
    assert doc["status"] == "resolved" and doc["assignee"] == "pumping-team-2"
    trail = [(h["action"], h["by"], h["at"]) for h in doc["history"]]
    assert trail == [
        ("raise", "system", 0),
        ("acknowledged", "op.lan", 5 * M),
        ("assign", "op.lan", 6 * M),
        ("comment", "op.minh", 7 * M),
        ("cleared", "system", 30 * M),
        ("resolved", "op.minh", 40 * M),
    ]
    # Resolved: the same flood later is a new alert.
    book.observe(water(60 * M, 0.25))
    assert book.drain()[0]["id"] != alert_id


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"action": "acknowledge"}, "acknowledge needs it raised"),
        ({"action": "assign", "by": "x"}, "assignee"),
        ({"action": "delete"}, "one of"),
        ({"alert": "nope"}, "no alert"),
    ],
)
def test_actions_the_state_does_not_allow_are_refused(action: dict[str, object], message: str) -> None:
    book = AlertBook()
    book.observe(water(0, 0.45))
    alert_id = book.drain()[0]["id"]
    book.act({"alert": alert_id, "action": "acknowledge", "by": "op", "at": 1})
    with pytest.raises(ActionError, match=message):
        book.act({"alert": alert_id, "by": "op", "at": 2, **action})


def test_an_unacknowledged_alert_keeps_the_severity_its_condition_reached_however_long() -> None:
    book = AlertBook()
    for minute in range(0, 600, 5):  # ten hours at level 1, nobody acknowledging
        book.observe(water(minute * M, 0.25))
    (doc,) = book.drain()
    assert (doc["severity"], doc["escalations"], actions(doc)) == ("medium", 0, ["raise"])


def test_live_documents_are_not_judged_by_rules_made_for_final_ones() -> None:
    book = AlertBook()
    book.observe(
        {"kind": "water", "items": [{"id": "WL-VIN-NVC", "t": 0, "currentLevel": 0.8, "levels": STREET}]}
    )
    assert book.drain() == []


def test_an_item_without_a_value_is_no_news_either_way() -> None:
    book = AlertBook()
    book.observe(waits(0, 200.0))
    book.observe(waits(30 * M, 200.0))
    assert actions(book.drain()[0]) == ["raise"]
    for minute in range(35, 120, 5):
        book.observe(waits(minute * M, None))  # the clinic's queue is empty: no p90, not a recovery
    assert book.drain() == []


def test_an_alert_cleared_on_its_own_clock_is_not_moved_by_other_lanes_running_ahead() -> None:
    book = AlertBook()
    book.observe(water(0, 0.25))
    book.observe(water(140 * M, 0.05, gauge="WL-VIN-LN"))  # a partition read far ahead (a catch-up)
    book.observe(water(5 * M, 0.05))  # the flood clears on its own clock ...
    book.observe(water(15 * M, 0.05))  # ... after 10 minutes past the clear line
    (alert,) = book.drain()
    assert actions(alert) == ["raise", "cleared"]


def test_resolving_while_the_condition_holds_starts_a_new_alert_later() -> None:
    book = AlertBook()
    book.observe(water(0, 0.45))
    first = book.drain()[0]["id"]
    book.act({"alert": first, "action": "resolve", "by": "op", "at": M})
    book.observe(water(2 * M, 0.45))
    second = book.drain()[-1]
    assert second["id"] != first and second["status"] == "raised"
    assert book.alerts[first].status == "resolved"


def test_a_worker_taking_over_continues_the_published_alerts() -> None:
    first = AlertBook()
    first.observe(water(0, 0.45))
    (raised,) = first.drain()
    first.act({"alert": raised["id"], "action": "acknowledge", "by": "op-lan", "at": M, "comment": "đã nhận"})
    published = [raised, *first.drain()]

    heir = AlertBook()
    assert heir.restore(published) == 1
    heir.observe(water(2 * M, 0.45))  # still flooded: the same alert, not a new one
    assert heir.drain() == [] and list(heir.alerts) == [raised["id"]]
    heir.observe(water(60 * M, 0.17))  # in the dead band: the condition the heir took over still holds
    assert heir.drain() == []
    heir.observe(water(63 * M, 0.05))
    heir.observe(water(73 * M, 0.05))
    (cleared,) = heir.drain()
    assert cleared["id"] == raised["id"] and cleared["status"] == "cleared"
    assert actions(cleared) == ["raise", "acknowledged", "cleared"]
    heir.act({"alert": raised["id"], "action": "resolve", "by": "op-lan", "at": 74 * M})
    assert heir.drain()[0]["status"] == "resolved"

    heir.forget(lambda entity: entity == "WL-VIN-NVC")
    assert not heir.alerts and not heir.open and not heir.holding


def test_an_old_document_published_again_cannot_re_raise_a_cleared_alert() -> None:
    book = AlertBook()
    old = water(0, 0.45)
    book.observe(old)
    book.observe(water(M, 0.05))
    book.observe(water(12 * M, 0.05))
    assert book.drain()[-1]["status"] == "cleared"
    book.observe(old)  # the same signed document, replayed onto the topic
    assert book.drain() == []


def act(book: AlertBook, alert_id: str, action: str, at: int, **more: object) -> None:
    book.act({"alert": alert_id, "action": action, "by": "op.lan", "at": at, **more})


def test_an_operator_clears_a_false_alarm_that_returns_only_after_the_condition_went_away() -> None:
    book = AlertBook()
    book.observe(water(0, 0.5))
    alert_id = flood_level(book)[0]["id"]
    act(book, alert_id, "clear", M, comment="gauge fouled by debris")
    book.observe(water(2 * M, 0.5))  # the gauge still says so: the operator's word holds
    book.observe(water(3 * M, 0.3))
    (doc,) = flood_level(book)
    assert doc["status"] == "cleared"
    assert [(h["action"], h["by"], h["comment"]) for h in doc["history"]] == [
        ("raise", "system", "Water above alert level 1-3"),
        ("cleared", "op.lan", "gauge fouled by debris"),
    ]
    with pytest.raises(ActionError, match="is cleared; clear needs it raised or acknowledged or assigned"):
        act(book, alert_id, "clear", 3 * M)
    book.observe(water(4 * M, 0.1))  # gone once ...
    book.observe(water(5 * M, 0.3))  # ... and back: the same alert, raised again
    assert flood_level(book)[-1]["status"] == "raised" and list(book.alerts) == [alert_id]


def test_a_cleared_alert_comes_back_at_once_when_the_condition_gets_worse() -> None:
    book = AlertBook()
    book.observe(water(0, 0.3))
    alert_id = flood_level(book)[0]["id"]
    act(book, alert_id, "clear", M)
    book.observe(water(2 * M, 0.3))
    book.observe(water(3 * M, 0.8))  # worse than the alert: not the false alarm that was cleared
    doc = flood_level(book)[-1]
    steps = [(h["action"], h["by"]) for h in doc["history"]]
    assert steps[-3:] == [("cleared", "op.lan"), ("raised", "system"), ("worsened", "system")]


def test_clearing_with_the_condition_gone_lets_it_return_at_once() -> None:
    book = AlertBook()
    book.observe(water(0, 0.3))
    alert_id = flood_level(book)[0]["id"]
    book.observe(water(M, 0.1))  # gone, not yet for the 10 minutes the rule waits
    act(book, alert_id, "clear", 2 * M)
    book.observe(water(3 * M, 0.3))
    assert flood_level(book)[-1]["status"] == "raised"


def test_reopening_a_cleared_alert_raises_it_again_with_who_and_why() -> None:
    book = AlertBook()
    book.observe(water(0, 0.5))
    alert_id = flood_level(book)[0]["id"]
    act(book, alert_id, "acknowledge", M)
    act(book, alert_id, "clear", 2 * M)
    act(book, alert_id, "reopen", 3 * M, comment="water back on camera")
    (doc,) = flood_level(book)
    assert doc["status"] == "raised"
    reopened = {"action": "raised", "by": "op.lan", "at": 3 * M, "comment": "water back on camera"}
    assert doc["history"][-1] == reopened
    act(book, alert_id, "acknowledge", 4 * M)  # raised again: it awaits an acknowledgement again
    with pytest.raises(ActionError, match="reopen needs it cleared or resolved"):
        act(book, alert_id, "reopen", 5 * M)


def test_a_reopened_resolved_alert_is_the_open_alert_of_its_rule_and_entity_again() -> None:
    book = AlertBook()
    book.observe(water(0, 0.3))
    alert_id = flood_level(book)[0]["id"]
    act(book, alert_id, "resolve", M)
    act(book, alert_id, "reopen", 2 * M, comment="resolved by mistake")
    assert flood_level(book)[-1]["status"] == "raised"
    book.observe(water(3 * M, 0.5))  # the same condition continues this alert, no new one
    (doc,) = flood_level(book)
    flood_alerts = [a for a in book.alerts if a.startswith("flood-level:")]
    assert flood_alerts == [alert_id] and doc["history"][-1]["action"] == "worsened"
    book.observe(water(4 * M, 0.1))
    book.observe(water(14 * M, 0.1))
    assert flood_level(book)[-1]["status"] == "cleared"  # and the rule clears it as any other
    act(book, alert_id, "resolve", 15 * M)
    assert book.alerts[alert_id].status == "resolved" and ("flood-level", "WL-VIN-NVC") not in book.open


def test_a_resolved_alert_is_not_reopened_while_another_is_open_for_the_same_condition() -> None:
    book = AlertBook()
    book.observe(water(0, 0.5))
    first = flood_level(book)[0]["id"]
    act(book, first, "resolve", M)
    book.observe(water(2 * M, 0.5))  # still flooded: a new alert
    second = flood_level(book)[-1]["id"]
    with pytest.raises(ActionError, match=f"{second} is open for the same rule and entity"):
        act(book, first, "reopen", 3 * M)
    assert book.open == {("flood-level", "WL-VIN-NVC"): second}
    assert flood_level(book) == [] and book.alerts[first].status == "resolved"
    act(book, second, "resolve", 4 * M)
    act(book, first, "reopen", 5 * M)  # none open now: it may come back
    assert book.open == {("flood-level", "WL-VIN-NVC"): first}


def test_a_worker_taking_over_keeps_an_operators_clear() -> None:
    first = AlertBook()
    first.observe(water(0, 0.5))
    (raised,) = first.drain()
    act(first, raised["id"], "clear", M)
    heir = AlertBook()
    assert heir.restore([raised, *first.drain()]) == 1
    heir.observe(water(2 * M, 0.5))
    assert heir.drain() == []  # still cleared: the sensor's false alarm goes on
    heir.observe(water(3 * M, 0.1))
    heir.observe(water(4 * M, 0.5))
    assert heir.drain()[-1]["status"] == "raised"


def test_a_reopened_alert_keeps_the_severity_its_condition_reached_however_long() -> None:
    book = AlertBook()
    book.observe(water(0, 0.3))
    alert_id = flood_level(book)[0]["id"]
    act(book, alert_id, "resolve", M)
    act(book, alert_id, "reopen", 60 * M)  # an hour later, the water still up
    book.observe(water(61 * M, 0.3))
    book.observe(water(120 * M, 0.3))  # unacknowledged for an hour: attention is the wall's, not a step
    doc = flood_level(book)[-1]
    assert doc["severity"] == "medium" and actions(doc)[-1] == "raised"
