"""Cognito on moto for the account tests: a pool, its app client, users with
real moto-issued tokens, and a verifier fed the pool's JWKS without HTTP.

moto signs every pool's tokens with one fixed RSA key (kid "dummy", public
part in moto/cognitoidp/resources/jwks-public.json); pools differ by `iss`.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

REGION = "eu-west-1"
PASSWORD = "Corr3ct-Horse-Battery!"


def moto_jwks() -> dict[str, Any]:
    from moto.utilities.utils import load_resource
    return load_resource("cognitoidp/resources/jwks-public.json")


def moto_private_key() -> RSAKey:
    from moto.utilities.utils import load_resource
    return RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def sign(claims: dict[str, Any], key: RSAKey, kid: str = "dummy", alg: str = "RS256") -> str:
    return jwt.encode({"kid": kid, "alg": alg}, claims, key)


@dataclass
class Pool:
    cognito: Any
    pool_id: str
    client_id: str
    outbox: Any = None  # where invitations land (the pool fixture)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def user(self, email: str, password: str = PASSWORD) -> str:
        """Create a confirmed user; returns their sub."""
        self.cognito.admin_create_user(UserPoolId=self.pool_id, Username=email, MessageAction="SUPPRESS",
                                       UserAttributes=[{"Name": "email", "Value": email},
                                                       {"Name": "email_verified", "Value": "true"}])
        self.cognito.admin_set_user_password(UserPoolId=self.pool_id, Username=email, Password=password,
                                             Permanent=True)
        attrs = self.cognito.admin_get_user(UserPoolId=self.pool_id, Username=email)["UserAttributes"]
        return next(a["Value"] for a in attrs if a["Name"] == "sub")

    def tokens(self, email: str, password: str = PASSWORD, client_id: str | None = None) -> dict[str, str]:
        result = self.cognito.initiate_auth(ClientId=client_id or self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                            AuthParameters={"USERNAME": email, "PASSWORD": password})
        return result["AuthenticationResult"]

    def claims(self, sub: str, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "sub": sub, "client_id": self.client_id, "token_use": "access",
                "iat": now, "auth_time": now, "exp": now + 3600, "username": sub, **extra}


def create_pool(cognito: Any, name: str = "livereport-test-users") -> Pool:
    pool_id = cognito.create_user_pool(
        PoolName=name, UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                                     "RequireNumbers": True, "RequireSymbols": True}})["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return Pool(cognito, pool_id, client_id)


@pytest.fixture
def pool(aws, monkeypatch, tmp_path):
    """A moto pool wired into the app: env as in AWS, the verifier fed moto's JWKS. Invitations
    behave as in local mode (infra/local/accounts.py): a temporary password, and the email the
    pool's custom-message trigger writes, as an .eml file in `pool.outbox`."""
    import boto3

    import app as app_module
    from chalicelib.accounts.tokens import CognitoSettings, TokenVerifier
    from infra.local.accounts import serve_invitations
    serve_invitations(tmp_path / "outbox")
    p = create_pool(boto3.client("cognito-idp", region_name=REGION))
    p.outbox = tmp_path / "outbox"
    monkeypatch.setenv("COGNITO_USER_POOL_ID", p.pool_id)
    monkeypatch.setenv("COGNITO_CLIENT_ID", p.client_id)
    monkeypatch.setenv("COGNITO_REGION", REGION)
    settings = CognitoSettings.from_env({"COGNITO_USER_POOL_ID": p.pool_id, "COGNITO_CLIENT_ID": p.client_id,
                                         "COGNITO_REGION": REGION})
    verifier = TokenVerifier(settings, fetch=lambda url: moto_jwks())
    monkeypatch.setattr(app_module, "_verifiers", {settings: verifier})
    return p


def member(wired: Any, workspace: str, sub: str, email: str, role: str) -> None:
    from chalicelib.accounts.members import Member, MembershipStore
    MembershipStore(wired.client, wired.config.table_name).add(
        Member(workspace, sub, email, "", role, int(time.time()), "test"))


def call(api: Any, method: str, path: str, token: str, workspace: str | None = None, body: Any = None,
         headers: dict[str, str] | None = None) -> Any:
    h = {"Authorization": f"Bearer {token}", **(headers or {})}
    if workspace is not None:
        h["X-Workspace"] = workspace
    raw = b""
    if body is not None:
        h["Content-Type"] = "application/json"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.client.http.request(method, path, headers=h, body=raw)


def forged_key() -> RSAKey:
    return RSAKey.generate_key(2048)


__all__ = ["Pool", "call", "create_pool", "forged_key", "member", "moto_jwks", "moto_private_key",
           "pool", "sign"]
