"""What the LIVE / REPLAY banner shows: a replay's own status (job, speed, paused) once it has sent one, else
the configured speed."""

from __future__ import annotations

from typing import Any

from ioc.contract.documents import is_replay
from ioc.settings import Settings
from web.state import WallState


class Banner:
    """Called for every message the hub sends, and by the REST routes that report the mode."""

    def __init__(self, settings: Settings, state: WallState) -> None:
        self.settings = settings
        self.state = state

    def __call__(self) -> dict[str, Any]:
        ns = self.settings.namespace
        if not is_replay(ns):
            return {"kind": "live", "speed": self.settings.speed, "namespace": ns}
        status = self.state.replay
        if status is None:  # no word from the replay yet
            return {
                "kind": "replay",
                "speed": self.settings.speed,
                "namespace": ns,
                "job": None,
                "state": None,
            }
        return {
            "kind": "replay",
            "speed": status.speed,
            "namespace": ns,
            "job": status.job,
            "state": status.state,
        }
