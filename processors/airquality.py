"""Air quality per sensor group: event-time hourly means in numpy ring buffers and VN_AQI from them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ioc import vn_aqi
from ioc.clock import HOUR_MS
from ioc.contract import POLLUTANTS, Frame

HOURS_KEPT = 26  # 12 for NowCast, 24 for the daily index, and slack for late readings


@dataclass
class StationIndex:
    """Maps a frame's sensor ids to rows of the group's arrays; frames usually list the same ids in order."""

    ids: np.ndarray

    def rows(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) == len(self.ids) and np.array_equal(ids, self.ids):
            return np.arange(len(ids))
        order = np.argsort(self.ids)
        pos = np.searchsorted(self.ids[order], ids).clip(0, len(self.ids) - 1)
        found = self.ids[order][pos] == ids
        return np.where(found, order[pos], -1)


class AirQualityGroup:
    """Hourly (tumbling, event-time) sums and counts per station and pollutant for one group."""

    def __init__(self, station_ids: list[str]) -> None:
        self.index = StationIndex(np.array(station_ids))
        n = len(station_ids)
        self.sums = np.zeros((n, HOURS_KEPT, len(POLLUTANTS)))
        self.counts = np.zeros((n, HOURS_KEPT, len(POLLUTANTS)), dtype=np.int32)
        self.slot_hour = np.full(HOURS_KEPT, -1, dtype=np.int64)
        self.last_t = np.zeros(n, dtype=np.int64)
        self.last = np.full((n, len(POLLUTANTS)), np.nan)

    @property
    def ids(self) -> np.ndarray:
        return self.index.ids

    def add(self, frame: Frame) -> int:
        """Fold a validated frame in; return readings used (readings older than the ring are not)."""
        rows = self.index.rows(frame.cols["id"])
        hours = frame.cols["dateObserved"] // HOUR_MS
        for h in np.unique(hours):
            slot = int(h % HOURS_KEPT)
            if self.slot_hour[slot] < h:  # the slot held an hour that has now left the ring
                self.sums[:, slot] = 0.0
                self.counts[:, slot] = 0
                self.slot_hour[slot] = h
        slots = hours % HOURS_KEPT
        usable = (rows >= 0) & (self.slot_hour[slots] == hours)
        values = np.column_stack([frame.cols.get(p, np.full(frame.n, np.nan)) for p in POLLUTANTS]).astype(
            np.float64
        )
        r, s, v = rows[usable], slots[usable], values[usable]
        present = ~np.isnan(v)
        np.add.at(self.sums, (r, s), np.where(present, v, 0.0))
        np.add.at(self.counts, (r, s), present.astype(np.int32))
        newer = frame.cols["dateObserved"][usable] >= self.last_t[r]
        self.last_t[r[newer]] = frame.cols["dateObserved"][usable][newer]
        self.last[r[newer]] = np.where(present[newer], v[newer], self.last[r[newer]])
        return int(usable.sum())

    @property
    def current_hour(self) -> int:
        return int(self.slot_hour.max())

    def hourly_means(self, hour: int, hours: int) -> dict[str, np.ndarray]:
        """Per pollutant, (stations, hours) hourly means with column 0 = `hour`, going back; NaN = no data."""
        wanted = hour - np.arange(hours)
        slots = wanted % HOURS_KEPT
        held = self.slot_hour[slots] == wanted
        with np.errstate(invalid="ignore", divide="ignore"):
            means = self.sums[:, slots] / self.counts[:, slots]
        means = np.where(held[None, :, None] & (self.counts[:, slots] > 0), means, np.nan)
        return {p: means[:, :, k] for k, p in enumerate(POLLUTANTS)}

    def aqi(self, hour: int | None = None) -> vn_aqi.Result:
        """Hourly VN_AQI (NowCast for PM) with `hour` as the current hour (default: the latest seen)."""
        return vn_aqi.hourly(
            self.hourly_means(self.current_hour if hour is None else hour, vn_aqi.NOWCAST_HOURS)
        )

    def daily(self, day_start_hour: int) -> tuple[vn_aqi.Result, np.ndarray]:
        """Daily VN_AQI (section 2.2.2) of the local day starting at that hour, from the hours held so far,
        and how many hours of PM data each station has (a day is complete at 24)."""
        # hourly_means runs backwards from its first hour; flip to chronological for the 8-hour O3 windows.
        means = {p: m[:, ::-1] for p, m in self.hourly_means(day_start_hour + 23, 24).items()}
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no data that day, stays NaN
            result = vn_aqi.daily(
                np.nanmean(means["pm25"], axis=1),
                np.nanmean(means["pm10"], axis=1),
                np.nanmax(means["o3"], axis=1),
                vn_aqi.max_8h_mean(means["o3"]),
                np.nanmax(means["no2"], axis=1),
                np.nanmax(means["co"], axis=1),
                np.nanmax(means["so2"], axis=1),
            )
        hours = (~np.isnan(means["pm25"]) | ~np.isnan(means["pm10"])).sum(axis=1)
        return result, hours

    def snapshot(self) -> dict[str, Any]:
        return {
            "ids": self.ids.tolist(),
            "sums": self.sums.tolist(),
            "counts": self.counts.tolist(),
            "slot_hour": self.slot_hour.tolist(),
            "last_t": self.last_t.tolist(),
            "last": [[None if np.isnan(x) else float(x) for x in row] for row in self.last],
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> AirQualityGroup:
        g = cls(list(snap["ids"]))
        g.sums = np.asarray(snap["sums"], dtype=np.float64)
        g.counts = np.asarray(snap["counts"], dtype=np.int32)
        g.slot_hour = np.asarray(snap["slot_hour"], dtype=np.int64)
        g.last_t = np.asarray(snap["last_t"], dtype=np.int64)
        g.last = np.asarray(snap["last"], dtype=np.float64)
        return g
