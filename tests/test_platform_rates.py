"""Numbers that read right on sending-platform traffic (issue 17 §1).

Platforms never know our profile_id and do not always report a send for every
message. Every sample platform, a deliveries-and-bounces-only SES source and
random event mixes must give rates of at most 100 %, distinct opens and clicks
that count people (a keyed hash of the recipient address), and the inferred
sends beside the reported ones.
"""
from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import catalogue
from chalicelib.profile_keys import ProfileKeys, normalise_address
from infra.webhooks import samples
from webhook_support import hooks, network  # noqa: F401 - fixtures


def all_rates_readable(doc: dict) -> None:
    """Every rate of a report document is None or within [0, 1]; distinct never above its total."""
    for name, value in (doc.get("rates") or {}).items():
        assert value is None or 0.0 <= value <= 1.0, (name, value)
    for metric, n in (doc.get("distinct") or {}).items():
        if metric in doc.get("totals", {}):
            assert n <= doc["totals"][metric], (metric, n, doc["totals"][metric])
    for row in doc.get("by_domain", []):
        assert row["raw_reactivity"] is None or 0.0 <= row["raw_reactivity"] <= 1.0, row


def sent_shown(doc: dict) -> int:
    return doc["totals"]["sent"] + doc["inferred"]["sent"]


def test_ses_identity_notifications_deliveries_and_bounces_only(api, hooks):
    """SES identity notifications carry no Send: every delivery and bounce is an inferred send."""
    source = hooks.create_source("ses", default_campaign="ses-identity")
    stamp = samples.iso(time.time())
    for i in range(8):
        hooks.post_ses_record(source["id"], {
            "notificationType": "Delivery", "mail": {"timestamp": stamp, "messageId": f"m{i}",
                                                     "destination": [f"Person{i}@Example.com"]},
            "delivery": {"timestamp": stamp, "recipients": [f"person{i}@example.com"]}})
    for i in range(8, 10):
        hooks.post_ses_record(source["id"], {
            "notificationType": "Bounce", "mail": {"timestamp": stamp, "messageId": f"m{i}",
                                                   "destination": [f"person{i}@example.com"]},
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "timestamp": stamp,
                       "bouncedRecipients": [{"emailAddress": f"person{i}@example.com"}]}})
    hooks.post_ses_record(source["id"], {
        "notificationType": "Complaint", "mail": {"timestamp": stamp, "messageId": "m1",
                                                  "destination": ["person1@example.com"]},
        "complaint": {"timestamp": stamp, "complainedRecipients": [{"emailAddress": "person1@example.com"}]}})
    doc = api.live("ses-identity", "email")
    assert doc["totals"]["sent"] == 0 and doc["inferred"] == {"sent": 10, "delivered": 0}
    assert doc["rates"]["delivered_rate"] == 0.8 and doc["rates"]["bounce_rate"] == 0.2
    assert doc["rates"]["complaint_rate"] == 0.125
    all_rates_readable(doc)
    glob = api.global_report("ses-identity", "email")
    assert glob["blocks"]["delivery_overview"]["sent_inferred"] == 10
    assert glob["rates"]["delivered_rate"] == 0.8
    all_rates_readable(glob)


