"""A day shift in the operations record, for the handover report's tests: alerts whose transitions were
published (wall clock) before, inside, on the edges of and after the shift 2026-12-02 06:00–14:00 Vietnam
time, KPI minutes and dead letters around it; event (simulated) times differ from the wall clock, so that a
report mixing the two clocks gets the wrong numbers."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.clock import parse_start
from ioc.contract.documents import Kind
from ioc.store.database import migrate, open_engine
from ioc.store.rows import Rows
from ioc.store.writer import write

M = 60_000
H = 60 * M
S = parse_start("2026-12-02T06:00")  # the shift's start (wall clock)
E = parse_start("2026-12-02T14:00")  # its end, exclusive
SIM = parse_start("2025-10-14T06:00")  # event time: a replay of last year, so the clocks differ
CLUSTER = "c1"


@dataclass
class Story:
    """One alert's documents, as the worker publishes them: each with the whole history so far."""

    rule: str
    entity: str
    area: str
    domain: str
    severity: str
    raised_sim: int
    doc: dict[str, Any] = field(default_factory=dict)  # as last published
    published: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.entity}:{self.raised_sim}"

    def raise_(self, wall: int, comment: str) -> Story:
        self.doc = {"v": 1, "kind": "alert", "id": self.id, "type": "Alert", "rule": self.rule,
                    "entity": self.entity, "category": "c", "subCategory": "s", "severity": self.severity,
                    "dateIssued": self.raised_sim, "status": "raised", "assignee": None, "escalations": 0,
                    "history": []}  # fmt: skip
        return self.step("raise", "system", self.raised_sim, wall, comment, severity=self.severity)

    def step(self, action: str, by: str, sim: int, wall: int, comment: str = "", **extra: Any) -> Story:
        entry = {"action": action, "by": by, "at": sim, "comment": comment, **extra}
        self.doc["history"].append(entry)
        status = {"raised": "raised", "acknowledged": "acknowledged", "cleared": "cleared",
                  "resolved": "resolved"}.get(action)  # fmt: skip
        if action == "assign":
            status = "cleared" if self.doc["status"] == "cleared" else "assigned"
            self.doc["assignee"] = extra["assignee"]
        if action == "escalate":
            self.doc["escalations"] += 1
        if "severity" in extra:
            self.doc["severity"] = extra["severity"]
        if status:
            self.doc["status"] = status
        self.published.append((copy.deepcopy(self.doc), wall))
        return self


def stories() -> dict[str, Story]:
    a = Story("flood-level", "WL-HM-03", "hoang-mai", "environment", "high", SIM)
    a.raise_(S - 30 * M, "Water above alert level 1-3")  # raised in the previous shift
    a.step("acknowledged", "op.lan", SIM + 12 * M, S + 5 * M, "đã nhận")  # acknowledged in this one
    a.step("comment", "op.lan", SIM + 15 * M, S + 10 * M, "đã báo đội ứng cứu")
    a.step("resolved", "op.lan", SIM + 90 * M, S + 2 * H, "nước đã rút")

    b = Story("air-quality", "AQ-VIN-01", "vinh", "environment", "medium", SIM + 100 * M)
    b.raise_(S + 10 * M, "Hourly VN_AQI above 150 (Kém)")
    b.step("escalate", "system", SIM + 105 * M, S + 16 * M, severity="high")
    b.step("acknowledged", "op.minh", SIM + 110 * M, S + 20 * M)
    b.step("assign", "op.minh", SIM + 115 * M, S + 25 * M, "", assignee="đội môi trường")
    b.step("comment", "op.minh", SIM + 280 * M, S + 3 * H, "chờ đo lại lúc 15h <b>")
    b.step("comment", "op.minh", SIM + 290 * M, S + 3 * H + 5 * M, "")  # empty: not the last comment

    c = Story("traffic-jam", "TD-CL-01", "cua-lo", "traffic", "high", SIM + 200 * M)
    c.raise_(S, "Severe or jammed 10 min")  # exactly at the start: this shift's
    c.step("acknowledged", "op.hoa", SIM + 230 * M, E, "ca sau nhận")  # exactly at the end: the next one's
    c.step("escalate", "system", SIM + 235 * M, E + 5 * M, severity="critical")

    d = Story("hospital-waits", "cua-lo-hc", "cua-lo", "health", "medium", SIM + 300 * M)
    d.raise_(S + H, "p90 wait > 2 h")
    d.step("escalate", "system", SIM + 305 * M, S + H + 5 * M, severity="high")
    d.step("escalate", "system", SIM + 310 * M, S + H + 10 * M, severity="critical")
    d.step("acknowledged", "op.lan", SIM + 340 * M, S + H + 40 * M, "gọi thêm bác sĩ")
    d.step("resolved", "op.lan", SIM + 400 * M, S + 2 * H + 40 * M)

    e = Story("cabinet-offline", "CAB-HM-01", "hoang-mai", "lighting", "medium", SIM + 500 * M)
    e.raise_(S + 4 * H, "Cabinet silent 5 min")
    e.step("cleared", "system", SIM + 520 * M, S + 4 * H + 20 * M, "condition no longer holds")
    e.step("comment", "op.lan", SIM + 560 * M, S + 5 * H, "đã gọi điện lực")

    f = Story("flood-rising", "WL-HM-01", "hoang-mai", "environment", "medium", SIM - 180 * M)
    f.raise_(S - 3 * H, "rising")  # the whole life before the shift
    f.step("resolved", "op.x", SIM - 60 * M, S - H)

    g = Story("air-quality", "AQ-CL-01", "cua-lo", "environment", "medium", SIM + 900 * M)
    g.raise_(E + 10 * M, "after the shift")

    h = Story("traffic-anomaly", "TD-VIN-02", "vinh", "traffic", "medium", SIM - 60 * M)
    h.raise_(S - H, "Lane speed 4 sd or more below its recent level")
    h.step("cleared", "system", SIM - 40 * M, S - 20 * M, "condition no longer holds")
    h.step("raised", "system", SIM + 30 * M, S + 30 * M, "condition returned")  # reopened in the shift
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g, "H": h}


