"""The Faust app of the processors, configured from the IOC settings, with its metrics page."""

from __future__ import annotations

import ssl

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ioc.kafka import PARTITION_FETCH_BYTES
from ioc.settings import Settings
from processors.checkpoint import Ledger
from processors.transport import LowLatencyTransport, RawSink


class IocApp(faust.App):
    """faust.App with the low-latency, checkpoint-aware consumer transport."""

    ledger: Ledger | None = None
    raw_sink: RawSink | None = None  # takes the raw topics' records of each fetch (the worker's raw stage)

    def _new_transport(self) -> LowLatencyTransport:
        return LowLatencyTransport(self.conf.broker_consumer, self)


def create_app(s: Settings, role: str = "processors") -> IocApp:
    """The app (and consumer group) `<namespace>-<role>`; benchmarks give another role to read alongside."""
    session = s.session_timeout_ms / 1000
    credentials = None
    if s.kafka_username:  # a secured cluster: the processors' own principal (deploy/kafka, "Security")
        credentials = faust.SASLCredentials(
            username=s.kafka_username,
            password=s.kafka_password,
            mechanism=s.kafka_mechanism,
            ssl_context=ssl.create_default_context() if s.kafka_tls else None,
        )
    app = IocApp(
        f"{s.namespace}-{role}",
        broker=[f"kafka://{host}" for host in s.bootstrap_servers],
        broker_credentials=credentials,
        store="memory://",
        topic_partitions=s.partitions,
        topic_replication_factor=1,
        broker_session_timeout=session,
        broker_heartbeat_interval=session / 4,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        consumer_max_fetch_size=PARTITION_FETCH_BYTES,  # Faust's 1 MB: the raw stage waited on fetches
        producer_linger=s.linger_ms / 1000,
        web_host=s.web_host,
        web_port=s.worker_web_port,
        datadir=str(s.data_dir / "worker"),
        stream_wait_empty=False,
        autodiscover=False,
    )
    app.page("/metrics")(_metrics)
    return app


async def _metrics(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    # aiohttp refuses a charset inside content_type; Prometheus reads the text format without it.
    return view.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
