"""A live simulator with a short scenario on the real broker: it publishes the scenario and each stage as it
begins, signed, then goes on as a normal city after the scenario's end instead of exiting; the wall's banner
follows only the signed status."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from ioc.ops import procs
from ioc.signing import Signer
from ioc.topics import Topics
from tests.support.records import produce, read_topic
from tests.support.stack import StartServices, unique_namespace
from tests.support.wall import http_json, metric

pytestmark = pytest.mark.integration

MIN = 60_000
SCENARIO = """
name = "short-rain"
title = "Mưa thử"
title_en = "Test rain"
duration = "4m"

[[stage]]
name = "Drizzle"
title = "mưa nhỏ"
at = "0m"
until = "2m"
[stage.set]
"environment.*.rain_mm_h" = 5.0

[[stage]]
name = "Downpour"
title = "mưa to"
at = "2m"
[stage.set]
"environment.*.rain_mm_h" = 60.0
"""


def test_a_live_simulator_names_each_stage_and_goes_on_after_the_scenario(
    start_services: StartServices, tmp_path: Path
) -> None:
    services = start_services(unique_namespace("scn"), "web")
    s = services.settings
    path = tmp_path / "short-rain.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    env = {**services.env, "IOC_SPEED": "60", "IOC_WARMUP_H": "0.05"}
    argv = [
        sys.executable,
        "-m",
        "ioc",
        "simulate",
        "--live",
        "--scenario",
        str(path),
        "--domain",
        "environment",
    ]
    sim = procs.spawn(argv, tmp_path / "simulate.log", env)
    topic = Topics(s.namespace).simulator

    def after_the_end(docs: list[dict[str, Any]]) -> bool:
        return any(d["phase"] == "after" and d["sim_ms"] > d["ends_ms"] + 3 * MIN for d in docs)

    try:
        docs = asyncio.run(read_topic(s, topic, after_the_end, 40))
        assert sim.poll() is None, (tmp_path / "simulate.log").read_text()  # still running after the end
        moments = [(d["phase"], d["stage_title"], d["stage_title_en"]) for d in docs]
        playing = [m for m in dict.fromkeys(moments) if m[0] == "playing"]
        assert playing == [("playing", "mưa nhỏ", "Drizzle"), ("playing", "mưa to", "Downpour")]
        assert after_the_end(docs), moments
        assert {d["title"] for d in docs} == {"Mưa thử"} and {d["speed"] for d in docs} == {60.0}

        state = f"{services.url('web')}/api/state"  # /health is red: no worker runs here
        mode = http_json(state, role="viewer")["mode"]
        assert mode["kind"] == "live" and mode["speed"] == 60.0
        assert mode["scenario"]["phase"] == "after" and mode["scenario"]["title_en"] == "Test rain"

        # An unsigned status (anyone on the broker could write one) is refused: the banner stays.
        forged = {
            **docs[-1],
            "phase": "playing",
            "stage": "x",
            "stage_title": "giả",
            "at": docs[-1]["at"] + 1,
        }
        asyncio.run(produce(s, topic, [(b"forger", orjson.dumps(forged))]))
        asyncio.run(produce(s, topic, [(b"forger", orjson.dumps(forged))], Signer(b"not-the-control-key!")))
        port = services.port("web")
        procs.wait_for(
            lambda: metric(port, "ioc_web_feed_refused_total", topic=topic) >= 2, 10, 0.2, "refusals"
        )
        assert http_json(state, role="viewer")["mode"]["scenario"]["phase"] == "after"
    finally:
        sim.send_signal(signal.SIGINT)
        code = sim.wait(30)
    assert code == 0, (tmp_path / "simulate.log").read_text()[-2000:]
