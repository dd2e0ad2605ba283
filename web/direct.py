"""Direct websocket frame writes, the way `websockets.broadcast` writes: for connections served by uvicorn's
`websockets` implementation, one synchronous frame write per client and round instead of a task wake-up and
the ASGI await chain. Found by duck typing on the server's own ASGI `send`; anything else (another server,
another implementation, a changed hook) gets None and keeps the ordinary ASGI sends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

WriteNow = Callable[[bytes], bool]
SERVER_SEND = "ioc.server_send"
TEXT = 0x1  # RFC 6455 opcode of a text frame
BUFFER_LIMIT = 256 * 1024  # bytes waiting in a socket's buffer beyond which its client counts as slow


class KeepServerSend:
    """ASGI middleware: remembers the server's own `send` of each websocket in its scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)


def direct_writer(scope: Scope) -> WriteNow | None:
    """Write one text frame now; False if the connection is not open or its buffer is full (a slow reader)."""
    protocol: Any = getattr(scope.get(SERVER_SEND), "__self__", None)
    transport = getattr(protocol, "transport", None)
    if not callable(getattr(protocol, "write_frame_sync", None)) or transport is None:
        return None

    def write(data: bytes) -> bool:
        if getattr(protocol.state, "name", "") != "OPEN" or protocol._fragmented_message_waiter is not None:
            return False
        if transport.get_write_buffer_size() > BUFFER_LIMIT:
            return False
        protocol.write_frame_sync(True, TEXT, data)
        return True

    return write
