"""Everything one worker holds, in one object without Faust or I/O: the intake, each domain's state, the
area stage's KPIs and alerts, and the ledger of what each raw partition's checkpoint covers. The Faust
stages (raw_stage, area_stage) are thin: they read records, call this, and publish what it returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ioc.city import City, load_city
from ioc.contract import Frame
from ioc.contract.deadletter import DeadLetter, Source
from ioc.kafka import partition_for
from ioc.settings import Settings
from ioc.topics import DOMAINS, Topics
from ioc.trusted_time import TrustedClock
from processors import areas
from processors.alerts import AlertBook
from processors.checkpoint import TP, Checkpointed, Ledger
from processors.environment import EnvironmentState
from processors.health import HealthState
from processors.intake import Intake, Parsed
from processors.kpi import KpiBoard
from processors.lighting import LightingState
from processors.traffic import TrafficState


class State(Checkpointed, Protocol):
    def add(self, frame: Frame) -> None: ...

    def drain(self) -> list[tuple[str, dict[str, Any]]]: ...

    def size(self) -> int: ...


class Pipeline:
    """One worker's state and the pure steps over it."""

    def __init__(self, settings: Settings, city: City | None = None) -> None:
        self.settings = settings
        self.city = city or load_city()
        self.topics = Topics(settings.namespace)
        self.partitions = settings.partitions
        lateness_ms = int(settings.allowed_lateness_s * 1000)
        self.intake = Intake(self.city.known, lateness_ms)
        self.trusted = TrustedClock(int(settings.clock_tolerance_s * 1000))
        self.states: dict[str, State] = {
            "environment": EnvironmentState(self.city),
            "traffic": TrafficState(self.city, lateness_ms),
            "health": HealthState(),
            "lighting": LightingState(
                self.city,
                clock=lambda: self.intake.low_watermark(self.topics.raw("lighting")),
                partition_of=self.partition_of,
            ),
        }
        self.kpis = KpiBoard(self.city)  # of the areas whose aggregates partitions this worker owns
        self.alerts = AlertBook()
        self.ledger = Ledger(topics=frozenset(self.topics.all_raw()))
        self.restored: set[TP] = set()  # raw partitions whose checkpoint was looked up since they came
        self.areas_taken: set[int] = set()  # aggregates partitions whose areas' alerts were taken over

    # -- the raw stage ----------------------------------------------------------------------------------

    def partition_of(self, key: str) -> int:
        return partition_for(key.encode(), self.partitions)

    def domain_of(self, topic: str) -> str:
        return next(d for d in DOMAINS if self.topics.raw(d) == topic)

    def admit(self, domain: str, parsed: Parsed, source: Source) -> tuple[Frame | None, list[DeadLetter]]:
        """Fold a parsed frame into its domain's state as far as the intake admits it (the trusted clock,
        duplicates, lateness); return the admitted part and the refusals."""
        frame, letters = self.intake.admit(parsed, source, self.trusted.limit_ms())
        if frame is not None:
            self.states[domain].add(frame)
        return frame, letters

    def parse(self, raw: bytes, source: Source) -> tuple[Parsed | None, list[DeadLetter], int | None]:
        """Decode and check a record (touching no state): the frame if it has a valid reading, the refusals,
        and the group's own partition when the record came on another one (it is sent on, not admitted)."""
        parsed, letters = self.intake.parse(raw, source)
        if parsed is None or parsed.newest is None:
            return None, letters, None
        home = self.partition_of(parsed.valid.group)
        return parsed, letters, (home if home != source.partition else None)

    def take_in(self, domain: str, raw: bytes, source: Source) -> tuple[Frame | None, list[DeadLetter]]:
        """parse, admit and the ledger in one step, as the raw stage does for a record on its group's own
        partition without a clock to re-read (tests)."""
        parsed, letters, elsewhere = self.parse(raw, source)
        frame, more = (
            self.admit(domain, parsed, source) if parsed is not None and elsewhere is None else (None, [])
        )
        key = (frame.type, frame.group) if frame is not None else None
        self.ledger.record((source.topic, source.partition), source.offset, key)
        return frame, letters + more

    def snapshot(self, tp: TP) -> tuple[int, list[bytes]]:
        return self.ledger.snapshot(tp, self.intake, self.states[self.domain_of(tp[0])])

    def restore(self, tp: TP, parts: list[bytes]) -> int:
        return self.ledger.restore(tp, parts, self.intake, self.states[self.domain_of(tp[0])])

    def forget(self, tp: TP) -> None:
        """Drop a raw partition another worker now reads (or that is read again from its start)."""
        self.ledger.forget(tp, self.intake, self.states[self.domain_of(tp[0])])
        self.restored.discard(tp)

    def drain_states(self) -> list[tuple[str, dict[str, Any]]]:
        """The indicator documents that changed, each with its Kafka key: its area (so the area stage of
        one worker sees the whole area), or the state's own key when it has none."""
        return [
            (areas.of_document(self.city, doc) or key, doc)
            for state in self.states.values()
            for key, doc in state.drain()
        ]

    # -- the area stage ---------------------------------------------------------------------------------

    def observe(self, doc: dict[str, Any]) -> None:
        """An indicator document of one of this worker's areas: KPIs and alert rules."""
        self.kpis.observe(doc)
        self.alerts.observe(doc)

    def drain_kpis(self, now_ms: int) -> list[tuple[str, dict[str, Any]]]:
        return [(doc["group"], doc) for _, doc in self.kpis.drain(now_ms)]

    def areas_of_partition(self, partition: int) -> set[str]:
        return {a for a in self.city.areas if self.partition_of(a) == partition}

    def in_areas(self, names: set[str]) -> Callable[[str], bool]:
        return lambda entity: areas.of_entity(self.city, entity) in names

    def take_over(self, partition: int, docs: list[dict[str, Any]]) -> int:
        """Continue the alerts of an aggregates partition's areas from their published documents (of any
        area: the others are left out here); return how many are open."""
        mine = self.areas_of_partition(partition)
        open_ = self.alerts.restore(
            [d for d in docs if areas.of_alert(self.city, str(d.get("id", ""))) in mine]
        )
        self.areas_taken.add(partition)
        return open_

    def give_up(self, partition: int) -> None:
        """An aggregates partition went to another worker: forget its areas' alerts."""
        if partition in self.areas_taken:
            self.alerts.forget(self.in_areas(self.areas_of_partition(partition)))
            self.areas_taken.discard(partition)

    def sizes(self) -> dict[str, int]:
        """Entries held per part of the state (the heartbeat and ioc_state_entries)."""
        sizes = {f"intake_{k}": v for k, v in self.intake.size().items()}
        sizes.update({d: s.size() for d, s in self.states.items()})
        sizes.update(alerts=len(self.alerts.alerts), kpi_entities=self.kpis.size())
        return sizes
