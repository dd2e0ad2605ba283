"""The live websocket: snapshot on connect, then coalesced deltas; ?areas=...&domains=... subscribes."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from web.context import WallContext
from web.state import Subscription

router = APIRouter()


@router.websocket("/ws")
async def live(websocket: WebSocket, areas: str | None = None, domains: str | None = None) -> None:
    wall: WallContext = websocket.app.state.wall
    await websocket.accept()
    client = await wall.hub.connect(websocket.send_text, Subscription.parse(areas, domains))
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while True:  # clients only ever send pings or subscription changes; read to notice a close
                await websocket.receive_text()
    finally:
        wall.hub.disconnect(client)
