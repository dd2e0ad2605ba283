"""The audit for engineers: every operator action the wall accepted, with the token's name and role and the
address it came from, by person, alert and time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ioc.contract.documents import Action
from ioc.store.audit import AuditQuery, audit
from web.deps import Engineer, Wall
from web.models import READ_REFUSALS, refusals
from web.record import from_record

router = APIRouter(prefix="/api/audit", tags=["audit"], responses={**READ_REFUSALS, **refusals(503)})


class AuditEntry(BaseModel):
    id: str
    alert_id: str
    action: Action
    by: str = Field(description="the token's name")
    role: str
    source: str = Field(description="the client's address as the wall saw it")
    at: int = Field(description="the IOC's simulated ms")
    sent_at: int = Field(description="wall-clock ms the wall accepted it")
    comment: str
    assignee: str | None


class AuditPage(BaseModel):
    total: int
    offset: int
    actions: list[AuditEntry]


@router.get("")
async def audit_trail(
    wall: Wall,
    _: Engineer,
    by: Annotated[str | None, Query(max_length=128, description="the token's name")] = None,
    alert: Annotated[str | None, Query(max_length=300)] = None,
    since: Annotated[int | None, Query(description="accepted at or after (wall-clock ms)")] = None,
    until: Annotated[int | None, Query(description="accepted before (wall-clock ms)")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Operator actions, newest first."""
    total, rows = await from_record(audit(wall.store, AuditQuery(by, alert, since, until), offset, limit))
    return AuditPage(total=total, offset=offset, actions=[AuditEntry.model_validate(r) for r in rows])
