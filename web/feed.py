"""The wall's Kafka side: reads the aggregate, alert and worker topics (no consumer group, every partition,
from the start) into the wall state, and writes operator actions. No group means no join delay and every
web replica sees everything.

Only what the processors signed is shown; anything else is dead-lettered and counted. A broker that comes
back empty (another cluster id, or positions past the partitions' ends) resets the wall to what the new
broker holds and tells the operators what was lost; the workers' heartbeats say whether the data still
moves."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from ioc.contract import Reason
from ioc.contract.deadletter import Source, refusal
from ioc.contract.documents import AGGREGATE_KINDS, Kind, is_replay
from ioc.contract.freshness import no_data_after_ms
from ioc.kafka import BrokerLost, BrokerWatch, make_client, make_consumer, make_producer
from ioc.settings import Settings
from ioc.signing import Keys, Signer
from ioc.topics import Topics
from web import metrics
from web.liveness import Liveness
from web.mode import pace
from web.state import HEALTH_KEY, WallState

log = logging.getLogger("ioc.feed")
WATCH_EVERY_S = 1.0
HEARTBEAT_KIND = Kind.WORKER  # the processors' heartbeat on `<ns>.workers`


def _now_ms() -> int:
    return int(time.time() * 1000)


class Feed:
    def __init__(
        self, settings: Settings, state: WallState, keys: Keys, on_reset: Callable[[], None] = lambda: None
    ) -> None:
        self.settings = settings
        self.state = state
        self.keys = keys
        self.topics = Topics(settings.namespace)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.errors = 0
        self.refused = 0
        self.connected = False
        self.caught_up = asyncio.Event()  # set once the topics have been read to where they ended at start
        self.liveness = Liveness(int(settings.feed_stale_s * 1000), _now_ms())
        self.watch: BrokerWatch | None = None
        self.on_reset = on_reset  # the hub re-snapshots every client
        # Per topic: who signs it, and which document kinds belong on it (a replay, holding the control key,
        # can announce its status but never an alert).
        self._accepts: dict[str, tuple[Signer, frozenset[str]]] = {
            self.topics.aggregates: (keys.document, frozenset(AGGREGATE_KINDS)),
            self.topics.alerts: (keys.document, frozenset({Kind.ALERT})),
            self.topics.workers: (keys.document, frozenset({HEARTBEAT_KIND})),
            self.topics.replay_status: (keys.control, frozenset({Kind.REPLAY})),
            self.topics.simulator: (keys.control, frozenset({Kind.SIMULATOR})),
        }

    async def run(self) -> None:
        """Consume until cancelled, reconnecting if the broker goes away, resetting if it lost its data."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except BrokerLost as lost:
                self._reset(str(lost))
            except Exception as exc:
                self._down()
                self._error()
                log.warning("feed lost the broker (%s); retrying in 1 s", exc)
                await asyncio.sleep(1.0)
            finally:
                if self.consumer is not None:
                    await self.consumer.stop()
                    self.consumer = None

    async def _consume(self) -> None:
        if self.watch is None:
            self.watch = BrokerWatch(await make_client(self.settings))
        await self._check_broker()
        consumer = self.consumer = make_consumer(self.settings, enable_auto_commit=False, group_id=None)
        await consumer.start()
        wanted = [self.topics.aggregates, self.topics.alerts, self.topics.workers, self.topics.simulator]
        if is_replay(self.settings.namespace):
            wanted.append(self.topics.replay_status)  # live namespaces made before it existed lack it
        assigned = [TopicPartition(t, p) for t in wanted for p in sorted(await self._partitions(consumer, t))]
        consumer.assign(assigned)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(assigned)
        self.connected = True
        self.liveness.feed_down_since = None
        self.liveness.cluster = self.watch.known
        checked = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                metrics.FEED_RECORDS.labels(tp.topic).inc(len(records))
                for record in records:
                    await self._take(record)
            if not self.caught_up.is_set() and await self._at_ends(consumer, ends):
                self.caught_up.set()
                self.state.caught_up = True
                log.info("feed caught up: %d entities", len(self.state.items))
            if time.monotonic() - checked >= WATCH_EVERY_S:
                checked = time.monotonic()
                await self._check_broker()
                await self._check_ends(consumer, assigned)

    async def _check_broker(self) -> None:
        assert self.watch is not None
        old = self.watch.known
        changed = await self.watch.check()
        if changed is not None:
            self.watch.known = changed
            raise BrokerLost(f"cluster {old} is now {changed}")

    @staticmethod
    async def _check_ends(consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        """A position past a partition's end (its fetch high watermark): the topic was recreated empty."""
        for tp in assigned:
            high = consumer.highwater(tp)
            if high is not None and await consumer.position(tp) > high:
                raise BrokerLost(f"{tp.topic}:{tp.partition} now ends at {high}, before what was read")

    def _reset(self, why: str) -> None:
        """The broker lost everything: show only what the new one holds, and say what was lost."""
        last_sim = self.state.sim_time_ms
        log.error("the broker lost its data (%s); the wall starts again from what it holds now", why)
        self.state.reset()
        self.liveness.broker_lost(_now_ms(), why, last_sim, self.watch.known if self.watch else None)
        self.caught_up.clear()
        self.publish_health()
        self.on_reset()

    def _down(self) -> None:
        self.connected = False
        if self.liveness.feed_down_since is None:
            self.liveness.feed_down_since = _now_ms()

    async def _take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        signer, kinds = self._accepts[record.topic]
        if not signer.verify(record.topic, record.key, record.value, record.headers):
            await self._refuse(record, Reason.UNAUTHENTICATED, "no valid signature")
            return
        try:
            doc = orjson.loads(record.value or b"null")
            if not isinstance(doc, dict) or doc.get("kind") not in kinds:
                raise ValueError(f"not a document of {sorted(str(k) for k in kinds)}")
            if doc["kind"] == HEARTBEAT_KIND:
                self.liveness.heartbeat(doc, _now_ms())
                return
            self.state.apply(doc, record.timestamp)
            if doc["kind"] in AGGREGATE_KINDS:
                self.liveness.data(_now_ms())
        except Exception as exc:  # signed, so a bug rather than an attack: refused, the feed goes on
            self._error()
            await self._refuse(record, Reason.BAD_DOCUMENT, f"{type(exc).__name__}: {exc}")

    async def _refuse(self, record: ConsumerRecord[bytes, bytes], reason: Reason, detail: str) -> None:
        """Count and dead-letter a record the wall will not show."""
        self.refused += 1
        metrics.FEED_REFUSED.labels(record.topic, str(reason)).inc()
        if self.refused <= 10 or self.refused % 1000 == 0:
            log.warning(
                "refused %s:%d@%d: %s (%s)", record.topic, record.partition, record.offset, reason, detail
            )
        source = Source(record.topic, record.partition, record.offset, record.key)
        doc = refusal(reason, detail, source, record.value).document(_now_ms())
        doc.update(domain="wall", by="wall")
        try:
            await self._send(self.topics.deadletter, doc, "wall", self.keys.document)
        except Exception:  # the count and the log stay; the entry is lost with the broker
            log.exception("could not write a dead letter")

    def publish_health(self) -> dict[str, Any]:
        """The verdict now; a change reaches every page as a `health` item."""
        verdict = self.liveness.verdict(_now_ms(), self._quiet_ms())
        held = self.state.items.get(HEALTH_KEY)
        comparable = {k: v for k, v in verdict.items() if k != "workers"}
        if held is None or {k: held.get(k) for k in comparable} != comparable:
            self.state.set_health(verdict)
        return verdict

    def _quiet_ms(self) -> int | None:
        """Real ms without a new indicator after which the data has stopped, at the IOC clock's speed; None
        unless a time source (the simulator, a playing replay) has said it sends: devices alone, or a few
        records a test wrote, promise no pace."""
        speed, running = pace(self.settings, self.state)
        source = self.state.replay if is_replay(self.settings.namespace) else self.state.simulator
        if source is None or not running:
            return None
        return no_data_after_ms(speed, self.liveness.stale_ms)

    async def watch_health(self) -> None:
        """Re-judge every second: staleness needs no new record to become true."""
        while True:
            await asyncio.sleep(1.0)
            self.publish_health()

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

    def _error(self) -> None:
        self.errors += 1
        metrics.FEED_ERRORS.inc()

    async def send_action(self, action: dict[str, Any]) -> None:
        """Write one operator action (keyed by alert id), signed; wait for the broker's acknowledgement."""
        await self._send(self.topics.operator_actions, action, str(action["alert"]), self.keys.document)

    async def send_replay_command(self, command: dict[str, Any]) -> None:
        """Write a pause/resume/seek for the replay playing into this namespace (keyed by its job)."""
        await self._send(self.topics.replay_control, command, str(command["job"]), self.keys.control)

    async def _send(self, topic: str, doc: dict[str, Any], key: str, signer: Signer) -> None:
        if self.producer is None:
            self.producer = make_producer(self.settings, linger_ms=0)
            await self.producer.start()
        value, key_bytes = orjson.dumps(doc), key.encode()
        headers = signer.headers(topic, key_bytes, value)
        await self.producer.send_and_wait(topic, value, key=key_bytes, headers=headers)

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
        if self.watch is not None:
            await self.watch.client.close()
