"""The load-test report as one self-contained HTML page: the verdict first, then the charts, then every figure
with a sentence saying what it is, per ramp step, per domain, pacing, the baseline and the run's details."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from ioc.ops.loadtest import charts, figures
from ioc.ops.loadtest.figures import fmt

VERDICT_WORD = {
    "pass": "PASS", "fail": "FAIL", "not judged": "NOT JUDGED", "interrupted": "INTERRUPTED",
    "failed": "DID NOT RUN",
}  # fmt: skip
RATE_CAPTION = (
    "Target (dashed) is what the plan asked for each second; sent is what the simulators handed to Kafka and "
    "Kafka acknowledged; taken in is what the worker accepted or dead-lettered. The shaded start is the "
    "warm-up, left out of the pacing figures; dotted lines mark the ramp's steps."
)
LATENCY_CAPTION = (
    "{sentence} Each point is a percentile ({percentiles}) over the 5 seconds up to it, drawn only where "
    "those seconds hold enough samples (p99 needs {p99:,})."
)
LAG_CAPTION = (
    "Seconds behind (solid): how long before each moment the simulators had sent as many readings as the "
    "worker had taken in. Readings behind (dotted): sent minus taken in. Both counted from the two ends "
    "every 0.25 s, never from broker offsets (Tansu under-reports a partition's end)."
)
DOMAINS_INTRO = (
    "<h2>Per domain</h2><p>Sensor → screen is timed for the readings the wall shows with their own sensor "
    "time (air quality, weather, water levels, lighting); traffic shows 5-minute windows and health hospital "
    "summaries, so those are <em>not timed</em>.</p>"
)
BASELINE = (
    "<p>After the run, one aiokafka producer sent records of {record_bytes:,} bytes (the run's mean frame "
    "size) to the same broker, filling a batch per partition at a time, as fast as it could for {seconds:g} "
    "s: {mb_per_s:g} MB/s ({records_per_s:,.0f} records/s). While the load ran, the simulators sent {sent:g} "
    "MB/s, {share}. The simulators also generate and encode the readings, on the same CPUs as the broker, "
    "worker and wall, so this says how much of what this broker and machine took from a bare client at that "
    "moment the run used: a yardstick for a shared, noisy machine, not the pipeline's limit.</p>"
)
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
main{max-width:1040px;margin:0 auto;padding:0 1.2em 3em}
header.verdict{padding:1.2em 1.6em;color:#fff}
header.pass{background:#1b7f3b}header.fail,header.failed{background:#b3261e}
header.interrupted,header.notjudged{background:#8a5a00}
header h1{margin:0 0 .3em;font-size:1.7em}header p{margin:.2em 0;max-width:62em}
h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
figure{margin:1.2em 0;background:#fff;border:1px solid #e3e3e3;padding:.6em .8em}
figure svg{width:100%;height:auto}figcaption{color:#444;font-size:.92em;margin-top:.3em}
table{border-collapse:collapse;background:#fff;margin:.6em 0 1em;font-size:.93em}
th,td{border:1px solid #ddd;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}td.num{text-align:right}td.group{background:#f6f6f6}
td.num span.muted{font-size:.85em}
td.pass{color:#1b7f3b;font-weight:600}td.fail{color:#b3261e;font-weight:600}td.na{color:#8a5a00}
.muted{color:#666}details{margin:.6em 0}summary{cursor:pointer}code{background:#eee;padding:0 .25em}
"""


def render(report: dict[str, Any]) -> str:
    v = report["verdict"]
    cls = v["overall"].replace(" ", "")
    title = f"{VERDICT_WORD[v['overall']]}: load test, {_plan_text(report)}"
    body = "".join([
        f'<header class="verdict {cls}"><h1>{escape(title)}</h1>',
        f"<p>{escape(headline(report))}</p><p>{escape(_verdict_sentence(report))}</p></header><main>",
        _thresholds(report),
        _checks(report),
        _charts(report),
        _figures(report),
        _steps(report),
        _domains(report),
        _pacing(report),
        _baseline(report),
        _errors(report),
        _run(report),
        "</main>",
    ])  # fmt: skip
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def _plan_text(report: dict[str, Any]) -> str:
    p = report["plan"]
    if p.get("rate"):
        text = f"{p['rate']} readings/s for {p.get('duration')}"
    else:
        text = f"ramp {p.get('ramp')}"
    n = int(p.get("processes", 1))
    return text + (f" over {n} simulator processes" if n > 1 else "")


