"""The city model: areas, wards, roads, junctions, hospitals and every sensor, loaded from the data files."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ioc.city import geo
from ioc.city.geo import LatLon
from ioc.contract.schemas import SCHEMAS, SHORT_FRAME

AREA_CODES = {"vinh": "VIN", "cua-lo": "CL", "hoang-mai": "HM"}
# Cabinets reach the lighting management system through concentrators, each serving a run of cabinets; a
# concentrator forwards its cabinets' readings as one frame per tick, which is the sensor group (est.).
CABINETS_PER_CONCENTRATOR = 16
TYPE_OF_KIND = {s.sensor_kind: s.type for s in SCHEMAS.values()}
DOMAIN_OF_TYPE = {
    "TrafficFlowObserved": "traffic",
    "AirQualityObserved": "environment",
    "WeatherObserved": "environment",
    "FloodMonitoring": "environment",
    "Streetlight": "lighting",
    "StreetlightControlCabinet": "lighting",
    "HealthCardTap": "health",
}


@dataclass(frozen=True)
class Ward:
    id: str
    name: str
    area: str
    area_km2: float
    population: int
    centre: LatLon


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    name_en: str
    centre: LatLon
    bbox: tuple[LatLon, LatLon]
    wards: tuple[Ward, ...]


@dataclass(frozen=True)
class Road:
    id: str
    name: str
    area: str
    road_class: str
    lanes: int
    free_flow_kmh: float
    capacity: float
    path: tuple[LatLon, ...]
    flood_prone: bool = False
    name_en: str = ""  # for the English page: "Lê Nin Avenue" (proper names keep their diacritics)

    @cached_property
    def length_m(self) -> float:
        return geo.length_m(self.path)


@dataclass(frozen=True)
class Junction:
    id: str
    name: str
    area: str
    at: LatLon
    roads: tuple[str, ...]
    signalised: bool = False
    name_en: str = ""


@dataclass(frozen=True)
class Hospital:
    id: str
    name: str
    name_en: str
    area: str
    ward: str
    at: LatLon
    beds: int
    outpatients_per_day: int
    points: Mapping[str, int]


@dataclass(frozen=True)
class Sensor:
    """Anything that publishes readings; `group` is the frame group and Kafka key it publishes under."""

    id: str
    kind: str
    group: str
    area: str
    ward: str
    at: LatLon
    name: str = ""
    ref: str = ""  # the road, cabinet, hospital or station it belongs to
    props: Mapping[str, Any] = field(default_factory=dict)
    name_en: str = ""  # the English page's name (proper names keep their diacritics)

    @property
    def type(self) -> str:
        return TYPE_OF_KIND[self.kind]


FEW_IDS = SHORT_FRAME  # up to this many ids are looked up one by one
KNOWN_CACHE = 4096  # id lists remembered by `known`; a sensor group sends the same list every tick


class City:
    """Everything the simulators place sensors on and the processors and wall aggregate by."""

    def __init__(
        self,
        areas: Sequence[Area],
        roads: Sequence[Road],
        junctions: Sequence[Junction],
        hospitals: Sequence[Hospital],
        sensors: Sequence[Sensor],
    ) -> None:
        self.areas = {a.id: a for a in areas}
        self.wards = {w.id: w for a in areas for w in a.wards}
        self.roads = {r.id: r for r in roads}
        self.junctions = {j.id: j for j in junctions}
        self.hospitals = {h.id: h for h in hospitals}
        self.sensors = {s.id: s for s in sensors}
        by_type: dict[str, list[Sensor]] = defaultdict(list)
        by_group: dict[tuple[str, str], list[Sensor]] = defaultdict(list)
        for s in sensors:
            by_type[s.type].append(s)
            by_group[(s.type, s.group)].append(s)
        self.by_type = {t: tuple(v) for t, v in by_type.items()}
        self.groups = {k: tuple(v) for k, v in by_group.items()}
        # Sorted id arrays make sensor lookups vectorised (searchsorted) instead of per-reading dict work.
        self._ids = {t: np.array(sorted(s.id for s in v)) for t, v in self.by_type.items()}
        self._group_ids = {k: np.array(sorted(s.id for s in v)) for k, v in self.groups.items()}
        self._known: dict[tuple[str, bytes], np.ndarray] = {}  # devices repeat the same id lists
        self._group_members = {k: frozenset(s.id for s in v) for k, v in self.groups.items()}

    def known(self, type_: str, group: str, ids: np.ndarray) -> np.ndarray:
        """Boolean mask: which ids are registered sensors of this entity type in this sensor group."""
        ids = np.asarray(ids)
        if len(ids) <= FEW_IDS:  # a clinic's few taps: set lookups beat isin's and the cache key's fixed cost
            members = self._group_members.get((type_, group), frozenset())
            return np.fromiter((i in members for i in ids.tolist()), dtype=bool, count=len(ids))
        key = (f"{type_}|{group}", ids.dtype.str.encode() + ids.tobytes())
        mask = self._known.get(key)
        if mask is None:
            if len(self._known) >= KNOWN_CACHE:
                self._known.clear()
            table = self._group_ids.get((type_, group))
            mask = np.isin(ids, table) if table is not None else np.zeros(len(ids), dtype=bool)
            self._known[key] = mask
        return mask

    def index(self, type_: str, ids: np.ndarray) -> np.ndarray:
        """Position of each id in `ids_of(type_)`, or -1 where unknown."""
        table = self._ids.get(type_)
        ids = np.asarray(ids)
        if table is None or len(ids) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.searchsorted(table, ids).clip(0, len(table) - 1)
        return np.where(table[pos] == ids, pos, -1)

    def ids_of(self, type_: str) -> np.ndarray:
        return self._ids.get(type_, np.array([], dtype=str))

    def sensors_of(self, type_: str) -> tuple[Sensor, ...]:
        return self.by_type.get(type_, ())

    def ward_of(self, area: str, at: LatLon) -> str:
        wards = self.areas[area].wards
        return min(wards, key=lambda w: geo.distance_m(w.centre, at)).id

    def zones(self, area: str) -> dict[str, list[LatLon]]:
        """Schematic ward shapes: Voronoi cells of ward centres within the area's box."""
        a = self.areas[area]
        cells = geo.voronoi_cells([w.centre for w in a.wards], a.bbox)
        return {w.id: cell for w, cell in zip(a.wards, cells, strict=True)}

    def count(self, type_: str) -> int:
        return len(self.by_type.get(type_, ()))

    def area_of(self, entity: str) -> str | None:
        """The area of a sensor, cabinet or hospital id."""
        sensor = self.sensors.get(entity)
        if sensor is not None:
            return sensor.area
        hospital = self.hospitals.get(entity)
        return hospital.area if hospital else None

    def domain_of(self, entity: str) -> str | None:
        """The IOC domain (traffic, environment, lighting, health) of a sensor, cabinet or hospital id."""
        sensor = self.sensors.get(entity)
        if sensor is not None:
            return DOMAIN_OF_TYPE.get(sensor.type)
        return "health" if entity in self.hospitals else None


