"""One wall server process: uvicorn on the wall's port, alone or one of several sharing it (SO_REUSEPORT)."""

from __future__ import annotations

import contextlib
import logging
import resource
import socket
import sys

import uvicorn

from ioc.settings import Settings
from web.app import create_app

STARTUP_FAILURE = 3  # uvicorn's exit code when the server could not start: starting again would fail alike
log = logging.getLogger("ioc.web")


def serve(s: Settings, port: int, shared: bool = False) -> None:
    """Serve until SIGTERM or SIGINT. `shared`: the port is bound with SO_REUSEPORT, so the kernel spreads
    new connections over every process bound so (web.processes starts them)."""
    config = uvicorn.Config(
        create_app(s),
        host=s.web_host,
        port=port,
        log_level=s.log_level.lower(),
        ws="websockets",
        ws_per_message_deflate=False,  # deflate collapses above ~500 clients (measured, design notes)
        loop="uvloop",
        access_log=False,
    )
    _more_files()
    try:
        sockets = [shared_socket(s.web_host, port)] if shared else None
    except OSError as exc:
        log.error("cannot bind %s:%d: %s", s.web_host, port, exc)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: a second Ctrl-C needs no traceback
        server.run(sockets=sockets)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _more_files() -> None:
    """Every websocket holds a descriptor: thousands of clients need more than a usual soft limit of 1,024."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):  # above the kernel's nr_open: keep what we have
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def shared_socket(host: str, port: int) -> socket.socket:
    """Bound, not yet listening: the kernel gives it connections only once uvicorn listens on it, after the
    app has started."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock
