"""The shift handover report on the wall, as JSON and as the printable page, for the current shift, the
previous one or any span. `/shift` is the page's shell: a browser cannot put the bearer token on a
navigation, so the shell's script fetches the page with it (as the wall page fetches its data)."""

from __future__ import annotations

import time
from datetime import datetime
from importlib import resources
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse

from ioc.clock import VN_TZ
from ioc.store.shift import (
    Shift,
    ShiftReport,
    Which,
    next_shift,
    previous_shift,
    requested_shift,
    shift_report,
)
from ioc.store.shift_html import LANGS, Lang, area_names, render
from web.deps import Reader, Wall
from web.models import READ_REFUSALS, refusals
from web.record import from_record

router = APIRouter(tags=["history"])
SHELL = resources.files("web").joinpath("static", "shift.html")
REFUSALS = {**READ_REFUSALS, **refusals(422, 503)}


def _span(
    wall: Wall,
    start: Annotated[
        str | None, Query(alias="from", max_length=40, description="ISO 8601; Vietnam time without an offset")
    ] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40, description="exclusive, as from")] = None,
    shift: Annotated[
        Which | None, Query(description="instead of from/to (default: the current shift)")
    ] = None,
) -> Shift:
    try:
        return requested_shift(start, end, shift, int(time.time() * 1000), wall.settings.shift_starts)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


Span = Annotated[Shift, Depends(_span)]


@router.get("/api/history/shift", responses=REFUSALS)
async def shift_report_json(wall: Wall, _: Reader, span: Span) -> ShiftReport:
    """The shift handover report: counts, the hand-over list with each alert's last comment, times to
    acknowledge and to resolve (p50/p90) by area and domain, escalations, the worst KPI standing per area
    and dead letters; shifts from IOC_SHIFTS, Vietnam time."""
    report: ShiftReport = await from_record(shift_report(wall.store, span.start_ms, span.end_ms))
    return report


@router.get(
    "/api/history/shift.html",
    response_class=HTMLResponse,
    responses={**REFUSALS, 200: {"content": {"text/html": {}}}},
)
async def shift_report_page(
    wall: Wall, _: Reader, span: Span, lang: Annotated[Lang, Query()] = "vi"
) -> HTMLResponse:
    """The same report as a self-contained page that prints on A4, in Vietnamese or English."""
    report = await from_record(shift_report(wall.store, span.start_ms, span.end_ms))
    starts = wall.settings.shift_starts
    nav = [
        ("previous", _link(previous_shift(span, starts), lang)),
        ("current", f"/shift?{urlencode({'lang': lang})}"),
        ("next", _link(next_shift(span, starts), lang)),
        ("language", _link(span, next(other for other in LANGS if other != lang))),
    ]
    return HTMLResponse(render(report, lang, area_names(wall.city, lang), nav))


@router.get("/shift", include_in_schema=False)
async def shift_page() -> FileResponse:
    return FileResponse(str(SHELL))


def _link(span: Shift, lang: Lang) -> str:
    return "/shift?" + urlencode({"from": _local(span.start_ms), "to": _local(span.end_ms), "lang": lang})


def _local(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, VN_TZ).strftime("%Y-%m-%dT%H:%M")