def headline(report: dict[str, Any]) -> str:
    """One sentence with what a load tester looks at first."""
    s = report["summary"]
    if not s["readings_sent"]:
        return "No readings were sent: " + report["verdict"]["reason"] + "."
    e2e = s["e2e_latency_ms"]
    parts = [
        f"The simulators sent {fmt('rate', s['achieved_mean_per_s'])} against a target of "
        f"{fmt('rate', s['target_mean_per_s'])} ({fmt('ratio', s['achieved_over_target'])})",
    ]
    if s["readings_dropped"] == 0:
        parts.append(f"the worker took in all {s['readings_sent']:,} readings")
    else:
        parts.append(f"the worker took in {s['readings_taken_in']:,} of {s['readings_sent']:,} readings")
    parts.append(f"at worst {fmt('time', s['lag_max_seconds'] * 1000)} behind")
    if s["drained_s_after_simulators"] is not None:
        parts.append(f"caught up {s['drained_s_after_simulators']:g} s after sending stopped")
    p = _worst_supported(e2e, report)
    if p is not None:
        parts.append(f"sensor → screen {p} was {fmt('time', e2e[p])} ({e2e['count']:,} samples)")
    elif e2e["count"]:
        parts.append(f"too few sensor → screen samples for a percentile ({e2e['count']:,})")
    return "; ".join(parts) + "."


def _worst_supported(lat: dict[str, Any], report: dict[str, Any]) -> str | None:
    keys = [figures.pkey(float(p)) for p in report["plan"].get("percentiles", (50, 95, 99))]
    supported = [k for k in keys if lat.get(k) is not None]
    return supported[-1] if supported else None


def _verdict_sentence(report: dict[str, Any]) -> str:
    v, t = report["verdict"], report["thresholds"]
    met = sum(r["verdict"] == "pass" for r in t["results"])
    counted = f" {met} of {len(t['results'])} thresholds met." if t["results"] else ""
    return f"Verdict: {v['reason']}.{counted} Exit code {v['exit_code']}."


Cell = str | tuple[str, str]  # html, or (html, class)


