"""Which model simulates which domain, each with its own random stream derived from the one seed."""

from __future__ import annotations

import numpy as np

from ioc.city import City
from ioc.settings import Settings
from ioc.topics import DOMAINS
from simulators.environment import EnvironmentModel
from simulators.runner import Model

AVAILABLE = ("environment",)


def rng_for(seed: int, domain: str) -> np.random.Generator:
    # One stream per domain, keyed by the domain's fixed position: adding a domain never shifts another's.
    return np.random.default_rng([seed, DOMAINS.index(domain)])


def build(domains: tuple[str, ...], city: City, seed: int, settings: Settings) -> list[Model]:
    unknown = [d for d in domains if d not in AVAILABLE]
    if unknown:
        raise ValueError(f"no simulator for {unknown}; available: {AVAILABLE}")
    models: list[Model] = []
    if "environment" in domains:
        tick = int(settings.env_tick_s * 1000)
        models.append(EnvironmentModel(city, rng_for(seed, "environment"), tick_ms=tick))
    return models
