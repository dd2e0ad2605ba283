"""Health-card taps: the outpatient workflow order, daily volumes per hospital, waits and priority."""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import numpy as np

from ioc.clock import parse_start
from ioc.contract import Frame, encode
from simulators.domains import rng_for
from simulators.health import DONE, STAGES, HealthModel, _Site
from tests.unit.simkit import city, local_hours

WORKFLOW = ("register", "clinicCall", "lab", "clinicReturn", "payment", "pharmacy")


@cache
def day(start: str, seed: int = 1, **overrides: float) -> tuple[Frame, ...]:
    model = HealthModel(city(), rng_for(seed, "health"), tick_ms=30_000)
    if overrides:
        model.set_overrides({"*": dict(overrides)})
    t0 = parse_start(start)
    return tuple(f for t in range(t0, t0 + 24 * 3_600_000, 30_000) for f in model.step(t))


def taps(frames: tuple[Frame, ...]) -> list[tuple[str, str, str, int, bool]]:
    """(hospital, card, step, time, priority) for every tap."""
    out = []
    for f in frames:
        hospital = f.group.removeprefix("hc.")
        for card, step, t, prio in zip(
            f.cols["card"], f.cols["step"], f.cols["dateObserved"], f.cols["priority"], strict=True
        ):
            out.append((hospital, card, step, int(t), bool(prio)))
    return out


def journeys(frames: tuple[Frame, ...]) -> dict[str, list[tuple[str, int, bool]]]:
    by_card: dict[str, list[tuple[str, int, bool]]] = defaultdict(list)
    for _, card, step, t, prio in taps(frames):
        by_card[card].append((step, t, prio))
    return by_card


def test_weekday_volumes_match_each_hospitals_outpatients_per_day() -> None:
    registered: dict[str, int] = defaultdict(int)
    for hospital, _, step, _, _ in taps(day("2025-10-14T00:00")):  # a Tuesday
        registered[hospital] += step == "register"
    for h in city().hospitals.values():
        assert 0.75 * h.outpatients_per_day <= registered[h.id] <= 1.3 * h.outpatients_per_day, h.id


def test_sunday_outpatient_clinics_are_shut() -> None:
    assert not [t for t in taps(day("2025-10-19T00:00")) if t[2] == "register"]


def test_every_journey_follows_the_workflow_in_order() -> None:
    complete = 0
    for steps in journeys(day("2025-10-14T00:00")).values():
        names = [s for s, _, _ in steps]
        times = [t for _, t, _ in steps]
        assert times == sorted(times)
        assert names[0] == "register"
        order = [WORKFLOW.index(n) for n in names]
        assert order == sorted(order) and len(set(order)) == len(order), names
        if "lab" in names:
            assert "clinicReturn" in names or names[-1] == "lab"
        complete += names[-1] in ("payment", "pharmacy")
    assert complete > 0.9 * len(journeys(day("2025-10-14T00:00")))  # staff finish the day's queues


def test_waits_are_realistic_and_priority_patients_wait_less() -> None:
    normal: list[float] = []
    priority: list[float] = []
    for steps in journeys(day("2025-10-14T00:00")).values():
        at = {s: t for s, t, _ in steps}
        if "clinicCall" in at:
            wait_min = (at["clinicCall"] - at["register"]) / 60_000
            (priority if steps[0][2] else normal).append(wait_min)
    assert 15 <= np.mean(normal) <= 90  # outpatients in provincial hospitals wait 30-60 min (est.)
    assert np.percentile(normal, 90) <= 180
    assert np.mean(priority) < 0.7 * np.mean(normal)
    assert 0.1 <= len(priority) / (len(priority) + len(normal)) <= 0.35


def test_taps_happen_in_opening_hours_with_a_morning_rush() -> None:
    times = np.array([t for _, _, step, t, _ in taps(day("2025-10-14T00:00")) if step == "register"])
    h = local_hours(times)
    assert h.min() >= 5 and h.max() < 17
    assert ((h >= 6) & (h < 9)).mean() > 0.45


def test_arrival_factor_scales_the_day() -> None:
    base = sum(t[2] == "register" for t in taps(day("2025-10-14T00:00")))
    surge = sum(t[2] == "register" for t in taps(day("2025-10-14T00:00", arrival_factor=1.6)))
    assert 1.45 < surge / base < 1.75


class EveryRow(HealthModel):
    """The model as it was before it saved work: every finished visit kept all day, counts made per stage."""

    @staticmethod
    def _forget_done(site: _Site) -> None:
        return None

    def _hospital_step(self, site: _Site, prev: int, t: int) -> list[tuple[int, str, int, str]]:
        self._new_day(site, t)
        self._arrivals(site, prev, t)
        if not (site.patients.state != DONE).any():
            return []
        taps: list[tuple[int, str, int, str]] = []
        for _ in range(3):
            started = 0
            for stage in STAGES:
                counts = np.bincount(site.patients.state, minlength=DONE + 1)
                if counts[stage[1]]:
                    self._complete(site, stage, t)
                if counts[stage[0]] and site.free_at[stage[2]].min() <= t:
                    started += self._start(site, stage, t, taps)
            self._results_ready(site, t)
            if not started:
                break
        return taps


def test_saving_work_changes_no_tap() -> None:
    """Dropping finished visits and counting queues only when a patient moves give the same taps, byte for
    byte, over a Monday rush and a busy Tuesday's surge."""
    saving, every = (kind(city(), rng_for(2, "health"), tick_ms=30_000) for kind in (HealthModel, EveryRow))
    t0 = parse_start("2025-10-13T05:00")
    rows = []  # (saving, every) rows held, each hour
    for t in range(t0, t0 + 30 * 3_600_000, 30_000):
        if t == t0 + 24 * 3_600_000:
            for model in (saving, every):
                model.set_overrides({"*": {"arrival_factor": 3.0}})
        assert [encode(f) for f in saving.step(t)] == [encode(f) for f in every.step(t)]
        if t % 3_600_000 == 0:
            rows.append(tuple(sum(len(s.patients.state) for s in m.sites) for m in (saving, every)))
    assert any(held < all_day for held, all_day in rows)  # finished visits were dropped along the way
