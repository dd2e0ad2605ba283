"""Attention on the operators' clock: how long the wall has shown an alert unacknowledged, as a level."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from ioc.contract.documents import AlertStatus
from ioc.settings import Settings

# Level 0: the alert as raised. 1 after IOC_ATTENTION_AFTER_S unacknowledged: the operators' walls repeat the
# pop-up and the sound. 2 after twice that: the next roles (engineer, viewer) are told as well. Whom each
# level is for is said here once, so the page does not decide it.
NOTIFY: tuple[tuple[str, ...], ...] = (("operator",), ("operator",), ("operator", "engineer", "viewer"))
TOP_LEVEL = len(NOTIFY) - 1
EVERY_S = 1.0  # how often levels are re-judged: a level rises with no new record
AFTER_MS = int(Settings.model_fields["attention_after_s"].default * 1000)  # IOC_ATTENTION_AFTER_S's default


class Attention(BaseModel):
    """How much attention an alert asks for now; an alert that is not `raised` (acknowledged or later) asks
    for none."""

    level: int = Field(description="0 as raised, 1 after IOC_ATTENTION_AFTER_S unacknowledged, 2 after twice")
    unacknowledged_s: float = Field(description="wall-clock seconds since the wall first showed it raised")
    since: int | None = Field(description="wall-clock ms the wall first showed it raised; None: not raised")
    notify: list[str] = Field(description="the roles whose walls should draw attention to it now")


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class AttentionBook:
    """Per alert id, when this wall first showed it unacknowledged (status raised) in its current stretch."""

    after_ms: int = AFTER_MS
    clock: Callable[[], int] = wall_ms  # wall-clock ms: the operators' time, passed in for tests
    since: dict[str, int] = field(default_factory=dict)

    def seen(self, alert_id: str, status: str, published_ms: int | None = None) -> None:
        """An alert document arrived: raised starts (or keeps) the count, any other status ends it. The count
        starts when the document was published (its record's timestamp) where known: every wall process, and
        a wall started again, then counts alike; never later than now, whatever the publisher's clock says."""
        if status == AlertStatus.RAISED:
            now = self.clock()
            self.since.setdefault(alert_id, now if published_ms is None else min(published_ms, now))
        else:
            self.since.pop(alert_id, None)

    def of(self, alert_id: str, now_ms: int | None = None) -> dict[str, Any]:
        """The alert's attention now, in the shape of `Attention`."""
        since = self.since.get(alert_id)
        if since is None:
            return {"level": 0, "unacknowledged_s": 0.0, "since": None, "notify": []}
        waited = max(0, (self.clock() if now_ms is None else now_ms) - since)
        level = min(TOP_LEVEL, waited // self.after_ms)
        return {
            "level": level,
            "unacknowledged_s": waited / 1000,
            "since": since,
            "notify": list(NOTIFY[level]),
        }

    def keep_only(self, alert_ids: set[str]) -> None:
        """Forget alerts the wall no longer holds."""
        for alert_id in self.since.keys() - alert_ids:
            del self.since[alert_id]

    def clear(self) -> None:
        self.since.clear()


async def keep_up(refresh: Callable[[], int], every_s: float = EVERY_S) -> None:
    """Re-judge the levels every `every_s` until cancelled (the wall state pushes those that rose)."""
    while True:
        await asyncio.sleep(every_s)
        refresh()
