"""Traffic detectors: per lane and direction, counts by vehicle class, occupancy and mean speed.

Demand follows a weekday or weekend diurnal profile; each lane serves at most its capacity and queues the
rest; speed follows the BPR relation t = t0·[1 + 0.15·(v/c)^4] on the demand (queue included) to capacity
ratio. Sources: shared/reference/nghe-an-facts.md 'Traffic' unless marked est.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ioc.city import City
from ioc.contract import Frame
from simulators import climate
from simulators.overrides import Overrides, per_entity

# Share of the peak hour's demand by hour (00..23). Peaks 06:30-08:30 and 16:30-18:30, a midday
# bump 11:00-13:30, night 5-10% of peak (facts, est. profile); weekends later and flatter (est.).
WEEKDAY = (0.08, 0.06, 0.05, 0.05, 0.08, 0.25, 0.70, 1.00, 0.85, 0.60, 0.55, 0.70,
           0.72, 0.60, 0.55, 0.62, 0.85, 1.00, 0.90, 0.65, 0.50, 0.38, 0.25, 0.14)  # fmt: skip
WEEKEND = (0.12, 0.09, 0.07, 0.06, 0.07, 0.15, 0.35, 0.55, 0.65, 0.70, 0.72, 0.72,
           0.65, 0.55, 0.55, 0.62, 0.72, 0.80, 0.82, 0.78, 0.65, 0.50, 0.35, 0.22)  # fmt: skip
# Peak-hour demand as a share of capacity, by road class (est.).
PEAK_VC = {"national": 0.80, "arterial": 0.88, "collector": 0.70}
# Local (non-national) traffic is lighter in the smaller towns (est.); Cửa Lò fills in beach season.
AREA_DEMAND = {"vinh": 1.0, "cua-lo": 0.6, "hoang-mai": 0.65}
BEACH_SEASON = (5, 6, 7, 8)
BEACH_FACTOR = 1.4
# Vehicle mix (motorcycle, car, heavy): motorcycles ≈ 90% in Vietnamese cities (facts); through traffic on
# QL1A carries more trucks (est.).
MIX = {"national": (0.70, 0.18, 0.12), "arterial": (0.88, 0.10, 0.02), "collector": (0.92, 0.07, 0.01)}
PCU = np.array([0.3, 1.0, 2.25])  # TCVN 4054:2005 (facts, recalled): motorcycle 0.3, car 1, bus/truck 2-2.5
# Detector occupancy per vehicle: length + loop (m); motorcycles ride about two abreast in a lane (est.).
OCCUPANCY_M = np.array([1.75, 6.0, 11.5])
LANE_SHARE = (1.10, 0.90, 0.80)  # kerb lane carries the motorcycles (est.)
BPR_ALPHA, BPR_BETA = 0.15, 4
STANDING_QUEUE_H = 5 / 60  # queue (in hours of capacity) that covers the detector with stopped vehicles
DEMAND_NOISE = 0.12  # log-sd of demand around the profile, 15-min time constant (est.)
SPEED_NOISE = 0.04


@dataclass
class TrafficModel:
    """Every lane detector; `step(t)` returns one TrafficFlowObserved frame per road."""

    city: City
    rng: np.random.Generator
    tick_ms: int = 60_000
    domain: str = "traffic"
    scales_with_rate: bool = True
    overrides: Overrides = field(default_factory=dict)

    def __post_init__(self) -> None:
        dets = sorted(self.city.sensors_of("TrafficFlowObserved"), key=lambda s: (s.group, s.id))
        self.detectors = dets
        self.groups = sorted({d.group for d in dets})
        self.group_rows = [np.array([i for i, d in enumerate(dets) if d.group == g]) for g in self.groups]
        self.group_ids = [[dets[i].id for i in rows] for rows in self.group_rows]
        props = [d.props for d in dets]
        self.road_class = [p["road_class"] for p in props]
        self.capacity = np.array([p["capacity"] for p in props], dtype=np.float64)
        self.free_flow = np.array([p["free_flow_kmh"] for p in props], dtype=np.float64)
        self.direction = np.array([1.0 if p["direction"] == "A" else -1.0 for p in props])
        lane_share = np.array([LANE_SHARE[p["lane"] - 1] for p in props])
        national = np.array([c == "national" for c in self.road_class])
        self.area_factor = np.where(national, 1.0, np.array([AREA_DEMAND[d.area] for d in dets]))
        self.cua_lo = np.array([d.area == "cua-lo" for d in dets]) & ~national
        self.peak = self.capacity * np.array([PEAK_VC[c] for c in self.road_class]) * lane_share
        self.mix = np.array([MIX[c] for c in self.road_class])
        self.pcu_per_vehicle = self.mix @ PCU
        self.occ_m = self.mix @ OCCUPANCY_M
        self.queue = np.zeros(len(dets))  # pcu waiting upstream of the detector
        self.noise = np.zeros(len(dets))
        self._keys = [(d.id, d.props["site"], d.ref, d.area) for d in dets]
        self._last_ms: int | None = None
        self._seq = 0
        self.set_overrides(self.overrides)

    def set_overrides(self, overrides: Overrides) -> None:
        self.overrides = overrides
        self.demand_factor = per_entity(overrides, self._keys, "demand_factor", 1.0)
        self.capacity_factor = per_entity(overrides, self._keys, "capacity_factor", 1.0)
        self.speed_factor = per_entity(overrides, self._keys, "speed_factor", 1.0)

    def targets(self) -> set[str]:
        return (
            {d.id for d in self.detectors}
            | {d.props["site"] for d in self.detectors}
            | {d.ref for d in self.detectors}
            | set(self.city.areas)
        )

    def readings_per_tick(self) -> float:
        return float(len(self.detectors))

    def demand_share(self, t_ms: int) -> float:
        """Share of the peak hour at this instant (local time, weekday or weekend profile)."""
        local = climate.local_time(t_ms)
        table = WEEKEND if local.weekday() >= 5 else WEEKDAY
        h = local.hour + local.minute / 60 + local.second / 3600 - 0.5  # table values are hour means
        lo = math.floor(h)
        f = h - lo
        return table[lo % 24] * (1 - f) + table[(lo + 1) % 24] * f

    def step(self, t_ms: int) -> list[Frame]:
        dt_s = self.tick_ms / 1000 if self._last_ms is None else max((t_ms - self._last_ms) / 1000, 0.001)
        self._last_ms = t_ms
        hour = climate.local_hour(t_ms)
        rush_am, rush_pm = climate.bump(hour, 7.5, 1.2), climate.bump(hour, 17.5, 1.2)
        tidal = 1 + 0.15 * self.direction * (rush_am - rush_pm)  # inbound mornings, outbound evenings (est.)
        beach = np.where(
            self.cua_lo & (climate.month(t_ms) in BEACH_SEASON) & (hour >= 15), BEACH_FACTOR, 1.0
        )
        self.noise = climate.ar1(self.noise, dt_s, 900.0, DEMAND_NOISE, self.rng)
        demand = (
            self.peak * self.area_factor * beach * tidal * self.demand_share(t_ms) * np.exp(self.noise)
        ) * self.demand_factor
        capacity = self.capacity * self.capacity_factor
        dt_h = dt_s / 3600
        served = np.minimum(demand + self.queue / dt_h, capacity)
        self.queue = np.maximum(self.queue + (demand - served) * dt_h, 0.0)
        free = self.free_flow * self.speed_factor
        bpr = free / (1 + BPR_ALPHA * (demand / np.maximum(capacity, 1.0)) ** BPR_BETA)
        # Inside a standing queue the detector sees Greenshields' congested branch at the discharge flow:
        # v = vf/2·(1 − √(1 − q/q_max)), about vf/2 when discharging at capacity, near 0 when blocked.
        standing = self._standing()
        ratio = np.clip(served / self.capacity, 0.0, 1.0)
        congested = free / 2 * (1 - np.sqrt(1 - ratio))
        speed = np.maximum((1 - standing) * bpr + standing * congested, 3.0)
        return self._frames(t_ms, dt_s, served / self.pcu_per_vehicle, speed)

    def _standing(self) -> np.ndarray:
        """0..1: how far a queue of several minutes' capacity reaches back over the detector."""
        return np.clip(self.queue / (self.capacity * STANDING_QUEUE_H), 0.0, 1.0)

    def _frames(self, t_ms: int, dt_s: float, veh_h: np.ndarray, speed: np.ndarray) -> list[Frame]:
        rng = self.rng
        period = max(round(dt_s), 1)
        count = rng.poisson(veh_h * dt_s / 3600)
        moto = rng.binomial(count, self.mix[:, 0])
        car = rng.binomial(count - moto, self.mix[:, 1] / np.maximum(1 - self.mix[:, 0], 1e-9))
        heavy = count - moto - car
        observed = np.where(count > 0, speed * (1 + SPEED_NOISE * rng.standard_normal(len(speed))), np.nan)
        density = veh_h / np.maximum(speed, 1.0)  # vehicles per km of lane
        # Vehicles standing over the loop in a queue keep it occupied even when nothing passes (est.).
        standing = self._standing()
        moving = veh_h * self.pcu_per_vehicle / self.capacity
        occupancy = np.clip(np.maximum(density * self.occ_m / 1000, 0.9 * standing * (1 - moving)), 0, 0.98)
        self._seq += 1
        frames = []
        for group, rows, ids in zip(self.groups, self.group_rows, self.group_ids, strict=True):
            cols = {
                "id": ids,
                "dateObserved": np.full(len(rows), t_ms, dtype=np.int64),
                "period": np.full(len(rows), period, dtype=np.int64),
                "intensity": count[rows],
                "intensityMotorcycle": moto[rows],
                "intensityCar": car[rows],
                "intensityHeavy": heavy[rows],
                "occupancy": np.round(occupancy[rows], 3),
                "averageVehicleSpeed": np.round(observed[rows], 1),
            }
            frames.append(Frame("TrafficFlowObserved", group, self._seq, t_ms, cols, "sim"))
        return frames
