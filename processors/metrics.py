"""The worker's Prometheus counters: readings accepted and dead-lettered per domain and reason."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from ioc.contract.documents import WorkerMetric

FRAMES = Counter(WorkerMetric.FRAMES, "Raw frames read", ["domain"])
SKIPPED = Counter(
    "ioc_frames_in_checkpoint_total", "Frames re-read that a restored checkpoint has", ["domain"]
)
READINGS = Counter(WorkerMetric.READINGS_ACCEPTED, "Readings that passed intake", ["domain"])
DEADLETTERS = Counter("ioc_deadletter_total", "Dead-letter entries written", ["domain", "reason"])
DEADLETTER_READINGS = Counter(
    WorkerMetric.DEADLETTER_READINGS, "Readings refused (a whole-frame error counts 1)", ["domain", "reason"]
)
AGGREGATES = Counter("ioc_aggregate_records_total", "Aggregate records emitted", ["kind"])
ALERTS = Counter("ioc_alert_updates_total", "Alert documents published", ["rule", "status"])
ACTIONS = Counter("ioc_operator_actions_total", "Operator actions applied or refused", ["action", "outcome"])
CHECKPOINTS = Counter("ioc_checkpoints_total", "Partition checkpoints written or restored", ["domain", "op"])
REROUTED = Counter(
    "ioc_rerouted_frames_total",
    "Frames sent on to their group's partition (a device's partitioner)",
    ["domain"],
)
REFUSED = Counter(
    "ioc_refused_records_total",
    "Records read outside an agent (checkpoints, alerts) and refused",
    ["topic", "reason"],
)
READ_AGAIN = Counter(
    "ioc_partitions_read_again_total",
    "Raw partitions whose records failed to be taken (a broker error) and are read again",
    ["domain"],
)
STATE = Gauge("ioc_state_entries", "Entries the worker holds, per part of its state", ["part"])
CHECKPOINT_BYTES = Gauge("ioc_checkpoint_bytes", "Size of the last checkpoint written per domain", ["domain"])
