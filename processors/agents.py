"""Faust agents and timers: raw frames of every domain in through the intake, indicator and KPI aggregates
and dead letters out; the area stage's alerts; the trusted clock, the broker watch and the heartbeat.

Nothing from outside is trusted: every record is processed or dead-lettered with a reason (an exception in
processing included, so no input can stop an agent), documents between the stages must carry the
processors' signature, and readings from beyond the trusted clock are refused before they move any state."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

import faust
import orjson

from ioc.city import load_city
from ioc.contract import Frame, Reason
from ioc.contract.deadletter import DeadLetter, Source, refusal
from ioc.kafka import BrokerWatch, ensure_topics, make_client, partition_for, read_all, read_tail
from ioc.topics import DOMAINS
from ioc.trusted_time import ClockWatch, TrustedClock
from processors import areas, checkpoint, deadletter, metrics
from processors.alerts import ActionError, AlertBook
from processors.app import (
    actions_topic,
    aggregates_topic,
    alerts_topic,
    app,
    area_actions_topic,
    domain_of,
    keys,
    raw_topic,
    settings,
    signed,
    topics,
    verified,
    workers_topic,
)
from processors.checkpoint import TP, Checkpointed, GroupKey, Ledger
from processors.environment import EnvironmentState
from processors.health import HealthState
from processors.intake import Intake
from processors.kpi import KpiBoard
from processors.lighting import LightingState
from processors.traffic import TrafficState

log = logging.getLogger("ioc.agents")
EXIT_BROKER_LOST = 75  # EX_TEMPFAIL: the supervisor starts a fresh worker on the new broker
CHECKPOINT_TAIL = 2 * checkpoint.MAX_PARTS  # records read back to find the last complete signed checkpoint


class State(Checkpointed, Protocol):
    def add(self, frame: Frame) -> None: ...

    def drain(self) -> list[tuple[str, dict[str, Any]]]: ...

    def size(self) -> int: ...


city = load_city()
lateness_ms = int(settings.allowed_lateness_s * 1000)
intake = Intake(city.known, lateness_ms)
trusted = TrustedClock(int(settings.clock_tolerance_s * 1000))
clock_watch = ClockWatch(settings, trusted, keys.control)
states: dict[str, State] = {
    "environment": EnvironmentState(city),
    "traffic": TrafficState(city, lateness_ms),
    "health": HealthState(),
    "lighting": LightingState(
        city,
        clock=lambda: intake.low_watermark(topics.raw("lighting")),
        partition_of=lambda group: partition_for(group.encode(), settings.partitions),
    ),
}
kpis = KpiBoard(city)  # of the areas whose aggregates partitions this worker owns
alerts = AlertBook()
areas_taken: set[int] = set()  # aggregates partitions whose areas' alerts this worker has taken over
ledger = app.ledger or Ledger()
restored: set[TP] = set()  # partitions whose checkpoint was looked up since this worker got them
worker_id = f"{socket.gethostname()}-{os.getpid()}"
broker: BrokerWatch | None = None
rerouted_groups: set[str] = set()
_checkpointing = asyncio.Lock()
_taking = asyncio.Lock()


# -- the raw stage -----------------------------------------------------------------------------------------


def _agent(domain: str) -> Callable[[faust.StreamT[bytes]], Any]:
    state = states[domain]
    frames_read, skipped = metrics.FRAMES.labels(domain), metrics.SKIPPED.labels(domain)
    accepted = metrics.READINGS.labels(domain)

    async def consume(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            tp = (msg.topic, msg.partition)
            if tp not in restored:
                await _restore(msg.topic)
            if msg.offset < ledger.processed.get(tp, 0):
                skipped.inc()  # inside the restored checkpoint already (re-read after a restart or failover)
                continue
            frames_read.inc()
            source = Source(msg.topic, msg.partition, msg.offset, msg.key)
            key, letters = await _take_in(domain, state, accepted, event.value, msg.headers, source)
            # _take_in does not await after admitting the frame: intake, state and ledger move together,
            # so a checkpoint never sees one without the others.
            ledger.record(tp, msg.offset, key)
            if letters:
                await deadletter.publish(letters, domain)

    consume.__name__ = f"{domain}_intake"
    consume.__qualname__ = consume.__name__
    return consume


async def _take_in(
    domain: str, state: State, accepted: Any, raw: bytes | None, headers: Any, source: Source
) -> tuple[GroupKey | None, list[DeadLetter]]:
    """Intake of one record into `state`; (the group it fed, if any, and its dead letters). Never raises."""
    key: GroupKey | None = None
    try:
        parsed, letters = intake.parse(raw or b"", source)
        if parsed is None or parsed.newest is None:
            return None, letters
        home = partition_for(parsed.valid.group.encode(), settings.partitions)
        if home != source.partition:
            await _reroute(domain, raw or b"", headers, parsed.valid.group, source, home)
            return None, []  # the owner of the group's partition judges it (and reports its refusals)
        if parsed.newest > trusted.limit_ms() and clock_watch.may_sync():
            await clock_watch.sync()  # a declaration sent before this frame may not be read yet
        frame, more = intake.admit(parsed, source, trusted.limit_ms())
        letters += more
        if frame is not None:
            key = (frame.type, frame.group)
            accepted.inc(frame.n)
            state.add(frame)
        return key, letters
    except Exception as exc:  # a bug meeting an input: refuse the record, keep the agent
        log.exception("processing %s:%d@%d failed", source.topic, source.partition, source.offset)
        return key, [refusal(Reason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}", source, raw)]


async def _reroute(domain: str, raw: bytes, headers: Any, group: str, source: Source, home: int) -> None:
    """A frame on another partition than its group's (a device whose client partitions by another hash,
    as librdkafka's default does): sent on to its group's partition, so one worker keeps each group."""
    await raw_topic(domain).send(key=group.encode(), value=raw, partition=home, headers=list(headers or ()))
    metrics.REROUTED.labels(domain).inc()
    if group not in rerouted_groups:
        rerouted_groups.add(group)
        log.warning(
            "group %s arrived on %s:%d but belongs on partition %d (murmur2 of the group): sent on; its "
            "sender should key records by group with the murmur2 partitioner (README, devices)",
            group, source.topic, source.partition, home,
        )  # fmt: skip


for _domain in DOMAINS:
    app.agent(raw_topic(_domain), name=f"ioc.{_domain}")(_agent(_domain))


async def _restore(topic: str) -> None:
    """Load the latest checkpoint of every partition of `topic` this worker was given and has not loaded.
    Only checkpoints signed by the processors count: a forged one could plant any state."""
    domain = domain_of(topic)
    parts = {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}
    parts -= {p for t, p in restored if t == topic}
    name = topics.checkpoints(domain)
    log.info("reading the checkpoints of %s partitions %s", topic, sorted(parts))
    # The last signed record of each partition: a few forged ones written after it change nothing.
    tails = await read_tail(settings, name, CHECKPOINT_TAIL, parts)
    for partition in sorted(parts):
        tp = (topic, partition)
        records = [r for r in tails.get(partition, []) if verified(name, r.key, r.value, r.headers)]
        if forged := len(tails.get(partition, [])) - len(records):
            metrics.REFUSED.labels(name, str(Reason.UNAUTHENTICATED)).inc(forged)
            log.warning("%d unsigned checkpoint records on %s:%d ignored", forged, name, partition)
        found = checkpoint.latest([r.value for r in records if r.value is not None])
        if found is None and forged:
            # Forged records fill the tail: look back through the whole partition for the last signed one.
            everything = await read_all(settings, name, [partition])
            signed = [r.value for r in everything if verified(name, r.key, r.value, r.headers) and r.value]
            found = checkpoint.latest(signed)
            log.warning(
                "searched all %d records of %s:%d for a signed checkpoint", len(everything), name, partition
            )
        if found is not None:
            try:
                offset = ledger.restore(tp, found, intake, states[domain])
            except Exception:
                log.exception("checkpoint of %s:%d unusable; the partition starts afresh", topic, partition)
            else:
                metrics.CHECKPOINTS.labels(domain, "restored").inc()
                log.info("restored %s:%d from its checkpoint at offset %d", topic, partition, offset)
        restored.add(tp)


async def _write_checkpoints(tps: list[TP]) -> None:
    async with _checkpointing:
        snaps = [(tp, *ledger.snapshot(tp, intake, states[domain_of(tp[0])])) for tp in tps]
        await asyncio.gather(*(_send_checkpoint(tp, parts) for tp, _, parts in snaps))
        for tp, offset, _ in snaps:
            ledger.durable(tp, offset)
            metrics.CHECKPOINTS.labels(domain_of(tp[0]), "written").inc()


async def _send_checkpoint(tp: TP, parts: list[bytes]) -> None:
    """The parts of one partition's checkpoint in order, each its own batch (Tansu's reported end then
    finds the last one), each signed: a restore believes only the processors."""
    topic, p = tp
    name, key = topics.checkpoints(domain_of(topic)), f"{topic}:{p}".encode()
    for part in parts:
        await app.producer.send_and_wait(name, key, part, p, None, keys.document.headers(name, key, part))
    metrics.CHECKPOINT_BYTES.labels(domain_of(topic)).set(sum(map(len, parts)))


@app.timer(interval=settings.checkpoint_interval_s)
async def checkpoint_partitions() -> None:
    """Checkpoint the partitions that moved on, then commit their offsets up to the checkpoints."""
    due = ledger.due()
    if not due:
        return
    await _confirm_broker()  # never write an old state into a broker that lost it
    try:
        await _write_checkpoints(due)
    except Exception:  # offsets stay where the last good checkpoint left them, so nothing is lost
        metrics.CHECKPOINTS.labels("all", "failed").inc()
        log.exception("checkpoint of %d partitions failed; offsets are not advanced", len(due))
        return
    await app.consumer.commit_checkpointed()  # type: ignore[attr-defined]


@app.on_partitions_revoked.connect
async def _on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    revoked: set[Any] = args[0] if args else kwargs.get("revoked", set())
    # Agents are idle here (Faust waited for them): leave a checkpoint for the next owner, then forget.
    for tp in revoked:
        if tp.topic == topics.aggregates and tp.partition in areas_taken:
            alerts.forget(_in_areas(_areas_of_partition(tp.partition)))
            areas_taken.discard(tp.partition)
    mine = [(tp.topic, tp.partition) for tp in revoked if tp.topic in ledger.topics]
    await _confirm_broker()
    await _write_checkpoints([tp for tp in mine if tp in ledger.owned()])
    for tp in mine:
        ledger.forget(tp, intake, states[domain_of(tp[0])])
        restored.discard(tp)


# -- the broker, the clock and the heartbeat ---------------------------------------------------------------


@app.task
async def _watch() -> None:
    """At start: the namespace's topics (the clock's included), the broker's identity and the trusted
    clock; then follow the clock's declarations."""
    global broker
    await ensure_topics(settings, topics.layout(settings.partitions))
    broker = BrokerWatch(await make_client(settings))
    await broker.check()
    log.info("worker %s on broker %s", worker_id, broker.known)
    await clock_watch.start()
    log.info("trusted clock: %s", trusted.describe())
    await clock_watch.follow()