def test_every_platforms_samples_give_readable_rates_and_distinct_people(api, hooks):
    now = time.time()
    ses = hooks.create_source("ses", default_campaign="pf-ses")
    for _, record in samples.ses_records(now):
        assert hooks.post_ses_record(ses["id"], record).status_code == 200
    sendgrid = hooks.create_source("sendgrid", default_campaign="pf-sg")
    assert hooks.post_sendgrid(sendgrid["id"], samples.sendgrid_events(now, "r")).status_code == 200
    mailgun = hooks.create_source("mailgun", default_campaign="pf-mg")
    for data in samples.mailgun_event_data(now, "r"):
        assert hooks.post_mailgun(mailgun["id"], data).status_code == 200
    twilio = hooks.create_source("twilio", default_campaign="pf-tw")
    for params in samples.twilio_params("r"):
        assert hooks.post_twilio(twilio["id"], params).status_code == 200
    postmark = hooks.create_source("postmark", default_campaign="pf-pm")
    for record in samples.postmark_records(now, "r"):
        assert hooks.post_postmark(postmark["id"], record).status_code == 200

    for campaign, channel in (("pf-ses", "email"), ("pf-sg", "email"), ("pf-mg", "email"), ("pf-tw", "sms"),
                              ("pf-pm", "email")):
        doc = api.live(campaign, channel)
        all_rates_readable(doc)
        t = doc["totals"]
        assert sent_shown(doc) >= t["delivered"] + t["bounce"] + t["error"], campaign
        if channel == "email":
            all_rates_readable(api.global_report(campaign, channel))
            if t["open"] - t["open_machine"] > 0:  # human opens by identified recipients count people
                assert doc["distinct"]["open"] > 0, campaign
            if t["click"]:
                assert doc["distinct"]["click"] > 0, campaign
                assert doc["rates"]["click_rate"] is not None and doc["rates"]["reactivity"] is not None
    # Twilio's samples: 1 reported send, 3 delivered and 15 failed messages
    tw = api.live("pf-tw", "sms")
    assert (tw["totals"]["sent"], tw["inferred"]["sent"]) == (1, 17)
    assert tw["rates"]["delivered_rate"] == round(3 / 18, 6) and tw["rates"]["error_rate"] == round(15 / 18, 6)


def test_a_recipient_counts_once_whatever_its_spelling_and_is_never_stored(api, hooks, aws):
    source = hooks.create_source("sendgrid", default_campaign="spelled")
    now = int(time.time())
    events = [{"event": "open", "email": spelling, "timestamp": now, "sg_event_id": f"o{i}",
               "sg_message_id": f"msg{i}"}
              for i, spelling in enumerate(["Jane@Example.com", "jane@example.com ", "JANE@EXAMPLE.COM", "bob@x.org"])]
    events.append({"event": "click", "email": "jane@example.com", "timestamp": now, "sg_event_id": "c1",
                   "url": "https://shop.example/a"})
    assert hooks.post_sendgrid(source["id"], events).status_code == 200
    doc = api.live("spelled", "email")
    assert (doc["totals"]["open"], doc["distinct"]["open"], doc["distinct"]["click"]) == (4, 2, 1)
    assert doc["rates"]["reactivity"] == 0.5  # 1 clicker of 2 openers
    # no address anywhere in the table: only its domain and keyed hashes
    dump = json.dumps(aws.scan(TableName="livereport-test")["Items"], default=str).lower()
    assert "jane@" not in dump and "bob@" not in dump


def test_profile_keys_are_keyed_per_workspace_and_spelling_blind():
    keys = ProfileKeys(b"0123456789abcdef-test-secret")
    a = keys.key("acme", "r", "Jane@Example.com")
    assert a == keys.key("acme", "r", " jane@example.com") and a.startswith("r:") and "jane" not in a
    assert a != keys.key("other", "r", "jane@example.com")
    assert a != ProfileKeys(b"another-secret-0123456789").key("acme", "r", "jane@example.com")
    assert keys.key("acme", "r", "+33 6 12-34-56-78") == keys.key("acme", "r", "+33612345678")
    assert keys.key("acme", "m", "<id@x>") != keys.key("acme", "r", "<id@x>")
    assert normalise_address(" <Jane@Example.COM> ") == "jane@example.com"


def test_api_events_without_profile_id_count_people_by_recipient(api):
    now = datetime.now(timezone.utc).isoformat()
    events = [{"event_id": f"e{i}", "timestamp": now, "campaign_id": "anon", "channel": "email", "type": t,
               "recipient": r} for i, (t, r) in enumerate([
                   ("sent", "a@x.org"), ("sent", "b@x.org"), ("delivered", "a@x.org"), ("delivered", "b@x.org"),
                   ("open", "a@x.org"), ("open", "A@X.org"), ("click", "a@x.org")])]
    assert json.loads(api.post_events(events).body)["accepted"] == 7
    doc = api.live("anon", "email")
    assert doc["distinct"]["open"] == 1 and doc["rates"]["open_rate"] == 0.5 and doc["rates"]["click_rate"] == 0.5


