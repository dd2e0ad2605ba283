"""The shift handover report: what the operations record says about one shift (operators' wall-clock time,
Vietnam time), from the database's own aggregates: alerts raised, acknowledged, resolved; the hand-over list;
times to acknowledge and to resolve; escalations; the worst KPI standing per area; dead letters."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, case, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ioc.clock import DAY_MS, VN_TZ, local_iso, parse_start
from ioc.contract.documents import (
    RAISE_STEP,
    SEVERITY_RANK,
    SEVERITY_STEPS,
    STANDINGS,
    Action,
    AlertStatus,
    Severity,
    status_after,
)
from ioc.store.schema import alert_events, alerts, dead_letters, kpi_minutes

MAX_SPAN_MS = 31 * DAY_MS  # a handover report covers a shift; a month is the most it is asked to read
Which = Literal["current", "previous"]


class Shift(NamedTuple):
    start_ms: int  # wall-clock ms, inclusive
    end_ms: int  # exclusive
    label: str  # "2026-12-02 06:00–14:00" (Vietnam time)


def shift_at(now_ms: int, starts: Sequence[int]) -> Shift:
    """The shift under way at `now_ms`, given the minutes after local midnight at which shifts start (the
    last one runs past midnight to the first start of the next day)."""
    local = datetime.fromtimestamp(now_ms / 1000, VN_TZ)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    # Yesterday's, today's and tomorrow's starts surround any moment, whatever the shifts are.
    starts_around = [midnight + timedelta(days=d, minutes=m) for d in (-1, 0, 1) for m in starts]
    start = max(t for t in starts_around if t <= local)
    end = min(t for t in starts_around if t > local)
    return window(_ms(start), _ms(end))


def previous_shift(shift: Shift, starts: Sequence[int]) -> Shift:
    return shift_at(shift.start_ms - 1, starts)


def next_shift(shift: Shift, starts: Sequence[int]) -> Shift:
    return shift_at(shift.end_ms, starts)


def window(start_ms: int, end_ms: int) -> Shift:
    """Any span as a shift; ValueError when it ends before it starts or is longer than MAX_SPAN_MS."""
    if end_ms <= start_ms:
        raise ValueError("the end of the report must come after its start")
    if end_ms - start_ms > MAX_SPAN_MS:
        raise ValueError(f"a report covers at most {MAX_SPAN_MS // DAY_MS} days")
    return Shift(start_ms, end_ms, _label(start_ms, end_ms))


def requested_shift(
    start: str | None, end: str | None, which: Which | None, now_ms: int, starts: Sequence[int]
) -> Shift:
    """The span a command line or a request asks for: `start` and `end` (ISO 8601, Vietnam time unless an
    offset is given), or the current or previous shift at `now_ms`; ValueError says what is wrong."""
    if (start is None) != (end is None):
        raise ValueError("give both the start and the end of the report, or neither")
    if start is not None and end is not None:
        if which is not None:
            raise ValueError("give either a start and an end or a shift, not both")
        return window(_time(start, "start"), _time(end, "end"))
    current = shift_at(now_ms, starts)
    return previous_shift(current, starts) if which == "previous" else current


def _time(text: str, what: str) -> int:
    try:
        return parse_start(text)
    except ValueError:
        raise ValueError(
            f"the {what} {text[:40]!r} is not a time like 2026-12-02T06:00 (Vietnam time)"
        ) from None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _label(start_ms: int, end_ms: int) -> str:
    start = datetime.fromtimestamp(start_ms / 1000, VN_TZ)
    end = datetime.fromtimestamp(end_ms / 1000, VN_TZ)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the nearest ranks (numpy's default, PostgreSQL's
    percentile_cont); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Window(BaseModel):
    start_ms: int = Field(description="wall-clock ms, inclusive")
    end_ms: int = Field(description="wall-clock ms, exclusive")
    start: str = Field(description="ISO 8601, Vietnam time")
    end: str
    label: str


class Basis(BaseModel):
    """What each number is measured on."""

    selection: str = (
        "A transition counts in the shift when the operations record received it (alert_events.recorded_at, "
        "the wall clock when the processors published it), from the start (inclusive) to the end (exclusive)."
    )
    durations: str = (
        "Times to acknowledge and to resolve are event-time differences (simulated clock): the alert's first "
        "acknowledgement or its resolution minus its raise, as in an alert's timeline; counted in the shift "
        "whose operators took that step. Live at speed 1 the two clocks agree."
    )
    escalations: str = (
        "An escalation is a step up of an alert's severity: the condition got worse (worsened), or, in "
        "alerts recorded before severity followed the condition alone, a step up for being unacknowledged "
        "(escalate). Attention to unacknowledged alerts is the wall's and is not recorded."
    )
    kpis: str = "KPI standings of the wall-clock minutes that start in the shift."
    dead_letters: str = "Dead letters of the wall-clock minutes that start in the shift."
    time_zone: str = "Asia/Ho_Chi_Minh (UTC+07:00, no daylight saving time)"


class Counts(BaseModel):
    """Alerts (distinct) with each step taken in the shift; escalations counts the steps themselves (a
    severity step up: worsened, or escalate in older records)."""

    raised: int
    reopened: int = Field(description="cleared, then the condition returned")
    acknowledged: int
    assigned: int
    commented: int
    cleared: int
    resolved: int
    escalated: int
    escalations: int
    open_at_end: int = Field(description="the hand-over list")
    dead_letters: int


class Comment(BaseModel):
    text: str
    by: str
    at: int = Field(description="event time, simulated ms")
    recorded_at: int = Field(description="wall-clock ms")


class HandoverAlert(BaseModel):
    """An alert not resolved by the end of the shift, as it stood then."""

    id: str
    rule: str
    entity: str
    area: str | None
    domain: str | None
    severity: Severity = Field(
        description="the latest recorded by the end (the raise, escalations and worsenings carry theirs); "
        "the alert's present severity for a raise recorded without one (before the raise carried it)"
    )
    status: AlertStatus = Field(description="after the last transition recorded by the end")
    assignee: str | None
    escalations: int = Field(description="escalations recorded by the end")
    raised_at: int = Field(description="event time, simulated ms")
    raise_recorded_at: int = Field(description="wall-clock ms")
    age_ms: int = Field(
        description="wall clock from the raise being recorded to the end, or to now if sooner"
    )
    last_comment: Comment | None = Field(description="the latest non-empty comment recorded by the end")


class Durations(BaseModel):
    count: int
    p50_ms: int | None
    p90_ms: int | None


class GroupDurations(Durations):
    group: str | None = Field(description="the area or domain (None: the alert has none)")


class TimeTo(BaseModel):
    all: Durations
    by_area: list[GroupDurations]
    by_domain: list[GroupDurations]


class Escalation(BaseModel):
    alert_id: str
    rule: str
    entity: str
    area: str | None
    domain: str | None
    severity: Severity | None = Field(description="after the escalation")
    at: int = Field(description="event time, simulated ms")
    recorded_at: int = Field(description="wall-clock ms")


class WorstKpi(BaseModel):
    """The worst standing an area's KPIs reached in the shift, its first minute at it, and the KPI."""

    area: str
    kpi: str
    domain: str
    standing: str
    value: float
    minute: int = Field(description="wall-clock ms at the start of the minute")
    minutes: int = Field(description="KPI-minutes of the area at that standing in the shift")


