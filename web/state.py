"""The wall's current state: the latest value of every entity, versioned so pushes carry only what changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ioc.city import City

KIND_DOMAIN = {"aqi": "environment", "weather": "environment", "water": "environment"}


@dataclass(frozen=True)
class Subscription:
    """Which areas and domains a client wants; empty means all."""

    areas: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    def wants(self, item: dict[str, Any]) -> bool:
        return (not self.areas or item.get("area") in self.areas) and (
            not self.domains or item.get("domain") in self.domains
        )

    @classmethod
    def parse(cls, areas: str | None, domains: str | None) -> Subscription:
        def split(text: str | None) -> frozenset[str]:
            return frozenset(x.strip() for x in (text or "").split(",") if x.strip())

        return cls(split(areas), split(domains))


class WallState:
    """Latest-wins store keyed by kind and entity id, enriched with the city model's area and ward."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.items: dict[str, dict[str, Any]] = {}
        self._dirty: dict[str, None] = {}  # keys changed since the last take_changes(), in order
        self.version = 0
        self.sim_time_ms = 0
        self.records = 0

    def apply(self, doc: dict[str, Any]) -> int:
        """Fold one aggregate document in; return how many entities changed."""
        kind = doc.get("kind")
        domain = KIND_DOMAIN.get(str(kind))
        if domain is None:
            return 0
        self.records += 1
        changed = 0
        for item in doc.get("items", ()):
            sensor = self.city.sensors.get(item.get("id", ""))
            if sensor is None:
                continue
            key = f"{kind}:{sensor.id}"
            entry = {
                "key": key,
                "kind": kind,
                "domain": domain,
                "area": sensor.area,
                "ward": sensor.ward,
                **item,
            }
            if doc.get("hour") is not None:
                entry["hour"] = doc["hour"]
            if self.items.get(key) == entry:
                continue
            self.version += 1
            self.items[key] = entry
            self._dirty[key] = None
            self.sim_time_ms = max(self.sim_time_ms, int(item.get("t", 0)))
            changed += 1
        return changed

    def snapshot(self, sub: Subscription) -> list[dict[str, Any]]:
        return [item for item in self.items.values() if sub.wants(item)]

    def take_changes(self) -> list[dict[str, Any]]:
        """Entities changed since the last call (each once, however often it changed)."""
        keys, self._dirty = self._dirty, {}
        return [self.items[k] for k in keys]

    def areas_live(self) -> dict[str, int]:
        """Per area, how many air-quality stations currently have an index (the wall's first content)."""
        counts = Counter(
            item["area"]
            for item in self.items.values()
            if item["kind"] == "aqi" and item.get("aqi") is not None
        )
        return {area: counts.get(area, 0) for area in self.city.areas}
