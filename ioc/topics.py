"""Kafka topic names, all derived from one namespace so a replay never mixes with live data."""

from __future__ import annotations

from dataclasses import dataclass

DOMAINS: tuple[str, ...] = ("traffic", "health", "lighting", "environment")


@dataclass(frozen=True)
class Topics:
    """The topic names of one namespace (``ioc`` live, ``replay-<job>`` for a replay)."""

    namespace: str = "ioc"

    def raw(self, domain: str) -> str:
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; expected one of {DOMAINS}")
        return f"{self.namespace}.raw.{domain}"

    @property
    def aggregates(self) -> str:
        return f"{self.namespace}.aggregates"

    @property
    def alerts(self) -> str:
        return f"{self.namespace}.alerts"

    @property
    def operator_actions(self) -> str:
        return f"{self.namespace}.operator-actions"

    @property
    def operator_actions_by_area(self) -> str:
        """Operator actions keyed by the alert's area: they reach the worker holding that area's alerts."""
        return f"{self.namespace}.operator-actions.by-area"

    @property
    def replay_status(self) -> str:
        """A replay's job, speed, pause state and position, for the wall's REPLAY banner (empty when live)."""
        return f"{self.namespace}.replay"

    @property
    def replay_control(self) -> str:
        """Pause, resume and seek commands for a replay, from the wall's engineers."""
        return f"{self.namespace}.replay.control"

    @property
    def clock(self) -> str:
        """Declarations of the namespace's trusted clock by its time source (simulator, replay), signed."""
        return f"{self.namespace}.clock"

    @property
    def simulator(self) -> str:
        """The simulator's status (scenario, current stage, speed), signed, for the wall's banner."""
        return f"{self.namespace}.simulator"

    @property
    def workers(self) -> str:
        """Each worker's heartbeat: alive, how far it has read, the broker incarnation it works on."""
        return f"{self.namespace}.workers"

    @property
    def deadletter(self) -> str:
        return f"{self.namespace}.deadletter"

    def checkpoints(self, domain: str) -> str:
        """The worker's per-partition state checkpoints of one raw topic (partition p ↔ raw partition p)."""
        return f"{self.raw(domain)}.checkpoints"

    @staticmethod
    def is_compacted(name: str) -> bool:
        """Topics read for their latest value per key (checkpoints per partition, alerts per id): compacted,
        so a takeover reads little however long the system has run."""
        return name.endswith((".checkpoints", ".alerts", ".clock", ".workers", ".simulator"))

    def all_raw(self) -> list[str]:
        return [self.raw(d) for d in DOMAINS]

    def layout(self, raw_partitions: int) -> dict[str, int]:
        """Every topic of the namespace with its partition count, for creating them up front."""
        topics = dict.fromkeys(self.all_raw(), raw_partitions)
        topics.update({self.checkpoints(d): raw_partitions for d in DOMAINS})
        topics.update({self.aggregates: raw_partitions, self.alerts: 1, self.operator_actions: 1})
        topics[self.operator_actions_by_area] = raw_partitions
        topics[self.deadletter] = 1
        topics[self.replay_status] = 1
        topics[self.replay_control] = 1
        topics[self.clock] = 1
        topics[self.workers] = 1
        topics[self.simulator] = 1
        return topics
