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
from processors.app import aggregates_topic, app, raw_topic, settings
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


@app.timer(interval=settings.emit_interval_s)
async def emit_aggregates() -> None:
    for state in states.values():
        for key, doc in state.drain():
            kpis.observe(doc)
            await _send(key, doc)
    for key, doc in kpis.drain():
        await _send(key, doc)


async def _send(key: str, doc: dict[str, Any]) -> None:
    await aggregates_topic.send(key=key.encode(), value=orjson.dumps(doc))
    metrics.AGGREGATES.labels(doc["kind"]).inc()
