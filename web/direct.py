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

    plain = not protocol.extensions and not protocol.is_client  # a server's frame, nothing negotiated

    def write(data: bytes) -> bool:
        if getattr(protocol.state, "name", "") != "OPEN" or protocol._fragmented_message_waiter is not None:
            return False
        if transport.get_write_buffer_size() > BUFFER_LIMIT:
            return False
        if plain:
            transport.write(_framed(data))
        else:
            protocol.write_frame_sync(True, TEXT, data)
        return True

    return write


_last: tuple[bytes, bytes] | None = None  # (message, its frame): one round's message goes to every client


def _framed(data: bytes) -> bytes:
    """An unmasked final text frame of `data` (RFC 6455 5.2), made once per round however many clients get
    it: building a frame object per client was most of a round's work after the socket writes."""
    global _last
    if _last is not None and _last[0] is data:
        return _last[1]
    n = len(data)
    if n < 126:
        head = bytes((0x80 | TEXT, n))
    elif n < 1 << 16:
        head = bytes((0x80 | TEXT, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | TEXT, 127)) + n.to_bytes(8, "big")
    _last = (data, head + data)
    return _last[1]
