"""KPI trends from the operations record, for the wall's 24-hour and 7-day charts and an incident's
timeline: each area's KPIs in buckets (one minute up to a day, ten minutes for a week), each bucket holding
its worst value."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from ioc.store.rows import MINUTE_MS
from ioc.store.trends import kpi_series
from web.deps import Reader, Wall
from web.models import READ_REFUSALS, refusals
from web.record import from_record

router = APIRouter(prefix="/api/history", tags=["history"], responses={**READ_REFUSALS, **refusals(503)})
HOUR_MS = 60 * MINUTE_MS
RANGES = {"1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS}
MOST_BUCKETS = 7 * 24 * 60  # a week of minutes: what a caller choosing its own step may ask for


class KpiSeries(BaseModel):
    """One area's KPI, bucket by bucket, oldest first; a bucket without a recorded minute is left out (a
    KPI is recorded when its area publishes, so a short gap means unchanged, a long one no data)."""

    area: str
    kpi: str
    domain: str
    minute: list[int] = Field(description="each bucket's start, wall-clock ms")
    value: list[float] = Field(description="the highest (worst) value of the bucket's minutes")
    last: list[float] = Field(description="the value of the bucket's latest recorded minute")
    standing: list[str | None] = Field(description="the worst standing of the bucket's minutes")


class KpiTrends(BaseModel):
    since: int = Field(description="wall-clock ms: the first bucket's start")
    until: int = Field(description="wall-clock ms, exclusive")
    step_ms: int = Field(description="the buckets' width")
    series: list[KpiSeries]


@router.get("/kpis", responses=refusals(422))
async def kpi_trends(
    wall: Wall,
    _: Reader,
    span: Annotated[Literal["1h", "24h", "7d"], Query(alias="range", description="up to now")] = "24h",
    since: Annotated[int | None, Query(description="wall-clock ms; instead of the range")] = None,
    until: Annotated[int | None, Query(description="wall-clock ms, exclusive; default now")] = None,
    area: Annotated[str | None, Query(max_length=32)] = None,
    kpi: Annotated[str | None, Query(max_length=32)] = None,
    step_ms: Annotated[int | None, Query(ge=MINUTE_MS, multiple_of=MINUTE_MS)] = None,
) -> KpiTrends:
    """Each area's KPIs from the operations record over the last `range` (or since/until, wall-clock ms:
    KPIs are recorded by when they were published), in buckets of `step_ms` (chosen when absent)."""
    end = until if until is not None else int(time.time() * 1000)
    start = since if since is not None else end - RANGES[span]
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since must be before until")
    if step_ms is not None and (end - start) // step_ms > MOST_BUCKETS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"more than {MOST_BUCKETS} buckets")
    found = await from_record(kpi_series(wall.store, start, end, area, kpi, step_ms))
    series = [KpiSeries.model_validate(s, from_attributes=True) for s in found.series]
    return KpiTrends(since=found.since, until=found.until, step_ms=found.step_ms, series=series)
