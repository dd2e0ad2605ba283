"""A Kafka transport whose consumer honours IOC_FETCH_MAX_WAIT_MS instead of Faust's hard-coded 1500 ms.

Tansu answers a waiting fetch only when the wait ends, so the wait sets the latency floor of live paths.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

from ioc.settings import get_settings


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this attribute when start() builds its Fetcher; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = get_settings().fetch_max_wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class LowLatencyTransport(faust_aiokafka.Transport):
    Consumer = _Consumer
