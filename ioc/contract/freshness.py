"""How often the IOC expects news of each kind of item, and when an item's data is stale ("sống")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ioc.clock import local_day_minute
from ioc.contract.documents import Kind

# The province's data rule: "đúng, đủ, sạch, sống" (correct, complete, clean, live).
# An item is live while its latest data is younger than GRACE of its expected intervals.
GRACE = 2.0
# Real ms the pipeline may add on top (the worker's emit interval, the wall's pushes), scaled by the run's
# speed: at x120 a second of real delay is two simulated minutes.
SLACK_REAL_MS = 3_000

Clock = Literal["sim", "real"]
Since = Literal["t", "window_end"]
Hours = dict[int, tuple[float, float]]  # ISO weekday (1 Monday .. 7 Sunday) → local opening hours
HOUR_MS = 3_600_000
# Outpatient hours (est., after simulators/health.py: from 07:00, the day's queues done by the afternoon,
# Saturday mornings, Sunday closed): card readers tap only then.
OUTPATIENT_HOURS: Hours = {**dict.fromkeys(range(1, 6), (7.0, 16.5)), 6: (7.0, 11.5)}


@dataclass(frozen=True)
class Expected:
    """A kind's item is expected every `every_ms` on `clock` (the IOC's simulated clock, or real time)."""

    every_ms: int
    what: str  # what arrives that often (README, tooltips)
    clock: Clock = "sim"
    grace: float = GRACE
    since: Since = "t"  # the item time its age counts from: its own time, or the end of its window
    hours: Hours | None = None  # expected only within these local hours (age counted from their opening)

    @property
    def stale_ms(self) -> int:
        return int(self.every_ms * self.grace)


MINUTE_MS = 60_000
EXPECTED: dict[str, Expected] = {
    Kind.TRAFFIC: Expected(MINUTE_MS, "a lane detector's 1-min count (its open 5-min window grows)",
                           since="window_end"),
    Kind.AQI: Expected(MINUTE_MS, "an air-quality station's reading (the hourly VN_AQI is recomputed)"),
    Kind.WEATHER: Expected(MINUTE_MS, "a weather station's reading"),
    Kind.WATER: Expected(MINUTE_MS, "a water gauge's reading"),
    Kind.LIGHTING: Expected(MINUTE_MS, "a cabinet's lamp and meter report (through its concentrator)"),
    Kind.HOSPITAL: Expected(15 * MINUTE_MS, "card taps in outpatient hours (none at night, on Sundays)",
                            hours=OUTPATIENT_HOURS),
    Kind.KPI: Expected(MINUTE_MS, "an area's KPIs, recomputed from its indicators"),
    # Judged by the wall in real time (web.liveness): IOC_HEARTBEAT_INTERVAL_S and IOC_FEED_STALE_S.
    Kind.WORKER: Expected(1_000, "a worker's heartbeat", clock="real", grace=10.0),
}  # fmt: skip


def as_of(kind: str, item: dict[str, Any]) -> int | None:
    """The time an item's data is from (None when it carries none)."""
    expected = EXPECTED.get(kind)
    t = item.get("t")
    if expected is None or type(t) is not int:
        return None
    if expected.since == "window_end":
        window = item.get("window_ms")
        t += window if type(window) is int else 0
    return t


def age_ms(kind: str, item: dict[str, Any], now_ms: int) -> int | None:
    """How old the item's data is at `now_ms` (never negative: an open window is current)."""
    t = as_of(kind, item)
    return None if t is None else max(0, now_ms - t)


def stale_after_ms(kind: str, speed: float | None) -> int | None:
    """The age past which an item of `kind` is stale at this speed (simulated s per real s); None when it is
    not judged: an unknown kind, or a run as fast as possible, whose clock is not a pace anything can keep."""
    expected = EXPECTED.get(kind)
    if expected is None:
        return None
    if expected.clock == "real":
        return expected.stale_ms
    if speed is None:
        return None
    return expected.stale_ms + int(SLACK_REAL_MS * speed)


def is_stale(kind: str, item: dict[str, Any], now_ms: int, speed: float | None) -> bool:
    """Whether the item's data is older than its kind's expected interval allows, on the IOC's clock.

    `now_ms` is the clock the wall shows: simulated, so at x120 data ages in simulated time, and a paused
    replay (its clock stands still) ages nothing."""
    expected = EXPECTED.get(kind)
    limit = stale_after_ms(kind, speed)
    t = as_of(kind, item)
    if expected is None or limit is None or t is None:
        return False
    if expected.hours is not None:
        opened = opened_at(expected.hours, now_ms)
        if opened is None:
            return False  # closed: nothing is expected
        t = max(t, opened)  # silent overnight is no fault; silent for long after opening is
    return now_ms - t > limit


def opened_at(hours: Hours, now_ms: int) -> int | None:
    """When today's opening hours began, if `now_ms` is within them (Vietnam time), else None."""
    day, minute = local_day_minute(now_ms)
    span = hours.get(day.isoweekday())
    if span is None or not span[0] * 60 <= minute < span[1] * 60:
        return None
    return now_ms - int(minute * MINUTE_MS) + int(span[0] * HOUR_MS)


def no_data_after_ms(speed: float | None, floor_ms: int) -> int | None:
    """Real ms without any new indicator after which the wall says data has stopped: the most frequent
    kind's stale age in real time at this speed, at least `floor_ms`; None as fast as possible."""
    if speed is None or speed <= 0:
        return None
    sim = min(e.stale_ms for e in EXPECTED.values() if e.clock == "sim")
    return max(floor_ms, int(sim / speed) + SLACK_REAL_MS)


def vocabulary() -> dict[str, Any]:
    """The rule as the page applies it (served in `/api/vocabulary` as `freshness`)."""
    return {
        "grace": GRACE,
        "slackRealMs": SLACK_REAL_MS,
        "expected": {
            str(kind): {
                "everyMs": e.every_ms,
                "staleMs": e.stale_ms,
                "clock": e.clock,
                "since": e.since,
                "hours": e.hours,
                "what": e.what,
            }
            for kind, e in EXPECTED.items()
        },
    }
