"""Operations-record benchmark: how fast the historian writes against how much it is given, how large the
record grows per simulated day, and the wall's first answers with 90 days in the store.

    python -m tests.benchmarks.bench_record [--scenario typhoon-vinh] [--hours 36] [--days 90]
                                            [--postgres] [--loadtest-rate 250k]

1. Demand. A scenario (default: the whole 36 h typhoon) is simulated for the whole city and folded through a
   worker's Pipeline in this process as fast as it goes, draining states every simulator step and KPIs every
   simulated minute (as a worker at real time does, the KPI minutes follow the simulated clock). What the
   historian would read: the alert documents, the KPI documents and the dead letters. "At full speed" = those
   per second of this run's processing (an upper bound on one `ioc worker`, which is slower), KPI documents
   counted as a worker emits them (each area every IOC_KPI_INTERVAL_S). With --loadtest-rate, a real
   `ioc loadtest --rate R --duration 20s --external` on an embedded broker is run and the same topics counted
   per second of the run.
2. Ingest. The historian's own code (signature check, parse, rows, upsert with positions in one transaction,
   batches of 5,000 records) on a fresh SQLite file (and PostgreSQL with --postgres). Baseline in the same
   run: the same rows with plain INSERTs (no parse, no signature, no upsert) into an empty database.
3. Size per simulated day: the SQLite file after the scenario's ingest (WAL checkpointed), per simulated day.
4. 90 days: the store filled with `--days` copies of the scenario's days (a storm every day: the worst case)
   and a real-time day of KPI minutes each; `ioc web` on it and on an empty store, on the same broker: time
   to /health, the first websocket snapshot, and the history routes (median of 5)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import websockets
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from ioc import auth
from ioc.city import load_city
from ioc.clock import HOUR_MS, SimClock, parse_start
from ioc.contract.deadletter import Source
from ioc.kafka import ensure_topics, make_consumer
from ioc.ops import procs
from ioc.ops.broker import EmbeddedBroker
from ioc.settings import Settings
from ioc.signing import load_keys
from ioc.store.database import migrate, open_engine
from ioc.store.rows import Rows
from ioc.store.schema import alert_events, alerts, dead_letters, kpi_minutes, metadata
from ioc.store.writer import write
from ioc.topics import Topics
from processors import areas
from processors.historian import BATCH_RECORDS, KPI_MARK, Historian
from processors.pipeline import Pipeline
from simulators import domains, runner
from simulators import scenario as scenarios
from simulators.faults import Record

DAY_MS, MINUTE_MS = 86_400_000, 60_000
DOMAINS = ("traffic", "health", "lighting", "environment")


@dataclass
class Demand:
    """What a run gives the historian: records per topic, readings, simulated span, processing time."""

    records: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=dict)  # topic → (key, value)
    readings: int = 0
    sim_ms: int = 0
    seconds: float = 0.0

    def add(self, topic: str, key: str, doc: dict[str, Any]) -> None:
        self.records.setdefault(topic, []).append((key.encode(), orjson.dumps(doc)))

    def count(self, topic: str) -> int:
        return len(self.records.get(topic, []))


class PipelineSink:
    """A simulator sink that is a worker: every record folded through the Pipeline as the raw and area
    stages do, the published documents kept (signed later) instead of produced."""

    def __init__(self, settings: Settings, clock: SimClock, demand: Demand) -> None:
        self.pipeline, self.clock, self.demand = Pipeline(settings), clock, demand
        self.topics = Topics(settings.namespace)
        self.offsets: Counter[tuple[str, int]] = Counter()
        self.kpi_minute = 0

    async def write(self, records: Sequence[Record]) -> int:
        p, d = self.pipeline, self.demand
        for r in records:
            tp = (self.topics.raw(r.domain), p.partition_of(r.key.decode()))
            offset = self.offsets[tp]
            self.offsets[tp] += 1
            frame, letters = p.take_in(r.domain, r.value, Source(*tp, offset, r.key))
            d.readings += len(frame.cols["id"]) if frame is not None else 0
            for letter in letters:
                d.add(self.topics.deadletter, "worker", letter.document(self.clock.now_ms()))
        for _, doc in p.drain_states():
            p.observe(doc)
        for doc in p.alerts.drain():
            d.add(self.topics.alerts, doc["id"], doc)
        now = self.clock.now_ms()
        if now - self.kpi_minute >= MINUTE_MS:
            self.kpi_minute = now - now % MINUTE_MS
            for key, doc in p.drain_kpis(now):
                d.add(self.topics.aggregates, key, doc)
        return sum(len(r.value) for r in records)

    async def close(self) -> None:
        return None

    def take_latencies(self) -> list[float]:
        return []


def scenario_demand(settings: Settings, name: str, hours: float) -> Demand:
    sc = scenarios.load(name) if name else None
    start = (sc.start_ms() if sc else None) or parse_start("2025-10-14T00:00")
    end = start + int(hours * HOUR_MS) - 1
    sim = domains.build(DOMAINS, load_city(), settings.seed, settings, sc, start)
    clock, demand = SimClock(start, None), Demand()
    t0 = time.perf_counter()
    asyncio.run(runner.run(sim, PipelineSink(settings, clock, demand), clock, start, end))
    demand.seconds, demand.sim_ms = time.perf_counter() - t0, end + 1 - start
    return demand


def signed(settings: Settings, demand: Demand) -> list[ConsumerRecord[bytes, bytes]]:
    """The documents as the historian reads them off Kafka: signed with the processors' key."""
    keys, out = load_keys(settings), []
    for topic, pairs in demand.records.items():
        for offset, (key, value) in enumerate(pairs):
            headers = keys.document.headers(topic, key, value)
            out.append(ConsumerRecord(topic, 0, offset, int(time.time() * 1000), 0, key, value, None,
                                      len(key), len(value), headers))  # fmt: skip
    return out