async def _confirm_broker() -> None:
    """Exit at once if another broker answers: everything this worker holds belongs to the lost one, and
    any checkpoint or commit it wrote now would tell the next worker to skip data that does not exist."""
    if broker is None:
        return
    try:
        changed = await broker.check()
    except Exception:  # unreachable: nothing can be written either; the next round tries again
        return
    if changed is not None:
        log.error(
            "the broker lost its data: cluster %s is now %s (a restarted memory broker). This worker's "
            "state and offsets belong to the old one; exiting with %d so that a fresh worker starts.",
            broker.known, changed, EXIT_BROKER_LOST,
        )  # fmt: skip
        logging.shutdown()
        os._exit(EXIT_BROKER_LOST)


@app.timer(interval=1.0)
async def watch_broker() -> None:
    """A new broker makes this worker exit; a partition whose position is past its end (topics recreated,
    or a commit a lost broker's worker left) is read again from the start."""
    await _confirm_broker()
    try:
        past_end = await app.consumer.past_end()  # type: ignore[attr-defined]
    except Exception as exc:  # a rebalance in progress: the next round looks again
        log.debug("positions not readable now: %s", exc)
        return
    for tp in past_end:
        log.warning(
            "%s:%d: position past the partition's end; reading it again from 0", tp.topic, tp.partition
        )
        if tp.topic in ledger.topics:
            ledger.forget((tp.topic, tp.partition), intake, states[domain_of(tp.topic)])
            restored.discard((tp.topic, tp.partition))
        await app.consumer.read_again(tp)  # type: ignore[attr-defined]


