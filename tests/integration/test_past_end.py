"""A worker whose group has committed offsets past a raw partition's end (a commit a lost broker's worker
left; topics recreated) reads the partition again from 0, stays alive, and shows what it holds: the commit
of offset 0 goes through the consumer's own thread (from the worker's loop it crashed the worker)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from ioc.clock import HOUR_MS
from ioc.topics import Topics
from tests.integration.test_pipeline import VINH, wall_items
from tests.support.frames import aq_frame
from tests.support.keys import token
from tests.support.records import produce
from tests.support.stack import StartServices, unique_namespace

pytestmark = pytest.mark.integration

H0 = 490_000 * HOUR_MS
STALE_COMMIT = 10_000  # far beyond the dozen records each partition holds


async def commit_past_the_end(bootstrap: list[str], group: str, topic: str, partitions: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.commit({tp: OffsetAndMetadata(STALE_COMMIT, "") for tp in tps})
        for tp in tps:
            assert await consumer.committed(tp) == STALE_COMMIT
    finally:
        await consumer.stop()


def test_a_commit_past_the_end_is_read_again_from_zero_and_the_worker_lives(
    start_services: StartServices,
) -> None:
    services = start_services(unique_namespace("past"), allowed_lateness_s=7200)  # topics, no processes yet
    s = services.settings
    topic = Topics(s.namespace).raw("environment")
    pm = [37.5, 80.0, 12.5, 150.0]
    frames = [(b"aq.vinh", aq_frame("aq.vinh", VINH, h, H0 + h * HOUR_MS, pm)) for h in range(12)]
    asyncio.run(produce(s, topic, frames))
    asyncio.run(commit_past_the_end(s.bootstrap_servers, f"{s.namespace}-processors", topic, s.partitions))

    services.start("worker", "worker")
    services.start("web", "web")
    services.wait_ready("worker", "web")
    url = f"ws://127.0.0.1:{services.port('web')}/ws?areas=vinh&token={token('viewer')}"
    seen = asyncio.run(wall_items(url, dict(zip(VINH, [75, 150, 25, 200], strict=True)), 60))
    assert {k: seen[k]["aqi"] for k in VINH} == {VINH[0]: 75, VINH[1]: 150, VINH[2]: 25, VINH[3]: 200}
    assert "position past the partition's end; reading it again from 0" in services.log("worker")
    services.assert_running()