async def historian_ingest(settings: Settings, records: list[ConsumerRecord[bytes, bytes]]) -> float:
    """Seconds for the historian's code to write every record (5,000 a transaction, as it reads)."""
    historian = Historian(settings)
    historian.cluster = "bench"
    await migrate(historian.engine)
    t0 = time.perf_counter()
    for i in range(0, len(records), BATCH_RECORDS):
        batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for r in records[i : i + BATCH_RECORDS]:
            batch.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
        await historian._write(batch)
    seconds = time.perf_counter() - t0
    await historian.engine.dispose()
    return seconds


def rows_of(settings: Settings, records: list[ConsumerRecord[bytes, bytes]]) -> list[Rows]:
    historian = Historian(settings)
    out = []
    for i in range(0, len(records), BATCH_RECORDS):
        rows = Rows()
        for r in records[i : i + BATCH_RECORDS]:
            historian.take(rows, r)
        out.append(rows)
    asyncio.run(historian.engine.dispose())
    return out


async def plain_inserts(url: str, batches: list[Rows]) -> float:
    """Seconds for the same rows as plain INSERTs, one transaction a batch (the floor)."""
    engine = open_engine(url)
    async with engine.begin() as c:
        await c.run_sync(metadata.create_all)
    t0 = time.perf_counter()
    for rows in batches:
        async with engine.begin() as c:
            tables = ((alerts, rows.alerts), (alert_events, rows.alert_events),
                      (kpi_minutes, rows.kpi_minutes), (dead_letters, rows.dead_letters))  # fmt: skip
            for table, found in tables:
                if found:
                    await c.execute(insert(table), list(found.values()))
    seconds = time.perf_counter() - t0
    await engine.dispose()
    return seconds


def sqlite_bytes(path: Path) -> int:
    async def checkpoint() -> None:
        engine = open_engine(f"sqlite+aiosqlite:///{path}")
        async with engine.begin() as c:
            await c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await engine.dispose()

    asyncio.run(checkpoint())
    return path.stat().st_size


