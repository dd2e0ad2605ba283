"""The shift handover report's pure parts: shift boundaries in Vietnam time (the night shift across
midnight, custom IOC_SHIFTS, invalid ones refused), the span a command or request asks for, the percentile
helper, and the HTML page escaping what operators wrote."""

from __future__ import annotations

import pydantic
import pytest

from ioc.clock import parse_start
from ioc.settings import Settings
from ioc.store.shift import (
    Comment,
    Counts,
    Durations,
    HandoverAlert,
    ShiftReport,
    TimeTo,
    Which,
    Window,
    next_shift,
    percentile,
    previous_shift,
    requested_shift,
    shift_at,
)
from ioc.store.shift_html import render

DEFAULT = Settings().shift_starts
H = 3_600_000


def at(text: str) -> int:
    return parse_start(text)  # Vietnam time without an offset


@pytest.mark.parametrize(
    ("moment", "start", "end", "label"),
    [
        ("2026-12-02T06:00", "2026-12-02T06:00", "2026-12-02T14:00", "2026-12-02 06:00–14:00"),
        ("2026-12-02T13:59:59.999", "2026-12-02T06:00", "2026-12-02T14:00", "2026-12-02 06:00–14:00"),
        ("2026-12-02T14:00", "2026-12-02T14:00", "2026-12-02T22:00", "2026-12-02 14:00–22:00"),
        ("2026-12-02T22:00", "2026-12-02T22:00", "2026-12-03T06:00", "2026-12-02 22:00 – 2026-12-03 06:00"),
        ("2026-12-02T23:59", "2026-12-02T22:00", "2026-12-03T06:00", "2026-12-02 22:00 – 2026-12-03 06:00"),
        ("2026-12-03T00:00", "2026-12-02T22:00", "2026-12-03T06:00", "2026-12-02 22:00 – 2026-12-03 06:00"),
        (
            "2026-12-03T05:59:59.999",
            "2026-12-02T22:00",
            "2026-12-03T06:00",
            "2026-12-02 22:00 – 2026-12-03 06:00",
        ),
        ("2026-01-01T03:00", "2025-12-31T22:00", "2026-01-01T06:00", "2025-12-31 22:00 – 2026-01-01 06:00"),
    ],
)
def test_the_default_shifts_in_vietnam_time(moment: str, start: str, end: str, label: str) -> None:
    assert shift_at(at(moment), DEFAULT) == (at(start), at(end), label)


def test_vietnam_time_is_utc_plus_seven() -> None:
    day = shift_at(parse_start("2026-12-01T23:00:00Z"), DEFAULT)  # 06:00 on 2 December in Vinh
    assert day.start_ms == parse_start("2026-12-01T23:00:00+00:00")
    assert day.end_ms - day.start_ms == 8 * H


def test_previous_and_next_shift_cross_midnight() -> None:
    day = shift_at(at("2026-12-02T09:00"), DEFAULT)
    night = previous_shift(day, DEFAULT)
    assert (night.start_ms, night.end_ms) == (at("2026-12-01T22:00"), at("2026-12-02T06:00"))
    assert next_shift(night, DEFAULT) == day
    assert next_shift(day, DEFAULT).start_ms == at("2026-12-02T14:00")


def test_custom_shifts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_SHIFTS", " 07:30 , 19:30")
    starts = Settings().shift_starts
    assert starts == (450, 1170)
    assert shift_at(at("2026-12-02T07:29"), starts)[:2] == (at("2026-12-01T19:30"), at("2026-12-02T07:30"))
    assert shift_at(at("2026-12-02T12:00"), starts)[:2] == (at("2026-12-02T07:30"), at("2026-12-02T19:30"))
    one = Settings(shifts="00:00").shift_starts  # one shift a day, midnight to midnight
    assert shift_at(at("2026-12-02T12:00"), one)[:2] == (at("2026-12-02T00:00"), at("2026-12-03T00:00"))


@pytest.mark.parametrize(
    "shifts", ["", "6:00", "06:00,", "14:00,06:00", "06:00,06:00", "24:00", "06:60", "06:00;14:00", "6h"]
)
def test_invalid_shifts_are_refused(monkeypatch: pytest.MonkeyPatch, shifts: str) -> None:
    monkeypatch.setenv("IOC_SHIFTS", shifts)
    with pytest.raises(pydantic.ValidationError, match="IOC_SHIFTS"):
        Settings()


