"""What crosses to a child process goes whole and comes back equal: `ioc up`'s settings as the environment
its children read, and `ioc simulate --processes`' resolved plan as one JSON document per shard."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from ioc.ops.cli import _given
from ioc.ops.stack import Part, Stack, settings_env
from ioc.rate import RatePlan, constant, parse_ramp
from ioc.settings import Settings
from simulators import scenario
from simulators.cli import Plan, _shard


def test_settings_come_back_equal_from_the_environment_they_are_handed_over_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = Settings(speed=60, seed=7, kafka_tls=True, data_dir=Path("/tmp/x"), tokens="viewer:abc")
    for var, value in settings_env(sent).items():
        monkeypatch.setenv(var, value)
    assert Settings() == sent


def test_options_of_up_are_checked_like_the_environment() -> None:
    s = _given(Settings(), speed=120.0, start=None, seed=3, web_port=8123, scenario="typhoon-vinh")
    assert (s.speed, s.seed, s.web_port, s.scenario, s.start) == (120.0, 3, 8123, "typhoon-vinh", "now")
    with pytest.raises(click.UsageError, match=r"^--speed=-1.0: Input should be greater than 0$"):
        _given(Settings(), speed=-1.0)
    with pytest.raises(click.UsageError, match=r"^--port=-5: "):
        _given(Settings(), web_port=-5)


def test_a_part_gets_the_stack_settings_with_its_own_differences(tmp_path: Path) -> None:
    stack = Stack(Settings(worker_web_port=7001), [], tmp_path)
    second = Part("worker-b", ["true"], settings={"worker_web_port": 7002})
    assert stack.settings_of(second).worker_web_port == 7002
    assert stack.settings_of(Part("worker", ["true"])).worker_web_port == 7001


@pytest.mark.parametrize(
    "rate", [None, constant(400_000, None), constant(30_000, 6.0), parse_ramp("1m:10k-200k,5m:200k")]
)
def test_each_shard_gets_the_plan_whole_with_its_part_of_the_rate(rate: RatePlan | None) -> None:
    plan = Plan(
        seed=11,
        start_ms=1_760_400_000_000,
        end_ms=None if rate else 1_760_401_200_000,
        speed=1.0 if rate else None,
        paced_from=None,
        scenario=scenario.load("typhoon-vinh"),
        scenario_ref="typhoon-vinh",
        rate=rate,
        domains=("traffic", "lighting"),
        shard=(0, 1),
        real_time=rate is not None,
    )
    for k in range(3):
        child = _shard(plan, k, 3)
        assert Plan.from_json(child.to_json()) == child
        assert child.shard == (k, 3) and child.seed == plan.seed and child.start_ms == plan.start_ms
        if rate is not None:
            assert child.rate is not None and child.rate.target(3) == pytest.approx((rate.target(3) or 0) / 3)
