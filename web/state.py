"""The wall's current state: the latest value of every entity and active alert, the last hour of every KPI,
versioned so pushes carry only what changed."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ioc.city import City
from ioc.contract.documents import (
    ACTIVE_STATUSES,
    AGGREGATE_KINDS,
    KPI_DOMAIN,
    SEVERITY_RANK,
    AlertDocument,
    FloodStatus,
    Kind,
    MapState,
    ReplayStatus,
    SimulatorStatus,
    replay_status,
    simulator_status,
)
from ioc.contract.freshness import EXPECTED
from ioc.contract.schemas import EPOCH_MS_MAX
from web.attention import AttentionBook

HEALTH_KEY = f"{Kind.HEALTH}:status"  # the one item saying whether the data is current
SIMULATOR_KEY = f"{Kind.SIMULATOR}:status"  # the scenario and stage the simulator plays
TREND_MS = 3_600_000  # the wall's charts show the last simulated hour
# An unchanged KPI is stamped again this often (simulated ms), so the page can tell it is still computed.
KPI_RESTAMP_MS = EXPECTED[Kind.KPI].every_ms
ALERTS_KEPT = 5000  # alerts remembered for the REST API and chart markers, newest kept


@dataclass(frozen=True)
class Subscription:
    """Which areas and domains a client wants; empty means all."""

    areas: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    def wants(self, item: dict[str, Any]) -> bool:
        if item.get("kind") in (Kind.REPLAY, Kind.HEALTH, Kind.SIMULATOR):
            return True  # the replay's or simulator's status and whether the data is current concern all
        return (not self.areas or item.get("area") in self.areas) and (
            not self.domains or item.get("domain") in self.domains
        )

    @classmethod
    def parse(cls, areas: str | None, domains: str | None) -> Subscription:
        def split(text: str | None) -> frozenset[str]:
            return frozenset(x.strip() for x in (text or "").split(",") if x.strip())

        return cls(split(areas), split(domains))


@dataclass(frozen=True)
class AlertFilter:
    """REST filters over alerts; None means any."""

    status: frozenset[str] | None = None
    severity: frozenset[str] | None = None
    area: str | None = None
    domain: str | None = None
    rule: str | None = None
    entity: str | None = None
    since: int | None = None  # dateIssued at or after (ms)

    def wants(self, alert: dict[str, Any]) -> bool:
        return (
            (self.status is None or alert["status"] in self.status)
            and (self.severity is None or alert["severity"] in self.severity)
            and (self.area is None or alert.get("area") == self.area)
            and (self.domain is None or alert.get("domain") == self.domain)
            and (self.rule is None or alert.get("rule") == self.rule)
            and (self.entity is None or alert.get("entity") == self.entity)
            and (self.since is None or alert.get("dateIssued", 0) >= self.since)
        )


# A gauge at báo động 1 is a warning; at 2 or 3 the water is in the streets.
FLOOD_STATE: dict[str, MapState] = {
    FloodStatus.NORMAL: MapState.OK,
    FloodStatus.ALERT1: MapState.WARNING,
    FloodStatus.ALERT2: MapState.ALARM,
    FloodStatus.ALERT3: MapState.ALARM,
}


def _lighting_state(item: dict[str, Any]) -> MapState:
    if not item.get("online", True):
        return MapState.OFFLINE
    on_schedule = item.get("schedule_ok")
    off_schedule = on_schedule is not None and on_schedule < 0.9
    return MapState.WARNING if item.get("faulty") or off_schedule else MapState.OK


def _water_state(item: dict[str, Any]) -> MapState:
    return FLOOD_STATE.get(str(item.get("status")), MapState.ALARM)


def _graded(value: float, warning_above: float, alarm_above: float) -> MapState:
    if value > alarm_above:
        return MapState.ALARM
    return MapState.WARNING if value > warning_above else MapState.OK


def _aqi_state(item: dict[str, Any]) -> MapState:
    return _graded(int(item.get("band") or 1), 2, 3)  # VN_AQI band


def _traffic_state(item: dict[str, Any]) -> MapState:
    return _graded(int(item.get("level") or 0), 2, 3)  # congestion level


def _hospital_state(item: dict[str, Any]) -> MapState:
    return _graded(float(item.get("wait_p90_min") or 0), 60, 120)  # minutes


# Aggregate kind → how its latest value maps to a map state (a weather station is always ok).
STATE_RULES: dict[str, Callable[[dict[str, Any]], MapState]] = {
    Kind.LIGHTING: _lighting_state,
    Kind.WATER: _water_state,
    Kind.AQI: _aqi_state,
    Kind.TRAFFIC: _traffic_state,
    Kind.HOSPITAL: _hospital_state,
}


def status_of(kind: str, item: dict[str, Any]) -> MapState:
    """The map state of a sensor's latest value: the map colours by it."""
    rule = STATE_RULES.get(kind)
    return rule(item) if rule is not None else MapState.OK


