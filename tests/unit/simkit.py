"""Runs the real simulation loop in memory for unit tests, reads columns back out of the frames, and folds
the frames through a worker's Pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from ioc.city import City, load_city
from ioc.clock import HOUR_MS, SimClock, parse_start
from ioc.contract import Frame, Rejection, parse
from ioc.contract.deadletter import Source
from ioc.kafka import partition_for
from ioc.settings import Settings
from processors.pipeline import Pipeline
from simulators import domains, runner
from simulators.faults import Record
from simulators.scenario import Scenario


@cache
def city() -> City:
    return load_city()


@dataclass
class Run:
    records: list[Record]
    sim: runner.Simulation
    _parsed: dict[int, tuple[Frame | None, list[Rejection]]] = field(default_factory=dict)

    def parsed(self, key_prefix: str = "") -> list[tuple[Frame | None, list[Rejection]]]:
        """Records (whose key starts with the prefix) through the contract's decoder, as a processor
        would see them; parsed once."""
        prefix = key_prefix.encode()
        out = []
        for i, r in enumerate(self.records):
            if r.key.startswith(prefix):
                if i not in self._parsed:
                    self._parsed[i] = parse(r.value, city().known)
                out.append(self._parsed[i])
        return out

    def frames(self, type_: str | None = None, key_prefix: str = "") -> list[Frame]:
        return [f for f, _ in self.parsed(key_prefix) if f is not None and (type_ is None or f.type == type_)]

    def rejections(self) -> list[Rejection]:
        return [rej for _, rejected in self.parsed() for rej in rejected]


def simulate(
    domain_names: Sequence[str],
    start: str,
    hours: float,
    seed: int = 1,
    scenario: Scenario | None = None,
    scenario_offset_h: float = 0.0,
    **settings: float,
) -> Run:
    """Simulate `hours` from `start` as fast as possible; the scenario is `scenario_offset_h` in already."""
    t0 = parse_start(start)
    sim = domains.build(
        tuple(domain_names),
        city(),
        seed,
        Settings(**settings),  # type: ignore[arg-type]
        scenario,
        t0 - int(scenario_offset_h * HOUR_MS),
    )
    sink = runner.MemorySink()
    asyncio.run(runner.run(sim, sink, SimClock(t0, None), t0, t0 + int(hours * HOUR_MS) - 1))
    return Run(sink.records, sim)


def column(
    frames: Sequence[Frame], name: str, ids: set[str] | None = None, prefix: str = ""
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(event times, values, sensor ids) of one column over frames, optionally for some sensors only."""
    t: list[int] = []
    v: list[object] = []
    who: list[str] = []
    for f in frames:
        for i, sid in enumerate(f.cols["id"]):
            if (ids is None or sid in ids) and sid.startswith(prefix):
                t.append(int(f.cols["dateObserved"][i]))
                v.append(f.cols[name][i])
                who.append(sid)
    return np.array(t, dtype=np.int64), np.array(v), who


def local_hours(t_ms: np.ndarray) -> np.ndarray:
    return ((t_ms / HOUR_MS) + 7) % 24


def cabinet_frames(frames: Sequence[Frame], cabinet: str) -> list[Frame]:
    """One lighting cabinet's readings (its meter, or its lamps `<cabinet>-Lnnn`) from concentrator frames."""
    out = []
    for f in frames:
        ids = np.asarray(f.cols["id"], dtype=str)  # the simulator keeps text as Python strings
        mine = (ids == cabinet) | np.char.startswith(ids, f"{cabinet}-L")
        if mine.any():
            out.append(f.select(mine))
    return out


PIPELINE_SETTINGS = Settings(namespace="unit", partitions=6, allowed_lateness_s=300)


def alerts_drained_every(records: list[Record], every: int | None) -> dict[str, dict[str, Any]]:
    """Final alert documents after folding `records` into a worker's Pipeline, draining its states into the
    area stage every `every` frames."""
    pipeline = Pipeline(PIPELINE_SETTINGS, city())
    offsets: dict[tuple[str, int], int] = {}

    def drain() -> None:
        for _, doc in pipeline.drain_states():
            pipeline.observe(doc)

    for i, r in enumerate(records, 1):
        tp = (pipeline.topics.raw(r.domain), partition_for(r.key, PIPELINE_SETTINGS.partitions))
        offsets[tp] = offsets.get(tp, -1) + 1
        pipeline.take_in(r.domain, r.value, Source(*tp, offsets[tp], r.key))
        if every is not None and i % every == 0:
            drain()
    drain()
    return {a.id: a.document() for a in pipeline.alerts.alerts.values()}
