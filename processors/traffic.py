"""Traffic indicators: per lane detector, 5-minute event-time tumbling windows of volume, mean speed and
occupancy, and the congestion level graded from the speed ratio v/vf and the volume (facts 'Traffic')."""

from __future__ import annotations

from dataclasses import astuple, dataclass, field
from typing import Any

import numpy as np

from ioc.city import City
from ioc.contract import Frame
from ioc.contract.documents import Kind
from ioc.contract.schemas import SHORT_FRAME

WINDOW_MS = 5 * 60_000
HOP_MS = 15 * 60_000  # the hopping window: 15 minutes, advancing with every closed 5-minute window
# Speed ratio v/vf lower bounds per level, after the HCM grades in the facts (est.).
LEVELS = ("free", "light", "moderate", "heavy", "severe", "jammed")
RATIO_FLOORS = (0.85, 0.67, 0.50, 0.40, 0.30)  # ratio above floor k → level k; at or below the last → jammed
STANDING_OCCUPANCY = 0.5  # a loop covered half the time with little flow: a standing queue
LOW_FLOW_SHARE = 0.2  # of lane capacity
FEW_READINGS = SHORT_FRAME  # up to this many, a frame's readings are added one by one


def congestion_level(ratio: float, occupancy: float, flow_share: float) -> int:
    """0 free … 5 jammed from the speed ratio; a standing queue (high occupancy, little flow) is at least
    severe even when the few vehicles that pass are not slow; no vehicles and an empty loop is free."""
    if np.isnan(ratio):
        return 4 if occupancy >= STANDING_OCCUPANCY else 0
    level = next((k for k, floor in enumerate(RATIO_FLOORS) if ratio > floor), len(RATIO_FLOORS))
    if occupancy >= STANDING_OCCUPANCY and flow_share < LOW_FLOW_SHARE:
        level = max(level, 4)
    return level


@dataclass
class Window:
    """Sums over one window for every detector of a group."""

    count: np.ndarray
    speed_sum: np.ndarray  # speed × vehicles, for the volume-weighted mean speed
    occ_sum: np.ndarray
    seconds: np.ndarray  # observed seconds (sum of periods)
    periods: np.ndarray  # reports

    @classmethod
    def empty(cls, n: int) -> Window:
        return cls(*(np.zeros(n) for _ in range(5)))

    def __add__(self, other: Window) -> Window:
        return Window(
            self.count + other.count,
            self.speed_sum + other.speed_sum,
            self.occ_sum + other.occ_sum,
            self.seconds + other.seconds,
            self.periods + other.periods,
        )

    def rates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(vehicle-weighted mean speed, occupancy, vehicles per hour); NaN where nothing was observed."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.speed_sum / self.count, self.occ_sum / self.seconds, self.count * 3600 / self.seconds


@dataclass
class TrafficGroup:
    ids: list[str]
    free_flow: np.ndarray
    capacity: np.ndarray  # pcu/h; flow share uses vehicles/h at a motorcycle-heavy 0.45 pcu each
    windows: dict[int, Window] = field(default_factory=dict)
    closed: dict[int, Window] = field(default_factory=dict)  # the last closed windows, for the hopping window
    rows: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.rows = {sid: i for i, sid in enumerate(self.ids)}

    def add(self, frame: Frame) -> None:
        ids = np.asarray(frame.cols["id"]).tolist()
        if len(ids) <= FEW_READINGS and len(set(ids)) == len(ids):
            self._add_each(frame, ids)
        else:
            self._add_columns(frame)

    def _add_each(self, frame: Frame, ids: list[str]) -> None:
        """A junction's few lanes one by one: each numpy step costs about a microsecond whatever its length,
        and the column path takes a dozen of them (its cost was most of a traffic frame's). The same sums,
        added in the same order (one reading per detector), so the same bits."""
        cols, n = frame.cols, len(self.ids)
        for sid, t, count, speed, occ, period in zip(
            ids,
            *(
                np.asarray(cols[name]).tolist()
                for name in ("dateObserved", "intensity", "averageVehicleSpeed", "occupancy", "period")
            ),
            strict=True,
        ):
            start = t // WINDOW_MS * WINDOW_MS
            w = self.windows.get(start) or self.windows.setdefault(start, Window.empty(n))
            r = self.rows[sid]
            w.count[r] += count
            w.speed_sum[r] += (speed if speed == speed else 0.0) * count  # null (NaN): no vehicle passed
            w.occ_sum[r] += occ * period
            w.seconds[r] += period
            w.periods[r] += 1

    def _add_columns(self, frame: Frame) -> None:
        rows = np.fromiter((self.rows[s] for s in frame.cols["id"]), dtype=np.int64, count=frame.n)
        starts = np.asarray(frame.cols["dateObserved"], dtype=np.int64) // WINDOW_MS * WINDOW_MS
        count = np.asarray(frame.cols["intensity"], dtype=np.float64)
        speed = np.nan_to_num(np.asarray(frame.cols["averageVehicleSpeed"], dtype=np.float64))
        occ = np.asarray(frame.cols["occupancy"], dtype=np.float64)
        period = np.asarray(frame.cols["period"], dtype=np.float64)
        n = len(self.ids)
        # A detector reports once per tick: a frame nearly always falls in one window.
        windows = [int(starts[0])] if starts.min() == starts.max() else np.unique(starts).tolist()
        for start in windows:
            sel = starts == start
            w = self.windows.get(start) or self.windows.setdefault(start, Window.empty(n))
            r, c = rows[sel], count[sel]
            # bincount sums repeated rows like np.add.at, several times faster.
            w.count += np.bincount(r, c, n)
            w.speed_sum += np.bincount(r, speed[sel] * c, n)
            w.occ_sum += np.bincount(r, occ[sel] * period[sel], n)
            w.seconds += np.bincount(r, period[sel], n)
            w.periods += np.bincount(r, minlength=n)

    def close(self, start: int) -> list[dict[str, Any]]:
        """Summarise a window for the last time, with the 15-minute window hopping by 5 that ends with it."""
        items = self.summarise(start)
        self.closed[start] = self.windows.pop(start)
        starts = range(start + WINDOW_MS - HOP_MS, start + 1, WINDOW_MS)
        parts = [self.closed[s] for s in starts if s in self.closed]
        hop = sum(parts[1:], parts[0])
        speed, occupancy, volume_h = hop.rates()
        for item in items:
            i = self.rows[item["id"]]
            item["hop"] = {
                "window": [start + WINDOW_MS - HOP_MS, start + WINDOW_MS],
                "windows": len(parts),  # fewer than 3 after a start or a gap
                "volume_h": round(float(volume_h[i])),
                "speed": None if np.isnan(speed[i]) else round(float(speed[i]), 1),
                "occupancy": round(float(occupancy[i]), 3),
            }
        keep_from = start + 2 * WINDOW_MS - HOP_MS  # what the next window's hop still needs
        for old in [s for s in self.closed if s < keep_from]:
            del self.closed[old]
        return items

    def summarise(self, start: int) -> list[dict[str, Any]]:
        w = self.windows[start]
        speed, occupancy, volume_h = w.rates()
        ratio = speed / self.free_flow
        share = volume_h * 0.45 / self.capacity
        items = []
        for i, sid in enumerate(self.ids):
            if w.periods[i] == 0:
                continue
            level = congestion_level(float(ratio[i]), float(occupancy[i]), float(share[i]))
            items.append(
                {
                    "id": sid,
                    "t": start,
                    "window_ms": WINDOW_MS,
                    "volume_h": round(float(volume_h[i])),
                    "vehicles": int(w.count[i]),
                    "speed": None if np.isnan(speed[i]) else round(float(speed[i]), 1),
                    "ratio": None if np.isnan(ratio[i]) else round(float(ratio[i]), 3),
                    "occupancy": round(float(occupancy[i]), 3),
                    "level": level,
                    "congestion": LEVELS[level],
                }
            )
        return items

    def close_before(self, watermark: int, lateness_ms: int) -> list[int]:
        """Window starts that can no longer change (their end + lateness is behind the watermark)."""
        return sorted(s for s in self.windows if s + WINDOW_MS + lateness_ms <= watermark)


