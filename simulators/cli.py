"""`ioc simulate` (live, scaled, as fast as possible, to Kafka or a file, rate-controlled, sharded over
processes) and `ioc scenarios list|show`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import click
import orjson
from aiokafka.errors import KafkaError

from ioc.city import load_city
from ioc.clock import SimClock, local_iso, parse_duration, parse_start
from ioc.kafka import BrokerLost, ensure_topics
from ioc.rate import RatePlan, RateStage, constant, parse_ramp, parse_rate
from ioc.settings import Settings, get_settings
from ioc.signing import load_keys
from ioc.topics import Topics
from ioc.trusted_time import ClockWatch, TimeSource, TrustedClock
from simulators import domains, runner
from simulators import scenario as scenarios_mod
from simulators.status import StatusBeacon

log = logging.getLogger("ioc.simulate")
EXIT_BROKER = 75  # EX_TEMPFAIL: try again on the broker that is there now
PRINT_EVERY_S = 5.0  # progress lines of a load test
REPORT_EVERY_S = 1.0  # --report is rewritten this often while running: a live view, and what a kill leaves
# A load test's model step carries at most this share of a second's lowest target (but never fewer than
# STEP_FLOOR readings, so the small domains stay whole): per-second rates then stay within a few per cent.
STEP_SHARE = 0.02
STEP_FLOOR = 200.0


@dataclass
class Options:
    """The command line as given."""

    seed: int | None
    start: str | None
    duration: str | None
    speed: str | None
    out: Path | None
    live: bool
    scenario_name: str | None
    domain_list: tuple[str, ...]
    rate: str | None
    ramp: str | None
    processes: int
    plan: str | None
    report: Path | None
    quiet: bool


@dataclass
class Plan:
    """Everything a run needs, resolved from options, settings and the scenario's suggestions."""

    seed: int
    start_ms: int
    end_ms: int | None
    speed: float | None
    paced_from: int | None
    scenario: scenarios_mod.Scenario | None
    scenario_ref: str | None  # as given: a library name or a .toml path
    rate: RatePlan | None
    domains: tuple[str, ...]
    shard: tuple[int, int]
    # A load test from 'now': sensor time is the real clock, so sensor-to-screen latency can be measured.
    real_time: bool = False

    def to_json(self) -> str:
        """The plan as one document for a child process; the scenario goes as its reference."""
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "scenario"}
        doc["rate"] = asdict(self.rate) if self.rate is not None else None
        return orjson.dumps(doc).decode()

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """The plan a parent resolved (the scenario loaded again from its reference)."""
        doc = orjson.loads(text)
        rate, ref = doc.pop("rate"), doc["scenario_ref"]
        stages = tuple(RateStage(**stage) for stage in rate["stages"]) if rate else ()
        return cls(
            **{**doc, "domains": tuple(doc["domains"]), "shard": tuple(doc["shard"])},
            scenario=scenarios_mod.load(ref) if ref else None,
            rate=RatePlan(stages, rate["forever"]) if rate else None,
        )


