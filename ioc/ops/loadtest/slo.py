"""Thresholds on a load test's figures (`--slo "e2e_p99<1s,lag_max<2s,dropped==0"`, `--slo-file`): read
strictly before anything starts, then judged on the report: pass, fail or not judged (too few samples)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ioc.ops.loadtest import figures

OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}  # fmt: skip
_EXPR = re.compile(r"\s*(?P<name>[A-Za-z][\w.]*)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>\S.*?)\s*")
_NUMBER = re.compile(r"(?P<n>[0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*(?P<unit>[a-zµ%/]*)", re.IGNORECASE)
TIME_UNITS = {"ms": 1.0, "s": 1000.0, "m": 60_000.0, "min": 60_000.0}
SCALE = {"": 1.0, "k": 1e3, "m": 1e6}


@dataclass(frozen=True)
class Threshold:
    text: str  # as written, normalised: e2e_p99<1s
    figure: figures.Figure
    op: str
    limit: float  # in the figure's own unit: ms, readings, readings/s, a ratio (0.95 for 95 %)

    def judge(self, report: dict[str, Any]) -> dict[str, Any]:
        observed = self.figure.value(report)
        if observed is None:
            verdict, note = "not judged", self.figure.why_missing(report)
        else:
            verdict = "pass" if OPS[self.op](observed, self.limit) else "fail"
            note = ""
        return {
            "threshold": self.text,
            "figure": self.figure.name,
            "label": self.figure.label,
            "limit": self.limit,
            "observed": observed,
            "shown": figures.fmt(self.figure.kind, observed),
            "verdict": verdict,
            "note": note,
        }


def parse_one(text: str) -> Threshold:
    m = _EXPR.fullmatch(text)
    if not m:
        raise ValueError(f"{text.strip()!r} is not FIGURE OP VALUE (e.g. e2e_p99<1s, dropped==0)")
    figure = figures.lookup(m["name"])
    return Threshold(f"{m['name']}{m['op']}{m['value']}", figure, m["op"], _limit(figure, m["value"]))


def _limit(figure: figures.Figure, text: str) -> float:
    m = _NUMBER.fullmatch(text)
    if not m:
        raise ValueError(f"{figure.name}: {text!r} is not a number")
    n, unit = float(m["n"]), m["unit"].lower()
    if figure.kind == "time":
        if unit not in TIME_UNITS:
            raise ValueError(f"{figure.name}: give {text!r} a unit of time: ms, s or m (e.g. 500ms, 1s)")
        return n * TIME_UNITS[unit]
    if figure.kind in ("ratio", "times"):
        if unit == "%":
            return n / 100
        if unit:
            raise ValueError(f"{figure.name}: {text!r} is a share: write 0.95 or 95%")
        return n
    if figure.kind == "mbps":
        if unit not in ("", "mb/s"):
            raise ValueError(f"{figure.name}: {text!r} is in MB/s: write e.g. 20 or 20MB/s")
        return n
    unit = unit.removesuffix("/s") if figure.kind == "rate" else unit
    if unit not in SCALE:
        raise ValueError(f"{figure.name}: {text!r} is a count: write e.g. 0, 500, 20k or 1.5M")
    return n * SCALE[unit]


def parse(text: str) -> list[Threshold]:
    """Thresholds separated by commas or new lines; '#' starts a comment."""
    out = []
    for line in text.splitlines():
        for part in line.split("#", 1)[0].split(","):
            if part.strip():
                out.append(parse_one(part))
    return out


def read(path: Path) -> list[Threshold]:
    """A file of thresholds (one or more a line, commas between, '#' comments); ValueError naming the line."""
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        try:
            out += parse(line)
        except ValueError as exc:
            raise ValueError(f"{path}, line {i}: {exc}") from None
    return out


def judge(thresholds: list[Threshold], report: dict[str, Any]) -> dict[str, Any]:
    """Each threshold's verdict, and the overall one: fail if any failed, 'not judged' if none failed but
    one could not be judged, pass if all passed, 'none' without thresholds."""
    results = [t.judge(report) for t in thresholds]
    verdicts = {r["verdict"] for r in results}
    overall = (
        "none" if not results else "fail" if "fail" in verdicts else "not judged" if "not judged" in verdicts
        else "pass"
    )  # fmt: skip
    return {"verdict": overall, "results": results}
