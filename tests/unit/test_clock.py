"""Simulated time: parsing, Vietnam's zone, and a clock whose real time is injected."""

from __future__ import annotations

import asyncio

import pytest

from ioc.clock import SimClock, local_iso, parse_duration, parse_start


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("6h", 21600), ("2d", 172800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "h", "5x", "1h30"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_start_without_zone_is_vietnam_time() -> None:
    assert parse_start("2025-01-15T07:00") == parse_start("2025-01-15T00:00+00:00")
    assert local_iso(parse_start("2025-01-15T07:00")) == "2025-01-15T07:00:00+07:00"
    assert parse_start("now", now=lambda: 1000.5) == 1_000_500


def test_scaled_clock_follows_injected_real_time() -> None:
    real = [100.0]
    clock = SimClock(1_000_000, speed=60, monotonic=lambda: real[0])
    real[0] += 2.0
    assert clock.now_ms() == 1_000_000 + 120_000
    clock.set_speed(1)
    real[0] += 1.0
    assert clock.now_ms() == 1_000_000 + 121_000


def test_as_fast_as_possible_moves_only_when_advanced() -> None:
    clock = SimClock(5_000, speed=None)
    asyncio.run(clock.wait_until(65_000))
    assert clock.now_ms() == 65_000
    asyncio.run(clock.wait_until(10_000))  # never goes back
    assert clock.now_ms() == 65_000


def test_wait_sleeps_for_the_scaled_gap() -> None:
    real = [0.0]
    slept: list[float] = []

    async def fake_sleep(s: float) -> None:
        slept.append(s)
        real[0] += s

    clock = SimClock(0, speed=10, monotonic=lambda: real[0], sleep=fake_sleep)
    asyncio.run(clock.wait_until(20_000))
    assert slept == [2.0]
