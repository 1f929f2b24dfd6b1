"""Authenticity before anything is stored: each platform's signature, positive
and negative, with keys and a certificate generated here; real AWS and
SendGrid signatures checked offline against their published keys."""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from chalicelib.webhooks import sendgrid as sg
from chalicelib.webhooks import ses, twilio
from chalicelib.webhooks.common import WebhookError, WebhookRequest
from infra.webhooks.signing import SendGridSigner, SnsSigner, mailgun_signature, twilio_signature
from webhook_support import TOPIC, hooks, network, query  # noqa: F401 - fixtures

FIXTURES = Path(__file__).parent / "fixtures" / "sns"


def now_iso() -> str:
    return datetime.now().astimezone().isoformat()


def open_event(campaign: str = "sig") -> dict:
    return {"eventType": "Open", "mail": {"timestamp": now_iso(), "messageId": "m1", "destination": ["a@x.example"],
                                          "tags": {"campaign_id": [campaign]}},
            "open": {"timestamp": now_iso(), "ipAddress": "192.0.2.1", "userAgent": "UA"}}


def stored_nothing(api, campaign: str = "sig", tab: str = "email") -> bool:
    return not api.live(campaign, tab)["has_data"]


# --- SNS / SES -----------------------------------------------------------------

@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signature_versions_1_and_2_accepted(api, hooks, version):
    source = hooks.create_source("ses")
    r = hooks.post_ses_record(source["id"], open_event(), version=version)
    assert r.status_code == 200, r.body
    assert api.live("sig", "email")["totals"]["open"] == 1


def test_sns_altered_message_refused_and_nothing_stored(api, hooks):
    source = hooks.create_source("ses")
    envelope = hooks.sns.notification(TOPIC, open_event())
    envelope["Message"] = envelope["Message"].replace('"sig"', '"other"')
    r = hooks.post_sns(source["id"], envelope)
    assert r.status_code == 401 and json.loads(r.body)["error"]["code"] == "invalid_signature"
    assert stored_nothing(api) and stored_nothing(api, "other")


def test_sns_wrong_key_refused(api, hooks):
    source = hooks.create_source("ses")
    impostor = SnsSigner(cert_url=hooks.sns.cert_url)  # same URL, another key: the served cert does not match
    r = hooks.post_sns(source["id"], impostor.notification(TOPIC, open_event()))
    assert r.status_code == 401
    assert stored_nothing(api)


@pytest.mark.parametrize("url", [
    "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
    "https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem",
    "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
    "https://s3.amazonaws.com/SimpleNotificationService-x.pem",
    "https://sns.eu-west-1.amazonaws.com/not-a-certificate.txt",
    "http://127.0.0.1:9/SimpleNotificationService-x.pem",
])
def test_sns_certificate_url_off_amazonaws_refused_without_fetching(api, hooks, url):
    source = hooks.create_source("ses")
    rogue = SnsSigner(cert_url=url)
    hooks.network.files[url] = rogue.pem
    r = hooks.post_sns(source["id"], rogue.notification(TOPIC, open_event()))
    assert r.status_code == 401
    assert url not in hooks.network.fetched
    assert stored_nothing(api)


def test_sns_loopback_certificate_only_in_local_mode():
    assert not ses.sns_url_allowed("http://127.0.0.1:8123/SimpleNotificationService-local.pem")
    assert ses.sns_url_allowed("http://127.0.0.1:8123/SimpleNotificationService-local.pem", allow_loopback=True)
    assert not ses.sns_url_allowed("http://10.0.0.1/SimpleNotificationService-local.pem", allow_loopback=True)


def test_sns_topic_not_allowed_refused(api, hooks):
    source = hooks.create_source("ses")
    other_topic = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"
    r = hooks.post_sns(source["id"], hooks.sns.notification(other_topic, open_event()))
    assert r.status_code == 401 and "topic" in json.loads(r.body)["error"]["message"]
    r = hooks.post_sns(source["id"], hooks.sns.subscription(other_topic))
    assert r.status_code == 401
    assert not hooks.network.fetched or all("Confirm" not in u for u in hooks.network.fetched)
    assert stored_nothing(api)


def test_sns_subscription_confirmed_by_fetching_subscribe_url(hooks):
    source = hooks.create_source("ses")
    message = hooks.sns.subscription(TOPIC)
    r = hooks.post_sns(source["id"], message)
    assert r.status_code == 200 and json.loads(r.body) == {"confirmed": True}
    assert message["SubscribeURL"] in hooks.network.fetched


