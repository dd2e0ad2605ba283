"""Alert rules, deduplication, the lifecycle with who/when/comment, and escalation that stops on ack."""

from __future__ import annotations

import pytest

from processors.alerts import ActionError, AlertBook

M = 60_000


def water(t: int, status: str, gauge: str = "WL-VIN-NVC") -> dict[str, object]:
    return {"kind": "water", "final": True, "items": [{"id": gauge, "t": t, "status": status}]}


def jam(t: int, level: int) -> dict[str, object]:
    return {"kind": "traffic", "final": True, "items": [{"id": "TD-HM-02-A1", "t": t, "level": level}]}


def test_a_flood_raises_once_worsens_clears_and_returns() -> None:
    book = AlertBook()
    book.observe(water(0, "alert1"))
    book.observe(water(M, "alert1"))  # same rule and entity: no second alert
    (doc,) = book.drain()
    assert (doc["category"], doc["subCategory"], doc["severity"], doc["status"]) == (
        "naturalDisaster",
        "flood",
        "medium",
        "raised",
    )
    book.observe(water(2 * M, "alert3"))
    assert book.drain()[0]["severity"] == "critical"
    book.observe(water(3 * M, "normal"))
    book.observe(water(12 * M, "normal"))
    assert book.drain() == []  # below the line for 9 minutes: not yet
    book.observe(water(13 * M, "normal"))
    (cleared,) = book.drain()
    assert cleared["status"] == "cleared" and cleared["history"][-1]["at"] == 13 * M
    book.observe(water(14 * M, "alert2"))
    (again,) = book.drain()
    assert again["id"] == doc["id"] and again["status"] == "raised"
    assert len(book.alerts) == 1


def test_water_dipping_under_the_line_for_minutes_does_not_flap_the_alert() -> None:
    book = AlertBook(escalate_after_ms=60 * M)
    for minute, status in enumerate(["alert1", "normal", "alert1", "normal", "normal", "alert1"]):
        book.observe(water(minute * M, status))  # a tide at the alert line, with sensor noise
    (doc,) = book.drain()
    assert [h["action"] for h in doc["history"]] == ["raise"] and doc["status"] == "raised"


def test_a_jam_must_hold_ten_minutes_before_it_raises() -> None:
    book = AlertBook()
    for minute in range(10):
        book.observe(jam(minute * M, 5))
    assert book.drain() == []
    book.observe(jam(10 * M, 5))
    (doc,) = book.drain()
    assert doc["subCategory"] == "trafficJam" and doc["dateIssued"] == 10 * M
    book.observe(jam(11 * M, 1))
    book.observe(jam(12 * M, 5))  # a new stretch of jam starts the clock again; the alert reopens at once
    assert book.drain()[-1]["status"] == "raised"


def test_lifecycle_records_who_when_and_why() -> None:
    book = AlertBook()
    book.observe(water(0, "alert2"))
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
    book.observe(water(20 * M, "normal"))
    book.observe(water(30 * M, "normal"))
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
    book.observe(water(60 * M, "alert1"))
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
    book.observe(water(0, "alert2"))
    alert_id = book.drain()[0]["id"]
    book.act({"alert": alert_id, "action": "acknowledge", "by": "op", "at": 1})
    with pytest.raises(ActionError, match=message):
        book.act({"alert": alert_id, "by": "op", "at": 2, **action})


def test_escalation_steps_up_once_per_period_dated_when_due_until_acknowledged() -> None:
    book = AlertBook(escalate_after_ms=5 * M)
    book.observe(water(0, "alert1"))
    alert_id = book.drain()[0]["id"]
    book.observe(water(4 * M, "alert1"))  # the gauge's own clock drives escalation
    book.observe(water(60 * M, "normal", gauge="WL-VIN-LN"))  # another gauge far ahead changes nothing
    assert book.drain() == []
    book.observe(water(11 * M, "alert1"))  # two periods passed since the last judgement
    (doc,) = book.drain()
    steps = [(h["at"], h["severity"]) for h in doc["history"] if h["action"] == "escalate"]
    assert steps == [(5 * M, "high"), (10 * M, "critical")] and doc["escalations"] == 2

    acked = AlertBook(escalate_after_ms=5 * M)
    acked.observe(water(0, "alert1"))
    acked.act({"alert": alert_id, "action": "acknowledge", "by": "op", "at": 2 * M})
    acked.drain()
    acked.observe(water(60 * M, "alert1"))
    assert acked.drain() == [] and acked.alerts[alert_id].severity == "medium"


def test_live_documents_are_not_judged_by_rules_made_for_final_ones() -> None:
    book = AlertBook()
    book.observe({"kind": "water", "items": [{"id": "WL-VIN-NVC", "t": 0, "status": "alert3"}]})
    assert book.drain() == []


