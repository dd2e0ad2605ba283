"""The scenario file format: stages over simulated time, ramps, errors that name the problem; the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ioc.ops.cli import main
from simulators.scenario import ScenarioError, parse

BASE = """
name = "t"
title = "thử"
duration = "6h"
"""


def scenario(stages: str) -> str:
    return BASE + stages


def test_stages_apply_in_their_window_and_ramp_in_and_out() -> None:
    sc = parse(
        scenario("""
[[stage]]
at = "1h"
until = "3h"
ramp = "30m"
[stage.set]
"traffic.TD-VIN-01-A1.capacity_factor" = 0.2
"lighting.LC-CL-001.power_loss" = true
""")
    )

    def cap(h: float) -> float | None:
        o = sc.overrides(int(h * 3_600_000))
        return o.get("traffic", {}).get("TD-VIN-01-A1", {}).get("capacity_factor")

    assert cap(0.5) is None  # default (1.0) is not an override
    assert cap(1.25) == pytest.approx(0.6)  # half-way through the 30 min ramp from 1.0 to 0.2
    assert cap(2.0) == pytest.approx(0.2)
    assert cap(3.25) == pytest.approx(0.6)  # ramping back
    assert cap(4.0) is None
    assert sc.overrides(2 * 3_600_000)["lighting"]["LC-CL-001"] == {"power_loss": True}
    assert "lighting" not in sc.overrides(4 * 3_600_000)


def test_a_later_stage_builds_on_the_earlier_one() -> None:
    sc = parse(
        scenario("""
[[stage]]
at = "0h"
until = "4h"
[stage.set]
"environment.*.rain_mm_h" = 5.0
[[stage]]
at = "1h"
until = "2h"
[stage.set]
"environment.vinh.rain_mm_h" = 50.0
""")
    )
    at = sc.overrides(int(1.5 * 3_600_000))["environment"]
    assert at["*"]["rain_mm_h"] == 5.0 and at["vinh"]["rain_mm_h"] == 50.0
    assert "vinh" not in sc.overrides(3 * 3_600_000)["environment"]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ('[[stage]]\nat="1h"\n[stage.set]\n"traffic.*.warp_factor" = 2', "no parameter 'warp_factor'"),
        ('[[stage]]\nat="1h"\n[stage.set]\n"weather.*.rain_mm_h" = 2', "unknown domain 'weather'"),
        ('[[stage]]\nat="3h"\nuntil="2h"\n[stage.set]\n"traffic.*.demand_factor" = 2', "start before"),
        ('[[stage]]\nat="1h"\n[stage.set]\n"traffic.demand_factor" = 2', "domain.target.parameter"),
        ("[[stage", "not valid TOML"),
    ],
)
def test_mistakes_are_reported_clearly(stages: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse(scenario(stages))


def test_missing_keys_are_named() -> None:
    with pytest.raises(ScenarioError, match="missing key 'duration'"):
        parse('name = "x"\ntitle = "y"\n')


def test_scenarios_list_and_show() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["scenarios", "list"])
    assert listed.exit_code == 0
    assert len(listed.output.strip().splitlines()) >= 6 and "typhoon-vinh" in listed.output
    shown = runner.invoke(main, ["scenarios", "show", "typhoon-vinh"])
    assert shown.exit_code == 0 and "environment.vinh.rain_mm_h = 55.0" in shown.output
    missing = runner.invoke(main, ["scenarios", "show", "meteor-strike"])
    assert missing.exit_code != 0 and "no scenario 'meteor-strike'" in missing.output


def test_a_scenario_target_that_matches_nothing_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "typo.toml"
    path.write_text(scenario('[[stage]]\nat="0h"\n[stage.set]\n"traffic.TD-VIN-99-Z9.demand_factor" = 2\n'))
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--scenario",
            str(path),
            "--start",
            "2025-01-01T00:00",
            "--duration",
            "1m",
            "--out",
            str(Path(str(tmp_path)) / "x.jsonl"),
        ],
    )
    assert result.exit_code == 2 and "traffic.TD-VIN-99-Z9" in result.output
