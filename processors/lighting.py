"""Street-lighting indicators per cabinet and area: lamps lit vs the astronomical schedule at Vinh, power,
energy used today, faulty lamps, and cabinets gone silent (offline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ioc import sun
from ioc.city import City
from ioc.clock import DAY_MS
from ioc.contract import Frame
from ioc.contract.documents import Kind

OFFLINE_AFTER_MS = 5 * 60_000  # five missed 1-minute reports (est.)
JUDGE_EVERY_MS = 60_000  # silence is judged for the rules once per minute of each partition's event time
# A cabinet back from silence is judged online for this long: longer than the offline rule's clear hold
# (processors/alerts.py), so the rule sees it stay back before it clears.
BACK_JUDGED_MS = 10 * 60_000
VN_OFFSET_MS = 7 * 3_600_000
LIT = np.array(["on", "low", "bootingUp"])


@dataclass
class Cabinet:
    id: str
    area: str
    lamps: int
    t: int = 0  # last report of any kind
    lit: int = 0
    faulty: int = 0
    reported: int = 0
    kw: float | None = None
    energy: float | None = None  # meter, kWh
    day_start_energy: float | None = None
    day: int | None = None

    def lamps_report(self, t: int, reported: int, lit: int, faulty: int) -> None:
        self.t = max(self.t, t)
        self.reported, self.lit, self.faulty = reported, lit, faulty

    def meter_report(self, t: int, kw: float, energy: float) -> None:
        self.t = max(self.t, t)
        self.kw, self.energy = kw, energy
        day = (t + VN_OFFSET_MS) // DAY_MS
        # A new day, or a meter that went backwards (replaced, reset): today's count starts from here.
        if day != self.day or self.day_start_energy is None or energy < self.day_start_energy:
            self.day, self.day_start_energy = day, self.energy

    def document(self, now: int) -> dict[str, Any]:
        expected = sun.lights_expected(self.t) if self.t else None
        online = now - self.t < OFFLINE_AFTER_MS
        ratio = self.lit / self.reported if self.reported else None
        today = None
        if self.energy is not None and self.day_start_energy is not None:
            today = round(self.energy - self.day_start_energy, 2)
        return {
            "id": self.id,
            "t": self.t,
            "online": online,
            "lamps": self.lamps,
            "lit": self.lit,
            "faulty": self.faulty,
            "on_ratio": None if ratio is None else round(ratio, 3),
            "expected_on": expected,
            # Lamps that should be lit and are, or should be dark and are; None in the switching margin.
            "schedule_ok": None
            if expected is None or ratio is None
            else round(ratio if expected else 1 - ratio, 3),
            "kw": self.kw,
            "kwh_today": today,
        }


class LampCounts:
    """One concentrator's lamp counts per cabinet (reported, lit, faulty). The intake hands a group's
    unchanged id, state and status columns on as the same arrays, so each count is computed again only when
    its column changed: most minutes no lamp switches or fails."""

    def __init__(self, lamp_ids: np.ndarray, lamp_cabinet: np.ndarray) -> None:
        self._lamp_ids, self._lamp_cabinet = lamp_ids, lamp_cabinet
        self._ids: np.ndarray | None = None
        self._states: np.ndarray | None = None
        self._statuses: np.ndarray | None = None
        self.cab = np.empty(0, dtype=np.int64)
        self.rows: list[int] = []  # cabinets with a lamp in the frame
        self.reported: list[int] = []
        self.lit: list[int] = []
        self.faulty: list[int] = []

    def of(self, cols: dict[str, Any]) -> tuple[list[int], list[int], list[int], list[int]]:
        ids, states, statuses = cols["id"], cols["powerState"], cols["status"]
        fresh = ids is not self._ids
        if fresh:
            self.cab = self._lamp_cabinet[np.searchsorted(self._lamp_ids, ids)]
            rows, inverse, reported = np.unique(self.cab, return_inverse=True, return_counts=True)
            self._inverse, self._groups = inverse, len(rows)
            self.rows, self.reported, self._ids = rows.tolist(), reported.tolist(), ids
        if fresh or states is not self._states:
            lit = (np.asarray(states)[:, None] == LIT).any(axis=1)
            self.lit = np.bincount(self._inverse, lit, self._groups).astype(int).tolist()
            self._states = states
        if fresh or statuses is not self._statuses:
            bad = np.asarray(statuses) != "ok"
            self.faulty = np.bincount(self._inverse, bad, self._groups).astype(int).tolist()
            self._statuses = statuses
        return self.rows, self.reported, self.lit, self.faulty


@dataclass
class LightingState:
    """Cabinets by area; the watermark (latest event time seen in the domain) decides who is offline."""

    city: City
    # Event time to judge silence against; default: the latest reading seen. The worker passes the intake's
    # low watermark, so cabinets on a partition that lags during a catch-up are not called offline.
    clock: Callable[[], int | None] | None = None
    # The raw topic partition of a concentrator group: silence judged on a partition's own event clock
    # depends only on that partition's frames, which a re-run or a replay delivers in the same order.
    partition_of: Callable[[str], int] = lambda group: 0
    cabinets: dict[str, Cabinet] = field(default_factory=dict)
    watermark: int = 0
    dirty_areas: set[str] = field(default_factory=set)
    _offline: set[str] = field(default_factory=set)
    partition_clock: dict[int, int] = field(default_factory=dict)
    judged_offline: dict[str, int | None] = field(default_factory=dict)  # → back online since (None: not)
    judgements: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # final, since the last drain

    def __post_init__(self) -> None:
        self._of_partition: dict[int, list[str]] = {}
        for c in self.city.sensors_of("StreetlightControlCabinet"):
            self.cabinets[c.id] = Cabinet(c.id, c.area, int(c.props["lamps"]))
            self._of_partition.setdefault(self.partition_of(c.group), []).append(c.id)
        self._order = list(self.cabinets)  # ids: restore and forget replace the Cabinet objects
        index = {c: i for i, c in enumerate(self._order)}
        lamps = sorted(self.city.sensors_of("Streetlight"), key=lambda s: s.id)
        self._lamp_ids = np.array([s.id for s in lamps])
        self._lamp_cabinet = np.array([index[s.ref] for s in lamps], dtype=np.int64)
        self._lamp_counts: dict[str, LampCounts] = {}  # by concentrator group

    def add(self, frame: Frame) -> None:
        """A concentrator's frame: lamp states counted per cabinet with numpy, or its cabinets' meters."""
        t = np.asarray(frame.cols["dateObserved"], dtype=np.int64)
        if frame.type == "Streetlight":
            counts = self._lamp_counts.get(frame.group)
            if counts is None:
                counts = self._lamp_counts[frame.group] = LampCounts(self._lamp_ids, self._lamp_cabinet)
            rows, reported, lit, faulty = counts.of(frame.cols)
            if t.size and t[0] == t.min() == t.max():  # a concentrator polls its lamps at one time
                latest = [int(t[0])] * len(rows)
            else:
                per_cabinet = np.zeros(len(self._order), dtype=np.int64)
                np.maximum.at(per_cabinet, counts.cab, t)
                latest = per_cabinet[rows].tolist()
            for c, at, n, on, bad in zip(rows, latest, reported, lit, faulty, strict=True):
                cabinet = self.cabinets[self._order[c]]
                cabinet.lamps_report(at, n, on, bad)
                self._touch(cabinet)
        else:
            kw = np.asarray(frame.cols["totalActivePower"], dtype=np.float64).tolist()
            kwh = np.asarray(frame.cols["energyConsumed"], dtype=np.float64).tolist()
            for i, cab_id in enumerate(np.asarray(frame.cols["id"]).tolist()):
                cabinet = self.cabinets[cab_id]
                cabinet.meter_report(int(t[i]), kw[i], kwh[i])
                self._touch(cabinet)
        if t.size:
            self._advance(self.partition_of(frame.group), int(t.max()))

    def _advance(self, partition: int, t: int) -> None:
        """Move a partition's event clock; on each new minute, judge its cabinets' silence (final)."""
        before = self.partition_clock.get(partition, 0)
        if t <= before:
            return
        self.partition_clock[partition] = t
        if before and before // JUDGE_EVERY_MS < t // JUDGE_EVERY_MS:
            self._judge(partition, t // JUDGE_EVERY_MS * JUDGE_EVERY_MS)

    def _judge(self, partition: int, now: int) -> None:
        """Final items for the partition's cabinets that are silent, or came back less than BACK_JUDGED_MS
        ago: the rule raises and clears on these alone."""
        by_area: dict[str, list[dict[str, Any]]] = {}
        for cab_id in self._of_partition.get(partition, ()):
            cabinet = self.cabinets[cab_id]
            offline = bool(cabinet.t) and now - cabinet.t >= OFFLINE_AFTER_MS
            if offline or cab_id in self.judged_offline:
                by_area.setdefault(cabinet.area, []).append({"id": cab_id, "t": now, "online": not offline})
            if offline:
                self.judged_offline[cab_id] = None
            elif cab_id in self.judged_offline:
                back = self.judged_offline[cab_id]
                if back is None:
                    self.judged_offline[cab_id] = now
                elif now - back >= BACK_JUDGED_MS:
                    del self.judged_offline[cab_id]
        for area, items in sorted(by_area.items()):
            doc = {"v": 1, "kind": Kind.LIGHTING, "group": area, "final": True, "items": items}
            self.judgements.append((f"lighting.{area}", doc))

    def now(self) -> int:
        low = self.clock() if self.clock is not None else None
        return self.watermark if low is None else low

    def _touch(self, cabinet: Cabinet) -> None:
        self.watermark = max(self.watermark, cabinet.t)
        self.dirty_areas.add(cabinet.area)

    def _cabinets_of(self, keys: set[tuple[str, str]]) -> set[str]:
        """Cabinet ids of some (type, concentrator group) keys: lamps count for their cabinet."""
        return {
            s.ref if s.type == "Streetlight" else s.id for key in keys for s in self.city.groups.get(key, ())
        }

    def export(self, keys: set[tuple[str, str]]) -> dict[str, Any]:
        """The cabinets behind some concentrators, for a partition checkpoint."""
        return {c: asdict(self.cabinets[c]) for c in sorted(self._cabinets_of(keys))}

    def restore(self, snap: dict[str, Any]) -> None:
        for cab_id, fields in snap.items():
            cabinet = self.cabinets[cab_id] = Cabinet(**fields)
            self.watermark = max(self.watermark, cabinet.t)

    def forget(self, keys: set[tuple[str, str]]) -> None:
        for cab_id in self._cabinets_of(keys):
            old = self.cabinets[cab_id]  # back to "never reported", which is not published
            self.cabinets[cab_id] = Cabinet(old.id, old.area, old.lamps)
            self.judged_offline.pop(cab_id, None)
        for _, group in keys:
            self.partition_clock.pop(self.partition_of(group), None)

    def size(self) -> int:
        """Cabinets (fixed by the city) and silence judgements waiting for the next emit."""
        return len(self.cabinets) + len(self.judgements)

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        # A cabinet going silent changes nothing by itself: look for fresh offline ones on every drain.
        now = self.now()
        offline = {c.id for c in self.cabinets.values() if now - c.t >= OFFLINE_AFTER_MS}
        for cab_id in offline ^ self._offline:
            self.dirty_areas.add(self.cabinets[cab_id].area)
        self._offline = offline
        out, self.judgements = self.judgements, []
        for area in sorted(self.dirty_areas):
            items = [c.document(now) for c in self.cabinets.values() if c.area == area and c.t]
            out.append((f"lighting.{area}", {"v": 1, "kind": Kind.LIGHTING, "group": area, "items": items}))
        self.dirty_areas.clear()
        return out

    def area_summary(self, area: str) -> dict[str, Any]:
        cabs = [c for c in self.cabinets.values() if c.area == area and c.t]
        docs = [c.document(self.now()) for c in cabs]
        lamps = sum(c.reported for c in cabs)
        ok = [d["schedule_ok"] * d["lamps"] for d in docs if d["schedule_ok"] is not None and d["online"]]
        weight = sum(d["lamps"] for d in docs if d["schedule_ok"] is not None and d["online"])
        return {
            "cabinets": len(cabs),
            "offline": sum(not d["online"] for d in docs),
            "lamps": lamps,
            "faulty": sum(c.faulty for c in cabs),
            "schedule_ok": None if not weight else round(float(np.sum(ok)) / weight, 4),
            "kw": round(sum(d["kw"] or 0.0 for d in docs), 1),
            "kwh_today": round(sum(d["kwh_today"] or 0.0 for d in docs), 1),
        }
