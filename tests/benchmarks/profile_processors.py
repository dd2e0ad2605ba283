"""Where a worker's time goes, without Kafka or Faust: the bench_processors workload folded through the
worker's Pipeline in this process (parse, admit into state, drain every emit), profiled by stage, next to the
JSON floor (`orjson.loads` + `numpy.asarray` of every column) on the same records in the same run.

    python -m tests.benchmarks.profile_processors [--hours 1] [--start 2025-10-15T05:00] [--emit-every 50]

Pipeline-only readings/s ÷ the floor says how much of the gap to the floor is the pipeline's own work; the
rest of a worker's gap (bench_processors) is Faust's per-record path and Kafka. --emit-every N drains the
states every N records (a worker drains on its emit timer: at 375k readings/s and 0.1 s, ~160 frames)."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections import Counter, defaultdict

from ioc.clock import parse_start
from ioc.contract.deadletter import Source
from ioc.settings import Settings
from ioc.topics import Topics
from processors.pipeline import Pipeline
from simulators import runner
from tests.benchmarks.bench_processors import WORKLOAD_START, json_floor, own_parse
from tests.benchmarks.bench_simulators import simulate

# Where a function's own time is counted: the first of these its module or name contains.
STAGES = [
    ("orjson / json", ("orjson", "json")),
    ("contract decode + validate", ("ioc/contract",)),
    ("intake (trusted clock, duplicates, lateness)", ("processors/intake",)),
    ("environment state", ("processors/environment", "processors/airquality", "ioc/vn_aqi")),
    ("traffic state", ("processors/traffic",)),
    ("lighting state", ("processors/lighting",)),
    ("health state", ("processors/health",)),
    ("detectors", ("processors/detectors",)),
    ("ledger / checkpoint", ("processors/checkpoint",)),
    ("pipeline glue", ("processors/pipeline",)),
    ("numpy", ("numpy",)),
]


def workload(hours: float, start: str = WORKLOAD_START) -> list[runner.Record]:
    sink = runner.MemorySink()
    settings = Settings(namespace="prof")
    asyncio.run(simulate(settings, sink, parse_start(start), hours))
    return sink.records


def fold(records: list[runner.Record], emit_every: int) -> tuple[int, float]:
    """(readings admitted, seconds) for the whole workload through a fresh Pipeline."""
    p = Pipeline(Settings(namespace="prof"))
    topics, offsets, readings = Topics("prof"), Counter[tuple[str, int]](), 0
    t0 = time.perf_counter()
    for i, r in enumerate(records):
        tp = (topics.raw(r.domain), p.partition_of(r.key.decode()))
        frame, _ = p.take_in(r.domain, r.value, Source(*tp, offsets[tp], r.key))
        offsets[tp] += 1
        readings += len(frame.cols["id"]) if frame is not None else 0
        if i % emit_every == emit_every - 1:
            for _, doc in p.drain_states():
                p.observe(doc)
    return readings, time.perf_counter() - t0


def stage_of(path: str, name: str) -> str:
    where = f"{path}:{name}"
    return next((stage for stage, marks in STAGES if any(m in where for m in marks)), "other")


def main(hours: float, start: str, emit_every: int, top: int) -> None:
    records = workload(hours, start)
    total = sum(len(r.value) for r in records)
    print(f"workload: {hours:g} h from {start} UTC: {len(records):,} frames, {total / 1e6:.0f} MB")
    baselines = {}
    for name, work in (("JSON floor", json_floor), ("own parse", own_parse)):
        t0 = time.perf_counter()
        for r in records:
            work(r.value)
        baselines[name] = time.perf_counter() - t0
    readings, plain_s = fold(records, emit_every)
    print(f"readings: {readings:,}")
    for name, seconds in baselines.items():
        print(f"{name + ':':<30}{readings / seconds:>12,.0f} readings/s")
    print(f"{'pipeline, no Kafka, no Faust:':<30}{readings / plain_s:>12,.0f} readings/s")
    for name, seconds in baselines.items():
        print(f"{'pipeline / ' + name + ':':<30}{seconds / plain_s:>12.2f}")
    profiler = cProfile.Profile()
    profiler.enable()
    fold(records, emit_every)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_stage: dict[str, float] = defaultdict(float)
    for (path, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_stage[stage_of(path, name)] += own
    whole = sum(by_stage.values())
    print("\nown time by stage (cProfile, which slows pure-Python code more than C):")
    for stage, seconds in sorted(by_stage.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:<46}{seconds:>7.2f} s {100 * seconds / whole:>5.1f} %")
    print(f"\ntop {top} functions by own time:")
    stats.sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0, help="simulated hours of workload (default 1)")
    ap.add_argument(
        "--start",
        default=WORKLOAD_START,
        help=f"UTC start of the workload (default {WORKLOAD_START}: lamps on)",
    )
    ap.add_argument("--emit-every", type=int, default=160, help="records between state drains")
    ap.add_argument("--top", type=int, default=25, help="functions listed by own time")
    args = ap.parse_args()
    main(args.hours, args.start, args.emit_every, args.top)
