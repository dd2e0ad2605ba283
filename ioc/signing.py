"""Signed records: an HMAC over a record's topic, key and value in an `ioc-mac` header, so that only the
holders of a key can publish what the processors and the wall act on. The broker cannot enforce this: the
embedded Tansu has no users or ACLs, and on any cluster a device's credentials reach the whole broker.

Two keys, each with its own holders:
- the document key: the processors (aggregates, alerts, dead letters, operator actions re-keyed by area) and
  the wall (operator actions); a replay re-signs the actions it plays;
- the control key: the namespace's time sources (simulator, replay) declaring the trusted clock, the replay's
  status and the wall's commands to it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from ioc.settings import Settings

HEADER = "ioc-mac"
MIN_KEY_CHARS = 16
Headers = Iterable[tuple[str, bytes]] | None


class KeySettingError(ValueError):
    """A key setting that cannot be used."""


@dataclass(frozen=True)
class Signer:
    """Signs and checks records with one key. The MAC binds the value to its key and full topic name: a
    signed record copied to another topic or namespace (a replay's alert onto the live wall) fails."""

    key: bytes

    def mac(self, topic: str, key: bytes | None, value: bytes) -> bytes:
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in (topic.encode(), b"\0", key or b"", b"\0", value):
            h.update(part)
        return h.hexdigest().encode()

    def headers(self, topic: str, key: bytes | None, value: bytes) -> list[tuple[str, bytes]]:
        return [(HEADER, self.mac(topic, key, value))]

    def verify(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> bool:
        if value is None:
            return False
        presented = next((v for k, v in headers or () if k == HEADER), None)
        return presented is not None and hmac.compare_digest(presented, self.mac(topic, key, value))


@dataclass(frozen=True)
class Keys:
    document: Signer
    control: Signer


def load_keys(settings: Settings) -> Keys:
    """The keys from IOC_DOCUMENT_KEY / IOC_CONTROL_KEY, or from `<data dir>/keys.json`, made on first use
    (mode 0600) so that every process of one machine's stack shares them with nothing to configure."""
    document, control = key_texts(settings)
    return Keys(Signer(document.encode()), Signer(control.encode()))


def key_texts(settings: Settings) -> tuple[str, str]:
    """The document and control keys as text (for a stack of its own that must share them: a replay's)."""
    document, control = settings.document_key, settings.control_key
    if not (document and control):
        stored = _key_file(settings.data_dir / "keys.json")
        document, control = document or stored["document"], control or stored["control"]
    for name, value in (("IOC_DOCUMENT_KEY", document), ("IOC_CONTROL_KEY", control)):
        if len(value) < MIN_KEY_CHARS:
            raise KeySettingError(f"{name} must be at least {MIN_KEY_CHARS} characters")
    return document, control


def _key_file(path: Path) -> dict[str, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = {"document": secrets.token_urlsafe(32), "control": secrets.token_urlsafe(32)}
    try:  # O_EXCL: of several processes starting at once, exactly one writes the file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(orjson.dumps(fresh))
    for _ in range(50):  # another process may be between creating and writing it
        text = path.read_bytes()
        if text:
            keys: dict[str, str] = orjson.loads(text)
            return keys
        time.sleep(0.02)
    raise KeySettingError(f"{path} stays empty")
