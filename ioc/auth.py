"""Access tokens and roles: `role:token[:name]` entries, parsed once; random development tokens for `ioc up`.

Roles grant permissions, not ranks: a viewer reads, an operator reads and acts on alerts, an engineer
reads and works with scenarios, replays and dead letters.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "operator": frozenset({"read", "act"}),
    "engineer": frozenset({"read", "engineer"}),
}


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


class TokenError(ValueError):
    """A token specification that cannot be used."""


class TokenBook:
    """Who a presented token belongs to; comparisons take the same time whatever matches."""

    def __init__(self, spec: str) -> None:
        self._entries: list[tuple[bytes, Principal]] = []
        for raw in spec.split(","):
            if raw.strip():
                self._entries.append(self._parse(raw.strip()))
        if not self._entries:
            raise TokenError("no tokens given")

    @staticmethod
    def _parse(entry: str) -> tuple[bytes, Principal]:
        role, _, rest = entry.partition(":")
        token, _, name = rest.partition(":")
        if role not in PERMISSIONS:
            raise TokenError(f"unknown role {role!r} (roles: {', '.join(PERMISSIONS)})")
        if len(token) < 16:
            raise TokenError(f"the {role} token is shorter than 16 characters")
        return token.encode(), Principal(name or role, role)

    def who(self, token: str | None) -> Principal | None:
        if not token:
            return None
        presented = token.encode()
        found = None
        for secret, principal in self._entries:
            if hmac.compare_digest(secret, presented):
                found = principal
        return found

    def roles(self) -> list[str]:
        return [p.role for _, p in self._entries]


def dev_tokens() -> str:
    """One fresh random token per role, as a spec string (printed by `ioc up`, never stored)."""
    return ",".join(f"{role}:{secrets.token_urlsafe(18)}:dev-{role}" for role in PERMISSIONS)


def token_of(spec: str, role: str) -> str | None:
    """The first token of a role in a spec string (for printing the wall's links), None if it has none."""
    for entry in spec.split(","):
        r, _, rest = entry.strip().partition(":")
        if r == role:
            return rest.partition(":")[0]
    return None
