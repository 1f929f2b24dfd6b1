"""Each sending platform's per-message metadata can name the experiment's variant
(docs/experiments.md, docs/webhooks.md): SendGrid custom args, Mailgun
user-variables, SES message tags, Postmark Metadata, a Twilio status-callback
query parameter. Published samples, tagged, signed and posted at the webhook
routes, land in the variant's people and successes."""
from __future__ import annotations

import copy
import json
import time
from typing import Any

from chalicelib.webhooks import postmark
from chalicelib.webhooks.common import Defaults
from infra.webhooks import samples
from webhook_support import hooks, network, query  # noqa: F401 - fixtures


def people_and_clickers(api, campaign: str, channel: str = "email") -> dict[str, tuple[int, int]]:
    r = api.get(f"/v1/campaigns/{campaign}/experiment?channel={channel}")
    assert r.status_code == 200, r.body
    return {v["variant"]: (v["people"], v["successes"]) for v in json.loads(r.body)["variants"]}


def first(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    return copy.deepcopy(next(i for i in items if all(i.get(k) == v for k, v in match.items())))


def test_sendgrid_custom_args(api, hooks):
    source = hooks.create_source("sendgrid")
    events = samples.sendgrid_events(time.time(), "var")
    sent, click = first(events, event="processed"), first(events, event="click")
    batch = []
    for n, (who, variant) in enumerate((("ann@x.example", "A"), ("bob@x.example", "B"))):
        for kind, template in (("p", sent), ("c", click)):
            ev = {**template, "email": who, "sg_event_id": f"var-{n}-{kind}", "sg_message_id": f"m{n}",
                  "campaign_id": "sg-test", "variant": variant}  # custom_args arrive as top-level keys
            if kind == "p" or variant == "B":
                batch.append(ev)
    assert json.loads(hooks.post_sendgrid(source["id"], batch).body)["rejected"] == []
    assert people_and_clickers(api, "sg-test") == {"A": (1, 0), "B": (1, 1)}


def test_mailgun_user_variables(api, hooks):
    source = hooks.create_source("mailgun")
    data = samples.mailgun_event_data(time.time(), "var")
    for n, (who, variant) in enumerate((("ann@x.example", "A"), ("bob@x.example", "B"))):
        for kind in ("accepted", "clicked"):
            if kind == "clicked" and variant == "A":
                continue
            ev = {**first(data, event=kind), "recipient": who, "id": f"mg-var-{n}-{kind}",
                  "user-variables": {"campaign_id": "mg-test", "variant": variant}}
            body = json.loads(hooks.post_mailgun(source["id"], ev).body)
            assert body["rejected"] == [] and body["accepted"] == 1, body
    assert people_and_clickers(api, "mg-test") == {"A": (1, 0), "B": (1, 1)}


def test_ses_message_tags(api, hooks):
    source = hooks.create_source("ses")
    records = [r for _, r in samples.ses_records(time.time())]
    for n, (who, variant) in enumerate((("ann@x.example", "A"), ("bob@x.example", "B"))):
        for kind in ("Send", "Click"):
            if kind == "Click" and variant == "A":
                continue
            record = first(records, eventType=kind)
            record["mail"].update(messageId=f"ses-var-{n}", destination=[who],
                                  tags={"campaign_id": ["ses-test"], "variant": [variant]})
            r = hooks.post_ses_record(source["id"], record)
            assert r.status_code == 200 and json.loads(r.body)["rejected"] == [], r.body
    assert people_and_clickers(api, "ses-test") == {"A": (1, 0), "B": (1, 1)}


def test_twilio_status_callback_query(api, hooks):
    source = hooks.create_source("twilio")
    callbacks = samples.twilio_params("var")
    sent = next(p for p in callbacks if dict(p).get("MessageStatus") == "sent")
    for n, (to, variant) in enumerate((("+33600000001", "A"), ("+33600000002", "B"))):
        params = [(k, {"To": to, "MessageSid": f"SMvar{n}"}.get(k, v)) for k, v in sent]
        r = hooks.post_twilio(source["id"], params, query=query(campaign_id="tw-test", variant=variant))
        assert r.status_code == 200 and json.loads(r.body)["rejected"] == [], r.body
    assert people_and_clickers(api, "tw-test", "sms") == {"A": (1, 0), "B": (1, 0)}


def test_postmark_metadata():
    """Postmark sends no `sent` webhook (people come from the producer's own `sent` events);
    its records carry the variant of their Metadata."""
    records = samples.postmark_records(time.time(), "var")
    click = {**first(records, RecordType="Click"), "Metadata": {"campaign_id": "pm-test", "variant": "B"}}
    (event,) = postmark.map_events(click, Defaults(), time.time()).events
    assert (event["type"], event["campaign_id"], event["variant"]) == ("click", "pm-test", "B")


def test_a_bad_variant_is_refused_with_a_reason(api, hooks):
    source = hooks.create_source("sendgrid")
    sent = first(samples.sendgrid_events(time.time(), "bad"), event="processed")
    ev = {**sent, "sg_event_id": "bad-1", "campaign_id": "sg-bad", "variant": "<script>alert(1)</script>"}
    body = json.loads(hooks.post_sendgrid(source["id"], [ev]).body)
    assert body["accepted"] == 0 and body["rejected"][0]["reason"].startswith("variant")