def _read(name: str) -> Any:
    return json.loads(resources.files("ioc.city").joinpath("data", name).read_text(encoding="utf-8"))


def _point(p: Sequence[float]) -> LatLon:
    return (float(p[0]), float(p[1]))


def _nearest_ward(areas: Mapping[str, Area], area: str, at: LatLon) -> str:
    return min(areas[area].wards, key=lambda w: geo.distance_m(w.centre, at)).id


def _areas(doc: Any) -> list[Area]:
    out = []
    for a in doc["areas"]:
        wards = tuple(
            Ward(w["id"], w["name"], a["id"], w["area_km2"], w["population"], _point(w["centre"]))
            for w in a["wards"]
        )
        box = (_point(a["bbox"][0]), _point(a["bbox"][1]))
        out.append(Area(a["id"], a["name"], a["name_en"], _point(a["centre"]), box, wards))
    return out


def _roads(doc: Any) -> tuple[list[Road], list[Junction]]:
    roads = [
        Road(
            r["id"],
            r["name"],
            r["area"],
            r["class"],
            r["lanes"],
            r["free_flow_kmh"],
            r["capacity"],
            tuple(_point(p) for p in r["path"]),
            r.get("flood_prone", False),
            r["name_en"],
        )
        for r in doc["roads"]
    ]
    junctions = [
        Junction(
            j["id"],
            j["name"],
            j["area"],
            _point(j["at"]),
            tuple(j["roads"]),
            j.get("signalised", False),
            j["name_en"],
        )
        for j in doc["junctions"]
    ]
    return roads, junctions