@app.timer(interval=settings.heartbeat_interval_s)
async def heartbeat() -> None:
    """Alive, on which broker, how far each raw partition is read against its end: the wall turns red when
    this stops, or when a partition has data waiting and its position stands still."""
    parts = {}
    try:
        for tp in app.consumer.assignment():
            if tp.topic in ledger.topics:
                parts[f"{tp.topic}:{tp.partition}"] = [ledger.processed.get((tp.topic, tp.partition), 0),
                                                       app.consumer.highwater(tp)]  # fmt: skip
    except Exception as exc:  # the consumer not started yet, or between assignments: alive all the same
        log.debug("partitions not readable now: %s", exc)
    sizes = _state_sizes()
    for part, n in sizes.items():
        metrics.STATE.labels(part).set(n)
    doc = {
        "v": 1,
        "kind": "worker",
        "id": worker_id,
        "at": int(time.time() * 1000),
        "cluster": broker.known if broker else None,
        "partitions": parts,
        "clock": trusted.describe(),
        "state": sizes,
    }
    await signed(workers_topic, worker_id.encode(), orjson.dumps(doc))


def _state_sizes() -> dict[str, int]:
    sizes = {f"intake_{k}": v for k, v in intake.size().items()}
    sizes.update({d: s.size() for d, s in states.items()})
    sizes.update(alerts=len(alerts.alerts), kpi_entities=kpis.size())
    return sizes


