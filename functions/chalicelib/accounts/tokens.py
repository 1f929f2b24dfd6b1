"""Cognito tokens verified against the user pool's JWKS (joserfc).

Checked: the RS256 signature by a key of the pool's JWKS (looked up by `kid`),
`iss` (the pool), `token_use` (`access` or `id`), the app client (`client_id`
of an access token, `aud` of an ID token), `exp` (and `iat`/`nbf` when
present), a `sub`. Anything else raises TokenError, which the authorizer
turns into an anonymous caller (401).

The JWKS is fetched once and cached for `jwks_ttl` seconds; a token naming
an unknown `kid` (a key rotation) refetches it, at most once per
`refetch_interval` seconds, so forged tokens cannot make us hammer Cognito.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

MAX_TOKEN_BYTES = 8192
ALGORITHMS = ["RS256"]


class TokenError(ValueError):
    """The bearer token is not a valid token of our pool and app client."""


@dataclass(frozen=True)
class CognitoSettings:
    user_pool_id: str
    client_ids: frozenset[str]
    region: str
    #: the Cognito endpoint for JWKS (local mode: the moto server); AWS's when empty
    endpoint: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "CognitoSettings | None":
        pool, clients = env.get("COGNITO_USER_POOL_ID", ""), env.get("COGNITO_CLIENT_ID", "")
        if not pool or not clients:
            return None
        region = env.get("COGNITO_REGION") or pool.split("_", 1)[0]
        return cls(pool, frozenset(c.strip() for c in clients.split(",") if c.strip()), region,
                   env.get("COGNITO_ENDPOINT", "").rstrip("/"))

    @property
    def issuer(self) -> str:
        """Cognito's issuer; moto issues the same (whatever endpoint serves it)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        base = self.endpoint or f"https://cognito-idp.{self.region}.amazonaws.com"
        return f"{base}/{self.user_pool_id}/.well-known/jwks.json"


@dataclass(frozen=True)
class UserClaims:
    sub: str
    token_use: str
    email: str  # ID tokens carry it; access tokens do not ("")
    claims: dict[str, Any]


def http_fetch(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - https (or the local moto server)
        return json.loads(response.read(65536))


def looks_like_jwt(value: str) -> bool:
    return value.startswith("eyJ") and value.count(".") == 2


class TokenVerifier:
    def __init__(self, settings: CognitoSettings, fetch: Callable[[str], dict[str, Any]] = http_fetch,
                 clock: Callable[[], float] = time.time, jwks_ttl: float = 3600.0,
                 refetch_interval: float = 60.0, leeway: int = 30) -> None:
        self.settings = settings
        self._fetch, self._clock = fetch, clock
        self._ttl, self._refetch_interval, self._leeway = jwks_ttl, refetch_interval, leeway
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0

    def _key_set(self, kid: str) -> KeySet:
        with self._lock:
            now = self._clock()
            stale = now - self._fetched_at > self._ttl
            unknown = kid not in self._kids and now - self._fetched_at > self._refetch_interval
            if self._keys is None or stale or unknown:
                try:
                    document = self._fetch(self.settings.jwks_url)
                    keys = KeySet.import_key_set(document)
                except (OSError, ValueError, JoseError, TypeError) as exc:
                    if self._keys is None:
                        raise TokenError(f"the pool's keys could not be fetched: {exc}") from exc
                    keys = self._keys  # keep serving the cached keys through a Cognito hiccup
                else:
                    self.fetches += 1
                self._keys, self._fetched_at = keys, now
                self._kids = frozenset(k.kid for k in keys if k.kid)
            if kid not in self._kids:
                raise TokenError("the token's key is not one of the pool's")
            return self._keys

    def verify(self, token: str) -> UserClaims:
        if not token or len(token) > MAX_TOKEN_BYTES or not looks_like_jwt(token):
            raise TokenError("not a JWT")
        try:
            header = json.loads(base64.urlsafe_b64decode(token.split(".", 1)[0] + "=="))
        except ValueError as exc:
            raise TokenError("malformed header") from exc
        if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise TokenError("the token must be RS256 with a key id")
        keys = self._key_set(header["kid"])
        s = self.settings
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            jwt.JWTClaimsRegistry(
                now=lambda: int(self._clock()), leeway=self._leeway,
                iss={"essential": True, "value": s.issuer},
                sub={"essential": True},
                exp={"essential": True},
                token_use={"essential": True, "values": ["access", "id"]},
            ).validate(decoded.claims)
        except JoseError as exc:
            raise TokenError(f"invalid token: {exc.error}: {exc.description or ''}".strip()) from exc
        claims = decoded.claims
        use = claims["token_use"]
        if use == "access":
            if claims.get("client_id") not in s.client_ids:
                raise TokenError("access token of another app client")
        else:
            aud = claims.get("aud")
            audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            if not any(a in s.client_ids for a in audiences):
                raise TokenError("ID token for another audience")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenError("no subject")
        email = claims.get("email") if use == "id" and isinstance(claims.get("email"), str) else ""
        return UserClaims(claims["sub"], use, email, claims)
