"""What the processors publish, signed with the document key: indicator and KPI documents, alerts, dead
letters (one record per refusal, counted per domain and reason), checkpoints, re-routed frames; and the
check that a document read back was signed by the processors or the wall."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import faust
import orjson

from ioc.contract.deadletter import DeadLetter
from ioc.signing import Keys
from ioc.topics import Topics
from processors import metrics

log = logging.getLogger("ioc.outlet")


class Outlet:
    """The Faust app's output topics with the processors' signature."""

    def __init__(self, app: faust.App, topics: Topics, keys: Keys) -> None:
        self.app, self.topics, self.keys = app, topics, keys
        self.aggregates = self._topic(topics.aggregates)
        self.deadletter = self._topic(topics.deadletter)
        self.alerts = self._topic(topics.alerts)
        self.actions = self._topic(topics.operator_actions)
        self.area_actions = self._topic(topics.operator_actions_by_area)
        self.workers = self._topic(topics.workers)

    def _topic(self, name: str) -> faust.TopicT:
        return self.app.topic(name, key_serializer="raw", value_serializer="raw")

    def raw(self, domain: str) -> faust.TopicT:
        return self._topic(self.topics.raw(domain))

    async def signed(
        self, topic: faust.TopicT, key: bytes, value: bytes, partition: int | None = None
    ) -> Any:
        """Send a record signed with the document key: the wall and the area stage refuse unsigned ones."""
        headers = self.keys.document.headers(topic.get_topic_name(), key, value)
        return await topic.send(key=key, value=value, partition=partition, headers=headers)

    def verified(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> bool:
        return self.keys.document.verify(topic, key, value, headers)

    async def documents(self, docs: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Indicator and KPI documents, keyed by area."""
        for key, doc in docs:
            await self.signed(self.aggregates, key.encode(), orjson.dumps(doc))
            metrics.AGGREGATES.labels(doc["kind"]).inc()

    async def alert_documents(self, docs: Sequence[dict[str, Any]]) -> None:
        for doc in docs:
            await self.signed(self.alerts, doc["id"].encode(), orjson.dumps(doc))
            metrics.ALERTS.labels(doc["rule"], doc["status"]).inc()

    async def dead_letters(self, letters: Sequence[DeadLetter], domain: str) -> None:
        now = int(time.time() * 1000)
        for letter in letters:
            doc = letter.document(now)
            doc.update(domain=domain, by="worker")
            key = (letter.frame.group if letter.frame is not None else "unparsed").encode()
            await self.signed(self.deadletter, key, orjson.dumps(doc))
            metrics.DEADLETTERS.labels(domain, str(letter.reason)).inc()
            readings = len(letter.rows) or (letter.frame.n if letter.frame is not None else 1)
            metrics.DEADLETTER_READINGS.labels(domain, str(letter.reason)).inc(readings)
            log.debug("dead letter %s: %s (%s)", letter.reason, letter.detail, doc["source"])

    async def checkpoint(self, name: str, key: bytes, parts: list[bytes], partition: int) -> None:
        """The parts of one partition's checkpoint in order, each its own batch (Tansu's reported end then
        finds the last one), each signed: a restore believes only the processors."""
        for part in parts:
            headers = self.keys.document.headers(name, key, part)
            await self.app.producer.send_and_wait(name, key, part, partition, None, headers)
