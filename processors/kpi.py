"""Key performance indicators per urban area and domain, with a FIWARE standing (veryGood … veryBad),
computed from the aggregate documents the other indicator modules publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ioc.city import City
from ioc.contract.documents import FLOOD_STATUSES, STANDINGS, Kind
from processors import areas

# (KPI, unit, upper bounds of veryGood, good, fair, bad; above the last is veryBad), all est. except AQI
# (VN_AQI bands, Decision 1459/QĐ-TCMT) and flood levels (báo động 1-3).
RULES: dict[str, tuple[str, str, tuple[float, float, float, float]]] = {
    "traffic": ("share of lanes heavy or worse", "%", (5, 10, 20, 35)),
    "air": ("worst VN_AQI", "", (50, 100, 150, 200)),
    "flood": ("worst flood alert level", "", (0, 0.5, 1, 2)),
    "lighting": ("lamps off schedule", "%", (2, 5, 10, 20)),
    "health": ("worst p90 wait to the clinic", "min", (30, 60, 90, 120)),
}


def standing(kpi: str, value: float) -> str:
    bounds = RULES[kpi][2]
    return next((STANDINGS[k] for k, b in enumerate(bounds) if value <= b), STANDINGS[-1])


@dataclass
class KpiBoard:
    """Latest inputs per entity, folded into one KPI document per area."""

    city: City
    traffic: dict[str, int] = field(default_factory=dict)  # detector → congestion level
    aqi: dict[str, int] = field(default_factory=dict)  # station → VN_AQI
    flood: dict[str, int] = field(default_factory=dict)  # gauge → alert level 0-3
    lighting: dict[str, tuple[int, float]] = field(default_factory=dict)  # cabinet → (lamps, off share)
    health: dict[str, float] = field(default_factory=dict)  # hospital → p90 wait min
    dirty: set[str] = field(default_factory=set)

    def observe(self, doc: dict[str, Any]) -> None:
        kind = doc.get("kind")
        if doc.get("final") and kind != Kind.WATER:
            return  # closed windows, hours and snapshots are for the rules; KPIs follow the open ones
        for item in doc.get("items", ()):
            area = areas.of_entity(self.city, str(item.get("id", "")))
            if area is None:
                continue
            if kind == Kind.TRAFFIC:
                self.traffic[item["id"]] = item["level"]
            elif kind == Kind.AQI and item.get("aqi") is not None:
                self.aqi[item["id"]] = item["aqi"]
            elif kind == Kind.WATER:
                self.flood[item["id"]] = FLOOD_STATUSES.index(item["status"])
            elif kind == Kind.LIGHTING and item.get("schedule_ok") is not None and item["online"]:
                self.lighting[item["id"]] = (item["lamps"], 1 - item["schedule_ok"])
            elif kind == Kind.HOSPITAL and item.get("wait_p90_min") is not None:
                self.health[item["id"]] = item["wait_p90_min"]
            else:
                continue
            self.dirty.add(area)

    def values(self, area: str) -> dict[str, tuple[float, int]]:
        """KPI → (value, how many entities it is computed from) for one area."""

        def mine(ids: dict[str, Any]) -> list[Any]:
            return [v for k, v in ids.items() if areas.of_entity(self.city, k) == area]

        out: dict[str, tuple[float, int]] = {}
        if levels := mine(self.traffic):
            out["traffic"] = (100 * sum(lv >= 3 for lv in levels) / len(levels), len(levels))
        if aqi := mine(self.aqi):
            out["air"] = (max(aqi), len(aqi))
        if flood := mine(self.flood):
            out["flood"] = (max(flood), len(flood))
        if lights := mine(self.lighting):
            lamps = sum(n for n, _ in lights)
            out["lighting"] = (100 * sum(n * off for n, off in lights) / max(lamps, 1), len(lights))
        if waits := mine(self.health):
            out["health"] = (max(waits), len(waits))
        return out

    def size(self) -> int:
        return sum(len(d) for d in (self.traffic, self.aqi, self.flood, self.lighting, self.health))

    def drain(self, at_ms: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """One document per changed area; `at_ms` (wall time) orders KPI documents for the wall, which never
        goes back to an older one (KPIs have no event time of their own)."""
        out = []
        for area in sorted(self.dirty):
            items = [
                {
                    "id": f"{area}:{kpi}",
                    "area": area,
                    "kpi": kpi,
                    "name": RULES[kpi][0],
                    "unit": RULES[kpi][1],
                    "value": round(value, 2),
                    "standing": standing(kpi, value),
                    "entities": n,  # lanes, stations, gauges, cabinets or hospitals behind the value
                    "at": at_ms,
                }
                for kpi, (value, n) in self.values(area).items()
            ]
            out.append((f"kpi.{area}", {"v": 1, "kind": Kind.KPI, "group": area, "items": items}))
        self.dirty.clear()
        return out
