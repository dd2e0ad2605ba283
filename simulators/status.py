"""The simulator's status for the wall's banner: which scenario plays, its current stage, and the speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from ioc.contract.documents import ScenarioPhase, SimulatorStatus
from ioc.signing import Signer
from simulators.scenario import Scenario

REPEAT_S = 5.0  # the status again this often (real seconds), so a wall started later learns it soon


def status_at(
    source: str,
    scenario: Scenario | None,
    start_ms: int,
    t_ms: int,
    speed: float | None,
    wall_ms: int,
    paced_from: int | None = None,
) -> SimulatorStatus:
    """The status at simulated time `t_ms` of a run whose scenario begins at `start_ms` (and which sends
    its history as fast as possible before `paced_from`)."""
    history = paced_from is not None and t_ms < paced_from
    base: dict[str, Any] = {
        "source": source,
        "speed": speed,
        "sim_ms": t_ms,
        "at": wall_ms,
        "history": history,
    }
    if scenario is None:
        return SimulatorStatus(**base, phase=ScenarioPhase.NONE)
    offset = t_ms - start_ms
    phase = (
        ScenarioPhase.BEFORE
        if offset < 0
        else ScenarioPhase.AFTER
        if offset >= scenario.duration_ms
        else ScenarioPhase.PLAYING
    )
    stage = scenario.stage_at(offset) if phase == ScenarioPhase.PLAYING else None
    return SimulatorStatus(
        **base,
        phase=phase,
        scenario=scenario.name,
        title=scenario.title,
        title_en=scenario.title_en or scenario.title,
        stage=stage.name if stage else None,
        stage_title=stage.title if stage else None,
        stage_title_en=stage.name if stage else None,
        ends_ms=start_ms + scenario.duration_ms,
    )


@dataclass
class StatusBeacon:
    """Publishes the status, signed with the control key, whenever the phase or stage changes and every
    REPEAT_S otherwise; keyed by the source, so the latest per simulator is what counts."""

    producer: AIOKafkaProducer
    topic: str
    signer: Signer
    source: str
    scenario: Scenario | None
    start_ms: int
    speed: float | None
    paced_from: int | None = None  # a live run's history ends here
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    _last: tuple[str, str | None, bool] | None = field(default=None, init=False)
    _sent_at: float = field(default=float("-inf"), init=False)

    async def tick(self, t_ms: int) -> bool:
        """Publish if due at simulated time `t_ms`; whether it did."""
        wall_ms = int(self.wall() * 1000)
        status = status_at(
            self.source, self.scenario, self.start_ms, t_ms, self.speed, wall_ms, self.paced_from
        )
        moment = (str(status.phase), status.stage, status.history)
        if moment == self._last and self.clock() - self._sent_at < REPEAT_S:
            return False
        await self.publish(status)
        self._last, self._sent_at = moment, self.clock()
        return True

    async def publish(self, status: SimulatorStatus) -> None:
        key, value = self.source.encode(), orjson.dumps(status.model_dump(mode="json"))
        headers = self.signer.headers(self.topic, key, value)
        await self.producer.send_and_wait(self.topic, value, key=key, headers=headers)
