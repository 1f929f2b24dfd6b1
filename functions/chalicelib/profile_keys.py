"""Profile keys for events that name no profile: a keyed hash of the recipient.

Sending platforms never know our `profile_id`, yet distinct opens, clicks and
open rates must still count people. An event without one gets
`r:<HMAC(workspace key, normalised address)>` (or `m:<…>` of the platform's
message id when it names no recipient: then distinct counts mean messages).

- The address itself is never stored (DESIGN invariant 7): only the keyed hash,
  which cannot be reversed or recomputed without the secret (a plain hash of an
  email address can be, by hashing guessed addresses).
- The key is per workspace (HMAC(secret, workspace)), so the same person has
  unrelated keys in two workspaces and one workspace's keys say nothing of
  another's.
- The same address always gets the same key, whatever platform reported it and
  whether it came through a webhook or POST /v1/events without a profile_id.

The secret comes from Secrets Manager (`PROFILE_KEY_SECRET_ARN`, set by the
stage) or `PROFILE_KEY_SECRET`; only in local mode and tests
(`LIVEREPORT_ENV` = local or test) does a public development secret apply.
Changing the secret changes every key: people seen before and after would count
twice in distinct counts that span the change.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from functools import lru_cache
from typing import Callable, Mapping

from .secrets import named_secret

DEV_SECRET = "livereport-dev-profile-key-secret (local and tests only)"
_PHONE_NOISE = re.compile(r"[\s().\-]")


def secret_from_env(env: Mapping[str, str] = os.environ) -> bytes:
    return named_secret("PROFILE_KEY_SECRET", DEV_SECRET, env)


def normalise_address(value: str) -> str:
    """One spelling per recipient: `Jane@Example.com ` and `jane@example.com` are one
    person; `+33 6 12-34-56-78` and `+33612345678` one phone."""
    value = value.strip().strip("<>").strip().lower()
    if "@" not in value:
        value = _PHONE_NOISE.sub("", value)
    return value


class ProfileKeys:
    """Derives the per-workspace key once and hashes recipients with it.

    The secret is read on first use (`secret` may be a loader), so a stage that
    lacks it fails the requests that need a key, loudly, and nothing else."""

    def __init__(self, secret: bytes | Callable[[], bytes] = secret_from_env) -> None:
        self._secret = secret
        self._for_workspace = lru_cache(maxsize=256)(self._derive)

    def _derive(self, workspace: str) -> bytes:
        if callable(self._secret):
            self._secret = self._secret()
        return hmac.new(self._secret, b"profile-key\x00" + workspace.encode(), hashlib.sha256).digest()

    def key(self, workspace: str, kind: str, value: str) -> str:
        """`r:` + 22 base64url characters (132 bits) for an address, `m:` for a message id."""
        text = normalise_address(value) if kind == "r" else value.strip()
        digest = hmac.new(self._for_workspace(workspace), text.encode(), hashlib.sha256).digest()
        return f"{kind}:" + base64.urlsafe_b64encode(digest).decode()[:22]

    def for_workspace(self, workspace: str) -> Callable[[str, str], str]:
        """identify(kind, value) for `events.validate_batch` of one workspace's request."""
        return lambda kind, value: self.key(workspace, kind, value)
