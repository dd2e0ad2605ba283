"""Response models the routes share: the banner's mode, an entity on the wall, and an error's body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Entity(BaseModel):
    """The latest value of one thing on the wall (a station, lane, cabinet, hospital, KPI or active alert),
    keyed `<kind>:<id>`, with the fields of the document it came from."""

    model_config = ConfigDict(extra="allow")
    key: str
    kind: str


class Refusal(BaseModel):
    """Why a request was refused (401, 403, 404, 409)."""

    detail: str


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` a route declares for the refusals it may answer with."""
    return {code: {"model": Refusal} for code in codes}


READ_REFUSALS = refusals(401, 403)
