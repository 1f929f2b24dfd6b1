"""Attacks a reviewer ran on signed webhooks (issue 19): a Mailgun signature
replayed with a shifted token, timestamps float() would read (nan, 1e3),
Twilio callbacks replayed after the ledger's default memory, and a host
header that moves a Twilio signature to another source."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib import tables
from chalicelib.webhooks.common import WebhookError
from chalicelib.webhooks.service import TWILIO_MARKER_TTL_SECONDS, bare_host, public_urls
from infra.webhooks.signing import SendGridSigner, form_body, mailgun_signature, twilio_signature
from webhook_support import HOST, hooks, network, query  # noqa: F401 - fixtures


def mg_event(event_id: str) -> dict:
    return {"event": "delivered", "id": event_id, "timestamp": time.time(), "recipient": "a@x.example",
            "user-variables": {"campaign_id": "hard"}}


def signed(key: str, timestamp: str, token: str) -> dict[str, str]:
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def delivered(api, campaign: str = "hard", tab: str = "email") -> int:
    report = api.live(campaign, tab)
    return report["totals"].get("delivered", 0) if report["has_data"] else 0


# --- Mailgun -------------------------------------------------------------------

def test_mailgun_token_shifted_into_the_timestamp_is_refused(api, hooks):
    """"1700000000" + "e0…" and "1700000000e0" + "…" are the same signed bytes and, for
    float(), the same number: the shifted request must not count as a new token."""
    source = hooks.create_source("mailgun")
    ts = str(int(time.time()))
    token = "e0" + "ab" * 24
    assert hooks.post_mailgun(source["id"], mg_event("first"), signed(hooks.mailgun_key, ts, token)).status_code == 200
    shifted = {**signed(hooks.mailgun_key, ts, token), "timestamp": ts + "e0", "token": token[2:] + ""}
    assert shifted["signature"] == signed(hooks.mailgun_key, ts + "e0", token[2:])["signature"]
    r = hooks.post_mailgun(source["id"], mg_event("second"), shifted)
    assert r.status_code == 401, r.body
    assert delivered(api) == 1


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "1e3", "1700000000.5", " 1700000000",
                                       "1_700_000_000", "+1700000000", "０１", ""])
def test_mailgun_timestamp_not_whole_seconds_is_refused(api, hooks, timestamp):
    source = hooks.create_source("mailgun")
    r = hooks.post_mailgun(source["id"], mg_event("nan"), signed(hooks.mailgun_key, timestamp, "ab" * 25))
    assert r.status_code == 401, (timestamp, r.body)
    assert delivered(api) == 0


@pytest.mark.parametrize("token", ["ab" * 24, "ab" * 26, "zz" * 25, "ab" * 24 + "-_", "é" * 50])
def test_mailgun_token_not_of_the_documented_form_is_refused(api, hooks, token):
    source = hooks.create_source("mailgun")
    r = hooks.post_mailgun(source["id"], mg_event("tok"), signed(hooks.mailgun_key, str(int(time.time())), token))
    assert r.status_code == 401 and "50 hexadecimal" in json.loads(r.body)["error"]["message"]


def test_mailgun_signature_helper_makes_documented_tokens(hooks):
    sig = mailgun_signature(hooks.mailgun_key)
    assert len(sig["token"]) == 50 and int(sig["token"], 16) >= 0 and sig["timestamp"].isdigit()


# --- SendGrid ------------------------------------------------------------------

@pytest.mark.parametrize("timestamp", ["nan", "inf", "1e9", "1700000000.0", "-1"])
def test_sendgrid_timestamp_not_whole_seconds_is_refused(api, hooks, timestamp):
    source = hooks.create_source("sendgrid")
    events = [{"event": "delivered", "email": "a@x.example", "timestamp": int(time.time()), "sg_event_id": "sg-nan",
               "campaign_id": "hard"}]
    body = SendGridSigner.body(events)
    headers = hooks.sendgrid.headers(body)
    ts_name = next(k for k in headers if k.lower().endswith("timestamp"))
    sig_name = next(k for k in headers if k.lower().endswith("signature"))
    headers[ts_name] = timestamp
    # a valid signature over those very bytes
    headers[sig_name] = base64.b64encode(hooks.sendgrid.key.sign(timestamp.encode() + body,
                                                                  ec.ECDSA(hashes.SHA256()))).decode()
    r = hooks.post("sendgrid", source["id"], body, headers)
    assert r.status_code == 401, r.body
    assert delivered(api) == 0


def test_sendgrid_signed_whole_seconds_still_accepted(api, hooks):
    source = hooks.create_source("sendgrid")
    r = hooks.post_sendgrid(source["id"], [{"event": "delivered", "email": "a@x.example", "timestamp": int(time.time()),
                                            "sg_event_id": "sg-ok", "campaign_id": "hard"}])
    assert r.status_code == 200, r.body
    assert delivered(api) == 1


# --- Twilio --------------------------------------------------------------------

def tw_params(sid: str = "SMreplay") -> list[tuple[str, str]]:
    return [("MessageSid", sid), ("MessageStatus", "delivered"), ("To", "+15550001111"), ("AccountSid", "AC1")]


def expire_markers(client, now: float) -> int:
    """Delete the request markers DynamoDB's TTL would have deleted by `now` (moto never
    does); the counters stay, as the reports a month later would still show them."""
    gone = 0
    for page in client.get_paginator("scan").paginate(TableName="livereport-test"):
        for item in page["Items"]:
            if "#BATCH#" in item["pk"]["S"] and tables.TTL_ATTRIBUTE in item and float(item[tables.TTL_ATTRIBUTE]["N"]) < now:
                client.delete_item(TableName="livereport-test", Key={"pk": item["pk"], "sk": item["sk"]})
                gone += 1
    return gone


def test_twilio_callback_replayed_after_the_default_ledger_memory_is_not_counted_again(api, aws, hooks):
    source = hooks.create_source("twilio")
    q = query(campaign_id="hard")
    assert hooks.post_twilio(source["id"], tw_params(), q).status_code == 200
    assert delivered(api, tab="sms") == 1
    # 30 days later: every 7-day marker is gone, the Twilio one is not
    expire_markers(aws, time.time() + 30 * 86400)
    again = hooks.post_twilio(source["id"], tw_params(), q)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replay") == "true"
    assert delivered(api, tab="sms") == 1
    markers = [i for i in aws.scan(TableName="livereport-test")["Items"] if "#BATCH#w:twilio:" in i["pk"]["S"]]
    assert len(markers) == 1
    assert float(markers[0][tables.TTL_ATTRIBUTE]["N"]) >= time.time() + TWILIO_MARKER_TTL_SECONDS - 60


def test_twilio_signature_for_source_a_is_refused_at_source_b_whatever_the_host_header(api, hooks):
    """Two sources sharing one auth token: the smuggled X-Forwarded-Host
    "host/v1/webhooks/twilio/src_A#" must not make A's signature valid at B."""
    a, b = hooks.create_source("twilio"), hooks.create_source("twilio")
    params = tw_params("SMsmuggle")
    signature = twilio_signature(hooks.twilio_token, hooks.twilio_url(a["id"]), params)
    for smuggled in (f"{HOST}/v1/webhooks/twilio/{a['id']}#", f"{HOST}/v1/webhooks/twilio/{a['id']}?",
                     f"{HOST}/v1/webhooks/twilio/{a['id']}\\", f"user@{HOST}/v1/webhooks/twilio/{a['id']}#"):
        for header in ("X-Forwarded-Host", "Host"):
            r = api.client.http.post(f"/v1/webhooks/twilio/{b['id']}", body=form_body(params), headers={
                "Host": HOST, header: smuggled, "X-Forwarded-Proto": "https",
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
            assert r.status_code == 401, (smuggled, header, r.body)
    api.wired.pump()
    assert delivered(api, "unattributed", "sms") == 0
    # the same signature at A is fine
    assert hooks.post_twilio(a["id"], params).status_code == 200


@pytest.mark.parametrize("value, expected", [
    ("hooks.example.org", "hooks.example.org"), ("hooks.example.org:8443", "hooks.example.org:8443"),
    ("127.0.0.1:8200", "127.0.0.1:8200"), ("[::1]:8200", "[::1]:8200"), ("a.example, b.example", "a.example"),
    ("a.example/v1/webhooks/twilio/src_x#", None), ("a.example?x=1", None), ("a.example#", None),
    ("u@a.example", None), ("a.example:80:80", None), ("", None), ("a..example", None), ("a.example\\x", None)])
def test_bare_host_only(value, expected):
    assert bare_host(value) == expected


def test_public_urls_keep_the_request_path_and_refuse_odd_schemes():
    route = "/v1/webhooks/twilio/src_b"
    assert public_urls({"x-forwarded-host": "h.example/v1/webhooks/twilio/src_a#", "host": "h.example"},
                       route, None, route) == ()
    assert public_urls({"host": "h.example", "x-forwarded-proto": "javascript"}, route, None, route) == ()
    assert public_urls({"host": "h.example"}, "/v1/webhooks/twilio/src_a", None, route) == (f"https://h.example{route}",)


def test_refusals_carry_a_reason():
    from chalicelib.webhooks import mailgun
    doc = {"signature": signed("k", str(int(time.time()) - 3600), "ab" * 25), "event-data": {}}
    with pytest.raises(WebhookError) as stale:
        mailgun.verify(doc, {"signing_key": "k"}, time.time())
    assert stale.value.reason == "stale_timestamp"
    doc = {"signature": signed("other", str(int(time.time())), "ab" * 25), "event-data": {}}
    with pytest.raises(WebhookError) as bad:
        mailgun.verify(doc, {"signing_key": "k"}, time.time())
    assert bad.value.reason == "bad_signature"
