"""Two workers split the raw partitions, yet each area's KPIs are computed by one worker from every lane of
the area: indicator documents are keyed by area, and a second stage keeps KPIs and alerts per area."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest

from ioc.city import load_city
from ioc.ops import procs
from ioc.topics import Topics
from tests.support.records import read_topic
from tests.support.stack import StartServices, unique_namespace
from tests.support.traffic import traffic_kpi_lanes
from tests.support.wall import metric

pytestmark = pytest.mark.integration

SIM = ["simulate", "--seed", "5", "--start", "2025-10-14T17:00", "--duration", "20m", "--speed", "max"]


def test_kpis_cover_whole_areas_when_two_workers_share_the_partitions(start_services: StartServices) -> None:
    services = start_services(unique_namespace("area"))
    settings = services.settings
    ports = [settings.worker_web_port, procs.free_port()]
    city = load_city()
    lanes = Counter(s.area for s in city.sensors_of("TrafficFlowObserved"))
    for k, port in enumerate(ports):
        services.start(f"worker-{k}", "worker", worker_web_port=port)
    services.wait_ready("worker-0", "worker-1")
    time.sleep(3)  # both in the group: the broker completes a join after half the 2-s session timeout
    subprocess.run([sys.executable, "-m", "ioc", *SIM, "--domain", "traffic"], env=services.env, check=True)

    def done(docs: list[dict[str, Any]]) -> bool:
        return traffic_kpi_lanes(docs) == lanes

    docs = asyncio.run(read_topic(settings, Topics(settings.namespace).aggregates, done, 60))
    services.assert_running()
    accepted = [metric(port, "ioc_readings_accepted_total") for port in ports]

    assert all(n > 0 for n in accepted), f"one worker got no raw partition: {accepted}"
    assert traffic_kpi_lanes(docs) == lanes
    kpi_keys = {d["group"] for d in docs if d["kind"] == "kpi"}
    assert kpi_keys == set(lanes)
