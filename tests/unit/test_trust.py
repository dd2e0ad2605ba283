"""Trust between the processes: signatures bound to topic and namespace, keys from settings or a shared
key file, the trusted clock and its declarations, and the wall's liveness verdict."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ioc.settings import Settings
from ioc.signing import HEADER, KeySettingError, Signer, load_keys
from ioc.trusted_time import Declaration, TrustedClock
from web.liveness import Liveness

T0 = 1_763_800_000_000


def test_a_signature_binds_value_key_and_full_topic_name() -> None:
    signer = Signer(b"k" * 32)
    headers = signer.headers("ioc.alerts", b"a1", b'{"x":1}')
    assert headers[0][0] == HEADER
    assert signer.verify("ioc.alerts", b"a1", b'{"x":1}', headers)
    assert not signer.verify("ioc.alerts", b"a1", b'{"x":2}', headers)  # another value
    assert not signer.verify("ioc.alerts", b"a2", b'{"x":1}', headers)  # another key
    assert not signer.verify("replay-x.alerts", b"a1", b'{"x":1}', headers)  # another namespace
    assert not signer.verify("ioc.aggregates", b"a1", b'{"x":1}', headers)  # another topic
    assert not signer.verify("ioc.alerts", b"a1", b'{"x":1}', None)  # unsigned
    assert not Signer(b"other-key-0123456789").verify("ioc.alerts", b"a1", b'{"x":1}', headers)


def test_keys_come_from_settings_or_one_shared_file(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    first, again = load_keys(s), load_keys(s)
    assert first == again and first.document != first.control  # every process of the stack agrees
    assert os.stat(tmp_path / "keys.json").st_mode & 0o777 == 0o600
    given = load_keys(Settings(data_dir=tmp_path, document_key="d" * 20, control_key="c" * 20))
    assert given.document.key == b"d" * 20 and given.control.key == b"c" * 20
    with pytest.raises(KeySettingError, match="IOC_DOCUMENT_KEY"):
        load_keys(Settings(data_dir=tmp_path, document_key="short", control_key="c" * 20))


def test_the_wall_clock_rules_until_a_source_declares_one() -> None:
    wall = [T0 / 1000]
    clock = TrustedClock(60_000, wall=lambda: wall[0])
    assert clock.now_ms() == T0 and clock.limit_ms() == T0 + 60_000
    # `ioc up --start 2025-01-15 --speed 60`: the namespace's time is simulated, a year behind the wall's.
    past = T0 - 365 * 86_400_000
    clock.declare(Declaration("simulate:a", past, T0, 60.0))
    wall[0] += 10
    assert clock.now_ms() == past + 600_000  # ten real seconds at ×60
    assert clock.limit_ms() == past + 600_000 + 60_000 + 120_000  # tolerance + two real seconds of slack
    clock.declare(Declaration("replay:j", past, T0 + 10_000, 0.0))  # paused
    wall[0] += 100
    assert clock.now_ms() == past
    clock.declare(Declaration("old", T0, T0 - 1, 1.0))  # older than the one held: ignored
    assert clock.now_ms() == past


def test_as_fast_as_possible_a_source_declares_a_horizon() -> None:
    clock = TrustedClock(0, wall=lambda: T0 / 1000)
    clock.declare(Declaration("simulate:max", T0 - 3_000, T0, None))
    assert clock.now_ms() == clock.limit_ms() == T0 - 3_000


def test_declarations_round_trip_and_refuse_junk() -> None:
    d = Declaration("simulate:a", T0, T0 + 5, 2.5)
    assert Declaration.parse(d.document()) == d
    negative = b'{"kind":"clock","source":"x","sim_ms":1,"wall_ms":1,"speed":-1}'
    for junk in (b'{"kind":"alert"}', b"[]", negative):
        with pytest.raises(ValueError):
            Declaration.parse(junk)


def test_liveness_turns_red_without_heartbeats_or_progress_and_tells_what_was_lost() -> None:
    live = Liveness(stale_ms=10_000, started_ms=T0)
    assert live.verdict(T0 + 1_000)["status"] == "starting"
    assert live.verdict(T0 + 11_000)["problems"][0]["code"] == "no_worker"
    beat = {"id": "w1", "cluster": None, "partitions": {"ioc.raw.traffic:0": [10, 10]}}
    live.heartbeat(beat, T0 + 12_000)
    assert live.verdict(T0 + 12_000)["status"] == "ok"
    # Data waits (end 50) and the position stays at 10 for longer than the stale time: stuck.
    for k in range(13):
        live.heartbeat({**beat, "partitions": {"ioc.raw.traffic:0": [10, 50]}}, T0 + 13_000 + k * 1000)
    verdict = live.verdict(T0 + 25_000)
    assert verdict["status"] == "red" and verdict["problems"][0]["code"] == "worker_stuck"
    live.heartbeat({**beat, "partitions": {"ioc.raw.traffic:0": [50, 50]}}, T0 + 26_000)
    assert live.verdict(T0 + 26_000)["status"] == "ok"
    assert live.verdict(T0 + 40_000)["problems"][0]["code"] == "no_worker"  # heartbeats stopped
    live.broker_lost(T0 + 41_000, "cluster a is now b", T0 - 5_000, "b")
    live.heartbeat({**beat, "cluster": "a"}, T0 + 42_000)  # a worker still on the lost broker
    assert live.verdict(T0 + 42_000)["workers"] == 0
    live.heartbeat({**beat, "cluster": "b"}, T0 + 43_000)
    verdict = live.verdict(T0 + 43_000)
    assert verdict["status"] == "ok" and verdict["data_loss"]["last_sim"] == T0 - 5_000


def test_a_secured_cluster_gets_each_process_its_own_principal() -> None:
    """On Apache Kafka with SASL/SCRAM (deploy/kafka, "Security"): every client of a process logs in as
    IOC_KAFKA_USERNAME. (The embedded Tansu cannot hold users, so this is not run against a broker here.)"""
    from faust.auth import SASLCredentials

    from ioc.kafka import security
    from processors.app import create_app

    assert security(Settings()) == {}
    s = Settings(kafka_username="ioc-processors", kafka_password="pw-0123456789", kafka_tls=True)
    options = security(s)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "ioc-processors" and options["ssl_context"] is not None
    credentials = create_app(s).conf.broker_credentials
    assert isinstance(credentials, SASLCredentials) and credentials.username == "ioc-processors"


def test_a_worker_that_moves_but_never_catches_up_is_behind() -> None:
    """Positions move (so nothing is stuck) but data waits all along: after three stale periods, red."""
    live = Liveness(stale_ms=10_000, started_ms=T0)
    for k in range(40):
        beat = {"id": "w1", "partitions": {"ioc.raw.environment:2": [100 + k, 1000 + 10 * k]}}
        live.heartbeat(beat, T0 + k * 1000)
    verdict = live.verdict(T0 + 39_000)
    assert [p["code"] for p in verdict["problems"]] == ["worker_behind"]
    assert verdict["problems"][0]["lag"] == 1000 + 390 - 139
    live.heartbeat({"id": "w1", "partitions": {"ioc.raw.environment:2": [1400, 1400]}}, T0 + 40_000)
    assert live.verdict(T0 + 40_000)["status"] == "ok"
