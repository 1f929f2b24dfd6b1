"""Per-source health (issue 17): what each source received, accepted and refused
(by reason), its unmapped event types, and the Admin page's test send through
the real verification path."""
from __future__ import annotations

import json
import time

import pytest

from infra.webhooks.signing import mailgun_signature
from webhook_support import HOST, hooks, network, query  # noqa: F401 - fixtures


def health(api, hooks, source_id: str, workspace: str = "acme") -> dict:
    r = api.client.http.get("/v1/sources", headers={"Authorization": f"Bearer {hooks.manage_key(workspace)}",
                                                    "Host": HOST, "X-Forwarded-Proto": "https"})
    assert r.status_code == 200, r.body
    return next(s for s in json.loads(r.body)["sources"] if s["id"] == source_id)["health"]


def send_test(api, hooks, source_id: str, workspace: str = "acme"):
    return api.client.http.post(f"/v1/sources/{source_id}/test", body=b"", headers={
        "Authorization": f"Bearer {hooks.manage_key(workspace)}", "Host": HOST, "X-Forwarded-Proto": "https"})


def mg(event_id: str, kind: str = "delivered") -> dict:
    return {"event": kind, "id": event_id, "timestamp": time.time(), "recipient": "a@x.example",
            "user-variables": {"campaign_id": "health"}}


def test_a_new_source_has_zero_counters(api, hooks):
    source = hooks.create_source("mailgun")
    h = health(api, hooks, source["id"])
    assert h["requests"] == 0 and h["last_received_at"] is None and h["events_accepted"] == 0
    assert h["refused"] == {"bad_signature": 0, "stale_timestamp": 0, "replay": 0, "malformed": 0}
    assert h["unmapped"] == {}


def test_counters_follow_accepted_refused_and_unmapped_requests(api, hooks):
    source = hooks.create_source("mailgun")
    other = hooks.create_source("mailgun")
    sid = source["id"]
    before = int(time.time())
    signature = mailgun_signature(hooks.mailgun_key)
    assert hooks.post_mailgun(sid, mg("h1"), signature).status_code == 200
    assert hooks.post_mailgun(sid, mg("h1"), signature).status_code == 200  # the platform's redelivery
    assert hooks.post_mailgun(sid, mg("h2"), signature).status_code == 401  # same token, another event: replay
    assert hooks.post_mailgun(sid, mg("h3"), mailgun_signature("key-wrong")).status_code == 401
    old = mailgun_signature(hooks.mailgun_key, timestamp=int(time.time()) - 3600)
    assert hooks.post_mailgun(sid, mg("h4"), old).status_code == 401
    assert hooks.post_mailgun(sid, mg("h5"), {**mailgun_signature(hooks.mailgun_key), "timestamp": "nan"}).status_code == 401
    assert hooks.post("mailgun", sid, b"{not json", {"Content-Type": "application/json"}).status_code == 400
    assert hooks.post_mailgun(sid, mg("h6", "stored")).status_code == 200
    assert hooks.post_mailgun(sid, mg("h7", "stored")).status_code == 200
    assert hooks.post_mailgun(sid, mg("h8", "list_member_uploaded")).status_code == 200
    h = health(api, hooks, sid)
    assert h["requests"] == 10
    assert h["accepted_requests"] == 5 and h["events_accepted"] == 1 and h["redeliveries"] == 1
    assert h["refused"] == {"bad_signature": 1, "stale_timestamp": 1, "replay": 1, "malformed": 2}
    assert h["unmapped"] == {"mailgun:stored": 2, "mailgun:list_member_uploaded": 1}
    assert h["last_received_at"] >= before and h["last_accepted_at"] >= before
    assert h["last_refusal"] == "malformed" and h["last_refused_at"] >= before
    assert h["last_outcome"] == "accepted"  # the last request (an unmapped type) was authentic
    assert api.live("health", "email")["totals"]["delivered"] == 1  # the counters count requests, not events twice
    assert health(api, hooks, other["id"])["requests"] == 0


def test_unknown_or_deleted_sources_count_nowhere(api, hooks, aws):
    source = hooks.create_source("postmark")
    r = api.client.http.delete(f"/v1/sources/{source['id']}",
                               headers={"Authorization": f"Bearer {hooks.manage_key()}"})
    assert r.status_code == 204
    assert hooks.post_postmark(source["id"], {"RecordType": "Delivery", "MessageID": "x"}).status_code == 404
    assert not [i for i in aws.scan(TableName="livereport-test")["Items"] if i["sk"]["S"] == source["id"]]


@pytest.mark.parametrize("platform, tab", [("mailgun", "email"), ("twilio", "sms"), ("postmark", "email")])
def test_test_send_goes_through_verification_and_is_counted(api, hooks, platform, tab):
    source = hooks.create_source(platform, label="<img src=x onerror=alert(1)>")
    r = send_test(api, hooks, source["id"])
    assert r.status_code == 200, r.body
    body = json.loads(r.body)
    assert body == {"ok": True, "status": 200, "accepted": 1, "campaign_id": "webhook-test"}
    api.wired.pump()
    assert api.live("webhook-test", tab)["totals"]["delivered"] == 1
    assert send_test(api, hooks, source["id"]).status_code == 200  # each test is a new event
    api.wired.pump()
    assert api.live("webhook-test", tab)["totals"]["delivered"] == 2
    h = health(api, hooks, source["id"])
    assert h["tests_sent"] == 2 and h["events_accepted"] == 2 and h["requests"] == 2


def test_test_send_with_credentials_that_do_not_verify_says_why(api, hooks, aws):
    source = hooks.create_source("mailgun")
    # the platform would sign with another key than the one stored: simulate a stored key typo
    item = {"pk": {"S": f"SOURCE#{source['id']}"}, "sk": {"S": "SOURCE"}}
    aws.update_item(TableName="livereport-test", Key=item, UpdateExpression="SET credentials = :c",
                    ExpressionAttributeValues={":c": {"S": json.dumps({"signing_key": ""})}})
    r = send_test(api, hooks, source["id"])
    assert r.status_code == 200
    body = json.loads(r.body)
    assert body["ok"] is False and body["status"] == 401 and body["reason"] == "bad_signature"
    assert health(api, hooks, source["id"])["refused"]["bad_signature"] == 1


@pytest.mark.parametrize("platform", ["ses", "sendgrid"])
def test_platforms_that_sign_with_their_own_key_point_to_their_own_test(api, hooks, platform):
    source = hooks.create_source(platform)
    r = send_test(api, hooks, source["id"])
    assert r.status_code == 422 and json.loads(r.body)["error"]["code"] == "not_testable"
    assert health(api, hooks, source["id"])["requests"] == 0


def test_test_send_needs_the_sources_scope_and_this_workspaces_source(api, hooks):
    source = hooks.create_source("postmark")
    assert send_test(api, hooks, source["id"], workspace="other").status_code == 404
    assert send_test(api, hooks, "src_doesnotexist0000000").status_code == 404
    r = api.client.http.post(f"/v1/sources/{source['id']}/test", body=b"",
                             headers={"Authorization": f"Bearer {api.key('acme', ('read',))}"})
    assert r.status_code == 403
    assert health(api, hooks, source["id"])["requests"] == 0
