"""Every published sample of SES, SendGrid, Mailgun and Twilio, signed with test
keys and posted at the webhook routes, is either counted as docs/webhooks.md's
mapping tables say, or acknowledged (2xx) as unmappable. Counts are checked per
event type against the live report."""
from __future__ import annotations

import json
import time

import pytest

from infra.webhooks import samples
from webhook_support import TOPIC, hooks, network  # noqa: F401 - fixtures



def counted(report: dict) -> dict[str, int]:
    return {k: v for k, v in report["totals"].items() if v and k not in ("engagements",)}


def breakdown(report: dict, name: str, metric: str | None = None) -> dict[str, int]:
    return {r["value"]: (r["counts"].get(metric, 0) if metric else r["count"])
            for r in report["breakdowns"].get(name, [])}


def test_every_ses_sample_is_counted_or_acknowledged(api, hooks):
    source = hooks.create_source("ses", default_campaign="ses-samples")
    now = time.time()
    unmapped = 0
    for label, record in samples.ses_records(now):
        r = hooks.post_ses_record(source["id"], record)
        assert r.status_code == 200, (label, r.body)
        body = json.loads(r.body)
        assert body["rejected"] == [], (label, body)
    for label, message in samples.ses_envelope_messages(now):
        r = hooks.post_ses_record(source["id"], message)
        assert r.status_code == 200, (label, r.body)
        unmapped += json.loads(r.body)["unmapped"]
    # the sample subscription and unsubscribe confirmations, re-signed for our topic
    for envelope in samples.load("ses_sns_envelopes.json"):
        if envelope["Type"] != "Notification":
            signed = hooks.sns.sign({k: v for k, v in envelope.items() if k not in ("Signature", "SigningCertURL")}
                                    | {"TopicArn": TOPIC, "Timestamp": samples.iso(now)})
            assert hooks.post_sns(source["id"], signed).status_code == 200
    assert unmapped == 2  # "Successfully validated SNS topic..." and "Hello world!"
    confirmations = [u for u in hooks.network.fetched if "ConfirmSubscription" in u]
    assert len(confirmations) == 2  # the two SubscriptionConfirmation samples, not the Unsubscribe ones

    report = api.live("ses-samples", "email")
    assert counted(report) == {"sent": 2, "delivered": 6, "bounce": 11, "spam_complaint": 5, "error": 4,
                               "open": 3, "click": 3, "retry": 1, "unsubscribe": 1, "excluded": 4}
    assert breakdown(report, "bounce_type") == {"hard": 10, "soft": 1}
    assert breakdown(report, "exclusion_reason") == {"suppressed": 4}
    assert breakdown(report, "error_type") == {"refused": 2, "unspecified": 2}
    domains = breakdown(report, "recipient_domain", "delivered")
    assert {d: n for d, n in domains.items() if n} == {"example.com": 3, "simulator.amazonses.com": 3}
    assert not any("@" in r["value"].split("…@")[0] for r in report["breakdowns"]["bounce_reason"])


def test_every_sendgrid_sample_in_one_signed_batch(api, hooks):
    source = hooks.create_source("sendgrid", default_campaign="sg-samples")
    events = samples.sendgrid_events(time.time(), "run1")
    r = hooks.post_sendgrid(source["id"], events)
    assert r.status_code == 200, r.body
    body = json.loads(r.body)
    assert (body["accepted"], body["rejected"], body["unmapped"]) == (44, [], 2)  # group_resubscribe ×2
    report = api.live("sg-samples", "email")
    assert counted(report) == {"sent": 7, "retry": 3, "delivered": 5, "open": 7, "click": 5, "bounce": 4,
                               "excluded": 6, "spam_complaint": 2, "unsubscribe": 5}
    assert breakdown(report, "bounce_type") == {"hard": 3, "soft": 1}
    assert breakdown(report, "exclusion_reason") == {"Bounced Address": 4, "Invalid": 1, "Unsubscribed Address": 1}


