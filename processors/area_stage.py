"""The area stage: indicator documents keyed by area reach one worker, which keeps the area's KPIs and
alerts; operator actions from the wall are passed on keyed by their alert's area and applied there. Every
document between the stages must carry the processors' (or the wall's) signature; one that cannot be
processed is dead-lettered with its reason and the stage goes on."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
import orjson

from ioc.contract import Reason
from ioc.contract.deadletter import Source, refusal
from ioc.contract.documents import Kind
from ioc.kafka import read_all
from processors import areas, metrics
from processors.alerts import ActionError
from processors.outlet import Outlet
from processors.pipeline import Pipeline

log = logging.getLogger("ioc.areas")


class AreaStage:
    """The area stage's agents, its emit timer and rebalance handler, over one Pipeline."""

    def __init__(self, app: faust.App, pipeline: Pipeline, outlet: Outlet) -> None:
        self.app, self.pipeline, self.outlet = app, pipeline, outlet
        self._taking = asyncio.Lock()

    def register(self) -> None:
        self.app.agent(self.outlet.actions, name="ioc.operator-actions")(self.operator_actions)
        self.app.agent(self.outlet.area_actions, name="ioc.operator-actions-by-area")(
            self.area_operator_actions
        )
        self.app.agent(self.outlet.aggregates, name="ioc.area-indicators")(self.area_indicators)
        interval = self.pipeline.settings.kpi_interval_s
        self.app.timer(interval=interval, name="ioc.emit-kpis")(self.emit)

    async def _document(self, msg: Any, value: bytes | None, domain: str) -> dict[str, Any] | None:
        """A signed JSON object from the processors or the wall, or None after dead-lettering it."""
        source = Source(msg.topic, msg.partition, msg.offset, msg.key)
        if not self.outlet.verified(msg.topic, msg.key, value, msg.headers):
            detail = "no valid signature of the processors or the wall"
            await self.outlet.dead_letters([refusal(Reason.UNAUTHENTICATED, detail, source, value)], domain)
            return None
        try:
            doc = orjson.loads(value or b"")
            if not isinstance(doc, dict):
                raise ValueError(f"a JSON object was expected, got {type(doc).__name__}")
        except ValueError as exc:
            await self.outlet.dead_letters([refusal(Reason.BAD_DOCUMENT, str(exc), source, value)], domain)
            return None
        return doc

    async def operator_actions(self, stream: faust.StreamT[bytes]) -> None:
        """Acknowledge/assign/comment/resolve from the wall, passed on keyed by the alert's area."""
        async for event in stream.events():
            action = await self._document(event.message, event.value, "operator-actions")
            if action is None:
                continue
            area = areas.of_alert(self.pipeline.city, str(action.get("alert", "")))
            if area is None:
                metrics.ACTIONS.labels("?", "refused").inc()
                log.warning("operator action refused: no alert %r", action.get("alert"))
                continue
            await self.outlet.signed(self.outlet.area_actions, area.encode(), event.value)

    async def area_operator_actions(self, stream: faust.StreamT[bytes]) -> None:
        """Apply operator actions to this worker's alerts; refusals are logged and counted."""
        async for event in stream.events():
            msg = event.message
            action = await self._area_document(msg, event.value, "operator-actions")
            if action is None:
                continue
            try:
                self.pipeline.alerts.act(action)
                metrics.ACTIONS.labels(str(action.get("action"))[:32], "applied").inc()
            except ActionError as exc:
                metrics.ACTIONS.labels("?", "refused").inc()
                log.warning("operator action refused: %s", exc)
            except Exception as exc:  # signed by the wall, so a bug: refused with a reason, the stage goes on
                await self._failed(msg, None, event.value, exc, "operator-actions")
            await self.outlet.alert_documents(self.pipeline.alerts.drain())

    async def area_indicators(self, stream: faust.StreamT[bytes]) -> None:
        """Every indicator of an area: KPIs and rules; alert changes go out at once, KPIs at the next emit."""
        async for event in stream.events():
            msg = event.message
            doc = await self._area_document(msg, event.value, "aggregates")
            if doc is None or doc.get("kind") == Kind.KPI:
                continue  # refused, or this stage's own output
            try:
                self.pipeline.observe(doc)
            except Exception as exc:
                await self._failed(msg, msg.key, event.value, exc, "aggregates")
            await self.outlet.alert_documents(self.pipeline.alerts.drain())

    async def _area_document(self, msg: Any, value: bytes | None, domain: str) -> dict[str, Any] | None:
        """A record of an area partition: its areas' alerts taken over first, then the signed document."""
        if msg.partition not in self.pipeline.areas_taken:
            await self._take_areas(msg.partition)
        return await self._document(msg, value, domain)

    async def _failed(
        self, msg: Any, key: bytes | None, value: bytes | None, exc: Exception, domain: str
    ) -> None:
        """Processing a signed document raised: a bug, refused with its reason; the stage goes on."""
        log.exception("area stage failed on %s:%d@%d", msg.topic, msg.partition, msg.offset)
        source = Source(msg.topic, msg.partition, msg.offset, key)
        letter = refusal(Reason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}", source, value)
        await self.outlet.dead_letters([letter], domain)

    async def _take_areas(self, partition: int) -> None:
        """Before the first indicator or action of an area partition: continue the alerts its previous
        owner published, so an acknowledged alert stays acknowledged and is not raised again (new id)."""
        p = self.pipeline
        async with (
            self._taking
        ):  # indicators and actions of one partition may both arrive first: take it once
            if partition in p.areas_taken:
                return
            log.info(
                "reading the alerts topic to take over areas %s", sorted(p.areas_of_partition(partition))
            )
            records = await read_all(p.settings, p.topics.alerts)
            docs = []
            for r in records:
                if not self.outlet.verified(p.topics.alerts, r.key, r.value, r.headers):
                    metrics.REFUSED.labels(p.topics.alerts, str(Reason.UNAUTHENTICATED)).inc()
                    continue
                try:
                    doc = orjson.loads(r.value or b"null")
                except orjson.JSONDecodeError:
                    continue  # signed but unreadable: a bug, and the wall dead-letters it
                if isinstance(doc, dict):
                    docs.append(doc)
            open_ = p.take_over(partition, docs)
            mine = sorted(p.areas_of_partition(partition))
        log.info("read %d alert documents (%d signed)", len(records), len(docs))
        if open_:
            log.info("took over areas %s with %d alerts not yet resolved", mine, open_)

    async def emit(self) -> None:
        """The KPIs that changed since the last emit, and alert changes not yet sent."""
        p = self.pipeline
        await self.outlet.documents(p.drain_kpis(int(time.time() * 1000)))
        await self.outlet.alert_documents(p.alerts.drain())

    def revoked(self, revoked: set[Any]) -> None:
        """Aggregates partitions gone to another worker: their areas' alerts are its now."""
        for tp in revoked:
            if tp.topic == self.pipeline.topics.aggregates:
                self.pipeline.give_up(tp.partition)
