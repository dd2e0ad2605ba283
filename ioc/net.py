"""Local network checks shared by every process: whether a server could listen on a port now."""

from __future__ import annotations

import socket


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now. Bound as a lone server binds (SO_REUSEADDR, no
    SO_REUSEPORT): a port in TIME_WAIT counts as free, one another process listens on does not."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
