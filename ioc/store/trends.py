"""KPI trends from the operations record: each area's KPIs over a time range in buckets of whole minutes,
each bucket holding the worst value of its minutes, the last one and the worst standing."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.contract.documents import STANDINGS
from ioc.store.rows import MINUTE_MS
from ioc.store.schema import kpi_minutes

# Bucket widths in minutes, finest first; a range gets the finest that keeps it within MAX_BUCKETS (24 h:
# one minute; 7 days: ten minutes).
STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
MAX_BUCKETS = 1440


@dataclass
class KpiSeries:
    """One area's KPI, bucket by bucket, oldest first; buckets without a recorded minute are left out."""

    area: str
    kpi: str
    domain: str
    minute: list[int] = field(default_factory=list)  # the bucket's start, wall-clock ms
    value: list[float] = field(default_factory=list)  # the highest of the bucket's minutes: the worst
    last: list[float] = field(default_factory=list)  # the bucket's latest minute
    standing: list[str | None] = field(default_factory=list)  # the worst of the bucket's minutes


@dataclass
class Trends:
    since: int  # wall-clock ms, the first bucket's start
    until: int  # wall-clock ms, exclusive
    step_ms: int
    series: list[KpiSeries]


def step_for(since_ms: int, until_ms: int) -> int:
    """The finest bucket that keeps the range within MAX_BUCKETS (whole days beyond the widest step)."""
    span = max(until_ms - since_ms, MINUTE_MS)
    for minutes in STEPS_MIN:
        if span <= MAX_BUCKETS * minutes * MINUTE_MS:
            return minutes * MINUTE_MS
    day = STEPS_MIN[-1] * MINUTE_MS
    return -(-span // (MAX_BUCKETS * day)) * day


async def kpi_series(
    engine: AsyncEngine,
    since_ms: int,
    until_ms: int,
    area: str | None = None,
    kpi: str | None = None,
    step_ms: int | None = None,
) -> Trends:
    """Every recorded (area, KPI) in [since, until), bucketed by `step_ms` (a whole number of minutes;
    chosen by `step_for` when None). Buckets are aligned on the epoch and `since` is moved back to its
    bucket's start, so that the same minute always lands in the same bucket.

    Every KPI is higher-is-worse, so a bucket's value is its highest minute: a ten-minute flood at level 3
    inside an hour bucket stays visible, where an average or the last value would hide it."""
    step = step_ms or step_for(since_ms, until_ms)
    if step <= 0 or step % MINUTE_MS:
        raise ValueError(f"a bucket is a whole number of minutes, not {step} ms")
    since = since_ms - since_ms % step
    k = kpi_minutes.c
    rank = case({name: i for i, name in enumerate(STANDINGS)}, value=k.standing)
    terms = [k.minute >= since, k.minute < until_ms]
    terms += [col == wanted for col, wanted in ((k.area, area), (k.kpi, kpi)) if wanted is not None]
    # The bucket is computed in a subquery and grouped by name: PostgreSQL would not see `minute % $1` in
    # the select list and `minute % $2` in GROUP BY as the same expression.
    minutes = select(
        k.area, k.kpi, k.minute, k.value, rank.label("rank"), (k.minute - k.minute % step).label("bucket")
    ).where(and_(true(), *terms)).subquery()  # fmt: skip
    m = minutes.c
    buckets = (
        select(m.area, m.kpi, m.bucket, func.max(m.value).label("worst"),
               func.max(m.minute).label("latest"), func.max(m.rank).label("rank"))
        .group_by(m.area, m.kpi, m.bucket)
        .subquery()
    )  # fmt: skip
    b = buckets.c
    query = (
        select(b.area, b.kpi, b.bucket, b.worst, b.rank, k.value.label("last"), k.domain)
        .join_from(buckets, kpi_minutes, and_(k.area == b.area, k.kpi == b.kpi, k.minute == b.latest))
        .order_by(b.area, b.kpi, b.bucket)
    )
    found: dict[tuple[str, str], KpiSeries] = {}
    async with engine.connect() as c:
        for row in await c.execute(query):
            series = found.get((row.area, row.kpi))
            if series is None:
                series = found[(row.area, row.kpi)] = KpiSeries(row.area, row.kpi, row.domain)
            series.minute.append(int(row.bucket))
            series.value.append(float(row.worst))
            series.last.append(float(row.last))
            series.standing.append(None if row.rank is None else STANDINGS[int(row.rank)])
    return Trends(since, until_ms, step, list(found.values()))
