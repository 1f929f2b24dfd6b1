"""Signed unsubscribe tokens: (workspace, subscription, recipient) + HMAC-SHA256.

Format: `v1.<payload>.<signature>`, both base64url without padding; payload is
compact JSON `[workspace, subscription_id, recipient]`, signature is
HMAC-SHA256(secret, "v1." + payload). Tokens do not expire: an unsubscribe
link must keep working for as long as the email sits in someone's inbox.
Rotating the secret invalidates every link already sent.

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


@dataclass(frozen=True)
class Unsubscribe:
    workspace: str
    subscription_id: str
    recipient: str


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, signed: str) -> str:
        return _b64(hmac.new(self._secret, signed.encode(), hashlib.sha256).digest())

    def sign(self, workspace: str, subscription_id: str, recipient: str) -> str:
        payload = _b64(json.dumps([workspace, subscription_id, recipient], separators=(",", ":")).encode())
        signed = f"v1.{payload}"
        return f"{signed}.{self._mac(signed)}"

    def verify(self, token: str) -> Unsubscribe:
        if not token or len(token) > 2048:
            raise TokenError("missing or oversized token")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            raise TokenError("malformed token")
        if not hmac.compare_digest(self._mac(f"v1.{parts[1]}"), parts[2]):
            raise TokenError("bad signature")
        try:
            values = json.loads(_unb64(parts[1]))
        except ValueError:
            raise TokenError("malformed payload") from None
        if not (isinstance(values, list) and len(values) == 3 and all(isinstance(v, str) and v for v in values)):
            raise TokenError("malformed payload")
        return Unsubscribe(*values)
