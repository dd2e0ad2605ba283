"""Reading the operations record back: the documents of the alerts still open, as the worker published
them (their whole history), for a fresh broker that lost them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.contract.documents import AlertStatus, Kind
from ioc.store.schema import alert_events, alerts


async def open_alert_documents(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every alert not resolved, as an alert document with its transitions in order."""
    async with engine.connect() as c:
        rows = (await c.execute(select(alerts).where(alerts.c.status != AlertStatus.RESOLVED))).all()
        ids = [r.id for r in rows]
        steps: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            query = (
                select(alert_events)
                .where(alert_events.c.alert_id.in_(ids))
                .order_by(alert_events.c.alert_id, alert_events.c.seq)
            )
            for e in await c.execute(query):
                step = {"action": e.action, "by": e.by, "at": e.at, "comment": e.comment}
                if e.severity is not None:
                    step["severity"] = e.severity
                if e.assignee is not None:
                    step["assignee"] = e.assignee
                steps[e.alert_id].append(step)
    return [
        {"v": 1, "kind": Kind.ALERT, "id": r.id, "type": "Alert", "rule": r.rule, "entity": r.entity,
         "category": r.category, "subCategory": r.sub_category, "severity": r.severity,
         "dateIssued": r.raised_at, "status": r.status, "assignee": r.assignee, "escalations": r.escalations,
         "history": steps[r.id]}
        for r in rows
    ]  # fmt: skip
