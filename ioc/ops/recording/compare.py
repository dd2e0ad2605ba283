"""Compare two runs' recordings: their alerts, matched by rule, entity and raise time after each recording's
start, with severity and lifecycle, and their KPIs (final, lowest and highest value per area and indicator),
with a warning wherever a recording cannot tell what the comparison needs — what an engineer reads after
changing a rule, re-running a scenario or replaying a recording."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from ioc.clock import VN_TZ
from ioc.contract.documents import RAISE_STEP, SEVERITY_STEPS, AlertStatus, Kind
from ioc.ops.recording.file import Entry
from ioc.vn_aqi import NOWCAST_HOURS

Step = tuple[str, int, str | None]  # (lifecycle action, simulated ms, the severity it set if it set one)
Key = tuple[str, str]  # (rule, entity)
# Aggregate kinds whose items' `t` is a reading's time (traffic's is its window's start, before the reading).
WIDTH = 110  # a report's warnings are wrapped to this
READING_KINDS = (Kind.AQI, Kind.WEATHER, Kind.WATER, Kind.LIGHTING, Kind.HOSPITAL)
ACTIVE_STEPS = (RAISE_STEP, AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.ASSIGNED, "assign")
ENDING_STEPS = (AlertStatus.CLEARED, AlertStatus.RESOLVED)


@dataclass(frozen=True)
class Raise:
    """One raise of an alert, its first or its condition returning, and the steps that followed until the
    next; times are simulated ms."""

    rule: str
    entity: str
    at: int
    steps: tuple[Step, ...]
    alert_id: str
    first_raised: int  # the alert's first raise: before a recording's start, its severity carries a past


@dataclass(frozen=True)
class KpiRange:
    final: float
    low: float
    high: float


@dataclass
class Run:
    """What the comparison needs of one recording."""

    name: str
    topics: set[str]  # recorded: the header's list, else the topics of its records
    first_reading: int | None = None  # the raw frames' lowest tick
    last_reading: int | None = None
    first_aggregate: int | None = None  # the lowest reading time in its aggregates
    readings: set[tuple[str, int, int]] = field(default_factory=set)  # frames' (group, seq, tick)
    raises: list[Raise] = field(default_factory=list)
    kpis: dict[str, KpiRange] = field(default_factory=dict)
    earlier_records: int = 0  # on its topics before a recording from now began (header; 0 if unknown)

    def first_alert(self) -> int | None:
        return min((r.at for r in self.raises), default=None)


@dataclass
class Comparison:
    a: str
    b: str
    basis: str  # what the start of each recording is
    warnings: list[str] = field(default_factory=list)
    alerts: tuple[int, int] | None = None  # raises compared in A and B; None: alerts not compared
    matching: int = 0
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # what, in A, in B
    carried: list[str] = field(default_factory=list)  # open in one before its start, raised anew in the other
    before: tuple[int, int] = (0, 0)  # raises before the start, in A and B: not compared
    kpis: list[tuple[str, KpiRange | None, KpiRange | None]] | None = None  # None: KPIs not compared

    @property
    def none(self) -> bool:
        return not (self.only_a or self.only_b or self.changed or self.kpis)

    @property
    def exit_code(self) -> int:
        """0 no differences, 1 differences, 2 nothing could be compared."""
        if self.alerts is None and self.kpis is None:
            return 2
        return 0 if self.none else 1


def _docs(entries: Iterable[Entry], topic: str) -> Iterable[dict[str, Any]]:
    """The JSON objects on a topic; a topic ending in '.' names every topic it starts ('raw.')."""
    for e in entries:
        if (e.topic == topic or (topic.endswith(".") and e.topic.startswith(topic))) and e.value:
            try:
                doc = orjson.loads(e.value)
            except orjson.JSONDecodeError:
                continue  # recorded as it came: the worker dead-lettered it
            if isinstance(doc, dict):
                yield doc


def load(name: str, header: dict[str, Any], entries: list[Entry]) -> Run:
    """Read what the comparison needs from a recording's header and entries."""
    recorded = header.get("topics")
    topics = set(recorded) if isinstance(recorded, list) else {e.topic for e in entries}
    earlier = header.get("earlier_records")
    run = Run(name, topics, earlier_records=earlier if isinstance(earlier, int) else 0)
    for doc in _docs(entries, "raw."):
        group, seq, tick = doc.get("group"), doc.get("seq"), doc.get("tick")
        if isinstance(tick, int) and not isinstance(tick, bool):
            run.first_reading = tick if run.first_reading is None else min(run.first_reading, tick)
            run.last_reading = tick if run.last_reading is None else max(run.last_reading, tick)
            if isinstance(group, str) and isinstance(seq, int):
                run.readings.add((group, seq, tick))
    run.first_aggregate = _first_aggregate(_docs(entries, "aggregates"))
    run.raises = raises(entries)
    run.kpis = kpis(entries)
    return run


