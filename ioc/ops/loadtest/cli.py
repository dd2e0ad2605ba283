"""`ioc loadtest`: drive the whole embedded pipeline at a target rate, judge it against thresholds and write
a report; `ioc loadtest compare A B` sets two reports side by side. Every option and setting is checked, and
the ports are tried, before any process starts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson
from pydantic import ValidationError

from ioc.clock import parse_duration
from ioc.net import port_free
from ioc.ops.broker import api_versions_ok
from ioc.rate import RatePlan, constant, parse_ramp, parse_rate
from ioc.settings import Settings, get_settings

EXIT_CODES = """Exit codes: 0 the run went to its end, its checks passed (simulators succeeded, the worker
took in every reading) and every threshold was met; 1 a check failed, a threshold was missed, or a threshold
could not be judged (too few samples for its percentile); 2 a bad option or setting (nothing was started); 3
the run could not be carried out (a part failed to start or died; a partial report is written); 130 / 143
stopped by SIGINT (Ctrl-C) / SIGTERM (a partial report is written)."""


TEXTS = "ioc.loadtest.texts"


def _checked(parse: Any) -> Any:
    """A click callback that parses an option's text and turns a ValueError into a message naming it."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        ctx.meta.setdefault(TEXTS, {})[param.name] = value  # as typed: the report shows '20k', not 20000.0
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None

    return callback


def _seconds(text: str) -> float:
    value = parse_duration(text)
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    return value


def _percentiles(text: str) -> tuple[float, ...]:
    values = []
    for part in text.split(","):
        try:
            p = float(part)
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a number; use e.g. 50,90,95,99,99.9") from None
        if not 0 < p < 100:
            raise ValueError(f"{part.strip()} is not a percentile between 0 and 100 (exclusive)")
        values.append(p)
    return tuple(sorted(set(values)))


def _slo_text(text: str) -> list[Any]:
    from ioc.ops.loadtest import slo

    return slo.parse(text)


def _slo_file(text: str) -> list[Any]:
    from ioc.ops.loadtest import slo

    try:
        return slo.read(Path(text))
    except OSError as exc:
        raise ValueError(f"cannot read {text}: {exc.strerror}") from None


@click.group("loadtest", invoke_without_command=True, subcommand_metavar="[compare A B]", epilog=EXIT_CODES)
@click.option(
    "--rate", callback=_checked(parse_rate), help="Readings per second, e.g. 50k (with --duration)."
)
@click.option(
    "--ramp",
    callback=_checked(parse_ramp),
    help="Stages DURATION:RATE or DURATION:FROM-TO, e.g. 30s:5k-100k,1m:100k; per-step figures for each.",
)
@click.option("--duration", callback=_checked(_seconds), help="How long a --rate runs, e.g. 60s.")
@click.option(
    "--processes", type=click.IntRange(1, 64), default=1, show_default=True, help="Simulator processes."
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for report.json, index.html (one self-contained page) and the processes' logs.",
)
@click.option(
    "--slo",
    callback=_checked(_slo_text),
    help='Thresholds, e.g. "e2e_p99<1s,lag_max<2s,dropped==0" (README "Load tests" lists the figures).',
)
@click.option("--slo-file", callback=_checked(_slo_file), help="Thresholds from a file, one or more a line.")
@click.option(
    "--percentiles",
    callback=_checked(_percentiles),
    default="50,95,99",
    show_default=True,
    help="Latency percentiles to report, e.g. 50,90,95,99,99.9.",
)
@click.option("--warmup", callback=_checked(_seconds), default="5s", show_default=True,
              help="First seconds of sending left out of the pacing figures.")  # fmt: skip
