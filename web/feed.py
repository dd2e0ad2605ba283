"""The wall's Kafka side: reads the aggregate and alert topics (no consumer group, every partition, from the
start) into the wall state, and writes operator actions. No group means no join delay and every web replica
sees everything."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ioc.kafka import make_consumer, make_producer
from ioc.settings import Settings
from ioc.topics import Topics
from web import metrics
from web.state import WallState

log = logging.getLogger("ioc.feed")


class Feed:
    def __init__(self, settings: Settings, state: WallState) -> None:
        self.settings = settings
        self.state = state
        self.topics = Topics(settings.namespace)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.errors = 0
        self.connected = False
        self.caught_up = asyncio.Event()  # set once the topics have been read to where they ended at start

    async def run(self) -> None:
        """Consume until cancelled, reconnecting if the broker goes away."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected = False
                self._error()
                log.warning("feed lost the broker (%s); retrying in 1 s", exc)
                await asyncio.sleep(1.0)
            finally:
                if self.consumer is not None:
                    await self.consumer.stop()
                    self.consumer = None

    async def _consume(self) -> None:
        consumer = self.consumer = make_consumer(self.settings, enable_auto_commit=False, group_id=None)
        await consumer.start()
        wanted = [self.topics.aggregates, self.topics.alerts]
        if self.settings.namespace.startswith("replay-"):
            wanted.append(self.topics.replay_status)  # live namespaces made before it existed lack it
        assigned = [TopicPartition(t, p) for t in wanted for p in sorted(await self._partitions(consumer, t))]
        consumer.assign(assigned)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(assigned)
        self.connected = True
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                metrics.FEED_RECORDS.labels(tp.topic).inc(len(records))
                for record in records:
                    self._apply(record.value)
            if not self.caught_up.is_set() and await self._at_ends(consumer, ends):
                self.caught_up.set()
                log.info("feed caught up: %d entities", len(self.state.items))

    @staticmethod
    async def _at_ends(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        """At or past every end reported at start. Not waiting for an empty fetch: a live feed may never have
        one. Tansu reports an end short by at most its last batch, which the next fetch brings."""
        return all([await consumer.position(tp) >= end for tp, end in ends.items()])

    @staticmethod
    async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
        partitions = consumer.partitions_for_topic(topic) or set()
        while not partitions:  # the worker or `ioc up` creates the topics; wait for them
            await asyncio.sleep(0.5)
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic) or set()
        return partitions

    def _apply(self, value: bytes | None) -> None:
        try:
            self.state.apply(orjson.loads(value or b"null") or {})
        except (orjson.JSONDecodeError, TypeError, AttributeError, KeyError, ValueError) as exc:
            self._error()
            log.warning("unreadable record skipped: %s", exc)

    def _error(self) -> None:
        self.errors += 1
        metrics.FEED_ERRORS.inc()

    async def send_action(self, action: dict[str, Any]) -> None:
        """Write one operator action (keyed by alert id) and wait for the broker's acknowledgement."""
        await self._send(self.topics.operator_actions, action, str(action["alert"]))

    async def send_replay_command(self, command: dict[str, Any]) -> None:
        """Write a pause/resume/seek for the replay playing into this namespace (keyed by its job)."""
        await self._send(self.topics.replay_control, command, str(command["job"]))

    async def _send(self, topic: str, doc: dict[str, Any], key: str) -> None:
        if self.producer is None:
            self.producer = make_producer(self.settings, linger_ms=0)
            await self.producer.start()
        await self.producer.send_and_wait(topic, orjson.dumps(doc), key=key.encode())

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
