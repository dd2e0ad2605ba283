"""Simulators stopped and started again, in a namespace of their own (their clocks rule it): a run at full
speed numbers its frames from 0 again under a new boot; a live run started again (as `ioc up` does after a
crash) goes on from where its predecessor got to instead of sending its history twice."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from ioc.clock import local_iso
from ioc.ops import procs
from tests.chaos.conftest import Stack, record
from tests.chaos.device import minute_now
from tests.chaos.test_devices import count

pytestmark = pytest.mark.chaos


def test_a_restarted_simulator_loses_nothing(stack: Stack) -> None:
    """A fleet (the simulator at full speed, a new boot each run) stopped and started: every reading once."""
    start = minute_now() - 3 * 3600_000
    accepted = sent = 0
    dup0 = stack.letters("duplicate")
    for part in range(2):  # the same fleet run, stopped and run again (from the next minute): seqs from 0
        env0 = stack.accepted("environment")
        out = subprocess.run(
            [sys.executable, "-m", "ioc", "simulate", "--domain", "environment", "--start",
             local_iso(start + part * 1860_000), "--duration", "30m", "--speed", "max", "--quiet"],
            env=stack.env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        readings = int(out.split(" readings")[0].rsplit(", ", 1)[1].replace(",", ""))
        accepted += count(lambda before=env0: stack.accepted("environment") - before, readings)  # type: ignore[misc]
        sent += readings
    record("simulator stopped and started again", "two 30-minute runs", "seqs from 0 again", sent, accepted)
    assert accepted == sent
    assert stack.letters("duplicate") == dup0


def test_a_live_simulator_started_again_sends_no_history_twice(stack: Stack, tmp_path: Path) -> None:
    """`ioc up` starts a crashed simulator again: it goes on from where its predecessor's clock got to
    instead of sending its warm-up history a second time (which counted the last minutes twice)."""
    env = {**stack.env, "IOC_WARMUP_H": "0.25", "IOC_ENV_TICK_S": "5"}
    argv = [sys.executable, "-m", "ioc", "simulate", "--live", "--domain", "environment", "--report"]
    late0, dup0 = stack.letters("late"), stack.letters("duplicate")
    sent = accepted = 0
    for run in range(2):
        env0 = stack.accepted("environment")
        report = tmp_path / f"run-{run}.json"
        sim = procs.spawn([*argv, str(report)], tmp_path / f"sim-{run}.log", env)
        time.sleep(12)  # history (the first run), then a few live ticks
        procs.stop(sim)  # SIGTERM: it ends cleanly and writes its report
        readings = int(orjson.loads(report.read_bytes())["readings"])
        sent += readings
        accepted += count(lambda before=env0: stack.accepted("environment") - before, readings)  # type: ignore[misc]
    record("live simulator stopped and started again", "two runs, 15 min of history",
           "SIGTERM, then the same command", sent, accepted)  # fmt: skip
    assert accepted == sent
    assert stack.letters("late") == late0 and stack.letters("duplicate") == dup0
