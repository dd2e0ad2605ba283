"""Kafka plumbing shared by every process: topic creation, tuned clients and batched keyed produce."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.structs import ConsumerRecord

from ioc.settings import Settings
from ioc.topics import Topics

COMPACT = {"cleanup.policy": "compact"}
BATCH_BYTES = 256 * 1024  # measured sweet spot for create_batch/send_batch on this broker


def security(settings: Settings) -> dict[str, Any]:
    """SASL/SCRAM options for a secured cluster (IOC_KAFKA_USERNAME set), else none. The embedded Tansu
    cannot hold users (see README, "Trust"): there the documents' signatures carry the trust."""
    if not settings.kafka_username:
        return {}
    options: dict[str, Any] = {
        "security_protocol": "SASL_SSL" if settings.kafka_tls else "SASL_PLAINTEXT",
        "sasl_mechanism": settings.kafka_mechanism,
        "sasl_plain_username": settings.kafka_username,
        "sasl_plain_password": settings.kafka_password,
    }
    if settings.kafka_tls:
        options["ssl_context"] = ssl.create_default_context()
    return options


async def ensure_topics(settings: Settings, topics: dict[str, int]) -> None:
    """Create the topics that do not exist yet, with their partition counts."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **security(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, n, 1, topic_configs=COMPACT if Topics.is_compacted(name) else {})
            for name, n in topics.items()
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "linger_ms": settings.linger_ms,
        "max_batch_size": BATCH_BYTES,
        "max_request_size": 4 * BATCH_BYTES,
        "acks": 1,
        **security(settings),
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


PARTITION_FETCH_BYTES = 4 * 1024 * 1024  # one partition's share of a fetch: hundreds of frames a round trip


def make_consumer(settings: Settings, *topics: str, **overrides: Any) -> AIOKafkaConsumer:
    """A consumer tuned for live paths: short fetch wait (Tansu answers a waiting fetch only at its end)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": max(100, settings.session_timeout_ms // 4),
        "max_partition_fetch_bytes": PARTITION_FETCH_BYTES,
        "auto_offset_reset": "earliest",
        **security(settings),
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


async def read_tail(
    settings: Settings, topic: str, n: int, partitions: Iterable[int] | None = None
) -> dict[int, list[ConsumerRecord[bytes, bytes]]]:
    """At least the last n records of each partition (all partitions if None), without a consumer group.

    Tansu reports a partition's end as the first offset of its last batch + 1, so this starts n before the
    reported end and reads through it (see `_read_to_end`): the true last records are never missed.
    """
    consumer = make_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    try:
        known = consumer.partitions_for_topic(topic) or await _refresh(consumer, topic)
        tps = [TopicPartition(topic, p) for p in ((known or set()) if partitions is None else partitions)]
        if not tps or not known:
            return {}
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp, end in ends.items():
            consumer.seek(tp, max(0, end - n))
        tails: dict[int, list[ConsumerRecord[bytes, bytes]]] = {}
        async for tp, records in _read_to_end(consumer, ends, settings):
            tails.setdefault(tp.partition, []).extend(records)
        return tails
    finally:
        await consumer.stop()