class WallState:
    """Latest-wins store keyed by `kind:id`, enriched with the city model's area, ward and domain; each alert
    with the attention it asks for (web.attention), which the signed document itself never carries."""

    def __init__(self, city: City, attention: AttentionBook | None = None) -> None:
        self.city = city
        self.version = 0
        # Set on every change (the hub pushes when there is something to push) and on a critical alert's
        # change (pushed at once, not at the next push slot).
        self.news = asyncio.Event()
        self.urgent = asyncio.Event()
        self.attention = attention or AttentionBook()
        self.reset()

    def reset(self) -> None:
        """Forget everything (the broker lost it); the version keeps counting so clients see the change."""
        self.items: dict[str, dict[str, Any]] = {}  # what a snapshot holds
        self.alerts: dict[str, dict[str, Any]] = {}  # every alert seen, oldest first, bounded
        self.trends: dict[str, deque[tuple[int, float]]] = {}  # KPI key → (sim time, value)
        self._changes: dict[str, dict[str, Any]] = {}  # since the last take_changes(), in order
        self.sim_time_ms = 0
        self.records = 0
        self.replay: ReplayStatus | None = None  # the latest status of a replay into this namespace
        self.attention.clear()
        self.simulator: SimulatorStatus | None = None  # the latest status of this namespace's simulator
        self.caught_up = False  # the feed has read what the topics held when it (re)started

    def apply(self, doc: dict[str, Any], published_ms: int | None = None) -> int:
        """Fold one aggregate or alert document in (published at `published_ms`, its record's timestamp, if
        known); return how many entities changed."""
        kind = str(doc.get("kind"))
        if kind == Kind.ALERT:
            return self._apply_alert(doc, published_ms)
        if kind == Kind.REPLAY:
            return self._apply_replay(doc)
        if kind == Kind.SIMULATOR:
            return self._apply_simulator(doc)
        if doc.get("final") and kind != Kind.WATER:
            return 0  # closed windows and hours are for the rules; the wall shows the open ones
        if kind not in AGGREGATE_KINDS:
            return 0
        self.records += 1
        changed = 0
        for item in doc.get("items", ()):
            entry = self._entry(kind, doc, item)
            if entry is not None and self._put(entry):
                changed += 1
        return changed

    def _apply_replay(self, doc: dict[str, Any]) -> int:
        status = replay_status(doc)
        if status is None:
            raise ValueError("not a replay status")
        self.replay = status
        # A delta goes out, carrying the new banner.
        self._changed({"key": f"{Kind.REPLAY}:status", **status.model_dump(mode="json")})
        return 1

    def _apply_simulator(self, doc: dict[str, Any]) -> int:
        status = simulator_status(doc)
        if status is None:
            raise ValueError("not a simulator status")
        held = self.simulator
        if held is not None and held.source == status.source and status.at < held.at:
            return 0  # an older status of the same run
        self.simulator = status
        if held is not None and _banner_facts(held) == _banner_facts(status):
            return 0  # only its clock moved: nothing for the banner
        self._changed({"key": SIMULATOR_KEY, **status.model_dump(mode="json")})
        return 1

    def set_health(self, verdict: dict[str, Any]) -> None:
        """Whether the data is current (web.liveness), as an item every client gets."""
        entry = {"key": HEALTH_KEY, "kind": Kind.HEALTH, **verdict}
        self.items[entry["key"]] = entry
        self._changed(entry)

    def _entry(self, kind: str, doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any] | None:
        entity = str(item.get("id", ""))
        if kind == Kind.KPI:
            domain = KPI_DOMAIN.get(str(item.get("kpi")))
            area = item.get("area")
            if domain is None or area not in self.city.areas:
                return None
            return {"key": f"{kind}:{entity}", "kind": kind, "domain": domain, **item}
        if kind == Kind.HOSPITAL:
            hospital = self.city.hospitals.get(entity)
            if hospital is None:
                return None
            place = {"area": hospital.area, "ward": hospital.ward, "name": hospital.name}
            entry = {"key": f"{kind}:{entity}", "kind": kind, "domain": "health", **place, **item}
            entry["state"] = status_of(kind, item)
            return entry
        sensor = self.city.sensors.get(entity)
        if sensor is None:
            return None
        entry = {"key": f"{kind}:{entity}", "kind": kind, "domain": self.city.domain_of(entity)}
        entry.update(area=sensor.area, ward=sensor.ward, **item)
        entry["state"] = status_of(kind, item)  # "status" is the flood gauge's own field
        if doc.get("hour") is not None:
            entry["hour"] = doc["hour"]
        return entry

    def _put(self, entry: dict[str, Any]) -> bool:
        key = entry["key"]
        old = self.items.get(key)
        if entry["kind"] == Kind.KPI:
            same = old is not None and old["value"] == entry["value"] and old["entities"] == entry["entities"]
            if old is not None and same and self.sim_time_ms - old["t"] < KPI_RESTAMP_MS:
                return False
            if old is not None and _time(entry.get("at")) < _time(old.get("at")):
                return False  # an older KPI document (published again): never go back
            entry["t"] = self.sim_time_ms  # KPIs carry no event time: stamp them with the wall's clock
            if not same:
                self._trend(key, entry["t"], float(entry["value"]))
        elif old == entry or (old is not None and _time(entry.get("t")) < _time(old.get("t"))):
            return False  # unchanged, or a late reading older than the one shown
        else:
            self.sim_time_ms = max(self.sim_time_ms, _time(entry.get("t")))
        self.items[key] = entry
        self._changed(entry)
        return True

    def _trend(self, key: str, t: int, value: float) -> None:
        points = self.trends.setdefault(key, deque())
        points.append((t, value))
        # Kept: the last point at or before the window's start, the value in force there (a chart drawn
        # from the snapshot starts its line at the window's left edge, not at the first change inside it).
        while len(points) > 1 and points[1][0] <= t - TREND_MS:
            points.popleft()

    def _apply_alert(self, doc: dict[str, Any], published_ms: int | None) -> int:
        # Not an alert document: ValueError, the feed refuses it; so the REST API serves only real ones.
        alert = AlertDocument.model_validate(doc)
        held = self.alerts.get(alert.id)
        if held is not None and len(alert.history) < len(held["history"]):
            return 0  # an older copy of the alert (every change adds to its history): never roll back
        self.records += 1
        alert_id, entity = alert.id, alert.entity
        entry = {k: v for k, v in alert.model_dump(mode="json", exclude_unset=True).items() if k != "v"}
        entry.update(
            key=f"alert:{alert_id}", area=self.city.area_of(entity), domain=self.city.domain_of(entity)
        )
        self.attention.seen(alert_id, entry["status"], published_ms)
        entry["attention"] = self.attention.of(alert_id)
        self.alerts.pop(alert_id, None)  # re-inserted last: the dict stays in order of last change
        self.alerts[alert_id] = entry
        while len(self.alerts) > ALERTS_KEPT:
            del self.alerts[next(iter(self.alerts))]
        if entry["status"] in ACTIVE_STATUSES:
            self.items[entry["key"]] = entry
        else:
            self.items.pop(entry["key"], None)  # pushed once more so clients drop it, then gone
        self._changed(entry)
        return 1

    def refresh_attention(self) -> int:
        """Push again the alerts whose attention level changed with the time alone; return how many."""
        self.attention.keep_only(set(self.alerts))
        changed = 0
        for alert_id in list(self.attention.since):
            held = self.alerts[alert_id]
            attention = self.attention.of(alert_id)
            if attention["level"] != held["attention"]["level"]:
                entry = self.alerts[alert_id] = {**held, "attention": attention}  # its place (age) kept
                if entry["key"] in self.items:
                    self.items[entry["key"]] = entry
                self._changed(entry)
                changed += 1
        return changed

    def with_attention(self, alert: dict[str, Any]) -> dict[str, Any]:
        """A held alert with its attention as of now (how long unacknowledged, to the second)."""
        return {**alert, "attention": self.attention.of(str(alert["id"]))}

    def _changed(self, entry: dict[str, Any]) -> None:
        self.version += 1
        self._changes[entry["key"]] = entry
        self.news.set()
        if entry.get("kind") == Kind.ALERT and entry.get("severity") == "critical":
            self.urgent.set()

    def snapshot(self, sub: Subscription) -> list[dict[str, Any]]:
        return [item for item in self.items.values() if sub.wants(item)]

    def trend_snapshot(self, sub: Subscription) -> dict[str, list[list[float]]]:
        """KPI key → [[sim time...], [value...]] over the last hour, for the charts."""
        out = {}
        for key, points in self.trends.items():
            if sub.wants(self.items[key]):
                ts, vs = zip(*points, strict=True)
                out[key] = [list(ts), list(vs)]
        return out

    def markers(self, sub: Subscription) -> list[dict[str, Any]]:
        """Alerts raised within the last hour (any status), for the charts' alert markers."""
        since = self.sim_time_ms - TREND_MS
        fields = ("id", "rule", "entity", "area", "domain", "severity", "status", "dateIssued")
        return [
            {f: a.get(f) for f in fields}
            for a in self.alerts.values()
            if a.get("dateIssued", 0) >= since and sub.wants(a)
        ]

    def take_changes(self) -> list[dict[str, Any]]:
        """Entities changed since the last call (each once, in its latest state)."""
        changes, self._changes = self._changes, {}
        return list(changes.values())

    def alert_list(self, where: AlertFilter, limit: int) -> list[dict[str, Any]]:
        """Matching alerts, most severe first, then newest first."""
        found = [a for a in self.alerts.values() if where.wants(a)]
        found.sort(key=lambda a: (-SEVERITY_RANK.get(a["severity"], 0), -a.get("dateIssued", 0)))
        return found[:limit]

    def worst_alerts(self) -> dict[str, dict[str, Any]]:
        """Entity → its most severe active alert."""
        worst: dict[str, dict[str, Any]] = {}
        for a in self.alerts.values():
            if a["status"] not in ACTIVE_STATUSES:
                continue
            held = worst.get(a["entity"])
            if held is None or SEVERITY_RANK[a["severity"]] > SEVERITY_RANK[held["severity"]]:
                worst[a["entity"]] = a
        return worst

    def areas_live(self) -> dict[str, int]:
        """Per area, how many air-quality stations currently have an index (the wall's first content)."""
        counts = Counter(
            item["area"]
            for item in self.items.values()
            if item["kind"] == Kind.AQI and item.get("aqi") is not None
        )
        return {area: counts.get(area, 0) for area in self.city.areas}


def _banner_facts(status: SimulatorStatus) -> tuple[Any, ...]:
    return (status.source, status.phase, status.scenario, status.stage, status.speed, status.history)


def _time(value: Any) -> int:
    """An entity's time in epoch ms; ValueError (the feed refuses the document) outside the contract's range,
    so one absurd time can never hide every later reading of its entity."""
    t = 0 if value is None else value
    if type(t) is not int or not 0 <= t <= EPOCH_MS_MAX:
        raise ValueError(f"time must be an integer in 0..{EPOCH_MS_MAX}")
    return t