# -- the area stage -----------------------------------------------------------------------------------------


async def _document(msg: Any, value: bytes | None, domain: str) -> dict[str, Any] | None:
    """A signed JSON object from the processors or the wall, or None after dead-lettering it."""
    source = Source(msg.topic, msg.partition, msg.offset, msg.key)
    if not verified(msg.topic, msg.key, value, msg.headers):
        letter = refusal(
            Reason.UNAUTHENTICATED, "no valid signature of the processors or the wall", source, value
        )
        await deadletter.publish([letter], domain)
        return None
    try:
        doc = orjson.loads(value or b"")
        if not isinstance(doc, dict):
            raise ValueError(f"a JSON object was expected, got {type(doc).__name__}")
    except ValueError as exc:
        await deadletter.publish([refusal(Reason.BAD_DOCUMENT, str(exc), source, value)], domain)
        return None
    return doc


@app.agent(actions_topic, name="ioc.operator-actions")
async def operator_actions(stream: faust.StreamT[bytes]) -> None:
    """Acknowledge/assign/comment/resolve from the wall, passed on keyed by the alert's area."""
    async for event in stream.events():
        action = await _document(event.message, event.value, "operator-actions")
        if action is None:
            continue
        area = areas.of_alert(city, str(action.get("alert", "")))
        if area is None:
            metrics.ACTIONS.labels("?", "refused").inc()
            log.warning("operator action refused: no alert %r", action.get("alert"))
            continue
        await signed(area_actions_topic, area.encode(), event.value)


