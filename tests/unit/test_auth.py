"""Tokens and roles: parsing, who a token belongs to, what each role may do, and fresh dev tokens."""

from __future__ import annotations

import pytest

from ioc.auth import TokenBook, TokenError, dev_tokens, token_of


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
