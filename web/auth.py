"""Request guards: a bearer token (the Authorization header; `?token=` only on the websocket, where a browser
cannot set headers) with a role allowing the permission, and an Origin that is the server's own or
configured."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status
from starlette.requests import HTTPConnection

from ioc.auth import Principal, TokenBook
from web import metrics


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


def authorise(conn: HTTPConnection, tokens: TokenBook, permission: str) -> Principal | str:
    """The principal, or the reason for refusing (counted)."""
    principal = tokens.who(presented_token(conn))
    reason = None
    if principal is None:
        reason = "no valid token"
    elif not principal.may(permission):
        reason = f"role {principal.role} may not {permission}"
    if reason is not None:
        metrics.REFUSED.labels("token" if principal is None else "role").inc()
        return reason
    assert principal is not None
    return principal


def require(request: Request, tokens: TokenBook, permission: str) -> Principal:
    """The principal for a permission, or 401 (no or unknown token) / 403 (role does not allow it)."""
    outcome = authorise(request, tokens, permission)
    if isinstance(outcome, str):
        code = status.HTTP_401_UNAUTHORIZED if outcome == "no valid token" else status.HTTP_403_FORBIDDEN
        headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
        raise HTTPException(code, outcome, headers=headers)
    return outcome


def require_origin(request: Request, allowed: frozenset[str]) -> None:
    if not origin_allowed(request, allowed):
        metrics.REFUSED.labels("origin").inc()
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"origin {request.headers.get('origin')} not allowed")
