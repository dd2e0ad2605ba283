"""One worker put together: the Faust app, the Pipeline that holds its state, the raw and area stages over
it, and the worker's own watch: the namespace's topics, the broker's identity (a new broker means exit), the
trusted clock, and a heartbeat that tells the wall how far each raw partition is read."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

import orjson

from ioc.contract.documents import Kind
from ioc.kafka import BrokerWatch, ensure_topics, make_client
from ioc.settings import Settings
from ioc.signing import load_keys
from ioc.trusted_time import ClockWatch
from processors import metrics
from processors.app import IocApp, create_app
from processors.area_stage import AreaStage
from processors.outlet import Outlet
from processors.pipeline import Pipeline
from processors.raw_stage import RawStage

log = logging.getLogger("ioc.worker")
EXIT_BROKER_LOST = 75  # EX_TEMPFAIL: the supervisor starts a fresh worker on the new broker


PAST_END_CHECKS = 3  # checks in a row, a second apart


class PastEnd:
    """Which partitions are past their end for sure: at PAST_END_CHECKS checks in a row with neither the
    position nor the broker's high watermark moving. Under load a fetch's high watermark can stand below the
    position for a moment (seen with Tansu at 50k readings/s); sending that partition back to 0 re-read it
    and, through a commit on the wrong event loop, crashed the worker."""

    def __init__(self) -> None:
        self.runs: dict[Any, tuple[tuple[int, int], int]] = {}  # tp → ((position, high), checks seen)

    def confirmed(self, seen: dict[Any, tuple[int, int]]) -> list[Any]:
        runs = {}
        for tp, at in seen.items():
            before, n = self.runs.get(tp, (None, 0))
            runs[tp] = (at, n + 1 if before == at else 1)
        self.runs = runs
        done = [tp for tp, (_, n) in runs.items() if n >= PAST_END_CHECKS]
        for tp in done:
            del self.runs[tp]
        return done


class Watch:
    """The worker's start-up task, its broker check and its heartbeat."""

    def __init__(self, app: IocApp, pipeline: Pipeline, outlet: Outlet, clock_watch: ClockWatch) -> None:
        self.app, self.pipeline, self.outlet, self.clock_watch = app, pipeline, outlet, clock_watch
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}"
        self.broker: BrokerWatch | None = None
        self.past_end = PastEnd()

    def register(self) -> None:
        s = self.pipeline.settings
        self.app.task(self.start)
        self.app.timer(interval=1.0, name="ioc.watch-broker")(self.watch_broker)
        self.app.timer(interval=s.heartbeat_interval_s, name="ioc.heartbeat")(self.heartbeat)

    async def start(self) -> None:
        """At start: the namespace's topics (the clock's included), the broker's identity and the trusted
        clock; then follow the clock's declarations."""
        s, p = self.pipeline.settings, self.pipeline
        await ensure_topics(s, p.topics.layout(s.partitions))
        self.broker = BrokerWatch(await make_client(s))
        await self.broker.check()
        log.info("worker %s on broker %s", self.worker_id, self.broker.known)
        await self.clock_watch.start()
        log.info("trusted clock: %s", p.trusted.describe())
        await self.clock_watch.follow()

    async def confirm_broker(self) -> None:
        """Exit at once if another broker answers: everything this worker holds belongs to the lost one, and
        any checkpoint or commit it wrote now would tell the next worker to skip data that does not exist."""
        if self.broker is None:
            return
        try:
            changed = await self.broker.check()
        except Exception:  # unreachable: nothing can be written either; the next round tries again
            return
        if changed is not None:
            log.error(
                "the broker lost its data: cluster %s is now %s (a restarted memory broker). This worker's "
                "state and offsets belong to the old one; exiting with %d so that a fresh worker starts.",
                self.broker.known, changed, EXIT_BROKER_LOST,
            )  # fmt: skip
            logging.shutdown()
            os._exit(EXIT_BROKER_LOST)

    async def watch_broker(self) -> None:
        """A new broker makes this worker exit; a partition whose position is past its end (topics recreated,
        or a commit a lost broker's worker left) is read again from the start."""
        await self.confirm_broker()
        try:
            seen = await self.app.consumer.past_end()  # type: ignore[attr-defined]
        except Exception as exc:  # a rebalance in progress: the next round looks again
            log.debug("positions not readable now: %s", exc)
            return
        for tp in self.past_end.confirmed(seen):
            log.warning(
                "%s:%d: position past the partition's end; reading it again from 0", tp.topic, tp.partition
            )
            if tp.topic in self.pipeline.ledger.topics:
                self.pipeline.forget((tp.topic, tp.partition))
            await self.app.consumer.read_again(tp)  # type: ignore[attr-defined]

    async def heartbeat(self) -> None:
        """Alive, on which broker, how far each raw partition is read against its end: the wall turns red
        when this stops, or when a partition has data waiting and its position stands still."""
        p, parts = self.pipeline, {}
        try:
            for tp in self.app.consumer.assignment():
                if tp.topic in p.ledger.topics:
                    read = p.ledger.processed.get((tp.topic, tp.partition), 0)
                    parts[f"{tp.topic}:{tp.partition}"] = [read, self.app.consumer.highwater(tp)]
        except Exception as exc:  # the consumer not started yet, or between assignments: alive all the same
            log.debug("partitions not readable now: %s", exc)
        sizes = p.sizes()
        for part, n in sizes.items():
            metrics.STATE.labels(part).set(n)
        doc = {
            "v": 1,
            "kind": Kind.WORKER,
            "id": self.worker_id,
            "at": int(time.time() * 1000),
            "cluster": self.broker.known if self.broker else None,
            "partitions": parts,
            "clock": p.trusted.describe(),
            "state": sizes,
        }
        await self.outlet.signed(self.outlet.workers, self.worker_id.encode(), orjson.dumps(doc))


def build(settings: Settings) -> IocApp:
    """The worker's Faust app with both stages and the watch registered on one Pipeline."""
    app = create_app(settings)
    pipeline = Pipeline(settings)
    app.ledger = pipeline.ledger  # the transport commits raw partitions only up to their checkpoints
    keys = load_keys(settings)
    outlet = Outlet(app, pipeline.topics, keys)
    clock_watch = ClockWatch(settings, pipeline.trusted, keys.control)
    watch = Watch(app, pipeline, outlet, clock_watch)
    watch.register()
    raw = RawStage(app, pipeline, outlet, clock_watch, watch.confirm_broker)
    area = AreaStage(app, pipeline, outlet)
    raw.register()
    area.register()
    app.raw_sink = raw

    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        # One handler, in a fixed order: the areas are let go at once, then the raw partitions are
        # checkpointed for their next owner (the area agents are idle here: Faust waited for them; the raw
        # stage waits for a fetch it is taking in).
        revoked: set[Any] = args[0] if args else kwargs.get("revoked", set())
        area.revoked(revoked)
        await raw.revoked(revoked)

    app.on_partitions_revoked.connect(on_revoked)
    return app
