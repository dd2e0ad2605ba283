"""The wall server: FastAPI app whose lifespan runs the Kafka feed and the websocket broadcaster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ioc.auth import TokenBook, dev_tokens
from ioc.city import load_city
from ioc.settings import Settings, get_settings
from ioc.signing import load_keys
from ioc.store.database import database_url, open_engine
from web import attention
from web.attention import AttentionBook
from web.context import WallContext
from web.direct import KeepServerSend
from web.feed import Feed
from web.guard import Guard
from web.hub import Hub
from web.mode import Banner
from web.routes import (
    alerts,
    audit,
    city,
    deadletter,
    health,
    history,
    kpis,
    replay,
    sensors,
    shift,
    state,
    trends,
    vocabulary,
    ws,
)
from web.state import WallState

STATIC = resources.files("web").joinpath("static")
log = logging.getLogger("ioc.web")


def create_app(settings: Settings | None = None) -> FastAPI:
    s = settings or get_settings()
    city_model = load_city()
    wall_state = WallState(city_model, AttentionBook(after_ms=int(s.attention_after_s * 1000)))
    banner = Banner(s, wall_state)
    hub = Hub(wall_state, s.push_hz, s.client_queue, mode=banner)
    origins = frozenset(o.strip() for o in s.allowed_origins.split(",") if o.strip())
    feed = Feed(s, wall_state, load_keys(s), on_reset=hub.resnapshot_all)
    store = open_engine(database_url(s))  # connects on the first history request, not here
    ctx = WallContext(s, city_model, wall_state, hub, feed, _tokens(s), origins, banner, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs = (feed.run(), hub.run(), feed.watch_health(), attention.keep_up(wall_state.refresh_attention))
        tasks = [asyncio.create_task(c) for c in jobs]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await ctx.feed.close()
            await store.dispose()

    app = FastAPI(title="Nghệ An IOC wall", version="0.1.0", lifespan=lifespan)
    app.state.wall = ctx
    app.add_middleware(KeepServerSend)
    app.add_middleware(Guard, max_body=s.max_body_bytes)
    app.add_exception_handler(RequestValidationError, _invalid)
    routers = (health, state, kpis, sensors, alerts, history, trends, shift, audit, city, deadletter,
               replay, vocabulary, ws)  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC.joinpath("index.html")))

    return app


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    """422 naming what is wrong, without echoing the input back (it may be large, or someone's script)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:20]]
    return JSONResponse({"detail": detail}, status_code=422)


def _tokens(s: Settings) -> TokenBook:
    if s.tokens:
        return TokenBook(s.tokens)
    spec = dev_tokens()  # never a built-in secret: without IOC_TOKENS each start makes its own
    log.warning("IOC_TOKENS not set; development tokens for this run: %s", spec)
    return TokenBook(spec)
