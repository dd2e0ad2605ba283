"""Hospital indicators from card taps: arrivals in the last hour, patients waiting for the clinic, and the
average and p90 wait from registration to the clinic call over the last hour (event time)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ioc.clock import HOUR_MS
from ioc.contract import Frame
from ioc.contract.documents import Kind

FORGET_MS = 14 * HOUR_MS  # a card never called by then went home: do not count it as waiting forever
SNAPSHOT_MS = 5 * 60_000  # the alert rules judge a hospital every 5 min of its own event time
# Caps per hospital, far above a real day (the Friendship General's polyclinic is designed for 1,500
# patients a day, facts 'Hospitals'): a flood of valid-looking taps costs bounded memory, oldest go first.
MAX_WAITING = 50_000
MAX_HOUR_EVENTS = 100_000


@dataclass
class HospitalState:
    registered: dict[str, int] = field(default_factory=dict)  # card → registration time, not yet called
    arrivals: deque[int] = field(default_factory=deque)  # registration times, last hour
    waits: deque[tuple[int, int, bool]] = field(default_factory=deque)  # (call time, wait ms, priority)
    watermark: int = 0

    def add(self, frame: Frame) -> None:
        cols = frame.cols
        for card, step, t, prio in zip(
            np.asarray(cols["card"]).tolist(),
            np.asarray(cols["step"]).tolist(),
            np.asarray(cols["dateObserved"]).tolist(),
            np.asarray(cols["priority"]).tolist(),
            strict=True,
        ):
            if step == "register":
                self.registered.pop(card, None)  # re-inserted last: the dict stays oldest first
                self.registered[card] = t
                self.arrivals.append(t)
            elif step == "clinicCall":
                start = self.registered.pop(card, None)
                if start is not None:
                    self.waits.append((t, t - start, bool(prio)))
            self.watermark = max(self.watermark, t)
        self._expire()

    def _expire(self) -> None:
        while len(self.registered) > MAX_WAITING:
            del self.registered[next(iter(self.registered))]
        while len(self.arrivals) > MAX_HOUR_EVENTS:
            self.arrivals.popleft()
        while len(self.waits) > MAX_HOUR_EVENTS:
            self.waits.popleft()
        horizon = self.watermark - HOUR_MS
        while self.arrivals and self.arrivals[0] <= horizon:
            self.arrivals.popleft()
        while self.waits and self.waits[0][0] <= horizon:
            self.waits.popleft()
        stale = [c for c, t in self.registered.items() if t <= self.watermark - FORGET_MS]
        for card in stale:
            del self.registered[card]

    def indicators(self) -> dict[str, Any]:
        waits_min = np.array([w for _, w, _ in self.waits], dtype=np.float64) / 60_000
        return {
            "t": self.watermark,
            "arrivals_h": len(self.arrivals),
            "waiting": len(self.registered),
            "wait_avg_min": round(float(waits_min.mean()), 1) if waits_min.size else None,
            "wait_p90_min": round(float(np.percentile(waits_min, 90)), 1) if waits_min.size else None,
            "called_h": int(waits_min.size),
            "priority_called_h": sum(1 for _, _, p in self.waits if p),
        }


class HealthState:
    """One HospitalState per hospital group (hc.<hospital>); `drain()` gives the changed hospitals."""

    def __init__(self) -> None:
        self.hospitals: dict[str, HospitalState] = {}
        self.dirty: set[str] = set()
        self.snapshots: list[tuple[str, dict[str, Any]]] = []  # final, since the last drain

    def add(self, frame: Frame) -> None:
        hospital = self.hospitals.setdefault(frame.group, HospitalState())
        before = hospital.watermark
        hospital.add(frame)
        self.dirty.add(frame.group)
        if before > 0 and before // SNAPSHOT_MS < hospital.watermark // SNAPSHOT_MS:
            # On the hospital's own event clock, so the rules see the same states in any re-run or replay.
            self.snapshots.append((frame.group, {**self._document(frame.group), "final": True}))

    def export(self, keys: set[tuple[str, str]]) -> dict[str, Any]:
        """Waiting cards, last hour's arrivals and waits of some hospitals, for a partition checkpoint."""
        out = {}
        for _, group in keys:
            h = self.hospitals.get(group)
            if h is not None:
                out[group] = {"registered": h.registered, "arrivals": list(h.arrivals),
                              "waits": list(h.waits), "watermark": h.watermark}  # fmt: skip
        return out

    def restore(self, snap: dict[str, Any]) -> None:
        for group, h in snap.items():
            waits = deque((int(t), int(w), bool(p)) for t, w, p in h["waits"])
            self.hospitals[group] = HospitalState(
                dict(h["registered"]), deque(h["arrivals"]), waits, h["watermark"]
            )

    def forget(self, keys: set[tuple[str, str]]) -> None:
        for _, group in keys:
            self.hospitals.pop(group, None)
            self.dirty.discard(group)
        self.snapshots = [(g, doc) for g, doc in self.snapshots if g in self.hospitals]

    def size(self) -> int:
        """Cards waiting, arrivals and waits of the last hour, over all hospitals (each capped)."""
        return sum(len(h.registered) + len(h.arrivals) + len(h.waits) for h in self.hospitals.values())

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        """Final snapshots taken since the last drain, then each changed hospital's indicators now."""
        out, self.snapshots = self.snapshots, []
        out += [(group, self._document(group)) for group in sorted(self.dirty)]
        self.dirty.clear()
        return out

    def _document(self, group: str) -> dict[str, Any]:
        hospital = group.removeprefix("hc.")
        return {"v": 1, "kind": Kind.HOSPITAL, "group": group, "items": [
            {"id": hospital, **self.hospitals[group].indicators()}]}  # fmt: skip
