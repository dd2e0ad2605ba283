"""Issue 16's flapping flood alert: `ioc up --scenario typhoon-vinh` (seed 2019, 12 h of warm-up history)
left the Phan Đình Cang street gauge (WL-VIN-PDC, alert level 1 at 0.2 m) at the line for the whole flooding
evening, and its alert cleared and re-raised 5 times between 21:32 and 23:34 simulated time. The same run
in memory, its Vinh water gauges folded through a worker's Pipeline: the water still crosses the line again
and again, and the alert is raised once and neither cleared nor raised again until midnight."""

from __future__ import annotations

import numpy as np

from ioc.clock import parse_start
from simulators.scenario import load
from tests.unit.simkit import alerts_drained_every, column, simulate

GAUGE = "WL-VIN-PDC"
LEVEL_1 = 0.2  # m, the gauge's alert level 1 (ioc/city/data/stations.json)
EVENING = (parse_start("2025-10-14T21:00"), parse_start("2025-10-15T00:00"))


def test_the_pdc_flood_alert_is_raised_once_while_the_water_stands_at_the_line() -> None:
    # As `ioc up` runs it: from the warm-up 12 h before the scenario's start to the end of its day.
    run = simulate(("environment",), "2025-10-13T06:00", 42, seed=2019, scenario=load("typhoon-vinh"),
                   scenario_offset_h=-12)  # fmt: skip
    t, level, _ = column(run.frames("FloodMonitoring", key_prefix="wl.vinh"), "currentLevel", {GAUGE})
    evening = level[(t >= EVENING[0]) & (t < EVENING[1])].astype(float)
    crossings = int(np.count_nonzero(np.diff(evening >= LEVEL_1)))
    assert crossings >= 20 and evening.min() < LEVEL_1 - 0.04  # at the line, and well under it at times

    alerts = alerts_drained_every([r for r in run.records if r.key == b"wl.vinh"], 97)
    pdc = [a for a in alerts.values() if (a["rule"], a["entity"]) == ("flood-level", GAUGE)]
    assert len(pdc) == 1, [a["id"] for a in pdc]
    (alert,) = pdc
    steps = [h["action"] for h in alert["history"]]
    assert steps.count("cleared") == steps.count("raised") == 0, steps  # before the dead band: 6 of each
    assert alert["dateIssued"] < EVENING[0] and alert["status"] == "raised" and steps == ["raise"]
