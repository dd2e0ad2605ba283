"""FastAPI dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from web.context import WallContext


def _wall(request: Request) -> WallContext:
    ctx: WallContext = request.app.state.wall
    return ctx


Wall = Annotated[WallContext, Depends(_wall)]
