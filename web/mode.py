"""What the LIVE / REPLAY banner shows: a replay's own status (job, speed, paused) once it has sent one, else
the simulator's speed (or the configured one) and the scenario and stage it plays."""

from __future__ import annotations

from typing import Any

from ioc.contract.documents import ReplayState, ScenarioBanner, is_replay
from ioc.settings import Settings
from web.state import WallState


def pace(settings: Settings, state: WallState) -> tuple[float | None, bool]:
    """The speed of the IOC's clock (simulated s per real s; None as fast as possible) and whether it runs:
    a paused or finished replay's clock stands still, so its data ages nothing."""
    if is_replay(settings.namespace):
        status = state.replay
        if status is None:
            return settings.speed, True
        return status.speed, status.state == ReplayState.PLAYING
    sim = state.simulator
    if sim is None:
        return settings.speed, True
    return sim.speed, not sim.history  # its warm-up history comes as fast as possible: no pace to judge


class Banner:
    """Called for every message the hub sends, and by the REST routes that report the mode."""

    def __init__(self, settings: Settings, state: WallState) -> None:
        self.settings = settings
        self.state = state

    def __call__(self) -> dict[str, Any]:
        ns = self.settings.namespace
        speed, _ = pace(self.settings, self.state)
        if not is_replay(ns):
            sim = self.state.simulator
            history = sim is not None and sim.history
            return {
                "kind": "live",
                "speed": speed,
                "namespace": ns,
                "scenario": self._scenario(),
                "history": history,
            }
        status = self.state.replay
        return {
            "kind": "replay",
            "speed": speed,
            "namespace": ns,
            "job": status.job if status is not None else None,  # None: no word from the replay yet
            "state": status.state if status is not None else None,
        }

    def _scenario(self) -> dict[str, Any] | None:
        sim = self.state.simulator
        if sim is None:
            return None
        fields = ScenarioBanner.model_fields
        return ScenarioBanner.model_validate(sim.model_dump(include=set(fields))).model_dump(mode="json")
