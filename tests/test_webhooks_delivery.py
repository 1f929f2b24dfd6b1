"""Delivery semantics: big batches, redeliveries counted once, the status codes
each platform needs, machine opens, per-recipient SES events, hostile strings,
and no address ever stored."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone


from chalicelib.store import StoreUnavailable
from webhook_support import TOPIC, hooks, network  # noqa: F401 - fixtures


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def test_sendgrid_batch_of_1000_events(api, hooks):
    source = hooks.create_source("sendgrid")
    now = int(time.time())
    kinds = ["processed", "delivered", "open", "click", "bounce"]
    events = [{"event": kinds[i % 5], "email": f"u{i}@d{i % 7}.example", "timestamp": now, "sg_event_id": f"ev{i}",
               "campaign_id": "big", "profile_id": f"p{i % 300}", "url": "https://x.example/a", "type": "bounce",
               "reason": "550 5.1.1 unknown", "sg_machine_open": i % 10 == 2}
              for i in range(1000)]
    r = hooks.post_sendgrid(source["id"], events)
    assert r.status_code == 200, r.body
    assert json.loads(r.body)["accepted"] == 1000
    report = api.live("big", "email")
    totals = report["totals"]
    assert (totals["sent"], totals["delivered"], totals["open"], totals["click"], totals["bounce"]) == (200,) * 5
    assert totals["open_machine"] == 100
    again = hooks.post_sendgrid(source["id"], list(reversed(events)))  # SendGrid retries the batch
    assert again.status_code == 200 and again.headers.get("Idempotent-Replay") == "true"
    assert api.live("big", "email")["totals"]["sent"] == 200


def test_sns_redelivery_of_the_same_message_id_is_counted_once(api, hooks):
    source = hooks.create_source("ses")
    record = {"eventType": "Delivery", "mail": {"timestamp": now_iso(), "messageId": "m",
                                                "destination": ["a@x.example", "b@y.example"],
                                                "tags": {"campaign_id": ["redeliver"]}},
              "delivery": {"timestamp": now_iso(), "recipients": ["a@x.example", "b@y.example"]}}
    first = hooks.sns.notification(TOPIC, record, message_id="11111111-2222-3333-4444-555555555555")
    assert hooks.post_sns(source["id"], first).status_code == 200
    # SNS retries with the same MessageId (its signature may differ: re-signed with v2)
    retry = hooks.sns.sign({k: v for k, v in first.items() if k not in ("Signature",)}, version="2")
    r = hooks.post_sns(source["id"], retry)
    assert r.status_code == 200 and r.headers.get("Idempotent-Replay") == "true"
    assert api.live("redeliver", "email")["totals"]["delivered"] == 2  # two recipients, once each


def test_twilio_redelivered_status_counted_once_but_each_status_counts(api, hooks):
    source = hooks.create_source("twilio")
    q = "campaign_id=tw"
    for status in ("sent", "sent", "delivered", "delivered"):
        assert hooks.post_twilio(source["id"], [("MessageSid", "SMabc"), ("MessageStatus", status)], q).status_code == 200
    totals = api.live("tw", "sms")["totals"]
    assert (totals["sent"], totals["delivered"]) == (1, 1)


def test_unmappable_authentic_events_get_a_2xx(api, hooks):
    source = hooks.create_source("sendgrid")
    events = [{"event": "group_resubscribe", "email": "a@x.example", "timestamp": int(time.time()), "sg_event_id": "g1"},
              {"event": "brand_new_event", "email": "a@x.example", "timestamp": int(time.time()), "sg_event_id": "g2"}]
    r = hooks.post_sendgrid(source["id"], events)
    assert r.status_code == 200 and json.loads(r.body) == {"accepted": 0, "rejected": [], "unmapped": 2}


def test_events_our_validator_refuses_are_acknowledged_with_their_reasons(api, hooks):
    """A 4xx would make SendGrid retry for 24 h (and SNS drop the message): the platform
    gets a 2xx and the reasons, the rejected metric counts them."""
    source = hooks.create_source("sendgrid")
    events = [{"event": "delivered", "email": "a@x.example", "timestamp": 946684800, "sg_event_id": "old"},
              {"event": "delivered", "email": "a@x.example", "timestamp": int(time.time()), "sg_event_id": "bad",
               "campaign_id": "has spaces"}]
    r = hooks.post_sendgrid(source["id"], events)
    body = json.loads(r.body)
    assert r.status_code == 200 and body["accepted"] == 0 and len(body["rejected"]) == 2


def test_transient_store_failure_is_a_5xx(api, hooks, monkeypatch):
    source = hooks.create_source("ses")

    def busy(*args, **kwargs):
        raise StoreUnavailable("throttled")
    monkeypatch.setattr(api.wired.ingest, "accept", busy)
    record = {"eventType": "Send", "mail": {"timestamp": now_iso(), "destination": ["a@x.example"]}}
    r = hooks.post_ses_record(source["id"], record)
    assert r.status_code == 503 and r.headers.get("Retry-After")


def test_machine_opens_flagged(api, hooks):
    sg_source = hooks.create_source("sendgrid")
    now = int(time.time())
    hooks.post_sendgrid(sg_source["id"], [
        {"event": "open", "email": "a@x.example", "timestamp": now, "sg_event_id": "o1", "campaign_id": "mo",
         "sg_machine_open": True},
        {"event": "open", "email": "a@x.example", "timestamp": now, "sg_event_id": "o2", "campaign_id": "mo",
         "sg_machine_open": False}])
    mg_source = hooks.create_source("mailgun")
    for i, bot in enumerate(("apple", "gmail", "")):
        hooks.post_mailgun(mg_source["id"], {"event": "opened", "id": f"mo{i}", "timestamp": time.time(),
                                             "recipient": "a@x.example", "client-info": {"bot": bot},
                                             "user-variables": {"campaign_id": "mo"}})
    totals = api.live("mo", "email")["totals"]
    assert (totals["open"], totals["open_machine"]) == (5, 3)


def test_ses_multi_recipient_bounce_counts_each_recipient(api, hooks):
    source = hooks.create_source("ses")
    record = {"notificationType": "Bounce",
              "mail": {"timestamp": now_iso(), "destination": ["a@x.example", "b@y.example", "c@z.example"],
                       "headers": [{"name": "X-SES-MESSAGE-TAGS", "value": "campaign_id=multi, profile_id=p9"}]},
              "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": now_iso(),
                         "bouncedRecipients": [{"emailAddress": "a@x.example"}, {"emailAddress": "b@y.example"},
                                               {"emailAddress": "c@z.example"}]}}
    assert hooks.post_ses_record(source["id"], record).status_code == 200
    report = api.live("multi", "email")
    assert report["totals"]["bounce"] == 3
    assert {r["value"] for r in report["breakdowns"]["bounce_type"]} == {"soft"}


HOSTILE_REASON = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","click me")'


def test_hostile_strings_stay_inert_data(api, hooks):
    source = hooks.create_source("sendgrid")
    now = int(time.time())
    hooks.post_sendgrid(source["id"], [
        {"event": "bounce", "type": "bounce", "email": "a@x.example", "timestamp": now, "sg_event_id": "h1",
         "campaign_id": "hostile", "reason": HOSTILE_REASON},
        {"event": "dropped", "email": "a@x.example", "timestamp": now, "sg_event_id": "h2",
         "campaign_id": "hostile", "reason": FORMULA},
        {"event": "click", "email": "a@x.example", "timestamp": now, "sg_event_id": "h3", "campaign_id": "hostile",
         "url": "javascript:alert(document.cookie)//" + "A" * 20000}])
    report = api.live("hostile", "email")
    assert report["breakdowns"]["bounce_reason"][0]["value"] == HOSTILE_REASON  # data; the page escapes it
    assert report["totals"]["click"] == 1
    csv_body = api.get("/v1/campaigns/hostile/live.csv?channel=email").body.decode()
    assert "'" + FORMULA.replace('"', '""') in csv_body  # neutralised with a leading apostrophe
    assert "\n=HYPERLINK" not in csv_body and ",=HYPERLINK" not in csv_body


def test_no_address_is_ever_stored(api, hooks):
    source = hooks.create_source("mailgun")
    hooks.post_mailgun(source["id"], {
        "event": "failed", "severity": "permanent", "reason": "bounce", "id": "addr", "timestamp": time.time(),
        "recipient": "secret.person@private.example", "user-variables": {"campaign_id": "privacy"},
        "delivery-status": {"code": 550, "message": "5.1.1 <secret.person@private.example>: user unknown"}})
    report = api.live("privacy", "email")
    assert report["totals"]["bounce"] == 1
    assert "secret.person" not in json.dumps(report)
    items = api.wired.client.scan(TableName="livereport-test")["Items"]
    assert "secret.person" not in json.dumps(items, default=repr)
    assert "private.example" in json.dumps(report)  # the domain is kept