def _first_aggregate(docs: Iterable[dict[str, Any]]) -> int | None:
    """The earliest reading time in the documents: their items' `t`, windows' starts only if nothing else."""
    readings, windows = [], []
    for doc in docs:
        times = [i["t"] for i in doc.get("items", ()) if isinstance(i, dict) and isinstance(i.get("t"), int)]
        if doc.get("kind") in READING_KINDS:
            readings += times
        elif doc.get("kind") == Kind.TRAFFIC:
            windows += times
    return min(readings or windows, default=None)


def raises(entries: Iterable[Entry]) -> list[Raise]:
    """Every raise in the latest state of every alert in a recording's alerts topic."""
    latest = {str(d["id"]): d for d in _docs(entries, "alerts") if d.get("kind") == Kind.ALERT and "id" in d}
    out = []
    for alert_id, doc in latest.items():
        parts = alert_id.split(":")  # rule:entity:since, for documents without their own fields
        rule = str(doc.get("rule") or parts[0])
        entity = str(doc.get("entity") or (parts[1] if len(parts) > 1 else ""))
        history = [
            (str(h.get("action")), int(h.get("at") or 0), h.get("severity"), h.get("by"))
            for h in doc.get("history", ())
            if isinstance(h, dict)
        ]
        # A new raise: the first, or the system raising it again when its condition returned (an operator
        # reopening it is a step of the raise it reopens).
        starts = [
            i
            for i, (action, _, _, by) in enumerate(history)
            if action == RAISE_STEP or (action == AlertStatus.RAISED and by == "system")
        ]
        if not starts:
            continue
        steps: list[Step] = [(action, at, sev) for action, at, sev, _ in history]
        first = steps[starts[0]][1]
        for i, begin in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(steps)
            part = tuple(steps[begin:end])
            out.append(Raise(rule, entity, part[0][1], part, alert_id, first))
    return sorted(out, key=lambda r: (r.at, r.rule, r.entity))


def kpis(entries: Iterable[Entry]) -> dict[str, KpiRange]:
    """'<area>:<kpi>' → final, lowest and highest value published during the run."""
    seen: dict[str, list[float]] = {}
    for doc in _docs(entries, "aggregates"):
        if doc.get("kind") == Kind.KPI:
            for item in doc.get("items", ()):
                seen.setdefault(str(item["id"]), []).append(float(item["value"]))
    return {k: KpiRange(v[-1], min(v), max(v)) for k, v in seen.items()}


