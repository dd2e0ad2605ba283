"""Alerts: list with filters, one alert with its history, and the operator actions written to Kafka."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from web import metrics
from web.deps import Actor, Reader, Wall
from web.state import AlertFilter

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
Severity = Literal["informational", "low", "medium", "high", "critical"]
Status = Literal["raised", "acknowledged", "assigned", "cleared", "resolved"]


@router.get("")
async def alerts(
    wall: Wall,
    _: Reader,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    area: str | None = None,
    domain: str | None = None,
    rule: str | None = None,
    entity: str | None = None,
    since: Annotated[int | None, Query(description="dateIssued at or after (ms since epoch)")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> dict[str, Any]:
    """Alerts the wall knows, most severe first then newest; repeat status/severity to allow several."""
    where = AlertFilter(
        frozenset(status_) if status_ else None,
        frozenset(severity) if severity else None,
        area,
        domain,
        rule,
        entity,
        since,
    )
    found = wall.state.alert_list(where, limit)
    return {"count": len(found), "alerts": found}


@router.get("/{alert_id}")
async def alert(alert_id: str, wall: Wall, _: Reader) -> dict[str, Any]:
    found = wall.state.alerts.get(alert_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id[:120]}")
    return found


class Acknowledge(BaseModel):
    comment: str = Field("", max_length=500)


class Assign(BaseModel):
    assignee: str = Field(min_length=1, max_length=100)
    comment: str = Field("", max_length=500)


class Comment(BaseModel):
    comment: str = Field(min_length=1, max_length=500)


async def _act(wall: Wall, who: Actor, alert_id: str, action: str, **fields: Any) -> dict[str, Any]:
    found = wall.state.alerts.get(alert_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id[:120]}")
    if found["status"] == "resolved":
        raise HTTPException(status.HTTP_409_CONFLICT, f"{alert_id} is already resolved")
    if action == "acknowledge" and found["status"] != "raised":
        raise HTTPException(status.HTTP_409_CONFLICT, f"{alert_id} is {found['status']}, not raised")
    # The action's time is the IOC's (simulated) time, so an alert's history reads in one clock.
    at = wall.state.sim_time_ms or int(time.time() * 1000)
    body = {"alert": alert_id, "action": action, "by": who.name, "at": at, **fields}
    await wall.feed.send_action(body)
    metrics.ACTIONS.labels(action).inc()
    return {"accepted": body}


@router.post("/{alert_id}/acknowledge", status_code=status.HTTP_202_ACCEPTED)
async def acknowledge(alert_id: str, body: Acknowledge, wall: Wall, who: Actor) -> dict[str, Any]:
    """Written to the operator-actions topic; the alert's new status arrives on the feed."""
    return await _act(wall, who, alert_id, "acknowledge", comment=body.comment)


@router.post("/{alert_id}/assign", status_code=status.HTTP_202_ACCEPTED)
async def assign(alert_id: str, body: Assign, wall: Wall, who: Actor) -> dict[str, Any]:
    return await _act(wall, who, alert_id, "assign", assignee=body.assignee, comment=body.comment)


@router.post("/{alert_id}/comment", status_code=status.HTTP_202_ACCEPTED)
async def comment(alert_id: str, body: Comment, wall: Wall, who: Actor) -> dict[str, Any]:
    return await _act(wall, who, alert_id, "comment", comment=body.comment)
