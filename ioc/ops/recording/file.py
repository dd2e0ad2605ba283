"""Recording files: Kafka records captured with topic, partition, offset, timestamp and key, as
gzip-compressed JSON lines after a header line; exported to and imported from plain JSON lines, and read in
either form, whole or cut short.

Topics are stored relative to their namespace (``raw.traffic``), so a recording replays into any namespace.
"""

from __future__ import annotations

import base64
import gzip
import io
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
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

    def flush(self) -> None:
        """Make what was written so far readable even if this process is killed before `close`."""
        self._gz.flush()  # a sync flush: the compressed stream so far ends on a byte a reader can decode

    @property
    def size(self) -> int:
        return self._final_size if self._final_size is not None else self._raw.tell()

    def close(self) -> None:
        self._gz.close()
        self._final_size = self._raw.tell()
        self._raw.close()


GZIP_MAGIC = b"\x1f\x8b"
EXPECTED = (
    "expected an ioc recording: gzip-compressed JSON lines as `ioc record` writes, or plain JSON lines as "
    "`ioc recording export` writes"
)
# What a gzip stream cut short or damaged raises part-way: the lines before it were complete.
_BROKEN_GZIP = (EOFError, zlib.error, gzip.BadGzipFile)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def read(path: Path, warn: Callable[[str], None] = _stderr) -> tuple[dict[str, Any], Iterator[Entry]]:
    """The header and the entries of a recording (entries read lazily), gzip-compressed or plain JSON lines,
    told apart by their first bytes, not by the file's name.

    A file cut short (a recorder killed, a copy interrupted) is read up to its last complete record and
    `warn` is told once, naming the file and the records read. RecordingError, naming the file, for a file
    that is not a recording, and for a line inside it that is not a record (raised while iterating)."""
    compressed = _kind(path)
    stream: io.BufferedIOBase = gzip.GzipFile(path, "rb") if compressed else path.open("rb")
    try:
        first = stream.readline()
    except _BROKEN_GZIP:
        stream.close()
        raise RecordingError(f"{path}: cut short before its header line ended: nothing to read") from None
    except BaseException:
        stream.close()
        raise
    try:
        header = _header(first)
    except RecordingError as exc:
        stream.close()
        if first.strip() and not first.endswith(b"\n"):  # plain JSON lines cut inside their first line
            raise RecordingError(f"{path}: cut short before its header line ended: nothing to read") from None
        raise RecordingError(f"{path}: {exc}") from None

    def entries() -> Iterator[Entry]:
        n, number = 0, 1  # records read, line number
        with stream:
            while True:
                try:
                    line = stream.readline()
                except EOFError:
                    warn(f"warning: {path} is truncated after {n:,} records (the recorder did not close it); "
                         "reading what is complete")  # fmt: skip
                    return
                except (zlib.error, gzip.BadGzipFile) as exc:
                    warn(f"warning: {path} is damaged after {n:,} records ({exc}); reading what is complete")
                    return
                if not line:
                    return
                number += 1
                if not line.strip():
                    continue
                try:
                    entry = Entry.parse(line)
                except (ValueError, KeyError, TypeError) as exc:
                    if not line.endswith(b"\n"):  # only the last line can lack one: the file was cut there
                        warn(f"warning: {path} ends inside a record after {n:,} records (cut short); "
                             "reading what is complete")  # fmt: skip
                        return
                    raise RecordingError(f"{path}: line {number} is not a record ({exc!r})") from None
                n += 1
                yield entry

    return header, entries()


def _kind(path: Path) -> bool:
    """True for gzip, False for plain JSON lines; RecordingError for anything else."""
    with path.open("rb") as f:
        start = f.read(64)
    if start.startswith(GZIP_MAGIC):
        return True
    text = start.removeprefix(b"\xef\xbb\xbf").lstrip()  # a UTF-8 byte order mark, blank lines
    if text.startswith(b"{"):
        return False
    found = "it is empty" if not start else f"it starts with {start[:16]!r}"
    raise RecordingError(f"{path}: not a recording ({found}); {EXPECTED}")


def _header(line: bytes) -> dict[str, Any]:
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise RecordingError(f"its first line is not JSON; {EXPECTED}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(f"its first line is not a recording's header (no format {FORMAT!r}); {EXPECTED}")
    if header.get("v") != VERSION:
        raise RecordingError(f"recording version {header.get('v')!r}; this build reads v={VERSION}")
    return header


def export_jsonl(src: Path, dst: Path, warn: Callable[[str], None] = _stderr) -> int:
    """Write a recording (either form, cut short or not) as plain JSON lines (header first); return the
    entries written."""
    header, entries = read(src, warn)
    n = 0
    with dst.open("wb") as out:
        out.write(orjson.dumps(header) + b"\n")
        for entry in entries:
            out.write(entry.line())
            n += 1
    return n


def import_jsonl(src: Path, dst: Path, warn: Callable[[str], None] = _stderr) -> int:
    """Turn plain JSON lines (as exported, header first), or any recording (a truncated one, too: this
    closes it properly), into a recording; return the entries."""
    header, entries = read(src, warn)
    writer = Writer(dst, {k: v for k, v in header.items() if k not in ("format", "v")})
    try:
        writer.write(entries)
    finally:
        writer.close()
    return writer.entries
