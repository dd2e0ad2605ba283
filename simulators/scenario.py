"""Scenario files: stages over simulated time that set model parameters, in TOML.

    name = "accident-ql1a-hoang-mai"          # file name without .toml
    title = "..."                              # Vietnamese, shown to operators
    title_en = "..."
    start = "2025-10-13T07:00"                 # suggested start, Vietnam time (overridable)
    duration = "4h"
    seed = 7                                   # suggested seed (overridable)

    [[stage]]
    name = "Collision"                         # English; the banner's "stage" in English
    title = "Va chạm"                          # Vietnamese (optional, default: name)
    at = "30m"                                 # offset from the scenario start
    until = "1h30m"                            # default: the end of the scenario
    ramp = "5m"                                # numbers move linearly in over `ramp` and back out after
    [stage.set]
    "traffic.TD-HM-02-A1.capacity_factor" = 0.1   # domain.target.parameter = value

A target is an area id, "*" (everywhere), or an entity the domain knows (road, site, detector, cabinet,
hospital, sensor group or sensor id). After `until` a parameter returns to what it was before the stage.
From the scenario's end on nothing is overridden: a live run goes on as a normal city.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ioc.clock import parse_duration, parse_start

# Every parameter a scenario may set, with its neutral value, per domain (the models read these names).
PARAMETERS: dict[str, dict[str, Any]] = {
    "environment": {
        "pm_factor": 1.0, "gas_factor": 1.0, "rain_mm_h": 0.0, "wind_ms": None, "wind_dir": None,
        "temp_offset_c": 0.0, "rh_offset": 0.0, "gio_lao": None, "surge_m": 0.0, "pressure_offset_hpa": 0.0,
    },
    "traffic": {"demand_factor": 1.0, "capacity_factor": 1.0, "speed_factor": 1.0},
    "lighting": {"power_loss": False, "offline": False, "dim_level": None, "fault_rate_factor": 1.0},
    "health": {"arrival_factor": 1.0, "priority_factor": 1.0, "lab_factor": 1.0, "service_factor": 1.0},
    "faults": {
        "offline": False, "stuck": False, "malformed": 0.0, "bad_version": 0.0, "duplicate": 0.0,
        "late": 0.0, "late_s": 600.0, "spike": 0.0, "unknown_sensor": 0.0,
    },
}  # fmt: skip


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file and what to fix."""


@dataclass(frozen=True)
class Setting:
    domain: str
    target: str
    param: str
    value: Any


@dataclass(frozen=True)
class Stage:
    name: str
    at_ms: int
    until_ms: int
    ramp_ms: int
    settings: tuple[Setting, ...]
    title: str = ""  # Vietnamese; the name when the file gives none

    def active(self, offset_ms: int) -> bool:
        return self.at_ms <= offset_ms < self.until_ms


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    title_en: str
    description: str
    start: str | None
    duration_ms: int
    seed: int | None
    stages: tuple[Stage, ...]
    source: str = ""

    def start_ms(self) -> int | None:
        return parse_start(self.start) if self.start else None

    def stage_at(self, offset_ms: int) -> Stage | None:
        """The stage playing `offset_ms` after the start: of those in their window, the latest begun."""
        playing = [st for st in self.stages if st.active(offset_ms) and offset_ms < self.duration_ms]
        return max(playing, key=lambda st: st.at_ms, default=None)

    def overrides(self, offset_ms: int) -> dict[str, dict[str, dict[str, Any]]]:
        """{domain: {target: {param: value}}} in force `offset_ms` after the scenario's start; none once the
        scenario has ended (a ramp back does not outlast it)."""
        if offset_ms >= self.duration_ms:
            return {}
        values: dict[tuple[str, str, str], Any] = {}
        for stage in self.stages:
            for s in stage.settings:
                key = (s.domain, s.target, s.param)
                before = values.get(key, PARAMETERS[s.domain][s.param])
                values[key] = _blend(before, s.value, stage, offset_ms)
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for (domain, target, param), value in values.items():
            if value is not None and value != PARAMETERS[domain][param]:
                out.setdefault(domain, {}).setdefault(target, {})[param] = value
        return out

    def describe(self) -> str:
        lines = [f"{self.name}: {self.title}", f"  {self.title_en}", ""]
        lines += [f"  {line}" for line in self.description.strip().splitlines()]
        lines += [
            "",
            f"  start {self.start or '(any)'}, duration {self.duration_ms / 3_600_000:g} h, seed {self.seed}",
        ]
        if self.source:
            lines.append(f"  source: {self.source}")
        for st in self.stages:
            hours = f"{st.at_ms / 3_600_000:g} h → {st.until_ms / 3_600_000:g} h"
            span = f"{hours}, ramp {st.ramp_ms / 60_000:g} min"
            title = f" ({st.title})" if st.title != st.name else ""
            lines.append(f"\n  [{st.name}]{title} {span}")
            lines += [f"    {s.domain}.{s.target}.{s.param} = {s.value}" for s in st.settings]
        return "\n".join(lines)


