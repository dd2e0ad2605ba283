"""The raw stage: the consumer hands it the raw topics' records of each fetch in bulk, which it takes in
through the intake into each domain's state; checkpoints of each raw partition (restored before a
partition's first frame, written on a timer and when the partition is revoked); frames on another partition
than their group's are sent on to it.

Nothing from outside is trusted: every record is processed or dead-lettered with a reason (an exception in
processing included, so no input can stop the intake), and readings from beyond the trusted clock are
refused before they move any state."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

import faust

from ioc.contract import Reason
from ioc.contract.deadletter import DeadLetter, Source, refusal
from ioc.kafka import read_all, read_tail
from ioc.topics import DOMAINS
from ioc.trusted_time import ClockWatch
from processors import checkpoint, metrics
from processors.checkpoint import TP, GroupKey
from processors.outlet import Outlet
from processors.pipeline import Pipeline

log = logging.getLogger("ioc.raw")
CHECKPOINT_TAIL = 2 * checkpoint.MAX_PARTS  # records read back to find the last complete signed checkpoint
SLICE_S = 0.005  # longest run of records taken in without giving the event loop a turn


def _always() -> bool:
    return True


class RawStage:
    """The raw stage's agents, timer and rebalance handler, over one Pipeline."""

    def __init__(
        self,
        app: faust.App,
        pipeline: Pipeline,
        outlet: Outlet,
        clock_watch: ClockWatch,
        confirm_broker: Callable[[], Awaitable[None]],
    ) -> None:
        self.app, self.pipeline, self.outlet, self.clock_watch = app, pipeline, outlet, clock_watch
        self.confirm_broker = confirm_broker  # exits when another broker answers: never write old state
        self.rerouted_groups: set[str] = set()
        self._checkpointing = asyncio.Lock()
        # Set while no fetch is being taken in. Faust waits for its agents before a rebalance's revocation,
        # not for a batch its consumer handed over here: revoked() waits for this instead.
        self._idle = asyncio.Event()
        self._idle.set()

    def register(self) -> None:
        for domain in DOMAINS:
            self.app.agent(self.outlet.raw(domain), name=f"ioc.{domain}")(self._agent(domain))
        interval = self.pipeline.settings.checkpoint_interval_s
        self.app.timer(interval=interval, name="ioc.checkpoints")(self.checkpoint_partitions)
        emit_interval = self.pipeline.settings.emit_interval_s
        self.app.timer(interval=emit_interval, name="ioc.emit-indicators")(self.emit)

    def _agent(self, domain: str) -> Callable[[faust.StreamT[bytes]], Any]:
        # The agent subscribes the worker to the topic; its records come to take_records straight from the
        # consumer's fetch (processors.transport), so one reaches this loop only on a transport without it.
        counters = self._counters(domain)

        async def consume(stream: faust.StreamT[bytes]) -> None:
            async for event in stream.events():
                msg = event.message
                source = Source(msg.topic, msg.partition, msg.offset, msg.key)
                await self._take(domain, counters, source, event.value, msg.headers, _always)

        consume.__name__ = f"{domain}_intake"
        consume.__qualname__ = consume.__name__
        return consume

    @staticmethod
    def _counters(domain: str) -> tuple[Any, Any, Any]:
        return metrics.FRAMES.labels(domain), metrics.SKIPPED.labels(domain), metrics.READINGS.labels(domain)

    @property
    def topics(self) -> frozenset[str]:
        """The raw topics, whose records take_records takes."""
        return self.pipeline.ledger.topics

    async def take_records(
        self, records: Mapping[Any, Sequence[Any]], live: Callable[[Any], bool]
    ) -> dict[Any, int]:
        """A fetch's records of raw partitions (aiokafka records by partition), in bulk: Faust's per-record
        path (a message object, two tasks and a queue hop each) cost about as much as parsing a frame.

        `live(tp)` says whether a partition is still this worker's in this generation; it is asked before
        every record, and the rest of a partition it refuses is left (the consumer seeks back to the
        committed offsets, and the ledger skips what was taken). A revocation waits until this returns, so
        it never runs while a record is half taken. Returns the partitions whose records could not be taken
        (a broker error reading a checkpoint or sending dead letters), each with the offset to read again."""
        self._idle.clear()
        try:
            restored = self.pipeline.restored
            assigned = [*records, *self.app.consumer.assignment()]
            topics = self.topics
            fresh = sorted({tp.topic for tp in assigned if tp.topic in topics and tp[:2] not in restored})
            # The checkpoints of every raw topic this worker was given, read at once, whether or not this
            # fetch brought its records: one at a time, each would hold a fetch up (a worker's first fetches
            # bring some topics before others). One that fails is tried again at its partition's first
            # record, whose failure is handled there.
            for failed in await asyncio.gather(*map(self._restore, fresh), return_exceptions=True):
                if isinstance(failed, Exception):
                    log.warning("reading checkpoints failed (%s); tried again per partition", failed)
            slice_end, again = time.perf_counter() + SLICE_S, {}
            for tp, batch in records.items():
                retry, slice_end = await self._take_partition(tp, batch, partial(live, tp), slice_end)
                if retry is not None:
                    again[tp] = retry
            return again
        finally:
            self._idle.set()

    async def _take_partition(
        self, tp: Any, batch: Sequence[Any], live: Callable[[], bool], slice_end: float
    ) -> tuple[int | None, float]:
        """One partition's records of a fetch; (the offset to read again from if taking failed, or None;
        when the event loop is next due a turn)."""
        domain, offset = self.pipeline.domain_of(tp.topic), None
        counters = self._counters(domain)
        try:
            for record in batch:
                if time.perf_counter() > slice_end:
                    await asyncio.sleep(0)  # the timers (emit, heartbeat) and a rebalance get their turn
                    slice_end = time.perf_counter() + SLICE_S
                if not live():
                    break
                offset = record.offset
                source = Source(tp.topic, tp.partition, offset, record.key)
                await self._take(domain, counters, source, record.value, record.headers, live)
        except Exception:  # not the input's fault (processing errors are dead-lettered): read it again
            retry = max(offset or 0, self.pipeline.ledger.processed.get((tp.topic, tp.partition), 0))
            log.exception("taking %s:%d failed at offset %s; reading again from %d", *tp, offset, retry)
            metrics.READ_AGAIN.labels(domain).inc()
            return retry, slice_end
        return None, slice_end

    async def _take(
        self,
        domain: str,
        counters: tuple[Any, Any, Any],
        source: Source,
        value: bytes | None,
        headers: Any,
        live: Callable[[], bool],
    ) -> None:
        """One record of a raw partition: skipped if its checkpoint has it, else taken in and recorded."""
        p, tp, offset = self.pipeline, (source.topic, source.partition), source.offset
        frames_read, skipped, accepted = counters
        if tp not in p.restored:
            await self._restore(tp[0])
            if not live():
                return
        if offset < p.ledger.processed.get(tp, 0):
            skipped.inc()  # in the restored checkpoint already (re-read after a restart or failover)
            return
        frames_read.inc()
        taken = await self._take_in(domain, accepted, value, headers, source, live)
        if taken is None:
            return  # revoked while the clock was read: the next owner takes this record
        group, letters = taken
        # _take_in does not await after admitting the frame: intake, state and ledger move together, so a
        # checkpoint never sees one without the others.
        p.ledger.record(tp, offset, group)
        if letters:
            await self.outlet.dead_letters(letters, domain)

    async def _take_in(
        self,
        domain: str,
        accepted: Any,
        raw: bytes | None,
        headers: Any,
        source: Source,
        live: Callable[[], bool],
    ) -> tuple[GroupKey | None, list[DeadLetter]] | None:
        """Intake of one record; (the group it fed, if any, and its dead letters), or None if the partition
        was revoked while it waited (nothing moved). Never raises."""
        p, key = self.pipeline, None
        try:
            parsed, letters, home = p.parse(raw or b"", source)
            if parsed is None or parsed.newest is None:
                return None, letters
            if home is not None:
                await self._reroute(domain, raw or b"", headers, parsed.valid.group, source, home)
                return None, []  # the owner of the group's partition judges it (and reports its refusals)
            if parsed.newest > p.trusted.limit_ms() and self.clock_watch.may_sync():
                await self.clock_watch.sync()  # a declaration sent before this frame may not be read yet
                if not live():
                    return None
            frame, more = p.admit(domain, parsed, source)
            letters += more
            if frame is not None:
                key = (frame.type, frame.group)
                accepted.inc(frame.n)
            return key, letters
        except Exception as exc:  # a bug meeting an input: refuse the record, keep the agent
            log.exception("processing %s:%d@%d failed", source.topic, source.partition, source.offset)
            return key, [refusal(Reason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}", source, raw)]

    async def _reroute(
        self, domain: str, raw: bytes, headers: Any, group: str, source: Source, home: int
    ) -> None:
        """A frame on another partition than its group's (a device whose client partitions by another hash,
        as librdkafka's default does): sent on to its group's partition, so one worker keeps each group."""
        topic = self.outlet.raw(domain)
        await topic.send(key=group.encode(), value=raw, partition=home, headers=list(headers or ()))
        metrics.REROUTED.labels(domain).inc()
        if group not in self.rerouted_groups:
            self.rerouted_groups.add(group)
            log.warning(
                "group %s arrived on %s:%d but belongs on partition %d (murmur2 of the group): sent on; its "
                "sender should key records by group with the murmur2 partitioner (README, devices)",
                group, source.topic, source.partition, home,
            )  # fmt: skip

    async def _restore(self, topic: str) -> None:
        """Load the latest checkpoint of every partition of `topic` this worker was given and has not
        loaded. Only checkpoints signed by the processors count: a forged one could plant any state."""
        p, settings = self.pipeline, self.pipeline.settings
        parts = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == topic}
        parts -= {part for t, part in p.restored if t == topic}
        name = p.topics.checkpoints(p.domain_of(topic))
        log.info("reading the checkpoints of %s partitions %s", topic, sorted(parts))
        # The last signed record of each partition: a few forged ones written after it change nothing.
        tails = await read_tail(settings, name, CHECKPOINT_TAIL, parts)
        for partition in sorted(parts):
            records = tails.get(partition, [])
            found = await self._latest_signed(name, partition, records)
            tp = (topic, partition)
            if found is not None:
                try:
                    offset = p.restore(tp, found)
                except Exception:
                    log.exception(
                        "checkpoint of %s:%d unusable; the partition starts afresh", topic, partition
                    )
                else:
                    metrics.CHECKPOINTS.labels(p.domain_of(topic), "restored").inc()
                    log.info("restored %s:%d from its checkpoint at offset %d", topic, partition, offset)
            p.restored.add(tp)

    async def _latest_signed(self, name: str, partition: int, records: list[Any]) -> list[bytes] | None:
        signed = [r for r in records if self.outlet.verified(name, r.key, r.value, r.headers)]
        if forged := len(records) - len(signed):
            metrics.REFUSED.labels(name, str(Reason.UNAUTHENTICATED)).inc(forged)
            log.warning("%d unsigned checkpoint records on %s:%d ignored", forged, name, partition)
        found = checkpoint.latest([r.value for r in signed if r.value is not None])
        if found is None and forged:
            # Forged records fill the tail: look back through the whole partition for the last signed one.
            everything = await read_all(self.pipeline.settings, name, [partition])
            values = [r.value for r in everything if self.outlet.verified(name, r.key, r.value, r.headers)]
            found = checkpoint.latest([v for v in values if v])
            log.warning(
                "searched all %d records of %s:%d for a signed checkpoint", len(everything), name, partition
            )
        return found

    async def _write_checkpoints(self, tps: list[TP]) -> None:
        p = self.pipeline
        async with self._checkpointing:
            snaps = [(tp, *p.snapshot(tp)) for tp in tps]
            await asyncio.gather(*(self._send_checkpoint(tp, parts) for tp, _, parts in snaps))
            for tp, offset, _ in snaps:
                p.ledger.durable(tp, offset)
                metrics.CHECKPOINTS.labels(p.domain_of(tp[0]), "written").inc()

    async def _send_checkpoint(self, tp: TP, parts: list[bytes]) -> None:
        topic, partition = tp
        domain = self.pipeline.domain_of(topic)
        name, key = self.pipeline.topics.checkpoints(domain), f"{topic}:{partition}".encode()
        await self.outlet.checkpoint(name, key, parts, partition)
        metrics.CHECKPOINT_BYTES.labels(domain).set(sum(map(len, parts)))

    async def emit(self) -> None:
        """The indicator documents that changed since the last emit, keyed by area for the area stage."""
        await self.outlet.documents(self.pipeline.drain_states())

    async def checkpoint_partitions(self) -> None:
        """Checkpoint the partitions that moved on, then commit their offsets up to the checkpoints."""
        due = self.pipeline.ledger.due()
        if not due:
            return
        await self.confirm_broker()  # never write an old state into a broker that lost it
        try:
            await self._write_checkpoints(due)
        except Exception:  # offsets stay where the last good checkpoint left them, so nothing is lost
            metrics.CHECKPOINTS.labels("all", "failed").inc()
            log.exception("checkpoint of %d partitions failed; offsets are not advanced", len(due))
            return
        await self.app.consumer.commit_checkpointed()  # type: ignore[attr-defined]

    async def revoked(self, revoked: set[Any]) -> None:
        """Raw partitions gone to another worker: leave a checkpoint for the next owner, then forget them."""
        await self._idle.wait()  # a fetch being taken in stops at its next record (live() is now false)
        p = self.pipeline
        mine = [(tp.topic, tp.partition) for tp in revoked if tp.topic in p.ledger.topics]
        await self.confirm_broker()
        await self._write_checkpoints([tp for tp in mine if tp in p.ledger.owned()])
        for tp in mine:
            p.forget(tp)
