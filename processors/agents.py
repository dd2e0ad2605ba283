"""Faust agents and timers: raw frames of every domain in through the intake, indicator and KPI aggregates
and dead letters out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

import faust
import orjson

from ioc.city import load_city
from ioc.contract import Frame
from ioc.kafka import partition_for, read_all, read_last
from ioc.topics import DOMAINS
from processors import areas, deadletter, metrics
from processors.alerts import ActionError, AlertBook
from processors.app import (
    actions_topic,
    aggregates_topic,
    alerts_topic,
    app,
    area_actions_topic,
    domain_of,
    raw_topic,
    settings,
    topics,
)
from processors.checkpoint import TP, Checkpointed, Ledger
from processors.environment import EnvironmentState
from processors.health import HealthState
from processors.intake import Intake, Source
from processors.kpi import KpiBoard
from processors.lighting import LightingState
from processors.traffic import TrafficState

log = logging.getLogger("ioc.agents")


class State(Checkpointed, Protocol):
    def add(self, frame: Frame) -> None: ...

    def drain(self) -> list[tuple[str, dict[str, Any]]]: ...


city = load_city()
lateness_ms = int(settings.allowed_lateness_s * 1000)
intake = Intake(city.known, lateness_ms)
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
_checkpointing = asyncio.Lock()
_taking = asyncio.Lock()


def _agent(domain: str) -> Callable[[faust.StreamT[bytes]], Any]:
    state = states[domain]
    frames_read, readings_accepted = metrics.FRAMES.labels(domain), metrics.READINGS.labels(domain)

    async def consume(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            tp = (msg.topic, msg.partition)
            if tp not in restored:
                await _restore(msg.topic)
            frames_read.inc()
            frame, letters = intake.accept(event.value, Source(msg.topic, msg.partition, msg.offset, msg.key))
            key = None
            if frame is not None:
                readings_accepted.inc(frame.n)
                state.add(frame)
                key = (frame.type, frame.group)
            # No await between intake, state and ledger: a checkpoint never sees one without the others.
            ledger.record(tp, msg.offset, key)
            if letters:
                await deadletter.publish(letters, domain)

    consume.__name__ = f"{domain}_intake"
    consume.__qualname__ = consume.__name__
    return consume


for _domain in DOMAINS:
    app.agent(raw_topic(_domain), name=f"ioc.{_domain}")(_agent(_domain))


async def _restore(topic: str) -> None:
    """Load the latest checkpoint of every partition of `topic` this worker was given and has not loaded."""
    domain = domain_of(topic)
    parts = {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}
    parts -= {p for t, p in restored if t == topic}
    log.info("reading the checkpoints of %s partitions %s", topic, sorted(parts))
    found = await read_last(settings, topics.checkpoints(domain), parts)
    log.info("read %d checkpoints of %s", len(found), topic)
    for partition in sorted(parts):
        tp = (topic, partition)
        if partition in found:
            offset = ledger.restore(tp, found[partition], intake, states[domain])
            metrics.CHECKPOINTS.labels(domain, "restored").inc()
            log.info("restored %s:%d from its checkpoint at offset %d", topic, partition, offset)
        restored.add(tp)


async def _write_checkpoints(tps: list[TP]) -> None:
    async with _checkpointing:
        snaps = [(tp, *ledger.snapshot(tp, intake, states[domain_of(tp[0])])) for tp in tps]
        # One record per partition per round, each its own batch: Tansu's reported end then finds it.
        await asyncio.gather(
            *(
                app.producer.send_and_wait(
                    topics.checkpoints(domain_of(topic)), f"{topic}:{p}".encode(), raw, p, None, None
                )
                for (topic, p), _, raw in snaps
            )
        )
        for tp, offset, _ in snaps:
            ledger.durable(tp, offset)
            metrics.CHECKPOINTS.labels(domain_of(tp[0]), "written").inc()


@app.timer(interval=settings.checkpoint_interval_s)
async def checkpoint_partitions() -> None:
    """Checkpoint the partitions that moved on, then commit their offsets up to the checkpoints."""
    due = ledger.due()
    if not due:
        return
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
    await _write_checkpoints([tp for tp in mine if tp in ledger.owned()])
    for tp in mine:
        ledger.forget(tp, intake, states[domain_of(tp[0])])
        restored.discard(tp)


@app.agent(actions_topic, name="ioc.operator-actions")
async def operator_actions(stream: faust.StreamT[bytes]) -> None:
    """Acknowledge/assign/comment/resolve from the wall or the API, passed on keyed by the alert's area."""
    async for value in stream:
        try:
            action = orjson.loads(value)
            if not isinstance(action, dict):
                raise ActionError("an operator action is a JSON object")
            area = areas.of_alert(city, str(action.get("alert", "")))
            if area is None:
                raise ActionError(f"no alert {action.get('alert')!r}")
        except (ActionError, orjson.JSONDecodeError) as exc:
            metrics.ACTIONS.labels("?", "refused").inc()
            log.warning("operator action refused: %s", exc)
            continue
        await area_actions_topic.send(key=area.encode(), value=value)


@app.agent(area_actions_topic, name="ioc.operator-actions-by-area")
async def area_operator_actions(stream: faust.StreamT[bytes]) -> None:
    """Apply operator actions to this worker's alerts; refusals are logged and counted."""
    async for event in stream.events():
        if event.message.partition not in areas_taken:
            await _take_areas(event.message.partition)
        action = orjson.loads(event.value)  # checked by operator_actions
        try:
            alerts.act(action)
            metrics.ACTIONS.labels(str(action.get("action")), "applied").inc()
        except (ActionError, TypeError, ValueError) as exc:
            metrics.ACTIONS.labels("?", "refused").inc()
            log.warning("operator action refused: %s", exc)
        await _publish_alerts()


@app.agent(aggregates_topic, name="ioc.area-indicators")
async def area_indicators(stream: faust.StreamT[bytes]) -> None:
    """Second stage, keyed by area: every indicator of an area reaches one worker, which keeps the area's
    KPIs and alerts; alert changes go out at once, KPIs with the next emit."""
    async for event in stream.events():
        if event.message.partition not in areas_taken:
            await _take_areas(event.message.partition)
        doc = orjson.loads(event.value)
        if doc.get("kind") == "kpi":
            continue  # this stage's own output
        kpis.observe(doc)
        alerts.observe(doc)
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
        docs = [orjson.loads(v) for v in await read_all(settings, topics.alerts)]
        log.info("read %d alert documents", len(docs))
        open_ = alerts.restore([d for d in docs if areas.of_alert(city, str(d.get("id", ""))) in mine])
        areas_taken.add(partition)
    if open_:
        log.info("took over areas %s with %d alerts not yet resolved", sorted(mine), open_)


@app.timer(interval=settings.emit_interval_s)
async def emit_aggregates() -> None:
    for state in states.values():
        for key, doc in state.drain():
            await _send(areas.of_document(city, doc) or key, doc)
    for _, doc in kpis.drain():
        await _send(doc["group"], doc)
    await _publish_alerts()


async def _publish_alerts() -> None:
    for doc in alerts.drain():
        await alerts_topic.send(key=doc["id"].encode(), value=orjson.dumps(doc))
        metrics.ALERTS.labels(doc["rule"], doc["status"]).inc()


async def _send(key: str, doc: dict[str, Any]) -> None:
    await aggregates_topic.send(key=key.encode(), value=orjson.dumps(doc))
    metrics.AGGREGATES.labels(doc["kind"]).inc()
