"""Admin actions: invite, change role, remove; API keys; the audit list;
hostile names kept as inert data; workspaces sealed from each other."""
from __future__ import annotations

import json

import pytest

from accounts_support import PASSWORD, call, member, pool  # noqa: F401

ADMIN = "boss@example.com"


@pytest.fixture
def admin(pool, wired):
    """An admin of `acme` signed in; returns their access token."""
    member(wired, "acme", pool.user(ADMIN), ADMIN, "admin")
    return pool.tokens(ADMIN)["AccessToken"]


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.body)
    return json.loads(r.body) if r.body else None


def audit(api, token, workspace="acme", query=""):
    return ok(call(api, "GET", f"/v1/audit{query}", token, workspace))


def sign_in(pool, email, temporary_password=None):
    """What the page does for an invited user: the temporary password, then a new one."""
    if temporary_password:
        pool.cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=email, Password=PASSWORD,
                                             Permanent=True)
    return pool.tokens(email)["AccessToken"]


# Invitations (new and existing accounts, accept / decline / cancel): test_accounts_invitations.py


@pytest.mark.parametrize("body, status", [
    ({"email": "not-an-email", "role": "viewer"}, 422),
    ({"email": "<script>alert(1)</script>@example.com", "role": "viewer"}, 422),
    ({"email": "a@example.com", "role": "owner"}, 422),
    ({"email": "a@example.com", "role": "viewer", "language": "de"}, 422),
    ({"email": "a@example.com", "role": "viewer", "groups": ["admin"]}, 422),
    ({"email": "a@example.com", "role": "viewer", "display_name": "evil\u202egnp.exe"}, 422),
    ({"email": "a@example.com", "role": "viewer", "display_name": "line\nbreak"}, 422),
    ({"email": "a@example.com", "role": "viewer", "display_name": "x" * 101}, 422),
    ({"email": ["a@example.com"], "role": "viewer"}, 422),
    ([], 400),
    (b"not json", 400),
])
def test_invalid_invitations_are_refused(api, pool, admin, body, status):
    r = call(api, "POST", "/v1/members", admin, "acme", body)
    assert r.status_code == status, r.body
    assert len(ok(call(api, "GET", "/v1/members", admin, "acme"))["members"]) == 1


def test_change_role_and_remove_take_effect(api, pool, wired, admin):
    sub = pool.user("eve@example.com")
    member(wired, "acme", sub, "eve@example.com", "viewer")
    token = pool.tokens("eve@example.com")["AccessToken"]
    assert call(api, "GET", "/v1/subscriptions", token, "acme").status_code == 403
    assert ok(call(api, "PATCH", f"/v1/members/{sub}", admin, "acme", {"role": "editor"}))["role"] == "editor"
    assert call(api, "GET", "/v1/subscriptions", token, "acme").status_code == 200
    assert call(api, "PATCH", f"/v1/members/{sub}", admin, "acme", {"role": "root"}).status_code == 422
    ok(call(api, "DELETE", f"/v1/members/{sub}", admin, "acme"), 204)
    assert call(api, "GET", "/v1/campaigns", token, "acme").status_code == 403
    assert ok(call(api, "GET", "/v1/me", token))["workspaces"] == []
    assert call(api, "DELETE", f"/v1/members/{sub}", admin, "acme").status_code == 404
    assert call(api, "PATCH", f"/v1/members/{sub}", admin, "acme", {"role": "viewer"}).status_code == 404


def test_the_last_admin_cannot_be_demoted_or_removed(api, pool, wired, admin):
    me = ok(call(api, "GET", "/v1/me", admin))["user_id"]
    for method, body in (("PATCH", {"role": "editor"}), ("DELETE", None)):
        r = call(api, method, f"/v1/members/{me}", admin, "acme", body)
        assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "last_admin"
    other = pool.user("second@example.com")
    member(wired, "acme", other, "second@example.com", "admin")
    ok(call(api, "PATCH", f"/v1/members/{me}", admin, "acme", {"role": "editor"}))
    assert call(api, "GET", "/v1/members", admin, "acme").status_code == 403  # no longer admin


