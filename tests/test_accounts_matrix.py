"""The role matrix on every route: viewer, editor, admin and a user without
membership in the workspace, plus API keys of each scope and no caller.

Routes are enumerated from the app, so a new route fails here until it is
given a required scope in REQUIRED (or declared public).
"""
from __future__ import annotations

import pytest

from accounts_support import call, member, pool  # noqa: F401
from chalicelib.accounts.roles import ROLES, key_scopes, role_scopes
from chalicelib.auth import SCOPES

#: (method, path) -> the effective scope the route requires (or a tuple of
#: scopes, any of which is enough); "caller": any authenticated caller (key or
#: user, member or not); "user": any signed-in person, member or not (keys: 403).
REQUIRED = {
    ("POST", "/v1/events"): "ingest",
    ("GET", "/v1/campaigns"): "read",
    ("GET", "/v1/campaigns/{campaign_id}/live"): "read",
    ("GET", "/v1/campaigns/{campaign_id}/live.csv"): "read",
    ("GET", "/v1/campaigns/{campaign_id}/report"): "read",
    ("GET", "/v1/campaigns/{campaign_id}/report.csv"): "read",
    ("GET", "/v1/campaigns/{campaign_id}/stamp"): "read",
    ("GET", "/v1/campaigns/{campaign_id}/experiment"): "read",
    ("GET", "/v1/campaigns/{campaign_id}/experiments/{channel}"): "read",
    ("PUT", "/v1/campaigns/{campaign_id}/experiments/{channel}"): "manage",
    # alert badges: read, or manage (which also shows recipients and webhook URLs)
    ("GET", "/v1/alerts"): ("read", "manage"),
    ("GET", "/v1/alerts/{alert_id}/history"): ("read", "manage"),
    ("POST", "/v1/alerts"): "manage",
    ("DELETE", "/v1/alerts/{alert_id}"): "manage",
    ("POST", "/v1/subscriptions"): "subscriptions",
    ("GET", "/v1/subscriptions"): "subscriptions",
    ("DELETE", "/v1/subscriptions/{subscription_id}"): "subscriptions",
    ("POST", "/v1/subscriptions/{subscription_id}/test"): "subscriptions",
    ("POST", "/v1/sources"): "sources",
    ("GET", "/v1/sources"): "sources",
    ("DELETE", "/v1/sources/{source_id}"): "sources",
    ("POST", "/v1/sources/{source_id}/test"): "sources",
    ("GET", "/v1/me"): "caller",
    ("PATCH", "/v1/me"): "user",
    ("POST", "/v1/me/invitations/{workspace}/accept"): "user",
    ("POST", "/v1/me/invitations/{workspace}/decline"): "user",
    ("GET", "/v1/invitations"): "admin",
    ("DELETE", "/v1/invitations/{invitation_id}"): "admin",
    ("GET", "/v1/members"): "admin",
    ("POST", "/v1/members"): "admin",
    ("PATCH", "/v1/members/{user_id}"): "admin",
    ("DELETE", "/v1/members/{user_id}"): "admin",
    ("GET", "/v1/keys"): "admin",
    ("POST", "/v1/keys"): "admin",
    ("DELETE", "/v1/keys/{key_id}"): "admin",
    ("GET", "/v1/audit"): "admin",
}
#: No authorizer on purpose: documents, health, signed unsubscribe and confirm links, platform-signed webhooks.
PUBLIC = {("GET", "/v1/catalogue"), ("GET", "/v1/openapi.json"), ("GET", "/v1/health"),
          *((method, path) for method in ("GET", "HEAD", "POST") for path in ("/v1/unsubscribe", "/v1/consent")),
          ("POST", "/v1/webhooks/{platform}/{source_id}")}
SAMPLES = {"campaign_id": "c1", "channel": "email", "alert_id": "a_nope", "subscription_id": "s_nope",
           "source_id": "src_nope", "user_id": "00000000-0000-0000-0000-000000000000", "key_id": "k_000000000000",
           "invitation_id": "inv_0000000000000000", "workspace": "acme"}


def app_routes() -> dict[tuple[str, str], object]:
    import app as app_module
    return {(method, path): entry for path, methods in app_module.app.routes.items()
            for method, entry in methods.items()}


def concrete(path: str) -> str:
    for name, value in SAMPLES.items():
        path = path.replace("{" + name + "}", value)
    return path + ("?channel=email" if "/campaigns/" in path else "")


def grants(required, scopes) -> bool:
    alternatives = required if isinstance(required, tuple) else (required,)
    return required == "caller" or any(s in scopes for s in alternatives)


def request(api, method, path, token, workspace=None):
    body = {} if method in ("POST", "PATCH", "PUT") else None
    return call(api, method, concrete(path), token, workspace, body)


def test_every_route_is_in_the_matrix_or_public():
    routes = app_routes()
    assert set(routes) == set(REQUIRED) | PUBLIC, (set(routes) ^ (set(REQUIRED) | PUBLIC))
    for key, entry in routes.items():
        assert (entry.authorizer is None) == (key in PUBLIC), key


@pytest.fixture
def people(api, pool, wired):
    tokens = {}
    for role in ROLES:
        email = f"{role}@example.com"
        member(wired, "acme", pool.user(email), email, role)
        tokens[role] = pool.tokens(email)["AccessToken"]
    outsider = pool.user("outsider@example.com")
    member(wired, "elsewhere", outsider, "outsider@example.com", "admin")
    tokens["none"] = pool.tokens("outsider@example.com")["AccessToken"]
    return tokens


@pytest.mark.parametrize("route", sorted(REQUIRED), ids=lambda r: f"{r[0]} {r[1]}")
def test_role_matrix(api, people, route):
    method, path = route
    required = REQUIRED[route]
    for role in (*ROLES, "none"):
        r = request(api, method, path, people[role], "acme")
        allowed = required in ("caller", "user") or (role != "none" and grants(required, role_scopes(role)))
        if allowed:
            assert r.status_code not in (401, 403), (role, route, r.status_code, r.body)
        else:
            assert r.status_code == 403, (role, route, r.status_code, r.body)


@pytest.mark.parametrize("route", sorted(REQUIRED), ids=lambda r: f"{r[0]} {r[1]}")
def test_key_scope_matrix(api, route):
    method, path = route
    required = REQUIRED[route]
    for scope in SCOPES:
        r = request(api, method, path, api.key("acme", (scope,)))
        allowed = grants(required, key_scopes({scope}))
        if allowed:
            assert r.status_code not in (401, 403), (scope, route, r.status_code, r.body)
        else:
            assert r.status_code == 403, (scope, route, r.status_code, r.body)
    assert request(api, method, path, "lr_unknown").status_code == 401
    assert api.client.http.request(method, concrete(path), headers={}, body=b"").status_code == 401


def test_keys_keep_the_rights_they_had_before_accounts():
    assert key_scopes({"read"}) == {"read"}  # read keys go to agencies: no subscriptions (issue 12)
    assert key_scopes({"manage"}) >= {"manage", "subscriptions", "sources"}
    assert "admin" not in key_scopes({"ingest", "read", "manage"})
    assert role_scopes("editor") == {"read", "subscriptions", "manage"}
    assert "ingest" not in role_scopes("admin") and "admin" not in role_scopes("editor")
