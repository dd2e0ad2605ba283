"""Two workers split the raw partitions, yet each area's KPIs are computed by one worker from every lane of
the area: indicator documents are keyed by area, and a second stage keeps KPIs and alerts per area."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ioc.city import load_city
from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from ioc.topics import Topics
from tests.helpers import (
    Services,
    create_topics,
    metric,
    read_topic,
    service_env,
    settings_for,
    traffic_kpi_lanes,
    unique_namespace,
    wait_http,
)

pytestmark = pytest.mark.integration

SIM = ["simulate", "--seed", "5", "--start", "2025-10-14T17:00", "--duration", "20m", "--speed", "max"]


def test_kpis_cover_whole_areas_when_two_workers_share_the_partitions(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    env = service_env(broker.bootstrap, unique_namespace("area"))
    settings = settings_for(env)
    create_topics(settings)
    ports = [env["IOC_WORKER_WEB_PORT"], str(procs.free_port())]
    services = Services(env, tmp_path)
    city = load_city()
    lanes = Counter(s.area for s in city.sensors_of("TrafficFlowObserved"))
    try:
        for k, port in enumerate(ports):
            services.start(f"worker-{k}", "worker", extra_env={"IOC_WORKER_WEB_PORT": port})
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/metrics", 30, services)
        time.sleep(3)  # both in the group: the broker completes a join after half the 2-s session timeout
        subprocess.run([sys.executable, "-m", "ioc", *SIM, "--domain", "traffic"], env=env, check=True)

        def done(docs: list[dict[str, Any]]) -> bool:
            return traffic_kpi_lanes(docs) == lanes

        docs = asyncio.run(read_topic(settings, Topics(settings.namespace).aggregates, done, 60))
        services.assert_running()
        accepted = [metric(port, "ioc_readings_accepted_total") for port in ports]
    finally:
        services.stop()

    assert all(n > 0 for n in accepted), f"one worker got no raw partition: {accepted}"
    assert traffic_kpi_lanes(docs) == lanes
    kpi_keys = {d["group"] for d in docs if d["kind"] == "kpi"}
    assert kpi_keys == set(lanes)
