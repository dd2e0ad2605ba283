"""Faust agents and timers: raw frames in through the intake, aggregates and dead letters out."""

from __future__ import annotations

import logging

import faust
import orjson

from ioc.city import load_city
from processors import deadletter, metrics
from processors.app import aggregates_topic, app, raw_topic, settings
from processors.environment import EnvironmentState
from processors.intake import Intake, Source

log = logging.getLogger("ioc.agents")

city = load_city()
intake = Intake(city.known, int(settings.allowed_lateness_s * 1000))
environment_state = EnvironmentState(city)


@app.agent(raw_topic("environment"))
async def environment(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        msg = event.message
        metrics.FRAMES.labels("environment").inc()
        frame, letters = intake.accept(event.value, Source(msg.topic, msg.partition, msg.offset, msg.key))
        if letters:
            await deadletter.publish(letters, "environment")
        if frame is not None:
            metrics.READINGS.labels("environment").inc(frame.n)
            environment_state.add(frame)


@app.timer(interval=settings.emit_interval_s)
async def emit_environment() -> None:
    for group, doc in environment_state.drain():
        await aggregates_topic.send(key=group.encode(), value=orjson.dumps(doc))
        metrics.AGGREGATES.labels(doc["kind"]).inc()