def report_demand(label: str, settings: Settings, d: Demand) -> tuple[float, float]:
    """Print the volume; return (records/s, rows/s) the historian must keep up with at full speed."""
    t = Topics(settings.namespace)
    alerts_n, dl_n = d.count(t.alerts), d.count(t.deadletter)
    kpi_docs_per_s = len(load_city().areas) / settings.kpi_interval_s
    sim_h = d.sim_ms / HOUR_MS
    print(f"{label}: {d.readings:,} readings over {sim_h:g} simulated h, processed in {d.seconds:.1f} s "
          f"({d.readings / d.seconds:,.0f} readings/s in this process)")  # fmt: skip
    print(f"  alert documents {alerts_n:,} ({alerts_n / sim_h:,.1f} per simulated h), dead letters {dl_n:,}, "
          f"KPI documents {d.count(t.aggregates):,} (one per area a simulated minute)")  # fmt: skip
    per_s = (alerts_n + dl_n) / d.seconds + kpi_docs_per_s
    events = sum(len(orjson.loads(v).get("history", [])) for _, v in d.records.get(t.alerts, []))
    rows_per_s = (alerts_n + events + dl_n) / d.seconds + kpi_docs_per_s * 5
    print(f"  at full speed: {per_s:,.0f} records/s, up to {rows_per_s:,.0f} rows/s (KPI documents at "
          f"{kpi_docs_per_s:g}/s, the emit interval)")  # fmt: skip
    return per_s, rows_per_s


def loadtest_demand(settings: Settings, rate: str, tmp: Path) -> tuple[float, int]:
    """Run `ioc loadtest --rate R --duration 20s --external` on `settings`' broker; (seconds it sent, records
    the historian would read: its namespace's alerts, KPI documents and dead letters)."""
    env = procs.children_env({"IOC_BOOTSTRAP": settings.bootstrap, "IOC_NAMESPACE": settings.namespace,
                              "IOC_DOCUMENT_KEY": settings.document_key,
                              "IOC_CONTROL_KEY": settings.control_key,
                              "IOC_DATA_DIR": str(tmp / "lt-data"), "IOC_LOG_LEVEL": "warning"})  # fmt: skip
    argv = [sys.executable, "-m", "ioc", "loadtest", "--rate", rate, "--duration", "20s", "--external",
            "--report", str(tmp / "lt-report")]  # fmt: skip
    code = procs.spawn(argv, tmp / "loadtest.log", env).wait(600)
    if code != 0:
        raise SystemExit(f"ioc loadtest exited with {code}: {(tmp / 'loadtest.log').read_text()[-2000:]}")
    report = orjson.loads((tmp / "lt-report" / "report.json").read_bytes())
    summary = report["summary"]
    print(f"  ioc loadtest --rate {rate}: {summary['readings_sent']:,} readings sent, achieved "
          f"{summary['achieved_mean_per_s']:,.0f}/s over {summary['simulator_seconds']:g} s")  # fmt: skip
    its_own = settings.model_copy(update={"namespace": report["namespace"]})  # the load test names its own
    # Per second of sending (not of the whole command): the demand while the load is on, the higher figure.
    return float(summary["simulator_seconds"]), asyncio.run(count_records(its_own))


