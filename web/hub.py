"""Fan-out to websocket clients: a snapshot on connect, then coalesced deltas as soon as something changed, at
most IOC_PUSH_HZ times a second (a critical alert at once).

Each client has a bounded queue; a client that falls behind gets its queue dropped and one fresh snapshot,
never an ever-growing backlog. A delta is encoded once per distinct subscription, not once per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from web import metrics
from web.direct import WriteNow
from web.state import Subscription, WallState

log = logging.getLogger("ioc.hub")
Send = Callable[[str], Awaitable[None]]


@dataclass(eq=False)
class Client:
    send: Send
    sub: Subscription
    queue: asyncio.Queue[str]
    write_now: WriteNow | None = None  # a synchronous frame write where the server allows one
    busy: bool = False  # the writer task is in the middle of an awaited send
    resnapshots: int = 0
    sent: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Hub:
    def __init__(
        self, state: WallState, push_hz: float, queue_size: int, mode: Callable[[], dict[str, Any]]
    ) -> None:
        self.state = state
        self.interval = 1.0 / push_hz
        self.queue_size = queue_size
        self.mode = mode  # LIVE / REPLAY banner facts
        self.clients: set[Client] = set()
        self.pushes = 0

    def message(self, type_: str, items: list[dict[str, Any]], **extra: Any) -> str:
        body = {
            "type": type_,
            "version": self.state.version,
            "sim_time": self.state.sim_time_ms,
            "server_time": int(time.time() * 1000),
            "mode": self.mode(),
            "items": items,
            **extra,
        }
        return orjson.dumps(body).decode()

    def snapshot_for(self, sub: Subscription) -> str:
        """Everything the client shows: entities, active alerts, the last hour of KPIs and alert markers."""
        return self.message(
            "snapshot",
            self.state.snapshot(sub),
            trends=self.state.trend_snapshot(sub),
            markers=self.state.markers(sub),
        )

    async def connect(self, send: Send, sub: Subscription, write_now: WriteNow | None = None) -> Client:
        client = Client(send, sub, asyncio.Queue(self.queue_size), write_now)
        client.queue.put_nowait(self.snapshot_for(sub))
        client.task = asyncio.create_task(self._writer(client))
        self.clients.add(client)
        metrics.CLIENTS.set(len(self.clients))
        metrics.MESSAGES.labels("snapshot").inc()
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)
        metrics.CLIENTS.set(len(self.clients))
        if client.task is not None:
            client.task.cancel()

    async def _writer(self, client: Client) -> None:
        with contextlib.suppress(Exception):  # a closed socket ends this client's writer, nothing else
            while True:
                text = await client.queue.get()
                client.busy = True
                await client.send(text)
                client.busy = False
                client.sent += 1

    def push(self) -> int:
        """Queue the changes since the last push to every client; return how many clients got one."""
        changed = self.state.take_changes()
        if not changed:
            return 0
        started = time.perf_counter()
        encoded: dict[Subscription, tuple[str, bytes] | None] = {}
        delivered = direct = 0
        self.pushes += 1
        for client in list(self.clients):
            if client.sub not in encoded:
                items = [i for i in changed if client.sub.wants(i)]
                # `push` numbers delta rounds: a gap tells a client (and the benchmark) a round never came.
                text = self.message("delta", items, push=self.pushes) if items else None
                encoded[client.sub] = (text, text.encode()) if text is not None else None
            message = encoded[client.sub]
            if message is not None:
                direct += self._deliver(client, *message)
                delivered += 1
        metrics.PUSHES.inc()
        metrics.MESSAGES.labels("delta").inc(delivered)
        metrics.DIRECT_WRITES.inc(direct)
        metrics.PUSH_SECONDS.observe(time.perf_counter() - started)
        return delivered

    def _deliver(self, client: Client, text: str, data: bytes) -> bool:
        """Straight onto the socket (True) when nothing is queued before it, so order holds; else queued."""
        if client.write_now is not None and not client.busy and client.queue.empty():
            if client.write_now(data):
                client.sent += 1
                return True
            self._resnapshot(client)  # its socket buffer is full: a slow reader gets one snapshot
            return False
        try:
            client.queue.put_nowait(text)
        except asyncio.QueueFull:
            self._resnapshot(client)
        return False

    def resnapshot_all(self) -> None:
        """Every client starts over from a snapshot (the state was reset)."""
        for client in list(self.clients):
            self._resnapshot(client)

    def _resnapshot(self, client: Client) -> None:
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(self.snapshot_for(client.sub))
        client.resnapshots += 1
        metrics.RESNAPSHOTS.inc()

    async def run(self) -> None:
        """Push as soon as something changed, at most IOC_PUSH_HZ times a second (each client gets one
        coalesced delta per push); a critical alert's change is pushed at once, slot or not."""
        loop = asyncio.get_running_loop()
        news, urgent = self.state.news, self.state.urgent
        last = -self.interval
        while True:
            await news.wait()
            rest = last + self.interval - loop.time()
            if rest > 0 and not urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(urgent.wait(), rest)
            news.clear()
            urgent.clear()
            last = loop.time()
            try:
                self.push()
            except Exception:  # the broadcaster must outlive any one bad push
                log.exception("push failed")
