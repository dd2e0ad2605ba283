"""Attention on the operators' clock, with the clock passed in: levels by the wall-clock time an alert stands
unacknowledged on the wall, pushed when they rise with no new document, gone once acknowledged."""

from __future__ import annotations

from typing import Any

from ioc.city import load_city
from web.attention import AttentionBook
from web.state import AlertFilter, WallState

S = 1000  # ms
AFTER = 300 * S
NOTHING: dict[str, Any] = {"level": 0, "unacknowledged_s": 0.0, "since": None, "notify": []}


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def alert(status: str, history: int = 1, alert_id: str = "flood-level:WL-VIN-NVC:1000") -> dict[str, Any]:
    return {"v": 1, "kind": "alert", "id": alert_id, "type": "Alert", "rule": "flood-level",
            "entity": "WL-VIN-NVC", "category": "naturalDisaster", "subCategory": "flood", "severity": "high",
            "dateIssued": 1000, "status": status, "escalations": 0,
            "history": [{"action": "raise", "by": "system", "at": 1000}] * history}  # fmt: skip


def test_levels_rise_with_the_wall_clock_while_unacknowledged_and_stop_at_the_top() -> None:
    clock = Clock(50_000)
    book = AttentionBook(AFTER, clock)
    book.seen("a", "raised")
    clock.now += AFTER - 1
    assert book.of("a") == {"level": 0, "unacknowledged_s": 299.999, "since": 50_000, "notify": ["operator"]}
    clock.now += 1
    book.seen("a", "raised")  # the same alert again (another change while raised): the count goes on
    assert book.of("a")["level"] == 1 and book.of("a")["notify"] == ["operator"]
    assert book.of("a", now_ms=50_000 + 2 * AFTER) == {
        "level": 2, "unacknowledged_s": 600.0, "since": 50_000, "notify": ["operator", "engineer", "viewer"]
    }  # fmt: skip
    assert book.of("a", now_ms=50_000 + 50 * AFTER)["level"] == 2
    book.seen("a", "acknowledged")
    assert book.of("a") == NOTHING
    clock.now += 7 * S
    book.seen("a", "raised")  # cleared, acknowledged, and its condition back: raised again, counted afresh
    assert book.of("a")["since"] == clock.now and book.of("a")["level"] == 0
    assert book.of("never seen") == NOTHING


def test_the_count_starts_when_the_raising_document_was_published_so_every_wall_process_agrees() -> None:
    published = 40_000
    walls = [WallState(load_city(), AttentionBook(AFTER, Clock(now))) for now in (50_000, 50_000 + AFTER)]
    for wall in walls:  # two processes, or a wall started again later, reading the same record
        wall.apply(alert("raised"), published)
    assert [w.attention.since for w in walls] == [{"flood-level:WL-VIN-NVC:1000": published}] * 2
    assert [w.alerts["flood-level:WL-VIN-NVC:1000"]["attention"]["level"] for w in walls] == [0, 1]
    book = AttentionBook(AFTER, Clock(50_000))
    book.seen("a", "raised", published_ms=90_000)  # a publisher's clock ahead of the wall's: counted from now
    assert book.of("a")["since"] == 50_000


def test_the_wall_pushes_an_alert_again_when_its_level_rises_and_never_changes_the_document() -> None:
    clock = Clock(10_000)
    state = WallState(load_city(), AttentionBook(AFTER, clock))
    state.apply(alert("raised"))
    [change] = state.take_changes()
    assert change["attention"]["level"] == 0 and change["severity"] == "high"
    clock.now += AFTER - S
    assert state.refresh_attention() == 0 and state.take_changes() == []  # nothing rose: nothing pushed
    clock.now += S
    assert state.refresh_attention() == 1
    [change] = state.take_changes()
    assert change["key"] == "alert:flood-level:WL-VIN-NVC:1000" and change["attention"]["level"] == 1
    assert {k: v for k, v in change.items() if k != "attention"} == {
        k: v for k, v in state.items[change["key"]].items() if k != "attention"
    }
    assert state.items[change["key"]]["attention"]["level"] == 1  # a snapshot shows the level too
    clock.now += AFTER
    assert state.refresh_attention() == 1 and state.take_changes()[0]["attention"]["level"] == 2
    clock.now += 10 * AFTER
    assert state.refresh_attention() == 0  # the top level: nothing more to push
    assert (
        state.with_attention(state.alerts["flood-level:WL-VIN-NVC:1000"])["attention"]["unacknowledged_s"]
        == (12 * AFTER) / S
    )  # the REST API's view: to the second, now

    state.apply(alert("acknowledged", history=2))
    [change] = state.take_changes()
    assert change["status"] == "acknowledged" and change["attention"] == NOTHING
    clock.now += 5 * AFTER
    assert state.refresh_attention() == 0
    listed = state.alert_list(AlertFilter(), 10)
    assert [state.with_attention(a)["attention"] for a in listed] == [NOTHING]


def test_alerts_the_wall_forgets_are_forgotten_by_attention_too() -> None:
    clock = Clock(0)
    state = WallState(load_city(), AttentionBook(AFTER, clock))
    state.apply(alert("raised"))
    state.reset()  # the broker lost its data
    assert state.attention.since == {}
    state.apply(alert("raised", alert_id="flood-level:WL-VIN-NVC:2000"))
    del state.alerts["flood-level:WL-VIN-NVC:2000"]  # as when more than ALERTS_KEPT are held
    clock.now += 3 * AFTER
    assert state.refresh_attention() == 0 and state.attention.since == {}
