"""Invitations (issue 19 point 8): the admin learns nothing about the person's account, nobody joins
a workspace without accepting, only the user names themselves; the invitation email says who, where,
which role and links to the dashboard (the Cognito custom-message trigger, and SES for existing accounts)."""
from __future__ import annotations

import email
import json
import time
from email import policy

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import app as app_module
from accounts_support import PASSWORD, call, member, pool  # noqa: F401

ADMIN = "boss@example.com"
DASHBOARD = "https://dash.example/app/"


@pytest.fixture
def admin(api, pool, wired, monkeypatch):
    """An admin of `acme` named "Bea Boss", signed in; SES and the dashboard's URL as in AWS."""
    import boto3
    monkeypatch.setenv("DASHBOARD_URL", DASHBOARD)
    monkeypatch.setenv("LIVEREPORT_ENV", "test")
    monkeypatch.setenv("SENDER_EMAIL", "reports@example.com")
    ses = boto3.client("sesv2", region_name="eu-west-1")
    ses.create_email_identity(EmailIdentity="reports@example.com")
    monkeypatch.setattr(app_module, "_ses_client", lambda: ses)
    sub = pool.user(ADMIN)
    member(wired, "acme", sub, ADMIN, "admin")
    token = pool.tokens(ADMIN)["AccessToken"]
    ok(call(api, "PATCH", "/v1/me", token, body={"display_name": "Bea Boss"}))
    return token


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.body)
    return json.loads(r.body) if r.body else None


def invite(api, token, email_, role="viewer", **extra):
    return call(api, "POST", "/v1/members", token, "acme", {"email": email_, "role": role, **extra})


def first_sign_in(pool, email_):
    """The invited person signs in with the emailed temporary password and chooses theirs."""
    pool.cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=email_, Password=PASSWORD, Permanent=True)
    return pool.tokens(email_)["AccessToken"]


def eml(pool, email_):
    found = sorted(pool.outbox.glob(f"invitation-{email_}-*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in found]


def ses_messages():
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)


def test_a_new_person_is_invited_by_name_and_joins_only_by_accepting(api, pool, admin):
    body = ok(invite(api, admin, "  New.Person@Example.com ", "editor", display_name="New Person",
                     language="fr"), 201)
    assert body["email"] == "new.person@example.com" and body["role"] == "editor" and body["status"] == "pending"
    assert "invited" not in body and "user_id" not in body and body["invitation_id"].startswith("inv_")
    assert body["expires_at"] - body["invited_at"] == 7 * 86400
    # not a member yet: the invitation is listed apart
    assert [m["email"] for m in ok(call(api, "GET", "/v1/members", admin, "acme"))["members"]] == [ADMIN]
    assert [i["email"] for i in ok(call(api, "GET", "/v1/invitations", admin, "acme"))["invitations"]] == [
        "new.person@example.com"]
    # the email the pool's trigger wrote: inviter, workspace, role, link, temporary password, in French
    (message,) = eml(pool, "new.person@example.com")
    assert message["Subject"] == "Bea Boss (boss@example.com) vous invite dans l'espace acme"
    text = message.get_body(("plain",)).get_content().replace("\u00a0", " ")
    html = message.get_body(("html",)).get_content()
    assert "rejoindre l'espace « acme » avec le rôle éditeur" in text
    assert f"{DASHBOARD}?ws=acme" in text and f'href="{DASHBOARD}?ws=acme"' in html
    assert 'name="viewport"' in html and "max-width:560px" in html
    assert "new.person@example.com" in text and "mot de passe temporaire" in text
    token = first_sign_in(pool, "new.person@example.com")
    me = ok(call(api, "GET", "/v1/me", token))
    assert me["workspaces"] == [] and [(i["workspace"], i["role"]) for i in me["invitations"]] == [("acme", "editor")]
    assert me["invitations"][0]["inviter"] == "Bea Boss (boss@example.com)"
    assert call(api, "GET", "/v1/campaigns", token, "acme").status_code == 403  # not before accepting
    me = ok(call(api, "POST", "/v1/me/invitations/acme/accept", token, body={}))
    assert me["workspaces"] == [{"workspace": "acme", "role": "editor", "scopes": ["manage", "read", "subscriptions"]}]
    assert me["invitations"] == [] and me["display_name"] == "New Person"  # a new account takes the suggestion
    assert call(api, "GET", "/v1/subscriptions", token, "acme").status_code == 200
    assert ok(call(api, "GET", "/v1/invitations", admin, "acme"))["invitations"] == []
    joined = ok(call(api, "GET", "/v1/audit", admin, "acme"))["entries"][0]
    assert joined["action"] == "member.joined" and joined["actor"]["email"] == "new.person@example.com"


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(api, pool, wired, admin):
    existing = pool.user("known@example.com")
    member(wired, "globex", existing, "known@example.com", "admin")
    new = ok(invite(api, admin, "unknown@example.com"), 201)
    old = ok(invite(api, admin, "known@example.com"), 201)
    assert set(new) == set(old) and {k: type(v) for k, v in new.items()} == {k: type(v) for k, v in old.items()}
    assert {k: v for k, v in new.items() if k not in ("invitation_id", "email", "invited_at", "expires_at")} == \
        {k: v for k, v in old.items() if k not in ("invitation_id", "email", "invited_at", "expires_at")}
    entries = ok(call(api, "GET", "/v1/audit", admin, "acme"))["entries"][:2]
    assert [set(e["detail"]) for e in entries] == [{"email", "role", "display_name", "language"}] * 2
    listed = ok(call(api, "GET", "/v1/invitations", admin, "acme"))["invitations"]
    assert [set(i) for i in listed] == [set(new)] * 2
    # both are invited by email: Cognito's for the new account, the service's (SES, within a minute) for the other
    assert eml(pool, "unknown@example.com") and not eml(pool, "known@example.com")
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                detail={}, resources=[])
    summary = api.client.lambda_.invoke("send_queued_emails", event).payload  # the schedule, as in AWS
    assert summary["sent"] == 1
    (sent,) = [m for m in ses_messages() if "known@example.com" in m.destinations[0]]
    message = email.message_from_string(sent.raw_data, policy=policy.default)
    assert message["Subject"] == "Bea Boss (boss@example.com) invited you to workspace acme"
    text = message.get_body(("plain",)).get_content()
    assert "join the workspace “acme” as viewer" in text and "usual email and password" in text
    assert "temporary password" not in text and f"{DASHBOARD}?ws=acme" in text
    assert app_module.mailer_for().run(time.time()).summary()["sent"] == 0  # once