def test_an_alert_cleared_on_its_own_clock_is_not_escalated_by_other_lanes_running_ahead() -> None:
    book = AlertBook(escalate_after_ms=5 * M)
    book.observe(water(0, "alert1"))
    book.observe(water(140 * M, "normal", gauge="WL-VIN-LN"))  # a partition read far ahead (a catch-up)
    book.observe(water(5 * M, "normal"))  # the flood clears on its own clock ...
    book.observe(water(15 * M, "normal"))  # ... after 10 minutes below the line, not escalated meanwhile
    (alert,) = book.drain()
    assert [h["action"] for h in alert["history"]] == ["raise", "cleared"]


def test_resolving_while_the_condition_holds_starts_a_new_alert_later() -> None:
    book = AlertBook()
    book.observe(water(0, "alert2"))
    first = book.drain()[0]["id"]
    book.act({"alert": first, "action": "resolve", "by": "op", "at": M})
    book.observe(water(2 * M, "alert2"))
    second = book.drain()[-1]
    assert second["id"] != first and second["status"] == "raised"
    assert book.alerts[first].status == "resolved"


def test_a_worker_taking_over_continues_the_published_alerts() -> None:
    first = AlertBook()
    first.observe(water(0, "alert2"))
    (raised,) = first.drain()
    first.act({"alert": raised["id"], "action": "acknowledge", "by": "op-lan", "at": M, "comment": "đã nhận"})
    published = [raised, *first.drain()]

    heir = AlertBook()
    assert heir.restore(published) == 1
    heir.observe(water(2 * M, "alert2"))  # still flooded: the same alert, not a new one
    assert heir.drain() == [] and list(heir.alerts) == [raised["id"]]
    heir.observe(water(60 * M, "alert2"))  # acknowledged before the takeover: escalation stays stopped
    assert heir.drain() == []
    heir.observe(water(63 * M, "normal"))
    heir.observe(water(73 * M, "normal"))
    (cleared,) = heir.drain()
    assert cleared["id"] == raised["id"] and cleared["status"] == "cleared"
    assert [h["action"] for h in cleared["history"]] == ["raise", "acknowledged", "cleared"]
    heir.act({"alert": raised["id"], "action": "resolve", "by": "op-lan", "at": 74 * M})
    assert heir.drain()[0]["status"] == "resolved"

    heir.forget(lambda entity: entity == "WL-VIN-NVC")
    assert not heir.alerts and not heir.open


def test_an_old_document_published_again_cannot_re_raise_a_cleared_alert() -> None:
    book = AlertBook()
    old = water(0, "alert2")
    book.observe(old)
    book.observe(water(M, "normal"))
    book.observe(water(12 * M, "normal"))
    assert book.drain()[-1]["status"] == "cleared"
    book.observe(old)  # the same signed document, replayed onto the topic
    assert book.drain() == []


def act(book: AlertBook, alert_id: str, action: str, at: int, **more: object) -> None:
    book.act({"alert": alert_id, "action": action, "by": "op.lan", "at": at, **more})


def test_an_operator_clears_a_false_alarm_that_returns_only_after_the_condition_went_away() -> None:
    book = AlertBook(escalate_after_ms=60 * M)
    book.observe(water(0, "alert2"))
    alert_id = book.drain()[0]["id"]
    act(book, alert_id, "clear", M, comment="gauge fouled by debris")
    book.observe(water(2 * M, "alert2"))  # the gauge still says so: the operator's word holds
    book.observe(water(3 * M, "alert1"))
    (doc,) = book.drain()
    assert doc["status"] == "cleared"
    assert [(h["action"], h["by"], h["comment"]) for h in doc["history"]] == [
        ("raise", "system", "Water above alert level 1-3"),
        ("cleared", "op.lan", "gauge fouled by debris"),
    ]
    with pytest.raises(ActionError, match="is cleared; clear needs it raised or acknowledged or assigned"):
        act(book, alert_id, "clear", 3 * M)
    book.observe(water(4 * M, "normal"))  # gone once ...
    book.observe(water(5 * M, "alert1"))  # ... and back: the same alert, raised again
    assert book.drain()[-1]["status"] == "raised" and list(book.alerts) == [alert_id]


def test_a_cleared_alert_comes_back_at_once_when_the_condition_gets_worse() -> None:
    book = AlertBook(escalate_after_ms=60 * M)
    book.observe(water(0, "alert1"))
    alert_id = book.drain()[0]["id"]
    act(book, alert_id, "clear", M)
    book.observe(water(2 * M, "alert1"))
    book.observe(water(3 * M, "alert3"))  # worse than the alert: not the false alarm that was cleared
    doc = book.drain()[-1]
    steps = [(h["action"], h["by"]) for h in doc["history"]]
    assert steps[-2:] == [("cleared", "op.lan"), ("raised", "system")]