@app.agent(area_actions_topic, name="ioc.operator-actions-by-area")
async def area_operator_actions(stream: faust.StreamT[bytes]) -> None:
    """Apply operator actions to this worker's alerts; refusals are logged and counted."""
    async for event in stream.events():
        if event.message.partition not in areas_taken:
            await _take_areas(event.message.partition)
        action = await _document(event.message, event.value, "operator-actions")
        if action is None:
            continue
        try:
            alerts.act(action)
            metrics.ACTIONS.labels(str(action.get("action"))[:32], "applied").inc()
        except ActionError as exc:
            metrics.ACTIONS.labels("?", "refused").inc()
            log.warning("operator action refused: %s", exc)
        except Exception as exc:  # signed by the wall, so a bug: refused with a reason, the stage goes on
            log.exception("operator action failed")
            source = Source(event.message.topic, event.message.partition, event.message.offset, None)
            letter = refusal(Reason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}", source, event.value)
            await deadletter.publish([letter], "operator-actions")
        await _publish_alerts()


@app.agent(aggregates_topic, name="ioc.area-indicators")
async def area_indicators(stream: faust.StreamT[bytes]) -> None:
    """Second stage, keyed by area: every indicator of an area reaches one worker, which keeps the area's
    KPIs and alerts; alert changes go out at once, KPIs with the next emit."""
    async for event in stream.events():
        msg = event.message
        if msg.partition not in areas_taken:
            await _take_areas(msg.partition)
        doc = await _document(msg, event.value, "aggregates")
        if doc is None or doc.get("kind") == "kpi":
            continue  # refused, or this stage's own output
        try:
            kpis.observe(doc)
            alerts.observe(doc)
        except Exception as exc:
            log.exception("area stage failed on %s:%d@%d", msg.topic, msg.partition, msg.offset)
            source = Source(msg.topic, msg.partition, msg.offset, msg.key)
            detail = f"{type(exc).__name__}: {exc}"
            await deadletter.publish(
                [refusal(Reason.PROCESSING_ERROR, detail, source, event.value)], "aggregates"
            )
        await _publish_alerts()


def _areas_of_partition(partition: int) -> set[str]:
    return {a for a in city.areas if partition_for(a.encode(), settings.partitions) == partition}


def _in_areas(names: set[str]) -> Callable[[str], bool]:
    return lambda entity: areas.of_entity(city, entity) in names


async def _take_areas(partition: int) -> None:
    """Before the first indicator or action of an area partition: continue the alerts its previous owner
    published, so an acknowledged alert stays acknowledged and is not raised again under a new id."""
    async with _taking:  # indicators and actions of one partition may both arrive first: take it once
        if partition in areas_taken:
            return
        mine = _areas_of_partition(partition)
        log.info("reading the alerts topic to take over areas %s", sorted(mine))
        records = await read_all(settings, topics.alerts)
        docs = []
        for r in records:
            if not verified(topics.alerts, r.key, r.value, r.headers):
                metrics.REFUSED.labels(topics.alerts, str(Reason.UNAUTHENTICATED)).inc()
                continue
            try:
                doc = orjson.loads(r.value or b"null")
            except orjson.JSONDecodeError:
                continue  # signed but unreadable: a bug, and the wall dead-letters it
            if isinstance(doc, dict) and areas.of_alert(city, str(doc.get("id", ""))) in mine:
                docs.append(doc)
        log.info("read %d alert documents (%d signed, of these areas)", len(records), len(docs))
        open_ = alerts.restore(docs)
        areas_taken.add(partition)
    if open_:
        log.info("took over areas %s with %d alerts not yet resolved", sorted(mine), open_)


@app.timer(interval=settings.emit_interval_s)
async def emit_aggregates() -> None:
    for state in states.values():
        for key, doc in state.drain():
            await _send(areas.of_document(city, doc) or key, doc)
    for _, doc in kpis.drain(int(time.time() * 1000)):
        await _send(doc["group"], doc)
    await _publish_alerts()


async def _publish_alerts() -> None:
    for doc in alerts.drain():
        await signed(alerts_topic, doc["id"].encode(), orjson.dumps(doc))
        metrics.ALERTS.labels(doc["rule"], doc["status"]).inc()


async def _send(key: str, doc: dict[str, Any]) -> None:
    await signed(aggregates_topic, key.encode(), orjson.dumps(doc))
    metrics.AGGREGATES.labels(doc["kind"]).inc()
