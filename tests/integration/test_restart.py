"""After a restart nothing is forgotten: with `ioc up` (its embedded memory broker, worker, web and
historian), a flood alert is raised and acknowledged; everything is stopped, the broker's memory with it;
`ioc up` again on the same data directory: the wall shows the same alert, acknowledged, with the same
history, and the same condition arriving again raises no second alert. The same when only the broker dies
and the stack starts it again, empty."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ioc.clock import parse_start
from ioc.ops import procs
from ioc.settings import Settings
from ioc.topics import Topics
from tests.support.frames import street_levels
from tests.support.records import produce
from tests.support.stack import up_children, up_env
from tests.support.wall import http_call, http_json, live_workers

pytestmark = pytest.mark.integration
T0 = parse_start("2025-10-14T06:00")


@contextmanager
def stack_up(env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """`ioc up --no-sim` until the wall has a worker; yield the wall's URL and the pid of `ioc up`; SIGTERM
    at the end."""
    up = procs.spawn([sys.executable, "-m", "ioc", "up", "--no-sim"], log, env)
    web = f"http://127.0.0.1:{env['IOC_WEB_PORT']}"
    try:
        procs.wait_for(lambda: live_workers(web, up) >= 1, 90, 0.3, "ioc up with a live worker")
        yield web, up.pid
    finally:
        assert procs.stop(up, timeout=30) is not None


def flood_alerts(web: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = http_json(f"{web}/api/alerts?rule=flood-level", role="viewer")["alerts"]
    return [a for a in found if a["entity"] == "WL-VIN-NVC"]


def wait_alerts(web: str, ok: Any, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while not ok(alerts := flood_alerts(web)):
        assert time.monotonic() < deadline, f"alerts now: {alerts}"
        time.sleep(0.3)
    return alerts


def test_an_acknowledged_alert_survives_stopping_everything(tmp_path: Path) -> None:
    env = up_env(tmp_path / "data", "restart", IOC_EMIT_INTERVAL_S="0.2")
    settings = Settings(bootstrap=env["IOC_BOOTSTRAP"], namespace=env["IOC_NAMESPACE"])
    raw = Topics(settings.namespace).raw("environment")

    with stack_up(env, tmp_path / "up1.log") as (web, _):
        acked = raise_and_acknowledge(settings, web)

    with stack_up(env, tmp_path / "up2.log") as (web, _):  # a new memory broker: it starts empty
        (back,) = wait_alerts(web, lambda a: len(a) == 1)
        assert back["id"] == acked["id"] and back["status"] == "acknowledged"
        assert back["history"] == acked["history"]
        asyncio.run(produce(settings, raw, [street_levels(2, T0 + 60_000, 0.5)]))  # still flooded
        time.sleep(3)
        again = flood_alerts(web)
        assert [(a["id"], a["status"]) for a in again] == [(acked["id"], "acknowledged")]  # no second alert
        # The audit kept who acknowledged it, with which role and from where, and the timeline shows it.
        trail = http_json(f"{web}/api/audit?alert={acked['id']}", role="engineer")["actions"]
        assert [(a["action"], a["by"], a["role"], a["source"]) for a in trail] == [
            ("acknowledge", "dev-operator", "operator", "127.0.0.1")
        ]
        story = http_json(f"{web}/api/history/alerts/{acked['id']}", role="viewer")
        assert [a["id"] for a in story["actions"]] == [trail[0]["id"]]


def raise_and_acknowledge(settings: Settings, web: str) -> dict[str, Any]:
    raw = Topics(settings.namespace).raw("environment")
    asyncio.run(produce(settings, raw, [street_levels(1, T0, 0.45)]))  # above alert level 2
    (raised,) = wait_alerts(web, lambda a: len(a) == 1)
    status, _ = http_call("POST", f"{web}/api/alerts/{raised['id']}/acknowledge", "operator",
                          {"comment": "đội cứu hộ đã đến"})  # fmt: skip
    assert status == 202
    (acked,) = wait_alerts(web, lambda a: a and a[0]["status"] == "acknowledged")
    time.sleep(2)  # the historian writes within a poll (0.5 s); leave it time before anything stops
    return acked


def test_an_acknowledged_alert_survives_a_broker_that_comes_back_empty(tmp_path: Path) -> None:
    env = up_env(tmp_path / "data", "brokerdies", IOC_EMIT_INTERVAL_S="0.2", IOC_FEED_STALE_S="4")
    settings = Settings(bootstrap=env["IOC_BOOTSTRAP"], namespace=env["IOC_NAMESPACE"])
    log, raw = tmp_path / "up.log", Topics(settings.namespace).raw("environment")
    with stack_up(env, log) as (web, up_pid):
        acked = raise_and_acknowledge(settings, web)
        before = up_children(up_pid)
        os.kill(before["broker"], signal.SIGKILL)
        procs.wait_for(lambda: "broker up again" in log.read_text(), 60, 0.25, "the broker started again")
        # Still flooded, sent at once to the new broker: it waits there for whichever worker comes first.
        asyncio.run(produce(settings, raw, [street_levels(2, T0 + 60_000, 0.5)]))
        procs.wait_for(
            lambda: up_children(up_pid).get("worker") not in (None, before["worker"]),
            60, 0.25, "a new worker",
        )  # fmt: skip
        (back,) = wait_alerts(web, lambda a: len(a) == 1 and a[0]["status"] == "acknowledged", 60)
        assert back["id"] == acked["id"] and back["history"] == acked["history"]
        text = log.read_text()
        # The worker started on the new broker only after the historian had put the open alerts back.
        assert text.index("historian stopped") < text.index("starting worker again")
        time.sleep(3)
        assert [(a["id"], a["status"]) for a in flood_alerts(web)] == [(acked["id"], "acknowledged")]
