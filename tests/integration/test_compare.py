"""`ioc compare` on a real run: a scenario through a real worker on the real broker, its alerts and KPIs
recorded; the run compared with itself has no differences (exit 0), and with a copy lacking one alert (made
with `ioc recording export`/`import`) names that alert (exit 1).

Not yet asserted: two runs of the same seed give the same timeline. They do not yet at full speed: rules
judge the indicator documents the worker emits every IOC_EMIT_INTERVAL_S, and which intermediate states get
emitted depends on how much was read between emits (seen: a traffic-jam alert in one run only)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from ioc import procs
from ioc.broker import EmbeddedBroker
from tests.helpers import Services, metric, service_env, unique_namespace, wait_http

pytestmark = pytest.mark.integration
SCENARIO = ["--scenario", "accident-ql1a-hoang-mai", "--domain", "traffic", "--speed", "max", "--quiet"]


def ioc(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "ioc", *args], env=env, capture_output=True, text=True)
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


def run_scenario(broker: EmbeddedBroker, tmp: Path, name: str) -> Path:
    env = service_env(broker.bootstrap, unique_namespace(name))
    ioc(env, "topics")
    services = Services(env, tmp)
    try:
        services.start(f"worker-{name}", "worker")
        port = env["IOC_WORKER_WEB_PORT"]
        wait_http(f"http://127.0.0.1:{port}/metrics", 30, services)
        out = ioc(env, "simulate", *SCENARIO).stdout
        readings = int(out.split(" readings")[0].split()[-1].replace(",", ""))

        def taken_in() -> bool:
            done = metric(port, "ioc_readings_accepted_total") + metric(port, "ioc_deadletter_readings_total")
            return done >= readings

        procs.wait_for(taken_in, 60, 0.2, f"worker {name} taking in {readings} readings")
        time.sleep(10 * float(env["IOC_EMIT_INTERVAL_S"]))  # the last windows, KPIs and alerts go out
        path = tmp / f"{name}.ioc"
        ioc(env, "record", "--out", str(path), "--topics", "alerts,aggregates", "--from-beginning")
        services.assert_running()
    finally:
        services.stop()
    return path


def test_compare_finds_no_difference_in_a_run_and_names_a_missing_alert(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    a = run_scenario(broker, tmp_path, "a")
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