def test_machine_opens_are_shown_beside_human_opens_and_left_out_of_rates(api):
    now = datetime.now(timezone.utc).isoformat()
    base = {"timestamp": now, "campaign_id": "mpp", "channel": "email"}
    events = [{**base, "event_id": f"s{i}", "type": "delivered", "profile_id": f"p{i}"} for i in range(10)]
    events += [{**base, "event_id": f"m{i}", "type": "open", "machine": True, "profile_id": f"p{i}"} for i in range(6)]
    events += [{**base, "event_id": f"h{i}", "type": "open", "profile_id": f"p{i}"} for i in range(4, 7)]
    events += [{**base, "event_id": "c1", "type": "click", "profile_id": "p9", "url": "https://x.test/"}]
    api.post_events(events)
    doc = api.live("mpp", "email")
    assert (doc["totals"]["open"], doc["totals"]["open_machine"]) == (9, 6)
    assert (doc["distinct"]["open"], doc["distinct"]["open_machine"]) == (3, 6)
    assert doc["distinct_combined"] == {"open_all": 7, "engaged": 4, "engaged_all": 8}
    assert doc["rates"]["open_rate"] == 0.3 and doc["rates"]["open_rate_all"] == 0.7
    assert doc["rates"]["reactivity"] == 0.25 and doc["rates"]["reactivity_all"] == 0.125
    assert doc["inferred"] == {"sent": 10, "delivered": 0}


# --- no rate above 100 %, whatever the mix ----------------------------------------------------

TYPES_BY_CHANNEL = {c: [t for t, spec in catalogue.EVENT_TYPES.items() if c in spec.channels]
                    for c in catalogue.CHANNELS}
EXTRA = {"bounce": {"bounce_type": "hard"}, "click": {"url": "https://x.test/l"}}


def random_mix(rng: random.Random, campaign: str, now: datetime) -> list[dict]:
    """A random mix of every type a channel has, heavy on outcomes without sends."""
    events = []
    for channel in rng.sample(catalogue.CHANNELS, 3):
        types = TYPES_BY_CHANNEL[channel]
        weights = [rng.choice([0, 0, 1, 5, 20]) for _ in types]
        if not any(weights):
            weights[0] = 1
        for i in range(rng.randint(1, 60)):
            etype = rng.choices(types, weights)[0]
            ev = {"event_id": f"{channel}{i}", "campaign_id": campaign, "channel": channel, "type": etype,
                  "timestamp": (now - timedelta(minutes=rng.randint(0, 23 * 60))).isoformat(), **EXTRA.get(etype, {})}
            if rng.random() < 0.8:
                ev["profile_id"] = f"p{rng.randint(0, 15)}"
            elif rng.random() < 0.5:
                ev["recipient"] = f"u{rng.randint(0, 15)}@d{rng.randint(0, 2)}.example"
            if etype == "open" and rng.random() < 0.3:
                ev["machine"] = True
            events.append(ev)
    return events


@pytest.mark.parametrize("seed", range(12))
def test_no_rate_above_100_percent_for_any_mix(api, seed):
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    campaign = f"mix{seed}"
    events = random_mix(rng, campaign, now)
    assert json.loads(api.post_events(events).body)["rejected"] == []
    channels = {e["channel"] for e in events}
    for channel in channels:
        for window in (None, "1h"):
            doc = api.live(campaign, channel, window=window)
            all_rates_readable(doc)
            if "delivered" in doc["totals"]:
                assert sent_shown(doc) >= doc["totals"]["delivered"] + doc["inferred"]["delivered"]
        r = api.get(f"/v1/campaigns/{campaign}/live?channel={channel}&compare=previous")
        all_rates_readable(json.loads(r.body))
        if channel in ("email", "sms", "push"):
            all_rates_readable(api.global_report(campaign, channel))
