"""Simulator benchmark: readings/s generated, readings/s produced into the embedded broker, and the raw
aiokafka ceiling for the same records, all measured in one run on one machine.

    python -m tests.benchmarks.bench_simulators [--hours 2] [--start 2025-10-14T18:00]

Generated = every model stepped and every frame encoded, written nowhere. Raw ceiling = the same encoded
records sent by aiokafka alone (batched per partition, as fast as the broker acks them), measured before and
again after the simulator's run (the machine's speed drifts between minutes); the ratio is to their mean.
Produced = the simulator stepping, encoding and sending in one process (`ioc simulate --speed max`)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from ioc.city import load_city
from ioc.clock import HOUR_MS, SimClock, parse_start
from ioc.kafka import BatchProducer, ensure_topics, make_producer, settle
from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from ioc.settings import Settings
from ioc.topics import DOMAINS, Topics
from simulators import domains, runner
from simulators.faults import Record


async def simulate(settings: Settings, sink: runner.Sink, start_ms: int, hours: float) -> runner.Stats:
    sim = domains.build(DOMAINS, load_city(), settings.seed, settings)
    end = start_ms + int(hours * HOUR_MS) - 1
    return await runner.run(sim, sink, SimClock(start_ms, None), start_ms, end)


async def raw_ceiling(settings: Settings, topics: Topics, records: list[Record]) -> float:
    """Seconds for aiokafka alone to deliver the records, batched per topic and partition."""
    producer = make_producer(settings)
    await producer.start()
    try:
        batches = BatchProducer(producer)
        by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
        for r in records:
            by_topic.setdefault(topics.raw(r.domain), []).append((r.key, r.value))
        for topic in by_topic:  # partition metadata before the clock starts
            await batches.send_many(topic, [])
        t0 = time.perf_counter()
        pending = []
        chunk = 2_000  # about what one simulator step hands over
        for topic, recs in by_topic.items():
            for i in range(0, len(recs), chunk):
                pending += await batches.send_many(topic, recs[i : i + chunk])
                pending = await settle(pending, runner.MAX_IN_FLIGHT)
        await asyncio.gather(*pending)
        return time.perf_counter() - t0
    finally:
        await producer.stop()


async def produced(settings: Settings, start_ms: int, hours: float) -> float:
    """Readings/s simulated and delivered, from the first step until the broker has acknowledged the last
    batch. Building the models and starting the producer come before, as the raw ceiling's start does."""
    topics = Topics(settings.namespace)
    sink = runner.KafkaSink(settings, topics)
    await sink.start()
    try:
        for topic in topics.all_raw():  # partition metadata before the clock starts, as for the ceiling
            await sink.batches.send_many(topic, [])
        sim = domains.build(DOMAINS, load_city(), settings.seed, settings)
        end = start_ms + int(hours * HOUR_MS) - 1
        t0 = time.perf_counter()
        stats = await runner.run(sim, sink, SimClock(start_ms, None), start_ms, end)
        await sink.flush()
        return stats.readings / (time.perf_counter() - t0)
    finally:
        await sink.close()


async def main(hours: float, start: str) -> None:
    start_ms = parse_start(start)
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker("127.0.0.1", procs.free_port(), Path(tmp) / "broker.log").start()
        try:
            base = Settings(bootstrap=broker.bootstrap)
            raw_s, sim_s, again_s = (
                base.model_copy(update={"namespace": name})
                for name in ("bench-raw", "bench-sim", "bench-raw2")
            )
            for s in (raw_s, sim_s, again_s):
                await ensure_topics(s, Topics(s.namespace).layout(s.partitions))

            keep = runner.MemorySink()
            gen = await simulate(base, keep, start_ms, hours)
            mb = gen.bytes / 1e6
            per = gen.bytes / gen.readings
            print(f"workload: {hours:g} simulated h from {start}, all four domains,")
            frames = len(keep.records)
            print(f"  {frames:,} frames, {gen.readings:,} readings, {mb:.0f} MB ({per:.0f} B/reading)")
            null = await simulate(base, runner.NullSink(), start_ms, hours)
            print(f"generated (step + encode, no output):  {null.rate:>12,.0f} readings/s")

            raw_t = await raw_ceiling(raw_s, Topics(raw_s.namespace), keep.records)
            raw_rate = gen.readings / raw_t
            print(
                f"raw aiokafka ceiling (same records):    {raw_rate:>12,.0f} readings/s "
                f"({len(keep.records) / raw_t:,.0f} records/s, {mb / raw_t:,.0f} MB/s)"
            )
            out_rate = await produced(sim_s, start_ms, hours)
            print(f"simulated and produced, one process:    {out_rate:>12,.0f} readings/s")
            # The machine's speed drifts from minute to minute: the ceiling is measured again after (into
            # topics of its own, as the first), and the produced rate set against the mean of both.
            again = gen.readings / await raw_ceiling(again_s, Topics(again_s.namespace), keep.records)
            before, raw_rate = raw_rate, (raw_rate + again) / 2
            print(
                f"raw aiokafka ceiling, again after:      {again:>12,.0f} readings/s (mean of both "
                f"{raw_rate:,.0f}; produced / before {out_rate / before:.2f}, / after {out_rate / again:.2f})"
            )
            print(f"produced / raw ceiling (mean):          {out_rate / raw_rate:>12.2f}")
            print(f"produced / generated:                   {out_rate / null.rate:>12.2f}")
            target = 400_000
            verdict = "meets" if out_rate >= target else "misses"
            print(f"target ≥{target:,} readings/s produced from one process: {verdict}")
        finally:
            broker.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=2.0, help="simulated hours per phase (default 2)")
    ap.add_argument("--start", default="2025-10-14T18:00", help="simulated start (evening: every lamp on)")
    args = ap.parse_args()
    asyncio.run(main(args.hours, args.start))