def _table(head: list[str], rows: Sequence[Sequence[Cell]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()

    def td(i: int, cell: Cell) -> str:
        text, cls = cell if isinstance(cell, tuple) else (cell, "num" if i in numeric else "")
        if cls == "group":  # a heading row across the table
            return f'<td class="group" colspan="{len(head)}">{text}</td>'
        return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"

    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(td(i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _thresholds(report: dict[str, Any]) -> str:
    results = report["thresholds"]["results"]
    if not results:
        return (
            "<h2>Thresholds</h2><p>No thresholds were given (<code>--slo</code> or <code>--slo-file</code>): "
            "the verdict rests on the run's own checks below.</p>"
        )
    rows: list[list[Cell]] = [
        [f"<code>{escape(r['threshold'])}</code> <span class=muted>{escape(r['label'])}</span>",
         escape(r["shown"]), (escape(r["verdict"]), _cls(r["verdict"])), escape(r["note"])]
        for r in results
    ]  # fmt: skip
    return "<h2>Thresholds</h2>" + _table(["Threshold", "Measured", "Verdict", "Note"], rows, {1})


def _cls(verdict: str) -> str:
    return {"pass": "pass", "fail": "fail"}.get(verdict, "na")


def _checks(report: dict[str, Any]) -> str:
    rows: list[list[Cell]] = [
        [escape(c["check"]), ("yes", "pass") if c["ok"] else ("no", "fail"), escape(str(c["detail"]))]
        for c in report["checks"]
    ]
    return "<h2>Checks</h2>" + _table(["The run's own check", "Met", "Detail"], rows)


def _charts(report: dict[str, Any]) -> str:
    if not report["series"] or not report["series"].get("second"):
        return "<h2>Charts</h2><p>No charts: the load never started.</p>"
    p = ", ".join(figures.pkey(float(x)) for x in report["plan"].get("percentiles", ()))
    e2e = LATENCY_CAPTION.format(sentence=figures.e2e_sentence(report), percentiles=p, p99=figures.needed(99))
    produce = LATENCY_CAPTION.format(sentence=figures.PRODUCE_SENTENCE, percentiles=p, p99=figures.needed(99))
    return "<h2>Charts</h2>" + "".join([
        _figure("Readings per second", charts.rate(report), RATE_CAPTION),
        _figure("Sensor → screen latency", charts.latency(report, "e2e_window_ms"), e2e),
        _figure("How far behind the worker was", charts.lag(report), LAG_CAPTION),
        _figure("Producer acknowledgement", charts.latency(report, "produce_window_ms"), produce),
    ])  # fmt: skip


def _figure(title: str, svg: str, caption: str) -> str:
    return f"<figure><h3>{escape(title)}</h3>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def _figures(report: dict[str, Any]) -> str:
    rows: list[list[Cell]] = []
    group = ""
    for f in figures.for_report(report):
        if f.group != group and f.group:
            label, sentence = figures.GROUPS[f.group], figures.group_sentence(f.group, report)
            rows.append([(f"<strong>{escape(label)}</strong>: {escape(sentence)}", "group")])
        group = f.group
        value = f.value(report)
        shown = fmt(f.kind, value)
        if value is None:
            shown += f"<br><span class=muted>{escape(f.why_missing(report))}</span>"
        rows.append([escape(f.label), (shown, "num"), escape(f.explain), f"<code>{escape(f.name)}</code>"])
    return "<h2>Figures</h2>" + _table(["Figure", "Value", "What it is", "Threshold name"], rows)


def _lat(lat: dict[str, Any] | None, keys: list[str]) -> str:
    """A latency cell: each percentile on its line, or why there is none."""
    if lat is None:
        return "<span class=muted>not timed</span>"
    n = int(lat.get("count") or 0)
    if n == 0:
        return "<span class=muted>no samples</span>"
    lines = [
        f"{k} {fmt('time', lat[k])}"
        if lat.get(k) is not None
        else f"{k} <span class=muted>n too small</span>"
        for k in keys
    ]
    return "<br>".join(lines) + f"<br><span class=muted>{n:,} samples</span>"


def _steps(report: dict[str, Any]) -> str:
    steps = report["by_step"]
    if not steps:
        return ""
    ps = [figures.pkey(float(p)) for p in report["plan"].get("percentiles", ())]
    head = ["Step", "Plan", "Seconds", "Target", "Sent", "Taken in", "Sent ÷ target", "Sensor → screen",
            "Worst lag"]  # fmt: skip
    rows = [
        [str(x["step"]), escape(x["plan"]), f"{x['from_s']:g}–{x['to_s']:g}",
         fmt("rate", x["target_mean_per_s"]), fmt("rate", x["achieved_mean_per_s"]),
         fmt("rate", x["processed_mean_per_s"]),
         fmt("ratio", x["achieved_over_target"]), _lat(x["e2e_latency_ms"], ps),
         fmt("time", x["lag_max_seconds"] * 1000)]
        for x in steps
    ]  # fmt: skip
    return (
        "<h2>Per step of the plan</h2><p>Each stage of <code>--ramp</code> (one for a constant "
        "<code>--rate</code>) on the simulators' clock; rates are means over the stage's whole seconds.</p>"
        + _table(head, rows, set(range(2, len(head))))
    )


def _domains(report: dict[str, Any]) -> str:
    domains = report["by_domain"]
    if not domains:
        return ""
    ps = [figures.pkey(float(p)) for p in report["plan"].get("percentiles", ())]
    head = ["Domain", "Sent", "Taken in", "Not taken in", "Dead-lettered", "Sent per second", "Worst lag",
            "Sensor → screen"]  # fmt: skip
    rows = [
        [escape(figures.DOMAIN_LABEL.get(d, d)), f"{x['readings_sent']:,}", f"{x['readings_taken_in']:,}",
         f"{x['readings_dropped']:,}", f"{x['deadletter_readings']:,}", fmt("rate", x["achieved_mean_per_s"]),
         fmt("time", x["lag_max_seconds"] * 1000), _lat(x["e2e_latency_ms"], ps)]
        for d, x in domains.items()
    ]  # fmt: skip
    return DOMAINS_INTRO + _table(head, rows, set(range(1, len(head))))


def _pacing(report: dict[str, Any]) -> str:
    p = report["pacing"]
    intro = (
        "<h2>Pacing</h2><p>How evenly the simulators sent: every whole second after the warm-up, summed over "
        "the simulator processes on their own clock, against the plan's target in the middle of that second. "
        f"On pace means within ±{p['band']:.0%} of the target.</p>"
    )
    if not p.get("seconds"):
        return intro + f"<p>{escape(p['note'])}.</p>"
    rows = [
        ["Seconds counted", f"{p['seconds']} (after {p['warmup_s']:g} s of warm-up)"],
        ["Target per second (mean)", fmt("rate", p["target_mean_per_s"])],
        ["Sent per second: lowest, highest",
         f"{fmt('rate', p['achieved_min_per_s'])}, {fmt('rate', p['achieved_max_per_s'])}"],
        ["Sent per second: mean, standard deviation",
         f"{fmt('rate', p['achieved_mean_per_s'])}, {fmt('rate', p['achieved_stdev_per_s'])}"],
        ["Sent ÷ target: lowest, highest", f"{fmt('ratio', p['ratio_min'])}, {fmt('ratio', p['ratio_max'])}"],
        ["Seconds on pace", f"{p['within_band']} of {p['seconds']}"],
    ]  # fmt: skip
    word = "Steady" if p["steady"] else "Not steady"
    return intro + _table(["", "Value"], rows) + f"<p><strong>{word}</strong>: {escape(p['note'])}.</p>"


def _baseline(report: dict[str, Any]) -> str:
    b, s = report.get("baseline"), report["summary"]
    head = "<h2>Baseline: a bare Kafka client on the same broker</h2>"
    if not b:
        return (
            head
            + "<p>No baseline: it was skipped (<code>--baseline 0</code>) or the run stopped before it.</p>"
        )
    ratio = s.get("sent_over_baseline")
    share = f"×{ratio:.3g} of that" if ratio is not None else "not compared"
    return head + BASELINE.format(**b, sent=s["sent_mb_per_s"], share=share)


def _errors(report: dict[str, Any]) -> str:
    e, s = report["errors"], report["summary"]
    dead = ", ".join(f"{n:,.0f} {escape(r)}" for r, n in e["deadletter_readings"].items()) or "none"
    rows = [
        ["Readings dead-lettered, by reason", dead, "Readings the worker refused, with the reason it gave."],
        ["Wall disconnects", f"{e['wall_disconnects']:,}", "Times the viewer's websocket connection broke."],
        ["Wall snapshots resent", f"{e['wall_resnapshots']:,}",
         "Times the wall sent the viewer a whole snapshot again because it fell behind."],
        ["Wall pushes missed", f"{e['wall_missed_pushes']:,}", "Gaps in the pushes' sequence numbers."],
        ["Sensor clock behind real time at the start", fmt("time", s.get("sensor_clock_behind_ms")),
         "Sensor time is the real clock in a load test; this much of the sensor → screen time was the "
         "simulators' clock starting late, not the pipeline."],
    ]  # fmt: skip
    return "<h2>Errors and the wall's health</h2>" + _table(["", "Value", "What it is"], rows, {1})


def _run(report: dict[str, Any]) -> str:
    r = report.get("run") or {}
    git = r.get("git")
    commit = "not a git checkout"
    if git:
        commit = f"{git['commit'][:12]} on {git.get('branch')}" + (" with uncommitted changes" * git["dirty"])
    cpus = r.get("cpus") or {}
    packages = ", ".join(f"{k} {v}" for k, v in (r.get("packages") or {}).items() if v)
    rows = [
        ["Started, ended", f"{escape(str(r.get('started')))} → {escape(str(r.get('ended')))}"],
        ["Command", f"<code>{escape(str(r.get('command')))}</code>"],
        ["Commit", escape(commit)],
        ["Host", escape(f"{r.get('host')} ({r.get('platform')})")],
        ["CPUs", escape(f"{cpus.get('usable')} usable of {cpus.get('count')}; load average (1, 5, 15 min) "
                        f"{cpus.get('load_average')} at the start, {r.get('load_average_at_end')} at the "
                        "end")],
        ["Python", escape(str(r.get("python")))],
        ["Packages", escape(packages)],
        ["Namespace", escape(str(report.get("namespace")))],
    ]  # fmt: skip
    settings = "".join(
        f"<tr><th>IOC_{escape(k.upper())}</th><td>{escape(str(v))}</td></tr>"
        for k, v in (r.get("settings") or {}).items()
    )
    return (
        "<h2>The run</h2>" + _table(["", ""], rows)
        + f"<details><summary>Settings used (secrets left out)</summary><table>{settings}</table></details>"
        + "<p class=muted>Every figure and series is in report.json next to this page.</p>"
    )  # fmt: skip