@click.option(
    "--drain",
    callback=_checked(_seconds),
    default="60s",
    show_default=True,
    help="How long the worker may take to catch up.",
)
@click.option(
    "--baseline",
    callback=_checked(_seconds),
    default="5s",
    show_default=True,
    help="Length of the raw aiokafka baseline (0: none).",
)
@click.option("--external", is_flag=True, help="Use the broker at IOC_BOOTSTRAP instead of an embedded one.")
@click.pass_context
def loadtest_command(ctx: click.Context, **options: Any) -> None:
    """Load-test broker, worker and wall: simulators at a target rate, a websocket client timing each new
    reading from sensor to screen, the worker's counters every 0.25 s, a console line each second; a
    verdict against the thresholds, and a report as JSON and one HTML page."""
    if ctx.invoked_subcommand is not None:
        extra = [k for k in options if ctx.get_parameter_source(k) is not click.core.ParameterSource.DEFAULT]
        if extra:
            option = "--" + extra[0].replace("_", "-")
            raise click.UsageError(f"`loadtest {ctx.invoked_subcommand}` takes no run options (got {option})")
        return
    texts: dict[str, str] = ctx.meta.get(TEXTS, {})
    given = [
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {texts.get(k, v)}")
        for k, v in options.items()
        if v and ctx.get_parameter_source(k) is not click.core.ParameterSource.DEFAULT
    ]
    _run(texts, ["loadtest", *given], **options)


def _run(
    texts: dict[str, str],
    argv: list[str],
    rate: float | None,
    ramp: RatePlan | None,
    duration: float | None,
    processes: int,
    report_dir: Path | None,
    slo: list[Any] | None,
    slo_file: list[Any] | None,
    percentiles: tuple[float, ...],
    warmup: float,
    drain: float,
    baseline: float,
    external: bool,
) -> None:
    if rate is None and ramp is None:
        raise click.UsageError("give --rate (with --duration) or --ramp")
    if rate is not None and ramp is not None:
        raise click.UsageError("give --rate or --ramp, not both")
    if rate is not None and duration is None:
        raise click.UsageError("--rate needs --duration")
    if ramp is not None and duration is not None:
        raise click.UsageError("--duration goes with --rate; a --ramp's stages set its length")
    if duration == 0:
        raise click.UsageError("--duration must be longer than 0 s")
    if report_dir is None:
        raise click.UsageError("give --report DIR: where the report goes")
    s = _settings()
    _ports_free(s, external)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot create {report_dir}: {exc.strerror}", param_hint="--report"
        ) from None
    from ioc.ops.loadtest import figures
    from ioc.ops.loadtest import report as loadreport  # matplotlib and the metrics parser: only when it runs
    from ioc.ops.loadtest import run as loadtest

    thresholds = [*(slo or []), *(slo_file or [])]
    wanted = sorted({*percentiles, *figures.percentiles_in([t.figure.name for t in thresholds])})
    plan = loadtest.Plan(
        rate=texts.get("rate"),
        ramp=texts.get("ramp"),
        duration=texts.get("duration"),
        processes=processes,
        drain_s=drain,
        baseline_s=baseline,
        rate_plan=ramp if ramp is not None else constant(rate or 0.0, duration),
        warmup_s=warmup,
        percentiles=tuple(wanted),
        thresholds=tuple(t.text for t in thresholds),
    )
    say = _say
    if thresholds:
        say("thresholds: " + ", ".join(t.text for t in thresholds))
    loadtest.stop_on_signals()
    raw = loadtest.run(s, plan, report_dir, argv, embedded_broker=not external, say=say)
    (report_dir / "raw.json").write_bytes(orjson.dumps(raw))
    report = loadreport.build(raw)
    loadreport.write(report, report_dir)
    _summary(report, report_dir)
    sys.exit(report["verdict"]["exit_code"])


def _say(text: str) -> None:
    click.echo(text)
    sys.stdout.flush()