def test_an_existing_user_joins_only_by_accepting_and_keeps_their_own_name(api, pool, wired, admin):
    sub = pool.user("multi@example.com")
    member(wired, "globex", sub, "multi@example.com", "admin")
    token = pool.tokens("multi@example.com")["AccessToken"]
    ok(call(api, "PATCH", "/v1/me", token, body={"display_name": "Mia Own"}))
    ok(invite(api, admin, "multi@example.com", "viewer", display_name="Renamed By Admin"), 201)
    me = ok(call(api, "GET", "/v1/me", token))
    assert [w["workspace"] for w in me["workspaces"]] == ["globex"] and me["display_name"] == "Mia Own"
    assert call(api, "GET", "/v1/campaigns", token, "acme").status_code == 403
    me = ok(call(api, "POST", "/v1/me/invitations/acme/accept", token, body={}))
    assert {w["workspace"]: w["role"] for w in me["workspaces"]} == {"acme": "viewer", "globex": "admin"}
    assert me["display_name"] == "Mia Own"
    members = {m["email"]: m for m in ok(call(api, "GET", "/v1/members", admin, "acme"))["members"]}
    assert members["multi@example.com"]["display_name"] == "Mia Own"  # never the admin's suggestion
    assert invite(api, admin, "multi@example.com").status_code == 409  # already a member
    # the name is the user's: they change it everywhere at once; an admin cannot
    ok(call(api, "PATCH", "/v1/me", token, body={"display_name": "Mia M."}))
    for ws, who in (("acme", admin), ("globex", token)):
        listed = {m["email"]: m for m in ok(call(api, "GET", "/v1/members", who, ws))["members"]}
        assert listed["multi@example.com"]["display_name"] == "Mia M."
    r = call(api, "PATCH", f"/v1/members/{sub}", admin, "acme", {"role": "viewer", "display_name": "X"})
    assert r.status_code == 422 and "display_name" in json.loads(r.body)["error"]["message"]
    for bad in ({"display_name": "line\nbreak"}, {"display_name": "x" * 101}, {"name": "x"}, []):
        assert call(api, "PATCH", "/v1/me", token, body=bad).status_code == 422, bad
    assert call(api, "PATCH", "/v1/me", api.key("acme", ("admin",)), body={"display_name": "k"}).status_code == 403


