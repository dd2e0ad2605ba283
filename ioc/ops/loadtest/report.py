"""The load-test report: from a run's raw figures (loadtest.run) per-second series, a summary, per-domain and
per-ramp-step figures, pacing after the warm-up, the thresholds' verdicts and the run's own checks; written as
report.json and a self-contained index.html (loadtest.page).

Consumer lag is counted, not read from offsets: readings the simulators handed to Kafka (their own per-second
tallies) minus readings the worker took in or dead-lettered (its counters, sampled every 0.25 s). The broker's
reported end offsets are not used at all: Tansu reports a partition's end as its last batch's first offset
plus one (design notes), which would make the lag of a busy topic look hundreds of records smaller.

An interrupted or failed run still gets its report, from whatever it had measured by then."""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ioc.contract.documents import TYPE_OF_KIND
from ioc.contract.schemas import SCHEMAS
from ioc.latency import Histogram, merged
from ioc.ops.loadtest import figures, slo
from ioc.rate import RatePlan, RateStage

SENT_STEP_S = 0.05
WINDOW_S = 5  # the latency series: percentiles over the 5 s up to each second (one second has too few)
PACING_BAND = 0.10  # a second counts as on pace within ±10 % of its target
FORMAT = 2

# Exit codes of `ioc loadtest` (README "Load tests"); 2 is click's for a bad command line or setting.
EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


def domain_of_kind(kind: str) -> str:
    """The domain whose readings a timed wall item shows (aqi → environment, lighting → lighting)."""
    return SCHEMAS[TYPE_OF_KIND[kind]].domain


def shards_of(produced: dict[str, Any]) -> list[dict[str, Any]]:
    """One simulator process's report, or each shard's of a fanned-out run."""
    if not produced:
        return []
    return list(produced["shards"]) if "shards" in produced else [produced]


def taken_of(sample: dict[str, Any], domain: str | None = None) -> float:
    """Readings the worker had accepted or dead-lettered at a sample (of one domain, or all)."""
    accepted, dead = sample["accepted"], sample["deadletter"]
    if domain is not None:
        return float(accepted.get(domain, 0.0) + sum(dead.get(domain, {}).values()))
    return float(sum(accepted.values()) + sum(sum(d.values()) for d in dead.values()))


def latency_summary(h: Histogram, percentiles: list[float]) -> dict[str, Any]:
    """count, each percentile the sample supports (None where it is too small: figures.needed) and max."""
    out: dict[str, Any] = {"count": h.count}
    for p in percentiles:
        out[figures.pkey(p)] = h.quantile(p / 100) if h.count >= figures.needed(p) else None
    out["max"] = round(h.max_ms, 3) if h.count else None
    return out


def build(raw: dict[str, Any]) -> dict[str, Any]:
    """The report document: plan, run metadata, status, verdicts, summary, breakdowns and series."""
    plan = raw["plan"]
    percentiles = [float(p) for p in plan.get("percentiles", (50, 95, 99))]
    shards = shards_of(raw.get("simulators") or {})
    samples = raw.get("samples") or []
    t0 = raw.get("t0")
    wall_raw = raw.get("wall") or {}
    wall = {int(k): Histogram.from_json(v) for k, v in (wall_raw.get("per_second") or {}).items()}
    c = _Curves(raw, shards, samples, wall, percentiles) if t0 is not None else None
    report: dict[str, Any] = {
        "format": FORMAT,
        "plan": plan,
        "namespace": raw.get("namespace"),
        "run": raw.get("meta", {}),
        "status": raw.get("status", {"interrupted": None, "failure": None, "phase": "done"}),
        "summary": c.summary() if c else _empty_summary(percentiles),
        "errors": _errors(raw, samples),
        "by_domain": c.by_domain(wall_raw.get("by_domain") or {}) if c else {},
        "by_step": c.by_step() if c else [],
        "pacing": c.pacing() if c else _pacing_empty("the load never started"),
        "baseline": raw.get("baseline"),
        "series": c.series if c else {},
    }
    thresholds = [slo.parse_one(t) for t in plan.get("thresholds", ())]
    report["thresholds"] = slo.judge(thresholds, report)
    report["checks"] = _checks(report)
    report["verdict"] = _verdict(report)
    return report