def _settings() -> Settings:
    """The IOC_* settings, a wrong one named with its variable instead of a traceback."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"IOC_{str(e['loc'][0]).upper()}={e.get('input')!r}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        )
        raise click.UsageError(f"bad setting: {problems}") from None


def _ports_free(s: Settings, external: bool) -> None:
    """Every port the run would listen on is free, and an external broker answers: found out now, not from a
    child's log half a minute later."""
    ports = [("IOC_WEB_PORT", "the wall", s.web_host, s.web_port),
             ("IOC_WORKER_WEB_PORT", "the worker's metrics", "0.0.0.0", s.worker_web_port)]  # fmt: skip
    if not external:
        ports.insert(0, ("IOC_BROKER_PORT", "the embedded broker", s.broker_host, s.broker_port))
    else:
        host, _, number = s.bootstrap.split(",")[0].rpartition(":")
        if not number.isdigit() or not api_versions_ok(host, int(number)):
            raise click.UsageError(f"--external: no Kafka broker answers at IOC_BOOTSTRAP={s.bootstrap}")
    for variable, what, host, port in ports:
        if not port_free(host, port):
            raise click.UsageError(
                f"port {port} on {host} for {what} is in use (another `ioc up`, broker or load test?); "
                f"stop it or set {variable} to a free port"
            )


def _summary(report: dict[str, Any], report_dir: Path) -> None:
    from ioc.ops.loadtest import page

    v = report["verdict"]
    click.echo("")
    click.echo(page.headline(report))
    for r in report["thresholds"]["results"]:
        note = f"  ({r['note']})" if r["note"] else ""
        click.echo(f"  {r['verdict']:<10} {r['threshold']:<28} measured {r['shown']}{note}")
    for c in report["checks"]:
        if not c["ok"]:
            click.echo(f"  no         {c['check']}: {c['detail']}")
    p = report["pacing"]
    if p.get("seconds"):
        click.echo(
            f"pacing after {p['warmup_s']:g} s: {p['within_band']} of {p['seconds']} seconds within "
            f"±{p['band']:.0%}, sent {p['achieved_min_per_s']:,.0f}-{p['achieved_max_per_s']:,.0f}/s "
            f"(sd {p['achieved_stdev_per_s']:,.0f})"
        )
    colour = {"pass": "green", "fail": "red", "failed": "red"}.get(v["overall"], "yellow")
    click.echo(
        click.style(f"{v['overall'].upper()}: {v['reason']} (exit {v['exit_code']})", fg=colour, bold=True)
    )
    click.echo(f"report: {report_dir / 'index.html'}")


@loadtest_command.command("compare")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option(
    "--tolerance",
    callback=_checked(lambda t: float(t.rstrip("%")) / 100 if t.endswith("%") else float(t)),
    default="10%",
    show_default=True,
    help="A change for the worse beyond this share of A's value (for shares: points) is a regression.",
)
@click.option(
    "--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write an HTML page."
)
def compare_command(a: Path, b: Path, tolerance: float, html_out: Path | None) -> None:
    """Two load-test reports (report.json or its directory) side by side: every figure, per step and domain,
    A, B and the change; regressions marked. Exit 1 if there are regressions, else 0."""
    from ioc.ops.loadtest import compare

    try:
        ra, rb = compare.load(a), compare.load(b)
    except compare.NotAReport as exc:
        raise click.ClickException(str(exc)) from None
    table = compare.rows(ra, rb)
    for text, judged in compare.console(table, tolerance, (str(a), str(b))):
        style = {"worse": {"fg": "red", "bold": True}, "better": {"fg": "green"}, "heading": {"bold": True}}
        click.echo(click.style(text, **style.get(judged, {})))  # type: ignore[arg-type]
    worse = compare.regressions(table, tolerance)
    if html_out is not None:
        html_out.write_text(compare.html_page(table, tolerance, (str(a), str(b))))
        click.echo(f"\nHTML: {html_out}")
    if worse:
        click.echo(click.style(f"\n{len(worse)} regression(s) beyond {tolerance:.0%}", fg="red", bold=True))
        sys.exit(1)
    click.echo(f"\nno regressions beyond {tolerance:.0%}")
