"""Everything a request handler may need, built once per server: settings, city, state, hub, feed, tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ioc.auth import TokenBook
from ioc.city import City
from ioc.settings import Settings
from web.feed import Feed
from web.hub import Hub
from web.state import WallState


@dataclass
class WallContext:
    settings: Settings
    city: City
    state: WallState
    hub: Hub
    feed: Feed
    tokens: TokenBook
    allowed_origins: frozenset[str]

    def mode(self) -> dict[str, Any]:
        """What the LIVE / REPLAY banner shows: a replay's own status (job, speed, paused) once it has sent
        one, else the configured speed."""
        ns = self.settings.namespace
        if not ns.startswith("replay-"):
            return {"kind": "live", "speed": self.settings.speed, "namespace": ns}
        status = self.state.replay or {}
        return {
            "kind": "replay",
            "speed": status.get("speed", self.settings.speed),
            "namespace": ns,
            "job": status.get("job"),
            "state": status.get("state"),
        }
