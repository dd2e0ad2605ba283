"""Settings: one frozen object from IOC_* variables, each with a default, all listed."""

from __future__ import annotations

import pydantic
import pytest

from ioc.settings import Settings, describe


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().namespace == "ioc"
    monkeypatch.setenv("IOC_NAMESPACE", "replay-7")
    monkeypatch.setenv("IOC_BOOTSTRAP", "a:1, b:2")
    s = Settings()
    assert s.namespace == "replay-7"
    assert s.bootstrap_servers == ["a:1", "b:2"]


def test_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings().speed = 2.0  # type: ignore[misc]


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_SPEED", "-1")
    with pytest.raises(pydantic.ValidationError):
        Settings()


def test_every_setting_is_described() -> None:
    rows = describe()
    assert len(rows) == len(Settings.model_fields)
    assert all(var.startswith("IOC_") and doc for var, _default, doc in rows)


def test_the_clock_tolerance_stays_within_the_lateness(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_ALLOWED_LATENESS_S", "30")
    with pytest.raises(pydantic.ValidationError, match="IOC_CLOCK_TOLERANCE_S"):
        Settings()
    monkeypatch.setenv("IOC_CLOCK_TOLERANCE_S", "30")
    assert Settings().clock_tolerance_s == 30
