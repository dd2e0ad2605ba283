"""Publishing dead letters: one record per refusal on the dead-letter topic, counted per domain and reason."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import orjson

from processors import metrics
from processors.app import deadletter_topic
from processors.intake import DeadLetter, now_ms

log = logging.getLogger("ioc.deadletter")


async def publish(letters: Sequence[DeadLetter], domain: str) -> None:
    now = now_ms()
    for letter in letters:
        doc = letter.document(now)
        doc["domain"] = domain
        key = (letter.frame.group if letter.frame is not None else "unparsed").encode()
        await deadletter_topic.send(key=key, value=orjson.dumps(doc))
        metrics.DEADLETTERS.labels(domain, str(letter.reason)).inc()
        readings = len(letter.rows) or (letter.frame.n if letter.frame is not None else 1)
        metrics.DEADLETTER_READINGS.labels(domain, str(letter.reason)).inc(readings)
        log.debug("dead letter %s: %s (%s)", letter.reason, letter.detail, doc["source"])
