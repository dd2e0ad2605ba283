"""Load-test rate plans, the rate-controlled loop, and splitting the city over simulator processes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ioc.clock import SimClock, parse_start
from ioc.rate import constant, parse_ramp, parse_rate
from ioc.settings import Settings
from simulators import domains, runner
from tests.unit.simkit import city


@pytest.mark.parametrize(("text", "value"), [("50000", 5e4), ("400k", 4e5), ("1.2M", 1.2e6), ("7.5k", 7500)])
def test_rates_read_like_a_load_tester_writes_them(text: str, value: float) -> None:
    assert parse_rate(text) == value


@pytest.mark.parametrize("text", ["fast", "-5k", "0", ""])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_ramp_interpolates_then_holds_then_ends() -> None:
    plan = parse_ramp("1m:10k-200k,5m:200k")
    assert plan.total_s == 360
    assert plan.target(0) == 10_000
    assert plan.target(30) == pytest.approx(105_000)
    assert plan.target(200) == 200_000
    assert plan.target(360) is None
    assert plan.scaled(0.25).target(30) == pytest.approx(26_250)
    assert plan.scaled(0.5).target(30) == pytest.approx(52_500)


def test_the_loop_samples_denser_to_meet_the_rate() -> None:
    start = parse_start("2025-10-14T08:00")
    sim = domains.build(("traffic",), city(), 1, Settings())
    natural = sim.base_rate()  # 118 detectors per minute ≈ 2 readings/s
    assert natural == pytest.approx(118 / 60)
    stats = asyncio.run(
        runner.run(sim, runner.NullSink(), SimClock(start, 1.0), start, rate=constant(20_000, 1.5))
    )
    # Functional, not a speed check: 20k/s is ~1 % of what one process manages.
    assert 0.8 * 30_000 <= stats.readings <= 1.2 * 30_000
    assert stats.sim_to_ms - start < 3_000  # the clock stays real time; only the sampling densifies


def test_shards_split_groups_and_hospitals_without_overlap() -> None:
    n = 3
    parts = [domains.shard_city(city(), (k, n)) for k in range(n)]
    groups = [{s.group for s in p.sensors.values() if s.type != "AirQualityObserved"} for p in parts]
    env = [p.count("AirQualityObserved") for p in parts]
    assert env[0] == city().count("AirQualityObserved") and env[1] == env[2] == 0
    assert sum(len(p.hospitals) for p in parts) == len(city().hospitals)
    everything = {s.group for s in city().sensors.values() if s.type != "AirQualityObserved"}
    assert set.union(*groups) == everything
    for i in range(n):
        for j in range(i + 1, n):
            lamps_i = {g for g in groups[i] if g.startswith("LC-")}
            assert not lamps_i & {g for g in groups[j] if g.startswith("LC-")}
    sizes = [sum(1 for s in p.sensors.values() if s.type == "Streetlight") for p in parts]
    assert min(sizes) > 0.2 * sum(sizes)  # roughly balanced


def test_a_domain_too_big_for_one_step_is_dealt_into_slices_of_whole_groups() -> None:
    parts = domains.slices(city(), "lighting", 8)
    lamps = [[s for s in p.sensors.values() if s.type == "Streetlight"] for p in parts]
    groups = [{s.group for s in p} for p in lamps]
    assert len(parts) == 8 and sum(len(x) for x in lamps) == city().count("Streetlight")
    assert all(not groups[i] & groups[j] for i in range(8) for j in range(i + 1, 8))
    sizes = [len(x) for x in lamps]
    assert max(sizes) < 1.5 * min(sizes)  # largest group first to the smallest part
    one_each = domains.slices(city(), "lighting", 1000)  # never more slices than groups
    assert len(one_each) == len({s.group for s in city().sensors.values() if s.type == "Streetlight"})


class _FakeTime:
    """Real time that passes only when the loop sleeps: the schedule of a paced run, without waiting."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)


def scheduled_per_second(step_at_most: float | None, rate: float, seconds: int) -> list[int]:
    """Readings a rate-paced run schedules in each second of sensor time (how the loop paces, free of the
    machine's timing), with the domains built as a load test of `rate` builds them."""
    start = parse_start("2025-10-14T20:00")  # lamps on: every cabinet reports its lamps
    sim = domains.build(domains.AVAILABLE, city(), 1, Settings(), step_at_most=step_at_most)
    steps: list[tuple[int, int]] = []
    step = sim.step

    def counting(t_ms: int, due: Any) -> Any:
        records, readings = step(t_ms, due)
        steps.append((t_ms, sum(readings.values())))
        return records, readings

    sim.step = counting  # type: ignore[method-assign]
    fake = _FakeTime()
    clock = SimClock(start, 1.0, monotonic=fake.now, sleep=fake.sleep)
    asyncio.run(
        runner.run(sim, runner.NullSink(), clock, start, start + seconds * 1000, rate=constant(rate, 3600))
    )
    per_second = [0] * seconds
    for t, n in steps:
        if (t - start) // 1000 < seconds:
            per_second[(t - start) // 1000] += n
    return per_second


def test_a_load_test_paces_every_second_within_a_tenth_of_its_target() -> None:
    # The city's 16,000 lamps in one step made 17k or 34k readings a second at 20k/s; in slices of whole
    # concentrators, stepped in turn, every second is within ±10 % (the first holds the staggered start).
    whole = scheduled_per_second(None, 20_000, 8)
    assert max(whole[1:]) > 1.5 * min(whole[1:])
    sliced = scheduled_per_second(400, 20_000, 8)
    assert all(abs(n / 20_000 - 1) <= 0.10 for n in sliced[1:]), sliced
