"""Simulated time: a clock that runs scaled to real time or as fast as possible, and Vietnam's time zone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Vietnam has no daylight saving time
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def parse_start(text: str, now: Callable[[], float] = time.time) -> int:
    """Epoch ms of 'now', or of an ISO 8601 time; a time without a zone is read as Vietnam time."""
    if text.strip().lower() == "now":
        return int(now() * 1000)
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VN_TZ)
    return int(dt.timestamp() * 1000)


def parse_duration(text: str) -> float:
    """Seconds in '90', '90s', '15m', '6h', '2d' or combinations like '1h30m'."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    if not text:
        raise ValueError("empty duration")
    if text.replace(".", "", 1).isdigit():
        return float(text)
    total, num = 0.0, ""
    for ch in text:
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total += float(num) * units[ch]
            num = ""
        else:
            raise ValueError(f"bad duration {text!r}; use e.g. 90s, 15m, 6h, 2d, 1h30m")
    if num:
        raise ValueError(f"bad duration {text!r}: trailing number without unit")
    return total


def local_day_minute(t_ms: int) -> tuple[date, float]:
    """Vietnam calendar day at t, and the minute of that day (fractional)."""
    local_ms = t_ms + 7 * HOUR_MS
    return date.fromordinal(_EPOCH_ORDINAL + int(local_ms // DAY_MS)), (local_ms % DAY_MS) / 60_000


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def local_iso(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, VN_TZ).isoformat(timespec="seconds")


class SimClock:
    """Simulated epoch-ms time. `speed` simulated seconds pass per real second; speed None = as fast as
    possible (time moves only when the simulation advances it). Real time and sleep are injectable."""

    def __init__(
        self,
        start_ms: int,
        speed: float | None = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive, or None for as fast as possible")
        self.speed = speed
        self._monotonic = monotonic
        self._sleep = sleep
        self._anchor_sim = start_ms
        self._anchor_real = monotonic()
        self._manual = start_ms

    @property
    def as_fast_as_possible(self) -> bool:
        return self.speed is None

    def now_ms(self) -> int:
        if self.speed is None:
            return self._manual
        return self._anchor_sim + int((self._monotonic() - self._anchor_real) * 1000 * self.speed)

    def set_speed(self, speed: float | None) -> None:
        """Change speed from the current simulated instant (used by replay pause/resume and ramps)."""
        now = self.now_ms()
        self.speed = speed
        self._anchor_sim, self._anchor_real, self._manual = now, self._monotonic(), now

    async def wait_until(self, sim_ms: int) -> None:
        """Return once simulated time reaches sim_ms (immediately when running as fast as possible)."""
        if self.speed is None:
            self._manual = max(self._manual, sim_ms)
            return
        while (ahead := sim_ms - self.now_ms()) > 0:
            await self._sleep(ahead / 1000 / self.speed)  # type: ignore[misc]
