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
        """What the LIVE / REPLAY banner shows."""
        ns = self.settings.namespace
        kind = "replay" if ns.startswith("replay-") else "live"
        return {"kind": kind, "speed": self.settings.speed, "namespace": ns}
