"""Questions an operator asks the operations record: alerts by area, domain, rule, severity, status,
entity, text and time range, paged or as CSV; one alert's timeline with time to acknowledge and to resolve."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.store.audit import AuditQuery, audit
from ioc.store.schema import alert_events, alerts

CSV_COLUMNS = ("id", "rule", "entity", "area", "domain", "severity", "status", "assignee", "escalations",
               "raised_at", "updated_at")  # fmt: skip


@dataclass(frozen=True)
class AlertQuery:
    """Filters over recorded alerts; None (or empty) means any. Times are simulated ms (raised at)."""

    area: str | None = None
    domain: str | None = None
    rule: str | None = None
    entity: str | None = None
    severity: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    text: str | None = None  # in the alert id or any transition's comment
    since: int | None = None
    until: int | None = None

    def where(self) -> ColumnElement[bool]:
        c = alerts.c
        terms: list[ColumnElement[bool]] = [
            col == value
            for col, value in ((c.area, self.area), (c.domain, self.domain), (c.rule, self.rule),
                               (c.entity, self.entity)) if value is not None
        ]  # fmt: skip
        if self.severity:
            terms.append(c.severity.in_(self.severity))
        if self.status:
            terms.append(c.status.in_(self.status))
        if self.since is not None:
            terms.append(c.raised_at >= self.since)
        if self.until is not None:
            terms.append(c.raised_at < self.until)
        if self.text:
            # The operator's text is matched as written: % and _ in it are not wildcards.
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", self.text.lower()) + "%"
            commented = select(alert_events.c.alert_id).where(
                func.lower(alert_events.c.comment).like(pattern, escape="\\")
            )
            terms.append(or_(func.lower(c.id).like(pattern, escape="\\"), c.id.in_(commented)))
        return and_(true(), *terms)


async def search(
    engine: AsyncEngine, query: AlertQuery, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of them), newest raised first."""
    where = query.where()
    async with engine.connect() as c:
        total = (await c.execute(select(func.count()).select_from(alerts).where(where))).scalar_one()
        page = (
            select(alerts)
            .where(where)
            .order_by(alerts.c.raised_at.desc(), alerts.c.id)
            .offset(offset)
            .limit(limit)
        )
        return int(total), [_row(r) for r in await c.execute(page)]


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def timeline(engine: AsyncEngine, alert_id: str) -> dict[str, Any] | None:
    """The alert, every transition in order, how long acknowledging and resolving took (event time), and
    the operators' actions on it as the audit has them (oldest first)."""
    async with engine.connect() as c:
        row = (await c.execute(select(alerts).where(alerts.c.id == alert_id))).first()
        if row is None:
            return None
        query = select(alert_events).where(alert_events.c.alert_id == alert_id).order_by(alert_events.c.seq)
        steps = [_row(r) for r in await c.execute(query)]
    raised = row.raised_at

    def first(action: str) -> int | None:
        return next((s["at"] - raised for s in steps if s["action"] == action), None)

    _, actions = await audit(engine, AuditQuery(alert=alert_id), 0, 1000)
    return {**_row(row), "events": steps, "actions": actions[::-1],
            "time_to_acknowledge_ms": first("acknowledged"),
            "time_to_resolve_ms": first("resolved")}  # fmt: skip


def _row(row: Any) -> dict[str, Any]:
    return {str(k): v for k, v in row._mapping.items()}  # plain str keys (the driver's may be a subclass)
