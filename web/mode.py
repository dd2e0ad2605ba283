"""What the LIVE / REPLAY banner shows: a replay's own status (job, speed, paused) once it has sent one, else
the simulator's speed (or the configured one); live or replayed, the scenario and stage the simulator plays
(a replay sends the recorded simulator's status again)."""

from __future__ import annotations

import time
from collections.abc import Callable
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


SETTLE_MS = 10_000  # real ms the data must have come at its pace before anything is judged stale


class Banner:
    """Called for every message the hub sends, and by the REST routes that report the mode."""

    def __init__(
        self, settings: Settings, state: WallState, wall: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.state = state
        self.wall = wall
        self._paced_since: float | None = None

    def paced(self) -> bool:
        """Whether staleness is judged: the clock runs at a pace (not paused, not as fast as possible, not a
        warm-up history), the wall has caught up with what the topics held, and has been for SETTLE_MS (a
        history, or a wall started again, arrives unevenly across partitions)."""
        speed, running = pace(self.settings, self.state)
        if not (running and speed is not None and self.state.caught_up):
            self._paced_since = None
            return False
        now = self.wall() * 1000
        self._paced_since = self._paced_since if self._paced_since is not None else now
        return now - self._paced_since >= SETTLE_MS

    def __call__(self) -> dict[str, Any]:
        ns = self.settings.namespace
        speed, _ = pace(self.settings, self.state)
        paced = self.paced()
        if not is_replay(ns):
            sim = self.state.simulator
            history = sim is not None and sim.history
            return {
                "kind": "live",
                "speed": speed,
                "namespace": ns,
                "scenario": self._scenario(),
                "history": history,
                "paced": paced,
            }
        status = self.state.replay
        return {
            "kind": "replay",
            "speed": speed,
            "namespace": ns,
            "job": status.job if status is not None else None,  # None: no word from the replay yet
            "state": status.state if status is not None else None,
            # The recording's span (the seek box's bounds) and whether it can still be sought at its end.
            "span": [status.sim_from, status.sim_to] if status is not None and status.sim_from else None,
            "stays": bool(status is not None and status.stays),
            "scenario": self._scenario(),  # the recorded simulator's, as replayed (None if not recorded)
            "paced": paced,
        }

    def _scenario(self) -> dict[str, Any] | None:
        sim = self.state.simulator
        if sim is None:
            return None
        fields = ScenarioBanner.model_fields
        return ScenarioBanner.model_validate(sim.model_dump(include=set(fields))).model_dump(mode="json")
