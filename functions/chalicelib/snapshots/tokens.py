"""Signed links in emails: unsubscribe and confirm (docs/snapshots.md, "Signed links").

Format: `v2.<payload>.<signature>`, both base64url without padding; payload is
compact JSON `[purpose, workspace, list, recipient, expires_at]`, signature is
HMAC-SHA256(secret, "v2." + payload). The purpose is signed, so a confirm link
cannot be replayed as an unsubscribe link or the reverse; `list` names what the
address is on (`sub:<subscription id>` or `alert:<rule id>`). Links expire
(`expires_at`, epoch seconds): a recurring email always carries a fresh one.
Rotating the secret invalidates every link already sent.

`v1.<payload>.<signature>` links (unsubscribe only, `[workspace, subscription_id,
recipient]`, no expiry) were sent before links expired; they still unsubscribe.

The secret comes from `UNSUBSCRIBE_SECRET`, or in a deployed stage from the
Secrets Manager secret `UNSUBSCRIBE_SECRET_ARN` names (read once per container,
chalicelib/secrets.py). Only when `LIVEREPORT_ENV` is `local` or `test` does a
fixed, public development secret apply; anywhere else a missing secret is an
error, never a silent default.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Mapping

from ..secrets import SecretMissing, named_secret  # noqa: F401 - SecretMissing: callers catch it here

DEV_SECRET = "livereport-dev-unsubscribe-secret (local and tests only)"


class TokenError(ValueError):
    """A token that is malformed, tampered with, or signed with another secret."""


def secret_from_env(env: Mapping[str, str] = os.environ) -> bytes:
    return named_secret("UNSUBSCRIBE_SECRET", DEV_SECRET, env)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
PURPOSES = frozenset({UNSUBSCRIBE, CONFIRM})
#: How long a link works. Every snapshot or alert email carries a fresh unsubscribe
#: link, so only links of old emails expire; a confirmation request is answered soon or never.
LIFETIME = {UNSUBSCRIBE: 180 * 86400, CONFIRM: 30 * 86400}
MAX_TOKEN = 2048


class TokenExpired(TokenError):
    """A genuine link whose time is over (`link` says what it was for)."""

    def __init__(self, link: "Link") -> None:
        super().__init__("expired")
        self.link = link


@dataclass(frozen=True)
class Link:
    purpose: str
    workspace: str
    list_ref: str  # "sub:<id>" | "alert:<id>"
    recipient: str
    expires_at: int  # epoch seconds; 0: never (v1 links)


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, signed: str) -> str:
        return _b64(hmac.new(self._secret, signed.encode(), hashlib.sha256).digest())

    def sign(self, purpose: str, workspace: str, list_ref: str, recipient: str, now: float) -> str:
        """A link token for `purpose`, valid LIFETIME[purpose] seconds from `now`."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        values = [purpose, workspace, list_ref, recipient, int(now) + LIFETIME[purpose]]
        signed = "v2." + _b64(json.dumps(values, separators=(",", ":")).encode())
        return f"{signed}.{self._mac(signed)}"

    def verify(self, token: str, purpose: str, now: float) -> Link:
        """The link, or TokenError (malformed, altered, another secret or purpose) / TokenExpired."""
        if not token or len(token) > MAX_TOKEN:
            raise TokenError("missing or oversized token")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] not in ("v1", "v2"):
            raise TokenError("malformed token")
        if not hmac.compare_digest(self._mac(f"{parts[0]}.{parts[1]}"), parts[2]):
            raise TokenError("bad signature")
        try:
            values = json.loads(_unb64(parts[1]))
        except ValueError:
            raise TokenError("malformed payload") from None
        if parts[0] == "v1":  # legacy unsubscribe links: [workspace, subscription_id, recipient]
            if purpose != UNSUBSCRIBE or not _strings(values, 3):
                raise TokenError("malformed payload")
            return Link(UNSUBSCRIBE, values[0], f"sub:{values[1]}", values[2], 0)
        if not (isinstance(values, list) and len(values) == 5 and _strings(values[:4], 4)
                and isinstance(values[4], int)):
            raise TokenError("malformed payload")
        if values[0] != purpose:
            raise TokenError("a link of another kind")
        link = Link(*values)
        if link.expires_at < now:
            raise TokenExpired(link)
        return link


def _strings(values: object, n: int) -> bool:
    return isinstance(values, list) and len(values) == n and all(isinstance(v, str) and v for v in values)
