"""The wall server's Prometheus metrics: feed, websocket fan-out, auth refusals and operator actions; with
several wall processes (PROMETHEUS_MULTIPROC_DIR set by their supervisor) any one answers for them all."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

SHARED_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable: where each process writes

FEED_RECORDS = Counter("ioc_web_feed_records_total", "Records read from Kafka by the wall feed", ["topic"])
FEED_ERRORS = Counter("ioc_web_feed_errors_total", "Unreadable records and lost broker connections")
# livesum: with several processes, the clients of those alive, added up (ignored with one process).
CLIENTS = Gauge("ioc_web_clients", "Connected websocket clients", multiprocess_mode="livesum")
PUSHES = Counter("ioc_web_pushes_total", "Coalesced delta rounds pushed")
MESSAGES = Counter("ioc_web_messages_total", "Websocket messages queued to clients", ["type"])
DIRECT_WRITES = Counter("ioc_web_direct_writes_total", "Deltas written straight onto a client's socket")
RESNAPSHOTS = Counter("ioc_web_resnapshots_total", "Slow clients whose backlog was replaced by a snapshot")
PUSH_SECONDS = Histogram(
    "ioc_web_push_seconds",
    "Time to encode and queue one delta round",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)
REFUSED = Counter("ioc_web_refused_total", "Requests refused by auth or origin checks", ["reason"])
ACTIONS = Counter("ioc_web_operator_actions_total", "Operator actions written to Kafka", ["action"])
FEED_REFUSED = Counter(
    "ioc_web_feed_refused_total", "Records the wall refused to show (dead-lettered)", ["topic", "reason"]
)


def exposition() -> bytes:
    """The text format: this process's metrics, or every wall process's added up when they share a dir."""
    if not os.environ.get(SHARED_DIR):
        return generate_latest()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)
