"""Load-test rate plans: a target of readings per real second, constant or in ramp stages.

--rate 400k                  400,000 readings/s until stopped (or --duration)
--ramp 1m:10k-200k,5m:200k   ramp from 10k to 200k over a minute, then hold 200k for five
"""

from __future__ import annotations

from dataclasses import dataclass

from ioc.clock import parse_duration

_SUFFIX = {"k": 1e3, "m": 1e6}


def parse_rate(text: str) -> float:
    """Readings per second from '50000', '400k' or '1.2M'."""
    t = text.strip().lower()
    scale = _SUFFIX.get(t[-1:], 1.0)
    number = t[:-1] if t[-1:] in _SUFFIX else t
    try:
        value = float(number) * scale
    except ValueError:
        raise ValueError(f"bad rate {text!r}; use e.g. 50000, 400k, 1.2M") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"rate must be a positive number, got {text!r}")
    return value


@dataclass(frozen=True)
class RateStage:
    duration_s: float
    start: float
    end: float

    def describe(self) -> str:
        """'20k → 250k over 20 s' or '250k for 20 s'."""
        if self.start == self.end:
            return f"{short_rate(self.start)}/s for {self.duration_s:g} s"
        return f"{short_rate(self.start)} → {short_rate(self.end)}/s over {self.duration_s:g} s"


@dataclass(frozen=True)
class RatePlan:
    stages: tuple[RateStage, ...]
    forever: bool = False  # a constant --rate without --duration

    @property
    def total_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    @property
    def lowest(self) -> float:
        """The lowest target any stage asks for (readings/s)."""
        return min(min(s.start, s.end) for s in self.stages)

    def target(self, elapsed_s: float) -> float | None:
        """Readings/s wanted `elapsed_s` into the run; None once the plan is over."""
        if self.forever:
            return self.stages[0].start
        for stage in self.stages:
            if elapsed_s < stage.duration_s:
                return stage.start + (stage.end - stage.start) * elapsed_s / stage.duration_s
            elapsed_s -= stage.duration_s
        return None

    def scaled(self, factor: float) -> RatePlan:
        stages = tuple(RateStage(s.duration_s, s.start * factor, s.end * factor) for s in self.stages)
        return RatePlan(stages, self.forever)


def constant(rate: float, duration_s: float | None) -> RatePlan:
    if duration_s is None:
        return RatePlan((RateStage(1.0, rate, rate),), forever=True)
    return RatePlan((RateStage(duration_s, rate, rate),))


def parse_ramp(text: str) -> RatePlan:
    stages = []
    for part in text.split(","):
        try:
            duration, rates = part.strip().split(":")
        except ValueError:
            raise ValueError(f"bad ramp stage {part!r}; use DURATION:RATE or DURATION:FROM-TO") from None
        lo, _, hi = rates.partition("-")
        start = parse_rate(lo)
        seconds = parse_duration(duration)
        if seconds <= 0:
            raise ValueError(f"ramp stage {part!r} lasts no time; give it a duration such as 30s")
        stages.append(RateStage(seconds, start, parse_rate(hi) if hi else start))
    return RatePlan(tuple(stages))


def short_rate(value: float) -> str:
    """50000 → '50k', 1200000 → '1.2M', 750 → '750'."""
    for suffix, scale in (("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.4g}{suffix}"
    return f"{value:.4g}"
