"""Roles and scopes: what a user's role or an API key's scopes let it do.

Routes check *effective* scopes. Keys are granted the coarse scopes
(``ingest``, ``read``, ``manage``, ``admin``) and expand to effective ones so
keys minted before accounts existed keep every right they had:

* ``read``   -> read                 (read keys go to agencies: no subscriptions, no recipient addresses)
* ``manage`` -> manage, subscriptions, sources  (alert rules, snapshot subscriptions, webhook sources, as before)
* ``admin``  -> admin, sources       (users, API keys, the audit list; webhook sources)
* ``ingest`` -> ingest

Users hold one role per workspace, which maps onto effective scopes:

* ``viewer`` -> read
* ``editor`` -> read, subscriptions, manage
* ``admin``  -> read, subscriptions, manage, sources, admin

No role carries ``ingest``: people do not post events; an admin mints an
ingest key for the producer instead.
"""
from __future__ import annotations

from typing import Iterable

ROLES = ("viewer", "editor", "admin")

#: scope -> what it allows (the route matrix in tests/test_accounts_matrix.py follows it).
EFFECTIVE_SCOPES = {
    "ingest": "POST events",
    "read": "reports, CSV, campaigns, change stamps, alert badges",
    "subscriptions": "snapshot email subscriptions",
    "manage": "alert rules (and their recipients)",
    "sources": "webhook sources",
    "admin": "members, API keys, the audit list",
}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "editor": frozenset({"read", "subscriptions", "manage"}),
    "admin": frozenset({"read", "subscriptions", "manage", "sources", "admin"}),
}

KEY_SCOPE_EXPANSION: dict[str, frozenset[str]] = {
    "ingest": frozenset({"ingest"}),
    "read": frozenset({"read"}),
    "manage": frozenset({"manage", "subscriptions", "sources"}),
    "admin": frozenset({"admin", "sources"}),
}


def key_scopes(granted: Iterable[str]) -> frozenset[str]:
    """The effective scopes of an API key granted `granted` (unknown names grant nothing)."""
    out: set[str] = set()
    for scope in granted:
        out |= KEY_SCOPE_EXPANSION.get(scope, frozenset())
    return frozenset(out)


def role_scopes(role: str) -> frozenset[str]:
    return ROLE_SCOPES.get(role, frozenset())


def check_role(role: object) -> str:
    if role not in ROLES:
        raise ValueError(f"role: one of {', '.join(ROLES)}")
    return str(role)


def encode_roles(roles: dict[str, str]) -> str:
    """`ws=role,ws2=role` for the authorizer context (strings only there)."""
    return ",".join(f"{ws}={role}" for ws, role in sorted(roles.items()))


def decode_roles(raw: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (raw or "").split(","):
        ws, _, role = part.partition("=")
        if ws and role in ROLES:
            out[ws] = role
    return out
