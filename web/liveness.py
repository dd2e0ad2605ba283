"""Is the wall telling the truth? From the workers' heartbeats and the feed's own progress: red when no
worker has reported for a while, when a worker's partition has data waiting and its position stands still,
when the feed has lost the broker, or when no new indicator has come for longer than the most frequent
sensors' expected interval allows (the simulator or the devices stopped); and what was lost when the broker
restarted empty, and since when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ioc.contract.documents import HealthStatus, LivenessProblem

BEHIND_STALE = 3  # a partition with data waiting all along for this many stale periods is falling behind


@dataclass
class Progress:
    """A position, since when it has not moved while there was more to read, and since when there has been
    more to read without a break (a worker slower than its input never catches up)."""

    position: int
    stuck_since: int | None = None
    behind_since: int | None = None
    lag: int = 0


def _problem(code: LivenessProblem, since: int | None, **where: Any) -> dict[str, Any]:
    """One reason the data is not current, as /health and the page's banner word it."""
    return {"code": code, **where, "since": since}


@dataclass
class Liveness:
    stale_ms: int
    started_ms: int
    cluster: str | None = None  # the broker the feed reads now
    beats: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # worker → (received, doc)
    progress: dict[tuple[str, str], Progress] = field(default_factory=dict)  # (worker, partition)
    feed_down_since: int | None = None
    loss: dict[str, Any] | None = None  # the last time the broker came back empty
    last_data: int | None = None  # when the last indicator document arrived (real ms)

    def data(self, now_ms: int) -> None:
        """An indicator arrived: data flows."""
        self.last_data = now_ms

    def heartbeat(self, doc: dict[str, Any], now_ms: int) -> None:
        worker = str(doc.get("id", "?"))[:128]
        if self.cluster is not None and doc.get("cluster") not in (None, self.cluster):
            return  # a worker still on the lost broker: its news is about data that no longer exists
        self.beats[worker] = (now_ms, doc)
        for part, pair in dict(doc.get("partitions") or {}).items():
            position, high = [*pair, None, None][:2] if isinstance(pair, list) else (None, None)
            if not isinstance(position, int):
                continue
            held = self.progress.get((worker, part))
            lag = high - position if isinstance(high, int) else 0
            if lag <= 0:
                self.progress[(worker, part)] = Progress(position)
                continue
            if held is None:
                held = self.progress[(worker, part)] = Progress(position, behind_since=now_ms)
            if held.position != position:
                held.position, held.stuck_since = position, None
            elif held.stuck_since is None:
                held.stuck_since = now_ms
            held.behind_since = held.behind_since or now_ms
            held.lag = lag

    def broker_lost(self, now_ms: int, why: str, last_sim_ms: int, cluster: str | None) -> None:
        """Everything before `now_ms` is gone; `last_sim_ms` is the newest event time the wall had shown."""
        self.loss = {"at": now_ms, "last_sim": last_sim_ms or None, "why": why}
        self.cluster = cluster
        self.beats.clear()
        self.progress.clear()
        self.last_data = None

    def verdict(self, now_ms: int, quiet_ms: int | None = None) -> dict[str, Any]:
        """{"status": ok | starting | red, "problems": [{code, ...}], "data_loss": ...}; problems are codes
        the page words in the operator's language. `quiet_ms`: real ms without an indicator after which data
        has stopped (None: none is expected now, a paused replay or one as fast as possible)."""
        problems: list[dict[str, Any]] = []
        if self.feed_down_since is not None and now_ms - self.feed_down_since >= self.stale_ms:
            problems.append(_problem("feed_down", self.feed_down_since))
        if quiet_ms is not None and self.last_data is not None and now_ms - self.last_data >= quiet_ms:
            problems.append(_problem("no_data", self.last_data))
        fresh = {w: doc for w, (at, doc) in self.beats.items() if now_ms - at < self.stale_ms}
        if not fresh:
            last = max((at for at, _ in self.beats.values()), default=None)
            problems.append(_problem("no_worker", last if last is not None else self.started_ms))
        for (worker, part), p in sorted(self.progress.items()):
            if worker not in fresh:
                continue
            where = {"worker": worker, "partition": part, "lag": p.lag}
            if p.stuck_since is not None and now_ms - p.stuck_since >= self.stale_ms:
                problems.append(_problem("worker_stuck", p.stuck_since, **where))
            elif p.behind_since is not None and now_ms - p.behind_since >= BEHIND_STALE * self.stale_ms:
                problems.append(_problem("worker_behind", p.behind_since, **where))
        status: HealthStatus = "red" if problems else "ok"
        only_waiting = not self.beats and all(p["code"] == "no_worker" for p in problems)
        if only_waiting and now_ms - self.started_ms < self.stale_ms:
            status = "starting"  # a worker joins its group after half the session timeout
        return {"status": status, "problems": problems, "data_loss": self.loss, "workers": len(fresh)}
