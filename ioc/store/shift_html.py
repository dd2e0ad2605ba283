"""The shift handover report as one self-contained HTML page (inline CSS, nothing fetched), in Vietnamese or
English, readable on screen and printed on A4 from the browser."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, get_args

from ioc.city import City
from ioc.clock import VN_TZ
from ioc.store.shift import Durations, ShiftReport, TimeTo

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "org": "Trung tâm điều hành thông minh Nghệ An",
        "title": "Báo cáo bàn giao ca",
        "shift": "Ca trực",
        "vn_time": "giờ Việt Nam",
        "generated": "Lập lúc",
        "source": "Nguồn dữ liệu",
        "record": "Sổ vận hành",
        "summary": "Tóm tắt ca",
        "raised": "Cảnh báo mới",
        "reopened": "Xuất hiện lại",
        "acknowledged": "Đã xác nhận",
        "assigned": "Đã giao việc",
        "commented": "Có ghi chú",
        "cleared": "Hết điều kiện",
        "resolved": "Đã xử lý xong",
        "escalated": "Bị nâng mức",
        "escalations": "Lần nâng mức",
        "open_at_end": "Còn mở cuối ca",
        "dead_letters": "Bản ghi lỗi",
        "handover": "Danh sách bàn giao: cảnh báo còn mở cuối ca",
        "alert": "Cảnh báo",
        "where": "Khu vực / lĩnh vực",
        "severity": "Mức độ",
        "status": "Trạng thái",
        "assignee": "Người nhận",
        "age": "Đã mở",
        "last_comment": "Ghi chú cuối",
        "time_to_acknowledge": "Thời gian đến khi xác nhận",
        "time_to_resolve": "Thời gian đến khi xử lý xong",
        "group": "Nhóm",
        "alerts": "Số cảnh báo",
        "all": "Tất cả",
        "by_area": "Khu vực",
        "by_domain": "Lĩnh vực",
        "new_severity": "Mức mới",
        "event_time": "Lúc (giờ sự kiện)",
        "recorded": "Ghi nhận",
        "kpi_worst": "KPI xấu nhất của từng khu vực",
        "area": "Khu vực",
        "kpi": "KPI",
        "standing": "Đánh giá",
        "value": "Giá trị",
        "since": "Từ phút",
        "minutes": "Số KPI-phút",
        "dead_letter_title": "Bản ghi lỗi (dead letter) theo lý do",
        "reason": "Lý do",
        "domain": "Lĩnh vực",
        "count": "Số lượng",
        "total": "Tổng",
        "none": "Không có",
        "basis": "Cơ sở thời gian",
        "basis_selection": "Một thao tác được tính vào ca theo lúc sổ vận hành nhận được nó (đồng hồ "
        "thực, lúc bộ xử lý công bố), từ đầu ca (tính) đến cuối ca (không tính). KPI và bản ghi lỗi: các "
        "phút bắt đầu trong ca.",
        "basis_durations": "Thời gian đến khi xác nhận và xử lý tính theo giờ sự kiện (đồng hồ mô phỏng): "
        "lần xác nhận đầu tiên hoặc lúc xử lý trừ lúc phát cảnh báo, như trên dòng thời gian của cảnh báo; "
        "thuộc ca đã thực hiện thao tác đó. Khi chạy thời gian thực (tốc độ 1) hai đồng hồ trùng nhau.",
        "basis_escalations": "Nâng mức là một lần mức độ của cảnh báo tăng lên: điều kiện xấu đi (nặng "
        "thêm), hoặc, ở các cảnh báo ghi trước khi mức độ chỉ theo điều kiện, một lần nâng mức vì chưa "
        "được xác nhận. Việc nhắc lại cảnh báo chưa xác nhận là của màn hình giám sát và không được ghi lại.",
        "basis_zone": "Giờ Việt Nam (Asia/Ho_Chi_Minh, UTC+07:00).",
        "previous": "← Ca trước",
        "current": "Ca hiện tại",
        "next": "Ca sau →",
        "language": "English",
        "print": "In: Ctrl+P (khổ A4)",
        "page": "Trang",
    },
    "en": {
        "org": "Nghệ An Intelligent Operations Centre",
        "title": "Shift handover report",
        "shift": "Shift",
        "vn_time": "Vietnam time",
        "generated": "Generated",
        "source": "Data source",
        "record": "Operations record",
        "summary": "The shift in numbers",
        "raised": "Raised",
        "reopened": "Reopened",
        "acknowledged": "Acknowledged",
        "assigned": "Assigned",
        "commented": "Commented",
        "cleared": "Cleared",
        "resolved": "Resolved",
        "escalated": "Escalated",
        "escalations": "Escalations",
        "open_at_end": "Open at end of shift",
        "dead_letters": "Dead letters",
        "handover": "Hand-over list: alerts open at the end of the shift",
        "alert": "Alert",
        "where": "Area / domain",
        "severity": "Severity",
        "status": "Status",
        "assignee": "Assignee",
        "age": "Open for",
        "last_comment": "Last comment",
        "time_to_acknowledge": "Time to acknowledge",
        "time_to_resolve": "Time to resolve",
        "group": "Group",
        "alerts": "Alerts",
        "all": "All",
        "by_area": "Area",
        "by_domain": "Domain",
        "new_severity": "New severity",
        "event_time": "At (event time)",
        "recorded": "Recorded",
        "kpi_worst": "Worst KPI standing per area",
        "area": "Area",
        "kpi": "KPI",
        "standing": "Standing",
        "value": "Value",
        "since": "First minute",
        "minutes": "KPI-minutes",
        "dead_letter_title": "Dead letters by reason",
        "reason": "Reason",
        "domain": "Domain",
        "count": "Count",
        "total": "Total",
        "none": "None",
        "basis": "Time basis",
        "basis_selection": "A transition counts in the shift when the operations record received it "
        "(wall clock, when the processors published it), from the start (inclusive) to the end "
        "(exclusive). KPIs and dead letters: the minutes that start in the shift.",
        "basis_durations": "Times to acknowledge and to resolve are event-time differences (simulated "
        "clock): the first acknowledgement or the resolution minus the raise, as in an alert's timeline; "
        "they count in the shift that took that step. Live at speed 1 the two clocks agree.",
        "basis_escalations": "An escalation is a step up of an alert's severity: its condition got worse "
        "(worsened), or, in alerts recorded before severity followed the condition alone, a step up for "
        "being unacknowledged. Reminders of unacknowledged alerts are the wall's and are not recorded.",
        "basis_zone": "Vietnam time (Asia/Ho_Chi_Minh, UTC+07:00).",
        "previous": "← Previous shift",
        "current": "Current shift",
        "next": "Next shift →",
        "language": "Tiếng Việt",
        "print": "Print: Ctrl+P (A4)",
        "page": "Page",
    },
}
# The wall's own words for the vocabulary (web/static/i18n.js), so the report reads like the wall.
WORDS: dict[str, dict[str, dict[str, str]]] = {
    "vi": {
        "severity": {"informational": "thông tin", "low": "thấp", "medium": "trung bình", "high": "cao",
                     "critical": "khẩn cấp"},
        "status": {"raised": "mới", "acknowledged": "đã xác nhận", "assigned": "đã giao", "cleared": "đã hết",
                   "resolved": "đã xử lý"},
        "standing": {"veryGood": "rất tốt", "good": "tốt", "fair": "trung bình", "bad": "kém",
                     "veryBad": "rất kém"},
        "kpi": {"traffic": "Giao thông", "air": "Không khí", "flood": "Ngập", "lighting": "Chiếu sáng",
                "health": "Y tế"},
        "domain": {"traffic": "giao thông", "environment": "môi trường", "lighting": "chiếu sáng",
                   "health": "y tế"},
        "rule": {"flood-level": "Ngập vượt mức báo động", "flood-rising": "Nước dâng nhanh",
                 "air-quality": "Không khí kém", "traffic-jam": "Ùn tắc kéo dài",
                 "traffic-anomaly": "Tốc độ giảm bất thường",
                 "cabinet-offline": "Tủ điện chiếu sáng mất kết nối",
                 "hospital-waits": "Thời gian chờ khám quá dài"},
        "unit": {"d": "ngày", "h": "giờ", "min": "phút", "s": "giây"},
    },
    "en": {
        "severity": {"informational": "info", "low": "low", "medium": "medium", "high": "high",
                     "critical": "critical"},
        "status": {"raised": "new", "acknowledged": "acknowledged", "assigned": "assigned",
                   "cleared": "cleared", "resolved": "resolved"},
        "standing": {"veryGood": "very good", "good": "good", "fair": "fair", "bad": "bad",
                     "veryBad": "very bad"},
        "kpi": {"traffic": "Traffic", "air": "Air", "flood": "Flood", "lighting": "Lighting",
                "health": "Health"},
        "domain": {"traffic": "traffic", "environment": "environment", "lighting": "lighting",
                   "health": "health"},
        "rule": {"flood-level": "Flood above alert level", "flood-rising": "Water rising fast",
                 "air-quality": "Poor air quality", "traffic-jam": "Lasting traffic jam",
                 "traffic-anomaly": "Abnormal speed drop", "cabinet-offline": "Lighting cabinet offline",
                 "hospital-waits": "Clinic waits too long"},
        "unit": {"d": "d", "h": "h", "min": "min", "s": "s"},
    },
}  # fmt: skip
COUNTS = ("raised", "acknowledged", "resolved", "open_at_end", "escalated", "escalations", "cleared",
          "reopened", "assigned", "commented", "dead_letters")  # fmt: skip

# Screen: a readable column. Print: A4 portrait, tables across the page width, rows never split, headings
# kept with what follows, the shift and page number in the page margins.
STYLE = """
:root { color-scheme: light; --ink: #1b1f24; --muted: #5b6570; --line: #c9d0d7; --band: #eef2f5;
  --alarm: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 62rem; padding: 1.2rem 1.5rem 2rem; color: var(--ink); background: #fff;
  font: 14px/1.4 "DejaVu Sans", "Noto Sans", "Segoe UI", Arial, sans-serif; }
