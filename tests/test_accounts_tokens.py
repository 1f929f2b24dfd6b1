"""The authorizer with Cognito tokens: valid ones pass, expired, forged,
wrong-audience and other-pool ones get 401; the JWKS is cached."""
from __future__ import annotations

import json
import time

import pytest
from joserfc.jwk import OctKey

from accounts_support import call, create_pool, forged_key, member, moto_jwks, moto_private_key, pool, sign  # noqa: F401
from chalicelib.accounts.tokens import CognitoSettings, TokenError, TokenVerifier

EMAIL = "ana@example.com"


@pytest.fixture
def ana(pool, wired):
    sub = pool.user(EMAIL)
    member(wired, "acme", sub, EMAIL, "viewer")
    return sub


def me(api, token, workspace=None):
    return call(api, "GET", "/v1/me", token, workspace)


def test_access_and_id_tokens_of_the_pool_are_accepted(api, pool, ana):
    tokens = pool.tokens(EMAIL)
    for name in ("AccessToken", "IdToken"):
        r = me(api, tokens[name])
        assert r.status_code == 200, r.body
        body = json.loads(r.body)
        assert body == {"kind": "user", "user_id": ana, "email": EMAIL, "display_name": "",
                        "workspaces": [{"workspace": "acme", "role": "viewer", "scopes": ["read"]}], "invitations": []}
        assert call(api, "GET", "/v1/campaigns", tokens[name], "acme").status_code == 200


def test_expired_token_is_401(api, pool, ana):
    past = int(time.time()) - 7200
    token = sign(pool.claims(ana, iat=past, auth_time=past, exp=past + 3600), moto_private_key())
    assert me(api, token).status_code == 401
    assert call(api, "GET", "/v1/campaigns", token, "acme").status_code == 401


def test_forged_tokens_are_401(api, pool, ana):
    good = sign(pool.claims(ana), moto_private_key())
    assert me(api, good).status_code == 200
    # signed by another key under the pool's key id
    assert me(api, sign(pool.claims(ana), forged_key())).status_code == 401
    # the pool's signature over another payload (the subject swapped)
    header, payload, signature = good.split(".")
    other = sign(pool.claims("someone-else"), forged_key()).split(".")[1]
    assert me(api, f"{header}.{other}.{signature}").status_code == 401
    # no signature, or an HMAC "signed" with the public key (algorithm confusion)
    assert me(api, f"{header}.{payload}.").status_code == 401
    none_header = "eyJhbGciOiJub25lIiwia2lkIjoiZHVtbXkifQ"  # {"alg":"none","kid":"dummy"}
    assert me(api, f"{none_header}.{payload}.").status_code == 401
    public = json.dumps(moto_jwks()["keys"][0]).encode()
    assert me(api, sign(pool.claims(ana), OctKey.import_key(public), alg="HS256")).status_code == 401


