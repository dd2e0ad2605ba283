"""`ioc record`, `ioc replay` and `ioc recording export|import`: the engineers' capture and replay tools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from aiokafka.errors import KafkaConnectionError, KafkaError

from ioc.clock import parse_duration, parse_start
from ioc.contract.documents import REPLAY_PREFIX, is_replay
from ioc.ops.broker import BrokerError
from ioc.ops.recording import compare, recorder, replayer
from ioc.ops.recording import file as recording
from ioc.ops.recording import watch as watch_mod
from ioc.ops.stack import Stack, StackError
from ioc.settings import get_settings

SIZE_UNITS = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}


def parse_size(text: str) -> int:
    """Bytes in '500000', '200KB', '100MB' or '2GB'; ValueError for anything else or not above 0."""
    t = text.strip().lower()
    number, factor = t, 1
    for unit, f in SIZE_UNITS.items():
        if t.endswith(unit):
            number, factor = t[: -len(unit)], f
    try:
        size = int(float(number) * factor)
    except (ValueError, OverflowError):  # OverflowError: 'inf'
        raise ValueError(f"{text!r} is not a size; use e.g. 500000, 200KB, 100MB, 2GB") from None
    if size <= 0:
        raise ValueError(f"{text!r}: the size must be above 0")
    return size


def _duration_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise click.BadParameter(f"{value!r}: the duration must be above 0")
    return seconds


def _size_option(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    try:
        return None if value is None else parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _new_file(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    if not value.parent.is_dir():
        raise click.BadParameter(f"{value}: its folder {value.parent} does not exist")
    return value


def _warn(message: str) -> None:
    click.echo(message, err=True)


def _broker_error(bootstrap: str, exc: KafkaError) -> click.ClickException:
    why = "" if isinstance(exc, KafkaConnectionError) else f": {exc}"  # its text repeats the address
    return click.ClickException(
        f"no Kafka broker answered at {bootstrap} (IOC_BOOTSTRAP; is `ioc up` or `ioc broker` running?){why}"
    )


@click.command()
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    callback=_new_file,
    help="File to write.",
)
@click.option(
    "--topics",
    default=recorder.DEFAULT_TOPICS,
    show_default=True,
    help="Topic groups (raw, aggregates, alerts, actions, deadletter) or topics (raw.traffic; simulator: "
    "the scenario and its stage, for a replay's banner).",
)
@click.option("--duration", callback=_duration_option, help="Stop after this long (90s, 15m, 2h).")
@click.option(
    "--max-size", callback=_size_option, help="Stop once the file reaches this size (500KB, 100MB)."
)
@click.option("--from-beginning", is_flag=True, help="Start at the topics' beginning, not at their end.")
def record(
    out: Path, topics: str, duration: float | None, max_size: int | None, from_beginning: bool
) -> None:
    """Capture topics of IOC_NAMESPACE with partitions, offsets, timestamps and keys into a gzip file.

    Without --from-beginning it captures what arrives from now on, so give --duration or --max-size (or stop
    it with Ctrl-C or SIGTERM: the file is closed whole either way); with --from-beginning and no bound it
    stops once it has caught up.
    """
    s = get_settings()
    duration_s, max_bytes = duration, max_size
    names = recorder.relative_topics(topics)
    length = int(duration_s) if duration_s else max_bytes
    click.echo(f"recording {', '.join(names)} of namespace {s.namespace!r} to {out}")
    with click.progressbar(length=length or 0, label="recording", show_pos=not duration_s) as bar:
        state = {"shown": 0, "t0": int(time.monotonic())}

        def progress(p: recorder.Progress) -> None:
            done = int(time.monotonic()) - state["t0"] if duration_s else p.size
            if length:
                bar.update(max(0, min(length, done) - state["shown"]))
                state["shown"] = min(length, done)
            bar.label = f"recording: {p.entries:,} records, {p.size / 1e6:.1f} MB"
            bar.render_progress()

        try:
            result = recorder.run(
                s,
                names,
                out,
                duration_s=duration_s,
                max_bytes=max_bytes,
                from_beginning=from_beginning,
                on_progress=progress,
            )
        except KafkaError as exc:
            raise _broker_error(s.bootstrap, exc) from exc
        except ValueError as exc:
            raise click.ClickException(f"{exc} (namespace {s.namespace!r})") from exc
        except OSError as exc:
            raise click.ClickException(f"{out}: {exc.strerror or exc}") from exc
    click.echo(result.summary(out, names))


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--speed",
    default="1",
    show_default=True,
    callback=lambda ctx, param, value: _speed(value),
    help="Simulated seconds per real second, or 'max'.",
)
@click.option("--namespace", help="Namespace to replay into, starting 'replay-' (default replay-<job>).")
@click.option("--job", help="Replay job id stamped on every record (default: random).")
@click.option(
    "--topics", default=replayer.DEFAULT_TOPICS, show_default=True, help="Topic groups or topics to replay."
)
@click.option("--from", "from_", help="Start at this simulated time (ISO 8601, Vietnam time if no zone).")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be replayed and how long it takes; send nothing."
)
@click.option(
    "--watch",
    is_flag=True,
    help="Also start a worker, a historian and a wall for the replay (free ports, their own data directory) "
    "and print the wall's links; stays seekable after the end until Ctrl-C.",
)
@click.option("--stay", is_flag=True, help="At the end, wait (still seekable from the wall) until Ctrl-C.")
def replay(
    file: Path,
    speed: float | None,
    namespace: str | None,
    job: str | None,
    topics: str,
    from_: str | None,
    dry_run: bool,
    watch: bool,
    stay: bool,
) -> None:
    """Replay a recording into its own namespace, paced by simulated time.

    While it plays: `kill -USR1 <pid>` pauses and resumes; on a terminal, type `p` (pause), `r` (resume),
    `s 2025-10-14T18:00` (seek to a simulated time, Vietnam time) or `q` (stop) and Enter. A seek outside
    the recording is refused, saying its span.
    """
    s = get_settings()
    job = job or secrets.token_hex(4)
    namespace = namespace or f"{REPLAY_PREFIX}{job}"
    if not is_replay(namespace):  # never into live topics; the wall shows REPLAY for these
        hint = f"a replay namespace starts with {REPLAY_PREFIX!r}"
        raise click.BadParameter(hint, param_hint="--namespace")
    rate = speed
    try:
        header, entries = recording.read(file, _warn)
        items = replayer.plan(entries, set(recorder.relative_topics(topics)), job)
    except recording.RecordingError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc.strerror or exc}") from exc
    into = s.model_copy(update={"namespace": namespace})
    player = replayer.Player(into, items, job, rate, stay=stay or watch)
    if from_:
        try:
            at = parse_start(from_)
        except ValueError:
            hint = f"{from_!r} is not an ISO 8601 time like 2025-10-14T18:00 (Vietnam time if no zone)"
            raise click.BadParameter(hint, param_hint="--from") from None
        try:
            player.seek(at)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--from") from None
    click.echo(f"replay job {job}: {file} (recorded from {header.get('namespace')!r}) into {namespace!r}")
    click.echo(f"  recording spans {replayer.describe_span(player.span)}")
    shown = items[player.pending_from :]
    if from_:
        click.echo(f"  from {from_}: {len(shown):,} of {len(items):,} records")
    click.echo(replayer.summarise(shown).describe(rate))
    if dry_run:
        click.echo("dry run: nothing sent")
        return
    # Commands from the wall's engineers are logged as they are obeyed or ignored.
    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stack = None
    if watch:
        own_broker = not watch_mod.cluster_answers(s)
        try:
            own = watch_mod.replay_settings(s, namespace, job, own_broker)
            stack = watch_mod.start(own, own_broker, click.echo)
        except (StackError, BrokerError, TimeoutError) as exc:
            raise click.ClickException(f"the replay's stack did not start: {exc}") from exc
        player.settings = stack.settings  # its bootstrap: the embedded broker's when it started one
    elif not watch_mod.cluster_answers(s):
        raise click.ClickException(
            f"no Kafka broker answered at {s.bootstrap} (IOC_BOOTSTRAP; is `ioc up` or `ioc broker` "
            "running?); or use --watch, which starts one of its own"
        )
    else:
        click.echo(
            "watch it: `ioc replay --watch` starts a worker and a wall for it; or by hand "
            f"IOC_NAMESPACE={namespace} ioc worker, and the same for ioc web, on ports of their own"
        )
    try:
        sent = _replay_with_progress(player, stack)
    finally:
        if stack is not None:
            stack.stop()
    click.echo(f"replayed {sent:,} records into {namespace!r} (job {job})")


def _replay_with_progress(player: replayer.Player, stack: Stack | None) -> int:
    with click.progressbar(length=len(player.items), label="replaying", show_pos=True) as bar:
        shown = [0]

        def progress(sent: int) -> None:
            bar.update(sent - shown[0])
            shown[0] = sent

        player.on_progress = progress
        try:
            return asyncio.run(_play(player, stack))
        except KafkaError as exc:
            raise _broker_error(player.settings.bootstrap, exc) from exc


def _speed(value: str) -> float | None:
    if value.strip().lower() == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number; give e.g. 1, 10, 0.5 or 'max'") from None
    if not 0 < speed < float("inf"):
        raise click.BadParameter(f"{value!r}: the speed must be above 0 (or 'max')")
    return speed


async def _play(player: replayer.Player, stack: Stack | None = None) -> int:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: player.resume() if player.paused else player.pause())
    playing = asyncio.create_task(player.play())
    # Ctrl-C and SIGTERM end a replay that stays (and any other) in order: the stack is stopped after.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, playing.cancel)
    if sys.stdin.isatty():
        loop.add_reader(sys.stdin, _command, player, playing)
    guard = asyncio.create_task(_guard(stack, playing)) if stack is not None else None
    try:
        return await playing
    except asyncio.CancelledError:
        return player.position
    finally:
        if guard is not None:
            guard.cancel()
        with contextlib.suppress(Exception):
            loop.remove_reader(sys.stdin)


async def _guard(stack: Stack, playing: asyncio.Task[Any]) -> None:
    """A part of the replay's stack that dies ends the replay, its last words on the console."""
    while True:
        await asyncio.sleep(1)
        try:
            stack.check_alive()
        except StackError as exc:
            click.echo(f"\nerror: {exc}", err=True)
            playing.cancel()
            return