nav { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; margin-bottom: 1rem;
  padding: .5rem .75rem; background: var(--band); border-radius: 4px; }
nav a { color: #0b57d0; }
nav .hint { margin-left: auto; color: var(--muted); }
header { border-bottom: 2px solid var(--ink); padding-bottom: .5rem; margin-bottom: .8rem; }
.org { color: var(--muted); font-size: .9em; }
h1 { font-size: 1.55em; margin: .1rem 0 .4rem; }
h2 { font-size: 1.1em; margin: 1.1rem 0 .4rem; border-bottom: 1px solid var(--line); padding-bottom: .15rem; }
h3 { font-size: .95em; margin: .6rem 0 .25rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
ul.tiles { list-style: none; padding: 0; margin: 0; display: grid; gap: .35rem;
  grid-template-columns: repeat(auto-fill, minmax(8.2rem, 1fr)); }
ul.tiles li { border: 1px solid var(--line); border-radius: 4px; padding: .3rem .5rem; }
ul.tiles .n { display: block; font-size: 1.45em; font-weight: 700; font-variant-numeric: tabular-nums; }
ul.tiles .k { color: var(--muted); font-size: .85em; }
ul.tiles li.open .n { color: var(--alarm); }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: .2rem 0 .4rem; }
th, td { border: 1px solid var(--line); padding: .2rem .35rem; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; word-break: break-word; }
thead th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.sub { display: block; color: var(--muted); font-size: .8em; }
.empty { color: var(--muted); font-style: italic; }
.sev-critical, .sev-high { color: var(--alarm); font-weight: 700; }
.duo { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
footer { margin-top: 1.2rem; border-top: 1px solid var(--line); padding-top: .4rem; color: var(--muted);
  font-size: .85em; }
footer p { margin: .2rem 0; }
@page { size: A4; margin: 14mm 11mm 14mm 11mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 8.5pt; }
  nav, .no-print { display: none !important; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, ul.tiles li, dl.meta, footer p { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  section { break-inside: auto; }
  a { color: inherit; text-decoration: none; }
}
"""


def area_names(city: City, lang: Lang) -> dict[str, str]:
    """Area id → its name in `lang`."""
    return {a.id: (a.name if lang == "vi" else a.name_en) for a in city.areas.values()}


def render(
    report: ShiftReport,
    lang: Lang = "vi",
    areas: Mapping[str, str] | None = None,
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    """The page; `areas` names the areas (their ids without it), `nav` is (TEXT key, href) links shown on
    screen only (previous and next shift, the other language)."""
    return _Page(report, lang, areas or {}).html(nav)


def cell(
    text: str, *subs: str, field: str = "", value: str = "", ms: int | None = None, cls: str = ""
) -> str:
    """A table cell of escaped text, with smaller lines under it and the data attributes tests and scripts
    read (`data-value` the untranslated value, `data-ms` a duration or time in ms)."""
    attrs = "".join(
        f' {name}="{_e(v)}"'
        for name, v in (("class", cls), ("data-field", field), ("data-value", value), ("data-ms", ms))
        if v not in ("", None)
    )
    lines = "".join(f'<span class="sub">{_e(s)}</span>' for s in subs)
    return f"<td{attrs}>{_e(text)}{lines}</td>"


class _Page:
    def __init__(self, report: ShiftReport, lang: Lang, areas: Mapping[str, str]) -> None:
        self.r, self.lang, self.areas = report, lang, areas
        self.t, self.w = TEXT[lang], WORDS[lang]

    def html(self, nav: Sequence[tuple[str, str]]) -> str:
        t, span = self.t, self.span(self.r.shift.start_ms, self.r.shift.end_ms)
        margin = _css_string(f"{t['title']} · {t['shift']} {span}")
        return f"""<!doctype html>
<html lang="{self.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(t["title"])} {_e(span)} — IOC Nghệ An</title>
<style>{STYLE}
@page {{ @top-left {{ content: {margin}; font-size: 7.5pt; color: #5b6570; }}
  @bottom-right {{ content: {_css_string(t["page"] + " ")} counter(page) " / " counter(pages);
  font-size: 7.5pt; color: #5b6570; }} }}
</style>
</head>
<body data-report="shift" data-start-ms="{self.r.shift.start_ms}" data-end-ms="{self.r.shift.end_ms}">
{self.nav(nav)}
{self.header(span)}
{self.summary()}
{self.handover()}
<div class="duo">
{self.time_to("time_to_acknowledge", self.r.time_to_acknowledge)}
{self.time_to("time_to_resolve", self.r.time_to_resolve)}
</div>
{self.escalations()}
{self.kpis()}
{self.dead_letters()}
{self.footer()}
</body>
</html>
"""

    def nav(self, links: Sequence[tuple[str, str]]) -> str:
        if not links:
            return ""
        items = "".join(f'<a href="{_e(href)}">{_e(self.t[key])}</a>' for key, href in links)
        return f'<nav class="no-print">{items}<span class="hint">{_e(self.t["print"])}</span></nav>'

    def header(self, span: str) -> str:
        r, t = self.r, self.t
        meta = (
            ("shift", f"{span} ({t['vn_time']})"),
            ("generated", self.when(r.generated_at)),
            ("source", f"{t['record']} ({r.source})"),
        )
        rows = "".join(f'<dt>{_e(t[k])}</dt><dd data-field="{k}">{_e(v)}</dd>' for k, v in meta)
        return (
            f'<header><div class="org">{_e(t["org"])}</div><h1>{_e(t["title"])}</h1>'
            f'<dl class="meta">{rows}</dl></header>'
        )

    def summary(self) -> str:
        counts = self.r.counts.model_dump()
        tiles = "".join(
            f'<li class="{"open" if key == "open_at_end" and counts[key] else ""}">'
            f'<span class="n" data-count="{key}">{counts[key]}</span>'
            f'<span class="k">{_e(self.t[key])}</span></li>'
            for key in COUNTS
        )
        return (
            f'<section id="summary"><h2>{_e(self.t["summary"])}</h2><ul class="tiles">{tiles}</ul></section>'
        )

    def handover(self) -> str:
        w = self.w
        columns = (("alert", 25), ("where", 13), ("severity", 10), ("status", 11), ("assignee", 11),
                   ("age", 8), ("last_comment", 22))  # fmt: skip
        rows = []
        for a in self.r.handover:
            c = a.last_comment
            said = ("–",) if c is None else (c.text, f"{c.by} · {self.when(c.recorded_at)}")
            rows.append(
                f'<tr data-alert="{_e(a.id)}">'
                + cell(self.rule(a.rule), a.entity, a.id)
                + cell(self.area(a.area), self.domain(a.domain))
                + cell(w["severity"][a.severity], field="severity", value=a.severity, cls=f"sev-{a.severity}")
                + cell(w["status"][a.status], field="status", value=a.status)
                + cell(a.assignee or "–", field="assignee")
                + cell(self.duration(a.age_ms), field="age", ms=a.age_ms, cls="num")
                + cell(*said, field="last_comment")
                + "</tr>"
            )
        return self.section("handover", "handover", columns, rows)

    def time_to(self, key: str, times: TimeTo) -> str:
        rows = [self.durations("all", self.t["all"], times.all)]
        for kind, groups in (("area", times.by_area), ("domain", times.by_domain)):
            for g in groups:
                name = self.area(g.group) if kind == "area" else self.domain(g.group)
                rows.append(self.durations(f"{kind}:{g.group or ''}", f"{self.t['by_' + kind]}: {name}", g))
        columns = (("group", 46), ("alerts", 18), ("p50", 18), ("p90", 18))
        return self.section(key.replace("_", "-"), key, columns, rows, numeric=("alerts", "p50", "p90"))

    def durations(self, key: str, label: str, d: Durations) -> str:
        cells = [cell(label), cell(str(d.count), field="count", cls="num")]
        for name, ms in (("p50", d.p50_ms), ("p90", d.p90_ms)):
            cells.append(cell("–" if ms is None else self.duration(ms), field=name, ms=ms, cls="num"))
        return f'<tr data-group="{_e(key)}">{"".join(cells)}</tr>'

    def escalations(self) -> str:
        columns = (("alert", 34), ("where", 18), ("new_severity", 14), ("event_time", 17), ("recorded", 17))
        rows = [
            f'<tr data-escalation="{_e(e.alert_id)}">'
            + cell(self.rule(e.rule), e.entity)
            + cell(self.area(e.area), self.domain(e.domain))
            + cell(self.w["severity"].get(e.severity or "", "–"), field="severity", value=e.severity or "")
            + cell(self.when(e.at), field="at", ms=e.at)
            + cell(self.when(e.recorded_at), field="recorded_at", ms=e.recorded_at)
            + "</tr>"
            for e in self.r.escalations
        ]
        return self.section("escalations", "escalations", columns, rows)

    def kpis(self) -> str:
        w = self.w
        columns = (("area", 20), ("kpi", 20), ("standing", 16), ("value", 12), ("since", 18), ("minutes", 14))
        rows = [
            f'<tr data-area="{_e(k.area)}">'
            + cell(self.area(k.area))
            + cell(w["kpi"].get(k.kpi, k.kpi), field="kpi", value=k.kpi)
            + cell(w["standing"].get(k.standing, k.standing), field="standing", value=k.standing)
            + cell(f"{k.value:g}", field="value", cls="num")
            + cell(self.when(k.minute), field="minute", ms=k.minute)
            + cell(str(k.minutes), field="minutes", cls="num")
            + "</tr>"
            for k in self.r.kpi_worst
        ]
        return self.section("kpis", "kpi_worst", columns, rows, numeric=("value", "minutes"))

    def dead_letters(self) -> str:
        rows = [
            f'<tr data-reason="{_e(d.reason)}" data-domain="{_e(d.domain)}">'
            + cell(d.reason)
            + cell(self.domain(d.domain))
            + cell(str(d.count), field="count", cls="num")
            + "</tr>"
            for d in self.r.dead_letters
        ]
        if rows:
            total = cell(str(self.r.counts.dead_letters), field="total", cls="num")
            rows.append(f'<tr><th colspan="2">{_e(self.t["total"])}</th>{total}</tr>')
        columns = (("reason", 45), ("domain", 35), ("count", 20))
        return self.section("dead-letters", "dead_letter_title", columns, rows, numeric=("count",))

    def footer(self) -> str:
        paragraphs = "".join(
            f"<p>{_e(self.t[k])}</p>"
            for k in ("basis_selection", "basis_durations", "basis_escalations", "basis_zone")
        )
        return f'<footer id="basis"><h3>{_e(self.t["basis"])}</h3>{paragraphs}</footer>'

    def section(
        self,
        id_: str,
        title: str,
        columns: Sequence[tuple[str, int]],
        rows: list[str],
        numeric: Sequence[str] = (),
    ) -> str:
        """A titled table; `columns` are (TEXT key, width %); a row saying "none" when there are no rows."""
        widths = "".join(f'<col style="width:{width}%">' for _, width in columns)
        heads = "".join(
            f"<th{' class=num' if key in numeric else ''}>{_e(self.t.get(key, key))}</th>"
            for key, _ in columns
        )
        body = (
            "".join(rows) or f'<tr><td colspan="{len(columns)}" class="empty">{_e(self.t["none"])}</td></tr>'
        )
        return (
            f'<section id="{id_}"><h2>{_e(self.t[title])}</h2><table><colgroup>{widths}</colgroup>'
            f"<thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table></section>"
        )

    def rule(self, rule: str) -> str:
        return self.w["rule"].get(rule, rule)

    def area(self, area: str | None) -> str:
        return "–" if area is None else self.areas.get(area, area)

    def domain(self, domain: str | None) -> str:
        return "–" if domain is None else self.w["domain"].get(domain, domain)

    def when(self, ms: int) -> str:
        moment = datetime.fromtimestamp(ms / 1000, VN_TZ)
        return f"{moment:%d/%m/%Y %H:%M}" if self.lang == "vi" else f"{moment:%Y-%m-%d %H:%M}"

    def span(self, start_ms: int, end_ms: int) -> str:
        start, end = self.when(start_ms), self.when(end_ms)
        start_day, _, _ = start.partition(" ")
        end_day, _, end_time = end.partition(" ")
        return f"{start}–{end_time}" if start_day == end_day else f"{start} – {end}"

    def duration(self, ms: int) -> str:
        """'1 h 05 min', '4 min 30 s', '4 min', '12 s' in the report's language (the exact ms in data-ms)."""
        unit = self.w["unit"]
        days, rest = divmod(round(ms / 1000), 86_400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        if days:
            return f"{days} {unit['d']} {hours} {unit['h']}"
        if hours:
            return f"{hours} {unit['h']} {minutes:02d} {unit['min']}"
        if minutes:
            return f"{minutes} {unit['min']}" + (f" {seconds:02d} {unit['s']}" if seconds else "")
        return f"{seconds} {unit['s']}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _css_string(text: str) -> str:
    """A CSS string literal: quotes and backslashes escaped, nothing that could close the style element."""
    safe = "".join(ch if ch.isalnum() or ch in " ·–-:/()" else f"\\{ord(ch):x} " for ch in text)
    return f'"{safe}"'
