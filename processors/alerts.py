"""Alerts: threshold rules over the indicator documents, held for a duration; one alert per rule and entity
at a time; a lifecycle raise → acknowledge → assign → clear → resolve (→ reopen) with who/when/comment;
escalation of unacknowledged alerts. FIWARE Alert vocabulary. Pure code; the agents publish the results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ioc.contract.documents import (
    ACTIONS,
    ACTIVE_STATUSES,
    ESCALATE_STEP,
    RAISE_STEP,
    SEVERITIES,
    SEVERITY_RANK,
    WORSENED_STEP,
    Action,
    AlertStatus,
    FloodStatus,
    Kind,
    Severity,
    action_refusal,
    reopen_refusal,
    status_after,
)
from processors.detectors import DropAnomaly, RiseRate


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # the aggregate document kind it watches
    category: str
    sub_category: str
    severity: Callable[[dict[str, Any]], Severity | None]  # None = condition not met
    hold_ms: int = 0  # the condition must hold this long (event time) before raising
    description: str = ""
    clear_hold_ms: int = 0  # the condition must be gone this long (event time) before the alert clears


FLOOD_SEVERITY = {FloodStatus.ALERT1: Severity.MEDIUM, FloodStatus.ALERT2: Severity.HIGH,
                  FloodStatus.ALERT3: Severity.CRITICAL}  # fmt: skip


def _flood(item: dict[str, Any]) -> Severity | None:
    return FLOOD_SEVERITY.get(item.get("status", ""))


def _air(item: dict[str, Any]) -> Severity | None:
    aqi = item.get("aqi")
    return (
        None
        if aqi is None or aqi <= 150
        else (Severity.MEDIUM if aqi <= 200 else Severity.HIGH if aqi <= 300 else Severity.CRITICAL)
    )


def _jam(item: dict[str, Any]) -> Severity | None:
    return Severity.HIGH if item.get("level", 0) >= 4 else None


def _offline(item: dict[str, Any]) -> Severity | None:
    return Severity.MEDIUM if item.get("online") is False else None


def _waits(item: dict[str, Any]) -> Severity | None:
    p90 = item.get("wait_p90_min")
    return None if p90 is None or p90 <= 120 else (Severity.HIGH if p90 > 180 else Severity.MEDIUM)


def _rising(detector: RiseRate) -> Callable[[dict[str, Any]], Severity | None]:
    """Rise measured in the gauge's own alert steps (level 2 − level 1): 0.2 m at a street, 1 m on the river,
    so the tide at the coast (≈0.16 m per 30 min, facts 'Tide') never trips it but a street filling does."""

    def severity(item: dict[str, Any]) -> Severity | None:
        levels: list[float] = list(item.get("levels") or [])
        level = item.get("currentLevel")
        if len(levels) < 2 or level is None or levels[1] <= levels[0]:
            return None
        return detector({"id": item["id"], "t": item.get("t"), "steps": level / (levels[1] - levels[0])})

    return severity


def default_rules() -> tuple[Rule, ...]:
    """The rule set, with fresh state for the stateful detectors (one set per AlertBook)."""
    rising = RiseRate("steps", 30 * 60_000, ((1.0, Severity.MEDIUM), (2.0, Severity.HIGH)))
    # Speed of closed 5-min windows vs the lane's exponentially weighted level (α 0.1 ≈ the last 50 min).
    slow = DropAnomaly("speed", 0.1, ((-4.0, Severity.MEDIUM), (-6.0, Severity.HIGH)), warmup=6, sd_floor=2.0)
    return (
        Rule("flood-level", Kind.WATER, "naturalDisaster", "flood", _flood, 0, "Water above alert level 1-3",
             clear_hold_ms=10 * 60_000),  # a tide or noise at the line must not flap it
        Rule("flood-rising", Kind.WATER, "naturalDisaster", "flood", _rising(rising), 0,
             "Water rose by one alert step (level 2 − level 1) or more within 30 min"),
        Rule("air-quality", Kind.AQI, "environment", "airPollution", _air, 0,
             "Hourly VN_AQI above 150 (Kém)"),
        Rule("traffic-jam", Kind.TRAFFIC, "traffic", "trafficJam", _jam, 10 * 60_000,
             "Severe or jammed 10 min"),
        Rule("traffic-anomaly", Kind.TRAFFIC, "traffic", "hazardOnRoad", slow, 0,
             "Lane speed 4 sd or more below its recent level (possible incident)"),
        Rule("cabinet-offline", Kind.LIGHTING, "security", "streetlightOutage", _offline, 0,
             "Cabinet silent 5 min"),
        Rule("hospital-waits", Kind.HOSPITAL, "health", "hospitalOvercrowding", _waits, 30 * 60_000,
             "p90 wait > 2 h"),
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
    escalations: int = 0
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


def _cleared_by(alert: Alert) -> str | None:
    """Who cleared the alert last: "system" or an operator's name."""
    steps = (h for h in reversed(alert.history) if h.get("action") == AlertStatus.CLEARED)
    return next((str(h.get("by")) for h in steps), None)


def _escalation_base(alert: Alert) -> tuple[int, int]:
    """When the alert's escalation clock started and how many escalations came before: its raise, or an
    operator's last reopening (a reopened alert is not stepped up for the time it was resolved or cleared)."""
    for i in range(len(alert.history) - 1, -1, -1):
        step = alert.history[i]
        if step.get("action") == AlertStatus.RAISED and step.get("by") != "system":
            before = sum(h.get("action") == ESCALATE_STEP for h in alert.history[:i])
            return int(step.get("at") or 0), before
    return alert.raised_at, 0


