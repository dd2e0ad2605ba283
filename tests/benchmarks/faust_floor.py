"""The floor of Faust's own path for bench_processors: a worker built as `ioc worker`'s app is (same
transport, settings and consumer thread, its own consumer group) whose agents only take each raw record
(no parse, no state, no timers). Prints `faust-floor <first record> <last record> <CPU seconds between>` (all
process threads) once it has taken `records` records, then exits.

    IOC_BOOTSTRAP=... IOC_NAMESPACE=... python -m tests.benchmarks.faust_floor RECORDS"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from faust import Worker

from ioc.settings import get_settings
from ioc.topics import DOMAINS, Topics
from processors.app import create_app


def main(records: int) -> None:
    settings = get_settings()
    (settings.data_dir / "worker").mkdir(parents=True, exist_ok=True)  # as `ioc worker` makes it
    app = create_app(settings, role="faust-floor")
    app.conf.web_enabled = False
    topics, seen, first, first_cpu = Topics(settings.namespace), [0], [0.0], [0.0]

    async def take(stream: Any) -> None:
        async for _event in stream.events():
            if not seen[0]:
                first[0], first_cpu[0] = time.monotonic(), time.process_time()
            seen[0] += 1
            if seen[0] == records:
                cpu = time.process_time() - first_cpu[0]
                print(f"\nfaust-floor {first[0]} {time.monotonic()} {cpu}", flush=True)
                os._exit(0)  # a stop through Faust's shutdown would only add seconds to the bench

    for domain in DOMAINS:
        topic = app.topic(topics.raw(domain), key_serializer="raw", value_serializer="raw")
        app.agent(topic, name=f"floor.{domain}")(take)
    worker = Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    logging.getLogger().setLevel("WARNING")  # as `ioc worker`: Faust leaves the root logger at DEBUG
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(int(sys.argv[1]))
