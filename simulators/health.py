"""Smart health-card taps: outpatients through each hospital's workflow, with queues and priority patients.

Flow (Decision 1313/QĐ-BYT, facts 'Hospitals'): take a number and register (kiosk tap) → wait to be called
to the clinic room (tap) → lab/imaging if ordered (tap), wait for results → back to the same room (tap) →
pay (tap) → pharmacy (tap). Priority patients (pregnant women, children <6, people >75) go first in every
queue. Each card tap is a reading at the service point's reader. Volumes per day: facts; rest est.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ioc.city import City, Hospital
from ioc.clock import DAY_MS, HOUR_MS
from ioc.contract import Frame
from simulators import climate
from simulators.overrides import Overrides, lookup

MIN_MS = 60_000
(WAIT_REG, IN_REG, WAIT_CLINIC, IN_CLINIC, WAIT_LAB, IN_LAB, RESULTS, WAIT_RETURN, IN_RETURN,
 WAIT_PAY, IN_PAY, WAIT_PHARM, IN_PHARM, DONE) = range(14)  # fmt: skip

# Arrivals by local hour: people queue before the 07:00 opening, a morning rush, an afternoon wave (est.).
ARRIVALS_BY_HOUR = {5: 0.03, 6: 0.15, 7: 0.22, 8: 0.18, 9: 0.12, 10: 0.08, 11: 0.03,
                    12: 0.02, 13: 0.07, 14: 0.06, 15: 0.03, 16: 0.01}  # fmt: skip
DAY_FACTOR = (
    1.15,
    1.0,
    1.0,
    0.95,
    0.95,
    0.45,
    0.0,
)  # Mon..Sun: Monday rush, Saturday morning, Sunday shut (est.)
DAILY_NOISE = 0.08
# Outpatient hours (est., public hospitals): from 07:00, lunch 11:30-13:30 on weekdays when clinic rooms
# and labs close (kiosks, cashiers, pharmacy stay open); staff finish the day's queues; Saturday mornings.
OPENS_H, LUNCH_H, OVERTIME_END_H, SATURDAY_ARRIVALS_END_H = 7.0, (11.5, 13.5), 21.0, 11.0
LUNCH_OPEN = {"register", "payment", "pharmacy"}
# Service times, minutes (lognormal, CV 0.5): kiosk registration < 1.5 min (facts); the rest est.
SERVICE_MIN = {
    "register": 1.2,
    "clinicCall": 6.0,
    "lab": 4.0,
    "clinicReturn": 3.0,
    "payment": 2.0,
    "pharmacy": 3.0,
}
RESULTS_WAIT_MIN = 40.0  # lab/imaging results (est.)
LAB_SHARE, PHARMACY_SHARE = 0.55, 0.85  # est.
PRIORITY_SHARE = {"obs-paed": 0.5}  # children and pregnant women (est.)
PRIORITY_DEFAULT = 0.15  # elderly >75, young children (est.)

# (waiting state, serving state, reader points, tap step, state after service)
STAGES = (
    (WAIT_REG, IN_REG, "register", "register", WAIT_CLINIC),
    (WAIT_CLINIC, IN_CLINIC, "clinicCall", "clinicCall", None),  # → lab or cashier
    (WAIT_LAB, IN_LAB, "lab", "lab", RESULTS),
    (WAIT_RETURN, IN_RETURN, "clinicCall", "clinicReturn", WAIT_PAY),
    (WAIT_PAY, IN_PAY, "payment", "payment", None),  # → pharmacy or done
    (WAIT_PHARM, IN_PHARM, "pharmacy", "pharmacy", DONE),
)


@dataclass
class _Patients:
    """Column arrays of one hospital's patients of the day."""

    state: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    entry: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # joined the current queue
    end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # service or results end
    priority: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    lab: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    pharmacy: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    room: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    ticket: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    card: list[str] = field(default_factory=list)

    def extend(self, other: _Patients) -> None:
        for name in ("state", "entry", "end", "priority", "lab", "pharmacy", "room", "ticket"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))
        self.card += other.card

    def keep(self, mask: np.ndarray) -> None:
        for name in ("state", "entry", "end", "priority", "lab", "pharmacy", "room", "ticket"):
            setattr(self, name, getattr(self, name)[mask])
        self.card = [c for c, k in zip(self.card, mask, strict=True) if k]


@dataclass
class _Site:
    hospital: Hospital
    patients: _Patients = field(default_factory=_Patients)
    free_at: dict[str, np.ndarray] = field(default_factory=dict)  # per reader group: when each is free
    tickets: int = 0
    day: int = -1
    day_volume: float = 0.0