class ActionError(ValueError):
    """An operator action the alert's state does not allow."""


@dataclass
class AlertBook:
    """Alerts by (rule, entity): `observe` raises and clears on event time, `act` applies operator actions."""

    rules: tuple[Rule, ...] = field(default_factory=default_rules)
    escalate_after_ms: int = 5 * 60_000
    alerts: dict[str, Alert] = field(default_factory=dict)
    open: dict[tuple[str, str], str] = field(default_factory=dict)  # (rule, entity) → alert id
    pending: dict[tuple[str, str], int] = field(default_factory=dict)  # condition first seen at
    absent: dict[tuple[str, str], int] = field(default_factory=dict)  # an active alert's condition gone since
    judged: dict[tuple[str, str], int] = field(default_factory=dict)  # event time last judged
    # Cleared by an operator while the condition still held: it does not return until it has gone away once
    # (or gets worse than the alert), so a false alarm on a sensor still reporting it stays cleared.
    silenced: set[tuple[str, str]] = field(default_factory=set)
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
                t = int(item.get("t") or 0)
                self._check(rule, str(item["id"]), rule.severity(item), t)

    def _check(self, rule: Rule, entity: str, severity: Severity | None, t: int) -> None:
        key = (rule.id, entity)
        if t < self.judged.get(key, t):
            return  # older than what was judged (a document published again): never re-raise the past
        self.judged[key] = t
        alert = self.alerts.get(self.open.get(key, ""))
        if severity is None:
            self.pending.pop(key, None)
            self.silenced.discard(key)
            if alert is not None and alert.status in ACTIVE_STATUSES:
                gone = self.absent.setdefault(key, t)
                if t - gone >= rule.clear_hold_ms:
                    self._move(alert, AlertStatus.CLEARED, "system", t, "condition no longer holds")
                    self.absent.pop(key)
            return
        self.absent.pop(key, None)
        if alert is not None:
            self._escalate(alert, t)  # only while the condition holds: one on its way out is not stepped up
        since = self.pending.setdefault(key, t)
        if alert is None or alert.status == AlertStatus.RESOLVED:
            if t - since >= rule.hold_ms:
                self._raise(rule, entity, severity, since, t)
        elif alert.status == AlertStatus.CLEARED:
            if not self._silenced(key, alert, severity):
                self._move(alert, AlertStatus.RAISED, "system", t, "condition returned")
        elif SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]:
            alert.severity = severity
            alert.history.append({"action": WORSENED_STEP, "by": "system", "at": t, "severity": severity})
            self.changed[alert.id] = None

    def _silenced(self, key: tuple[str, str], alert: Alert, severity: Severity) -> bool:
        return key in self.silenced and SEVERITY_RANK[severity] <= SEVERITY_RANK[alert.severity]

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
            self.absent.pop(key, None)
            if key in self.pending:  # the condition still holds: cleared until it has gone away once
                self.silenced.add(key)
        elif what == Action.RESOLVE:
            self.open.pop(key, None)
            self.pending.pop(key, None)  # a condition still holding starts a new alert
            self.absent.pop(key, None)
            self.silenced.discard(key)
        elif what == Action.REOPEN:
            self.open[key] = alert.id  # the open alert of its rule and entity again (a resolved one too)
            self.silenced.discard(key)
        return alert

    def _escalate(self, alert: Alert, now_ms: int) -> None:
        """Step up an alert still unacknowledged a whole period after raising or its last escalation, once
        per period passed, dated when it fell due; acknowledging stops it. Judged when the alert's own entity
        is next judged, on that entity's event time: the order in which partitions are read (a catch-up, a
        replay) cannot escalate an alert whose clearing is merely still on its way."""
        since, before = _escalation_base(alert)
        while alert.status == AlertStatus.RAISED and SEVERITY_RANK[alert.severity] < len(SEVERITIES) - 1:
            due = since + (alert.escalations - before + 1) * self.escalate_after_ms
            if now_ms <= due:  # a condition that ends just as it falls due is not escalated
                return
            alert.severity = SEVERITIES[SEVERITY_RANK[alert.severity] + 1]
            alert.escalations += 1
            alert.history.append(
                {"action": ESCALATE_STEP, "by": "system", "at": due, "severity": alert.severity}
            )
            self.changed[alert.id] = None

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
                if alert.status != AlertStatus.CLEARED:
                    self.pending[key] = since
                elif _cleared_by(alert) != "system":
                    self.silenced.add(key)  # cleared by an operator: as above
        return sum(a.status != AlertStatus.RESOLVED for a in self.alerts.values() if a.id in latest)

    def forget(self, entity_in_scope: Callable[[str], bool]) -> None:
        """Drop the alerts of entities another worker now looks after."""
        for alert_id in [a.id for a in self.alerts.values() if entity_in_scope(a.entity)]:
            alert = self.alerts.pop(alert_id)
            self.open.pop((alert.rule, alert.entity), None)
            self.pending.pop((alert.rule, alert.entity), None)
            self.absent.pop((alert.rule, alert.entity), None)
            self.judged.pop((alert.rule, alert.entity), None)
            self.silenced.discard((alert.rule, alert.entity))
            self.changed.pop(alert_id, None)

    def drain(self) -> list[dict[str, Any]]:
        docs = [self.alerts[a].document() for a in self.changed]
        self.changed.clear()
        return docs
