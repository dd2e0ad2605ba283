"""The load-test report: per-second series and a summary from a run's raw figures (loadtest.run), written as
report.json, PNG charts (matplotlib) and an index.html that shows them.

Consumer lag is counted, not read from offsets: readings the simulators handed to Kafka (their own per-second
tallies) minus readings the worker took in or dead-lettered (its counters, sampled each second). The broker's
reported end offsets are not used at all: Tansu reports a partition's end as its last batch's first offset
plus one (design notes), which would make the lag of a busy topic look hundreds of records smaller."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import orjson

from ioc.latency import Histogram, merged

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt

CHARTS = ("rate.png", "latency.png", "lag.png")
SENT_STEP_S = 0.05


def shards_of(produced: dict[str, Any]) -> list[dict[str, Any]]:
    """One simulator process's report, or each shard's of a fanned-out run."""
    if not produced:
        return []
    return list(produced["shards"]) if "shards" in produced else [produced]


def build(raw: dict[str, Any]) -> dict[str, Any]:
    """The report document: configuration, per-second series, summary and errors."""
    t0 = float(raw["t0"])
    shards = shards_of(raw["simulators"])
    samples = raw["samples"]
    wall = {int(k): Histogram.from_json(v) for k, v in raw["wall"]["per_second"].items()}
    last = max([int(samples[-1]["unix"] - t0) if samples else 0, *wall, 0]) + 1
    target, achieved, produce = np.zeros(last), np.zeros(last), [Histogram() for _ in range(last)]
    for shard in shards:
        offset = float(shard["started_unix"]) - t0
        rows = np.array(shard["per_second"], dtype=np.float64).reshape(-1, 3)
        for second, readings, _ in rows:
            achieved[min(int(offset + second), last - 1)] += readings
        # The plan's target holds every second, also those in which this shard had nothing due; a second
        # the shard ran only part of counts that part.
        end = offset + float(shard["elapsed_s"])
        span = np.arange(max(int(offset), 0), min(int(end) + 1, last))
        covered = np.clip(np.minimum(span + 1, end) - np.maximum(span, offset), 0.0, 1.0)
        if rows.size:
            target[span] += np.interp(span - offset, rows[:, 0], rows[:, 2]) * covered
        for second, hist in shard.get("produce_per_second", ()):
            produce[min(int(offset + second), last - 1)].merge(Histogram.from_json(hist))
    # Readings handed to Kafka so far, on a fine grid: each shard's tally of its second k spread over
    # [start + k, start + k + 1) of its own clock.
    sent_at = t0 + np.arange(0, last + SENT_STEP_S / 2, SENT_STEP_S)
    sent = np.zeros_like(sent_at)
    for shard in shards:
        rows = np.array(shard["per_second"], dtype=np.float64).reshape(-1, 3)
        after = np.cumsum(rows[:, 1])
        # Flat through seconds with nothing due (a low rate sends whole steps in bursts), rising within one.
        at = float(shard["started_unix"]) + np.column_stack([rows[:, 0], rows[:, 0] + 1]).ravel()
        sent += np.interp(sent_at, at, np.column_stack([after - rows[:, 1], after]).ravel())
    sent = np.maximum.accumulate(sent)
    unix = np.array([x["unix"] for x in samples], dtype=np.float64)
    taken = np.array([x["accepted"] + sum(x["deadletter"].values()) for x in samples], dtype=np.float64)
    taken -= taken[0] if taken.size else 0.0  # the warm-up probes went before the clock started
    lag_readings = np.maximum(np.interp(unix, sent_at, sent) - taken, 0.0) if unix.size else unix
    # Seconds behind: how long ago the simulators had sent as many readings as the worker has now taken in.
    lag_s = np.maximum(unix - _last_time_sent(taken, sent_at, sent), 0.0) if unix.size else unix
    second_ends = t0 + np.arange(last + 1)
    processed = np.diff(np.interp(second_ends, unix, taken, left=0.0)) if unix.size else np.zeros(last)
    e2e = [wall.get(b, Histogram()) for b in range(last)]
    series = {
        "second": list(range(last)),
        "target_per_s": target.round(1).tolist(),
        "achieved_per_s": achieved.tolist(),
        "processed_per_s": processed.round(1).tolist(),
        "produce_p50_ms": [h.quantile(0.5) for h in produce],
        "produce_p99_ms": [h.quantile(0.99) for h in produce],
        "e2e_p50_ms": [h.quantile(0.5) for h in e2e],
        "e2e_p95_ms": [h.quantile(0.95) for h in e2e],
        "e2e_p99_ms": [h.quantile(0.99) for h in e2e],
        "lag_at_s": (unix - t0).round(2).tolist(),
        "lag_readings": lag_readings.round(0).tolist(),
        "lag_seconds": lag_s.round(2).tolist(),
    }
    return {
        "plan": raw["plan"],
        "namespace": raw["namespace"],
        "summary": _summary(raw, shards, series, produce, e2e, taken),
        "errors": _errors(raw, samples),
        "baseline": raw["baseline"],
        "series": series,
    }


def _last_time_sent(count: np.ndarray, sent_at: np.ndarray, sent: np.ndarray) -> np.ndarray:
    """The last moment at which the simulators had sent no more than `count` readings: before it, the worker
    was owed nothing it has not taken in (a pause in sending is no lag)."""
    i = np.clip(np.searchsorted(sent, count, side="right") - 1, 0, len(sent) - 1)
    j = np.minimum(i + 1, len(sent) - 1)
    rise = sent[j] - sent[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(rise > 0, np.clip((count - sent[i]) / rise, 0.0, 1.0), 0.0)
    return np.asarray(sent_at[i] + frac * (sent_at[j] - sent_at[i]))


def _summary(
    raw: dict[str, Any],
    shards: list[dict[str, Any]],
    series: dict[str, list[Any]],
    produce: list[Histogram],
    e2e: list[Histogram],
    taken: np.ndarray,
) -> dict[str, Any]:
    target, achieved = np.array(series["target_per_s"]), np.array(series["achieved_per_s"])
    sim = raw["simulators"]
    elapsed = float(sim.get("elapsed_s", 0.0)) or 1e-9
    sent_mb_s = sum(float(x["bytes"]) for x in shards) / elapsed / 1e6
    baseline_mb_s = float(raw["baseline"].get("mb_per_s") or 0.0)
    sim_end = max((float(x["started_unix"]) + float(x["elapsed_s"]) for x in shards), default=None)
    drained = raw.get("drained_at")
    return {
        "readings_sent": int(sim.get("readings", 0)),
        "readings_taken_in": int(taken[-1]) if taken.size else 0,
        "simulator_seconds": round(elapsed, 2),
        "target_mean_per_s": round(float(target.sum()) / elapsed, 1),
        "achieved_mean_per_s": round(float(achieved.sum()) / elapsed, 1),
        "achieved_over_target": round(float(achieved.sum() / target.sum()), 3) if target.sum() else None,
        "achieved_peak_per_s": float(achieved.max()) if achieved.size else 0.0,
        "sent_mb_per_s": round(sent_mb_s, 2),
        "baseline_mb_per_s": baseline_mb_s,
        "sent_over_baseline": round(sent_mb_s / baseline_mb_s, 3) if baseline_mb_s else None,
        "produce_latency_ms": merged(produce).summary(),
        "e2e_latency_ms": merged(e2e).summary(),
        # Sensor time is the real clock in a load test: how far a simulator's clock started behind it (the
        # sensor-to-screen latency includes this much that is not the pipeline's).
        "sensor_clock_behind_ms": max(
            (round(float(x["started_unix"]) * 1000 - float(x["sim_from_ms"]), 1) for x in shards),
            default=None,
        ),
        "lag_max_readings": max(series["lag_readings"], default=0.0),
        "lag_max_seconds": max(series["lag_seconds"], default=0.0),
        "drained_s_after_simulators": round(drained - sim_end, 2) if drained and sim_end else None,
    }


def _errors(raw: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    wall = raw["wall"]
    first, final = (samples[0]["deadletter"], samples[-1]["deadletter"]) if samples else ({}, {})
    dead = {reason: n - first.get(reason, 0) for reason, n in final.items() if n > first.get(reason, 0)}
    return {
        "simulators_exit": raw["simulators_exit"],
        "deadletter_readings": dead,
        "drained": raw.get("drained_at") is not None,
        "wall_disconnects": wall["disconnects"],
        "wall_resnapshots": max(0, wall["snapshots"] - 1 - wall["disconnects"]),
        "wall_missed_pushes": wall["missed_pushes"],
    }


def write(report: dict[str, Any], out: Path) -> None:
    """report.json, the PNG charts and index.html into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    s = report["series"]
    _chart(out / "rate.png", "Readings per second", s["second"], "readings/s",
           [("target", s["target_per_s"]), ("achieved (simulators)", s["achieved_per_s"]),
            ("processed (worker)", s["processed_per_s"])])  # fmt: skip
    _chart(out / "latency.png", "Latency", s["second"], "ms (log)",
           [("sensor → websocket p50", s["e2e_p50_ms"]), ("sensor → websocket p95", s["e2e_p95_ms"]),
            ("sensor → websocket p99", s["e2e_p99_ms"]), ("producer ack p50", s["produce_p50_ms"]),
            ("producer ack p99", s["produce_p99_ms"])], log=True)  # fmt: skip
    _chart(out / "lag.png", "Consumer lag (counted readings, not offsets)", s["lag_at_s"], "readings",
           [("readings behind", s["lag_readings"])], twin=("seconds behind", s["lag_seconds"]))  # fmt: skip
    (out / "index.html").write_text(_html(report))