async def count_records(settings: Settings) -> int:
    """Records the historian would take from `settings`' namespace: alerts, KPI documents, dead letters."""
    t = Topics(settings.namespace)
    consumer: AIOKafkaConsumer = make_consumer(settings, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        names = (t.alerts, t.aggregates, t.deadletter)
        parts = [TopicPartition(n, p) for n in names for p in sorted(consumer.partitions_for_topic(n) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends, total, quiet = await consumer.end_offsets(parts), 0, 0
        while quiet < 5 and any([await consumer.position(tp) < ends[tp] for tp in parts]):
            got = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            quiet = 0 if got else quiet + 1  # a partition whose end is a marker, not a record, ends it too
            for tp, records in got.items():
                keep = [r for r in records if tp.topic != t.aggregates or KPI_MARK in (r.value or b"")]
                total += len(keep)
        return total
    finally:
        await consumer.stop()


def fill_days(url: str, demand: Demand, settings: Settings, days: int) -> int:
    """`days` copies of the scenario's alerts (one storm a day) and a real-time day of KPI minutes each."""
    t, city = Topics(settings.namespace), load_city()
    docs = [orjson.loads(v) for _, v in demand.records.get(t.alerts, [])]
    areas_kpis = [
        (a, k) for a in load_city().areas for k in ("traffic", "air", "flood", "lighting", "health")
    ]
    day0 = int(time.time() * 1000) - days * DAY_MS
    day0 -= day0 % DAY_MS

    async def go() -> int:
        engine = open_engine(url)
        await migrate(engine)
        n = 0
        for day in range(days):
            rows, shift = Rows(), day * DAY_MS
            for doc in docs:
                moved = {**doc, "id": f"{doc['id']}~{day}", "dateIssued": doc["dateIssued"] + shift,
                         "history": [{**h, "at": h["at"] + shift} for h in doc["history"]]}  # fmt: skip
                area = areas.of_alert(city, doc["id"])
                rows.alert(
                    moved, day0 + shift + doc["dateIssued"] % DAY_MS, area, city.domain_of(doc["entity"])
                )
            for minute in range(0, DAY_MS, MINUTE_MS):
                at = day0 + shift + minute
                items = [{"area": a, "kpi": k, "value": float(minute % 97), "standing": "good", "entities": 9,
                          "at": at} for a, k in areas_kpis]  # fmt: skip
                rows.kpi({"items": items})
            await write(engine, rows, "bench", {})
            n += len(rows)
        await engine.dispose()
        return n

    return asyncio.run(go())


async def _migrated(url: str) -> None:
    engine = open_engine(url)
    await migrate(engine)
    await engine.dispose()


def time_wall(settings: Settings, url: str, tmp: Path, label: str) -> dict[str, float]:
    """Start `ioc web` on the store at `url`; seconds to /health, to the first snapshot, and the history
    routes' median over 5 calls."""
    tokens = auth.dev_tokens()
    port = procs.free_port()
    env = procs.children_env({"IOC_BOOTSTRAP": settings.bootstrap, "IOC_NAMESPACE": settings.namespace,
                              "IOC_WEB_PORT": str(port), "IOC_TOKENS": tokens, "IOC_LOG_LEVEL": "warning",
                              "IOC_DOCUMENT_KEY": settings.document_key,
                              "IOC_CONTROL_KEY": settings.control_key,
                              "IOC_DATABASE_URL": url})  # fmt: skip
    t0 = time.monotonic()
    server = procs.spawn([sys.executable, "-m", "ioc", "web"], tmp / f"web-{label}.log", env)
    out: dict[str, float] = {}
    try:
        procs.wait_for(lambda: procs.port_open("127.0.0.1", port), 60, 0.02, "the wall server")
        out["health"] = time.monotonic() - t0
        viewer = auth.token_of(tokens, "viewer")

        async def first_snapshot() -> float:
            t = time.monotonic()
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws?token={viewer}", max_size=None) as ws:
                while orjson.loads(await ws.recv()).get("type") != "snapshot":
                    pass
            return time.monotonic() - t

        out["first snapshot"] = statistics.median(asyncio.run(first_snapshot()) for _ in range(5))
        web = f"http://127.0.0.1:{port}"
        for name, path in (("history page", "/api/history/alerts?limit=50"),
                           ("history, open in vinh", "/api/history/alerts?status=raised&area=vin"),
                           ("history, text search", "/api/history/alerts?q=WL-VIN"),
                           ("KPI trends 24 h", "/api/history/kpis?range=24h"),
                           ("KPI trends 7 d", "/api/history/kpis?range=7d")):  # fmt: skip
            took = [_get(web + path, viewer) for _ in range(5)]
            if None not in took:
                out[name] = statistics.median(t for t in took if t is not None)
    finally:
        procs.stop(server)
    return out


def _get(url: str, token: str | None) -> float | None:
    t = time.monotonic()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            r.read()
    except OSError:  # a route this checkout does not have
        return None
    return time.monotonic() - t


def main(scenario: str, hours: float, days: int, postgres: bool, loadtest_rate: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-record-"))
    ingest_db = tmp / "ingest.db"
    settings = Settings(
        namespace="recordbench", database_url=f"sqlite+aiosqlite:///{ingest_db}",
        document_key=secrets.token_urlsafe(32), control_key=secrets.token_urlsafe(32),
    )  # fmt: skip
    demand = scenario_demand(settings, scenario, hours)
    need = report_demand(scenario or "a weekday", settings, demand)
    records = signed(settings, demand)
    with contextlib.ExitStack() as stack:
        urls = {"SQLite": (settings.database_url, f"sqlite+aiosqlite:///{tmp / 'floor.db'}")}
        if postgres:
            from tests.support.postgres import postgres_cluster

            server = stack.enter_context(postgres_cluster())
            urls["PostgreSQL"] = (_fresh_postgres_db(server, "ingest"), _fresh_postgres_db(server, "floor"))
        rate = ingest(settings, records, urls, need)
    size = sqlite_bytes(ingest_db)
    sim_days = demand.sim_ms / DAY_MS
    print(f"record size (SQLite): {size / 1e6:.2f} MB for {sim_days:.2f} simulated days = "
          f"{size / 1e6 / sim_days:.2f} MB per simulated day at real time")  # fmt: skip
    broker = EmbeddedBroker("127.0.0.1", procs.free_port(), tmp / "broker.log").start(30)
    try:
        live = settings.model_copy(update={"bootstrap": broker.bootstrap})
        asyncio.run(ensure_topics(live, Topics(live.namespace).layout(live.partitions)))
        if loadtest_rate:
            seconds, n = loadtest_demand(live, loadtest_rate, tmp)
            given = n / seconds
            print(f"ioc loadtest --rate {loadtest_rate}: {n:,} records for the historian in {seconds:.0f} s "
                  f"= {given:,.1f} records/s; the historian on SQLite takes x{rate / given:,.0f} "
                  "that")  # fmt: skip
        wall_with_days(live, demand, days, tmp)
    finally:
        broker.stop()


def ingest(
    settings: Settings, records: list[ConsumerRecord[bytes, bytes]], urls: dict[str, tuple[str, str]],
    need: tuple[float, float],
) -> float:  # fmt: skip
    """Print the historian's ingest rate on each database next to plain INSERTs; its SQLite records/s."""
    batches = rows_of(settings, records)
    n_rows, rates = sum(len(b) for b in batches), {}
    for name, (url, floor_url) in urls.items():
        took = asyncio.run(historian_ingest(settings.model_copy(update={"database_url": url}), records))
        floor = asyncio.run(plain_inserts(floor_url, batches))
        rates[name] = len(records) / took
        print(f"historian on {name}: {len(records):,} records → {n_rows:,} rows in {took:.2f} s = "
              f"{len(records) / took:,.0f} records/s, {n_rows / took:,.0f} rows/s; plain INSERTs of the same "
              f"rows {n_rows / floor:,.0f} rows/s (the historian takes x{took / floor:.2f} their "
              "time)")  # fmt: skip
        print(f"  = x{len(records) / took / need[0]:,.0f} the records/s and x{n_rows / took / need[1]:,.0f} "
              "the rows/s the scenario gives at full speed")  # fmt: skip
    return rates["SQLite"]


def wall_with_days(settings: Settings, demand: Demand, days: int, tmp: Path) -> None:
    big = tmp / "days.db"
    t0 = time.monotonic()
    rows_written = fill_days(f"sqlite+aiosqlite:///{big}", demand, settings, days)
    print(f"{days} days in the store: {rows_written:,} rows, {sqlite_bytes(big) / 1e6:.0f} MB, "
          f"filled in {time.monotonic() - t0:.0f} s")  # fmt: skip
    empty_url = f"sqlite+aiosqlite:///{tmp / 'empty.db'}"
    asyncio.run(_migrated(empty_url))
    empty = time_wall(settings, empty_url, tmp, "empty")
    full = time_wall(settings, f"sqlite+aiosqlite:///{big}", tmp, "full")
    for name, took in full.items():
        base = empty.get(name)
        versus = f" (an empty store: {base * 1000:.0f} ms, x{took / base:.2f})" if base else ""
        print(f"  wall with {days} days: {name} {took * 1000:.0f} ms{versus}")


def _fresh_postgres_db(url: str, name: str) -> str:
    async def create() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as c:
            await c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            await c.execute(text(f"CREATE DATABASE {name}"))
        await engine.dispose()

    asyncio.run(create())
    return url.rsplit("/", 1)[0] + f"/{name}"


if __name__ == "__main__":
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--scenario", default="typhoon-vinh", help="a scenario name, or '' for a weekday")
    parser.add_argument("--hours", type=float, default=36.0, help="simulated hours (typhoon-vinh: 36)")
    parser.add_argument("--days", type=int, default=90, help="days in the store for the wall's timings")
    parser.add_argument("--postgres", action="store_true", help="also ingest into a PostgreSQL it starts")
    parser.add_argument("--loadtest-rate", help="also run `ioc loadtest --rate R` and count its volume")
    args = parser.parse_args()
    main(args.scenario, args.hours, args.days, args.postgres, args.loadtest_rate)
