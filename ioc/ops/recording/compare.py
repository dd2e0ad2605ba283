"""Compare two runs' recordings: their alert timelines (which alerts, with which severity and lifecycle at
which simulated times) and their KPIs (final, lowest and highest value per area and indicator) — what an
engineer reads after changing a rule or re-running a scenario."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from ioc.clock import VN_TZ
from ioc.contract.documents import Kind
from ioc.ops.recording.file import Entry

Step = tuple[str, int]  # (lifecycle action, simulated time ms)


@dataclass(frozen=True)
class Timeline:
    """Per alert id: its final severity and its lifecycle steps."""

    alerts: dict[str, tuple[str, tuple[Step, ...]]]


@dataclass(frozen=True)
class KpiRange:
    final: float
    low: float
    high: float


@dataclass
class Differences:
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # id, in A, in B
    kpis: list[tuple[str, KpiRange | None, KpiRange | None]] = field(default_factory=list)

    @property
    def none(self) -> bool:
        return not (self.only_a or self.only_b or self.changed or self.kpis)


def _docs(entries: Iterable[Entry], topic: str) -> Iterable[dict[str, Any]]:
    for e in entries:
        if e.topic == topic and e.value:
            try:
                doc = orjson.loads(e.value)
            except orjson.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                yield doc


def timeline(entries: Iterable[Entry]) -> Timeline:
    """The last state of every alert in a recording's alerts topic."""
    latest = {str(d["id"]): d for d in _docs(entries, "alerts") if d.get("kind") == Kind.ALERT and "id" in d}
    return Timeline(
        {
            alert_id: (
                str(d.get("severity")),
                tuple((str(h.get("action")), int(h.get("at") or 0)) for h in d["history"]),
            )
            for alert_id, d in latest.items()
        }
    )


def kpis(entries: Iterable[Entry]) -> dict[str, KpiRange]:
    """'<area>:<kpi>' → final, lowest and highest value published during the run."""
    seen: dict[str, list[float]] = {}
    for doc in _docs(entries, "aggregates"):
        if doc.get("kind") == Kind.KPI:
            for item in doc.get("items", ()):
                seen.setdefault(str(item["id"]), []).append(float(item["value"]))
    return {k: KpiRange(v[-1], min(v), max(v)) for k, v in seen.items()}


def compare(a: list[Entry], b: list[Entry], kpi_tolerance: float = 0.0) -> Differences:
    ta, tb = timeline(a), timeline(b)
    diff = Differences(
        only_a=sorted(set(ta.alerts) - set(tb.alerts)),
        only_b=sorted(set(tb.alerts) - set(ta.alerts)),
    )
    for alert_id in sorted(set(ta.alerts) & set(tb.alerts)):
        if ta.alerts[alert_id] != tb.alerts[alert_id]:
            diff.changed.append((alert_id, _describe(ta.alerts[alert_id]), _describe(tb.alerts[alert_id])))
    ka, kb = kpis(a), kpis(b)
    for key in sorted(set(ka) | set(kb)):
        ra, rb = ka.get(key), kb.get(key)
        if ra is None or rb is None or not _close(ra, rb, kpi_tolerance):
            diff.kpis.append((key, ra, rb))
    return diff


def _close(a: KpiRange, b: KpiRange, tol: float) -> bool:
    # Final values only: the intermediate values a run publishes depend on when its emits fell, not on the
    # data; the lowest and highest are printed for context.
    return abs(a.final - b.final) <= tol


def _describe(alert: tuple[str, tuple[Step, ...]]) -> str:
    severity, steps = alert
    return f"{severity}: " + ", ".join(f"{action} {_vn(at)}" for action, at in steps)


def _vn(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(VN_TZ).strftime("%m-%d %H:%M")


def report(diff: Differences, a_name: str, b_name: str, a: Timeline, b: Timeline) -> str:
    lines = [f"alerts: {len(a.alerts)} in {a_name}, {len(b.alerts)} in {b_name}"]
    lines += [f"  only in {a_name}: {i}" for i in diff.only_a]
    lines += [f"  only in {b_name}: {i}" for i in diff.only_b]
    for alert_id, in_a, in_b in diff.changed:
        lines += [f"  differs {alert_id}", f"    {a_name}: {in_a}", f"    {b_name}: {in_b}"]
    lines.append(f"KPIs whose final value differs: {len(diff.kpis)} (shown as final / low / high)")
    for key, ra, rb in diff.kpis:
        lines.append(f"  {key}: {_range(ra)}  vs  {_range(rb)}")
    lines.append("no differences" if diff.none else "differences found")
    return "\n".join(lines)


def _range(r: KpiRange | None) -> str:
    return "absent" if r is None else f"{r.final:g} / {r.low:g} / {r.high:g}"
