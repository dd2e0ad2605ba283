"""Which model simulates which domain, each with its own random stream derived from the one seed, and how
the city is split between simulator processes."""

from __future__ import annotations

import math
import zlib

import numpy as np

from ioc.city import City
from ioc.settings import Settings
from ioc.topics import DOMAINS
from simulators.environment import EnvironmentModel
from simulators.faults import FaultInjector
from simulators.health import HealthModel
from simulators.lighting import LightingModel
from simulators.runner import Model, Simulation
from simulators.scenario import Scenario
from simulators.traffic import TrafficModel

AVAILABLE = DOMAINS
FAULT_STREAM = len(DOMAINS)


def rng_for(
    seed: int, domain: str, shard: tuple[int, int] = (0, 1), piece: tuple[int, int] = (0, 1)
) -> np.random.Generator:
    # One stream per domain (and shard, and slice), keyed by fixed positions: adding a domain never shifts
    # another's.
    index = FAULT_STREAM if domain == "faults" else DOMAINS.index(domain)
    key = [seed, index] if shard == (0, 1) else [seed, index, shard[0], shard[1]]
    if piece != (0, 1):
        key += [*shard, *piece]
    return np.random.default_rng(key)


def shard_city(city: City, shard: tuple[int, int]) -> City:
    """The part of the city one of several simulator processes owns: whole sensor groups by hash; the
    environment stays whole in shard 0 because its stations share each area's weather."""
    k, n = shard
    if n == 1:
        return city

    def mine(group: str) -> bool:
        return zlib.crc32(group.encode()) % n == k

    env_types = {"AirQualityObserved", "WeatherObserved", "FloodMonitoring"}
    sensors = [s for s in city.sensors.values() if (k == 0 if s.type in env_types else mine(s.group))]
    hospitals = [h for h in city.hospitals.values() if mine(f"hc.{h.id}")]
    return City(
        list(city.areas.values()),
        list(city.roads.values()),
        list(city.junctions.values()),
        hospitals,
        sensors,
    )


def slices(city: City, domain: str, n: int) -> list[City]:
    """A domain's sensor groups dealt into `n` parts of about the same number of sensors (largest group
    first to the smallest part); each part a city of those groups only."""
    types = DOMAIN_TYPES[domain]
    sizes: dict[str, int] = {}
    for s in city.sensors.values():
        if s.type in types:
            sizes[s.group] = sizes.get(s.group, 0) + 1
    parts: list[set[str]] = [set() for _ in range(min(n, len(sizes)) or 1)]
    load = [0] * len(parts)
    for group, size in sorted(sizes.items(), key=lambda x: (-x[1], x[0])):
        k = load.index(min(load))
        parts[k].add(group)
        load[k] += size
    return [
        City(
            list(city.areas.values()),
            list(city.roads.values()),
            list(city.junctions.values()),
            [h for h in city.hospitals.values() if f"hc.{h.id}" in part],
            [s for s in city.sensors.values() if s.group in part],
        )
        for part in parts
    ]


def build(
    domains: tuple[str, ...],
    city: City,
    seed: int,
    settings: Settings,
    scenario: Scenario | None = None,
    scenario_start_ms: int = 0,
    shard: tuple[int, int] = (0, 1),
    step_at_most: float | None = None,
) -> Simulation:
    """The models of `domains` over the shard's part of the city. With `step_at_most` (a load test), a domain
    whose step would carry more readings is split into slices of its sensor groups, each a model of its own
    stepped in turn: the city's 16,000 lamps in one step were 17k or 34k readings in a second at 20k/s."""
    unknown = [d for d in domains if d not in AVAILABLE]
    if unknown:
        raise ValueError(f"no simulator for {unknown}; available: {AVAILABLE}")
    part = shard_city(city, shard)
    ticks = {
        "environment": settings.env_tick_s,
        "traffic": settings.traffic_tick_s,
        "lighting": settings.lighting_tick_s,
        "health": settings.health_tick_s,
    }
    kinds = {
        "environment": EnvironmentModel,
        "traffic": TrafficModel,
        "lighting": LightingModel,
        "health": HealthModel,
    }
    models: list[Model] = []
    for domain in DOMAINS:
        if domain in domains and _has_sensors(part, domain):
            tick_ms = int(ticks[domain] * 1000)
            model = kinds[domain](part, rng_for(seed, domain, shard), tick_ms=tick_ms)
            per_step = model.readings_per_tick()
            if step_at_most is None or not model.scales_with_rate or per_step <= step_at_most:
                models.append(model)
                continue
            pieces = slices(part, domain, math.ceil(per_step / step_at_most))
            for j, piece in enumerate(pieces):
                rng = rng_for(seed, domain, shard, (j, len(pieces)))
                models.append(kinds[domain](piece, rng, tick_ms=tick_ms))
    faults = FaultInjector(rng_for(seed, "faults", shard))
    sensors = city.sensors.values()
    fault_targets = {s.id for s in sensors} | {s.group for s in sensors} | set(DOMAINS)
    return Simulation(models, faults, scenario, scenario_start_ms, fault_targets)


# The device types a domain's model simulates; the first is the one it needs to exist at all.
DOMAIN_TYPES = {
    "environment": ("AirQualityObserved", "WeatherObserved", "FloodMonitoring"),
    "traffic": ("TrafficFlowObserved",),
    "lighting": ("StreetlightControlCabinet", "Streetlight"),
    "health": ("HealthCardTap",),
}


def _has_sensors(city: City, domain: str) -> bool:
    return bool(city.count(DOMAIN_TYPES[domain][0])) and (domain != "health" or bool(city.hospitals))
