"""Which model simulates which domain, each with its own random stream derived from the one seed, and how
the city is split between simulator processes."""

from __future__ import annotations

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


def rng_for(seed: int, domain: str, shard: tuple[int, int] = (0, 1)) -> np.random.Generator:
    # One stream per domain (and shard), keyed by fixed positions: adding a domain never shifts another's.
    index = FAULT_STREAM if domain == "faults" else DOMAINS.index(domain)
    key = [seed, index] if shard == (0, 1) else [seed, index, shard[0], shard[1]]
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


def build(
    domains: tuple[str, ...],
    city: City,
    seed: int,
    settings: Settings,
    scenario: Scenario | None = None,
    scenario_start_ms: int = 0,
    shard: tuple[int, int] = (0, 1),
) -> Simulation:
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
            rng = rng_for(seed, domain, shard)
            models.append(kinds[domain](part, rng, tick_ms=int(ticks[domain] * 1000)))
    faults = FaultInjector(rng_for(seed, "faults", shard))
    sensors = city.sensors.values()
    fault_targets = {s.id for s in sensors} | {s.group for s in sensors} | set(DOMAINS)
    return Simulation(models, faults, scenario, scenario_start_ms, fault_targets)


def _has_sensors(city: City, domain: str) -> bool:
    types = {
        "environment": ("AirQualityObserved",),
        "traffic": ("TrafficFlowObserved",),
        "lighting": ("StreetlightControlCabinet",),
        "health": ("HealthCardTap",),
    }[domain]
    return any(city.count(t) for t in types) and (domain != "health" or bool(city.hospitals))
