"""Alerts: rules over the indicator documents with a dead band and holds on event time; one alert per rule
and entity at a time; a lifecycle raise → acknowledge → assign → clear → resolve (→ reopen) with
who/when/comment. FIWARE Alert vocabulary. Pure code; the agents publish the results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ioc.contract.documents import (
    ACTIONS,
    ACTIVE_STATUSES,
    RAISE_STEP,
    SEVERITY_RANK,
    WORSENED_STEP,
    Action,
    AlertStatus,
    Kind,
    Severity,
    action_refusal,
    reopen_refusal,
    status_after,
)
from processors.detectors import DropAnomaly, RiseRate

M = 60_000
Item = dict[str, Any]


@dataclass(frozen=True)
class Lines:
    """Severity lines over one measured value with a dead band under the lowest: the condition begins when
    the value reaches the first line and ends only at `clear_at` or below, so a value wandering about a line
    cannot raise and clear by turns. The severity is that of the highest line reached."""

    steps: tuple[tuple[float, Severity], ...]  # (line, severity), lowest first
    clear_at: float
    strict: bool = False  # the condition is "above the line" (>), not "at or above" (≥)

    def severity(self, value: float) -> Severity | None:
        reached = (
            sev for line, sev in reversed(self.steps) if value > line or (value == line and not self.strict)
        )
        return next(reached, None)

    def gone(self, value: float) -> bool:
        return value <= self.clear_at


@dataclass(frozen=True)
class Rule:
    """What a rule watches, the value it measures in each item and the lines it judges it against (fixed, or
    per entity), and the holds: the condition must hold `raise_hold_ms` of event time before it raises (or
    re-raises a cleared alert) and be gone `clear_hold_ms` before the alert clears."""

    id: str
    kind: str  # the aggregate document kind it watches
    category: str
    sub_category: str
    measure: Callable[[Item], float | None]  # None: nothing to judge in this item (no data)
    lines: Lines | Callable[[Item], Lines | None]
    raise_hold_ms: int
    clear_hold_ms: int
    description: str

    def judge(self, item: Item) -> tuple[Severity | None, bool] | None:
        """(the severity the value reaches, whether it is past the clear line), or None: no judgement."""
        value = self.measure(item)
        lines = self.lines if isinstance(self.lines, Lines) else self.lines(item)
        if value is None or lines is None:
            return None
        return lines.severity(value), lines.gone(value)


# -- the rules' lines: every dead band and hold below, in one place, with why ------------------------------

# Flood: alert levels 1-3 are the gauge's own (báo động 1-3). The condition ends a quarter of the gauge's
# level 1 → 2 step below level 1: 5 cm at a street (0.2 m steps; readings carry ±1 cm of sensor noise, so
# 5 sd), 10 cm at the tide gauges (0.4 m steps), 25 cm on the rivers (1 m steps). No raise hold: a flood
# warning must not wait, and a reading at the line only raises early an alert the band then keeps.
FLOOD_BAND = 0.25
FLOOD_SEVERITIES = (Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


def flood_lines(item: Item) -> Lines | None:
    levels = [float(x) for x in item.get("levels") or ()]
    if len(levels) != len(FLOOD_SEVERITIES) or levels[1] <= levels[0]:
        return None
    return Lines(
        tuple(zip(levels, FLOOD_SEVERITIES, strict=True)), levels[0] - FLOOD_BAND * (levels[1] - levels[0])
    )


# Rising water, in the gauge's own alert steps (level 2 − level 1) over 30 min: 0.2 m at a street, 1 m on the
# river, so the tide at the coast (≈0.16 m per 30 min, facts 'Tide') never trips it but a street filling
# does. It ends when the rise over the window is back under half a step.
RISING = Lines(((1.0, Severity.MEDIUM), (2.0, Severity.HIGH)), clear_at=0.5)


def _steps_risen(rise: RiseRate) -> Callable[[Item], float | None]:
    def measure(item: Item) -> float | None:
        levels = list(item.get("levels") or [])
        level = item.get("currentLevel")
        if len(levels) < 2 or level is None or levels[1] <= levels[0]:
            return None
        return rise({"id": item["id"], "t": item.get("t"), "steps": level / (levels[1] - levels[0])})

    return measure


# Hourly VN_AQI above 150 (Xấu and worse). Ends at 140 or below: 10 index points (≈ 6 µg/m³ of PM2.5 there),
# more than the median change from one hour to the next near 150 (6 in the winter-smog scenario); the 1-h
# clear hold (two closed hours in a row) covers the larger swings (p90 ≈ 20).
AIR = Lines(
    ((150, Severity.MEDIUM), (200, Severity.HIGH), (300, Severity.CRITICAL)), clear_at=140, strict=True
)
# Congestion 4 (severe) or 5 (jammed). Ends at 2 (moderate) or better: a lane at the edge of severe swings
# between 3 and 4 from one 5-min window to the next, so heavy (3) is the band.
JAM = Lines(((4, Severity.HIGH),), clear_at=2)
# Lane speed 4 sd (6 sd: high) below its learnt level; ends once back within 2 sd.
SLOW = Lines(((4.0, Severity.MEDIUM), (6.0, Severity.HIGH)), clear_at=2.0)
# A cabinet silent 5 min (processors/lighting.py) is offline: 1, else 0. A yes/no has no band: the clear
# hold does its work (lighting judges a cabinet back online each minute for 10 min, longer than the hold).
OFFLINE = Lines(((1.0, Severity.MEDIUM),), clear_at=0.0)
# Hospital p90 wait above 2 h (3 h: high). Ends at 110 min or less: near 2 h the p90 moves a median 2 min and
# 9 min at the 90th percentile from one 5-min snapshot to the next (hospital-surge scenario).
WAITS = Lines(((120, Severity.MEDIUM), (180, Severity.HIGH)), clear_at=110, strict=True)


def _number(name: str) -> Callable[[Item], float | None]:
    def measure(item: Item) -> float | None:
        value = item.get(name)
        return None if value is None else float(value)

    return measure


def _offline(item: Item) -> float | None:
    online = item.get("online")
    return None if online is None else float(online is False)


def default_rules() -> tuple[Rule, ...]:
    """The rule set, with fresh state for the stateful measures (one set per AlertBook)."""
    rise = RiseRate("steps", 30 * M)
    # Speed of closed 5-min windows vs the lane's exponentially weighted level (α 0.1 ≈ the last 50 min).
    slow = DropAnomaly("speed", 0.1, warmup=6, sd_floor=2.0)
    # Holds are event time: a water reading comes each minute, a traffic window each 5 min, an air-quality
    # hour each hour, a hospital snapshot each 5 min, a cabinet judgement each minute.
    return (
        Rule("flood-level", Kind.WATER, "naturalDisaster", "flood", _number("currentLevel"), flood_lines,
             0, 10 * M, "Water above alert level 1-3"),  # 10 min: a tide or a shower at the line
        Rule("flood-rising", Kind.WATER, "naturalDisaster", "flood", _steps_risen(rise), RISING, 0, 10 * M,
             "Water rose by one alert step (level 2 − level 1) or more within 30 min"),
        Rule("air-quality", Kind.AQI, "environment", "airPollution", _number("aqi"), AIR, 0, 60 * M,
             "Hourly VN_AQI above 150 (Xấu)"),  # an hourly index: one hour is its own hold; two to clear
        Rule("traffic-jam", Kind.TRAFFIC, "traffic", "trafficJam", _number("level"), JAM, 10 * M, 5 * M,
             "Severe or jammed 10 min"),  # three windows to raise, two in a row at moderate to clear
        Rule("traffic-anomaly", Kind.TRAFFIC, "traffic", "hazardOnRoad", slow, SLOW, 0, 5 * M,
             "Lane speed 4 sd or more below its recent level (possible incident)"),  # an incident: at once
        Rule("cabinet-offline", Kind.LIGHTING, "security", "streetlightOutage", _offline, OFFLINE, 0, 5 * M,
             "Cabinet silent 5 min"),  # the silence is its own hold; online 5 min to clear
        Rule("hospital-waits", Kind.HOSPITAL, "health", "hospitalOvercrowding", _number("wait_p90_min"),
             WAITS, 30 * M, 15 * M, "p90 wait > 2 h"),
    )  # fmt: skip


@dataclass
class Alert:
    id: str
    rule: str
    entity: str
    category: str
    sub_category: str
    severity: Severity
    raised_at: int
    status: AlertStatus = AlertStatus.RAISED
    assignee: str | None = None
    escalations: int = 0  # kept from documents published before severity followed the condition only
    history: list[dict[str, Any]] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {
            "v": 1,
            "kind": Kind.ALERT,
            "id": self.id,
            "type": "Alert",
            "rule": self.rule,
            "entity": self.entity,
            "category": self.category,
            "subCategory": self.sub_category,
            "severity": self.severity,
            "dateIssued": self.raised_at,
            "status": self.status,
            "assignee": self.assignee,
            "escalations": self.escalations,
            "history": self.history,
        }


class ActionError(ValueError):
    """An operator action the alert's state does not allow."""


