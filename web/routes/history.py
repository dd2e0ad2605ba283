"""The operations record for operators: recorded alerts searched and paged, as CSV, and one alert's
timeline (every transition with who, when and comment; time to acknowledge and to resolve)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from ioc.contract.documents import AlertStatus, Severity
from ioc.store.history import AlertQuery, search, timeline, to_csv
from web.deps import Reader, Wall
from web.models import READ_REFUSALS, refusals

router = APIRouter(prefix="/api/history", tags=["history"], responses={**READ_REFUSALS, **refusals(503)})
CSV_LIMIT = 100_000


class RecordedAlert(BaseModel):
    id: str
    rule: str
    entity: str
    area: str | None
    domain: str | None
    category: str
    sub_category: str
    severity: Severity
    status: AlertStatus
    assignee: str | None
    escalations: int
    raised_at: int = Field(description="simulated ms")
    updated_at: int = Field(description="simulated ms of the latest transition")
    transitions: int
    recorded_at: int = Field(description="wall-clock ms the latest document was published")


class AlertPage(BaseModel):
    total: int
    offset: int
    alerts: list[RecordedAlert]


class Transition(BaseModel):
    seq: int
    action: str
    by: str
    at: int = Field(description="event time, simulated ms")
    recorded_at: int
    comment: str
    severity: str | None
    assignee: str | None


class Timeline(RecordedAlert):
    events: list[Transition]
    time_to_acknowledge_ms: int | None
    time_to_resolve_ms: int | None


def _query(
    area: str | None = None,
    domain: str | None = None,
    rule: str | None = None,
    entity: str | None = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    status_: Annotated[list[AlertStatus] | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=200, description="in the id or any comment")] = None,
    since: Annotated[int | None, Query(description="raised at or after (simulated ms)")] = None,
    until: Annotated[int | None, Query(description="raised before (simulated ms)")] = None,
) -> AlertQuery:
    return AlertQuery(
        area, domain, rule, entity, tuple(severity or ()), tuple(status_ or ()), q, since, until
    )


async def guarded(coro: Any) -> Any:
    try:
        return await coro
    except (OperationalError, ProgrammingError, DBAPIError, OSError) as exc:  # no record yet, or unreachable
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the operations record is not available"
        ) from exc


@router.get("/alerts")
async def recorded_alerts(
    wall: Wall,
    _: Reader,
    where: Annotated[AlertQuery, Depends(_query)],
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """Recorded alerts (resolved ones too), newest raised first; repeat severity/status to allow several."""
    total, rows = await guarded(search(wall.store, where, offset, limit))
    return AlertPage(total=total, offset=offset, alerts=[RecordedAlert.model_validate(r) for r in rows])


@router.get("/alerts.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def recorded_alerts_csv(
    wall: Wall, _: Reader, where: Annotated[AlertQuery, Depends(_query)]
) -> Response:
    """The same search as CSV (at most 100,000 rows), for a spreadsheet or a report."""
    _, rows = await guarded(search(wall.store, where, 0, CSV_LIMIT))
    headers = {"Content-Disposition": 'attachment; filename="alerts.csv"'}
    return Response(to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/alerts/{alert_id}", responses=refusals(404))
async def alert_timeline(alert_id: str, wall: Wall, _: Reader) -> Timeline:
    found = await guarded(timeline(wall.store, alert_id))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recorded alert {alert_id[:120]}")
    return Timeline.model_validate(found)
