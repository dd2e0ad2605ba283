"""Which urban area an aggregate document or an alert belongs to: the Kafka key that routes everything of one
area to one worker, so KPIs and alerts see the whole area however the raw partitions are spread."""

from __future__ import annotations

from typing import Any

from ioc.city import City
from ioc.contract.documents import TYPE_OF_KIND, Kind


def of_document(city: City, doc: dict[str, Any]) -> str | None:
    """The area of an indicator document (every sensor group lies within one area)."""
    kind, group = doc.get("kind"), str(doc.get("group", ""))
    if kind in (Kind.LIGHTING, Kind.KPI):
        return group if group in city.areas else None
    if kind == Kind.HOSPITAL:
        hospital = city.hospitals.get(group.removeprefix("hc."))
        return hospital.area if hospital else None
    sensors = city.groups.get((TYPE_OF_KIND.get(str(kind), ""), group))
    return sensors[0].area if sensors else None


def of_entity(city: City, entity: str) -> str | None:
    """The area of a sensor, cabinet or hospital id."""
    return city.area_of(entity)


def of_alert(city: City, alert_id: str) -> str | None:
    """The area of an alert from its id `<rule>:<entity>:<since>`."""
    parts = alert_id.split(":")
    return of_entity(city, parts[1]) if len(parts) == 3 else None
