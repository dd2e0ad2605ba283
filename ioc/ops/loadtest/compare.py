"""`ioc loadtest compare A B`: two load-test reports side by side, each figure's change from A to B, the
changes for the worse beyond a tolerance marked as regressions (on the console and, if asked, as HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import orjson

from ioc.ops.loadtest import figures
from ioc.ops.loadtest.figures import Better, Kind, fmt
from ioc.ops.loadtest.report import FORMAT

# Latencies a few ms apart are the same on a shared machine: the histograms' bins are 6 % wide and a busy
# scheduler moves a 2 ms acknowledgement to 3 ms; such a change is shown, never called a regression.
MIN_TIME_CHANGE_MS = 5.0


class NotAReport(ValueError):
    """The file is not a load-test report this version can read."""


def load(path: Path) -> dict[str, Any]:
    """A report from its report.json or the directory holding it; NotAReport naming the file otherwise."""
    file = path / "report.json" if path.is_dir() else path
    try:
        doc = orjson.loads(file.read_bytes())
    except FileNotFoundError:
        raise NotAReport(f"{file}: no such file (give a report.json or the directory holding it)") from None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise NotAReport(f"{file}: not a JSON load-test report ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise NotAReport(
            f"{file}: not a load-test report of format {FORMAT} (written by `ioc loadtest` from this version "
            f"on; an older report can be compared only by eye)"
        )
    return doc


@dataclass(frozen=True)
class Row:
    section: str
    label: str
    kind: Kind
    better: Better
    a: float | None
    b: float | None

    def change(self) -> str:
        if self.a is None or self.b is None:
            return ""
        delta = self.b - self.a
        sign = "+" if delta >= 0 else "−"
        if self.kind == "ratio":
            return f"{sign}{abs(delta) * 100:.1f} points"
        rel = f" ({sign}{abs(delta) / abs(self.a):.0%})" if self.a else ""
        size = f"{abs(delta):.3g}" if self.kind == "times" else fmt(self.kind, abs(delta))
        return f"{sign}{size}{rel}"

    def judge(self, tolerance: float) -> str:
        """'worse', 'better' or '' (no direction, no value, or within the tolerance)."""
        if not self.better or self.a is None or self.b is None or self.a == self.b:
            return ""
        delta = abs(self.b - self.a)
        if self.kind == "ratio":  # shares: a change of more than `tolerance` points, not per cent of them
            moved = delta > tolerance
        elif self.kind == "time" and delta < MIN_TIME_CHANGE_MS:
            moved = False
        else:
            moved = self.a == 0 or delta / abs(self.a) > tolerance
        if not moved:
            return ""
        up = self.b > self.a
        return "better" if up == (self.better == "higher") else "worse"


@dataclass(frozen=True)
class Text:
    """A row without numbers: a verdict, a commit, a host."""

    section: str
    label: str
    a: str
    b: str


def rows(a: dict[str, Any], b: dict[str, Any]) -> list[Row | Text]:
    out: list[Row | Text] = [
        Text("Verdict", "Overall", a["verdict"]["overall"], b["verdict"]["overall"]),
        Text("Verdict", "Plan", _plan(a), _plan(b)),
    ]
    ta = {r["threshold"]: r for r in a["thresholds"]["results"]}
    tb = {r["threshold"]: r for r in b["thresholds"]["results"]}
    for t in [*ta, *(t for t in tb if t not in ta)]:
        out.append(Text("Thresholds", t, _threshold(ta.get(t)), _threshold(tb.get(t))))
    names = {f.name for f in figures.for_report(b)}
    for f in figures.for_report(a):
        if f.name in names:
            out.append(Row("Figures", f.label, f.kind, f.better, f.value(a), f.value(b)))
    ps = [p for p in a["plan"].get("percentiles", ()) if p in b["plan"].get("percentiles", ())]
    if len(a["by_step"]) == len(b["by_step"]) > 1:
        for sa, sb in zip(a["by_step"], b["by_step"], strict=True):
            out += _part(f"Step {sa['step']} ({sa['plan']} / {sb['plan']})", sa, sb, ps)
    for d in [d for d in a["by_domain"] if d in b["by_domain"]]:
        out += _part(figures.DOMAIN_LABEL.get(d, d), a["by_domain"][d], b["by_domain"][d], ps)
    pa, pb = a["pacing"], b["pacing"]
    out.append(Row("Pacing", "Worst second's pacing error", "ratio", "lower", pa.get("max_deviation"),
                   pb.get("max_deviation")))  # fmt: skip
    out.append(Row("Pacing", "Sent per second, standard deviation", "rate", "lower",
                   pa.get("achieved_stdev_per_s"), pb.get("achieved_stdev_per_s")))  # fmt: skip
    out += _run_rows(a.get("run") or {}, b.get("run") or {})
    return out


def _part(section: str, a: dict[str, Any], b: dict[str, Any], ps: list[float]) -> list[Row | Text]:
    out: list[Row | Text] = [
        Row(section, "Sent per second (mean)", "rate", "higher", a.get("achieved_mean_per_s"),
            b.get("achieved_mean_per_s")),
        Row(section, "Worst lag", "time", "lower", a["lag_max_seconds"] * 1000, b["lag_max_seconds"] * 1000),
    ]  # fmt: skip
    la, lb = a.get("e2e_latency_ms"), b.get("e2e_latency_ms")
    if la and lb:
        for p in ps:
            key = figures.pkey(float(p))
            out.append(Row(section, f"Sensor → screen {key}", "time", "lower", la.get(key), lb.get(key)))
    return out


def _run_rows(a: dict[str, Any], b: dict[str, Any]) -> list[Row | Text]:
    def commit(r: dict[str, Any]) -> str:
        g = r.get("git")
        return f"{g['commit'][:12]}{' (dirty)' if g.get('dirty') else ''}" if g else "—"

    def cpus(r: dict[str, Any]) -> str:
        c = r.get("cpus") or {}
        return f"{c.get('usable')} CPUs, load {(c.get('load_average') or ['?'])[0]}"

    out: list[Row | Text] = [
        Text("Run", "Started", str(a.get("started")), str(b.get("started"))),
        Text("Run", "Commit", commit(a), commit(b)),
        Text("Run", "Host", str(a.get("host")), str(b.get("host"))),
        Text("Run", "CPUs and load average at the start", cpus(a), cpus(b)),
        Text("Run", "Python", str(a.get("python")), str(b.get("python"))),
    ]
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name):
            out.append(Text("Run", name, str(pa.get(name)), str(pb.get(name))))
    return out


def _plan(report: dict[str, Any]) -> str:
    p = report["plan"]
    text = f"--rate {p['rate']} --duration {p['duration']}" if p.get("rate") else f"--ramp {p.get('ramp')}"
    return text + f" --processes {p.get('processes', 1)}"


def _threshold(r: dict[str, Any] | None) -> str:
    return "—" if r is None else f"{r['verdict']} ({r['shown']})"


def regressions(table: list[Row | Text], tolerance: float) -> list[Row]:
    return [r for r in table if isinstance(r, Row) and r.judge(tolerance) == "worse"]


def console(table: list[Row | Text], tolerance: float, names: tuple[str, str]) -> list[tuple[str, str]]:
    """Lines for the console, each with its judgement ('worse', 'better' or '') for colouring."""
    width = max(len(r.label) for r in table) + 2
    col = min(max([24, *(len(x) for r in table if isinstance(r, Text) for x in (r.a, r.b))]), 44)
    lines: list[tuple[str, str]] = []
    section = ""
    for r in table:
        if r.section != section:
            section = r.section
            lines.append((f"\n{section}", "heading"))
        if isinstance(r, Text):
            mark = "" if r.a == r.b else "  (differs)"
            lines.append((f"  {r.label:<{width}} {r.a:>{col}}  {r.b:>{col}}{mark}", ""))
            continue
        judged = r.judge(tolerance)
        mark = {"worse": "  ▲ worse", "better": "  ▼ better"}.get(judged, "")
        a, b = fmt(r.kind, r.a), fmt(r.kind, r.b)
        lines.append((f"  {r.label:<{width}} {a:>{col}}  {b:>{col}}  {r.change():<22}{mark}", judged))
    head = (
        f"  {'':<{width}} {'A ' + names[0][-col + 2 :]:>{col}}  {'B ' + names[1][-col + 2 :]:>{col}}  change"
    )
    return [(head, "heading"), *lines]


def html_page(table: list[Row | Text], tolerance: float, names: tuple[str, str]) -> str:
    worse = regressions(table, tolerance)
    verdict = f"{len(worse)} regression{'s' if len(worse) != 1 else ''}" if worse else "no regressions"
    body, section = [], ""
    for r in table:
        if r.section != section:
            section = r.section
            body.append(f'<tr><th colspan="5" class="sec">{escape(section)}</th></tr>')
        if isinstance(r, Text):
            cls = "" if r.a == r.b else ' class="diff"'
            body.append(f"<tr{cls}><td>{escape(r.label)}</td><td>{escape(r.a)}</td><td>{escape(r.b)}</td>"
                        "<td></td><td></td></tr>")  # fmt: skip
            continue
        judged = r.judge(tolerance)
        body.append(
            f'<tr class="{judged}"><td>{escape(r.label)}</td><td class="num">{escape(fmt(r.kind, r.a))}</td>'
            f'<td class="num">{escape(fmt(r.kind, r.b))}</td><td class="num">{escape(r.change())}</td>'
            f"<td>{judged}</td></tr>"
        )
    css = (
        "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 9px;text-align:left}"
        "td.num{text-align:right;white-space:nowrap}th.sec{background:#f0f0f0}"
        "tr.worse{background:#fde7e6;color:#8c1d18;font-weight:600}tr.better{background:#e6f4ea}"
        "tr.diff td{color:#8a5a00}"
    )
    a, b = (escape(n) for n in names)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Load tests compared: {verdict}'
        f"</title><style>{css}</style></head><body><h1>Load tests compared: {verdict}</h1>"
        f"<p>A = {a}<br>B = {b}<br>A change for the worse of more than {tolerance:.0%} (of the value; for "
        f"shares, {tolerance * 100:g} points) is a regression, marked red; better by as much, green.</p>"
        f"<table><tr><th>Figure</th><th>A</th><th>B</th><th>Change</th><th></th></tr>{''.join(body)}"
        "</table></body></html>\n"
    )