def _windows(snap: dict[str, Any]) -> dict[int, Window]:
    return {int(s): Window(*np.asarray(w, dtype=np.float64)) for s, w in snap.items()}


class TrafficState:
    """Per group windows; `drain()` gives the changed groups' latest windows (final and provisional)."""

    def __init__(self, city: City, lateness_ms: int) -> None:
        self.city = city
        self.lateness_ms = lateness_ms
        self.groups: dict[str, TrafficGroup] = {}
        self.watermark: dict[str, int] = {}
        self.dirty: set[str] = set()

    def _group(self, name: str) -> TrafficGroup:
        g = self.groups.get(name)
        if g is None:
            sensors = self.city.groups[("TrafficFlowObserved", name)]
            g = self.groups[name] = TrafficGroup(
                [s.id for s in sensors],
                np.array([s.props["free_flow_kmh"] for s in sensors], dtype=np.float64),
                np.array([s.props["capacity"] for s in sensors], dtype=np.float64),
            )
        return g

    def add(self, frame: Frame) -> None:
        self._group(frame.group).add(frame)
        t = int(np.max(frame.cols["dateObserved"]))
        self.watermark[frame.group] = max(self.watermark.get(frame.group, 0), t)
        self.dirty.add(frame.group)

    def export(self, keys: set[tuple[str, str]]) -> dict[str, Any]:
        """Open windows and watermark of some groups, for a partition checkpoint."""
        out = {}
        for _, name in keys:
            if name in self.groups:
                g = self.groups[name]
                windows = {str(s): np.stack(astuple(w)) for s, w in g.windows.items()}
                closed = {str(s): np.stack(astuple(w)) for s, w in g.closed.items()}
                out[name] = {"windows": windows, "closed": closed, "watermark": self.watermark[name]}
        return out

    def restore(self, snap: dict[str, Any]) -> None:
        for name, g in snap.items():
            group = self._group(name)
            group.windows = _windows(g["windows"])
            group.closed = _windows(g.get("closed", {}))
            self.watermark[name] = int(g["watermark"])

    def forget(self, keys: set[tuple[str, str]]) -> None:
        for _, name in keys:
            self.groups.pop(name, None)
            self.watermark.pop(name, None)
            self.dirty.discard(name)

    def size(self) -> int:
        """Windows held (open and recently closed); accepted readings lie within lateness of the watermark
        and before the trusted clock's limit, so this is bounded."""
        return sum(len(g.windows) + len(g.closed) for g in self.groups.values())

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        """Each newly closed window once (final), then the group's open window so far (provisional)."""
        out = []
        for name in sorted(self.dirty):
            g = self.groups[name]
            for start in g.close_before(self.watermark[name], self.lateness_ms):
                # Closed and published once: intake refuses anything that would reopen it.
                out.append((name, self._document(name, start, True, g.close(start))))
            if g.windows:
                start = max(g.windows)
                out.append((name, self._document(name, start, False, g.summarise(start))))
        self.dirty.clear()
        return out

    def _document(self, name: str, start: int, final: bool, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "v": 1,
            "kind": Kind.TRAFFIC,
            "group": name,
            "window": [start, start + WINDOW_MS],
            "final": final,
            "items": items,
        }