def _command(player: replayer.Player, playing: asyncio.Task[Any]) -> None:
    line = sys.stdin.readline().strip()
    word, _, arg = line.partition(" ")
    if word == "p":
        player.pause()
    elif word == "r":
        player.resume()
    elif word == "s" and arg:
        try:
            player.seek(parse_start(arg))
        except ValueError as exc:
            click.echo(f"\nseek refused: {exc}", err=True)
    elif word == "q":
        playing.cancel()


@click.command("compare")
@click.argument("a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kpi-tolerance", type=float, default=0.0, show_default=True, help="KPI differences to ignore."
)
def compare_runs(a: Path, b: Path, kpi_tolerance: float) -> None:
    """Print the differences between two runs' alert timelines and KPIs (recordings with topics alerts and
    aggregates, gzip or JSON lines); exit 1 if there are any, 2 if the files hold nothing to compare.

    Alerts are matched by rule, entity and raise time after each recording's start (its first reading),
    not by id; a recording that starts mid-stream or lacks a topic is warned about in the report."""
    names = (a.name, b.name) if a.name != b.name else (str(a), str(b))
    run_a, run_b = (compare.load(name, *_read_all(path)) for name, path in zip(names, (a, b), strict=True))
    result = compare.compare(run_a, run_b, kpi_tolerance)
    click.echo(compare.report(result))
    sys.exit(result.exit_code)


