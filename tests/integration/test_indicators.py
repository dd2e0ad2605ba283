"""The real simulator feeds traffic, hospital and lighting frames through the real broker to the real Faust
worker; its final traffic windows must match the simulator's own counts exactly (same seed → same stream,
written to a file for the expected values), and hospital, lighting and KPI aggregates must appear."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ioc.topics import Topics
from tests.support.records import read_topic
from tests.support.stack import StartServices, unique_namespace
from tests.support.traffic import closed_windows, expected_windows, final_counts

pytestmark = pytest.mark.integration

SIM = [
    "simulate",
    "--seed",
    "21",
    "--start",
    "2025-10-14T07:30",
    "--duration",
    "30m",
    "--speed",
    "max",
    "--domain",
    "traffic",
    "--domain",
    "health",
    "--domain",
    "lighting",
]


def test_simulated_city_becomes_exact_windows_hospital_lighting_and_kpis(
    start_services: StartServices, tmp_path: Path
) -> None:
    services = start_services(unique_namespace("ind"), "worker")
    settings, env = services.settings, services.env
    file = tmp_path / "city.jsonl"
    subprocess.run([sys.executable, "-m", "ioc", *SIM, "--out", str(file)], env=env, check=True)
    subprocess.run([sys.executable, "-m", "ioc", *SIM], env=env, check=True, capture_output=True)
    expected = expected_windows(file)
    # Watermark 08:00 with 300 s lateness: windows 07:30 … 07:50 are final.
    finals = closed_windows(expected, 300_000)

    want = {k: v for k, v in expected.items() if k[1] in finals}

    def done(docs: list[dict[str, Any]]) -> bool:
        kinds = {d["kind"] for d in docs}
        kpi_ids = {i["id"] for d in docs if d["kind"] == "kpi" for i in d["items"]}
        return (
            {"hospital", "lighting"} <= kinds
            and {"vinh:traffic", "vinh:health", "vinh:lighting"} <= kpi_ids  # a hop after indicators
            and len(final_counts(docs)) >= len(want)
        )

    docs = asyncio.run(read_topic(settings, Topics(settings.namespace).aggregates, done, 60))
    services.assert_running()

    got = final_counts(docs)
    assert finals and {w for _, w in got} == finals
    assert got == want  # exact: nothing lost, nothing counted twice

    hospitals = {d["items"][0]["id"]: d["items"][0] for d in docs if d["kind"] == "hospital"}
    assert hospitals["hn-friendship"]["arrivals_h"] > 50  # a Tuesday morning rush
    lighting = {d["group"] for d in docs if d["kind"] == "lighting"}
    assert lighting == {"vinh", "cua-lo", "hoang-mai"}
    kpis = {i["id"]: i for d in docs if d["kind"] == "kpi" for i in d["items"]}
    assert {"vinh:traffic", "vinh:health", "vinh:lighting"} <= set(kpis)
    assert kpis["vinh:lighting"]["standing"] == "veryGood"  # 07:30-08:00: daylight, lamps off as scheduled