class DeadLetterCount(BaseModel):
    reason: str
    domain: str
    count: int


class ShiftReport(BaseModel):
    v: int = 1
    shift: Window
    generated_at: int = Field(description="wall-clock ms")
    source: str = Field(description="the operations record it was read from")
    basis: Basis = Field(default_factory=Basis)
    counts: Counts
    handover: list[HandoverAlert] = Field(description="most severe first, then oldest; cleared ones last")
    time_to_acknowledge: TimeTo
    time_to_resolve: TimeTo
    escalations: list[Escalation]
    kpi_worst: list[WorstKpi]
    dead_letters: list[DeadLetterCount]


async def shift_report(
    engine: AsyncEngine, start_ms: int, end_ms: int, now_ms: int | None = None
) -> ShiftReport:
    """The report of [start_ms, end_ms) (wall-clock ms) from the operations record."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    span = window(start_ms, end_ms)
    async with engine.connect() as c:
        steps = await _steps(c, start_ms, end_ms)
        handover = await _handover(c, end_ms, min(end_ms, now))
        acknowledge = await _time_to(c, AlertStatus.ACKNOWLEDGED, start_ms, end_ms)
        resolve = await _time_to(c, AlertStatus.RESOLVED, start_ms, end_ms)
        escalations = [Escalation.model_validate(r) for r in await _rows(c, _escalations(start_ms, end_ms))]
        kpis = [WorstKpi.model_validate(r) for r in await _rows(c, _worst_kpis(start_ms, end_ms))]
        letters = [DeadLetterCount.model_validate(r) for r in await _rows(c, _dead_letters(start_ms, end_ms))]
    alerts_with = {action: n for action, n, _ in steps}
    counts = Counts(
        raised=alerts_with.get(RAISE_STEP, 0),
        reopened=alerts_with.get(AlertStatus.RAISED, 0),
        acknowledged=alerts_with.get(AlertStatus.ACKNOWLEDGED, 0),
        assigned=alerts_with.get(Action.ASSIGN, 0),
        commented=alerts_with.get(Action.COMMENT, 0),
        cleared=alerts_with.get(AlertStatus.CLEARED, 0),
        resolved=alerts_with.get(AlertStatus.RESOLVED, 0),
        escalated=len({e.alert_id for e in escalations}),
        escalations=len(escalations),
        open_at_end=len(handover),
        dead_letters=sum(d.count for d in letters),
    )
    return ShiftReport(
        shift=Window(
            start_ms=start_ms,
            end_ms=end_ms,
            start=local_iso(start_ms),
            end=local_iso(end_ms),
            label=span.label,
        ),
        generated_at=now,
        source=source_of(engine),
        counts=counts,
        handover=handover,
        time_to_acknowledge=acknowledge,
        time_to_resolve=resolve,
        escalations=escalations,
        kpi_worst=kpis,
        dead_letters=letters,
    )


def source_of(engine: AsyncEngine) -> str:
    """The database, named without host or credentials (the report may be printed and passed around)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite {Path(url.database or ':memory:').name}"
    return f"PostgreSQL {url.database}" if url.get_backend_name() == "postgresql" else url.get_backend_name()


