"""This test run's credentials: access tokens per role and signing keys, fresh per run like `ioc up`'s."""

from __future__ import annotations

import secrets

from ioc import auth
from ioc.signing import Keys, Signer

TOKENS = auth.dev_tokens()
# Keys of the processors and wall (documents) and of the time sources (control).
DOCUMENT_KEY = secrets.token_urlsafe(24)
CONTROL_KEY = secrets.token_urlsafe(24)
KEYS = Keys(Signer(DOCUMENT_KEY.encode()), Signer(CONTROL_KEY.encode()))


def token(role: str) -> str:
    found = auth.token_of(TOKENS, role)
    assert found is not None
    return found