def test_the_span_asked_for() -> None:
    now = at("2026-12-02T15:00")
    assert requested_shift(None, None, None, now, DEFAULT)[:2] == (
        at("2026-12-02T14:00"),
        at("2026-12-02T22:00"),
    )
    previous = requested_shift(None, None, "previous", now, DEFAULT)
    assert previous[:2] == (at("2026-12-02T06:00"), at("2026-12-02T14:00"))
    given = requested_shift("2026-12-02T06:00", "2026-12-02T08:00+07:00", None, now, DEFAULT)
    assert given == (at("2026-12-02T06:00"), at("2026-12-02T08:00"), "2026-12-02 06:00–08:00")
    utc = requested_shift("2026-12-01T23:00Z", "2026-12-02T07:00Z", None, now, DEFAULT)
    assert utc[:2] == (at("2026-12-02T06:00"), at("2026-12-02T14:00"))
    wrong: list[tuple[str | None, str | None, Which | None, str]] = [
        ("2026-12-02T06:00", None, None, "both the start and the end"),
        (None, "2026-12-02T06:00", None, "both the start and the end"),
        ("2026-12-02T06:00", "2026-12-02T14:00", "previous", "not both"),
        ("yesterday", "2026-12-02T14:00", None, "the start 'yesterday' is not a time"),
        ("2026-12-02T06:00", "2026-13-02T14:00", None, "the end '2026-13-02T14:00' is not a time"),
        ("2026-12-02T14:00", "2026-12-02T06:00", None, "must come after its start"),
        ("2026-12-02T14:00", "2026-12-02T14:00", None, "must come after its start"),
        ("2026-10-01T00:00", "2026-12-02T00:00", None, "at most 31 days"),
    ]
    for start, end, which, why in wrong:
        with pytest.raises(ValueError, match=why):
            requested_shift(start, end, which, now, DEFAULT)


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 50) == percentile([7], 90) == 7
    assert percentile([40, 10, 12], 50) == 12  # order of the input does not matter
    assert percentile([10, 12, 40], 90) == pytest.approx(34.4)  # 12 + 0.8 × (40 − 12)
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert (percentile([1, 2, 3, 4], 0), percentile([1, 2, 3, 4], 100)) == (1, 4)
    assert percentile(list(range(101)), 90) == 90


def test_the_page_escapes_what_operators_wrote_and_speaks_both_languages() -> None:
    hostile = "<script>alert(1)</script>\"'"
    note = Comment(text=hostile, by="<b>op</b>", at=0, recorded_at=at("2026-12-02T07:00"))
    alert = HandoverAlert(
        id='x"><img src=x>', rule="traffic-jam", entity="<i>TD</i>", area="vinh", domain=None,
        severity="high", status="assigned", assignee='<td onclick="x">', escalations=0, raised_at=0,
        raise_recorded_at=at("2026-12-02T06:00"), age_ms=H + 5 * 60_000, last_comment=note,
    )  # fmt: skip
    none = TimeTo(all=Durations(count=0, p50_ms=None, p90_ms=None), by_area=[], by_domain=[])
    report = ShiftReport(
        shift=Window(start_ms=at("2026-12-02T06:00"), end_ms=at("2026-12-02T14:00"), start="", end="",
                     label="2026-12-02 06:00–14:00"),
        generated_at=at("2026-12-02T14:05"), source='SQLite "a</style>.db', counts=Counts(
            raised=0, reopened=0, acknowledged=0, assigned=0, commented=0, cleared=0, resolved=0, escalated=0,
            escalations=0, open_at_end=1, dead_letters=0),
        handover=[alert], time_to_acknowledge=none, time_to_resolve=none, escalations=[], kpi_worst=[],
        dead_letters=[],
    )  # fmt: skip
    vi = render(report, "vi", {"vinh": "TP Vinh"})
    for raw in (hostile, "<b>op</b>", "<i>TD</i>", "<td onclick", "<img", "a</style>"):
        assert raw not in vi
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;" in vi
    assert '<html lang="vi">' in vi and "Báo cáo bàn giao ca" in vi and "02/12/2026 06:00–14:00" in vi
    assert "Ùn tắc kéo dài" in vi and "TP Vinh" in vi and "1 giờ 05 phút" in vi and "đã giao" in vi
    en = render(report, "en", nav=[("previous", "/shift?from=a&to=b")])
    assert '<html lang="en">' in en and "Shift handover report" in en and "2026-12-02 06:00–14:00" in en
    assert "Lasting traffic jam" in en and "1 h 05 min" in en and 'href="/shift?from=a&amp;to=b"' in en
    assert '<td class="num" data-field="age" data-ms="3900000">' in en
    assert "@page { size: A4;" in en
