"""The live websocket: snapshot on connect, then coalesced deltas; ?areas=...&domains=... subscribes.
A viewer token (`?token=`) and an allowed Origin are required; a refused handshake gets HTTP 403."""

from __future__ import annotations

import asyncio
import contextlib
import os

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from web.auth import AuthError, authorise, check_origin
from web.context import WallContext
from web.direct import direct_writer
from web.state import Subscription

router = APIRouter()
CATCH_UP_WAIT_S = 15.0


@router.websocket("/ws")
async def live(websocket: WebSocket, areas: str | None = None, domains: str | None = None) -> None:
    wall: WallContext = websocket.app.state.wall
    try:
        check_origin(websocket, wall.allowed_origins)
        authorise(websocket, wall.tokens, "read")
    except AuthError:
        await websocket.close(code=1008)  # before accept: the handshake is answered 403
        return
    # Which of the IOC_WEB_PROCESSES took the connection: for operators and tests, not the page.
    await websocket.accept(headers=[(b"x-wall-process", str(os.getpid()).encode())])
    # A server that has just started holds a partial state: the first snapshot waits for the catch-up.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wall.feed.caught_up.wait(), CATCH_UP_WAIT_S)
    sub = Subscription.parse(areas, domains)
    client = await wall.hub.connect(websocket.send_text, sub, direct_writer(websocket.scope))
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while True:  # clients only ever send pings; read to notice a close
                await websocket.receive_text()
    finally:
        wall.hub.disconnect(client)