def test_wrong_audience_is_401(api, pool, ana):
    other_client = pool.cognito.create_user_pool_client(
        UserPoolId=pool.pool_id, ClientName="another-app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    tokens = pool.tokens(EMAIL, client_id=other_client)
    assert me(api, tokens["AccessToken"]).status_code == 401
    assert me(api, tokens["IdToken"]).status_code == 401
    id_claims = {**pool.claims(ana), "token_use": "id", "aud": "not-our-client", "email": EMAIL}
    del id_claims["client_id"]
    assert me(api, sign(id_claims, moto_private_key())).status_code == 401


def test_another_pools_token_is_401(api, pool, ana):
    other = create_pool(pool.cognito, "someone-elses-pool")
    other.user(EMAIL)  # same email, same moto signing key: only iss (and client) differ
    tokens = other.tokens(EMAIL)
    assert me(api, tokens["AccessToken"]).status_code == 401
    assert me(api, tokens["IdToken"]).status_code == 401
    # even with our client id in it, another issuer is refused
    assert me(api, sign({**pool.claims(ana), "iss": other.issuer}, moto_private_key())).status_code == 401


@pytest.mark.parametrize("change", [
    {"token_use": "refresh"}, {"token_use": None}, {"sub": None}, {"exp": None}, {"iss": None},
    {"client_id": None}, {"nbf": 9999999999}])
def test_tokens_missing_or_bending_claims_are_401(api, pool, ana, change):
    claims = {k: v for k, v in {**pool.claims(ana), **change}.items() if v is not None}
    assert me(api, sign(claims, moto_private_key())).status_code == 401


def test_without_a_configured_pool_tokens_are_401(api, wired, monkeypatch):
    monkeypatch.delenv("COGNITO_USER_POOL_ID", raising=False)
    token = sign({"iss": "x", "sub": "y", "token_use": "access", "exp": int(time.time()) + 60}, moto_private_key())
    assert me(api, token).status_code == 401


def test_a_user_without_membership_is_known_but_forbidden(api, pool):
    pool.user("nobody@example.com")
    token = pool.tokens("nobody@example.com")["AccessToken"]
    body = json.loads(me(api, token).body)
    assert body["workspaces"] == [] and body["email"] == ""  # an access token carries no email
    assert json.loads(me(api, pool.tokens("nobody@example.com")["IdToken"]).body)["email"] == "nobody@example.com"
    for workspace in (None, "acme"):
        r = call(api, "GET", "/v1/campaigns", token, workspace)
        assert r.status_code == 403, r.body


# --- the verifier alone: JWKS caching -------------------------------------------------

def _settings():
    return CognitoSettings("eu-west-1_abc", frozenset({"client"}), "eu-west-1")


def _claims(**extra):
    now = int(time.time())
    return {"iss": _settings().issuer, "sub": "u1", "client_id": "client", "token_use": "access",
            "iat": now, "exp": now + 600, **extra}


def test_jwks_is_fetched_once_and_cached():
    fetched = []
    verifier = TokenVerifier(_settings(), fetch=lambda url: fetched.append(url) or moto_jwks())
    token = sign(_claims(), moto_private_key())
    for _ in range(20):
        assert verifier.verify(token).sub == "u1"
    assert fetched == ["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"]


def test_unknown_key_ids_refetch_at_most_once_per_interval():
    clock = [time.time()]
    verifier = TokenVerifier(_settings(), fetch=lambda url: moto_jwks(), clock=lambda: clock[0],
                             refetch_interval=60)
    assert verifier.verify(sign(_claims(), moto_private_key())).sub == "u1"
    for _ in range(10):
        with pytest.raises(TokenError):
            verifier.verify(sign(_claims(), forged_key(), kid="rotated"))
    assert verifier.fetches == 1
    clock[0] += 61
    with pytest.raises(TokenError):
        verifier.verify(sign(_claims(), forged_key(), kid="rotated"))
    assert verifier.fetches == 2


def test_a_jwks_outage_keeps_the_cached_keys():
    calls = {"n": 0}
    clock = [time.time()]

    def fetch(url):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError("cognito unreachable")
        return moto_jwks()

    verifier = TokenVerifier(_settings(), fetch=fetch, clock=lambda: clock[0], jwks_ttl=10)
    token = sign(_claims(exp=10**10), moto_private_key())
    verifier.verify(token)
    clock[0] += 100.0
    assert verifier.verify(token).sub == "u1"


def test_settings_from_env():
    assert CognitoSettings.from_env({}) is None
    s = CognitoSettings.from_env({"COGNITO_USER_POOL_ID": "us-east-2_X", "COGNITO_CLIENT_ID": "a, b",
                                  "COGNITO_ENDPOINT": "http://127.0.0.1:5000/"})
    assert s.region == "us-east-2" and s.client_ids == {"a", "b"}
    assert s.jwks_url == "http://127.0.0.1:5000/us-east-2_X/.well-known/jwks.json"
    assert s.issuer == "https://cognito-idp.us-east-2.amazonaws.com/us-east-2_X"