@click.command()
@click.option("--seed", type=int, help="Random seed (default: the scenario's, else IOC_SEED).")
@click.option("--start", help="Simulated start: ISO 8601 (Vietnam time if no zone) or 'now'.")
@click.option(
    "--duration",
    help="Simulated duration, e.g. 90s, 15m, 6h, 2d (default: the scenario's, or forever; with --live "
    "forever: after the scenario the city goes on as normal).",
)
@click.option("--speed", help="Simulated s per real s, or 'max' (default IOC_SPEED; 'max' with --out).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write frames here, no broker.")
@click.option("--live", is_flag=True, help="Warm up IOC_WARMUP_H hours of history fast, then run paced.")
@click.option("--scenario", "scenario_name", help="Scenario name (see `ioc scenarios list`) or .toml path.")
@click.option(
    "--domain",
    "domain_list",
    multiple=True,
    type=click.Choice(domains.AVAILABLE),
    help="Domains (default all).",
)
@click.option(
    "--rate", help="Load test: readings per real second, e.g. 400k (real-time clock, denser sampling)."
)
@click.option("--ramp", help="Load test: stages DURATION:RATE or DURATION:FROM-TO, e.g. 1m:10k-200k,5m:200k.")
@click.option(
    "--processes", type=int, default=1, show_default=True, help="Split the city over this many processes."
)
@click.option("--plan", help="A resolved plan as JSON (set by --processes for its children).", hidden=True)
@click.option(
    "--report", type=click.Path(dir_okay=False, path_type=Path), help="Write the run's figures as JSON."
)
@click.option("--quiet", is_flag=True, help="No progress lines.")
def simulate(**options: Any) -> None:
    """Generate sensor frames for Vinh, Cửa Lò and Hoàng Mai."""
    s = get_settings()
    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    o = Options(**options)
    try:
        plan = Plan.from_json(o.plan) if o.plan else _plan(s, o)
    except (ValueError, scenarios_mod.ScenarioError) as exc:
        raise click.UsageError(str(exc)) from exc
    whole = (0, 1)
    sim = domains.build(
        plan.domains,
        load_city(),
        plan.seed,
        s,
        plan.scenario,
        plan.paced_from or plan.start_ms,  # a live run's scenario begins after the warm-up history
        whole if o.processes > 1 else plan.shard,
        step_at_most=max(STEP_SHARE * plan.rate.lowest, STEP_FLOOR) if plan.rate is not None else None,
    )
    # Targets are checked against the whole city: a shard process rightly lacks the others' sensors.
    bad = sim.unknown_targets() if plan.shard == whole else []
    if bad:
        raise click.UsageError(f"scenario targets that nothing answers to: {', '.join(bad)}")
    if o.processes > 1:
        _fan_out(o.processes, plan, o.report)
        return
    if plan.real_time:  # building the city took a while: start the sensors' clock at the real now
        plan.start_ms = parse_start("now")
    sim.boot = f"sim-{plan.start_ms}"  # deterministic for one start; a restarted live run gets a new one
    clock = SimClock(plan.paced_from or plan.start_ms, plan.speed)
    try:
        stats = asyncio.run(_run(sim, clock, plan, o.out, o.quiet, o.report))
    except (BrokerLost, KafkaError) as exc:
        # Supervised (`ioc up`), a fresh simulator starts on the broker that is there now.
        click.echo(
            f"simulator: the broker is gone or lost its data ({exc!r}); exiting with {EXIT_BROKER}", err=True
        )
        sys.exit(EXIT_BROKER)
    click.echo(f"simulated {local_iso(stats.sim_from_ms)} .. {local_iso(stats.sim_to_ms)}: {stats.summary()}")
    if sim.faults.counts:
        click.echo(f"faults injected: {sim.faults.counts}")
    if o.report is not None:
        _write_report(o.report, stats, plan, sim, running=False)


def _write_report(path: Path, stats: runner.Stats, plan: Plan, sim: runner.Simulation, running: bool) -> None:
    doc = {**stats.report(), "seed": plan.seed, "shard": list(plan.shard), "faults": sim.faults.counts}
    _replace(path, orjson.dumps({**doc, "running": running}))


def _replace(path: Path, data: bytes) -> None:
    """Write whole or not at all: a reader polling the file never sees half of it."""
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


def check_live(s: Settings, start: str | None) -> None:
    """What `ioc up` asks before it starts any process (the `ioc.checks` entry point): the live simulator's
    plan resolves (the scenario exists, parses and names only sensors the city has; the start reads).
    ValueError says what is wrong, naming the option."""
    o = Options(None, start, None, None, None, True, None, (), None, None, 1, None, None, True)
    try:
        plan = _plan(s, o)
    except scenarios_mod.ScenarioError as exc:
        raise ValueError(f"--scenario {s.scenario}: {exc}") from None
    if plan.scenario is not None:
        sim = domains.build(plan.domains, load_city(), plan.seed, s, plan.scenario, plan.start_ms, (0, 1))
        if bad := sim.unknown_targets():
            raise ValueError(f"--scenario {s.scenario}: targets that nothing answers to: {', '.join(bad)}")