def _in(column: Any, start_ms: int, end_ms: int) -> Any:
    return and_(column >= start_ms, column < end_ms)


async def _rows(c: AsyncConnection, query: Select[Any]) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r._mapping.items()} for r in await c.execute(query)]


async def _steps(c: AsyncConnection, start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    """(action, alerts, steps) of the transitions recorded in the shift."""
    e = alert_events.c
    query = (
        select(e.action, func.count(distinct(e.alert_id)), func.count())
        .where(_in(e.recorded_at, start_ms, end_ms))
        .group_by(e.action)
    )
    return [(str(a), int(alerts_n), int(steps_n)) for a, alerts_n, steps_n in await c.execute(query)]


async def _time_to(c: AsyncConnection, step: str, start_ms: int, end_ms: int) -> TimeTo:
    """Event time from raise to the alert's first `step`, for the alerts whose first one the shift took."""
    e = alert_events.c
    # The alerts that took the step in the shift first (found by the recorded_at index), then their first.
    took_it = select(e.alert_id).where(e.action == step, _in(e.recorded_at, start_ms, end_ms))
    first = (
        select(e.alert_id, func.min(e.seq).label("seq"))
        .where(e.action == step, e.alert_id.in_(took_it))
        .group_by(e.alert_id)
        .subquery()
    )
    taken = alert_events.alias("taken")
    query = (
        select(alerts.c.area, alerts.c.domain, (taken.c.at - alerts.c.raised_at).label("ms"))
        .select_from(first)
        .join(taken, (taken.c.alert_id == first.c.alert_id) & (taken.c.seq == first.c.seq))
        .join(alerts, alerts.c.id == first.c.alert_id)
        .where(_in(taken.c.recorded_at, start_ms, end_ms))
    )
    rows = (await c.execute(query)).all()
    return TimeTo(
        all=_durations([r.ms for r in rows]),
        by_area=_grouped((r.area, r.ms) for r in rows),
        by_domain=_grouped((r.domain, r.ms) for r in rows),
    )


def _durations(values: Sequence[int]) -> Durations:
    p50, p90 = percentile(values, 50), percentile(values, 90)
    return Durations(count=len(values), p50_ms=None if p50 is None else round(p50),
                     p90_ms=None if p90 is None else round(p90))  # fmt: skip


def _grouped(pairs: Iterable[tuple[str | None, int]]) -> list[GroupDurations]:
    groups: dict[str | None, list[int]] = defaultdict(list)
    for group, ms in pairs:
        groups[group].append(ms)
    ordered = sorted(groups, key=lambda g: (g is None, g or ""))
    return [GroupDurations(group=g, **_durations(groups[g]).model_dump()) for g in ordered]


async def _handover(c: AsyncConnection, end_ms: int, age_until_ms: int) -> list[HandoverAlert]:
    """Alerts raised before the end and not resolved by then (an operator may have reopened a resolved one:
    resolved means no reopening after it), each folded from its transitions up to it."""
    raised = alert_events.alias("raised")
    resolved = alert_events.alias("resolved")
    reopened = alert_events.alias("reopened")
    reopened_after = exists().where(
        reopened.c.alert_id == resolved.c.alert_id,
        reopened.c.action == AlertStatus.RAISED,
        reopened.c.seq > resolved.c.seq,
        reopened.c.recorded_at < end_ms,
    )
    resolved_by_end = exists().where(
        resolved.c.alert_id == alerts.c.id,
        resolved.c.action == AlertStatus.RESOLVED,
        resolved.c.recorded_at < end_ms,
        ~reopened_after,
    )
    open_query = (
        select(alerts, raised.c.recorded_at.label("raise_recorded_at"))
        .join(raised, (raised.c.alert_id == alerts.c.id) & (raised.c.seq == 0))
        .where(raised.c.recorded_at < end_ms, ~resolved_by_end)
    )
    found = {r["id"]: r for r in await _rows(c, open_query)}
    steps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    e = alert_events.c
    events = (
        select(alert_events)
        .where(e.alert_id.in_(open_query.with_only_columns(alerts.c.id)), e.recorded_at < end_ms)
        .order_by(e.alert_id, e.seq)
    )
    for event in await _rows(c, events):
        steps[event["alert_id"]].append(event)
    held = [_as_at_end(found[i], steps[i], age_until_ms) for i in found]
    return sorted(held, key=lambda a: (a.status == AlertStatus.CLEARED, -SEVERITY_RANK[a.severity],
                                       a.raise_recorded_at, a.id))  # fmt: skip


def _as_at_end(alert: dict[str, Any], steps: list[dict[str, Any]], age_until_ms: int) -> HandoverAlert:
    status, severity, assignee, escalations = AlertStatus.RAISED, None, None, 0
    comment: Comment | None = None
    for step in steps:
        action = step["action"]
        if action == Action.ASSIGN:
            status = status_after(Action.ASSIGN, status)  # a cleared alert stays cleared when assigned
        elif action in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.CLEARED):
            status = AlertStatus(action)
        elif action in SEVERITY_STEPS:
            escalations += 1
        severity = step["severity"] or severity
        assignee = step["assignee"] or assignee
        if step["comment"]:
            comment = Comment(
                text=step["comment"], by=step["by"], at=step["at"], recorded_at=step["recorded_at"]
            )
    return HandoverAlert(
        id=alert["id"], rule=alert["rule"], entity=alert["entity"], area=alert["area"],
        domain=alert["domain"], severity=severity or alert["severity"], status=status, assignee=assignee,
        escalations=escalations, raised_at=alert["raised_at"], raise_recorded_at=alert["raise_recorded_at"],
        age_ms=max(0, age_until_ms - alert["raise_recorded_at"]), last_comment=comment,
    )  # fmt: skip