def _read_all(path: Path) -> tuple[dict[str, Any], list[recording.Entry]]:
    try:
        header, entries = recording.read(path, _warn)
        return header, list(entries)
    except recording.RecordingError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror or exc}") from exc


@click.group("recording")
def recording_group() -> None:
    """Convert recordings to and from plain JSON lines."""


@recording_group.command("export")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path), callback=_new_file)
def export(src: Path, dst: Path) -> None:
    """Write a recording as plain JSON lines (header line first); a truncated one up to its last record."""
    _convert(recording.export_jsonl, src, dst, "written to")


@recording_group.command("import")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path), callback=_new_file)
def import_(src: Path, dst: Path) -> None:
    """Turn exported (or hand-made) JSON lines back into a recording; a truncated recording given here comes
    out whole, up to its last complete record."""
    _convert(recording.import_jsonl, src, dst, "imported into")


def _convert(convert: Callable[..., int], src: Path, dst: Path, done: str) -> None:
    if dst.exists() and dst.resolve() == src.resolve():  # writing would empty the file being read
        raise click.BadParameter(f"{dst} is the file being read; write to another file", param_hint="'DST'")
    try:
        n = convert(src, dst, _warn)
    except recording.RecordingError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or src}: {exc.strerror or exc}") from exc
    click.echo(f"{n:,} records {done} {dst}")