def test_sns_subscribe_url_off_amazonaws_is_never_fetched(hooks):
    source = hooks.create_source("ses")
    message = hooks.sns.subscription(TOPIC, subscribe_url="https://169.254.169.254/latest/meta-data/")
    assert hooks.post_sns(source["id"], message).status_code == 401
    assert "https://169.254.169.254/latest/meta-data/" not in hooks.network.fetched


def test_sns_confirmation_failure_is_a_5xx_so_sns_retries(hooks):
    source = hooks.create_source("ses")
    message = hooks.sns.subscription(TOPIC)
    hooks.network.fail = True
    r = hooks.post_sns(source["id"], message)
    assert 500 <= r.status_code < 600


def test_sns_certificate_fetched_once_then_cached(hooks):
    source = hooks.create_source("ses")
    for _ in range(3):
        assert hooks.post_ses_record(source["id"], open_event()).status_code == 200
    assert hooks.network.fetched.count(hooks.sns.cert_url) == 1


def test_sns_raw_message_delivery_refused(hooks):
    source = hooks.create_source("ses")
    r = hooks.post("ses", source["id"], json.dumps(open_event()).encode(),
                   {"Content-Type": "text/plain", "x-amz-sns-rawdelivery": "true"})
    assert r.status_code == 400 and "raw message delivery" in json.loads(r.body)["error"]["message"]


@pytest.mark.parametrize("index", range(4))
def test_real_aws_sns_signatures_verify_offline_with_the_real_certificate(index):
    """aws-php-sns-message-validator's fixtures: real messages signed by AWS (v1 and v2)."""
    message = json.loads((FIXTURES / "aws_php_validator_fixtures.json").read_text())[index]
    pem = (FIXTURES / "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem").read_bytes()
    at = datetime.fromisoformat(message["Timestamp"].replace("Z", "+00:00")).timestamp()
    cache = ses.CertificateCache(lambda url: pem)
    ses.verify(message, {"topic_arns": [message["TopicArn"]]}, cache, at)
    altered = {**message, "Message": "Hello world?"}
    with pytest.raises(WebhookError) as err:
        ses.verify(altered, {"topic_arns": [message["TopicArn"]]}, cache, at)
    assert err.value.status == 401
    with pytest.raises(WebhookError):  # the certificate has expired since: today it is refused
        ses.verify(message, {"topic_arns": [message["TopicArn"]]}, ses.CertificateCache(lambda url: pem), time.time())


# --- SendGrid ------------------------------------------------------------------

def sg_open(event_id: str = "e1") -> dict:
    return {"email": "a@x.example", "event": "open", "timestamp": int(time.time()), "sg_event_id": event_id,
            "campaign_id": "sig"}


def test_sendgrid_signed_batch_accepted(api, hooks):
    source = hooks.create_source("sendgrid")
    assert hooks.post_sendgrid(source["id"], [sg_open()]).status_code == 200
    assert api.live("sig", "email")["totals"]["open"] == 1


def test_sendgrid_altered_body_refused(api, hooks):
    source = hooks.create_source("sendgrid")
    body = SendGridSigner.body([sg_open()])
    headers = hooks.sendgrid.headers(body)
    r = hooks.post("sendgrid", source["id"], body.replace(b'"open"', b'"click"'), headers)
    assert r.status_code == 401
    r = hooks.post("sendgrid", source["id"], body.replace(b"\r\n", b"\n"), headers)  # re-serialised
    assert r.status_code == 401
    assert stored_nothing(api)


def test_sendgrid_old_timestamp_and_wrong_key_refused(api, hooks):
    source = hooks.create_source("sendgrid")
    assert hooks.post_sendgrid(source["id"], [sg_open()], timestamp=int(time.time()) - 3600).status_code == 401
    body = SendGridSigner.body([sg_open()])
    r = hooks.post("sendgrid", source["id"], body, SendGridSigner().headers(body))
    assert r.status_code == 401
    r = hooks.post("sendgrid", source["id"], body, {"Content-Type": "application/json"})
    assert r.status_code == 401
    assert stored_nothing(api)