def _escalations(start_ms: int, end_ms: int) -> Select[Any]:
    e = alert_events.c
    return (
        select(
            e.alert_id,
            alerts.c.rule,
            alerts.c.entity,
            alerts.c.area,
            alerts.c.domain,
            e.severity,
            e.at,
            e.recorded_at,
        )
        .join(alerts, alerts.c.id == e.alert_id)
        .where(e.action.in_(SEVERITY_STEPS), _in(e.recorded_at, start_ms, end_ms))
        .order_by(e.recorded_at, e.alert_id, e.seq)
    )


def _worst_kpis(start_ms: int, end_ms: int) -> Select[Any]:
    k = kpi_minutes.c
    badness = case({s: rank for rank, s in enumerate(STANDINGS)}, value=k.standing)
    ranked = (
        select(
            k.area,
            k.kpi,
            k.domain,
            k.standing,
            k.value,
            k.minute,
            func.row_number()
            .over(partition_by=k.area, order_by=(badness.desc(), k.minute, k.kpi))
            .label("n"),
            func.count().over(partition_by=(k.area, badness)).label("minutes"),
        )
        .where(_in(k.minute, start_ms, end_ms), k.standing.in_(STANDINGS))
        .subquery()
    )
    r = ranked.c
    return (
        select(r.area, r.kpi, r.domain, r.standing, r.value, r.minute, r.minutes)
        .where(r.n == 1)
        .order_by(r.area)
    )


def _dead_letters(start_ms: int, end_ms: int) -> Select[Any]:
    d = dead_letters.c
    count = func.count().label("count")
    return (
        select(d.reason, d.domain, count)
        .where(_in(d.minute, start_ms, end_ms))
        .group_by(d.reason, d.domain)
        .order_by(count.desc(), d.reason, d.domain)
    )