Key = tuple[str, str]  # (rule, entity)


@dataclass
class AlertBook:
    """Alerts by (rule, entity): `observe` raises and clears on event time, `act` applies operator actions.

    An alert's severity follows its condition only: the worst the condition reached, stepped up ("worsened")
    when it gets worse, never down. Attention to an alert nobody acknowledges is the wall's, on the operators'
    clock (web/attention.py), not a change of the alert."""

    rules: tuple[Rule, ...] = field(default_factory=default_rules)
    alerts: dict[str, Alert] = field(default_factory=dict)
    open: dict[Key, str] = field(default_factory=dict)  # → the alert id, until resolved
    holding: dict[Key, int] = field(
        default_factory=dict
    )  # the condition holds (line reached, not cleared) since
    peak: dict[Key, Severity] = field(default_factory=dict)  # the worst it reached since it began to hold
    gone: dict[Key, int] = field(default_factory=dict)  # the condition past its clear line since
    judged: dict[Key, int] = field(default_factory=dict)  # event time last judged
    # Cleared by an operator while the condition still held: it does not return until it has gone away once
    # (or gets worse than the alert), so a false alarm on a sensor still reporting it stays cleared.
    silenced: set[Key] = field(default_factory=set)
    changed: dict[str, None] = field(default_factory=dict)

    def observe(self, doc: dict[str, Any]) -> None:
        # Rules judge final documents only (each reading, closed window or snapshot once), so a re-run or a
        # replay raises the same alerts whatever the emit timing.
        if not doc.get("final"):
            return
        for rule in self.rules:
            if rule.kind != doc.get("kind"):
                continue
            for item in doc.get("items", ()):
                judgement = rule.judge(item)
                if judgement is not None:  # no value (no vehicles, no index yet) is no news either way
                    self._check(rule, str(item["id"]), *judgement, int(item.get("t") or 0))

    def _check(self, rule: Rule, entity: str, severity: Severity | None, past_clear: bool, t: int) -> None:
        key = (rule.id, entity)
        if t < self.judged.get(key, t):
            return  # older than what was judged (a document published again): never re-raise the past
        self.judged[key] = t
        self._follow(key, severity, past_clear, t)
        alert = self.alerts.get(self.open.get(key, ""))
        active = alert is not None and alert.status in ACTIVE_STATUSES
        gone_since = self.gone.get(key)
        if key in self.holding:
            if alert is not None and active:
                self._worsen(alert, self.peak[key], t)
            elif t - self.holding[key] >= rule.raise_hold_ms:
                self._hold_reached(rule, entity, key, alert, t)
        elif alert is not None and active and gone_since is not None and t - gone_since >= rule.clear_hold_ms:
            self._move(alert, AlertStatus.CLEARED, "system", t, "condition no longer holds")

    def _follow(self, key: Key, severity: Severity | None, past_clear: bool, t: int) -> None:
        """The condition with hysteresis: it begins at a line and ends past the clear line; in the dead band
        between them it stays as it was."""
        if key in self.holding:
            if past_clear:
                del self.holding[key], self.peak[key]
                self.gone[key] = t
                self.silenced.discard(key)
            elif severity is not None and SEVERITY_RANK[severity] > SEVERITY_RANK[self.peak[key]]:
                self.peak[key] = severity
        elif severity is not None:
            self.holding[key], self.peak[key] = t, severity
            self.gone.pop(key, None)

    def _hold_reached(self, rule: Rule, entity: str, key: Key, alert: Alert | None, t: int) -> None:
        if alert is None:
            self._raise(rule, entity, self.peak[key], self.holding[key], t)
        else:  # cleared, and the condition is back
            if key in self.silenced and SEVERITY_RANK[self.peak[key]] <= SEVERITY_RANK[alert.severity]:
                return  # an operator cleared it while it held: back only once it went away, or is worse
            self.silenced.discard(key)
            self._move(alert, AlertStatus.RAISED, "system", t, "condition returned")
            self._worsen(alert, self.peak[key], t)

    def _worsen(self, alert: Alert, severity: Severity, t: int) -> None:
        if SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]:
            alert.severity = severity
            alert.history.append({"action": WORSENED_STEP, "by": "system", "at": t, "severity": severity})
            self.changed[alert.id] = None

    def _raise(self, rule: Rule, entity: str, severity: Severity, since: int, t: int) -> None:
        alert_id = f"{rule.id}:{entity}:{since}"  # deterministic: a re-run raises the same ids
        alert = Alert(alert_id, rule.id, entity, rule.category, rule.sub_category, severity, t)
        alert.history.append(  # with its severity, so the severity at any step can be told from the history
            {"action": RAISE_STEP, "by": "system", "at": t, "comment": rule.description, "severity": severity}
        )
        self.alerts[alert_id] = alert
        self.open[(rule.id, entity)] = alert_id
        self.changed[alert_id] = None

    def _move(self, alert: Alert, status: AlertStatus, by: str, at: int, comment: str = "") -> None:
        alert.status = status
        alert.history.append({"action": status, "by": by, "at": at, "comment": comment})
        self.changed[alert.id] = None

    def act(self, action: dict[str, Any]) -> Alert:
        """Apply {alert, action, by, at, comment?, assignee?}; ActionError if the state does not allow it."""
        alert = self.alerts.get(str(action.get("alert")))
        if alert is None:
            raise ActionError(f"no alert {action.get('alert')!r}")
        what, by, at = action.get("action"), action.get("by"), action.get("at") or 0
        comment = str(action.get("comment") or "")[:2000]
        if what not in ACTIONS or not isinstance(by, str) or not by or type(at) is not int:
            raise ActionError(
                f"action must be one of {', '.join(ACTIONS)} with 'by' (a name) and 'at' (epoch ms)"
            )
        by, what = by[:128], Action(what)
        key = (alert.rule, alert.entity)
        why = action_refusal(what, alert.status, alert.id)
        if why is None and what == Action.REOPEN and alert.status == AlertStatus.RESOLVED:
            why = reopen_refusal(alert.id, self.open.get(key))  # one alert per rule and entity
        if why is not None:
            raise ActionError(why)
        if what == Action.ASSIGN and not action.get("assignee"):
            raise ActionError("assign needs an assignee")
        if what == Action.COMMENT:
            alert.history.append({"action": Action.COMMENT, "by": by, "at": at, "comment": comment})
            self.changed[alert.id] = None
        elif what == Action.ASSIGN:
            alert.assignee = str(action["assignee"])[:128]
            self._move(alert, status_after(what, alert.status), by, at, comment)
            alert.history[-1].update(action=Action.ASSIGN, assignee=alert.assignee)
        else:
            self._move(alert, status_after(what, alert.status), by, at, comment)
        if what == Action.CLEAR:
            self.gone.pop(key, None)
            if key in self.holding:  # the condition still holds: cleared until it has gone away once
                self.silenced.add(key)
        elif what == Action.RESOLVE:
            self._reset(key)  # a condition still at its line starts a new alert
        elif what == Action.REOPEN:
            self.open[key] = alert.id  # the open alert of its rule and entity again (a resolved one too)
            self.silenced.discard(key)
        return alert

    def _reset(self, key: Key) -> None:
        """Forget the alert and the condition of (rule, entity): the next one starts from scratch."""
        self.open.pop(key, None)
        self.holding.pop(key, None)
        self.peak.pop(key, None)
        self.gone.pop(key, None)
        self.silenced.discard(key)

    def restore(self, docs: list[dict[str, Any]]) -> int:
        """Take over alerts from their published documents; return how many are open.

        A worker that inherits an area continues its alerts' lifecycles instead of raising them again. Per id
        the document with the longest history wins (every change adds to it), so an older copy published
        again, or read out of order, cannot roll an alert back."""
        latest: dict[str, dict[str, Any]] = {}
        for d in docs:
            if d.get("kind") == Kind.ALERT and isinstance(d.get("history"), list):
                held = latest.get(d["id"])
                if held is None or len(d["history"]) >= len(held["history"]):
                    latest[d["id"]] = d
        for doc in latest.values():
            try:
                alert = Alert(doc["id"], doc["rule"], doc["entity"], doc["category"], doc["subCategory"],
                              Severity(doc["severity"]), int(doc["dateIssued"]), AlertStatus(doc["status"]),
                              doc.get("assignee"),
                              int(doc.get("escalations", 0)), list(doc["history"]))  # fmt: skip
                since = int(alert.id.rsplit(":", 1)[1])  # the condition's first sighting
            except (KeyError, TypeError, ValueError, IndexError):
                continue  # signed by a processor, so a bug, not an attacker: skip it rather than stop
            self.alerts[alert.id] = alert
            if alert.status != AlertStatus.RESOLVED:
                key = (alert.rule, alert.entity)
                self.open[key] = alert.id
                if alert.status != AlertStatus.CLEARED:  # active: its condition held when last published
                    self.holding[key], self.peak[key] = since, alert.severity
                elif _cleared_by(alert) != "system":
                    self.silenced.add(key)  # cleared by an operator: as above
        return sum(a.status != AlertStatus.RESOLVED for a in self.alerts.values() if a.id in latest)

    def forget(self, entity_in_scope: Callable[[str], bool]) -> None:
        """Drop the alerts of entities another worker now looks after."""
        for alert_id in [a.id for a in self.alerts.values() if entity_in_scope(a.entity)]:
            alert = self.alerts.pop(alert_id)
            self._reset((alert.rule, alert.entity))
            self.judged.pop((alert.rule, alert.entity), None)
            self.changed.pop(alert_id, None)

    def drain(self) -> list[dict[str, Any]]:
        docs = [self.alerts[a].document() for a in self.changed]
        self.changed.clear()
        return docs


def _cleared_by(alert: Alert) -> str | None:
    """Who cleared the alert last: "system" or an operator's name."""
    steps = (h for h in reversed(alert.history) if h.get("action") == AlertStatus.CLEARED)
    return next((str(h.get("by")) for h in steps), None)