def test_sendgrids_own_published_signature_verifies():
    """sendgrid-python's test vector (the signed dropped event of sample #45)."""
    public_key = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
                  "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==")
    payload = json.dumps([{"email": "hello@world.com", "event": "dropped", "reason": "Bounced Address",
                           "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                           "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                           "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                           "timestamp": 1600112492}], sort_keys=True, separators=(",", ":")) + "\r\n"
    headers = {sg.SIGNATURE_HEADER: "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=",
               sg.TIMESTAMP_HEADER: "1600112502"}
    sg.verify(WebhookRequest(payload.encode(), headers, now=1600112502), {"public_key": public_key})
    with pytest.raises(WebhookError):
        sg.verify(WebhookRequest(payload.encode(), headers, now=time.time()), {"public_key": public_key})


# --- Mailgun -------------------------------------------------------------------

def mg_event(event_id: str = "mg1") -> dict:
    return {"event": "delivered", "id": event_id, "timestamp": time.time(), "recipient": "a@x.example",
            "user-variables": {"campaign_id": "sig"}}


def test_mailgun_signed_event_accepted_and_redelivery_with_same_token_replays(api, hooks):
    source = hooks.create_source("mailgun")
    signature = mailgun_signature(hooks.mailgun_key)
    assert hooks.post_mailgun(source["id"], mg_event(), signature).status_code == 200
    again = hooks.post_mailgun(source["id"], mg_event(), signature)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replay") == "true"
    assert api.live("sig", "email")["totals"]["delivered"] == 1


def test_mailgun_reused_token_with_another_event_refused(api, hooks):
    source = hooks.create_source("mailgun")
    signature = mailgun_signature(hooks.mailgun_key)
    assert hooks.post_mailgun(source["id"], mg_event("first"), signature).status_code == 200
    r = hooks.post_mailgun(source["id"], mg_event("second"), signature)
    assert r.status_code == 401 and "token" in json.loads(r.body)["error"]["message"]
    assert api.live("sig", "email")["totals"]["delivered"] == 1


def test_mailgun_old_timestamp_wrong_key_altered_signature_refused(api, hooks):
    source = hooks.create_source("mailgun")
    old = mailgun_signature(hooks.mailgun_key, timestamp=int(time.time()) - 3600)
    assert hooks.post_mailgun(source["id"], mg_event(), old).status_code == 401
    assert hooks.post_mailgun(source["id"], mg_event(), mailgun_signature("key-wrong")).status_code == 401
    tampered = mailgun_signature(hooks.mailgun_key)
    tampered["token"] = tampered["token"][:-1] + ("0" if tampered["token"][-1] != "0" else "1")
    assert hooks.post_mailgun(source["id"], mg_event(), tampered).status_code == 401
    assert stored_nothing(api)


def test_mailgun_legacy_form_post_accepted(api, hooks):
    source = hooks.create_source("mailgun")
    fields = {**mailgun_signature(hooks.mailgun_key), "event": "opened", "recipient": "a@x.example",
              "Message-Id": "<legacy@x.example>", "campaign_id": "sig"}
    from urllib.parse import urlencode
    r = hooks.post("mailgun", source["id"], urlencode(fields).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.body
    assert api.live("sig", "email")["totals"]["open"] == 1
    fields = {**mailgun_signature(hooks.mailgun_key), "event": "bounced", "recipient": "a@x.example",
              "Message-Id": "<legacy2@x.example>", "code": "550", "error": "5.1.1 <a@x.example> user unknown",
              "campaign_id": "sig"}
    r = hooks.post("mailgun", source["id"], urlencode(fields).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.body
    report = api.live("sig", "email")
    assert report["totals"]["bounce"] == 1
    assert report["breakdowns"]["bounce_reason"][0]["value"] == "5.1.1 <…@x.example> user unknown"


def test_mailgun_multipart_post_accepted(api, hooks):
    source = hooks.create_source("mailgun")
    fields = {**mailgun_signature(hooks.mailgun_key), "event": "clicked", "recipient": "a@x.example",
              "Message-Id": "<multi@x.example>", "url": "https://x.example/", "campaign_id": "sig"}
    boundary = "xXxBOUNDARYxXx"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items()) + f"--{boundary}--\r\n"
    r = hooks.post("mailgun", source["id"], body.encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 200, r.body
    assert api.live("sig", "email")["totals"]["click"] == 1


# --- Twilio --------------------------------------------------------------------

def tw_params(status: str = "delivered", sid: str = "SM1") -> list[tuple[str, str]]:
    return [("MessageSid", sid), ("MessageStatus", status), ("To", "+15550001111"), ("AccountSid", "AC1")]


def test_twilio_signature_over_public_url_query_and_sorted_params(api, hooks):
    source = hooks.create_source("twilio")
    q = query(campaign_id="sig", profile_id="p1")
    r = hooks.post_twilio(source["id"], tw_params(), q)
    assert r.status_code == 200, r.body
    assert api.live("sig", "sms")["totals"]["delivered"] == 1


def test_twilio_altered_param_or_query_refused(api, hooks):
    source = hooks.create_source("twilio")
    q = query(campaign_id="sig")
    signature = twilio_signature(hooks.twilio_token, hooks.twilio_url(source["id"], q), tw_params())
    assert hooks.post_twilio(source["id"], tw_params("failed"), q, signature=signature).status_code == 401
    assert hooks.post_twilio(source["id"], tw_params(), query(campaign_id="other"), signature=signature).status_code == 401
    assert hooks.post_twilio(source["id"], tw_params() + [("Extra", "1")], q, signature=signature).status_code == 401
    wrong = twilio_signature("not-the-token", hooks.twilio_url(source["id"], q), tw_params())
    assert hooks.post_twilio(source["id"], tw_params(), q, signature=wrong).status_code == 401
    assert stored_nothing(api, tab="sms") and stored_nothing(api, "other", "sms")


def test_twilio_url_rebuilt_behind_api_gateway():
    """API Gateway: Host is the API's domain, the context path carries the stage, and the
    query arrives as a map (its order and spelling lost): some candidate must match."""
    from chalicelib.webhooks.service import public_urls
    headers = {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "x-forwarded-proto": "https"}
    urls = public_urls(headers, "/api/v1/webhooks/twilio/src_x", None, "/v1/webhooks/twilio/src_x")
    assert urls == ("https://abc123.execute-api.eu-west-1.amazonaws.com/api/v1/webhooks/twilio/src_x",)
    configured = urls[0] + "?profile_id=p%201&campaign_id=c1"  # as pasted into Twilio: any order, %20
    params = tw_params()
    signature = twilio_signature("tok", configured, params)
    request = WebhookRequest(b"", {"x-twilio-signature": signature}, {"campaign_id": ["c1"], "profile_id": ["p 1"]}, urls)
    twilio.verify(request, params, {"auth_token": "tok"})
    with_port = twilio_signature("tok", configured.replace(".com/", ".com:443/"), params)
    twilio.verify(WebhookRequest(b"", {"x-twilio-signature": with_port}, request.query, urls), params,
                  {"auth_token": "tok"})
    custom = public_urls({"host": "hooks.example.org", "x-forwarded-proto": "https"}, "/v1/webhooks/twilio/src_x",
                         "https://hooks.example.org", "/v1/webhooks/twilio/src_x")
    assert custom == ("https://hooks.example.org/v1/webhooks/twilio/src_x",)


# --- Postmark ------------------------------------------------------------------

def pm_delivery() -> dict:
    return {"RecordType": "Delivery", "MessageID": "pm1", "Recipient": "a@x.example", "DeliveredAt": now_iso(),
            "Metadata": {"campaign_id": "sig"}}


def test_postmark_basic_auth(api, hooks):
    source = hooks.create_source("postmark")
    assert hooks.post_postmark(source["id"], pm_delivery(), auth=("pm-user", "wrong")).status_code == 401
    assert hooks.post_postmark(source["id"], pm_delivery(), auth=("other", hooks.postmark[1])).status_code == 401
    r = hooks.post("postmark", source["id"], json.dumps(pm_delivery()).encode(), {"Content-Type": "application/json"})
    assert r.status_code == 401
    assert stored_nothing(api)
    assert hooks.post_postmark(source["id"], pm_delivery()).status_code == 200
    assert api.live("sig", "email")["totals"]["delivered"] == 1


def test_unparseable_bodies_are_400(hooks):
    for platform in ("ses", "sendgrid", "mailgun", "postmark"):
        source = hooks.create_source(platform)
        ctype = "text/plain" if platform == "ses" else "application/json"
        headers = {"Content-Type": ctype}
        if platform == "sendgrid":
            headers = hooks.sendgrid.headers(b"{not json")
        if platform == "postmark":
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(hooks.postmark).encode()).decode()
        r = hooks.post(platform, source["id"], b"{not json", headers)
        assert r.status_code == 400, (platform, r.body)