def compare(a: Run, b: Run, kpi_tolerance: float = 0.0) -> Comparison:
    starts, basis, notes = _starts(a, b)
    result = Comparison(a.name, b.name, basis, notes)
    result.warnings += [w for run in (a, b) if (w := _missing_topics(run)) is not None]
    alerts = all("alerts" in run.topics for run in (a, b))
    if alerts and starts is not None:
        _compare_alerts(result, a, b, *starts)
    if all("aggregates" in run.topics for run in (a, b)):
        result.kpis = []
        ka, kb = a.kpis, b.kpis
        for key in sorted(set(ka) | set(kb)):
            ra, rb = ka.get(key), kb.get(key)
            if ra is None or rb is None or not _close(ra, rb, kpi_tolerance):
                result.kpis.append((key, ra, rb))
    if starts is not None:
        result.warnings += [w for run, s in zip((a, b), starts, strict=True) if (w := _mid_stream(run, s))]
    if any(MID_STREAM in w for w in result.warnings):
        result.warnings.append(CONSEQUENCES)
    return result


def _own_start(run: Run, start: int) -> int:
    return run.first_reading if run.first_reading is not None else start


def _starts(a: Run, b: Run) -> tuple[tuple[int, int] | None, str, list[str]]:
    """Each recording's start (simulated ms), what it is, and warnings about it. Both recordings' starts
    are found the same way, the best way both allow: their first reading, else their first aggregate."""
    if a.first_reading is not None and b.first_reading is not None:
        if a.readings & b.readings:
            # The same readings (a replay of the other, or the same namespace): one simulated clock. From
            # the later first reading on both hold the same data; a replay started with --from, or a
            # recording started later, would otherwise shift every time.
            start = max(a.first_reading, b.first_reading)
            later, earlier = (a, b) if start == a.first_reading else (b, a)
            basis = "one clock (both hold the same readings), from " + (
                "their first reading"
                if a.first_reading == b.first_reading
                else f"the later first reading, {later.name}'s"
            )
            notes = _ends(a, b, start)
            if earlier.first_reading != start:
                notes.append(
                    f"{later.name} starts {_rel(start - (earlier.first_reading or 0))} after "
                    f"{earlier.name}'s first reading: both are compared from {later.name}'s start, which is "
                    f"{MID_STREAM} for {earlier.name}"
                )
            return (start, start), f"{basis} at {_vn(start)}", notes
        basis = f"each recording's first reading ({a.name} {_vn(a.first_reading)}, {b.name} "
        return (a.first_reading, b.first_reading), f"{basis}{_vn(b.first_reading)})", []
    if a.first_aggregate is not None and b.first_aggregate is not None:
        lacking = " and ".join(run.name for run in (a, b) if run.first_reading is None)
        warning = (
            f"{lacking} holds no raw readings, so each recording's start is the earliest reading time in "
            "its aggregates, which a recording started mid-stream can put minutes before its first "
            "reading; record raw too (the default topics) for exact raise times"
        )
        basis = f"each recording's first aggregate ({a.name} {_vn(a.first_aggregate)}, {b.name} "
        return (a.first_aggregate, b.first_aggregate), f"{basis}{_vn(b.first_aggregate)})", [warning]
    fa, fb = a.first_alert(), b.first_alert()
    if fa is None or fb is None:
        return None, "none (no readings, aggregates or alerts in one of them)", []
    warning = (
        "the recordings share no way to find their starts (raw readings in both, or aggregates in both): "
        "raise times count from each one's first alert, so only the alerts' order and spacing are compared"
    )
    return (fa, fb), f"each recording's first alert ({a.name} {_vn(fa)}, {b.name} {_vn(fb)})", [warning]


def _ends(a: Run, b: Run, start: int) -> list[str]:
    if a.last_reading is None or b.last_reading is None or abs(a.last_reading - b.last_reading) < 60_000:
        return []
    short, long_ = (a, b) if a.last_reading < b.last_reading else (b, a)
    assert short.last_reading is not None and long_.last_reading is not None
    return [
        f"{short.name}'s readings end at {_rel(short.last_reading - start)}, {long_.name}'s at "
        f"{_rel(long_.last_reading - start)}: alerts raised after {_rel(short.last_reading - start)} can "
        f"only be in {long_.name}"
    ]


