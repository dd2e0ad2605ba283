"""Kafka records for and from the services: produce (signed like the processors' or the wall's if asked)
and read a topic from its start."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from ioc.kafka import make_producer
from ioc.settings import Settings
from ioc.signing import Signer


async def produce(
    settings: Settings, topic: str, records: Iterable[tuple[bytes, bytes]], signer: Signer | None = None
) -> None:
    """Send records one by one, signed by `signer` if given (as the processors or the wall would)."""
    producer = make_producer(settings, linger_ms=0)
    await producer.start()
    try:
        for key, value in records:
            headers = signer.headers(topic, key, value) if signer is not None else None
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_topic(
    settings: Settings, topic: str, until: Callable[[list[dict[str, Any]]], bool], limit_s: float
) -> list[dict[str, Any]]:
    """Read a topic from the start (no group) until `until(records)` holds or the time is up."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, fetch_max_wait_ms=50)
    await consumer.start()
    docs: list[dict[str, Any]] = []
    try:
        parts = consumer.partitions_for_topic(topic) or {0}
        consumer.assign([TopicPartition(topic, p) for p in parts])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and not until(docs):
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                docs += [orjson.loads(r.value) for r in records]
    finally:
        await consumer.stop()
    return docs
