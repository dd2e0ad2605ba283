"""Frames produced to the real broker are aggregated by the real Faust worker and reach a real websocket."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import websockets

from ioc.clock import HOUR_MS
from ioc.topics import Topics
from tests.support.frames import aq_frame
from tests.support.keys import token
from tests.support.records import produce, read_topic
from tests.support.stack import Services, StartServices, unique_namespace
from tests.support.wall import http_text

pytestmark = pytest.mark.integration

VINH = ["AQ-VIN-01", "AQ-VIN-02", "AQ-VIN-03", "AQ-VIN-04"]
H0 = 490_000 * HOUR_MS  # a whole hour in 2025


class Pipeline:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.topics = Topics(self.settings.namespace)
        self.web = f"127.0.0.1:{services.port('web')}"
        self.worker_web = services.url("worker")


@pytest.fixture(scope="module")
def pipeline(start_module_services: StartServices) -> Pipeline:
    return Pipeline(start_module_services(unique_namespace("pipe"), "worker", "web", allowed_lateness_s=7200))


async def wall_items(url: str, want: dict[str, int], limit_s: float) -> dict[str, dict[str, Any]]:
    """Read websocket messages until every wanted station shows the wanted index."""
    seen: dict[str, dict[str, Any]] = {}
    async with websockets.connect(url) as ws:
        first = orjson.loads(await asyncio.wait_for(ws.recv(), limit_s))
        assert first["type"] == "snapshot"
        msg = first
        async with asyncio.timeout(limit_s):
            while True:
                for item in msg["items"]:
                    if item["kind"] == "aqi":
                        seen[item["id"]] = item
                if all(seen.get(k, {}).get("aqi") == v for k, v in want.items()):
                    return seen
                msg = orjson.loads(await ws.recv())
                assert msg["type"] in ("delta", "snapshot")


def test_frames_are_aggregated_and_pushed_to_the_websocket(pipeline: Pipeline) -> None:
    # 12 hours of constant PM2.5 per station: NowCast equals the constant, so the index is the table's:
    # 37.5 µg/m³ → 75 (Trung bình), 80 → 150 (Kém, a breakpoint), 12.5 → 25 (Tốt), 150 → 200 (Xấu).
    pm = [37.5, 80.0, 12.5, 150.0]
    frames = [(b"aq.vinh", aq_frame("aq.vinh", VINH, h, H0 + h * HOUR_MS, pm)) for h in range(12)]

    async def scenario() -> dict[str, dict[str, Any]]:
        listener = asyncio.create_task(
            wall_items(
                f"ws://{pipeline.web}/ws?areas=vinh&token={token('viewer')}",
                dict(zip(VINH, [75, 150, 25, 200], strict=True)),
                30,
            )
        )
        await asyncio.sleep(0.3)
        await produce(pipeline.settings, pipeline.topics.raw("environment"), frames)
        return await listener

    seen = asyncio.run(scenario())
    assert {k: (v["aqi"], v["band"], v["dominant"]) for k, v in seen.items() if k in VINH} == {
        "AQ-VIN-01": (75, 2, "pm25"),
        "AQ-VIN-02": (150, 3, "pm25"),
        "AQ-VIN-03": (25, 1, "pm25"),
        "AQ-VIN-04": (200, 4, "pm25"),
    }
    assert seen["AQ-VIN-01"]["area"] == "vinh" and seen["AQ-VIN-01"]["ward"] == "thanh-vinh"
    assert seen["AQ-VIN-01"]["nowcast"]["pm25"] == 37.5
    pipeline.services.assert_running()


def test_bad_input_goes_to_the_dead_letter_topic_and_valid_readings_survive(pipeline: Pipeline) -> None:
    t = H0 + 20 * HOUR_MS
    ids = ["AQ-CL-01", "AQ-CL-02"]
    first = aq_frame("aq.cua-lo", ids, 1, t - 2 * HOUR_MS, [25.0, 50.0])
    mixed = orjson.dumps(
        {
            "v": 1,
            "type": "AirQualityObserved",
            "group": "aq.cua-lo",
            "seq": 3,
            "tick": t,
            "cols": {"id": [*ids, "AQ-GHOST"], "dateObserved": [t] * 3, "pm25": [25.0, -4.0, 20.0]},
        }
    )
    records = [
        (b"aq.cua-lo", first),
        (b"aq.cua-lo", aq_frame("aq.cua-lo", ids, 2, t - HOUR_MS, [25.0, 50.0])),
        (b"aq.cua-lo", b"{this is not json"),
        (b"aq.cua-lo", orjson.dumps({"v": 9, "type": "AirQualityObserved"})),
        (b"aq.cua-lo", mixed),
        (b"aq.cua-lo", first),  # at-least-once redelivery of seq 1
        (
            b"aq.cua-lo",
            aq_frame("aq.cua-lo", ["AQ-CL-01"], 4, t - 3 * HOUR_MS, [10.0]),
        ),  # 3 h late, 2 h allowed
        (b"aq.cua-lo", aq_frame("aq.cua-lo", ids, 5, t + 60_000, [25.0, 50.0])),
    ]
    asyncio.run(produce(pipeline.settings, pipeline.topics.raw("environment"), records))
    wanted = {"malformed_json", "unsupported_version", "out_of_range", "unknown_sensor", "duplicate", "late"}

    def complete(docs: list[dict[str, Any]]) -> bool:
        return wanted <= {d["reason"] for d in docs}

    docs = asyncio.run(read_topic(pipeline.settings, pipeline.topics.deadletter, complete, 30))
    by_reason = {d["reason"]: d for d in docs}
    assert wanted <= set(by_reason), sorted(by_reason)
    assert by_reason["out_of_range"]["readings"] == {
        "id": ["AQ-CL-02"],
        "dateObserved": [t],
        "pm25": [-4.0],
    }
    assert by_reason["unknown_sensor"]["readings"]["id"] == ["AQ-GHOST"]
    assert by_reason["malformed_json"]["raw"] == "{this is not json"
    assert by_reason["duplicate"]["seq"] == 1
    assert by_reason["late"]["readings"]["dateObserved"] == [t - 3 * HOUR_MS]
    assert all(d["source"]["topic"] == pipeline.topics.raw("environment") for d in docs)

    # Three hours of valid readings (including AQ-CL-01's from the mixed frame) were aggregated, nothing
    # refused was: NowCast of a constant 25 → 50, of 50 → 100; the late 10 µg/m³ and the −4 would lower them.
    seen = asyncio.run(
        wall_items(
            f"ws://{pipeline.web}/ws?areas=cua-lo&token={token('viewer')}",
            {"AQ-CL-01": 50, "AQ-CL-02": 100},
            30,
        )
    )
    assert seen["AQ-CL-02"]["last"]["pm25"] == 50.0

    metrics = http_text(f"{pipeline.worker_web}/metrics")
    for reason in wanted:
        assert f'ioc_deadletter_total{{domain="environment",reason="{reason}"}}' in metrics
    pipeline.services.assert_running()  # bad input never crashes the worker
