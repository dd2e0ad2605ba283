"""Request guards: a bearer token (the Authorization header; `?token=` only on the websocket, where a browser
cannot set headers) with a role allowing the permission, and an Origin that is the server's own or
configured. A refusal is an `AuthError`: counted, and answered by FastAPI with its status."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from fastapi import HTTPException, status
from starlette.requests import HTTPConnection

from ioc.auth import Principal, TokenBook
from web import metrics


class AuthError(HTTPException):
    """A request the wall refuses to serve; `reason` labels `ioc_web_refused_total`."""

    reason: ClassVar[str]


class NoToken(AuthError):
    """No token, or one the wall does not know: 401."""

    reason = "token"

    def __init__(self) -> None:
        challenge = {"WWW-Authenticate": "Bearer"}
        super().__init__(status.HTTP_401_UNAUTHORIZED, "no valid token", headers=challenge)


class RoleRefused(AuthError):
    """A known caller whose role does not grant the permission: 403."""

    reason = "role"

    def __init__(self, principal: Principal, permission: str) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not {permission}")


class OriginRefused(AuthError):
    """A browser page from a foreign origin: 403."""

    reason = "origin"

    def __init__(self, origin: str | None) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, f"origin {origin} not allowed")


def _counted(error: AuthError) -> AuthError:
    metrics.REFUSED.labels(error.reason).inc()
    return error


def presented_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    # A token in a URL ends up in logs and history: accepted only where there is no other way.
    return conn.query_params.get("token") if conn.scope["type"] == "websocket" else None


def origin_allowed(conn: HTTPConnection, allowed: frozenset[str]) -> bool:
    """No Origin (a script, not a browser) passes; a browser's must be this server or an allowed one."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    return origin in allowed or urlsplit(origin).netloc == conn.headers.get("host")


def authorise(conn: HTTPConnection, tokens: TokenBook, permission: str) -> Principal:
    """The principal allowed `permission`; NoToken or RoleRefused (counted) otherwise."""
    principal = tokens.who(presented_token(conn))
    if principal is None:
        raise _counted(NoToken())
    if not principal.may(permission):
        raise _counted(RoleRefused(principal, permission))
    return principal


def check_origin(conn: HTTPConnection, allowed: frozenset[str]) -> None:
    """OriginRefused (counted) unless the Origin is allowed."""
    if not origin_allowed(conn, allowed):
        raise _counted(OriginRefused(conn.headers.get("origin")))
