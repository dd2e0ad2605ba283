"""Tokens and roles: parsing, who a token belongs to, what each role may do, fresh dev tokens, and the wall's
typed refusals (no token, a role that may not, a foreign Origin)."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from prometheus_client import REGISTRY
from starlette.requests import HTTPConnection

from ioc.auth import TokenBook, TokenError, dev_tokens, token_of
from web.auth import AuthError, NoToken, OriginRefused, RoleRefused, authorise, check_origin


def test_roles_grant_their_permissions_only() -> None:
    spec = dev_tokens()
    book = TokenBook(spec)
    viewer, operator, engineer = (book.who(token_of(spec, r)) for r in ("viewer", "operator", "engineer"))
    assert viewer is not None and operator is not None and engineer is not None
    assert (viewer.may("read"), viewer.may("act"), viewer.may("engineer")) == (True, False, False)
    assert (operator.may("read"), operator.may("act"), operator.may("engineer")) == (True, True, False)
    assert (engineer.may("read"), engineer.may("act"), engineer.may("engineer")) == (True, False, True)
    assert operator.name == "dev-operator"


def test_unknown_or_missing_tokens_are_nobody() -> None:
    book = TokenBook("operator:0123456789abcdefXYZ:lan")
    assert book.who("0123456789abcdefXYZ") is not None
    assert book.who("0123456789abcdefXY") is None
    assert book.who("") is None and book.who(None) is None


def test_dev_tokens_differ_every_time() -> None:
    assert dev_tokens() != dev_tokens()


@pytest.mark.parametrize("spec", ["", "admin:0123456789abcdefXYZ", "viewer:short"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(TokenError):
        TokenBook(spec)


def test_a_wall_started_without_tokens_makes_its_own(caplog: pytest.LogCaptureFixture) -> None:
    from ioc.settings import Settings
    from web.app import create_app

    with caplog.at_level("WARNING", logger="ioc.web"):
        app = create_app(Settings(tokens=""))
    assert sorted(app.state.wall.tokens.roles()) == ["engineer", "operator", "viewer"]
    assert "development tokens for this run" in caplog.text
    logged = token_of(caplog.text.split(": ")[-1].strip(), "viewer")
    assert app.state.wall.tokens.who(logged) is not None
    other = create_app(Settings(tokens=""))
    assert other.state.wall.tokens.who(logged) is None  # every start its own


def connection(headers: dict[str, str], kind: str = "http", query: str = "") -> HTTPConnection:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return HTTPConnection({"type": kind, "headers": raw, "query_string": query.encode(), "path": "/"})


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("ioc_web_refused_total", {"reason": reason}) or 0.0


def test_the_wall_refuses_with_typed_counted_errors() -> None:
    spec = dev_tokens()
    book = TokenBook(spec)

    def bearer(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_of(spec, role)}"}

    before = refused("token"), refused("role")
    with pytest.raises(NoToken) as no_token:
        authorise(connection({"Authorization": "Bearer not-a-token-at-all"}), book, "read")
    assert (no_token.value.status_code, no_token.value.headers) == (401, {"WWW-Authenticate": "Bearer"})
    with pytest.raises(RoleRefused) as role:
        authorise(connection(bearer("viewer")), book, "act")
    assert (role.value.status_code, role.value.detail) == (403, "role viewer may not act")
    assert isinstance(no_token.value, AuthError) and isinstance(role.value, HTTPException)
    assert (refused("token"), refused("role")) == (before[0] + 1, before[1] + 1)
    assert authorise(connection(bearer("operator")), book, "act").role == "operator"


def test_a_token_in_the_url_is_taken_on_the_websocket_only() -> None:
    spec = dev_tokens()
    book = TokenBook(spec)
    query = f"token={token_of(spec, 'viewer')}"
    assert authorise(connection({}, "websocket", query), book, "read").role == "viewer"
    with pytest.raises(NoToken):
        authorise(connection({}, "http", query), book, "read")


def test_a_foreign_origin_is_refused() -> None:
    before = refused("origin")
    here = {"Host": "wall.local:8000"}
    check_origin(connection(here), frozenset())  # a script: no Origin
    check_origin(connection({**here, "Origin": "http://wall.local:8000"}), frozenset())
    check_origin(connection({**here, "Origin": "https://ioc.example"}), frozenset({"https://ioc.example"}))
    with pytest.raises(OriginRefused) as foreign:
        check_origin(connection({**here, "Origin": "http://evil.example"}), frozenset())
    assert foreign.value.status_code == 403 and refused("origin") == before + 1