def _hospitals(doc: Any, areas: Mapping[str, Area]) -> list[Hospital]:
    return [
        Hospital(
            h["id"],
            h["name"],
            h["name_en"],
            h["area"],
            _nearest_ward(areas, h["area"], _point(h["at"])),
            _point(h["at"]),
            h["beds"],
            h["outpatients_per_day"],
            dict(h["points"]),
        )
        for h in doc["hospitals"]
    ]


def _stations(doc: Any, areas: Mapping[str, Area]) -> list[Sensor]:
    out = []
    for kind, prefix in (("air_quality", "aq"), ("weather", "wx"), ("water_level", "wl")):
        for st in doc[kind]:
            at = _point(st["at"])
            props = {k: v for k, v in st.items() if k not in ("id", "name", "name_en", "area", "at")}
            ward = _nearest_ward(areas, st["area"], at)
            group = f"{prefix}.{st['area']}"
            out.append(
                Sensor(st["id"], kind, group, st["area"], ward, at, st["name"], "", props, st["name_en"])
            )
    return out


def _detectors(doc: Any, roads: Mapping[str, Road], areas: Mapping[str, Area]) -> list[Sensor]:
    out = []
    for site in doc["traffic_sites"]:
        road = roads[site["road"]]
        at, heading = geo.along(road.path, site["at_fraction"] * road.length_m)
        ward = _nearest_ward(areas, road.area, at)
        for direction, side in (("A", 1.0), ("B", -1.0)):
            for lane in range(1, road.lanes + 1):
                props = {
                    "site": site["id"],
                    "direction": direction,
                    "lane": lane,
                    "lanes": road.lanes,
                    "free_flow_kmh": road.free_flow_kmh,
                    "capacity": road.capacity,
                    "road_class": road.road_class,
                }
                out.append(
                    Sensor(
                        f"TD-{site['id']}-{direction}{lane}",
                        "traffic_detector",
                        f"tf.{road.area}.{road.id}",
                        road.area,
                        ward,
                        geo.beside(at, heading, side * 4.0 * lane),
                        " – ".join(filter(None, (road.name, site.get("note")))),
                        road.id,
                        props,
                        " – ".join(filter(None, (road.name_en, site.get("note_en")))),
                    )
                )
    return out