def test_decline_cancel_and_nobody_else_can_answer(api, pool, wired, admin):
    a, b = pool.user("ann@example.com"), pool.user("ben@example.com")
    member(wired, "globex", a, "ann@example.com", "viewer")
    member(wired, "globex", b, "ben@example.com", "viewer")
    ann, ben = pool.tokens("ann@example.com")["AccessToken"], pool.tokens("ben@example.com")["AccessToken"]
    ok(invite(api, admin, "ann@example.com"), 201)
    assert invite(api, admin, "ann@example.com").status_code == 409  # already invited
    # someone else cannot answer Ann's invitation, nor can a key
    assert call(api, "POST", "/v1/me/invitations/acme/accept", ben, body={}).status_code == 404
    assert call(api, "POST", "/v1/me/invitations/acme/accept", api.key("acme", ("admin",)), body={}).status_code == 403
    me = ok(call(api, "POST", "/v1/me/invitations/acme/decline", ann, body={}))
    assert me["invitations"] == [] and [w["workspace"] for w in me["workspaces"]] == ["globex"]
    assert call(api, "POST", "/v1/me/invitations/acme/accept", ann, body={}).status_code == 404
    entry = ok(call(api, "GET", "/v1/audit", admin, "acme"))["entries"][0]
    assert entry["action"] == "member.invitation_declined" and entry["actor"]["email"] == "ann@example.com"
    # an admin cancels a pending invitation: it disappears for the invitee too
    inv = ok(invite(api, admin, "ben@example.com"), 201)
    assert ok(call(api, "GET", "/v1/me", ben))["invitations"][0]["workspace"] == "acme"
    ok(call(api, "DELETE", f"/v1/invitations/{inv['invitation_id']}", admin, "acme"), 204)
    assert ok(call(api, "GET", "/v1/me", ben))["invitations"] == []
    assert call(api, "POST", "/v1/me/invitations/acme/accept", ben, body={}).status_code == 404
    assert call(api, "DELETE", f"/v1/invitations/{inv['invitation_id']}", admin, "acme").status_code == 404
    assert app_module.mailer_for().run(time.time()).summary()["sent"] == 0  # nothing left to email
    assert ok(invite(api, admin, "ben@example.com"), 201)  # invited again after a cancel


def test_an_expired_invitation_cannot_be_accepted_and_can_be_renewed(api, pool, wired, admin):
    from chalicelib.accounts.invitations import InvitationStore
    sub = pool.user("late@example.com")
    member(wired, "globex", sub, "late@example.com", "viewer")
    token = pool.tokens("late@example.com")["AccessToken"]
    ok(invite(api, admin, "late@example.com"), 201)
    for key in ({"pk": {"S": "acme#INVITES"}, "sk": {"S": sub}}, {"pk": {"S": f"USER#{sub}"}, "sk": {"S": "INVITE#acme"}}):
        wired.client.update_item(TableName=wired.config.table_name, Key=key, UpdateExpression="SET expires_at = :p",
                                 ExpressionAttributeValues={":p": {"N": str(int(time.time()) - 1)}})
    assert ok(call(api, "GET", "/v1/me", token))["invitations"] == []
    assert call(api, "POST", "/v1/me/invitations/acme/accept", token, body={}).status_code == 404
    assert ok(call(api, "GET", "/v1/invitations", admin, "acme"))["invitations"] == []
    assert InvitationStore(wired.client, wired.config.table_name).get("acme", sub, time.time()) is None
    ok(invite(api, admin, "late@example.com"), 201)  # an expired one does not block a new one
    ok(call(api, "POST", "/v1/me/invitations/acme/accept", token, body={}))


def test_a_person_invited_twice_before_signing_in_gets_a_fresh_password_and_both_invitations(api, pool, wired, admin):
    other = pool.user("other-admin@example.com")
    member(wired, "globex", other, "other-admin@example.com", "admin")
    other_token = pool.tokens("other-admin@example.com")["AccessToken"]
    ok(invite(api, admin, "twice@example.com"), 201)
    ok(call(api, "POST", "/v1/members", other_token, "globex", {"email": "twice@example.com", "role": "editor"}), 201)
    first, second = eml(pool, "twice@example.com")
    assert "acme" in first["Subject"] and "globex" in second["Subject"]  # the second one: a fresh password
    users = pool.cognito.list_users(UserPoolId=pool.pool_id, Filter='email = "twice@example.com"')["Users"]
    assert len(users) == 1  # one account, not two
    token = first_sign_in(pool, "twice@example.com")
    assert sorted(i["workspace"] for i in ok(call(api, "GET", "/v1/me", token))["invitations"]) == ["acme", "globex"]


def test_invitations_count_against_the_daily_email_quota(api, pool, wired, admin, monkeypatch):
    import dataclasses

    from chalicelib.config import AppConfig
    monkeypatch.setattr(wired, "config", dataclasses.replace(wired.config, email_daily_quota=2))
    ok(invite(api, admin, "q1@example.com"), 201)
    ok(invite(api, admin, "q2@example.com"), 201)
    r = invite(api, admin, "q3@example.com")
    assert r.status_code == 429 and json.loads(r.body)["error"]["code"] == "quota_exceeded"
    assert "resets at" in json.loads(r.body)["error"]["message"]
    assert [i["email"] for i in ok(call(api, "GET", "/v1/invitations", admin, "acme"))["invitations"]] == [
        "q1@example.com", "q2@example.com"]
    assert AppConfig.from_env({"EMAIL_DAILY_QUOTA": "7"}).email_daily_quota == 7
    with pytest.raises(ValueError):
        AppConfig.from_env({"EMAIL_DAILY_QUOTA": "lots"})