def kpi_items() -> list[dict[str, Any]]:
    def item(area: str, kpi: str, at: int, value: float, standing: str) -> dict[str, Any]:
        return {"id": f"{area}:{kpi}", "area": area, "kpi": kpi, "value": value, "standing": standing,
                "entities": 3, "at": at}  # fmt: skip

    return [
        item("vinh", "flood", S - M + 30_000, 3.0, "veryBad"),  # the minute before the shift
        item("vinh", "air", S + H + 30_000, 180.0, "bad"),  # the worst of Vinh, first at that standing
        item("vinh", "traffic", S + 2 * H + 10_000, 25.0, "bad"),  # as bad, later
        item("vinh", "air", S + 3 * H, 120.0, "fair"),
        item("cua-lo", "traffic", S + 10 * M, 4.0, "good"),
        item("cua-lo", "traffic", E - 1, 40.0, "veryBad"),  # the shift's last minute
        item("cua-lo", "health", E, 150.0, "veryBad"),  # the next shift's first minute
        item("hoang-mai", "lighting", S, 7.0, "fair"),  # the shift's first minute
        item("hoang-mai", "lighting", S + 5 * M, 1.0, "veryGood"),
    ]


def dead_letter_docs() -> list[dict[str, Any]]:
    def letter(reason: str, domain: str, at: int) -> dict[str, Any]:
        return {"v": 1, "reason": reason, "domain": domain, "at": at}

    return [
        letter("late", "traffic", S - 1),  # the minute before the shift
        letter("late", "traffic", S + M),
        letter("late", "traffic", S + 2 * M),
        letter("late", "traffic", S + 59 * M + 59_999),
        letter("duplicate", "traffic", S + 3 * H),
        letter("bad_document", "operations-record", S),
        letter("late", "environment", E - 30_000),
        letter("late", "environment", E),  # the next shift's
    ]


async def fill(engine: AsyncEngine) -> None:
    """Write it all as the historian would: each document in its own batch, in the order published."""
    await migrate(engine)
    published = sorted(
        ((doc, wall, s) for s in stories().values() for doc, wall in s.published), key=lambda p: p[1]
    )
    for doc, wall, story in published:
        rows = Rows()
        rows.alert(doc, wall, story.area, story.domain)
        await write(engine, rows, CLUSTER, {})
    rows = Rows()
    rows.kpi({"v": 1, "kind": Kind.KPI, "group": "all", "items": kpi_items()})
    for offset, letter in enumerate(dead_letter_docs()):
        rows.dead_letter(letter, CLUSTER, 0, offset)
    await write(engine, rows, CLUSTER, {})


async def fill_url(url: str) -> None:
    engine = open_engine(url)
    try:
        await fill(engine)
    finally:
        await engine.dispose()
