"""Sources: scope manage, secrets never shown, one workspace's source cannot write into another."""
from __future__ import annotations

import json
import time

import pytest

from webhook_support import HOST, TOPIC, hooks, network  # noqa: F401 - fixtures


def post_source(api, key, body):
    return api.client.http.post("/v1/sources", body=json.dumps(body), headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json", "Host": HOST,
        "X-Forwarded-Proto": "https"})


@pytest.mark.parametrize("scopes", [("ingest",), ("read",), ("ingest", "read")])
def test_sources_need_the_manage_scope(api, hooks, scopes):
    key = api.key("acme", scopes)
    body = {"platform": "mailgun", "credentials": {"signing_key": "k"}}
    assert post_source(api, key, body).status_code == 403
    assert api.get("/v1/sources", key).status_code == 403
    source = hooks.create_source("mailgun")
    r = api.client.http.delete(f"/v1/sources/{source['id']}", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403
    assert api.get("/v1/sources", "lr_unknown").status_code == 401


def test_create_list_delete_and_secrets_never_returned(api, hooks):
    manage = hooks.manage_key()
    created = {p: hooks.create_source(p, default_campaign=f"dc-{p}") for p in
               ("ses", "sendgrid", "mailgun", "twilio", "postmark")}
    for platform, source in created.items():
        assert source["url"] == f"https://{HOST}/v1/webhooks/{platform}/{source['id']}"
        assert source["default_campaign"] == f"dc-{platform}"
        assert source["channel"] == ("sms" if platform == "twilio" else "email")
    listed = json.loads(api.get("/v1/sources", manage).body)["sources"]
    assert {s["id"] for s in listed} == {s["id"] for s in created.values()}
    text = json.dumps(listed) + json.dumps(list(created.values()))
    for secret in (hooks.mailgun_key, hooks.twilio_token, hooks.postmark[1], hooks.sendgrid.public_key):
        assert secret not in text
    assert "credentials" not in text
    assert created["ses"]["topic_arns"] == [TOPIC]  # not a secret: what an operator checks
    gone = created["mailgun"]["id"]
    r = api.client.http.delete(f"/v1/sources/{gone}", headers={"Authorization": f"Bearer {manage}"})
    assert r.status_code == 204
    assert api.client.http.delete(f"/v1/sources/{gone}", headers={"Authorization": f"Bearer {manage}"}).status_code == 404
    assert gone not in api.get("/v1/sources", manage).body.decode()
    event = {"event": "delivered", "id": "x", "timestamp": time.time(), "recipient": "a@b.example"}
    assert hooks.post_mailgun(gone, event).status_code == 404


@pytest.mark.parametrize("body, status", [
    ({"platform": "sparkpost", "credentials": {}}, 422),
    ({"platform": "ses", "credentials": {"topic_arns": ["not-an-arn"]}}, 422),
    ({"platform": "ses", "credentials": {}}, 422),
    ({"platform": "sendgrid", "credentials": {"public_key": "bm90IGEga2V5"}}, 422),
    ({"platform": "mailgun", "credentials": {"signing_key": ""}}, 422),
    ({"platform": "twilio", "channel": "email", "credentials": {"auth_token": "t"}}, 422),
    ({"platform": "postmark", "credentials": {"username": "u"}}, 422),
    ({"platform": "mailgun", "default_campaign": "has spaces", "credentials": {"signing_key": "k"}}, 422),
    (["not", "an", "object"], 400),
])
def test_invalid_sources_refused_with_a_reason(api, hooks, body, status):
    r = post_source(api, hooks.manage_key(), body)
    assert r.status_code == status, r.body
    assert json.loads(r.body)["error"]["message"]


def test_a_sources_secret_is_not_logged(api, hooks, capsys):
    hooks.create_source("twilio")
    out = capsys.readouterr()
    assert hooks.twilio_token not in out.out + out.err


def test_workspace_isolation(api, hooks):
    """The source id decides the workspace: acme's source never writes into beta, beta cannot
    delete or list acme's sources, and a source id used under another platform is 404."""
    acme = hooks.create_source("mailgun", workspace="acme", default_campaign="iso")
    beta_key = hooks.manage_key("beta")
    assert acme["id"] not in api.get("/v1/sources", beta_key).body.decode()
    r = api.client.http.delete(f"/v1/sources/{acme['id']}", headers={"Authorization": f"Bearer {beta_key}"})
    assert r.status_code == 404
    event = {"event": "delivered", "id": "iso-1", "timestamp": time.time(), "recipient": "a@b.example",
             "user-variables": {"campaign_id": "iso"}}
    assert hooks.post_mailgun(acme["id"], event).status_code == 200
    assert api.live("iso", "email", key=api.key("acme", ("read",)))["totals"]["delivered"] == 1
    assert api.live("iso", "email", key=api.key("beta", ("read",)))["has_data"] is False
    # a Mailgun source id posted as another platform, or an unknown id: 404, nothing stored
    for platform in ("ses", "sendgrid", "twilio", "postmark"):
        r = hooks.post(platform, acme["id"], b"{}", {"Content-Type": "application/json"})
        assert r.status_code == 404, platform
    r = hooks.post("sparkpost", acme["id"], b"{}", {"Content-Type": "application/json"})
    assert r.status_code == 400 and "unknown platform" in json.loads(r.body)["error"]["message"]
    assert hooks.post("mailgun", "src_" + "x" * 24, b"{}", {"Content-Type": "application/json"}).status_code == 404
    assert hooks.post("mailgun", "../../etc", b"{}", {"Content-Type": "application/json"}).status_code in (403, 404)


def test_default_campaign_and_metadata(api, hooks):
    source = hooks.create_source("sendgrid", default_campaign="fallback")
    now = int(time.time())
    events = [{"event": "delivered", "email": "a@x.example", "timestamp": now, "sg_event_id": "m1",
               "campaign_id": "spring", "profile_id": "p1", "execution_id": "run-7"},
              {"event": "delivered", "email": "b@y.example", "timestamp": now, "sg_event_id": "m2"}]
    assert hooks.post_sendgrid(source["id"], events).status_code == 200
    spring = api.live("spring", "email")
    assert spring["totals"]["delivered"] == 1 and spring["available_executions"] == ["run-7"]
    assert api.live("fallback", "email")["totals"]["delivered"] == 1
    unattributed = hooks.create_source("postmark")
    assert unattributed["default_campaign"] == "unattributed"