def test_every_mailgun_sample(api, hooks):
    source = hooks.create_source("mailgun", default_campaign="mg-samples")
    unmapped = 0
    for data in samples.mailgun_event_data(time.time(), "run1"):
        r = hooks.post_mailgun(source["id"], data)
        assert r.status_code == 200, r.body
        unmapped += json.loads(r.body)["unmapped"]
    assert unmapped == 1  # "stored" (inbound routing)
    report = api.live("mg-samples", "email")
    assert counted(report) == {"delivered": 2, "bounce": 2, "retry": 4, "error": 2, "spam_complaint": 2,
                               "unsubscribe": 2, "open": 3, "open_machine": 1, "click": 2, "sent": 4, "excluded": 1}
    assert breakdown(report, "bounce_type") == {"hard": 2}
    assert breakdown(report, "error_type") == {"refused": 2}


def test_every_twilio_sample(api, hooks):
    source = hooks.create_source("twilio", default_campaign="tw-samples")
    assert source["channel"] == "sms"
    unmapped = []
    for params in samples.twilio_params("run1"):
        r = hooks.post_twilio(source["id"], params)
        assert r.status_code == 200, r.body
        unmapped.append(json.loads(r.body)["unmapped"])
    assert sum(unmapped) == 5  # accepted, scheduled, queued, sending, "invalid"
    report = api.live("tw-samples", "sms")
    assert counted(report) == {"sent": 1, "delivered": 3, "error": 15, "excluded": 1}
    assert breakdown(report, "error_type") == {"unreachable": 1, "user_unknown": 1, "not_connected": 1,
                                               "refused": 3, "unspecified": 9}


def test_postmark_record_types(api, hooks):
    """Postmark has no sample file: one record per RecordType as its docs name the fields."""
    source = hooks.create_source("postmark", default_campaign="pm-records")
    now = time.time()
    records = samples.postmark_records(now, "run1")
    records.append({"RecordType": "SubscriptionChange", "MessageID": "pm-back", "Recipient": "a@x.example",
                    "ChangedAt": samples.iso(now), "SuppressSending": False})
    records.append({"RecordType": "Bounce", "ID": 77, "Type": "SomethingNew", "Email": "a@x.example",
                    "BouncedAt": samples.iso(now), "Metadata": {"campaign_id": "pm-records", "profile_id": "p1"}})
    unmapped = 0
    for record in records:
        r = hooks.post_postmark(source["id"], record)
        assert r.status_code == 200, r.body
        unmapped += json.loads(r.body)["unmapped"]
    assert unmapped == 1
    report = api.live("pm-records", "email")
    assert counted(report) == {"delivered": 1, "bounce": 2, "spam_complaint": 1, "open": 1, "click": 1,
                               "unsubscribe": 1}
    assert breakdown(report, "bounce_type") == {"hard": 1, "ignored": 1}


def test_ses_undetermined_bounce_and_opt_in_subscription(api, hooks):
    source = hooks.create_source("ses", default_campaign="ses-edge")
    stamp = samples.iso(time.time())
    undetermined = {"notificationType": "Bounce", "mail": {"timestamp": stamp, "destination": ["a@x.example"]},
                    "bounce": {"bounceType": "Undetermined", "bounceSubType": "Undetermined", "timestamp": stamp,
                               "bouncedRecipients": [{"emailAddress": "a@x.example"}]}}
    opt_in = {"eventType": "Subscription", "mail": {"timestamp": stamp, "destination": ["a@x.example"]},
              "subscription": {"timestamp": stamp, "newTopicPreferences": {
                  "unsubscribeAll": False, "topicSubscriptionStatus": [{"topicName": "t", "subscriptionStatus": "OptIn"}]}}}
    assert hooks.post_ses_record(source["id"], undetermined).status_code == 200
    r = hooks.post_ses_record(source["id"], opt_in)
    assert r.status_code == 200 and json.loads(r.body)["unmapped"] == 1
    report = api.live("ses-edge", "email")
    assert counted(report) == {"bounce": 1}
    assert breakdown(report, "bounce_type") == {"ignored": 1}
