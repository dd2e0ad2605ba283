"""`ioc simulate`: run the simulators into Kafka, live or as fast as possible, or into a file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import click

from ioc.city import load_city
from ioc.clock import SimClock, local_iso, parse_duration, parse_start
from ioc.kafka import ensure_topics
from ioc.settings import get_settings
from ioc.topics import Topics
from simulators import domains, runner

log = logging.getLogger("ioc.simulate")


@click.command()
@click.option("--seed", type=int, help="Random seed (default IOC_SEED). Same seed + start → same stream.")
@click.option("--start", help="Simulated start: ISO 8601 (Vietnam time if no zone) or 'now'.")
@click.option("--duration", help="Simulated duration, e.g. 90s, 15m, 6h, 2d. Default: until stopped.")
@click.option("--speed", help="Simulated s per real s, or 'max' (default IOC_SPEED; 'max' with --out).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write frames here, no broker.")
@click.option(
    "--live", is_flag=True, help="Warm up IOC_WARMUP_H hours of history fast, then run in real time."
)
@click.option("--domain", "domain_list", multiple=True, help=f"Domains to simulate: {domains.AVAILABLE}.")
def simulate(
    seed: int | None,
    start: str | None,
    duration: str | None,
    speed: str | None,
    out: Path | None,
    live: bool,
    domain_list: tuple[str, ...],
) -> None:
    """Generate sensor frames for Vinh, Cửa Lò and Hoàng Mai."""
    s = get_settings()
    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    seed = s.seed if seed is None else seed
    start_ms = parse_start(start or s.start)
    rate = _speed(speed, default="max" if out else str(s.speed))
    end_ms = start_ms + int(parse_duration(duration) * 1000) if duration else None
    paced_from = None
    if live:
        paced_from, start_ms = start_ms, start_ms - int(s.warmup_h * 3_600_000)
    if out is None and rate is None and end_ms is None:
        raise click.UsageError("--speed max needs --duration (or --out)")
    models = domains.build(domain_list or domains.AVAILABLE, load_city(), seed, s)
    clock = SimClock(paced_from or start_ms, rate)
    stats = asyncio.run(_run(models, clock, start_ms, end_ms, paced_from, out))
    click.echo(f"simulated {local_iso(stats.sim_from_ms)} .. {local_iso(stats.sim_to_ms)}: {stats.summary()}")


def _speed(text: str | None, default: str) -> float | None:
    value = (text or default).strip().lower()
    if value == "max":
        return None
    speed = float(value)
    if speed <= 0:
        raise click.BadParameter("speed must be positive or 'max'")
    return speed


async def _run(
    models: list[runner.Model],
    clock: SimClock,
    start_ms: int,
    end_ms: int | None,
    paced_from: int | None,
    out: Path | None,
) -> runner.Stats:
    s = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sink: runner.Sink
    if out is not None:
        sink = runner.FileSink(out)
    else:
        topics = Topics(s.namespace)
        await ensure_topics(s, topics.layout(s.partitions))
        kafka = runner.KafkaSink(s, topics)
        await kafka.start()
        sink = kafka
    try:
        return await runner.run(models, sink, clock, start_ms, end_ms, paced_from, stop)
    finally:
        with contextlib.suppress(Exception):
            await sink.close()
