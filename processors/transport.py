"""A Kafka transport tuned for this system: the consumer honours IOC_FETCH_MAX_WAIT_MS instead of Faust's
hard-coded 1500 ms, hands the raw topics' records of each fetch in bulk to the raw stage (not one by one
through Faust's streams), and commits raw partitions only as far as a durable checkpoint covers.

Tansu answers a waiting fetch only when the wait ends, so the wait sets the latency floor of live paths.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from ioc.settings import get_settings
from processors.checkpoint import Ledger


class RawSink(Protocol):
    """Takes the raw topics' records of a fetch (processors.raw_stage.RawStage)."""

    @property
    def topics(self) -> frozenset[str]: ...

    def take_records(
        self, records: Mapping[Any, Sequence[Any]], live: Callable[[Any], bool]
    ) -> Awaitable[dict[Any, int]]: ...


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this attribute when start() builds its Fetcher; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = get_settings().fetch_max_wait_ms
        return consumer

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        # Faust commits what its agents acknowledged; a raw partition's offset must instead stop where the
        # last durable checkpoint ends, or a worker taking over would skip readings the checkpoint lacks.
        ledger: Ledger | None = getattr(self.app, "ledger", None)
        if ledger is None:
            return await super()._commit(offsets)
        plain = {tp: off for tp, off in offsets.items() if tp.topic not in ledger.topics}
        assigned = {(tp.topic, tp.partition) for tp in self.assignment() if tp.topic in ledger.topics}
        ready = ledger.committable(assigned)
        wanted = {**plain, **{TP(t, p): off for (t, p), off in ready.items()}}
        if not wanted:
            return False
        ok = await super()._commit(wanted)
        if ok:
            ledger.committed.update(ready)
        return ok


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:  # noqa: ASYNC109 (Faust's)
        # Faust's getmany yields the fetch record by record into its streams; the raw topics' share goes to
        # the raw stage here in one call, the rest (the area stage's topics) on Faust's way.
        records, active = await super()._wait_next_records(timeout)
        sink: RawSink | None = getattr(self.app, "raw_sink", None)
        if not records or sink is None:
            return records, active
        raw = {tp: batch for tp, batch in records.items() if tp.topic in sink.topics}
        if not raw:
            return records, active
        if self.flow_active and not self.should_stop:
            live = self._live_check(active)
            again = await sink.take_records(raw, live)
            for tp, offset in again.items():
                if live(tp):
                    await self.seek(tp, offset)
            monitor, now = self.app.monitor, time.monotonic()
            for tp in raw:  # Faust's monitor wants each partition's stream alive, or it warns "stream idle"
                if live(tp):  # (aiokafka's highwater asserts the partition is still assigned)
                    monitor.stream_inbound_time[tp] = now
                    monitor.track_tp_end_offset(tp, self.highwater(tp))
        # With the flow stopped (a rebalance) the records are dropped, as Faust's getmany drops them: the
        # partitions are sought back to their committed offsets.
        return {tp: batch for tp, batch in records.items() if tp not in raw}, active

    def _live_check(self, active: Any) -> Callable[[Any], bool]:
        """Whether a partition's records may still be taken: same generation, flow on, still active."""
        generation = self.app.consumer_generation_id

        def live(tp: Any) -> bool:
            return (
                self.flow_active
                and not self.should_stop
                and self.app.consumer_generation_id == generation
                and (active is None or tp in active or tp in self._buffered_partitions)
            )

        return live

    async def commit_checkpointed(self) -> bool:
        """Commit raw partitions up to their checkpoints now, whatever Faust last acknowledged."""
        return await self._thread.commit({})

    async def past_end(self) -> dict[TP, tuple[int, int]]:
        """Assigned partitions whose position is beyond the broker's end (its fetch high watermark; Tansu's
        ListOffsets under-reports), with both: their data may be gone (topics recreated, a stale commit on a
        new broker), which Tansu answers with an empty success, so nothing else would ever notice."""
        out = {}
        for tp in self.assignment():
            high = self.highwater(tp)
            position = await self.position(tp)
            if high is not None and position is not None and position > high:
                out[tp] = (position, high)
        return out

    async def read_again(self, tp: TP) -> None:
        """Forget Faust's bookkeeping of a partition (it drops records below what it has read and ignores
        acknowledgements below its commit), read it from the start and commit 0 on the broker."""
        for book in (self._read_offset, self._committed_offset, self._gap, self._acked, self._acked_index):
            book.pop(tp, None)
        await self.seek(tp, 0)
        # Past the ledger: the stale commit must be replaced, not only raised; on the consumer's own thread
        # and loop (called from the worker's loop, aiokafka's commit crashed: a future of another loop).
        await self._thread.call_thread(faust_aiokafka.AIOKafkaConsumerThread._commit, self._thread, {tp: 0})


class LowLatencyTransport(faust_aiokafka.Transport):
    Consumer = _Consumer