def _compare_alerts(result: Comparison, a: Run, b: Run, start_a: int, start_b: int) -> None:
    ra = [r for r in a.raises if r.at >= start_a]
    rb = [r for r in b.raises if r.at >= start_b]
    result.alerts = (len(ra), len(rb))
    result.before = (len(a.raises) - len(ra), len(b.raises) - len(rb))
    in_b: dict[tuple[str, str, int], list[Raise]] = {}
    for r in rb:
        in_b.setdefault((r.rule, r.entity, r.at - start_b), []).append(r)
    unmatched_a = []
    for r in ra:
        twins = in_b.get((r.rule, r.entity, r.at - start_a))
        if not twins:
            unmatched_a.append(r)
            continue
        twin = twins.pop(0)
        result.matching += 1
        # A severity is comparable only if both alerts began within their recordings: one raised before
        # its start carries a severity from a past the other never saw (it never steps down).
        whole = r.first_raised >= start_a and twin.first_raised >= start_b
        la, lb = _lifecycle(r, start_a, whole), _lifecycle(twin, start_b, whole)
        if la != lb:
            result.changed.append((_what(r, start_a), la, lb))
    unmatched_b = sorted((r for rs in in_b.values() for r in rs), key=lambda r: r.at - start_b)
    carried_a = _carried(a, start_a, unmatched_b, start_b, result, a.name, b.name)
    carried_b = _carried(b, start_b, unmatched_a, start_a, result, b.name, a.name)
    result.only_a = [_what(r, start_a) for r in unmatched_a if r not in carried_b]
    result.only_b = [_what(r, start_b) for r in unmatched_b if r not in carried_a]


def _carried(
    run: Run, start: int, others: list[Raise], other_start: int, result: Comparison, name: str, other: str
) -> set[Raise]:
    """The first unmatched raise in the other recording of each alert still open at `run`'s start: the
    same condition, which `run` had raised before it began and the other (starting without that past)
    raised anew."""
    open_at_start = {(r.rule, r.entity): r for r in run.raises if r.at < start and _active_at(r, start)}
    taken = set()
    for r in others:
        opened = open_at_start.pop((r.rule, r.entity), None)
        if opened is not None:
            taken.add(r)
            result.carried.append(
                f"{r.rule} {r.entity}: open in {name} since {_vn(opened.at)} (before its start), raised "
                f"anew in {other} at {_rel(r.at - other_start)}"
            )
    return taken


def _active_at(r: Raise, t: int) -> bool:
    status = [action for action, at, _ in r.steps if at < t and action in (*ACTIVE_STEPS, *ENDING_STEPS)]
    return bool(status) and status[-1] in ACTIVE_STEPS


def _lifecycle(r: Raise, start: int, severity: bool) -> str:
    """The raise's steps after the start as text; severities and worsening only if `severity`."""
    steps = [(RAISE_STEP, r.at, r.steps[0][2]), *r.steps[1:]]  # a raise again reads as a raise
    parts = [
        f"{action} {_rel(at - start)}" for action, at, _ in steps if severity or action not in SEVERITY_STEPS
    ]
    sev = next((s for _, _, s in reversed(steps) if s), None) if severity else None
    return (f"{sev}: " if sev else "") + ", ".join(parts)


def _what(r: Raise, start: int) -> str:
    return f"{r.rule} {r.entity} raised {_rel(r.at - start)} ({_vn(r.at)}, id {r.alert_id})"


def _missing_topics(run: Run) -> str | None:
    lacks = [t for t in ("alerts", "aggregates") if t not in run.topics]
    if not lacks:
        return None
    recorded = ", ".join(sorted(run.topics)) or "none"
    if len(lacks) == 2:
        return (
            f"{run.name} holds no alerts and no aggregates (its topics: {recorded}): nothing in it can be "
            "compared. Record --topics raw,aggregates,alerts (the default), or replay it into a namespace "
            "with a worker and record that namespace"
        )
    what = "alerts are" if lacks == ["alerts"] else "KPIs are"
    return f"{run.name} holds no {lacks[0]} (its topics: {recorded}): {what} not compared; record them too"