def _plan(s: Settings, o: Options) -> Plan:
    scenario_name = o.scenario_name or s.scenario or None
    sc = scenarios_mod.load(scenario_name) if scenario_name else None
    if o.rate and o.ramp:
        raise ValueError("use --rate or --ramp, not both")
    if o.out and o.processes > 1:
        raise ValueError("--processes writes to Kafka; for a file use one process")
    load_test = bool(o.rate or o.ramp)
    start_text = o.start or (sc.start if sc and sc.start and not load_test else None) or s.start
    try:
        start_ms = parse_start(start_text)
    except ValueError as exc:
        raise ValueError(f"--start {start_text!r}: not 'now' nor an ISO 8601 time ({exc})") from None
    # Live, a scenario's end is not the run's: the city goes on after the storm (until Ctrl-C or --duration).
    scenario_s = sc.duration_ms / 1000 if sc and not o.live else None
    dur_s = parse_duration(o.duration) if o.duration else scenario_s
    rate_plan = parse_ramp(o.ramp) if o.ramp else (constant(parse_rate(o.rate), dur_s) if o.rate else None)
    if load_test:
        speed_value: float | None = 1.0  # load tests run on the real clock; the rate sets sampling density
        dur_s = None if rate_plan is None or rate_plan.forever else rate_plan.total_s
    else:
        speed_value = _speed(o.speed, default="max" if o.out else str(s.speed))
    paced_from = None
    if o.live:
        paced_from, start_ms = start_ms, start_ms - int(s.warmup_h * 3_600_000)
    end_ms = (paced_from or start_ms) + int(dur_s * 1000) if dur_s is not None and not load_test else None
    if o.out is None and speed_value is None and end_ms is None:
        raise ValueError("--speed max needs --duration (or --out)")
    return Plan(
        seed=o.seed if o.seed is not None else (sc.seed if sc and sc.seed is not None else s.seed),
        start_ms=start_ms,
        end_ms=end_ms,
        speed=speed_value,
        paced_from=paced_from,
        scenario=sc,
        scenario_ref=scenario_name,
        rate=rate_plan,
        domains=o.domain_list or domains.AVAILABLE,
        shard=(0, 1),
        real_time=load_test and start_text.strip().lower() == "now",
    )


def _speed(text: str | None, default: str) -> float | None:
    value = (text or default).strip().lower()
    if value == "max":
        return None
    speed = float(value)
    if speed <= 0:
        raise ValueError("speed must be positive or 'max'")
    return speed


async def _run(
    sim: runner.Simulation, clock: SimClock, plan: Plan, out: Path | None, quiet: bool, report: Path | None
) -> runner.Stats:
    s = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sink: runner.Sink
    start_ms, other = plan.start_ms, int(s.warmup_other_h * 3_600_000)
    if out is not None:
        sink = runner.FileSink(out)
    else:
        topics = Topics(s.namespace)
        await ensure_topics(s, topics.layout(s.partitions))
        if plan.paced_from is not None:
            # A live run started again (a crash, a broker restart): the history its predecessor already sent
            # is not sent twice; only the gap since it stopped is simulated before going live. Looked up
            # before this run declares its own clock.
            covered = await _covered_until(s)
            if covered is not None and covered > start_ms:
                log.info("a previous run of this namespace got to %s: history goes on from there",
                         local_iso(covered))  # fmt: skip
                start_ms = min(covered, plan.paced_from)
                other = min(other, plan.paced_from - start_ms)
        kafka = runner.KafkaSink(s, topics)
        source = f"simulate:{sim.boot}:{plan.shard[0]}"
        kafka.time_source = TimeSource(kafka.producer, s, load_keys(s).control, source, clock)
        if plan.shard[0] == 0:  # one banner per run, not one per shard
            kafka.status = StatusBeacon(
                kafka.producer, topics.simulator, load_keys(s).control, source, plan.scenario,
                plan.paced_from or plan.start_ms, plan.speed, plan.paced_from,
            )  # fmt: skip
        await kafka.start()
        sink = kafka
    printing = not quiet and plan.rate is not None
    printed = 0.0

    def progress(stats: runner.Stats, target: float | None) -> None:
        nonlocal printed
        if report is not None:
            _write_report(report, stats, plan, sim, running=True)
        if printing and stats.elapsed_s - printed >= PRINT_EVERY_S:
            printed = stats.elapsed_s
            _print_progress(stats, target)

    try:
        stats = await runner.run(
            sim, sink, clock, start_ms, plan.end_ms, plan.paced_from, stop, plan.rate,
            progress if printing or report is not None else None,
            REPORT_EVERY_S if report is not None else PRINT_EVERY_S,
            history_ms={d: other for d in ("traffic", "health", "lighting")},
        )  # fmt: skip
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sink.close(), 30)
    stats.acknowledged(sink.take_latencies())  # the batches close() waited for
    return stats


