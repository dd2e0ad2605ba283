"""Everything a request handler may need, built once per server: settings, city, state, hub, feed, tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from ioc.auth import TokenBook
from ioc.city import City
from ioc.settings import Settings
from web.feed import Feed
from web.hub import Hub
from web.mode import Banner
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
    mode: Banner
    store: AsyncEngine  # the operations record, read only (the historian writes it)
