"""The one Faust app of the processors, configured from the IOC settings, and its topics."""

from __future__ import annotations

import ssl
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ioc.settings import Settings, get_settings
from ioc.signing import load_keys
from ioc.topics import DOMAINS, Topics
from processors.checkpoint import Ledger
from processors.transport import LowLatencyTransport


class IocApp(faust.App):
    """faust.App with the low-latency, checkpoint-aware consumer transport."""

    ledger: Ledger | None = None

    def _new_transport(self) -> LowLatencyTransport:
        return LowLatencyTransport(self.conf.broker_consumer, self)


def create_app(s: Settings) -> IocApp:
    session = s.session_timeout_ms / 1000
    credentials = None
    if s.kafka_username:  # a secured cluster: the processors' own principal (deploy/kafka, "Security")
        credentials = faust.SASLCredentials(
            username=s.kafka_username,
            password=s.kafka_password,
            mechanism=s.kafka_mechanism,
            ssl_context=ssl.create_default_context() if s.kafka_tls else None,
        )
    return IocApp(
        f"{s.namespace}-processors",
        broker=[f"kafka://{host}" for host in s.bootstrap_servers],
        broker_credentials=credentials,
        store="memory://",
        topic_partitions=s.partitions,
        topic_replication_factor=1,
        broker_session_timeout=session,
        broker_heartbeat_interval=session / 4,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_linger=s.linger_ms / 1000,
        web_host=s.web_host,
        web_port=s.worker_web_port,
        datadir=str(s.data_dir / "worker"),
        stream_wait_empty=False,
        autodiscover=False,
    )


settings = get_settings()
app = create_app(settings)
topics = Topics(settings.namespace)
keys = load_keys(settings)
app.ledger = Ledger(topics=frozenset(topics.all_raw()))

aggregates_topic = app.topic(topics.aggregates, key_serializer="raw", value_serializer="raw")
deadletter_topic = app.topic(topics.deadletter, key_serializer="raw", value_serializer="raw")
alerts_topic = app.topic(topics.alerts, key_serializer="raw", value_serializer="raw")
actions_topic = app.topic(topics.operator_actions, key_serializer="raw", value_serializer="raw")
area_actions_topic = app.topic(topics.operator_actions_by_area, key_serializer="raw", value_serializer="raw")
workers_topic = app.topic(topics.workers, key_serializer="raw", value_serializer="raw")


async def signed(topic: faust.TopicT, key: bytes, value: bytes, partition: int | None = None) -> Any:
    """Send a record signed with the document key: the wall and the area stage refuse unsigned ones."""
    name = topic.get_topic_name()
    headers = keys.document.headers(name, key, value)
    return await topic.send(key=key, value=value, partition=partition, headers=headers)


def verified(topic: str, key: bytes | None, value: bytes | None, headers: Any) -> bool:
    return keys.document.verify(topic, key, value, headers)


def domain_of(topic: str) -> str:
    return next(d for d in DOMAINS if topics.raw(d) == topic)


def raw_topic(domain: str) -> faust.TopicT:
    return app.topic(topics.raw(domain), key_serializer="raw", value_serializer="raw")


@app.page("/metrics")
async def metrics(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    # aiohttp refuses a charset inside content_type; Prometheus reads the text format without it.
    return view.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
