"""A device as a device maker would build it: confluent-kafka (librdkafka), not the project's own client,
sending JSON frames keyed by their sensor group. Valid readings per type, and the means to break them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import orjson
from confluent_kafka import Producer

from ioc.city import load_city

VALID: dict[str, dict[str, Any]] = {
    "FloodMonitoring": {"currentLevel": 0.3},
    "WeatherObserved": {"temperature": 25.0, "relativeHumidity": 0.8, "precipitation": 0.0, "windSpeed": 2.0,
                        "windDirection": 90.0, "atmosphericPressure": 1010.0},
    "AirQualityObserved": {"pm25": 20.0, "pm10": 40.0},
    "StreetlightControlCabinet": {"workingMode": "automatic", "totalActivePower": 5.0,
                                  "energyConsumed": 1000.0, "voltage": 225.0},
    "TrafficFlowObserved": {"period": 60, "intensity": 20, "intensityMotorcycle": 17, "intensityCar": 2,
                            "intensityHeavy": 1, "occupancy": 0.1, "averageVehicleSpeed": 40.0},
}  # fmt: skip
DOMAIN = {
    "FloodMonitoring": "environment",
    "WeatherObserved": "environment",
    "AirQualityObserved": "environment",
    "StreetlightControlCabinet": "lighting",
    "TrafficFlowObserved": "traffic",
}
MINUTE = 60_000


def minute_now() -> int:
    return int(time.time() * 1000) // MINUTE * MINUTE


def sensors(type_: str, group: str) -> list[str]:
    return [s.id for s in load_city().groups[(type_, group)]]


def frame(
    type_: str,
    group: str,
    seq: int,
    t: int,
    ids: list[str] | None = None,
    boot: str | None = None,
    **override: Any,
) -> bytes:
    """A frame of the group's sensors (or `ids`) at time t with valid values; `override` replaces columns
    (a list: the column as given; anything else: every reading's value)."""
    ids = ids if ids is not None else sensors(type_, group)
    cols: dict[str, Any] = {"id": ids, "dateObserved": [t] * len(ids)}
    for name, value in {**VALID[type_], **override}.items():
        cols[name] = value if isinstance(value, list) else [value] * len(ids)
    doc: dict[str, Any] = {"v": 1, "type": type_, "group": group, "seq": seq, "tick": t, "cols": cols}
    if boot is not None:
        doc["boot"] = boot
    return orjson.dumps(doc)


class Device:
    """Sends frames with librdkafka's own partitioner unless told otherwise (`partitioner="murmur2_random"`
    is what the README asks of device makers)."""

    def __init__(self, bootstrap: str, namespace: str, partitioner: str | None = None) -> None:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "linger.ms": 0,
            "acks": "all",
            "log.connection.close": False,  # the session's broker outlives a test's producers, not always
        }
        if partitioner is not None:
            config["partitioner"] = partitioner
        self.producer = Producer(config)
        self.namespace = namespace
        self.sent = 0

    def send(self, domain: str, records: Iterable[tuple[str, bytes]], topic: str | None = None) -> None:
        """(key, value) records to the domain's raw topic (or `topic`); wait until all are acknowledged."""
        name = topic or f"{self.namespace}.raw.{domain}"
        for key, value in records:
            while True:
                try:
                    self.producer.produce(name, value=value, key=key.encode())
                    break
                except BufferError:  # the local queue is full: let it drain
                    self.producer.poll(0.1)
            self.sent += 1
        left = self.producer.flush(60)
        assert left == 0, f"{left} records not acknowledged"
