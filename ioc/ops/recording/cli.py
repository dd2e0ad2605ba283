"""`ioc record`, `ioc replay` and `ioc recording export|import`: the engineers' capture and replay tools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from ioc.clock import parse_duration, parse_start
from ioc.contract.documents import REPLAY_PREFIX, is_replay
from ioc.ops.recording import compare, recorder, replayer
from ioc.ops.recording import file as recording
from ioc.settings import get_settings

SIZE_UNITS = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}


def parse_size(text: str) -> int:
    """Bytes in '500000', '200KB', '100MB' or '2GB'."""
    t = text.strip().lower()
    for unit, factor in SIZE_UNITS.items():
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * factor)
    return int(t)


@click.command()
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write."
)
@click.option(
    "--topics",
    default=recorder.DEFAULT_TOPICS,
    show_default=True,
    help="Topic groups (raw, aggregates, alerts, actions, deadletter) or topics (raw.traffic; simulator: "
    "the scenario and its stage, for a replay's banner).",
)
@click.option("--duration", help="Stop after this long (90s, 15m, 2h).")
@click.option("--max-size", help="Stop once the file reaches this size (500KB, 100MB).")
@click.option("--from-beginning", is_flag=True, help="Start at the topics' beginning, not at their end.")
def record(out: Path, topics: str, duration: str | None, max_size: str | None, from_beginning: bool) -> None:
    """Capture topics of IOC_NAMESPACE with partitions, offsets, timestamps and keys into a gzip file.

    Without --from-beginning it captures what arrives from now on, so give --duration or --max-size (or stop
    it with Ctrl-C); with --from-beginning and no bound it stops once it has caught up.
    """
    s = get_settings()
    duration_s = parse_duration(duration) if duration else None
    max_bytes = parse_size(max_size) if max_size else None
    names = recorder.relative_topics(topics)
    length = int(duration_s) if duration_s else max_bytes
    click.echo(f"recording {', '.join(names)} of namespace {s.namespace!r} to {out}")
    with click.progressbar(length=length or 0, label="recording", show_pos=not duration_s) as bar:
        state = {"shown": 0, "t0": int(time.monotonic())}

        def progress(p: recorder.Progress) -> None:
            done = int(time.monotonic()) - state["t0"] if duration_s else p.bytes
            if length:
                bar.update(max(0, min(length, done) - state["shown"]))
                state["shown"] = min(length, done)
            bar.label = f"recording: {p.entries:,} records, {p.bytes / 1e6:.1f} MB"
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
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"recorded {result.entries:,} records, {result.bytes / 1e6:.2f} MB compressed, to {out}")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--speed", default="1", show_default=True, help="Simulated seconds per real second, or 'max'.")
@click.option("--namespace", help="Namespace to replay into, starting 'replay-' (default replay-<job>).")
@click.option("--job", help="Replay job id stamped on every record (default: random).")
@click.option(
    "--topics", default=replayer.DEFAULT_TOPICS, show_default=True, help="Topic groups or topics to replay."
)
@click.option("--from", "from_", help="Start at this simulated time (ISO 8601, Vietnam time if no zone).")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be replayed and how long it takes; send nothing."
)
def replay(
    file: Path,
    speed: str,
    namespace: str | None,
    job: str | None,
    topics: str,
    from_: str | None,
    dry_run: bool,
) -> None:
    """Replay a recording into its own namespace, paced by simulated time.

    While it plays: `kill -USR1 <pid>` pauses and resumes; on a terminal, type `p` (pause), `r` (resume),
    `s 2025-10-14T18:00` (seek to a simulated time) or `q` (stop) and Enter.
    """
    s = get_settings()
    job = job or secrets.token_hex(4)
    namespace = namespace or f"{REPLAY_PREFIX}{job}"
    if not is_replay(namespace):  # never into live topics; the wall shows REPLAY for these
        raise click.ClickException(f"a replay namespace starts with {REPLAY_PREFIX!r}, not {namespace!r}")
    rate = None if speed.strip().lower() == "max" else float(speed)
    try:
        header, entries = recording.read(file)
    except (OSError, recording.RecordingError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    items = replayer.plan(entries, set(recorder.relative_topics(topics)), job)
    click.echo(f"replay job {job}: {file} (recorded from {header.get('namespace')!r}) into {namespace!r}")
    click.echo(replayer.summarise(items).describe(rate))
    if dry_run:
        click.echo("dry run: nothing sent")
        return
    settings = s.model_copy(update={"namespace": namespace})
    # Commands from the wall's engineers are logged as they are obeyed or ignored.
    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    click.echo(
        f"watch it: IOC_NAMESPACE={namespace} ioc worker, and the same for ioc web (its banner reads "
        "REPLAY; engineers can pause, resume and seek from it)"
    )
    with click.progressbar(length=len(items), label="replaying", show_pos=True) as bar:
        shown = [0]

        def progress(sent: int) -> None:
            bar.update(sent - shown[0])
            shown[0] = sent

        player = replayer.Player(settings, items, job, rate, progress)
        if from_:
            player.seek(parse_start(from_))
        sent = asyncio.run(_play(player))
    click.echo(f"replayed {sent:,} records into {namespace!r} (job {job})")


async def _play(player: replayer.Player) -> int:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: player.resume() if player.paused else player.pause())
    playing = asyncio.create_task(player.play())
    if sys.stdin.isatty():
        loop.add_reader(sys.stdin, _command, player, playing)
    try:
        return await playing
    except asyncio.CancelledError:
        return player.position
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(sys.stdin)


def _command(player: replayer.Player, playing: asyncio.Task[Any]) -> None:
    line = sys.stdin.readline().strip()
    word, _, arg = line.partition(" ")
    if word == "p":
        player.pause()
    elif word == "r":
        player.resume()
    elif word == "s" and arg:
        player.seek(parse_start(arg))
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
    aggregates); exit 1 if there are any."""
    try:
        ea, eb = list(recording.read(a)[1]), list(recording.read(b)[1])
    except (OSError, recording.RecordingError) as exc:
        raise click.ClickException(str(exc)) from exc
    diff = compare.compare(ea, eb, kpi_tolerance)
    click.echo(compare.report(diff, a.name, b.name, compare.timeline(ea), compare.timeline(eb)))
    sys.exit(0 if diff.none else 1)


@click.group("recording")
def recording_group() -> None:
    """Convert recordings to and from plain JSON lines."""


@recording_group.command("export")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
def export(src: Path, dst: Path) -> None:
    """Write a recording as plain JSON lines (header line first)."""
    click.echo(f"{recording.export_jsonl(src, dst):,} records written to {dst}")


@recording_group.command("import")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
def import_(src: Path, dst: Path) -> None:
    """Turn exported (or hand-made) JSON lines back into a recording."""
    try:
        n = recording.import_jsonl(src, dst)
    except (recording.RecordingError, KeyError, ValueError) as exc:
        raise click.ClickException(f"{src}: {exc}") from exc
    click.echo(f"{n:,} records imported into {dst}")
