"""Faust agents and timers: raw frames of every domain in through the intake, indicator and KPI aggregates
and dead letters out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import faust
import orjson

from ioc.city import load_city
from ioc.contract import Frame
from ioc.topics import DOMAINS
from processors import deadletter, metrics
from processors.alerts import ActionError, AlertBook
from processors.app import actions_topic, aggregates_topic, alerts_topic, app, raw_topic, settings
from processors.environment import EnvironmentState
from processors.health import HealthState
from processors.intake import Intake, Source
from processors.kpi import KpiBoard
from processors.lighting import LightingState
from processors.traffic import TrafficState

log = logging.getLogger("ioc.agents")


class State(Protocol):
    def add(self, frame: Frame) -> None: ...

    def drain(self) -> list[tuple[str, dict[str, Any]]]: ...


city = load_city()
lateness_ms = int(settings.allowed_lateness_s * 1000)
intake = Intake(city.known, lateness_ms)
states: dict[str, State] = {
    "environment": EnvironmentState(city),
    "traffic": TrafficState(city, lateness_ms),
    "health": HealthState(),
    "lighting": LightingState(city),
}
kpis = KpiBoard(city)
alerts = AlertBook()


def _agent(domain: str) -> Callable[[faust.StreamT[bytes]], Any]:
    state = states[domain]

    async def consume(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            metrics.FRAMES.labels(domain).inc()
            frame, letters = intake.accept(event.value, Source(msg.topic, msg.partition, msg.offset, msg.key))
            if letters:
                await deadletter.publish(letters, domain)
            if frame is not None:
                metrics.READINGS.labels(domain).inc(frame.n)
                state.add(frame)

    consume.__name__ = f"{domain}_intake"
    consume.__qualname__ = consume.__name__
    return consume


for _domain in DOMAINS:
    app.agent(raw_topic(_domain), name=f"ioc.{_domain}")(_agent(_domain))


@app.agent(actions_topic, name="ioc.operator-actions")
async def operator_actions(stream: faust.StreamT[bytes]) -> None:
    """Acknowledge/assign/comment/resolve from the wall or the API; refusals are logged and counted."""
    async for value in stream:
        try:
            action = orjson.loads(value)
            if not isinstance(action, dict):
                raise ActionError("an operator action is a JSON object")
            alerts.act(action)
            metrics.ACTIONS.labels(str(action.get("action")), "applied").inc()
        except (ActionError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
            metrics.ACTIONS.labels("?", "refused").inc()
            log.warning("operator action refused: %s", exc)
        await _publish_alerts()


@app.timer(interval=settings.emit_interval_s)
async def emit_aggregates() -> None:
    latest = 0
    for state in states.values():
        for key, doc in state.drain():
            kpis.observe(doc)
            alerts.observe(doc)
            latest = max([latest, *(int(i.get("t") or 0) for i in doc.get("items", ()))])
            await _send(key, doc)
    for key, doc in kpis.drain():
        await _send(key, doc)
    if latest:
        alerts.escalate(latest)  # on event time, so a replay escalates exactly as the live run did
    await _publish_alerts()


async def _publish_alerts() -> None:
    for doc in alerts.drain():
        await alerts_topic.send(key=doc["id"].encode(), value=orjson.dumps(doc))
        metrics.ALERTS.labels(doc["rule"], doc["status"]).inc()


async def _send(key: str, doc: dict[str, Any]) -> None:
    await aggregates_topic.send(key=key.encode(), value=orjson.dumps(doc))
    metrics.AGGREGATES.labels(doc["kind"]).inc()