def _road_lighting(
    spec: Mapping[str, Any], roads: Sequence[Road], areas: Mapping[str, Area], numbers: dict[str, int]
) -> list[Sensor]:
    out: list[Sensor] = []
    for road in roads:
        cls = spec["by_class"][road.road_class]
        runs = max(1, round(road.length_m / cls["cabinet_run_m"]))
        run_len = road.length_m / runs
        per_side = max(1, int(run_len // cls["lamp_spacing_m"]))
        for run in range(runs):
            start = run * run_len
            mid, heading = geo.along(road.path, start + run_len / 2)
            cab_at = geo.beside(mid, heading, 20.0)
            lamps = []
            for k in range(per_side):
                p, h = geo.along(road.path, start + (k + 0.5) * run_len / per_side)
                for side in (1.0, -1.0)[: cls["sides"]]:
                    lamps.append(geo.beside(p, h, side * 12.0))
            names = (road.name, road.name_en)
            out += _cabinet(road.area, areas, numbers, cab_at, lamps, cls["lamp_watts"], road.id, names)
    return out


def _neighbourhood_lighting(
    spec: Mapping[str, Any], areas: Mapping[str, Area], numbers: dict[str, int]
) -> list[Sensor]:
    hood = spec["neighbourhood"]
    out: list[Sensor] = []
    for area in areas.values():
        for ward in area.wards:
            n_lamps = round(ward.population / hood["residents_per_lamp"])
            n_cabs = math.ceil(n_lamps / hood["lamps_per_cabinet"])
            radius = 1000 * math.sqrt(ward.area_km2 / math.pi) * 0.7
            for c, cab_at in enumerate(geo.spiral(ward.centre, n_cabs, radius)):
                n = min(hood["lamps_per_cabinet"], n_lamps - c * hood["lamps_per_cabinet"])
                lamps = geo.spiral(cab_at, n, 250.0)
                names = (f"Khu dân cư {ward.name}", f"{ward.name} residential area")
                out += _cabinet(area.id, areas, numbers, cab_at, lamps, hood["lamp_watts"], "", names)
    return out


def _cabinet(
    area: str,
    areas: Mapping[str, Area],
    numbers: dict[str, int],
    at: LatLon,
    lamps: Sequence[LatLon],
    watts: float,
    road: str,
    names: tuple[str, str],  # Vietnamese, English
) -> list[Sensor]:
    numbers[area] = numbers.get(area, 0) + 1
    cab_id = f"LC-{AREA_CODES[area]}-{numbers[area]:03d}"
    group = f"sl.{area}.{(numbers[area] - 1) // CABINETS_PER_CONCENTRATOR + 1:02d}"
    ward = _nearest_ward(areas, area, at)
    props = {"lamps": len(lamps), "lamp_watts": watts, "road": road}
    name, name_en = names
    cabinet = Sensor(cab_id, "lighting_cabinet", group, area, ward, at, name, road, props, name_en)
    # A cabinet's run may cross a ward boundary: each lamp counts for the ward it stands in.
    luminaires = [
        Sensor(
            f"{cab_id}-L{k + 1:03d}",
            "luminaire",
            group,
            area,
            _nearest_ward(areas, area, p),
            p,
            name,
            cab_id,
            {"watts": watts},
            name_en,
        )
        for k, p in enumerate(lamps)
    ]
    return [cabinet, *luminaires]


def _card_readers(hospitals: Sequence[Hospital]) -> list[Sensor]:
    out = []
    for h in hospitals:
        for step, count in h.points.items():
            for k in range(1, count + 1):
                out.append(
                    Sensor(
                        f"HC-{h.id}-{step}-{k}",
                        "card_reader",
                        f"hc.{h.id}",
                        h.area,
                        h.ward,
                        h.at,
                        h.name,
                        h.id,
                        {"step": step},
                        h.name_en,
                    )
                )
    return out


@lru_cache(maxsize=1)
def load_city() -> City:
    """The city, built once per process from ioc/city/data; deterministic (no randomness)."""
    areas = _areas(_read("areas.json"))
    area_map = {a.id: a for a in areas}
    roads, junctions = _roads(_read("roads.json"))
    hospitals = _hospitals(_read("hospitals.json"), area_map)
    infra = _read("infrastructure.json")
    numbers: dict[str, int] = {}
    sensors = [
        *_stations(_read("stations.json"), area_map),
        *_detectors(infra, {r.id: r for r in roads}, area_map),
        *_road_lighting(infra["lighting"], roads, area_map, numbers),
        *_neighbourhood_lighting(infra["lighting"], area_map, numbers),
        *_card_readers(hospitals),
    ]
    return City(areas, roads, junctions, hospitals, sensors)
