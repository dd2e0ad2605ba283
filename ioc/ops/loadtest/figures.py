"""The load test's figures in one vocabulary: each with its threshold name, plain label, unit, which way is
better and one sentence saying what it is; the console, the HTML page, `--slo` and `compare` all read them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["time", "count", "rate", "ratio", "times", "mbps"]
Better = Literal["lower", "higher", ""]

# A percentile is reported only when at least this many samples lie above it: p99 needs 1,000 samples,
# p95 200, p99.9 10,000. With fewer, "p99" is one of the few largest values, not a property of the run.
MIN_TAIL = 10


def needed(p: float) -> int:
    """Samples a percentile p (0-100) needs to be reported."""
    return math.ceil(round(MIN_TAIL / (1 - p / 100), 6))  # rounded: 10 / 0.001 is 10000.000000000002


def pkey(p: float) -> str:
    """50 → 'p50', 99.9 → 'p99.9'."""
    return f"p{p:g}"


@dataclass(frozen=True)
class Figure:
    name: str  # as a threshold names it: e2e_p99, lag_max, dropped ...
    label: str
    kind: Kind
    better: Better
    explain: str
    get: Callable[[dict[str, Any]], float | None]
    group: str = ""  # the latency figures share one explanation, said once for the group

    def value(self, report: dict[str, Any]) -> float | None:
        try:
            v = self.get(report)
        except (KeyError, TypeError, IndexError):
            return None
        return None if v is None else float(v)

    def why_missing(self, report: dict[str, Any]) -> str:
        """Why a figure has no value in this report, in a few words."""
        m = _PERCENTILE.fullmatch(self.name)
        if m:
            lat = _latency(report, m["which"])
            n, p = int(lat.get("count") or 0), float(m["p"])
            if n == 0:
                return "no samples"
            if n < needed(p):
                return f"n too small: {n:,} samples, {pkey(p)} needs {needed(p):,}"
        return "not measured in this run"


def _summary(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda r: r["summary"][key]


def _latency(report: dict[str, Any], which: str) -> dict[str, Any]:
    return dict(report["summary"]["e2e_latency_ms" if which == "e2e" else "produce_latency_ms"])


def e2e_sentence(report: dict[str, Any]) -> str:
    """What sensor → screen is, with the waiting the run's own settings put into it."""
    settings = report.get("run", {}).get("settings", {})
    emit, hz = settings.get("emit_interval_s"), settings.get("push_hz")
    sentence = "From a reading's sensor time to the moment a viewer on the wall had it over the websocket"
    if not emit or not hz:
        return sentence + "."
    return (
        f"{sentence}; up to {emit + 1 / hz:.2g} s of it is waiting by design (the worker emits what changed "
        f"every {emit:g} s, the wall pushes what changed at most {hz:g} times a second)."
    )


PRODUCE_SENTENCE = (
    "From the simulators handing a batch to their Kafka client to the broker's acknowledgement, per batch."
)
DOMAIN_LABEL = {
    "environment": "Environment (air, weather, water)",
    "lighting": "Street lighting",
    "traffic": "Traffic",
    "health": "Health (hospital cards)",
}
GROUPS = {"e2e": "Sensor → screen", "produce": "Producer acknowledgement"}


def group_sentence(group: str, report: dict[str, Any]) -> str:
    """The sentence heading a group of figures in the report."""
    return e2e_sentence(report) if group == "e2e" else PRODUCE_SENTENCE


