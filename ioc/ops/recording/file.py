"""Recording files: Kafka records captured with topic, partition, offset, timestamp and key, as
gzip-compressed JSON lines after a header line; exported to and imported from plain JSON lines.

Topics are stored relative to their namespace (``raw.traffic``), so a recording replays into any namespace.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

FORMAT = "ioc-recording"
VERSION = 1


class RecordingError(ValueError):
    """A file that is not a recording this build reads."""


@dataclass(frozen=True)
class Entry:
    topic: str  # relative to the namespace: "raw.traffic", "alerts", ...
    partition: int
    offset: int
    timestamp: int  # the record's Kafka timestamp (ms)
    key: bytes | None
    value: bytes | None

    def line(self) -> bytes:
        doc: dict[str, Any] = {"t": self.topic, "p": self.partition, "o": self.offset, "ts": self.timestamp}
        doc.update(_pack("k", self.key))
        doc.update(_pack("v", self.value))
        return orjson.dumps(doc) + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> Entry:
        doc = orjson.loads(line)
        return cls(doc["t"], doc["p"], doc["o"], doc["ts"], _unpack("k", doc), _unpack("v", doc))


def _pack(name: str, data: bytes | None) -> dict[str, Any]:
    # Frames and documents are UTF-8 JSON: kept readable; anything else is base64 under "<name>b".
    if data is None:
        return {}
    try:
        return {name: data.decode()}
    except UnicodeDecodeError:
        return {f"{name}b": base64.b64encode(data).decode()}


def _unpack(name: str, doc: dict[str, Any]) -> bytes | None:
    if name in doc:
        return str(doc[name]).encode()
    if f"{name}b" in doc:
        return base64.b64decode(doc[f"{name}b"])
    return None


class Writer:
    """Appends entries to a new recording; `size` is the compressed bytes written so far."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self._raw = path.open("wb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
        self._gz.write(orjson.dumps({"format": FORMAT, "v": VERSION, **header}) + b"\n")
        self.entries = 0
        self._final_size: int | None = None

    def write(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self._gz.write(entry.line())
            self.entries += 1

    @property
    def size(self) -> int:
        return self._final_size if self._final_size is not None else self._raw.tell()

    def close(self) -> None:
        self._gz.close()
        self._final_size = self._raw.tell()
        self._raw.close()


def read(path: Path) -> tuple[dict[str, Any], Iterator[Entry]]:
    """The header and the entries of a recording (entries read lazily)."""
    stream = gzip.GzipFile(path, "rb")  # closed by the entries generator
    try:
        header = _header(stream.readline())
    except (OSError, RecordingError):
        stream.close()
        raise

    def entries() -> Iterator[Entry]:
        with stream:
            for line in stream:
                if line.strip():
                    yield Entry.parse(line)

    return header, entries()


def _header(line: bytes) -> dict[str, Any]:
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise RecordingError("no recording header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError("not an ioc recording")
    if header.get("v") != VERSION:
        raise RecordingError(f"recording version {header.get('v')!r}; this build reads v={VERSION}")
    return header


def export_jsonl(src: Path, dst: Path) -> int:
    """Write a recording as plain JSON lines (header first); return the entries written."""
    header, entries = read(src)
    n = 0
    with dst.open("wb") as out:
        out.write(orjson.dumps(header) + b"\n")
        for entry in entries:
            out.write(entry.line())
            n += 1
    return n


def import_jsonl(src: Path, dst: Path) -> int:
    """Turn plain JSON lines (as exported, header first) into a recording; return the entries."""
    with src.open("rb") as lines:
        header = _header(lines.readline())
        extra = {k: v for k, v in header.items() if k not in ("format", "v")}
        writer = Writer(dst, extra)
        try:
            writer.write(Entry.parse(line) for line in lines if line.strip())
        finally:
            writer.close()
    return writer.entries