def test_clearing_with_the_condition_gone_lets_it_return_at_once() -> None:
    book = AlertBook()
    book.observe(water(0, "alert1"))
    alert_id = book.drain()[0]["id"]
    book.observe(water(M, "normal"))  # gone, not yet for the 10 minutes the rule waits
    act(book, alert_id, "clear", 2 * M)
    book.observe(water(3 * M, "alert1"))
    assert book.drain()[-1]["status"] == "raised"


def test_reopening_a_cleared_alert_raises_it_again_with_who_and_why() -> None:
    book = AlertBook()
    book.observe(water(0, "alert2"))
    alert_id = book.drain()[0]["id"]
    act(book, alert_id, "acknowledge", M)
    act(book, alert_id, "clear", 2 * M)
    act(book, alert_id, "reopen", 3 * M, comment="water back on camera")
    (doc,) = book.drain()
    assert doc["status"] == "raised"
    reopened = {"action": "raised", "by": "op.lan", "at": 3 * M, "comment": "water back on camera"}
    assert doc["history"][-1] == reopened
    act(book, alert_id, "acknowledge", 4 * M)  # raised again: it awaits an acknowledgement again
    with pytest.raises(ActionError, match="reopen needs it cleared or resolved"):
        act(book, alert_id, "reopen", 5 * M)


def test_a_reopened_resolved_alert_is_the_open_alert_of_its_rule_and_entity_again() -> None:
    book = AlertBook(escalate_after_ms=60 * M)
    book.observe(water(0, "alert1"))
    alert_id = book.drain()[0]["id"]
    act(book, alert_id, "resolve", M)
    act(book, alert_id, "reopen", 2 * M, comment="resolved by mistake")
    assert book.drain()[-1]["status"] == "raised"
    book.observe(water(3 * M, "alert2"))  # the same condition continues this alert, no new one
    (doc,) = book.drain()
    assert list(book.alerts) == [alert_id] and doc["history"][-1]["action"] == "worsened"
    book.observe(water(4 * M, "normal"))
    book.observe(water(14 * M, "normal"))
    assert book.drain()[-1]["status"] == "cleared"  # and the rule clears it as any other
    act(book, alert_id, "resolve", 15 * M)
    assert book.alerts[alert_id].status == "resolved" and not book.open


def test_a_resolved_alert_is_not_reopened_while_another_is_open_for_the_same_condition() -> None:
    book = AlertBook()
    book.observe(water(0, "alert2"))
    first = book.drain()[0]["id"]
    act(book, first, "resolve", M)
    book.observe(water(2 * M, "alert2"))  # still flooded: a new alert
    second = book.drain()[-1]["id"]
    with pytest.raises(ActionError, match=f"{second} is open for the same rule and entity"):
        act(book, first, "reopen", 3 * M)
    assert book.open == {("flood-level", "WL-VIN-NVC"): second}
    assert book.drain() == [] and book.alerts[first].status == "resolved"
    act(book, second, "resolve", 4 * M)
    act(book, first, "reopen", 5 * M)  # none open now: it may come back
    assert book.open == {("flood-level", "WL-VIN-NVC"): first}


def test_a_worker_taking_over_keeps_an_operators_clear() -> None:
    first = AlertBook()
    first.observe(water(0, "alert2"))
    (raised,) = first.drain()
    act(first, raised["id"], "clear", M)
    heir = AlertBook()
    assert heir.restore([raised, *first.drain()]) == 1
    heir.observe(water(2 * M, "alert2"))
    assert heir.drain() == []  # still cleared: the sensor's false alarm goes on
    heir.observe(water(3 * M, "normal"))
    heir.observe(water(4 * M, "alert2"))
    assert heir.drain()[-1]["status"] == "raised"


def test_a_reopened_alert_is_escalated_from_its_reopening_not_from_its_raise() -> None:
    book = AlertBook(escalate_after_ms=5 * M)
    book.observe(water(0, "alert1"))
    alert_id = book.drain()[0]["id"]
    act(book, alert_id, "resolve", M)
    act(book, alert_id, "reopen", 60 * M)  # an hour later, the water still up
    book.observe(water(61 * M, "alert1"))
    assert book.alerts[alert_id].severity == "medium"  # not stepped up for the hour it was resolved
    book.observe(water(66 * M, "alert1"))
    doc = book.drain()[-1]
    steps = [(h["action"], h["at"], h.get("severity")) for h in doc["history"]]
    assert steps[-1] == ("escalate", 65 * M, "high") and doc["escalations"] == 1