def _blend(before: Any, value: Any, stage: Stage, t: int) -> Any:
    """The parameter's value at t given its value `before` the stage."""
    if t < stage.at_ms:
        return before
    numeric = (
        isinstance(value, int | float) and not isinstance(value, bool) and isinstance(before, int | float)
    )
    if t < stage.until_ms:
        if numeric and stage.ramp_ms and t < stage.at_ms + stage.ramp_ms:
            f = (t - stage.at_ms) / stage.ramp_ms
            return before + (value - before) * f
        return value
    if numeric and stage.ramp_ms and t < stage.until_ms + stage.ramp_ms:
        f = (t - stage.until_ms) / stage.ramp_ms
        return value + (before - value) * f
    return before


def parse(text: str, origin: str = "<text>") -> Scenario:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: not valid TOML: {exc}") from None
    try:
        duration = _ms(doc["duration"])
        stages = tuple(_stage(s, duration, origin) for s in doc.get("stage", []))
        return Scenario(
            name=str(doc["name"]),
            title=str(doc["title"]),
            title_en=str(doc.get("title_en", "")),
            description=str(doc.get("description", "")),
            start=doc.get("start"),
            duration_ms=duration,
            seed=doc.get("seed"),
            stages=stages,
            source=str(doc.get("source", "")),
        )
    except KeyError as exc:
        raise ScenarioError(f"{origin}: missing key {exc}") from None


def _ms(text: Any) -> int:
    return int(parse_duration(str(text)) * 1000)


def _stage(doc: dict[str, Any], duration: int, origin: str) -> Stage:
    name = str(doc.get("name", "stage"))
    at = _ms(doc.get("at", "0s"))
    until = _ms(doc["until"]) if "until" in doc else duration
    if not 0 <= at < until:
        raise ScenarioError(f"{origin}: stage {name!r} must start before it ends")
    settings = []
    for key, value in doc.get("set", {}).items():
        parts = key.split(".")
        if len(parts) < 3:
            raise ScenarioError(f"{origin}: {key!r} is not domain.target.parameter")
        domain, target, param = parts[0], ".".join(parts[1:-1]), parts[-1]
        if domain not in PARAMETERS:
            raise ScenarioError(f"{origin}: unknown domain {domain!r} in {key!r}; known {sorted(PARAMETERS)}")
        if param not in PARAMETERS[domain]:
            raise ScenarioError(
                f"{origin}: {domain} has no parameter {param!r}; known {sorted(PARAMETERS[domain])}"
            )
        settings.append(Setting(domain, target, param, value))
    title = str(doc.get("title", name))
    return Stage(name, at, until, _ms(doc.get("ramp", "0s")), tuple(settings), title)


def library() -> dict[str, Scenario]:
    """The scenarios shipped in simulators/scenarios/, by name."""
    out = {}
    for entry in sorted(resources.files("simulators").joinpath("scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            scenario = parse(entry.read_text(encoding="utf-8"), entry.name)
            if scenario.name != entry.name[: -len(".toml")]:
                raise ScenarioError(f"{entry.name}: name {scenario.name!r} must match the file name")
            out[scenario.name] = scenario
    return out


def load(name_or_path: str) -> Scenario:
    """A library scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        return parse(path.read_text(encoding="utf-8"), str(path))
    scenarios = library()
    if name_or_path not in scenarios:
        raise ScenarioError(f"no scenario {name_or_path!r}; known: {', '.join(scenarios)} (or a .toml path)")
    return scenarios[name_or_path]
