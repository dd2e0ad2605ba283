"""Street lighting: every luminaire under its control cabinet, switched by an astronomical clock on Vinh's
sunset and sunrise, dimmed after midnight, with power draw, energy and lamp/cabinet faults.

Sources: shared/reference/nghe-an-facts.md 'Street lighting' unless marked est.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from ioc import sun
from ioc.city import City
from ioc.clock import DAY_MS, HOUR_MS, local_day_minute
from ioc.contract import Frame
from ioc.contract.column_json import coded_json, column_json
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
NOISE_WIDTH = 0.01 * 12**0.5  # a uniform spread of this width has a standard deviation of 1 %
NEVER = 2**62
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
        # Cabinets grouped by concentrator (the frame group), in the city's order otherwise, and lamps by
        # cabinet: a concentrator's lamps and cabinets are then contiguous rows, its columns slices.
        listed = list(self.city.sensors_of("StreetlightControlCabinet"))
        groups = list(dict.fromkeys(c.group for c in listed))
        cabinets = sorted(listed, key=lambda c: groups.index(c.group))
        self.cabinets = cabinets
        cab_index = {c.id: i for i, c in enumerate(cabinets)}
        lamps = sorted(self.city.sensors_of("Streetlight"), key=lambda s: (cab_index[s.ref], s.id))
        self.lamp_cab = np.array([cab_index[s.ref] for s in lamps], dtype=np.intp)
        self.lamp_ids = _frozen(np.array([s.id for s in lamps], dtype=object))
        self.cab_ids = _frozen(np.array([c.id for c in cabinets], dtype=object))
        # Cabinet i's lamps are rows cab_lamps[i] up to cab_lamps[i + 1].
        self.cab_lamps = np.searchsorted(self.lamp_cab, np.arange(len(cabinets) + 1))
        self.concentrators = [self._concentrator(g) for g in groups]
        self.power_states = StableColumn(POWER_STATE)
        self.statuses = StableColumn(STATUS)
        self.levels = StableColumn()
        self.working_mode = _frozen(np.full(len(cabinets), "automatic", dtype=object))
        self.watts = np.array([s.props["watts"] for s in lamps], dtype=np.float64)
        self.neighbourhood = np.array([not c.props["road"] for c in cabinets])
        self.jitter_min = self.rng.uniform(-CLOCK_JITTER_MIN, CLOCK_JITTER_MIN, len(cabinets))
        n = len(lamps)
        self.status = np.zeros(n, dtype=np.int8)
        self.repair_at = np.zeros(n, dtype=np.int64)
        self._next_repair = NEVER  # earliest repair of a faulty lamp
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
        factor = float(lookup(overrides, (), "fault_rate_factor", 1.0))
        self.fault_rate_factor = factor if factor > 0 else 0.0  # negative or NaN: no faults, as ever

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
        # 1 % noise: uniform, with the standard deviation of the normal noise it replaced (±1.7 % at most),
        # at a fifth of the cost per lamp.
        noise = 1 + NOISE_WIDTH * (self.rng.random(len(self.watts)) - 0.5)
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
        if t_ms >= self._next_repair:
            self.status[(self.status != 0) & (self.repair_at <= t_ms)] = 0
            self._next_repair = int(self.repair_at[self.status != 0].min(initial=NEVER))
        # New lamp faults: each working lamp fails with p this tick; drawn as how many, then which, because a
        # draw per lamp per tick was a tenth of the model's time for a fault every half hour city-wide.
        ok = self.status == 0
        p_lamp = min(LAMP_FAULTS_PER_YEAR * factor * dt_ms / YEAR_MS, 1.0)
        k = int(rng.binomial(int(ok.sum()), p_lamp))
        if k:
            new = rng.choice(np.flatnonzero(ok), size=k, replace=False)
            self.status[new] = 1 + rng.choice(3, size=k, p=FAULT_KIND_WEIGHTS)
            self.repair_at[new] = t_ms + (rng.exponential(LAMP_REPAIR_MEAN_H, k) * HOUR_MS).astype(np.int64)
            self._next_repair = min(self._next_repair, int(self.repair_at[new].min()))
        for until, rate, repair_h in (
            (self.comms_down_until, COMMS_FAULTS_PER_MONTH, COMMS_REPAIR_MEAN_H),
            (self.power_down_until, POWER_FAULTS_PER_MONTH, POWER_REPAIR_MEAN_H),
        ):
            hit = (until <= t_ms) & (rng.random(len(until)) < rate * factor * dt_ms / MONTH_MS)
            until[hit] = t_ms + (rng.exponential(repair_h, int(hit.sum())) * HOUR_MS).astype(np.int64)

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
        voltage = np.where(power_lost, 0.0, 226.0 + 3.0 * self.rng.standard_normal(len(self.cabinets)))
        self.power_states.update(state)
        self.statuses.update(self.status)
        self.levels.update(np.round(level, 2))
        dates = np.full(len(state), t_ms, dtype=np.int64)
        watts = np.round(watts, 1)
        cabinet = {
            "dateObserved": np.full(len(self.cabinets), t_ms, dtype=np.int64),
            "workingMode": self.working_mode,
            "totalActivePower": np.round(kw, 3),
            "energyConsumed": np.round(self.energy_kwh, 2),
            "voltage": np.round(voltage, 1),
        }
        time_json = b"%d," % t_ms
        any_offline = offline.any()
        frames = []
        for c in self.concentrators:
            cabs: slice | np.ndarray = c.cabs
            rows: slice | np.ndarray = c.lamps
            whole = True
            if any_offline:
                down = offline[c.cabs]
                if down.all():
                    continue
                if down.any():  # a cabinet whose link is down is simply absent
                    reporting = np.arange(c.cabs.start, c.cabs.stop)[~down]
                    cabs, rows, whole = reporting, self._rows(reporting), False
            key = c.group if whole else None
            ids = c.lamp_ids if whole else _frozen(self.lamp_ids[rows])
            power_state, power_state_json = self.power_states.slice(rows, key)
            status, status_json = self.statuses.slice(rows, key)
            level, level_json = self.levels.slice(rows, key)
            lamp_cols = {
                "id": ids,
                "dateObserved": _frozen(dates[rows]),
                "powerState": power_state,
                "status": status,
                "illuminanceLevel": level,
                "powerConsumption": watts[rows],
            }
            lamps = Frame("Streetlight", c.group, self._seq, t_ms, lamp_cols, "sim")
            lamps.json_cols = {
                "id": (ids, c.lamp_ids_json if whole else column_json(ids)),
                "dateObserved": (lamp_cols["dateObserved"], b"[" + (time_json * len(ids))[:-1] + b"]"),
                "powerState": (power_state, power_state_json),
                "status": (status, status_json),
                "illuminanceLevel": (level, level_json),
            }
            cab_cols = {"id": c.cab_ids if whole else self.cab_ids[cabs]} | {
                k: v[cabs] for k, v in cabinet.items()
            }
            frames.append(lamps)
            frames.append(Frame("StreetlightControlCabinet", c.group, self._seq, t_ms, cab_cols, "sim"))
        return frames

    def _rows(self, cabinets: np.ndarray) -> np.ndarray:
        """Lamp rows of some cabinets."""
        return np.concatenate([np.arange(self.cab_lamps[i], self.cab_lamps[i + 1]) for i in cabinets])

    def _concentrator(self, group: str) -> Concentrator:
        members = np.flatnonzero([c.group == group for c in self.cabinets])
        cabs = slice(int(members[0]), int(members[-1]) + 1)
        lamps = slice(int(self.cab_lamps[cabs.start]), int(self.cab_lamps[cabs.stop]))
        return Concentrator(
            group,
            cabs,
            lamps,
            self.lamp_ids[lamps],
            orjson.dumps(self.lamp_ids[lamps].tolist()),
            self.cab_ids[cabs],
        )


@dataclass(frozen=True)
class Concentrator:
    """One frame group: its cabinets' and lamps' rows (contiguous), their ids, and the lamp ids' JSON."""

    group: str
    cabs: slice
    lamps: slice
    lamp_ids: np.ndarray
    lamp_ids_json: bytes
    cab_ids: np.ndarray


