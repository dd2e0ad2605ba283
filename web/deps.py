"""FastAPI dependencies: the wall context and a caller allowed to read, act or engineer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ioc.auth import Principal
from web.auth import authorise, check_origin
from web.context import WallContext


def _wall(request: Request) -> WallContext:
    ctx: WallContext = request.app.state.wall
    return ctx


Wall = Annotated[WallContext, Depends(_wall)]


def _reader(request: Request, wall: Wall) -> Principal:
    return authorise(request, wall.tokens, "read")


def _actor(request: Request, wall: Wall) -> Principal:
    check_origin(request, wall.allowed_origins)  # a state change from a foreign page is refused
    return authorise(request, wall.tokens, "act")


def _engineer(request: Request, wall: Wall) -> Principal:
    return authorise(request, wall.tokens, "engineer")


def _engineer_acting(request: Request, wall: Wall) -> Principal:
    check_origin(request, wall.allowed_origins)
    return authorise(request, wall.tokens, "engineer")


Reader = Annotated[Principal, Depends(_reader)]
Actor = Annotated[Principal, Depends(_actor)]
Engineer = Annotated[Principal, Depends(_engineer)]
EngineerActing = Annotated[Principal, Depends(_engineer_acting)]