@dataclass
class HealthModel:
    """Every hospital's outpatients; `step(t)` returns one HealthCardTap frame per hospital with taps."""

    city: City
    rng: np.random.Generator
    tick_ms: int = 30_000
    domain: str = "health"
    scales_with_rate: bool = False  # taps follow patients, not a sampling rate
    overrides: Overrides = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sites = [_Site(h) for h in self.city.hospitals.values()]
        for site in self.sites:
            site.free_at = {k: np.zeros(n, np.int64) for k, n in site.hospital.points.items()}
        self._last_ms: int | None = None
        self._seq = 0

    def set_overrides(self, overrides: Overrides) -> None:
        self.overrides = overrides

    def targets(self) -> set[str]:
        return set(self.city.hospitals) | set(self.city.areas)

    def readings_per_tick(self) -> float:
        per_day = sum(h.outpatients_per_day for h in self.city.hospitals.values()) * 5.5
        return per_day * self.tick_ms / DAY_MS

    def step(self, t_ms: int) -> list[Frame]:
        prev = t_ms - self.tick_ms if self._last_ms is None else self._last_ms
        self._last_ms = t_ms
        self._seq += 1
        frames = []
        for site in self.sites:
            taps = self._hospital_step(site, prev, t_ms)
            if taps:
                frames.append(self._frame(site, t_ms, taps))
        return frames

    # -- one hospital ---------------------------------------------------------------------------------

    def _param(self, site: _Site, name: str, default: float) -> float:
        return float(lookup(self.overrides, (site.hospital.id, site.hospital.area), name, default))

    def _hospital_step(self, site: _Site, prev: int, t: int) -> list[tuple[int, str, int, str]]:
        self._new_day(site, t)
        self._forget_done(site)
        self._arrivals(site, prev, t)
        if not (site.patients.state != DONE).any():
            return []  # nights and Sundays: nobody in the building
        taps: list[tuple[int, str, int, str]] = []  # (time, reader id, patient row, step)
        for _ in range(3):  # a patient may finish one step and start the next within a tick
            started = 0
            counts = np.bincount(site.patients.state, minlength=DONE + 1)
            for stage in STAGES:
                moved = 0  # the counts change only when a patient moves on
                if counts[stage[1]]:
                    moved += self._complete(site, stage, t)
                if counts[stage[0]] and site.free_at[stage[2]].min() <= t:
                    n = self._start(site, stage, t, taps)
                    started, moved = started + n, moved + n
                if moved:
                    counts = np.bincount(site.patients.state, minlength=DONE + 1)
            self._results_ready(site, t)
            if not started:
                break
        return taps

    def _new_day(self, site: _Site, t: int) -> None:
        local = climate.local_time(t)
        day = local.toordinal()
        if day == site.day:
            return
        site.day = day
        site.tickets = 0
        site.patients.keep(site.patients.state != DONE)
        base = site.hospital.outpatients_per_day * DAY_FACTOR[local.weekday()]
        site.day_volume = base * float(np.exp(DAILY_NOISE * self.rng.standard_normal()))

    @staticmethod
    def _forget_done(site: _Site) -> None:
        """Drop patients who have gone home once they are half the day's rows: every step works on every row,
        and by noon a large hospital's were mostly finished visits."""
        p = site.patients
        done = p.state == DONE
        if np.count_nonzero(done) * 2 > len(done):
            p.keep(~done)

    def _arrivals(self, site: _Site, prev: int, t: int) -> None:
        local = climate.local_time(t)
        hour = local.hour
        if local.weekday() == 5 and hour >= SATURDAY_ARRIVALS_END_H:
            return
        share = ARRIVALS_BY_HOUR.get(hour, 0.0) / sum(ARRIVALS_BY_HOUR.values())
        rate_per_ms = site.day_volume * share * self._param(site, "arrival_factor", 1.0) / HOUR_MS
        n = int(self.rng.poisson(rate_per_ms * (t - prev)))
        if n == 0:
            return
        h = site.hospital
        priority_share = PRIORITY_SHARE.get(h.id, PRIORITY_DEFAULT) * self._param(
            site, "priority_factor", 1.0
        )
        when = np.sort(self.rng.integers(prev + 1, t + 1, n))
        tickets = site.tickets + 1 + np.arange(n)
        site.tickets += n
        tokens = self.rng.integers(0, 2**48, n)
        site.patients.extend(
            _Patients(
                state=np.full(n, WAIT_REG, np.int8),
                entry=when.astype(np.int64),
                end=np.zeros(n, np.int64),
                priority=self.rng.random(n) < min(priority_share, 1.0),
                lab=self.rng.random(n) < LAB_SHARE * self._param(site, "lab_factor", 1.0),
                pharmacy=self.rng.random(n) < PHARMACY_SHARE,
                room=self.rng.integers(0, h.points["clinicCall"], n).astype(np.int32),
                ticket=tickets.astype(np.int64),
                card=[f"{x:012x}" for x in tokens.tolist()],
            )
        )

    def _complete(self, site: _Site, stage: tuple[int, int, str, str, int | None], t: int) -> int:
        """Patients whose service is over move on; how many."""
        _, serving, _, step, after = stage
        p = site.patients
        done = (p.state == serving) & (p.end <= t)
        if not done.any():
            return 0
        if step == "clinicCall":
            nxt = np.where(p.lab, WAIT_LAB, WAIT_PAY)
        elif step == "payment":
            nxt = np.where(p.pharmacy, WAIT_PHARM, DONE)
        else:
            nxt = np.full(len(p.state), after)
        if step == "lab":  # the results take a while; the patient is not in any queue meanwhile
            wait = self._durations(int(done.sum()), RESULTS_WAIT_MIN)
            p.end[done] = p.end[done] + wait
        else:
            p.entry[done] = p.end[done]
        p.state[done] = nxt[done]
        return int(np.count_nonzero(done))

    def _results_ready(self, site: _Site, t: int) -> None:
        p = site.patients
        ready = (p.state == RESULTS) & (p.end <= t)
        p.entry[ready] = p.end[ready]
        p.state[ready] = WAIT_RETURN

    def _start(
        self,
        site: _Site,
        stage: tuple[int, int, str, str, int | None],
        t: int,
        taps: list[tuple[int, str, int, str]],
    ) -> int:
        waiting, serving, points, step, _ = stage
        p = site.patients
        free_at = site.free_at[points]
        cand = np.flatnonzero((p.state == waiting) & (p.entry <= t))
        if len(cand) == 0:
            return 0
        # Priority first, then returning patients' order of arrival in the queue (ticket order).
        cand = cand[np.lexsort((p.ticket[cand], p.entry[cand], ~p.priority[cand]))]
        if points == "clinicCall":
            chosen, servers = self._by_room(p, cand, free_at, t)
        else:
            servers = np.flatnonzero(free_at <= t)
            servers = servers[np.argsort(free_at[servers], kind="stable")]
            k = min(len(servers), len(cand))
            chosen, servers = cand[:k], servers[:k]
        if len(chosen) == 0:
            return 0
        start = np.maximum(p.entry[chosen], free_at[servers])
        # Closed at that moment (before opening, lunch): start at this tick if open by now (≤ 1 tick late).
        open_then = self._open(step, start)
        if not open_then.all():
            if not self._open(step, t):
                chosen, servers, start = chosen[open_then], servers[open_then], start[open_then]
            else:
                start = np.where(open_then, start, t)
        end = start + self._durations(
            len(chosen), SERVICE_MIN[step] * self._param(site, "service_factor", 1.0)
        )
        p.state[chosen] = serving
        p.end[chosen] = end
        free_at[servers] = end
        prefix = f"HC-{site.hospital.id}-{points}-"
        taps += [
            (int(s), f"{prefix}{int(r) + 1}", int(i), step)
            for s, r, i in zip(start, servers, chosen, strict=True)
        ]
        return len(chosen)

    @staticmethod
    def _by_room(
        p: _Patients, cand: np.ndarray, free_at: np.ndarray, t: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each free clinic room calls its own next patient (patients are assigned a room at registration)."""
        rooms = p.room[cand]
        first = np.unique(rooms, return_index=True)[1]  # the first candidate of each room, in queue order
        chosen, servers = cand[first], rooms[first]
        free = free_at[servers] <= t
        return chosen[free], servers[free].astype(np.int64)

    @staticmethod
    def _open(step: str, t_ms: np.ndarray | int) -> np.ndarray:
        """Whether the service point works at these instants (vectorised over times)."""
        local = np.asarray(t_ms, dtype=np.int64) + 7 * HOUR_MS
        h = (local % DAY_MS) / HOUR_MS
        weekday = (local // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        working = (weekday != 6) & (h >= OPENS_H) & (h < OVERTIME_END_H)
        lunch = (weekday < 5) & (h >= LUNCH_H[0]) & (h < LUNCH_H[1])
        return working & (~lunch | (step in LUNCH_OPEN))

    def _durations(self, n: int, mean_min: float) -> np.ndarray:
        sigma = np.sqrt(np.log(1 + 0.5**2))  # CV 0.5
        mu = np.log(mean_min * MIN_MS) - sigma**2 / 2
        return self.rng.lognormal(mu, sigma, n).astype(np.int64)

    def _frame(self, site: _Site, t: int, taps: list[tuple[int, str, int, str]]) -> Frame:
        taps.sort()
        p = site.patients
        rows = np.array([tap[2] for tap in taps])
        cols = {
            "id": [tap[1] for tap in taps],
            "dateObserved": np.array([tap[0] for tap in taps], dtype=np.int64),
            "card": [p.card[i] for i in rows.tolist()],
            "step": [tap[3] for tap in taps],
            "priority": p.priority[rows],
            "ticket": p.ticket[rows],
        }
        return Frame("HealthCardTap", f"hc.{site.hospital.id}", self._seq, t, cols, "sim")
