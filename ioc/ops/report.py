"""`ioc report`: reports from the operations record; `ioc report shift` writes the shift handover report."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ioc.city import load_city
from ioc.settings import Settings, get_settings
from ioc.store.database import database_url, open_engine
from ioc.store.shift import ShiftReport, Which, requested_shift, shift_report
from ioc.store.shift_html import LANGS, Lang, area_names, render


@click.group("report")
def report_group() -> None:
    """Reports from the operations record (IOC_DATABASE_URL, else IOC_DATA_DIR/ioc.db)."""


@report_group.command("shift")
@click.option(
    "--from", "start", metavar="TIME", help="Start, ISO 8601 (Vietnam time unless an offset is given)."
)
@click.option("--to", "end", metavar="TIME", help="End (exclusive), as --from.")
@click.option(
    "--shift",
    "which",
    type=click.Choice(["current", "previous"]),
    help="A whole shift of IOC_SHIFTS instead of --from/--to (default: the current one).",
)
@click.option("--format", "fmt", type=click.Choice(["html", "json"]), default="html", show_default=True)
@click.option(
    "--lang", type=click.Choice(LANGS), default="vi", show_default=True, help="Language of the HTML."
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default stdout)."
)
def shift_command(
    start: str | None, end: str | None, which: Which | None, fmt: str, lang: Lang, out: Path | None
) -> None:
    """The shift handover report: alerts raised, acknowledged, resolved and still open (with their last
    comment), times to acknowledge and to resolve by area and domain, escalations, the worst KPI standing per
    area and dead letters, as HTML that prints on A4, or JSON."""
    settings = _settings()
    try:
        span = requested_shift(start, end, which, int(time.time() * 1000), settings.shift_starts)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    report = asyncio.run(_read(_database(settings), span.start_ms, span.end_ms))
    if fmt == "json":
        text = report.model_dump_json(indent=2)
    else:
        text = render(report, lang, area_names(load_city(), lang))
    if out is None:
        click.echo(text)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"shift {span.label} (Vietnam time): {out}", err=True)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        why = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise click.ClickException(why) from None


def _database(settings: Settings) -> str:
    """The record's URL; a SQLite file must exist already (opening it would create an empty one)."""
    url = database_url(settings, make_dir=False)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise click.ClickException(
            f"no operations record at {parsed.database} (`ioc up` makes it; IOC_DATA_DIR, IOC_DATABASE_URL)"
        )
    return url


async def _read(url: str, start_ms: int, end_ms: int) -> ShiftReport:
    engine = open_engine(url)
    try:
        return await shift_report(engine, start_ms, end_ms)
    except (SQLAlchemyError, OSError) as exc:
        first_line = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        where = make_url(url).render_as_string()  # without the password
        raise click.ClickException(f"cannot read the operations record {where}: {first_line}") from None
    finally:
        await engine.dispose()
