"""Test plumbing shared by integration and browser tests: real processes, real broker, real sockets."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from ioc import auth
from ioc.city import load_city
from ioc.contract import Frame, decode, encode
from ioc.kafka import ensure_topics, make_producer, partition_for, read_tail
from ioc.ops import procs
from ioc.settings import Settings
from ioc.signing import Keys, Signer
from ioc.topics import Topics
from processors.traffic import WINDOW_MS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("IOC_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))
_counter = itertools.count()
TOKENS = auth.dev_tokens()  # fresh per test run, like `ioc up`'s
# Keys of the processors and wall (documents) and of the time sources (control), fresh per test run.
DOCUMENT_KEY = secrets.token_urlsafe(24)
CONTROL_KEY = secrets.token_urlsafe(24)
KEYS = Keys(Signer(DOCUMENT_KEY.encode()), Signer(CONTROL_KEY.encode()))


def token(role: str) -> str:
    found = auth.token_of(TOKENS, role)
    assert found is not None
    return found


def unique_namespace(prefix: str = "t") -> str:
    return f"{prefix}{os.getpid()}-{next(_counter)}"


@dataclass
class Services:
    """ioc worker / ioc web as child processes of the test, configured only through IOC_* variables."""

    env: dict[str, str]
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(
        self, name: str, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        env = {**self.env, **(extra_env or {})}
        proc = procs.spawn([sys.executable, "-m", "ioc", *args], self.log_dir / f"{name}.log", env)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def assert_running(self) -> None:
        for name, p in self.procs.items():
            assert p.poll() is None, f"{name} exited with {p.returncode}:\n{self.log(name)[-3000:]}"

    def stop(self, name: str | None = None) -> None:
        for n in [name] if name else list(self.procs):
            procs.stop(self.procs.pop(n), timeout=15)


def service_env(bootstrap: str, namespace: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "IOC_BOOTSTRAP": bootstrap,
            "IOC_NAMESPACE": namespace,
            "IOC_SESSION_TIMEOUT_MS": "2000",  # Tansu joins after half of it
            "IOC_EMIT_INTERVAL_S": "0.2",
            "IOC_PUSH_HZ": "10",
            "IOC_WORKER_WEB_PORT": str(procs.free_port()),
            "IOC_WEB_PORT": str(procs.free_port()),
            "IOC_LOG_LEVEL": "info",
            "IOC_TOKENS": TOKENS,
            "IOC_DOCUMENT_KEY": DOCUMENT_KEY,
            "IOC_CONTROL_KEY": CONTROL_KEY,
        }
    )
    env.update(extra)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    return Settings(
        bootstrap=env["IOC_BOOTSTRAP"],
        namespace=env["IOC_NAMESPACE"],
        document_key=env.get("IOC_DOCUMENT_KEY", DOCUMENT_KEY),
        control_key=env.get("IOC_CONTROL_KEY", CONTROL_KEY),
    )


def http_json(url: str, timeout: float = 2.0, role: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token(role)}"} if role else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
        return orjson.loads(r.read())


def http_call(
    method: str, url: str, role: str | None = None, body: Any = None, origin: str | None = None
) -> tuple[int, Any]:
    """(status, JSON body) of a request with a role's token; HTTP errors are returned, not raised."""
    headers = {"Content-Type": "application/json"}
    if role:
        headers["Authorization"] = f"Bearer {token(role)}"
    if origin:
        headers["Origin"] = origin
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, orjson.loads(r.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read() or b"null")


def street_levels(seq: int, t: int, level: float) -> tuple[bytes, bytes]:
    """A Vinh street-gauge frame: Nguyễn Văn Cừ at `level` m (alert levels 0.2/0.4/0.7), the others dry."""
    ids = ["WL-VIN-LN", "WL-VIN-NVC", "WL-VIN-NTMK", "WL-VIN-PDC", "WL-VIN-BT"]
    cols = {
        "id": ids,
        "dateObserved": np.full(5, t, dtype=np.int64),
        "currentLevel": np.array([0.0, level, 0.0, 0.0, 1.0]),
    }
    return b"wl.vinh", encode(Frame("FloodMonitoring", "wl.vinh", seq, t, cols, "test"))