async def read_all(
    settings: Settings, topic: str, partitions: Iterable[int] | None = None
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a (small) topic, all partitions (or some) from the start, without a consumer group."""
    consumer = make_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or await _refresh(consumer, topic)
        if partitions is not None:
            parts = (parts or set()) & set(partitions)
        if not parts:
            return []
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning()
        out: list[ConsumerRecord[bytes, bytes]] = []
        async for _, records in _read_to_end(consumer, await consumer.end_offsets(tps), settings):
            out += records
        return out
    finally:
        await consumer.stop()


async def _read_to_end(
    consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int], settings: Settings, limit_s: float = 60.0
) -> AsyncIterator[tuple[TopicPartition, list[ConsumerRecord[bytes, bytes]]]]:
    """Batches until every partition is at or past its reported end and a fetch then comes back empty.

    An empty fetch alone is no proof of the end: the first fetch of a new consumer can come back empty
    before the broker has answered (seen under load: a worker taking over partitions found no checkpoints
    and skipped what they covered). The reported end may be short (Tansu), hence the empty fetch after it.
    """
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        batch = await consumer.getmany(timeout_ms=max(200, 4 * settings.fetch_max_wait_ms))
        for tp, records in batch.items():
            yield tp, records
        if not batch and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"could not read {sorted(map(str, ends))} to their ends in {limit_s:.0f} s")


async def _refresh(consumer: AIOKafkaConsumer, topic: str) -> set[int] | None:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic)


async def make_client(settings: Settings) -> AIOKafkaClient:
    """A bare protocol client (metadata requests), connected."""
    client = AIOKafkaClient(bootstrap_servers=settings.bootstrap_servers, **security(settings))
    await client.bootstrap()
    return client


async def cluster_id(client: AIOKafkaClient) -> str | None:
    """The cluster id the broker reports (a metadata request for no topic: cheap, creates nothing)."""
    node = client.get_random_node()
    reply = await client.send(node, MetadataRequest([], False))
    return getattr(reply, "cluster_id", None)


class BrokerLost(RuntimeError):
    """The broker now answering is not the one this process started on: a restarted memory broker (every
    topic, offset and checkpoint gone) or another cluster."""


class BrokerWatch:
    """Remembers the cluster id a process started on and notices when another answers. The embedded
    broker gets a fresh id at every start, so its restart (memory lost) shows as a new id."""

    def __init__(self, client: AIOKafkaClient) -> None:
        self.client = client
        self.known: str | None = None

    async def check(self) -> str | None:
        """The new cluster id if the broker changed since the first check, else None."""
        current = await cluster_id(self.client)
        if self.known is None:
            self.known = current
            return None
        if current is not None and current != self.known:
            return current
        return None


@functools.lru_cache(maxsize=4096)
def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2), as Java clients, librdkafka 'murmur2_random' and Faust use.
    (aiokafka's murmur2 is pure Python; a process meets the same few hundred group keys again and again.)"""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def settle(pending: list[asyncio.Future[Any]], limit: int) -> list[asyncio.Future[Any]]:
    """Bound the batches awaiting acks to `limit`: past it, wait for the oldest until half are left, and
    return those. Waiting for all of them instead would leave the broker idle while the next batches are
    made, and this process idle while the broker catches up."""
    pending = [f for f in pending if not f.done()]
    if len(pending) <= limit:
        return pending
    keep = limit // 2
    await asyncio.gather(*pending[:-keep])
    return [f for f in pending[-keep:] if not f.done()]


class BatchProducer:
    """Sends many keyed records as one batch per partition: several times the rate of a send() per record."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._partitions: dict[str, int] = {}
        self._route: dict[tuple[str, bytes], int] = {}
        self.records = 0
        self.bytes = 0

    async def _partition_count(self, topic: str) -> int:
        if topic not in self._partitions:
            self._partitions[topic] = len(await self.producer.partitions_for(topic))
        return self._partitions[topic]

    async def send_many(
        self,
        topic: str,
        records: Iterable[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]] | None = None,
        timestamp_ms: int | None = None,
    ) -> list[asyncio.Future[Any]]:
        """Queue the records; return futures that resolve when the broker has acknowledged each batch."""
        n = await self._partition_count(topic)
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for key, value in records:
            p = self._route.get((topic, key))
            if p is None:
                p = self._route[(topic, key)] = partition_for(key, n)
            by_partition.setdefault(p, []).append((key, value))
        futures = []
        for partition, recs in by_partition.items():
            futures += await self._send_partition(topic, partition, recs, headers, timestamp_ms)
        return futures

    async def send_partition(
        self,
        topic: str,
        partition: int,
        records: list[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]],
    ) -> list[asyncio.Future[Any]]:
        """Queue records for one given partition (a replay keeps each record's recorded partition)."""
        return await self._send_partition(topic, partition, records, headers, None)

    async def _send_partition(
        self,
        topic: str,
        partition: int,
        recs: list[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]] | None,
        timestamp_ms: int | None,
    ) -> list[asyncio.Future[Any]]:
        futures = []
        batch = self.producer.create_batch()
        hdrs = list(headers or [])
        for key, value in recs:
            if batch.append(key=key, value=value, timestamp=timestamp_ms, headers=hdrs) is None:
                futures.append(await self._flush(batch, topic, partition))
                batch = self.producer.create_batch()
                if batch.append(key=key, value=value, timestamp=timestamp_ms, headers=hdrs) is None:
                    raise ValueError(f"a record of {len(value)} bytes exceeds the batch size {BATCH_BYTES}")
            self.records += 1
            self.bytes += len(value)
        if batch.record_count():
            futures.append(await self._flush(batch, topic, partition))
        return futures

    async def _flush(self, batch: Any, topic: str, partition: int) -> asyncio.Future[Any]:
        batch.close()
        return await self.producer.send_batch(batch, topic, partition=partition)
