"""`ioc loadtest`: drive the whole embedded pipeline at a target rate and write a report."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from ioc.clock import parse_duration
from ioc.settings import get_settings


@click.command("loadtest")
@click.option("--rate", help="Readings per second, e.g. 50k (with --duration).")
@click.option("--ramp", help="Stages DURATION:RATE or DURATION:FROM-TO, e.g. 30s:5k-100k,1m:100k.")
@click.option("--duration", help="How long a --rate runs, e.g. 60s.")
@click.option("--processes", type=int, default=1, show_default=True, help="Simulator processes.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for report.json, index.html, the PNG charts and the processes' logs.",
)
@click.option("--drain", default="60s", show_default=True, help="How long the worker may take to catch up.")
@click.option("--baseline", default="5s", show_default=True, help="Length of the raw aiokafka baseline.")
@click.option("--external", is_flag=True, help="Use the broker at IOC_BOOTSTRAP instead of an embedded one.")
def loadtest_command(
    rate: str | None,
    ramp: str | None,
    duration: str | None,
    processes: int,
    report_dir: Path,
    drain: str,
    baseline: str,
    external: bool,
) -> None:
    """Load-test broker, worker and wall: simulators at a target rate, a websocket client timing each new
    reading from sensor to screen, the worker's counters every 0.25 s; report as JSON, PNG and HTML."""
    if bool(rate) == bool(ramp):
        raise click.UsageError("give --rate (with --duration) or --ramp")
    if rate and not duration:
        raise click.UsageError("--rate needs --duration")
    from ioc.ops.loadtest import report as loadreport  # matplotlib and the metrics parser: only when it runs
    from ioc.ops.loadtest import run as loadtest

    plan = loadtest.Plan(rate, ramp, duration, processes, parse_duration(drain), parse_duration(baseline))
    raw = loadtest.run(get_settings(), plan, report_dir, embedded_broker=not external)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "raw.json").write_bytes(orjson.dumps(raw))
    report = loadreport.build(raw)
    loadreport.write(report, report_dir)
    s, e = report["summary"], report["errors"]
    click.echo(
        f"target {s['target_mean_per_s'] or 0:,.0f}/s, achieved {s['achieved_mean_per_s'] or 0:,.0f}/s "
        f"(x{s['achieved_over_target'] or 0:.3f}); {s['readings_sent']:,} readings sent, "
        f"{s['readings_taken_in']:,} taken in"
    )
    e2e, prod = s["e2e_latency_ms"], s["produce_latency_ms"]
    click.echo(
        f"sensor -> websocket p50 {e2e['p50']} p95 {e2e['p95']} p99 {e2e['p99']} ms "
        f"({e2e['count']:,} readings); producer ack p50 {prod['p50']} p99 {prod['p99']} ms"
    )
    click.echo(
        f"lag max {s['lag_max_readings']:,.0f} readings / {s['lag_max_seconds']:.2f} s; "
        f"sent {s['sent_mb_per_s']} MB/s = x{s['sent_over_baseline']} of raw aiokafka "
        f"({report['baseline']['mb_per_s']} MB/s); errors {e}"
    )
    click.echo(f"report: {report_dir / 'index.html'}")
    if e["simulators_exit"] != 0 or not e["drained"]:
        raise SystemExit(1)