class StableColumn:
    """A column of every lamp that seldom changes (a lamp's status changes a few times a year, its power state
    and dim level at dusk, at dawn and when the lamps dim), handing out each concentrator's slice with that
    slice's JSON, made again only once a value has changed. With `choices`, the values are codes into them."""

    def __init__(self, choices: np.ndarray | None = None) -> None:
        self.choices = choices
        self.choices_json = [orjson.dumps(x) for x in choices] if choices is not None else []
        self.values = np.zeros(0)
        self.column = self.values
        self._slices: dict[str, tuple[np.ndarray, bytes]] = {}

    def update(self, values: np.ndarray) -> None:
        """This tick's values of every lamp."""
        same_bits = values.dtype == self.values.dtype and values.tobytes() == self.values.tobytes()
        if same_bits:  # not ==: 0.0 equals -0.0, which prints otherwise
            return
        self.values = _frozen(values.copy())
        self.column = _frozen(self.choices[values]) if self.choices is not None else self.values
        self._slices.clear()

    def slice(self, rows: slice | np.ndarray, key: str | None) -> tuple[np.ndarray, bytes]:
        """Some rows and their JSON; kept under `key` (a whole concentrator's) until a value changes."""
        known = self._slices.get(key) if key is not None else None
        if known is None:
            values = self.values[rows]
            json = column_json(values) if self.choices is None else coded_json(values, self.choices_json)
            known = _frozen(self.column[rows]), json
            if key is not None:
                self._slices[key] = known
        return known


def _frozen(values: np.ndarray) -> np.ndarray:
    """Read-only: a column handed out with its JSON (or a view of it) must not change under that JSON."""
    values.flags.writeable = False
    return values