FIXED = (
    Figure("target", "Target rate (mean)", "rate", "",
           "The readings per second the plan asked for, averaged over the seconds the simulators ran.",
           _summary("target_mean_per_s")),
    Figure("achieved", "Sent by the simulators (mean)", "rate", "higher",
           "Readings the simulators handed to Kafka and Kafka acknowledged, divided by the seconds they ran.",
           _summary("achieved_mean_per_s")),
    Figure("achieved_ratio", "Sent ÷ target", "ratio", "higher",
           "How much of the target the simulators delivered: 100 % is exactly the plan.",
           _summary("achieved_over_target")),
    Figure("sent", "Readings sent", "count", "",
           "Every reading the simulators sent during the run.", _summary("readings_sent")),
    Figure("taken_in", "Readings taken in by the worker", "count", "",
           "Readings the worker accepted or dead-lettered (the warm-up probes left out).",
           _summary("readings_taken_in")),
    Figure("dropped", "Readings not taken in", "count", "lower",
           "Readings sent that the worker had neither accepted nor dead-lettered when the run ended: lost, "
           "or still waiting when the drain time ran out.", _summary("readings_dropped")),
    Figure("deadletter", "Readings dead-lettered", "count", "lower",
           "Readings the worker refused (to the dead-letter topic), for any reason.",
           lambda r: sum(r["errors"]["deadletter_readings"].values())),
    Figure("lag_max", "Worst lag (time behind)", "time", "lower",
           "The furthest the worker fell behind: how long before that moment the simulators had sent as many "
           "readings as the worker had taken in. Counted from both ends, never from broker offsets.",
           lambda r: r["summary"]["lag_max_seconds"] * 1000),
    Figure("lag_max_readings", "Worst lag (readings behind)", "count", "lower",
           "The most readings sent but not yet taken in by the worker at any moment.",
           _summary("lag_max_readings")),
    Figure("drain", "Catch-up after sending stopped", "time", "lower",
           "How long after the simulators stopped the worker had taken in every reading; none if it never "
           "caught up within the drain time.",
           lambda r: None if r["summary"]["drained_s_after_simulators"] is None
           else r["summary"]["drained_s_after_simulators"] * 1000),
    Figure("pacing_max_deviation", "Worst second's pacing error", "ratio", "lower",
           "After the warm-up, the largest difference between one second's sent readings and that second's "
           "target, as a share of the target.", lambda r: r["pacing"]["max_deviation"]),
    Figure("sent_mbps", "Data sent", "mbps", "higher",
           "Megabytes of frames per second the simulators sent.", _summary("sent_mb_per_s")),
    Figure("baseline_ratio", "Share of a bare Kafka client's speed", "times", "",
           "The data rate sent, as a multiple of what one bare aiokafka producer reached on the same broker "
           "right after the run (see the baseline below).", _summary("sent_over_baseline")),
    Figure("missed_pushes", "Wall pushes missed", "count", "lower",
           "Websocket pushes the viewer never received (a gap in their sequence numbers).",
           lambda r: r["errors"]["wall_missed_pushes"]),
    Figure("disconnects", "Wall disconnects", "count", "lower",
           "Times the viewer's websocket connection dropped.", lambda r: r["errors"]["wall_disconnects"]),
)  # fmt: skip

_PERCENTILE = re.compile(r"(?P<which>e2e|produce)_p(?P<p>\d{1,2}(?:\.\d+)?)")
_EXTREME = re.compile(r"(?P<which>e2e|produce)_max")


def latency_figure(which: str, p: float | None) -> Figure:
    """e2e_p99, produce_p50 ... (p None: the largest seen)."""
    label = GROUPS[which]
    if p is None:
        return Figure(f"{which}_max", f"{label}, slowest", "time", "lower", "The slowest sample.",
                      lambda r: _latency(r, which)["max"], which)  # fmt: skip
    key = pkey(p)
    return Figure(
        f"{which}_{key}", f"{label}, {key}", "time", "lower", f"{p:g} % of samples took at most this long.",
        lambda r: _latency(r, which)[key], which,
    )  # fmt: skip


def lookup(name: str) -> Figure:
    """The figure a threshold names; ValueError listing the names there are."""
    for f in FIXED:
        if f.name == name:
            return f
    if m := _PERCENTILE.fullmatch(name):
        p = float(m["p"])
        if 0 < p < 100:
            return latency_figure(m["which"], p)
    if m := _EXTREME.fullmatch(name):
        return latency_figure(m["which"], None)
    names = ", ".join(f.name for f in FIXED if f.better)
    raise ValueError(f"unknown figure {name!r}; thresholds can name e2e_pNN, e2e_max, produce_pNN, "
                     f"produce_max, {names} (NN a percentile such as 99 or 99.9)")  # fmt: skip


def percentiles_in(names: list[str]) -> list[float]:
    """The percentiles thresholds ask for (e2e_p99.9 → 99.9), so the report computes them."""
    return [float(m["p"]) for n in names if (m := _PERCENTILE.fullmatch(n))]


def for_report(report: dict[str, Any]) -> list[Figure]:
    """Every figure this report can show, latency percentiles as its plan chose them, in reading order."""
    ps = [float(p) for p in report["plan"].get("percentiles", (50, 95, 99))]
    head = [f for f in FIXED if f.name in ("target", "achieved", "achieved_ratio", "sent", "taken_in")]
    rest = [f for f in FIXED if f not in head]
    lat = [latency_figure(w, p) for w in ("e2e", "produce") for p in [*ps, None]]
    return [*head, *lat, *rest]


def fmt(kind: Kind, value: float | None) -> str:
    """A value in the unit its kind reads best in."""
    if value is None:
        return "—"
    if kind == "time":
        return f"{value:,.0f} ms" if value < 1_000 else f"{value / 1000:,.2f} s"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "rate":
        return f"{value:,.0f}/s"
    if kind == "ratio":
        return f"{value * 100:.1f} %"
    if kind == "times":
        return f"×{value:.3g}"
    return f"{value:,.2f} MB/s"
