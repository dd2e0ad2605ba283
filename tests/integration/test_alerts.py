"""An alert raised by the real worker from a flood reading on the real broker, acknowledged by an operator
action on the operator-actions topic; the worker is killed and a new one takes over the area's alerts from
the alerts topic, so the same acknowledged alert is cleared when the water goes down, not raised anew."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from ioc.clock import parse_start
from ioc.ops import procs
from ioc.topics import Topics
from tests.support.frames import street_levels
from tests.support.keys import KEYS
from tests.support.records import produce, read_topic
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import metric

pytestmark = pytest.mark.integration
T0 = parse_start("2025-10-14T06:00")


def test_flood_alert_is_raised_acknowledged_survives_a_worker_kill_and_is_cleared(
    start_services: StartServices,
) -> None:
    services = start_services(unique_namespace("alert"), "worker")
    settings = services.settings
    topics = Topics(settings.namespace)

    def alert_docs(pred: Any) -> list[dict[str, Any]]:
        return asyncio.run(read_topic(settings, topics.alerts, lambda docs: any(pred(d) for d in docs), 30))

    asyncio.run(produce(settings, topics.raw("environment"), [street_levels(1, T0, 0.45)]))  # above 0.4
    raised = next(d for d in alert_docs(lambda d: d["entity"] == "WL-VIN-NVC") if d["entity"] == "WL-VIN-NVC")
    assert (raised["category"], raised["subCategory"], raised["severity"], raised["status"]) == (
        "naturalDisaster",
        "flood",
        "high",
        "raised",
    )

    ack = {
        "alert": raised["id"],
        "action": "acknowledge",
        "by": "op.lan",
        "at": T0 + 60_000,
        "comment": "ok",
    }
    action = (raised["id"].encode(), orjson.dumps(ack))
    asyncio.run(produce(settings, topics.operator_actions, [action], KEYS.document))  # as the wall signs
    docs = alert_docs(lambda d: d["status"] == "acknowledged")
    acked = next(d for d in docs if d["status"] == "acknowledged")
    assert acked["history"][-1] == {
        "action": "acknowledged",
        "by": "op.lan",
        "at": T0 + 60_000,
        "comment": "ok",
    }

    # Let offsets be committed and checkpointed first: the heir must not simply replay the flood reading
    # and the acknowledgement, it must take the alert over from the alerts topic.
    time.sleep(4 * settings.checkpoint_interval_s)
    services.kill("worker")  # SIGKILL: no goodbye
    services.start("heir", "worker")
    services.wait_ready("heir")
    asyncio.run(produce(settings, topics.raw("environment"), [street_levels(2, T0 + 300_000, 0.45)]))
    # The heir joins once the dead worker's session expires; reading 2 must be judged on its own.
    port = services.port("heir")
    procs.wait_for(lambda: metric(port, "ioc_readings_accepted_total") >= 5, 30, 0.1, "the heir's intake")
    time.sleep(10 * max(settings.emit_interval_s, settings.kpi_interval_s))
    drained = [street_levels(3, T0 + 600_000, 0.05), street_levels(4, T0 + 1_200_000, 0.05)]
    asyncio.run(produce(settings, topics.raw("environment"), drained))  # clears after 10 min below
    docs = alert_docs(lambda d: d["status"] == "cleared")
    services.assert_running()
    heir_log = services.log("heir")

    nvc = [d for d in docs if d["entity"] == "WL-VIN-NVC" and d["rule"] == "flood-level"]
    assert {d["id"] for d in nvc} == {raised["id"]}  # still flooded after the takeover: no second alert
    cleared = nvc[-1]
    assert cleared["status"] == "cleared"
    assert [h["action"] for h in cleared["history"]] == ["raise", "acknowledged", "cleared"]
    assert "took over areas ['vinh'] with 1 alerts" in heir_log