def test_api_keys_created_once_listed_and_revoked(api, pool, admin, aws):
    created = ok(call(api, "POST", "/v1/keys", admin, "acme", {"scopes": ["ingest"], "label": "producer"}), 201)
    key, key_id = created["key"], created["key_id"]
    assert created["scopes"] == ["ingest"] and created["label"] == "producer"
    r = api.client.http.post("/v1/events", headers={"Authorization": f"Bearer {key}",
                                                    "Content-Type": "application/json"}, body=b'{"events":[]}')
    assert r.status_code not in (401, 403)
    listed = ok(call(api, "GET", "/v1/keys", admin, "acme"))["keys"]
    assert [k["key_id"] for k in listed] == [key_id] and "key" not in listed[0]
    assert key not in json.dumps(listed) and key not in json.dumps(aws.scan(TableName="livereport-test")["Items"], default=str)
    ok(call(api, "DELETE", f"/v1/keys/{key_id}", admin, "acme"), 204)
    assert api.get("/v1/campaigns", key).status_code == 401
    assert ok(call(api, "GET", "/v1/keys", admin, "acme"))["keys"][0]["revoked"] is True
    assert call(api, "DELETE", "/v1/keys/k_ffffffffffff", admin, "acme").status_code == 404
    assert call(api, "DELETE", "/v1/keys/../../x", admin, "acme").status_code in (403, 404)
    for bad in ({"scopes": ["root"]}, {"scopes": []}, {"scopes": "read"}, {"scopes": ["read"], "label": "\x00"}):
        assert call(api, "POST", "/v1/keys", admin, "acme", bad).status_code == 422, bad


def test_an_admin_key_manages_members_and_keys(api, pool):
    key = api.key("acme", ("admin",))
    body = ok(call(api, "POST", "/v1/members", key, None, {"email": "first@example.com", "role": "admin"}), 201)
    assert body["invited_by"].startswith("k_") and body["status"] == "pending"
    minted = ok(call(api, "POST", "/v1/keys", key, None, {"scopes": ["read"]}), 201)["key"]
    assert api.get("/v1/campaigns", minted).status_code == 200
    assert api.get("/v1/campaigns", key).status_code == 403  # admin does not imply read for keys
    entries = audit(api, key, None)["entries"]
    assert [e["action"] for e in entries] == ["key.created", "member.invited"]
    assert all(e["actor"]["kind"] == "key" and e["actor"]["id"].startswith("k_") for e in entries)


def test_every_admin_action_is_audited(api, pool, wired, admin):
    from webhook_support import HOST
    invitation = ok(call(api, "POST", "/v1/members", admin, "acme", {"email": "bob@example.com", "role": "viewer"}),
                    201)
    bob = sign_in(pool, "bob@example.com", temporary_password=True)
    sub = ok(call(api, "POST", "/v1/me/invitations/acme/accept", bob, body={}))["user_id"]
    ok(call(api, "PATCH", f"/v1/members/{sub}", admin, "acme", {"role": "editor"}))
    ok(call(api, "DELETE", f"/v1/members/{sub}", admin, "acme"), 204)
    key_id = ok(call(api, "POST", "/v1/keys", admin, "acme", {"scopes": ["read"], "label": "bi"}), 201)["key_id"]
    ok(call(api, "DELETE", f"/v1/keys/{key_id}", admin, "acme"), 204)
    source = ok(call(api, "POST", "/v1/sources", admin, "acme",
                     {"platform": "mailgun", "credentials": {"signing_key": "k" * 32}},
                     headers={"Host": HOST, "X-Forwarded-Proto": "https"}), 201)
    ok(call(api, "DELETE", f"/v1/sources/{source['id']}", admin, "acme"), 204)
    # a failed action writes nothing
    assert call(api, "POST", "/v1/members", admin, "acme", {"email": "bad", "role": "viewer"}).status_code == 422
    page = audit(api, admin)
    assert [e["action"] for e in page["entries"]] == [
        "source.deleted", "source.created", "key.revoked", "key.created",
        "member.removed", "member.role_changed", "member.joined", "member.invited"]
    by_admin = [e for e in page["entries"] if e["action"] != "member.joined"]
    assert all(e["actor"] == {"kind": "user", "id": page["entries"][0]["actor"]["id"], "email": ADMIN}
               for e in by_admin)
    joined = page["entries"][-2]
    assert joined["actor"] == {"kind": "user", "id": sub, "email": "bob@example.com"} and joined["target"] == sub
    times = [e["at"] for e in page["entries"]]
    assert times == sorted(times, reverse=True)
    invited = page["entries"][-1]
    assert invited["target"] == invitation["invitation_id"] and invited["detail"] == {
        "email": "bob@example.com", "role": "viewer", "display_name": "", "language": "en"}
    assert page["entries"][-3]["detail"] == {"email": "bob@example.com", "from": "viewer", "to": "editor"}
    assert page["entries"][3]["detail"] == {"label": "bi", "scopes": ["read"]}
    first = audit(api, admin, query="?limit=3")
    assert len(first["entries"]) == 3 and first["next"]
    from urllib.parse import quote
    rest = audit(api, admin, query=f"?limit=10&before={quote(first['next'])}")
    assert [e["id"] for e in first["entries"] + rest["entries"]] == [e["id"] for e in page["entries"]]
    assert call(api, "GET", "/v1/audit?limit=0", admin, "acme").status_code == 400
    assert call(api, "GET", "/v1/audit?before=%3Cx%3E", admin, "acme").status_code == 400


