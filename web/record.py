"""Reading the operations record from a route: a database that is not there (yet) answers 503, not 500."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from fastapi import HTTPException, status
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

T = TypeVar("T")


async def from_record(read: Awaitable[T]) -> T:
    try:
        return await read
    except (OperationalError, ProgrammingError, DBAPIError, OSError) as exc:  # no record yet, or unreachable
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the operations record is not available"
        ) from exc
