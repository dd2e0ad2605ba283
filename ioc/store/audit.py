"""The audit: operator actions as the wall accepted them (who, with which role, from which address, when),
by person, alert and time; newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.store.schema import operator_actions


@dataclass(frozen=True)
class AuditQuery:
    """None means any; times are wall-clock ms (when the wall accepted the action)."""

    by: str | None = None
    alert: str | None = None
    since: int | None = None
    until: int | None = None

    def where(self) -> ColumnElement[bool]:
        c = operator_actions.c
        terms = [col == v for col, v in ((c.by, self.by), (c.alert_id, self.alert)) if v is not None]
        if self.since is not None:
            terms.append(c.sent_at >= self.since)
        if self.until is not None:
            terms.append(c.sent_at < self.until)
        return and_(true(), *terms)


async def audit(
    engine: AsyncEngine, query: AuditQuery, offset: int = 0, limit: int = 100
) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of them), newest first."""
    where = query.where()
    async with engine.connect() as c:
        counted = select(func.count()).select_from(operator_actions).where(where)
        total = (await c.execute(counted)).scalar_one()
        page = (
            select(operator_actions)
            .where(where)
            .order_by(operator_actions.c.sent_at.desc(), operator_actions.c.id)
            .offset(offset)
            .limit(limit)
        )
        return int(total), [{str(k): v for k, v in r._mapping.items()} for r in await c.execute(page)]