HOSTILE = ['<img src=x onerror="alert(1)">', '"><script>alert(document.cookie)</script>',
           "{{constructor.constructor('alert(1)')()}}", "Robert'); DROP TABLE members;--", "👩‍💻 Zoë"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_stored_and_returned_as_inert_data(api, pool, admin, name):
    email = "o%hara+tag_1@example.com"  # what moto's username check lets through (AWS allows more)
    r = call(api, "POST", "/v1/members", admin, "acme", {"email": email, "role": "viewer", "display_name": name})
    body = ok(r, 201)
    assert body["display_name"] == name and body["email"] == email
    assert r.headers["Content-Type"] == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
    r = call(api, "GET", "/v1/invitations", admin, "acme")
    assert r.headers["Content-Type"] == "application/json"
    listed = {m["email"]: m for m in json.loads(r.body)["invitations"]}
    assert listed[email]["display_name"] == name
    entry = audit(api, admin)["entries"][0]
    assert entry["detail"]["display_name"] == name
    created = ok(call(api, "POST", "/v1/keys", admin, "acme", {"scopes": ["read"], "label": name}), 201)
    assert created["label"] == name


def test_workspaces_are_sealed(api, pool, wired, admin):
    outsider = pool.user("rival@example.com")
    member(wired, "globex", outsider, "rival@example.com", "admin")
    globex_key_id, globex_key = wired.keys.create("globex", ["read"])
    # the acme admin names globex: not a member there
    for method, path, body in (("GET", "/v1/members", None), ("GET", "/v1/keys", None), ("GET", "/v1/audit", None),
                               ("POST", "/v1/keys", {"scopes": ["read"]}), ("GET", "/v1/campaigns", None)):
        assert call(api, method, path, admin, "globex", body).status_code == 403, path
    # ids of globex's members and keys mean nothing in acme
    assert call(api, "DELETE", f"/v1/members/{outsider}", admin, "acme").status_code == 404
    assert call(api, "PATCH", f"/v1/members/{outsider}", admin, "acme", {"role": "viewer"}).status_code == 404
    assert call(api, "DELETE", f"/v1/keys/{globex_key_id}", admin, "acme").status_code == 404
    assert api.get("/v1/campaigns", globex_key).status_code == 200
    rival = pool.tokens("rival@example.com")["AccessToken"]
    assert [m["email"] for m in ok(call(api, "GET", "/v1/members", rival, "globex"))["members"]] == ["rival@example.com"]
    assert globex_key_id not in json.dumps(ok(call(api, "GET", "/v1/keys", admin, "acme")))
    assert audit(api, rival, "globex")["entries"] == []
    # a key is bound to its workspace whatever X-Workspace says
    acme_admin_key = api.key("acme", ("admin",))
    r = call(api, "GET", "/v1/members", acme_admin_key, "globex")
    assert r.status_code == 403 and "another workspace" in json.loads(r.body)["error"]["message"]
    # user-supplied workspace names are only ever looked up among the caller's memberships
    for name in ("acme#MEMBERS", "USER#x", "../globex", "GLOBEX"):
        assert call(api, "GET", "/v1/members", admin, name).status_code == 403


def test_alert_targets_follow_the_role(api, pool, wired):
    tokens = {}
    for role in ("viewer", "editor"):
        email = f"{role}2@example.com"
        member(wired, "acme", pool.user(email), email, role)
        tokens[role] = pool.tokens(email)["AccessToken"]
    assert ok(call(api, "GET", "/v1/alerts", tokens["viewer"], "acme"))["can_manage"] is False
    assert ok(call(api, "GET", "/v1/alerts", tokens["editor"], "acme"))["can_manage"] is True
    assert call(api, "GET", "/v1/alerts", tokens["editor"], "globex").status_code == 403


def test_two_admins_demoting_each_other_at_once_leave_one(api, pool, wired):
    """The guard is checked when the change commits, not only before it."""
    from chalicelib.accounts.members import MembershipError, MembershipStore
    store = MembershipStore(wired.client, wired.config.table_name)
    a, b = pool.user("a1@example.com"), pool.user("b1@example.com")
    member(wired, "acme", a, "a1@example.com", "admin")
    member(wired, "acme", b, "b1@example.com", "admin")
    guard_a = store._another_admin("acme", a)  # a's request reads "b is still admin"...
    store.set_role("acme", b, "viewer")  # ...then b is demoted (b's guard: a is admin)
    # a's demotion, built on that stale read, must fail when it commits
    store._another_admin = lambda workspace, user_id: guard_a  # type: ignore[method-assign]
    with pytest.raises(MembershipError) as caught:
        store.set_role("acme", a, "viewer")
    assert caught.value.code == "last_admin"
    assert {m.user_id: m.role for m in MembershipStore(wired.client, wired.config.table_name).members("acme")} == {
        a: "admin", b: "viewer"}
