"""Two workers share the raw partitions; one is killed (SIGKILL, no goodbye) while the simulator is still
producing, or joins while the other is busy. The worker taking partitions over starts from their
checkpoints and the final 5-minute traffic windows must still equal the simulator's own counts exactly:
nothing lost, nothing counted twice. The area stage moves too: each area's traffic KPI ends up computed
from every lane of that area."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ioc.city import load_city
from ioc.ops import procs
from ioc.topics import Topics
from tests.support.records import read_topic
from tests.support.stack import Services, StartServices, unique_namespace
from tests.support.traffic import closed_windows, expected_windows, traffic_kpi_lanes
from tests.support.wall import metric

pytestmark = pytest.mark.integration

SIM = ["simulate", "--seed", "33", "--start", "2025-10-14T07:00", "--duration", "90m", "--domain", "traffic"]
SPEED = "600"  # 90 simulated minutes in 9 s: the kill lands mid-stream


city = cache(load_city)


def test_killed_worker_partitions_are_taken_over_with_exact_counts(
    start_services: StartServices, tmp_path: Path
) -> None:
    services = start_services(unique_namespace("fo"), checkpoint_interval_s=0.5)
    settings, env = services.settings, services.env
    port_a, port_b = settings.worker_web_port, procs.free_port()
    services.start("worker-a", "worker")
    services.start("worker-b", "worker", worker_web_port=port_b)
    services.wait_ready("worker-a", "worker-b")

    sim, file = simulate(env, tmp_path)

    # Kill A only once it owns partitions, has processed readings and has checkpointed some of them.
    procs.wait_for(lambda: busy(port_a), 30, 0.1, "worker A processing and checkpointing")
    services.kill("worker-a")
    read_by_a_running = sim.poll() is None
    assert sim.wait(60) == 0, (tmp_path / "sim.log").read_text()
    assert read_by_a_running, "the simulator had finished before worker A was killed: no mid-stream failover"
    assert_exact_windows(services, file, port_b)


def test_a_joining_worker_takes_partitions_over_mid_stream_with_exact_counts(
    start_services: StartServices, tmp_path: Path
) -> None:
    # A takes the raw records of each fetch in bulk; B joins while A is busy, so A gives partitions away with
    # records in hand (where in a batch the rebalance lands is the unit tests' to pin: test_bulk_intake).
    # A must leave a revoked partition's rest, through its checkpoint, to B.
    services = start_services(unique_namespace("jo"), checkpoint_interval_s=0.5)
    settings, env = services.settings, services.env
    port_a, port_b = settings.worker_web_port, procs.free_port()
    services.start("worker-a", "worker")
    services.wait_ready("worker-a")
    sim, file = simulate(env, tmp_path)

    procs.wait_for(lambda: busy(port_a), 30, 0.1, "worker A processing and checkpointing")
    services.start("worker-b", "worker", worker_web_port=port_b)
    joined_while_running = sim.poll() is None
    assert sim.wait(60) == 0, (tmp_path / "sim.log").read_text()
    assert joined_while_running, "the simulator had finished before worker B joined: no mid-stream handover"
    assert_exact_windows(services, file, port_b)
    services.assert_running()  # A lived through giving partitions away
    assert metric(port_a, "ioc_checkpoints_total", op="written") > 0


def simulate(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """The traffic stream written to a file (the expected counts) and produced live by a simulator."""
    file = tmp_path / "traffic.jsonl"
    subprocess.run([sys.executable, "-m", "ioc", *SIM, "--out", str(file)], env=env, check=True)
    return procs.spawn([sys.executable, "-m", "ioc", *SIM, "--speed", SPEED], tmp_path / "sim.log", env), file


def busy(port: int) -> bool:
    """The worker owns partitions, has taken readings in and has checkpointed some of them."""
    read = metric(port, "ioc_readings_accepted_total")
    return read > 0 and metric(port, "ioc_checkpoints_total", op="written") > 0


def assert_exact_windows(services: Services, file: Path, port_b: int) -> None:
    """Every closed 5-minute window published final with the simulator's count, once; every area's KPI
    over all its lanes; B restored a checkpoint of partitions it took over."""
    settings = services.settings
    expected = expected_windows(file)
    finals = closed_windows(expected, 300_000)
    want = {k: v for k, v in expected.items() if k[1] in finals}

    lanes = Counter(city().sensors[d].area for d in {d for d, _ in expected})

    def done(docs: list[dict[str, Any]]) -> bool:
        return len(set(finals_seen(docs))) >= len(want) and traffic_kpi_lanes(docs) == lanes

    docs = asyncio.run(read_topic(settings, Topics(settings.namespace).aggregates, done, 90))
    services.assert_running()
    restored_by_b = metric(port_b, "ioc_checkpoints_total", op="restored")

    assert restored_by_b > 0, "worker B never restored a checkpoint of partitions it took over"
    seen = finals_seen(docs)
    conflicts = {k for k, values in seen.items() if len(set(values)) > 1}
    assert not conflicts, f"windows published final twice with different counts: {sorted(conflicts)[:5]}"
    got = {k: values[0] for k, values in seen.items()}
    assert finals and {w for _, w in got} == finals
    assert got == want  # exact after the partitions moved
    assert traffic_kpi_lanes(docs) == lanes  # KPIs of all areas, each over all its lanes


def finals_seen(docs: list[dict[str, Any]]) -> dict[tuple[str, int], list[int]]:
    """Every final count published per (detector, window); a replayed close may publish one twice."""
    seen: dict[tuple[str, int], list[int]] = {}
    for d in docs:
        if d["kind"] == "traffic" and d["final"]:
            for i in d["items"]:
                seen.setdefault((i["id"], d["window"][0]), []).append(i["vehicles"])
    return seen
