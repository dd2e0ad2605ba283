"""Re-simulation and `ioc compare` on real runs: a scenario through a real worker on the real broker, its
alerts and KPIs recorded. Run twice with the same seed it gives the same alert timeline and KPIs; replayed
at 10x from a recording of its raw frames into a replay namespace with its own worker, it gives the live run's
alerts again. The run compared with a copy lacking one alert (made with `ioc recording export`/`import`)
names that alert and exits 1."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from ioc.ops import procs
from ioc.ops.recording import file as recording
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import metric

pytestmark = pytest.mark.integration
ACCIDENT = ["--scenario", "accident-ql1a-hoang-mai", "--domain", "traffic", "--speed", "max", "--quiet"]
# A short storm surge at Cửa Lò: flood alerts raise, worsen as the water climbs through the alert levels,
# and clear (10 min after the water fell past the clear line) within 20 simulated minutes, so the live run
# replayed at 10x takes 120 s.
SURGE = """
name = "storm-surge-cua-lo"
title = "Nước dâng do bão ở Cửa Lò (kịch bản kiểm thử ngắn)"
title_en = "Storm surge at Cửa Lò (short test scenario)"
description = "A 2.2 m surge builds over three minutes at the Cửa Lò tide gauges, holds, and falls back."
source = "Test scenario; surge within the 2019 typhoon's range (facts 'Weather and water')"
start = "2025-10-14T10:00"
duration = "20m"
seed = 7

[[stage]]
name = "Surge"
at = "1m"
until = "6m"
ramp = "3m"
[stage.set]
"environment.cua-lo.surge_m" = 2.2
"""


def ioc(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "ioc", *args], env=env, capture_output=True, text=True)
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


def readings_in(out: str) -> int:
    """The readings a simulate or replay printed."""
    return int(out.split(" readings")[0].split()[-1].replace(",", ""))


def through_worker(
    start_services: StartServices,
    namespace: str,
    tmp: Path,
    name: str,
    feed: Callable[[dict[str, str]], int],
    topics: str,
) -> tuple[Path, int]:
    """Start a worker in `namespace`, feed it (feed returns the readings sent), wait until it has taken
    them all in and emitted, then record `topics` of the namespace to tmp/name.ioc; (that file, readings)."""
    services = start_services(namespace, "worker")
    env, port = services.env, services.port("worker")
    readings = feed(env)

    def taken_in() -> bool:
        done = metric(port, "ioc_readings_accepted_total") + metric(port, "ioc_deadletter_readings_total")
        return done >= readings

    procs.wait_for(taken_in, 60, 0.2, f"worker {name} taking in {readings} readings")
    time.sleep(10 * services.settings.emit_interval_s)  # the last windows, KPIs and alerts go out
    path = tmp / f"{name}.ioc"
    ioc(env, "record", "--out", str(path), "--topics", topics, "--from-beginning")
    services.assert_running()
    services.stop()  # before the next run's worker: two CPUs
    return path, readings


def simulated(*args: str) -> Callable[[dict[str, str]], int]:
    return lambda env: readings_in(ioc(env, "simulate", *args).stdout)


def run_scenario(
    start_services: StartServices, tmp: Path, name: str, args: list[str], topics: str
) -> tuple[Path, int]:
    return through_worker(start_services, unique_namespace(name), tmp, name, simulated(*args), topics)


def lifecycle_actions(path: Path) -> set[str]:
    """Every action in the latest state of the alerts of a recording."""
    latest = {}
    for e in recording.read(path)[1]:
        if e.topic == "alerts":
            doc = orjson.loads(e.value or b"{}")
            latest[doc["id"]] = doc
    return {h["action"] for doc in latest.values() for h in doc["history"]}


def alerts_compared(a: Path, b: Path) -> tuple[int, str]:
    """(how many alerts, compare's output), asserting it found no differences."""
    done = ioc({}, "compare", str(a), str(b), check=False)
    assert done.returncode == 0 and "no differences" in done.stdout, done.stdout
    return int(done.stdout.split("alerts: ")[1].split(" in ")[0]), done.stdout


def test_a_scenario_run_twice_and_replayed_at_10x_gives_the_same_alert_timeline(
    start_services: StartServices, tmp_path: Path
) -> None:
    scenario = tmp_path / "surge.toml"
    scenario.write_text(SURGE)
    args = ["--scenario", str(scenario), "--domain", "environment", "--speed", "max", "--quiet"]
    a, readings = run_scenario(start_services, tmp_path, "a", args, "raw,alerts,aggregates")
    b, _ = run_scenario(start_services, tmp_path, "b", args, "alerts,aggregates")
    alerts, out = alerts_compared(a, b)
    assert alerts >= 2, out  # both tide gauges flooded: the comparison compared something
    assert {"raise", "worsened", "cleared"} <= lifecycle_actions(a)  # a whole lifecycle was compared

    def replayed(env: dict[str, str]) -> int:
        out = ioc(env, "replay", str(a), "--speed", "10", "--topics", "raw", "--job", job).stdout
        assert f"into 'replay-{job}'" in out, out
        return readings  # the live run's frames, so its readings

    job = unique_namespace("x")
    c, _ = through_worker(start_services, f"replay-{job}", tmp_path, "c", replayed, "alerts,aggregates")
    assert alerts_compared(a, c)[0] == alerts


def test_compare_finds_no_difference_in_a_run_and_names_a_missing_alert(
    start_services: StartServices, tmp_path: Path
) -> None:
    a, _ = run_scenario(start_services, tmp_path, "a", ACCIDENT, "alerts,aggregates")
    same = ioc({}, "compare", str(a), str(a), check=False)
    assert same.returncode == 0 and "no differences" in same.stdout, same.stdout
    alerts = int(same.stdout.split("alerts: ")[1].split(" in ")[0])
    assert alerts > 0, same.stdout  # the accident raised alerts: the comparison compared something

    # Drop one alert from a copy of the recording (export, edit, import): compare names it and exits 1.
    ioc({}, "recording", "export", str(a), str(tmp_path / "a.jsonl"))
    lines = (tmp_path / "a.jsonl").read_bytes().splitlines()
    rows = [orjson.loads(x) for x in lines[1:]]
    dropped = next(orjson.loads(r["v"])["id"] for r in rows if r["t"] == "alerts")
    kept = [x for x, r in zip(lines[1:], rows, strict=True) if not (r["t"] == "alerts" and dropped in r["v"])]
    (tmp_path / "c.jsonl").write_bytes(b"\n".join([lines[0], *kept]) + b"\n")
    ioc({}, "recording", "import", str(tmp_path / "c.jsonl"), str(tmp_path / "c.ioc"))
    differs = ioc({}, "compare", str(a), str(tmp_path / "c.ioc"), check=False)
    assert differs.returncode == 1 and f"only in a.ioc: {dropped}" in differs.stdout, differs.stdout
