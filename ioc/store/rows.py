"""From published documents to the operations record's rows: an alert document gives its alert row and one
row per transition of its history; a KPI document one row per area and KPI for its minute; a dead-letter
entry one row (counted per reason and minute when read). Pure: the historian writes what this returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ioc.contract.documents import KPI_DOMAIN, AlertDocument, OperatorAction

MINUTE_MS = 60_000


class Unreadable(ValueError):
    """A document the record cannot take (it goes to the dead-letter topic with this reason)."""


@dataclass
class Rows:
    """Rows for each table, keyed by their unique key so that a batch holds each once (the last wins)."""

    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    alert_events: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    kpi_minutes: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    dead_letters: dict[tuple[str, int, int], dict[str, Any]] = field(default_factory=dict)
    operator_actions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        tables = (self.alerts, self.alert_events, self.kpi_minutes, self.dead_letters, self.operator_actions)
        return sum(len(table) for table in tables)

    def alert(self, doc: Any, published_ms: int, area: str | None, domain: str | None) -> None:
        try:
            alert = AlertDocument.model_validate(doc)
        except ValueError as exc:
            raise Unreadable(f"not an alert document: {str(exc)[:300]}") from exc
        if not alert.history:
            raise Unreadable("an alert without history")
        held = self.alerts.get(alert.id)
        if held is None or len(alert.history) >= held["transitions"]:  # the longest history wins
            self.alerts[alert.id] = {
                "id": alert.id, "rule": alert.rule, "entity": alert.entity, "area": area, "domain": domain,
                "category": alert.category, "sub_category": alert.subCategory,
                "severity": str(alert.severity), "status": str(alert.status), "assignee": alert.assignee,
                "escalations": alert.escalations,
                "raised_at": alert.dateIssued, "updated_at": alert.history[-1].at,
                "transitions": len(alert.history), "recorded_at": published_ms,
            }  # fmt: skip
        for seq, step in enumerate(alert.history):
            self.alert_events.setdefault((alert.id, seq), {
                "alert_id": alert.id, "seq": seq, "action": step.action[:32], "by": step.by[:128],
                "at": step.at, "recorded_at": published_ms, "comment": step.comment,
                "severity": None if step.severity is None else str(step.severity), "assignee": step.assignee,
            })  # fmt: skip

    def kpi(self, doc: dict[str, Any]) -> None:
        items = doc.get("items")
        if not isinstance(items, list):
            raise Unreadable("a KPI document without items")
        for item in items:
            try:
                area, kpi, at = str(item["area"]), str(item["kpi"]), int(item["at"])
                row = {"area": area, "kpi": kpi, "minute": at - at % MINUTE_MS, "domain": KPI_DOMAIN[kpi],
                       "value": float(item["value"]), "standing": item.get("standing"),
                       "entities": int(item.get("entities") or 0), "at": at}  # fmt: skip
            except (KeyError, TypeError, ValueError) as exc:
                raise Unreadable(f"a KPI item without area, kpi, at or value: {exc!r}"[:300]) from exc
            key = (area, kpi, row["minute"])
            held = self.kpi_minutes.get(key)
            if held is None or at >= held["at"]:
                self.kpi_minutes[key] = row

    def dead_letter(self, doc: dict[str, Any], cluster: str, partition: int, offset: int) -> None:
        try:
            at = int(doc["at"])
            row = {"cluster": cluster, "partition": partition, "offset": offset,
                   "domain": str(doc.get("domain") or "?")[:32], "reason": str(doc["reason"])[:32],
                   "minute": at - at % MINUTE_MS}  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise Unreadable(f"a dead-letter entry without reason or at: {exc!r}"[:300]) from exc
        self.dead_letters[(cluster, partition, offset)] = row

    def operator_action(self, doc: Any) -> None:
        try:
            action = OperatorAction.model_validate(doc)
        except ValueError as exc:
            raise Unreadable(f"not an operator action: {str(exc)[:300]}") from exc
        self.operator_actions[action.id] = {
            "id": action.id, "alert_id": action.alert, "action": str(action.action), "by": action.by,
            "role": action.role, "source": action.source, "at": action.at, "sent_at": action.sent_at,
            "comment": action.comment, "assignee": action.assignee,
        }  # fmt: skip
