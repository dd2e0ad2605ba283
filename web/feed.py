"""The wall's Kafka feed: reads the aggregate topic (no consumer group, every partition, from the start)
into the wall state. No group means no join delay and every web replica sees everything."""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from ioc.kafka import make_consumer
from ioc.settings import Settings
from ioc.topics import Topics
from web.state import WallState

log = logging.getLogger("ioc.feed")


class Feed:
    def __init__(self, settings: Settings, state: WallState) -> None:
        self.settings = settings
        self.state = state
        self.topics = Topics(settings.namespace)
        self.consumer: AIOKafkaConsumer | None = None
        self.errors = 0
        self.connected = False

    async def run(self) -> None:
        """Consume until cancelled, reconnecting if the broker goes away."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected = False
                self.errors += 1
                log.warning("feed lost the broker (%s); retrying in 1 s", exc)
                await asyncio.sleep(1.0)
            finally:
                if self.consumer is not None:
                    await self.consumer.stop()
                    self.consumer = None

    async def _consume(self) -> None:
        consumer = self.consumer = make_consumer(self.settings, enable_auto_commit=False, group_id=None)
        await consumer.start()
        topic = self.topics.aggregates
        partitions = consumer.partitions_for_topic(topic) or set()
        while not partitions:
            await asyncio.sleep(0.5)
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        self.connected = True
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                for record in records:
                    self._apply(record.value)

    def _apply(self, value: bytes | None) -> None:
        try:
            self.state.apply(orjson.loads(value or b"null") or {})
        except (orjson.JSONDecodeError, TypeError, AttributeError, KeyError) as exc:
            self.errors += 1
            log.warning("unreadable aggregate record skipped: %s", exc)
