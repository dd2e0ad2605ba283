"""Publishing dead letters: one signed record per refusal on the dead-letter topic, counted per domain and
reason."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import orjson

from ioc.contract.deadletter import DeadLetter
from processors import metrics
from processors.app import deadletter_topic, signed

log = logging.getLogger("ioc.deadletter")


async def publish(letters: Sequence[DeadLetter], domain: str) -> None:
    now = int(time.time() * 1000)
    for letter in letters:
        doc = letter.document(now)
        doc.update(domain=domain, by="worker")
        key = (letter.frame.group if letter.frame is not None else "unparsed").encode()
        await signed(deadletter_topic, key, orjson.dumps(doc))
        metrics.DEADLETTERS.labels(domain, str(letter.reason)).inc()
        readings = len(letter.rows) or (letter.frame.n if letter.frame is not None else 1)
        metrics.DEADLETTER_READINGS.labels(domain, str(letter.reason)).inc(readings)
        log.debug("dead letter %s: %s (%s)", letter.reason, letter.detail, doc["source"])
