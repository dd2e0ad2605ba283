"""Street lighting: every luminaire under its control cabinet, switched by an astronomical clock on Vinh's
sunset and sunrise, dimmed after midnight, with power draw, energy and lamp/cabinet faults.

Sources: shared/reference/nghe-an-facts.md 'Street lighting' unless marked est.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ioc import sun
from ioc.city import City
from ioc.clock import DAY_MS, HOUR_MS, local_day_minute
from ioc.contract import Frame
from simulators.overrides import Overrides, lookup, per_entity

# Text columns as arrays of Python strings: a frame's column is then a take and its encoding copies
# pointers, where a numpy text array would make a new string per reading (most of a lamp frame's encoding).
STATUS = np.array(["ok", "defectiveLamp", "brokenLantern", "columnIssue"], dtype=object)
POWER_STATE = np.array(["off", "on", "low", "bootingUp"], dtype=object)
OFF, ON, LOW, BOOTING = 0, 1, 2, 3

# Astronomical clock: on a few minutes after sunset, off a few minutes after sunrise (est.), each
# cabinet's clock a little off (est. ±2 min).
SWITCH_DELAY_MIN = 5.0
CLOCK_JITTER_MIN = 2.0
BOOT_S = 30  # LED drivers report bootingUp for the first seconds after switch-on (est.)
# Dimming: Đà Nẵng runs 100% until 23:00 then ~60% (saves ~37%); the wall's schedule dims main roads
# after midnight and residential lanes from 23:00 (est.). (local hour, level) steps from switch-on.
DIMMING = {"road": ((0.0, 0.6),), "neighbourhood": ((23.0, 0.6), (0.0, 0.5))}
# Power: LED 104-176 W replacing 250 W sodium; driver and node overheads (est.).
DRIVER_FLOOR = 0.08  # fraction of rated power drawn at any dim level
STANDBY_W = 0.5  # lamp node when off
FAULTY_W = 2.0  # scheduled on, lamp dead: the driver idles
CABLE_LOSS = 1.03
CONTROLLER_KW = 0.02
# Faults: est. 1-3% of luminaires a year; cabinet/comms ~0.5% per cabinet per month (facts); repairs est.
LAMP_FAULTS_PER_YEAR = 0.02
FAULT_KIND_WEIGHTS = (0.70, 0.15, 0.15)  # defectiveLamp, brokenLantern, columnIssue (est.)
LAMP_REPAIR_MEAN_H = 96.0
COMMS_FAULTS_PER_MONTH = 0.005
COMMS_REPAIR_MEAN_H = 12.0
POWER_FAULTS_PER_MONTH = 0.002
POWER_REPAIR_MEAN_H = 4.0
YEAR_MS = 365.25 * DAY_MS
MONTH_MS = YEAR_MS / 12


@dataclass
class LightingModel:
    """All cabinets and luminaires; `step(t)` gives a Streetlight and a cabinet frame per online cabinet."""

    city: City
    rng: np.random.Generator
    tick_ms: int = 60_000
    domain: str = "lighting"
    scales_with_rate: bool = True
    overrides: Overrides = field(default_factory=dict)

    def __post_init__(self) -> None:
        cabinets = list(self.city.sensors_of("StreetlightControlCabinet"))
        self.cabinets = cabinets
        lamps = sorted(self.city.sensors_of("Streetlight"), key=lambda s: (s.ref, s.id))
        cab_index = {c.id: i for i, c in enumerate(cabinets)}
        self.lamp_cab = np.array([cab_index[s.ref] for s in lamps])
        order = np.argsort(self.lamp_cab, kind="stable")
        self.lamp_cab = self.lamp_cab[order]
        lamps = [lamps[i] for i in order]
        bounds = np.searchsorted(self.lamp_cab, np.arange(len(cabinets) + 1))
        self.slices = [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(cabinets))]
        self.lamp_ids = np.array([s.id for s in lamps], dtype=object)
        self.cab_ids = np.array([c.id for c in cabinets], dtype=object)
        # Each concentrator (the frame group) and its cabinets, in the city's order.
        self.concentrators = [
            (g, np.array([i for i, c in enumerate(cabinets) if c.group == g]))
            for g in dict.fromkeys(c.group for c in cabinets)
        ]
        # Lamp rows of each concentrator when all its cabinets report, the usual tick.
        self.concentrator_rows = {g: self._rows(members) for g, members in self.concentrators}
        self.watts = np.array([s.props["watts"] for s in lamps], dtype=np.float64)
        self.neighbourhood = np.array([not c.props["road"] for c in cabinets])
        self.jitter_min = self.rng.uniform(-CLOCK_JITTER_MIN, CLOCK_JITTER_MIN, len(cabinets))
        n = len(lamps)
        self.status = np.zeros(n, dtype=np.int8)
        self.repair_at = np.zeros(n, dtype=np.int64)
        self.comms_down_until = np.zeros(len(cabinets), dtype=np.int64)
        self.power_down_until = np.zeros(len(cabinets), dtype=np.int64)
        self.energy_kwh = self.rng.uniform(2_000, 40_000, len(cabinets))  # meters installed years ago
        self._last_ms: int | None = None
        self._seq = 0
        self._keys = [(c.id, c.props["road"], c.area) for c in cabinets]
        self.set_overrides(self.overrides)

    # -- scenario hooks ---------------------------------------------------------------------------------

    def set_overrides(self, overrides: Overrides) -> None:
        self.overrides = overrides
        self.forced_power_loss = per_entity(overrides, self._keys, "power_loss", False, bool)
        self.forced_offline = per_entity(overrides, self._keys, "offline", False, bool)
        self.forced_level = per_entity(overrides, self._keys, "dim_level", np.nan)
        self.fault_rate_factor = float(lookup(overrides, (), "fault_rate_factor", 1.0))

    def targets(self) -> set[str]:
        return {c.id for c in self.cabinets} | {c.props["road"] for c in self.cabinets} | set(self.city.areas)

    def readings_per_tick(self) -> float:
        return float(len(self.watts) + len(self.cabinets))

    # -- model ----------------------------------------------------------------------------------------

    def step(self, t_ms: int) -> list[Frame]:
        dt_ms = self.tick_ms if self._last_ms is None else max(t_ms - self._last_ms, 1)
        self._last_ms = t_ms
        self._faults(t_ms, dt_ms)
        scheduled, level, since_on_min = self._schedule(t_ms)
        power_lost = (self.power_down_until > t_ms) | self.forced_power_loss
        offline = (self.comms_down_until > t_ms) | self.forced_offline
        lit = scheduled & ~power_lost
        lamp_lit = lit[self.lamp_cab]
        ok = self.status == 0
        lamp_level = np.where(lamp_lit & ok, level[self.lamp_cab], 0.0)
        noise = 1 + 0.01 * self.rng.standard_normal(len(self.watts))
        watts = np.where(
            lamp_lit,
            np.where(ok, self.watts * (DRIVER_FLOOR + (1 - DRIVER_FLOOR) * lamp_level) * noise, FAULTY_W),
            np.where(power_lost[self.lamp_cab], 0.0, STANDBY_W),
        )
        booting = lamp_lit & (since_on_min[self.lamp_cab] < BOOT_S / 60)
        state = np.where(lamp_lit, np.where(booting, BOOTING, np.where(lamp_level < 1.0, LOW, ON)), OFF)
        state = np.where(lamp_lit & ~ok, ON, state).astype(np.int8)  # powered but dark: the status says why
        kw = np.bincount(self.lamp_cab, weights=watts, minlength=len(self.cabinets)) / 1000 * CABLE_LOSS
        kw = np.where(power_lost, 0.0, kw + CONTROLLER_KW)
        self.energy_kwh += kw * dt_ms / HOUR_MS
        return self._frames(t_ms, offline, power_lost, state, lamp_level, watts, kw)

    def _schedule(self, t_ms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per cabinet: whether its astronomical clock has the lamps on, the dim level, and minutes since
        this evening's switch-on (large after midnight)."""
        day, local_min = local_day_minute(t_ms)
        rise, set_ = sun.sunrise_sunset(day)
        on_at = set_ + SWITCH_DELAY_MIN + self.jitter_min
        off_at = rise + SWITCH_DELAY_MIN + self.jitter_min
        scheduled = (local_min >= on_at) | (local_min < off_at)
        level = np.ones(len(self.cabinets))
        hour = local_min / 60
        for kind, mask in (("road", ~self.neighbourhood), ("neighbourhood", self.neighbourhood)):
            for start_h, dim in DIMMING[kind]:
                # Steps before midnight count from their hour to 24:00, steps after midnight until dawn.
                active = (hour >= start_h) if start_h >= 12 else (hour < 12) & (hour >= start_h)
                level = np.where(mask & active, dim, level)
        forced = self.forced_level
        since_on = np.where(local_min >= on_at, local_min - on_at, 1e9)
        return scheduled, np.where(np.isnan(forced), level, forced), since_on

    def _faults(self, t_ms: int, dt_ms: int) -> None:
        rng = self.rng
        factor = self.fault_rate_factor
        repaired = (self.status != 0) & (self.repair_at <= t_ms)
        self.status[repaired] = 0
        p_lamp = LAMP_FAULTS_PER_YEAR * factor * dt_ms / YEAR_MS
        new = (self.status == 0) & (rng.random(len(self.status)) < p_lamp)
        if new.any():
            k = int(new.sum())
            self.status[new] = 1 + rng.choice(3, size=k, p=FAULT_KIND_WEIGHTS)
            self.repair_at[new] = t_ms + (rng.exponential(LAMP_REPAIR_MEAN_H, k) * HOUR_MS).astype(np.int64)
        for until, rate, repair_h in (
            (self.comms_down_until, COMMS_FAULTS_PER_MONTH, COMMS_REPAIR_MEAN_H),
            (self.power_down_until, POWER_FAULTS_PER_MONTH, POWER_REPAIR_MEAN_H),
        ):
            hit = (until <= t_ms) & (rng.random(len(until)) < rate * factor * dt_ms / MONTH_MS)
            until[hit] = t_ms + (rng.exponential(repair_h, int(hit.sum())) * HOUR_MS).astype(np.int64)

    def _rows(self, cabinets: np.ndarray) -> np.ndarray:
        return np.concatenate([np.arange(*self.slices[c]) for c in cabinets])

    def _frames(
        self,
        t_ms: int,
        offline: np.ndarray,
        power_lost: np.ndarray,
        state: np.ndarray,
        level: np.ndarray,
        watts: np.ndarray,
        kw: np.ndarray,
    ) -> list[Frame]:
        self._seq += 1
        states = POWER_STATE[state]
        statuses = STATUS[self.status]
        level = np.round(level, 2)
        watts = np.round(watts, 1)
        voltage = np.where(power_lost, 0.0, 226.0 + 3.0 * self.rng.standard_normal(len(self.cabinets)))
        volts, kw_r, kwh = np.round(voltage, 1), np.round(kw, 3), np.round(self.energy_kwh, 2)
        frames = []
        for group, members in self.concentrators:
            cabs = members[~offline[members]]  # a cabinet whose link is down is simply absent
            if not len(cabs):
                continue
            rows = self.concentrator_rows[group] if len(cabs) == len(members) else self._rows(cabs)
            lamp_cols = {
                "id": self.lamp_ids[rows],
                "dateObserved": np.full(len(rows), t_ms, dtype=np.int64),
                "powerState": states[rows],
                "status": statuses[rows],
                "illuminanceLevel": level[rows],
                "powerConsumption": watts[rows],
            }
            cab_cols = {
                "id": self.cab_ids[cabs],
                "dateObserved": np.full(len(cabs), t_ms, dtype=np.int64),
                "workingMode": np.full(len(cabs), "automatic", dtype=object),
                "totalActivePower": kw_r[cabs],
                "energyConsumed": kwh[cabs],
                "voltage": volts[cabs],
            }
            frames.append(Frame("Streetlight", group, self._seq, t_ms, lamp_cols, "sim"))
            frames.append(Frame("StreetlightControlCabinet", group, self._seq, t_ms, cab_cols, "sim"))
        return frames