class _Curves:
    """The run on one clock (seconds since t0, when the simulators were started): what was sent, taken in,
    seen on the wall, per second and per domain."""

    def __init__(
        self,
        raw: dict[str, Any],
        shards: list[dict[str, Any]],
        samples: list[dict[str, Any]],
        wall: dict[int, Histogram],
        percentiles: list[float],
    ) -> None:
        self.raw, self.shards, self.samples, self.percentiles = raw, shards, samples, percentiles
        self.t0 = t0 = float(raw["t0"])
        self.plan = raw["plan"]
        last = max([int(samples[-1]["unix"] - t0) if samples else 0, *wall, 0]) + 1
        for shard in shards:
            last = max(last, int(float(shard["started_unix"]) - t0 + float(shard["elapsed_s"])) + 1)
        self.last = last
        target, achieved = np.zeros(last), np.zeros(last)
        self.produce = [Histogram() for _ in range(last)]
        stages = _stages(self.plan)
        rate = RatePlan(tuple(stages), bool(self.plan.get("forever"))) if stages else None
        for shard in shards:
            offset = float(shard["started_unix"]) - t0
            rows = _rows(shard["per_second"], 3)
            for second, readings, _ in rows:
                achieved[min(int(offset + second), last - 1)] += readings
            # The plan's target holds every second, also those in which this shard had nothing due; a second
            # the shard ran only part of counts that part, at the plan's value in the middle of that part.
            end = offset + float(shard["elapsed_s"])
            span = np.arange(max(int(offset), 0), min(int(end) + 1, last))
            lo, hi = np.maximum(span, offset), np.minimum(span + 1, end)
            covered = np.clip(hi - lo, 0.0, 1.0)
            if rate is not None:
                share = np.array([rate.target(m) or 0.0 for m in (lo + hi) / 2 - offset]) / len(shards)
                target[span] += share * covered
            elif rows.size:  # a raw file from before plans carried their stages
                target[span] += np.interp(span - offset, rows[:, 0], rows[:, 2]) * covered
            for second, hist in shard.get("produce_per_second", ()):
                self.produce[min(int(offset + second), last - 1)].merge(Histogram.from_json(hist))
        self.target, self.achieved = target, achieved
        self.e2e = [wall.get(b, Histogram()) for b in range(last)]
        self.unix = np.array([x["unix"] for x in samples], dtype=np.float64)
        self.sent_at = t0 + np.arange(0, last + SENT_STEP_S / 2, SENT_STEP_S)
        self.taken = self._taken(None)
        self.lag_readings, self.lag_s = self._lag(self._sent(None), self.taken)
        second_ends = t0 + np.arange(last + 1)
        if self.unix.size:
            self.processed = np.diff(np.interp(second_ends, self.unix, self.taken, left=0.0))
        else:
            self.processed = np.zeros(last)
        self.sim_start = min((float(x["started_unix"]) - t0 for x in shards), default=0.0)
        self.sim_end = max(
            (float(x["started_unix"]) - t0 + float(x["elapsed_s"]) for x in shards), default=0.0
        )
        self.series = self._series()

    def _taken(self, domain: str | None) -> np.ndarray:
        taken = np.array([taken_of(x, domain) for x in self.samples], dtype=np.float64)
        return taken - taken[0] if taken.size else taken  # the warm-up probes went before the clock started

    def _sent(self, domain: str | None) -> np.ndarray:
        """Readings handed to Kafka so far, on a fine grid: each shard's tally of its second k spread over
        [start + k, start + k + 1) of its own clock."""
        sent = np.zeros_like(self.sent_at)
        for shard in self.shards:
            if domain is None:
                rows = _rows(shard["per_second"], 3)
            else:
                rows = _rows(shard.get("per_second_by_domain", {}).get(domain, []), 2)
            if not rows.size:
                continue
            after = np.cumsum(rows[:, 1])
            # Flat through seconds with nothing due (a low rate sends whole steps in bursts), rising in one.
            at = float(shard["started_unix"]) + np.column_stack([rows[:, 0], rows[:, 0] + 1]).ravel()
            sent += np.interp(self.sent_at, at, np.column_stack([after - rows[:, 1], after]).ravel())
        return np.maximum.accumulate(sent)

    def _lag(self, sent: np.ndarray, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.unix.size:
            return self.unix, self.unix
        readings = np.maximum(np.interp(self.unix, self.sent_at, sent) - taken, 0.0)
        # Seconds behind: how long ago the simulators had sent as many readings as the worker has taken in.
        seconds = np.maximum(self.unix - _last_time_sent(taken, self.sent_at, sent), 0.0)
        return readings.round(0), seconds.round(3)  # as the series show them, so the maxima are theirs

    def _window(self, hists: list[Histogram], i: int) -> Histogram:
        return merged(hists[max(0, i - WINDOW_S + 1) : i + 1])

    def _series(self) -> dict[str, Any]:
        e2e_windows = [self._window(self.e2e, i) for i in range(self.last)]
        produce_windows = [self._window(self.produce, i) for i in range(self.last)]

        def quantiles(windows: list[Histogram]) -> dict[str, list[float | None]]:
            return {
                figures.pkey(p): [
                    h.quantile(p / 100) if h.count >= figures.needed(p) else None for h in windows
                ]
                for p in self.percentiles
            }

        return {
            "second": list(range(self.last)),
            "target_per_s": self.target.round(1).tolist(),
            "achieved_per_s": self.achieved.tolist(),
            "processed_per_s": self.processed.round(1).tolist(),
            "e2e_window_ms": quantiles(e2e_windows),
            "e2e_count": [h.count for h in self.e2e],
            "produce_window_ms": quantiles(produce_windows),
            "lag_at_s": (self.unix - self.t0).round(2).tolist(),
            "lag_readings": self.lag_readings.tolist(),
            "lag_seconds": self.lag_s.tolist(),
        }

    def summary(self) -> dict[str, Any]:
        target, achieved = self.target, self.achieved
        sim = self.raw.get("simulators") or {}
        elapsed = float(sim.get("elapsed_s", 0.0)) or 1e-9
        sent_mb_s = sum(float(x["bytes"]) for x in self.shards) / elapsed / 1e6
        baseline_mb_s = float((self.raw.get("baseline") or {}).get("mb_per_s") or 0.0)
        drained = self.raw.get("drained_at")
        sent = int(sum(int(x["readings"]) for x in self.shards))
        taken = int(self.taken[-1]) if self.taken.size else 0
        return {
            "readings_sent": sent,
            "readings_taken_in": taken,
            "readings_dropped": max(sent - taken, 0),
            "simulator_seconds": round(elapsed, 2) if sim else 0.0,
            "target_mean_per_s": round(float(target.sum()) / elapsed, 1) if sim else None,
            "achieved_mean_per_s": round(float(achieved.sum()) / elapsed, 1) if sim else None,
            "achieved_over_target": round(float(achieved.sum() / target.sum()), 3) if target.sum() else None,
            "achieved_peak_per_s": float(achieved.max()) if achieved.size else 0.0,
            "sent_mb_per_s": round(sent_mb_s, 2),
            "baseline_mb_per_s": baseline_mb_s or None,
            "sent_over_baseline": round(sent_mb_s / baseline_mb_s, 3) if baseline_mb_s else None,
            "produce_latency_ms": latency_summary(merged(self.produce), self.percentiles),
            "e2e_latency_ms": latency_summary(merged(self.e2e), self.percentiles),
            # Sensor time is the real clock in a load test: how far a simulator's clock started behind it (the
            # sensor-to-screen latency includes this much that is not the pipeline's).
            "sensor_clock_behind_ms": max(
                (round(float(x["started_unix"]) * 1000 - float(x["sim_from_ms"]), 1) for x in self.shards),
                default=None,
            ),
            "lag_max_readings": float(self.lag_readings.max()) if self.lag_readings.size else 0.0,
            "lag_max_seconds": float(self.lag_s.max()) if self.lag_s.size else 0.0,
            "drained_s_after_simulators": round(drained - self.t0 - self.sim_end, 2) if drained else None,
        }

    def by_domain(self, wall_by_domain: dict[str, Any]) -> dict[str, Any]:
        """Per domain: sent, taken in, dead-lettered, lag, and sensor → screen for the domains the wall
        shows a reading's own time for (environment, lighting)."""
        domains = sorted(
            {d for x in self.shards for d in x.get("per_second_by_domain", {})}
            | {d for x in self.samples[-1:] for d in (*x["accepted"], *x["deadletter"])}
        )
        elapsed = max(self.sim_end - self.sim_start, 1e-9)
        out = {}
        for d in domains:
            sent = sum(n for x in self.shards for _, n in x.get("per_second_by_domain", {}).get(d, ()))
            taken = self._taken(d)
            first = self.samples[0]["deadletter"].get(d, {}) if self.samples else {}
            final = self.samples[-1]["deadletter"].get(d, {}) if self.samples else {}
            lag_readings, lag_s = self._lag(self._sent(d), taken)
            hist = Histogram.from_json(wall_by_domain[d]) if d in wall_by_domain else None
            out[d] = {
                "readings_sent": int(sent),
                "readings_taken_in": int(taken[-1]) if taken.size else 0,
                "readings_dropped": max(int(sent) - (int(taken[-1]) if taken.size else 0), 0),
                "deadletter_readings": int(sum(n - first.get(r, 0) for r, n in final.items())),
                "achieved_mean_per_s": round(sent / elapsed, 1),
                "lag_max_readings": float(lag_readings.max()) if lag_readings.size else 0.0,
                "lag_max_seconds": float(lag_s.max()) if lag_s.size else 0.0,
                "e2e_latency_ms": latency_summary(hist, self.percentiles) if hist is not None else None,
            }
        return out

    def by_step(self) -> list[dict[str, Any]]:
        """Per stage of the plan (one for a constant --rate), on the simulators' clock: what they sent in the
        stage's seconds, what the worker took in meanwhile, the latencies and the lag seen in it."""
        out = []
        a = 0.0  # the stage's start on the simulators' clock
        elapsed = self.sim_end - self.sim_start
        sent_by_second: dict[int, float] = {}
        for shard in self.shards:
            for second, readings, _ in _rows(shard["per_second"], 3):
                sent_by_second[int(second)] = sent_by_second.get(int(second), 0.0) + float(readings)
        for k, stage in enumerate(_stages(self.plan)):
            b = elapsed if self.plan.get("forever") else min(a + stage.duration_s, elapsed)
            if b <= a:
                break
            start, end = self.sim_start + a, self.sim_start + b  # on the report's clock (since t0)
            span = b - a
            sent = float(sum(n for second, n in sent_by_second.items() if a <= second < b))
            # The plan's mean over [a, b): a stage is linear, so the mean of its ends (b may cut it short).
            ends = [stage.start + (stage.end - stage.start) * (x - a) / stage.duration_s for x in (a, b)]
            taken = np.interp([start, end], self.unix - self.t0, self.taken) if self.unix.size else [0.0, 0.0]
            seconds = [i for i in range(self.last) if start <= i + 0.5 < end]
            at = self.unix - self.t0
            in_stage = (at >= start) & (at < end)
            target = sum(ends) / 2
            out.append({
                "step": k + 1,
                "plan": stage.describe(),
                "from_s": round(start, 2),
                "to_s": round(end, 2),
                "seconds": round(span, 2),
                "target_mean_per_s": round(target, 1),
                "achieved_mean_per_s": round(sent / span, 1),
                "processed_mean_per_s": round(float(taken[1] - taken[0]) / span, 1),
                "achieved_over_target": round(sent / span / target, 3) if target else None,
                "e2e_latency_ms": self._latency(self.e2e, seconds),
                "produce_latency_ms": self._latency(self.produce, seconds),
                "lag_max_seconds": float(self.lag_s[in_stage].max()) if in_stage.any() else 0.0,
                "lag_max_readings": float(self.lag_readings[in_stage].max()) if in_stage.any() else 0.0,
            })  # fmt: skip
            a = b
        return out

    def _latency(self, hists: list[Histogram], seconds: list[int]) -> dict[str, Any]:
        return latency_summary(merged(hists[i] for i in seconds), self.percentiles)

    def pacing(self) -> dict[str, Any]:
        """Every whole second after the warm-up, on the simulators' own clock (shards summed by their second),
        against the plan's target in the middle of that second."""
        warmup = float(self.plan.get("warmup_s", 5.0))
        stages = _stages(self.plan)
        rate = RatePlan(tuple(stages), bool(self.plan.get("forever")))
        sums: dict[int, float] = {}
        complete = min((float(x["elapsed_s"]) for x in self.shards), default=0.0)
        for shard in self.shards:
            for second, readings, _ in _rows(shard["per_second"], 3):
                sums[int(second)] = sums.get(int(second), 0.0) + readings
        seconds = [k for k in range(math.ceil(warmup), int(complete)) if k + 1 <= complete]
        if not seconds:
            return _pacing_empty(f"too short: no whole second of sending after the {warmup:g} s warm-up")
        achieved = np.array([sums.get(k, 0.0) for k in seconds])
        target = np.array([rate.target(k + 0.5) or 0.0 for k in seconds])
        ratio = np.divide(achieved, target, out=np.zeros_like(achieved), where=target > 0)
        within = int(np.sum(np.abs(ratio - 1) <= PACING_BAND))
        steady = within == len(seconds)
        meta = self.raw.get("meta", {})
        load = (meta.get("cpus") or {}).get("load_average", [None])[0]
        cpus = (meta.get("cpus") or {}).get("usable")
        where = f"load average {load} on {cpus} CPUs when the run started" if load is not None else "busy"
        share = float(achieved.sum() / target.sum()) if target.sum() else 0.0
        # A step sends a whole model slice at once (its frames are whole sensor groups): per process, a step
        # this big against a second's target makes seconds uneven by up to about twice as much (a second
        # holds one step more or less, and the slices differ in size), whatever the machine does.
        step = max((int(x.get("largest_step_readings", 0)) for x in self.shards), default=0)
        per_process = float(target.mean()) / max(len(self.shards), 1)
        grain = step / per_process if per_process else 0.0
        worst = float(np.abs(ratio - 1).max())
        off = f"{len(seconds) - within} of {len(seconds)} seconds more than ±{PACING_BAND:.0%} off"
        steps = (f"the largest step here was {step:,} readings ({grain:.0%} of a process's target each "
                 f"second; a frame carries a whole sensor group)")  # fmt: skip
        if steady:
            note = f"every second after the warm-up within ±{PACING_BAND:.0%} of its target"
        elif share < 1 - PACING_BAND / 2:
            note = (f"the simulators sent {share:.0%} of the target after the warm-up: they were short of "
                    f"CPU ({where})")  # fmt: skip
        elif worst <= 2 * grain:
            note = (f"{off} while the mean held ({share:.0%}): {steps}; seconds come within "
                    f"±{PACING_BAND:.0%} from about {step / PACING_BAND:,.0f} readings/s per "
                    "process")  # fmt: skip
        else:
            note = (f"{off} while the mean held ({share:.0%}), worst {worst:.0%}, more than whole steps "
                    f"explain ({steps}): the simulators fell behind and caught up in bursts, as a busy "
                    f"machine makes them ({where})")  # fmt: skip
        return {
            "warmup_s": warmup,
            "seconds": len(seconds),
            "target_mean_per_s": round(float(target.mean()), 1),
            "achieved_min_per_s": float(achieved.min()),
            "achieved_max_per_s": float(achieved.max()),
            "achieved_mean_per_s": round(float(achieved.mean()), 1),
            "achieved_stdev_per_s": round(float(achieved.std()), 1),
            "ratio_min": round(float(ratio.min()), 3),
            "ratio_max": round(float(ratio.max()), 3),
            "max_deviation": round(float(np.abs(ratio - 1).max()), 3),
            "within_band": within,
            "band": PACING_BAND,
            "largest_step_readings": step,
            "steady": steady,
            "note": note,
        }


def _rows(rows: Any, width: int) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(-1, width)


def _stages(plan: dict[str, Any]) -> list[RateStage]:
    return [
        RateStage(float(s["duration_s"]), float(s["start"]), float(s["end"])) for s in plan.get("stages", ())
    ]


def _last_time_sent(count: np.ndarray, sent_at: np.ndarray, sent: np.ndarray) -> np.ndarray:
    """The last moment at which the simulators had sent no more than `count` readings: before it, the worker
    was owed nothing it has not taken in (a pause in sending is no lag)."""
    i = np.clip(np.searchsorted(sent, count, side="right") - 1, 0, len(sent) - 1)
    j = np.minimum(i + 1, len(sent) - 1)
    rise = sent[j] - sent[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(rise > 0, np.clip((count - sent[i]) / rise, 0.0, 1.0), 0.0)
    return np.asarray(sent_at[i] + frac * (sent_at[j] - sent_at[i]))


def _empty_summary(percentiles: list[float]) -> dict[str, Any]:
    nothing = latency_summary(Histogram(), percentiles)
    return {
        "readings_sent": 0, "readings_taken_in": 0, "readings_dropped": 0, "simulator_seconds": 0.0,
        "target_mean_per_s": None, "achieved_mean_per_s": None, "achieved_over_target": None,
        "achieved_peak_per_s": 0.0, "sent_mb_per_s": 0.0, "baseline_mb_per_s": None,
        "sent_over_baseline": None,
        "produce_latency_ms": nothing, "e2e_latency_ms": nothing, "sensor_clock_behind_ms": None,
        "lag_max_readings": 0.0, "lag_max_seconds": 0.0, "drained_s_after_simulators": None,
    }  # fmt: skip


def _pacing_empty(why: str) -> dict[str, Any]:
    return {"seconds": 0, "steady": None, "note": why, "max_deviation": None, "band": PACING_BAND}


def _errors(raw: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    wall = raw.get("wall") or {}
    dead: dict[str, float] = {}
    if samples:
        first, final = samples[0]["deadletter"], samples[-1]["deadletter"]
        for domain, reasons in final.items():
            for reason, n in reasons.items():
                more = n - first.get(domain, {}).get(reason, 0)
                if more > 0:
                    dead[reason] = dead.get(reason, 0) + more
    return {
        "simulators_exit": raw.get("simulators_exit"),
        "simulators_error": raw.get("simulators_error"),
        "deadletter_readings": dead,
        "drained": raw.get("drained_at") is not None,
        "wall_disconnects": wall.get("disconnects", 0),
        "wall_resnapshots": max(0, wall.get("snapshots", 0) - 1 - wall.get("disconnects", 0)),
        "wall_missed_pushes": wall.get("missed_pushes", 0),
    }


def _checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's own checks, whatever the thresholds: it ran to the end, the simulators succeeded and the
    worker took in every reading."""
    status, errors = report["status"], report["errors"]
    interrupted, failure = status.get("interrupted"), status.get("failure")
    code = errors["simulators_exit"]
    sim_detail = "exit 0" if code == 0 else "never started" if code is None else f"exit {code}"
    if code not in (0, None) and errors.get("simulators_error"):
        sim_detail += f": {errors['simulators_error']}"
    drained = report["summary"]["drained_s_after_simulators"]
    return [
        {"check": "The run went to its end", "ok": not interrupted and not failure,
         "detail": _stopped(status) if interrupted or failure else "yes"},
        {"check": "The simulators finished without an error", "ok": code == 0, "detail": sim_detail},
        {"check": "The worker took in every reading sent", "ok": errors["drained"],
         "detail": f"{drained:g} s after the simulators stopped" if drained is not None else
         f"{report['summary']['readings_dropped']:,} readings not taken in"},
    ]  # fmt: skip


def _stopped(status: dict[str, Any]) -> str:
    if (i := status.get("interrupted")) is not None:
        return f"stopped by {i['signal']} during {i['phase']}"
    return f"failed during {status.get('phase')}: {status.get('failure')}"


def _verdict(report: dict[str, Any]) -> dict[str, Any]:
    """The headline: interrupted, failed (could not run), fail, not judged or pass; and the exit code."""
    status = report["status"]
    thresholds = report["thresholds"]["verdict"]
    if status.get("interrupted"):
        sig = signal.Signals[status["interrupted"]["signal"]]
        return {"overall": "interrupted", "exit_code": 128 + int(sig), "reason": _stopped(status)}
    if status.get("failure"):
        return {"overall": "failed", "exit_code": EXIT_INCOMPLETE, "reason": _stopped(status)}
    bad = [c["check"] for c in report["checks"] if not c["ok"]]
    if bad:
        return {"overall": "fail", "exit_code": EXIT_FAIL, "reason": "; ".join(bad) + ": no"}
    if thresholds == "fail":
        failed = [r["threshold"] for r in report["thresholds"]["results"] if r["verdict"] == "fail"]
        return {"overall": "fail", "exit_code": EXIT_FAIL, "reason": "threshold missed: " + ", ".join(failed)}
    if thresholds == "not judged":
        unjudged = [r["threshold"] for r in report["thresholds"]["results"] if r["verdict"] == "not judged"]
        return {
            "overall": "not judged",
            "exit_code": EXIT_FAIL,
            "reason": "too little data for " + ", ".join(unjudged),
        }
    reason = "every threshold met" if thresholds == "pass" else "no thresholds given; the run's checks passed"
    return {"overall": "pass", "exit_code": EXIT_PASS, "reason": reason}


def write(report: dict[str, Any], out: Path) -> None:
    """report.json and the self-contained index.html into `out`."""
    from ioc.ops.loadtest import page  # matplotlib: only when a report is written

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    (out / "index.html").write_text(page.render(report))


def load(path: Path) -> dict[str, Any]:
    """A report from its report.json or the directory holding it."""
    file = path / "report.json" if path.is_dir() else path
    doc: dict[str, Any] = orjson.loads(file.read_bytes())
    return doc
