"""The alert timeline does not depend on when the worker emits: the same frames folded into the processors'
states and drained after every 5th frame, every 97th or only once at the end raise, worsen and clear the
same alerts with the same ids and history. This is what makes a re-run of a seed, or a replay at another
speed, reproduce a live run's alerts (rules judge final documents: every water reading, closed traffic
windows and air-quality hours, hospital snapshots and cabinet silence on their own event clocks).
Four incidents: an accident (traffic jam, speed anomaly), a lighting outage (cabinets offline), a dengue surge
(hospital p90 waits raised and cleared) and a winter smog night (hourly VN_AQI above 150; spring tides at
the Cửa Lò gauges over alert level 1)."""

from __future__ import annotations

import pytest

from simulators.scenario import load
from tests.unit.simkit import alerts_drained_every, simulate


@pytest.mark.parametrize(
    ("domains", "start", "hours", "scenario", "offset_h", "rules"),
    [
        (("traffic", "environment"), "2025-10-13T07:20", 1.5, "accident-ql1a-hoang-mai", 0.33,
         {"traffic-jam", "traffic-anomaly"}),
        (("lighting", "health"), "2025-12-05T18:50", 1.5, "lighting-outage-cua-lo", 1.83,
         {"cabinet-offline"}),
        (("health",), "2025-09-17T06:00", 8.0, "hospital-surge", 54.0, {"hospital-waits"}),
        (("environment",), "2025-01-08T22:00", 8.0, "winter-smog", 4.0, {"air-quality", "flood-level"}),
    ],
)  # fmt: skip
def test_the_same_frames_raise_the_same_alerts_however_often_the_worker_emits(
    domains: tuple[str, ...], start: str, hours: float, scenario: str, offset_h: float, rules: set[str]
) -> None:
    run = simulate(domains, start, hours, seed=1, scenario=load(scenario), scenario_offset_h=offset_h)
    often, seldom, once = (alerts_drained_every(run.records, every) for every in (5, 97, None))
    assert {a["rule"] for a in often.values()} == rules  # the incident raised what it should
    assert often == seldom == once
