"""`ioc historian`: the operations record's writer. Reads the alerts, the KPI documents on the aggregates
topic, the operator actions (the audit) and the dead-letter topic from where its last transaction left off
(positions kept in the database, not in a consumer group), and writes each batch's rows and positions in one
transaction, so a crash between the two neither loses nor doubles a row. A record it cannot use (unsigned,
not JSON, not the document it should be) goes to the dead-letter topic with its reason; the historian never
stops on one."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from ioc.city import City, load_city
from ioc.contract import Reason
from ioc.contract.deadletter import DeadLetter, Source, refusal
from ioc.contract.documents import Kind
from ioc.kafka import BrokerWatch, ensure_topics, make_client, make_consumer, make_producer
from ioc.settings import Settings
from ioc.signing import Keys, load_keys
from ioc.store import HISTORIAN_READY
from ioc.store.database import database_url, migrate, open_engine
from ioc.store.reader import open_alert_documents
from ioc.store.rows import Rows, Unreadable
from ioc.store.writer import Position, prune, read_positions, write
from ioc.topics import Topics
from processors import areas

log = logging.getLogger("ioc.historian")
BATCH_RECORDS = 5000
KPI_MARK = b'"kind":"kpi"'  # as orjson writes a KPI document (no spaces)
DAY_MS = 86_400_000


class BrokerLost(RuntimeError):
    """Another cluster answers: the stored positions mean nothing there (the command exits 75, and the
    supervisor starts a historian that reads the new broker from its start)."""


@dataclass
class Counts:
    records: int = 0
    rows: int = 0
    refused: dict[str, int] = field(default_factory=dict)


class Historian:
    def __init__(self, settings: Settings, city: City | None = None, keys: Keys | None = None) -> None:
        self.settings, self.city = settings, city or load_city()
        self.keys = keys or load_keys(settings)
        self.topics = Topics(settings.namespace)
        t = self.topics
        self.names = (t.alerts, t.aggregates, t.deadletter, t.operator_actions)
        self.engine = open_engine(database_url(settings))
        self.counts = Counts()
        self.pruned_at = 0
        self.cluster = ""  # the broker's cluster id: positions and dead-letter offsets belong to it

    def take(self, rows: Rows, record: ConsumerRecord[bytes, bytes]) -> DeadLetter | None:
        """Fold one record into `rows`; a dead letter when it cannot be used."""
        if record.topic == self.topics.aggregates and KPI_MARK not in (record.value or b""):
            # Most aggregates are indicator documents the record does not keep: skipped before the HMAC and
            # the JSON parse (the area stage already judges, and dead-letters, every aggregate).
            return None
        source = Source(record.topic, record.partition, record.offset, record.key)
        if not self.keys.document.verify(record.topic, record.key, record.value, record.headers):
            return refusal(Reason.UNAUTHENTICATED, "no valid signature of the processors or the wall", source,
                           record.value)  # fmt: skip
        try:
            doc = orjson.loads(record.value or b"")
            if not isinstance(doc, dict):
                raise Unreadable(f"a JSON object was expected, got {type(doc).__name__}")
            if record.topic == self.topics.alerts:
                entity = str(doc.get("entity", ""))
                rows.alert(doc, record.timestamp, areas.of_alert(self.city, str(doc.get("id", ""))),
                           self.city.domain_of(entity))  # fmt: skip
            elif record.topic == self.topics.aggregates:
                if doc.get("kind") == Kind.KPI:
                    rows.kpi(doc)
            elif record.topic == self.topics.operator_actions:
                rows.operator_action(doc)
            else:
                rows.dead_letter(doc, self.cluster, record.partition, record.offset)
        except ValueError as exc:  # not JSON, or not the document it should be (Unreadable)
            return refusal(Reason.BAD_DOCUMENT, str(exc)[:500], source, record.value)
        except (
            Exception
        ) as exc:  # a bug meeting a signed document: refused with its reason, the reader goes on
            log.exception("historian failed on %s:%d@%d", record.topic, record.partition, record.offset)
            return refusal(
                Reason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}"[:500], source, record.value
            )
        return None

    async def run(self, stop: asyncio.Event) -> Counts:
        """Until `stop`: read, write, prune once a day; return what was done."""
        await migrate(self.engine)
        await ensure_topics(self.settings, self.topics.layout(self.settings.partitions))
        broker = BrokerWatch(await make_client(self.settings))
        await broker.check()
        self.cluster = broker.known or "unknown"
        consumer = make_consumer(self.settings, enable_auto_commit=False, group_id=None)
        producer = make_producer(self.settings)
        await consumer.start()
        await producer.start()
        try:
            positions = await read_positions(self.engine, self.cluster, self.names)
            if not positions:  # a broker that never saw this record (or lost it): give it the open alerts
                await self._republish(producer)
            self._ready()
            await self._assign(consumer, positions)
            checked = time.monotonic()
            while not stop.is_set():
                if time.monotonic() - checked >= 1.0:
                    checked = time.monotonic()
                    if (changed := await broker.check()) is not None:
                        raise BrokerLost(f"cluster {self.cluster} is now {changed}: the broker lost its data")
                batch = await consumer.getmany(timeout_ms=500, max_records=BATCH_RECORDS)
                letters = await self._write(batch)
                for letter in letters:
                    await self._dead_letter(producer, letter)
                await self._prune_daily()
        finally:
            await consumer.stop()
            await producer.stop()
            await broker.client.close()
            await self.engine.dispose()
        return self.counts

    async def _republish(self, producer: Any) -> None:
        """The open alerts with their whole history, signed, onto the alerts topic: a worker taking the areas
        over continues them (an acknowledged alert stays acknowledged, the same condition raises nothing new)
        and the wall shows them again."""
        docs = await open_alert_documents(self.engine)
        for doc in docs:
            await self._send(producer, self.topics.alerts, doc["id"].encode(), orjson.dumps(doc))
        log.info("restored %d open alerts onto %s (cluster %s)", len(docs), self.topics.alerts, self.cluster)

    def _ready(self) -> None:
        """Tell `ioc up` (which starts the worker only then) that the open alerts are on this broker."""
        (self.settings.data_dir / HISTORIAN_READY).write_text(self.cluster)

    async def _assign(self, consumer: AIOKafkaConsumer, positions: dict[Position, int]) -> None:
        parts = [
            TopicPartition(t, p) for t in self.names for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(parts)
        for tp in parts:
            at = positions.get((tp.topic, tp.partition))
            if at is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, at)
        log.info("historian reading %d partitions, %d from stored positions", len(parts), len(positions))

    async def _write(
        self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> list[DeadLetter]:
        rows, read_to, letters = Rows(), dict[Position, int](), []
        for tp, records in batch.items():
            for record in records:
                letter = self.take(rows, record)
                if letter is not None:
                    letters.append(letter)
                    reason = str(letter.reason)
                    self.counts.refused[reason] = self.counts.refused.get(reason, 0) + 1
                read_to[(tp.topic, tp.partition)] = record.offset + 1
            self.counts.records += len(records)
        if read_to:
            await write(self.engine, rows, self.cluster, read_to)
            self.counts.rows += len(rows)
        return letters

    async def _dead_letter(self, producer: Any, letter: DeadLetter) -> None:
        doc = letter.document(int(time.time() * 1000))
        doc.update(domain="operations-record", by="historian")
        await self._send(producer, self.topics.deadletter, b"historian", orjson.dumps(doc))
        log.warning("record refused: %s %s", letter.reason, letter.detail)

    async def _send(self, producer: Any, topic: str, key: bytes, value: bytes) -> None:
        """Signed as the processors sign: the wall and the worker believe nothing else."""
        headers = self.keys.document.headers(topic, key, value)
        await producer.send_and_wait(topic, value, key=key, headers=headers)

    async def _prune_daily(self) -> None:
        now = int(time.time() * 1000)
        if now - self.pruned_at < DAY_MS:
            return
        self.pruned_at = now
        gone = await prune(self.engine, now - self.settings.history_days * DAY_MS)
        if any(gone.values()):
            log.info("retention (%d days): deleted %s", self.settings.history_days, gone)