def _mid_stream(run: Run, start: int) -> str | None:
    """Why a recording starts mid-stream, and what that changes, or None."""
    before = sum(1 for r in run.raises if r.at < _own_start(run, start))
    evidence = []
    if run.earlier_records > 0:  # a count the broker may under-report (Tansu): not printed
        evidence.append("recorded from now, with records on its topics from before")
    if before:
        evidence.append(f"{before} of its alerts were raised before its start")
    if not evidence:
        return None
    return f"{run.name} starts {MID_STREAM} ({'; '.join(evidence)})"


MID_STREAM = "mid-stream"
# What a run that starts mid-stream lacks; the facts are the processors' (processors/airquality.py,
# alerts.py, detectors.py, health.py), which this shared core does not import.
CONSEQUENCES = (
    "a run replayed from a mid-stream start lacks what came before, so at first it differs for reasons of "
    "its own: "
    "VN_AQI needs readings in 2 of the last 3 clock hours (the wall shows 'not enough data', and no "
    "air-quality alert can be raised, until the first clock hour after the start has passed) and its "
    f"NowCast weighs {NOWCAST_HOURS} hours, so air-quality alerts and the air KPIs are not comparable for "
    f"the first {NOWCAST_HOURS} h; conditions already holding are raised anew after their hold (shown as "
    "carried over); water-rise windows (30 min), traffic-speed baselines and hospital queues start empty. "
    "For an exact comparison record from the beginning (--from-beginning) and replay from the start"
)


def _close(a: KpiRange, b: KpiRange, tol: float) -> bool:
    # Final values only: the intermediate values a run publishes depend on when its emits fell, not on the
    # data; the lowest and highest are printed for context.
    return abs(a.final - b.final) <= tol


def _vn(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(VN_TZ).strftime("%m-%d %H:%M:%S")


def _rel(ms: int) -> str:
    """Simulated time after (or before) a start: '+1:05:00'."""
    sign, s = ("-" if ms < 0 else "+"), abs(ms) // 1000
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def report(c: Comparison) -> str:
    lines = [_wrap(f"warning: {w}") for w in c.warnings]
    if c.alerts is None:
        lines.append("alerts: not compared")
    else:
        lines.append(f"alerts: {c.alerts[0]} in {c.a}, {c.alerts[1]} in {c.b}, {c.matching} matching")
        lines.append(f"  matched by rule, entity and raise time after the start: {c.basis}")
        lines += [f"  only in {c.a}: {what}" for what in c.only_a]
        lines += [f"  only in {c.b}: {what}" for what in c.only_b]
        for what, in_a, in_b in c.changed:
            lines += [f"  differs: {what}", f"    {c.a}: {in_a}", f"    {c.b}: {in_b}"]
        lines += [f"  carried over: {what}" for what in c.carried]
        if any(c.before):
            lines.append(
                f"  raised before the start (not compared): {c.before[0]} in {c.a}, {c.before[1]} in {c.b}"
            )
    if c.kpis is None:
        lines.append("KPIs: not compared")
    else:
        lines.append(f"KPIs whose final value differs: {len(c.kpis)} (shown as final / low / high)")
        lines += [f"  {key}: {_range(ra)}  vs  {_range(rb)}" for key, ra, rb in c.kpis]
    if c.exit_code == 2:
        lines.append("nothing compared")
    else:
        lines.append("no differences" if c.none else "differences found")
    return "\n".join(lines)


def _range(r: KpiRange | None) -> str:
    return "absent" if r is None else f"{r.final:g} / {r.low:g} / {r.high:g}"


def _wrap(text: str) -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)
