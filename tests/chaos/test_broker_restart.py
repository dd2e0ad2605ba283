"""A broker that lost its data, under `ioc up`: the memory broker is killed; the stack starts it again (a new
cluster id) with its topics, the worker notices and exits to be started fresh, the wall resets and says
what was lost and since when, an unsupervised simulator exits with the reason; devices' readings sent after
the restart are all processed. A frozen worker turns /health red until it runs again."""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from ioc.ops import procs
from tests.chaos.conftest import record
from tests.chaos.device import MINUTE, Device, frame, minute_now, sensors
from tests.support.stack import up_children as children
from tests.support.stack import up_env
from tests.support.wall import metric

pytestmark = pytest.mark.chaos
GROUP = ("FloodMonitoring", "wl.cua-lo")


def health(web: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{web}/health", timeout=2) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read())
    except OSError:
        return 0, {}


def test_a_broker_that_comes_back_empty_is_noticed_and_nothing_after_it_is_lost(tmp_path: Path) -> None:
    env = up_env(
        tmp_path / "data",
        "restart",
        IOC_FEED_STALE_S="4",
        IOC_HEARTBEAT_INTERVAL_S="0.5",
        IOC_HEALTH_TICK_S="2",  # the unsupervised simulator writes often, so it notices soon
    )
    ports = {"web": env["IOC_WEB_PORT"], "worker": env["IOC_WORKER_WEB_PORT"]}
    web = f"http://127.0.0.1:{ports['web']}"
    up = procs.spawn([sys.executable, "-m", "ioc", "up", "--no-sim"], tmp_path / "up.log", env)
    sim = None
    try:
        procs.wait_for(lambda: health(web)[1].get("workers", 0) >= 1, 60, 0.2, "the stack with a live worker")
        device = Device(env["IOC_BOOTSTRAP"], env["IOC_NAMESPACE"], partitioner="murmur2_random")
        t0 = minute_now() - 60 * MINUTE
        before = [(GROUP[1], frame(*GROUP, k, t0 + k * MINUTE)) for k in range(20)]
        device.send("environment", before)
        n = 20 * len(sensors(*GROUP))
        procs.wait_for(
            lambda: metric(ports["worker"], "ioc_readings_accepted_total", domain="environment") >= n,
            30, 0.2, "the readings before the crash",
        )  # fmt: skip
        accepted_before = int(metric(ports["worker"], "ioc_readings_accepted_total", domain="environment"))
        sim_argv = [sys.executable, "-m", "ioc", "simulate", "--domain", "health", "--speed", "1"]
        sim = procs.spawn(sim_argv, tmp_path / "sim.log", env)
        time.sleep(4)  # the simulator has sent and knows its broker
        old_worker = children(up.pid)["worker"]
        os.kill(children(up.pid)["broker"], signal.SIGKILL)

        def recovered() -> bool:
            code, body = health(web)
            return code == 200 and body.get("data_loss") is not None and body.get("workers", 0) >= 1

        procs.wait_for(recovered, 90, 0.25, "the wall on the new broker, with a fresh worker")
        assert children(up.pid)["worker"] != old_worker  # the worker of the lost broker is gone
        assert sim.wait(60) == 75, (tmp_path / "sim.log").read_text()[-2000:]
        assert "lost its data" in (tmp_path / "sim.log").read_text()
        log = (tmp_path / "up.log").read_text()
        assert "the broker died" in log and "broker up again" in log
        # Stopped by the stack for the historian to go first, unless it noticed the new cluster even sooner.
        assert "worker stopped (exit" in log or "worker exited with code 75" in log
        loss = health(web)[1]["data_loss"]
        assert loss["at"] <= time.time() * 1000 and "cluster" in loss["why"]

        after = [(GROUP[1], frame(*GROUP, 100 + k, t0 + (20 + k) * MINUTE)) for k in range(20)]
        device.send("environment", after)
        procs.wait_for(
            lambda: metric(ports["worker"], "ioc_readings_accepted_total", domain="environment") >= n,
            60, 0.2, "the readings after the restart",
        )  # fmt: skip
        time.sleep(0.5)
        accepted_after = int(metric(ports["worker"], "ioc_readings_accepted_total", domain="environment"))

        # A worker that stops moving (frozen, as a hung process would be) turns /health red.
        worker = children(up.pid)["worker"]
        os.kill(worker, signal.SIGSTOP)
        try:
            procs.wait_for(lambda: health(web)[0] == 503, 20, 0.25, "/health red while the worker is frozen")
            problems = [p["code"] for p in health(web)[1]["problems"]]
            assert "no_worker" in problems
        finally:
            os.kill(worker, signal.SIGCONT)
        procs.wait_for(lambda: health(web)[0] == 200, 20, 0.25, "/health green again")
        record("broker killed and restarted empty, worker frozen", "40 frames around the crash",
               "SIGKILL of the broker, SIGSTOP of the worker", 2 * n,
               accepted_before + accepted_after)  # fmt: skip
        assert (accepted_before, accepted_after) == (n, n)
    finally:
        if sim is not None:
            procs.stop(sim)
        procs.stop(up, timeout=30)
    assert "stopped." in (tmp_path / "up.log").read_text()