async def inject_level(settings: Settings, gauge: str, level: float, ahead: int = 300) -> Frame:
    """Send a copy of the gauge group's latest frame, one tick later, with `gauge` at `level` m.

    Its sequence number is `ahead` past the simulator's, so intake admits it as new and the simulator's own
    next frames (within the duplicate window) are still admitted."""
    sensor_group = next(s.group for s in load_city().sensors_of("FloodMonitoring") if s.id == gauge)
    key = sensor_group.encode()
    topic = Topics(settings.namespace).raw("environment")
    partition = partition_for(key, settings.partitions)
    tail = (await read_tail(settings, topic, 300, [partition])).get(partition, [])
    last = decode(next(r.value for r in reversed(tail) if r.key == key and r.value is not None))
    ids = [str(i) for i in last.cols["id"]]
    levels = np.asarray(last.cols["currentLevel"], dtype=float).copy()
    levels[ids.index(gauge)] = level
    t = last.tick + 60_000
    cols = {**last.cols, "currentLevel": levels, "dateObserved": np.full(len(ids), t, dtype=np.int64)}
    frame = Frame(last.type, last.group, last.seq + ahead, t, cols, "test-injection")
    await produce(settings, topic, [(key, encode(frame))])
    return frame


def http_text(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return str(r.read().decode())


def wait_http(url: str, timeout: float, services: Services | None = None) -> None:
    def ok() -> bool:
        if services is not None:
            services.assert_running()
        try:
            http_text(url, 1.0)
            return True
        except OSError:
            return False

    procs.wait_for(ok, timeout, 0.1, url)


async def produce(
    settings: Settings, topic: str, records: Iterable[tuple[bytes, bytes]], signer: Signer | None = None
) -> None:
    """Send records one by one, signed by `signer` if given (as the processors or the wall would)."""
    producer = make_producer(settings, linger_ms=0)
    await producer.start()
    try:
        for key, value in records:
            headers = signer.headers(topic, key, value) if signer is not None else None
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_topic(
    settings: Settings, topic: str, until: Callable[[list[dict[str, Any]]], bool], limit_s: float
) -> list[dict[str, Any]]:
    """Read a topic from the start (no group) until `until(records)` holds or the time is up."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, fetch_max_wait_ms=50)
    await consumer.start()
    docs: list[dict[str, Any]] = []
    try:
        parts = consumer.partitions_for_topic(topic) or {0}
        consumer.assign([TopicPartition(topic, p) for p in parts])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and not until(docs):
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                docs += [orjson.loads(r.value) for r in records]
    finally:
        await consumer.stop()
    return docs


def create_topics(settings: Settings) -> None:
    asyncio.run(ensure_topics(settings, Topics(settings.namespace).layout(settings.partitions)))


def aq_frame(group: str, ids: list[str], seq: int, t_ms: int, pm25: list[float]) -> bytes:
    n = len(ids)
    cols = {
        "id": np.array(ids),
        "dateObserved": np.full(n, t_ms, dtype=np.int64),
        "pm25": np.array(pm25, dtype=float),
        "pm10": np.full(n, np.nan),
    }
    return encode(Frame("AirQualityObserved", group, seq, t_ms, cols, "test"))


def expected_windows(path: Path) -> dict[tuple[str, int], int]:
    """Vehicles per (detector, 5-minute window) in the simulator's own output."""
    out: dict[tuple[str, int], int] = defaultdict(int)
    for line in path.read_bytes().splitlines():
        doc = orjson.loads(line)
        if doc["type"] != "TrafficFlowObserved":
            continue
        cols = doc["cols"]
        for sid, t, n in zip(cols["id"], cols["dateObserved"], cols["intensity"], strict=True):
            out[(sid, t // WINDOW_MS * WINDOW_MS)] += n
    return out


def final_counts(docs: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    return {
        (i["id"], d["window"][0]): i["vehicles"]
        for d in docs
        if d["kind"] == "traffic" and d["final"]
        for i in d["items"]
    }


def closed_windows(expected: dict[tuple[str, int], int], lateness_ms: int) -> set[int]:
    """Window starts a worker must have closed once the stream's last window has been seen."""
    last = max(s for _, s in expected)
    return {start for _, start in expected if start + WINDOW_MS + lateness_ms <= last}


def metric(port: str, name: str, **labels: str) -> float:
    """Sum of a counter's samples on a worker's or the wall's /metrics whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(http_text(f"http://127.0.0.1:{port}/metrics")):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def traffic_kpi_lanes(docs: list[dict[str, Any]]) -> Counter[str]:
    """Lanes behind the latest traffic KPI of each area."""
    latest = {
        i["area"]: i["entities"]
        for d in docs
        if d["kind"] == "kpi"
        for i in d["items"]
        if i["kpi"] == "traffic"
    }
    return Counter(latest)
