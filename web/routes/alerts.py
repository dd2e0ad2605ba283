"""Alerts: list with filters, one alert with its history, and the operator actions written to Kafka."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from ioc.contract.documents import (
    Action,
    AlertDocument,
    AlertStatus,
    OperatorAction,
    Severity,
    action_refusal,
    reopen_refusal,
)
from web import metrics
from web.attention import Attention
from web.deps import Actor, Reader, Wall
from web.models import READ_REFUSALS, refusals
from web.state import AlertFilter

router = APIRouter(prefix="/api/alerts", tags=["alerts"], responses=READ_REFUSALS)


class WallAlert(AlertDocument):
    """An alert as the worker published it, with the attention the wall gives it now (never signed: the
    wall's own, on its clock)."""

    attention: Attention


class AlertList(BaseModel):
    count: int
    alerts: list[WallAlert]


@router.get("", response_model_exclude_unset=True)  # as stored: no defaults the worker did not send
async def alerts(
    wall: Wall,
    _: Reader,
    status_: Annotated[list[AlertStatus] | None, Query(alias="status")] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    area: str | None = None,
    domain: str | None = None,
    rule: str | None = None,
    entity: str | None = None,
    since: Annotated[int | None, Query(description="dateIssued at or after (ms since epoch)")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> AlertList:
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
    return AlertList(
        count=len(found), alerts=[WallAlert.model_validate(wall.state.with_attention(a)) for a in found]
    )


@router.get("/{alert_id}", responses=refusals(404), response_model_exclude_unset=True)
async def alert(alert_id: str, wall: Wall, _: Reader) -> WallAlert:
    return WallAlert.model_validate(wall.state.with_attention(_known(wall, alert_id)))


class Acknowledge(BaseModel):
    comment: str = Field("", max_length=500)


class Assign(BaseModel):
    assignee: str = Field(min_length=1, max_length=100)
    comment: str = Field("", max_length=500)


class Comment(BaseModel):
    comment: str = Field(min_length=1, max_length=500)


class Resolve(BaseModel):
    comment: str = Field("", max_length=500)


class Clear(BaseModel):
    comment: str = Field("", max_length=500)


class Reopen(BaseModel):
    comment: str = Field("", max_length=500)


class Accepted(BaseModel):
    """202: written to Kafka; the alert's new status arrives on the feed."""

    accepted: OperatorAction


# Every action route: 202 with what was written, refused with 404 (no such alert) or 409 (its status).
ACCEPTED: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "responses": refusals(404, 409),
    "response_model_exclude_none": True,
}


def _known(wall: Wall, alert_id: str) -> dict[str, Any]:
    found = wall.state.alerts.get(alert_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id[:120]}")
    return found


def _open_twin(wall: Wall, alert: dict[str, Any]) -> str | None:
    """Another alert of the same rule and entity that is not resolved (there is only ever one open)."""
    for other in wall.state.alerts.values():
        same = (other["rule"], other["entity"]) == (alert["rule"], alert["entity"])
        if same and other["id"] != alert["id"] and other["status"] != AlertStatus.RESOLVED:
            return str(other["id"])
    return None


async def _act(
    request: Request, wall: Wall, who: Actor, alert_id: str, action: Action, **fields: Any
) -> Accepted:
    # Refused at once what the worker's AlertBook would refuse later (the same lifecycle, documents.ALLOWED).
    known = _known(wall, alert_id)
    why = action_refusal(action, known["status"], alert_id)
    if why is None and action == Action.REOPEN and known["status"] == AlertStatus.RESOLVED:
        why = reopen_refusal(alert_id, _open_twin(wall, known))
    if why is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, why)
    now = int(time.time() * 1000)
    # The action's time is the IOC's (simulated) time, so an alert's history reads in one clock; the audit
    # keeps the wall-clock time, the token's role and the address it came from as well.
    body = OperatorAction(
        id=uuid.uuid4().hex, alert=alert_id, action=action, by=who.name, role=who.role,
        source=request.client.host if request.client else "unknown",
        at=wall.state.sim_time_ms or now, sent_at=now, **fields,
    )  # fmt: skip
    await wall.feed.send_action(body.model_dump(mode="json", exclude_none=True))
    metrics.ACTIONS.labels(action).inc()
    return Accepted(accepted=body)


@router.post("/{alert_id}/acknowledge", **ACCEPTED)
async def acknowledge(alert_id: str, body: Acknowledge, request: Request, wall: Wall, who: Actor) -> Accepted:
    """Written to the operator-actions topic; the alert's new status arrives on the feed."""
    return await _act(request, wall, who, alert_id, Action.ACKNOWLEDGE, comment=body.comment)


@router.post("/{alert_id}/assign", **ACCEPTED)
async def assign(alert_id: str, body: Assign, request: Request, wall: Wall, who: Actor) -> Accepted:
    return await _act(
        request, wall, who, alert_id, Action.ASSIGN, assignee=body.assignee, comment=body.comment
    )


@router.post("/{alert_id}/comment", **ACCEPTED)
async def comment(alert_id: str, body: Comment, request: Request, wall: Wall, who: Actor) -> Accepted:
    return await _act(request, wall, who, alert_id, Action.COMMENT, comment=body.comment)


@router.post("/{alert_id}/resolve", **ACCEPTED)
async def resolve(alert_id: str, body: Resolve, request: Request, wall: Wall, who: Actor) -> Accepted:
    """Closes the alert for good; a condition that still holds raises a new one."""
    return await _act(request, wall, who, alert_id, Action.RESOLVE, comment=body.comment)


@router.post("/{alert_id}/clear", **ACCEPTED)
async def clear(alert_id: str, body: Clear, request: Request, wall: Wall, who: Actor) -> Accepted:
    """The operator declares the condition over (a false alarm, or dealt with on site): the alert stays on the
    wall, cleared, until resolved; it returns only once its condition has gone away and come back."""
    return await _act(request, wall, who, alert_id, Action.CLEAR, comment=body.comment)


@router.post("/{alert_id}/reopen", **ACCEPTED)
async def reopen(alert_id: str, body: Reopen, request: Request, wall: Wall, who: Actor) -> Accepted:
    """A cleared or resolved alert back to raised; 409 when another alert of its rule and entity is open."""
    return await _act(request, wall, who, alert_id, Action.REOPEN, comment=body.comment)