def _chart(
    path: Path,
    title: str,
    x: list[float],
    ylabel: str,
    lines: list[tuple[str, list[Any]]],
    log: bool = False,
    twin: tuple[str, list[float]] | None = None,
) -> None:
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    for label, ys in lines:
        ax.plot(x, [np.nan if y is None else y for y in ys], label=label, linewidth=1.4)
    if log:
        ax.set_yscale("log")
    ax.set(title=title, xlabel="seconds since start", ylabel=ylabel)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if twin is not None:
        other = ax.twinx()
        (line,) = other.plot(x, twin[1], color="tab:red", linestyle="--", linewidth=1.2, label=twin[0])
        other.set_ylabel(twin[0])
        handles, labels = [*handles, line], [*labels, twin[0]]
    ax.legend(handles, labels, loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _html(report: dict[str, Any]) -> str:
    def rows(doc: dict[str, Any]) -> str:
        return "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in doc.items()
        )

    charts = "".join(f'<figure><img src="{c}" alt="{c}"></figure>' for c in CHARTS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IOC load test {html.escape(report["namespace"])}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:960px}}table{{border-collapse:collapse;
margin-bottom:1.5em}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}th{{background:#f4f4f4}}
img{{max-width:100%}}</style></head><body>
<h1>IOC load test</h1>
<h2>Plan</h2><table>{rows(report["plan"])}</table>
<h2>Summary</h2><table>{rows(report["summary"])}</table>
<h2>Errors</h2><table>{rows(report["errors"])}</table>
<h2>Baseline: raw aiokafka on the same broker</h2><table>{rows(report["baseline"])}</table>
<h2>Charts</h2>{charts}
<p>Series per second in <a href="report.json">report.json</a>.</p>
</body></html>
"""


def _fmt(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items()) or "none"
    if isinstance(v, float):
        return f"{v:,.3f}".rstrip("0").rstrip(".")
    return "—" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