async def _covered_until(s: Settings) -> int | None:
    """Where the last paced simulator of this namespace had got to, by its clock declaration (or None)."""
    clock = TrustedClock(0)
    watch = ClockWatch(s, clock, load_keys(s).control)
    try:
        await watch.start()
    finally:
        await watch.stop()
    d = clock.declared
    if d is None or not d.source.startswith("simulate:") or not d.speed:
        return None
    return clock.now_ms()


def _print_progress(stats: runner.Stats, target: float | None) -> None:
    recent = stats.seconds[-6:-1] or stats.seconds[-1:]
    achieved = sum(x[1] for x in recent) / max(len(recent), 1)
    click.echo(
        f"t={stats.elapsed_s:6.1f}s target {target or 0:>10,.0f}/s achieved {achieved:>10,.0f}/s "
        f"(overall {stats.rate:,.0f}/s)",
        err=True,
    )


def _fan_out(processes: int, plan: Plan, report: Path | None) -> None:
    """Run `processes` children, each owning a shard of the city and 1/N of the rate; sum their reports
    (every second while they run, into --report, and once they have stopped). SIGINT and SIGTERM are passed
    on to the children, which stop and report, so a stopped fan-out still sums what was sent."""
    reports_dir = (report.parent if report else get_settings().data_dir) / "shards"
    reports_dir.mkdir(parents=True, exist_ok=True)
    paths = [reports_dir / f"shard-{k}-of-{processes}.json" for k in range(processes)]
    for path in paths:
        path.unlink(missing_ok=True)  # never sum a previous run's figures
    children = [subprocess.Popen(_child_argv(_shard(plan, k, processes), paths[k])) for k in range(processes)]

    def forward(signum: int, _: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    while any(c.poll() is None for c in children):
        time.sleep(REPORT_EVERY_S)
        if report is not None:
            _sum_shards(report, processes, paths, running=True)
    codes = [c.wait() for c in children]
    docs = _sum_shards(report, processes, paths, running=False) if report else _read_shards(paths)
    for doc in docs:
        k = doc["shard"][0]
        click.echo(f"shard {k}/{processes}: {doc['readings']:,} readings, {doc['readings_per_s']:,.0f}/s")
    total, elapsed = sum(doc["readings"] for doc in docs), max((d["elapsed_s"] for d in docs), default=0.0)
    click.echo(
        f"all {processes} processes: {total:,} readings in {elapsed:.1f} s "
        f"= {total / max(elapsed, 1e-9):,.0f} readings/s"
    )
    if any(codes):
        raise click.ClickException(f"a simulator process failed: exit codes {codes}")


def _read_shards(paths: list[Path]) -> list[dict[str, Any]]:
    """The shards' reports so far (a shard that has not written one yet is left out)."""
    docs = []
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            docs.append(orjson.loads(path.read_bytes()))
    return docs


def _sum_shards(report: Path, processes: int, paths: list[Path], running: bool) -> list[dict[str, Any]]:
    docs = _read_shards(paths)
    total, elapsed = sum(doc["readings"] for doc in docs), max((d["elapsed_s"] for d in docs), default=0.0)
    summary = {"processes": processes, "readings": total, "elapsed_s": elapsed, "running": running}
    rate = total / elapsed if elapsed else 0.0
    _replace(report, orjson.dumps({**summary, "readings_per_s": rate, "shards": docs}))
    return docs


def _shard(plan: Plan, k: int, processes: int) -> Plan:
    """Shard k of the city with its share of the rate: the whole plan otherwise, so the children run it."""
    return replace(plan, shard=(k, processes), rate=plan.rate.scaled(1 / processes) if plan.rate else None)


def _child_argv(plan: Plan, report: Path) -> list[str]:
    argv = [sys.executable, "-m", "ioc", "simulate", "--plan", plan.to_json()]
    return [*argv, "--quiet", "--report", str(report)]


@click.group()
def scenarios() -> None:
    """The incident scenario library."""


@scenarios.command("list")
def list_scenarios() -> None:
    """Every scenario with its title and length."""
    for name, sc in scenarios_mod.library().items():
        click.echo(f"{name:<28} {sc.duration_ms / 3_600_000:>5g} h  {sc.title}")


@scenarios.command("show")
@click.argument("name")
def show(name: str) -> None:
    """A scenario's description and stages."""
    try:
        click.echo(scenarios_mod.load(name).describe())
    except scenarios_mod.ScenarioError as exc:
        raise click.ClickException(str(exc)) from exc
