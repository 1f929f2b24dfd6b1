"""Alert rules through the API: validation (422/409), scopes, isolation, and an
end-to-end fire → email (moto SES) → resolve on ingested events."""
from __future__ import annotations

import email
import json
import time
from datetime import datetime, timezone
from email import policy

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import app as app_module
from consent_support import confirm_all
from chalicelib.alerts.runner import AlertRunner, Settings
from chalicelib.alerts.webhook import WebhookClient

SENDER = "alerts@example.com"
MANAGE = ("ingest", "read", "manage")
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script> & "quotes"'


def rule_body(**over):
    body = {"name": "Bounce spike", "campaign_id": "c1", "channel": "email", "metric": "bounce_rate", "op": ">",
            "threshold": 0.05, "window_minutes": 5, "min_volume": 20,
            "notify": {"emails": ["ops@example.com"]}, "language": "en"}
    body.update(over)
    return body


def post(api, body, key=None):
    headers = {"Authorization": f"Bearer {key or api.key('acme', MANAGE)}", "Content-Type": "application/json"}
    return api.client.http.post("/v1/alerts", headers=headers, body=json.dumps(body))


def delete(api, rule_id, key=None):
    return api.client.http.delete(f"/v1/alerts/{rule_id}",
                                  headers={"Authorization": f"Bearer {key or api.key('acme', MANAGE)}"})


@pytest.fixture
def alerting(api, monkeypatch):
    import boto3
    ses = boto3.client("sesv2", region_name="eu-west-1")
    ses.create_email_identity(EmailIdentity=SENDER)
    monkeypatch.setattr(app_module, "_ses_client", lambda: ses)
    monkeypatch.setenv("LIVEREPORT_ENV", "test")  # unsubscribe links signed with the development secret
    api.runner = AlertRunner(api.wired, ses, Settings(SENDER, "https://dash.example/app", "https://api.example/api"),
                             WebhookClient())
    return api


def sent_messages():
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)


def test_create_list_delete(api):
    r = post(api, rule_body())
    assert r.status_code == 201, r.body
    created = json.loads(r.body)
    assert created["state"] == "ok" and created["id"].startswith("al_") and "webhook_secret" not in created
    listed = json.loads(api.get("/v1/alerts", api.key("acme", MANAGE)).body)
    assert listed["can_manage"] is True
    assert [a["id"] for a in listed["alerts"]] == [created["id"]]
    assert listed["alerts"][0]["notify"]["emails"] == ["ops@example.com"]
    assert delete(api, created["id"]).status_code == 204
    assert delete(api, created["id"]).status_code == 404
    assert json.loads(api.get("/v1/alerts", api.key("acme", MANAGE)).body)["alerts"] == []


@pytest.mark.parametrize("over, fragment", [
    ({"metric": "bogus_rate"}, "unknown metric"),
    ({"channel": "fax"}, "unknown channel"),
    ({"channel": "web", "metric": "bounce_rate"}, "does not apply"),
    ({"threshold": 1.5}, "threshold"),
    ({"threshold": -0.1}, "threshold"),
    ({"metric": "sent", "threshold": -1}, "threshold"),
    ({"window_minutes": 4}, "window_minutes"),
    ({"window_minutes": 61}, "window_minutes"),
    ({"op": ">="}, "op"),
    ({"threshold": None}, "threshold are required"),
    ({"metric": "silence"}, "silence takes no op"),
    ({"campaign_id": "bad id!"}, "campaign_id"),
    ({"name": "line\nbreak"}, "control characters"),
    ({"notify": {"emails": ["not-an-address"]}}, "not a valid email"),
    ({"notify": {"webhook_url": "http://hooks.example.com/x"}}, "https"),
    ({"notify": {"webhook_url": "https://10.1.2.3/x"}}, "refused"),
    ({"notify": {"webhook_url": "https://localhost/x"}}, "refused"),
    ({"notify": {"webhook_url": "https://169.254.169.254/latest"}}, "refused"),
    ({"unexpected": 1}, "unexpected"),
])
def test_invalid_rules_get_clear_422s(api, over, fragment):
    r = post(api, rule_body(**over))
    assert r.status_code == 422, r.body
    error = json.loads(r.body)["error"]
    assert error["code"] == "invalid_alert" and fragment in error["message"], error


def test_valid_variants_and_secret_shown_once(api):
    for over in ({"metric": "silence", "op": None, "threshold": None}, {"metric": "sent", "op": "<", "threshold": 10},
                 {"metric": "spam_complaint_rate", "threshold": 0.001}, {"campaign_id": "*"},
                 {"channel": "sms", "metric": "error_rate"}):
        body = rule_body(**over)
        body = {k: v for k, v in body.items() if v is not None}
        assert post(api, body).status_code == 201, (over, post(api, body).body)
    r = json.loads(post(api, rule_body(notify={"webhook_url": "https://hooks.example.com/x"})).body)
    assert r["webhook_secret"].startswith("whsec_")
    listed = json.loads(api.get("/v1/alerts", api.key("acme", MANAGE)).body)["alerts"]
    assert all("webhook_secret" not in a for a in listed)
    assert json.dumps(listed).count(r["webhook_secret"]) == 0


def test_at_most_100_rules_per_workspace(api):
    from chalicelib.alerts.store import AlertStore
    store = AlertStore(api.wired.client, api.wired.config.table_name)
    for _ in range(100):
        store.create("acme", rule_body(), time.time(), False)
    r = post(api, rule_body())
    assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "limit_reached"
    assert post(api, rule_body(), key=api.key("other", MANAGE)).status_code == 201


def test_scopes_and_isolation(api):
    created = json.loads(post(api, rule_body(notify={"emails": ["ops@example.com"],
                                                     "webhook_url": "https://hooks.example.com/T0/B0/secret"})).body)
    read, ingest = api.key("acme", ("read",)), api.key("acme", ("ingest",))
    assert post(api, rule_body(), key=read).status_code == 403
    assert post(api, rule_body(), key=ingest).status_code == 403
    assert delete(api, created["id"], key=read).status_code == 403
    assert api.get("/v1/alerts", ingest).status_code == 403
    assert api.client.http.get("/v1/alerts").status_code == 401
    # read keys see rules and states, never addresses or webhook URLs
    r = api.get("/v1/alerts", read)
    assert r.status_code == 200
    body = json.loads(r.body)
    assert body["can_manage"] is False and body["alerts"][0]["notify"] == {"emails": 1, "webhook": True}
    assert b"ops@example.com" not in r.body and b"hooks.example.com" not in r.body
    assert api.get(f"/v1/alerts/{created['id']}/history", read).status_code == 200
    # another workspace sees and deletes nothing
    other = api.key("beta", MANAGE)
    assert json.loads(api.get("/v1/alerts", other).body)["alerts"] == []
    assert api.get(f"/v1/alerts/{created['id']}/history", other).status_code == 404
    assert delete(api, created["id"], key=other).status_code == 404
    assert json.loads(api.get("/v1/alerts", read).body)["alerts"][0]["id"] == created["id"]


def minute_events(campaign: str, start_minute: int, minutes: int, sent: int, bounce_at: dict[int, int],
                  prefix: str) -> list[dict]:
    out = []
    for m in range(minutes):
        ts = datetime.fromtimestamp(start_minute + m * 60 + 5, timezone.utc).isoformat()
        bounces = bounce_at.get(m, 0)
        for i in range(sent):
            base = {"timestamp": ts, "campaign_id": campaign, "channel": "email", "profile_id": f"p{m}-{i}"}
            out.append({**base, "event_id": f"{prefix}-{m}-{i}-s", "type": "sent"})
            kind = "bounce" if i < bounces else "delivered"
            extra = {"bounce_type": "hard"} if kind == "bounce" else {}
            out.append({**base, "event_id": f"{prefix}-{m}-{i}-d", "type": kind, **extra})
    return out


def test_a_spike_fires_once_emails_and_resolves(alerting):
    api = alerting
    manage = api.key("acme", MANAGE)
    created = json.loads(post(api, rule_body(name=HOSTILE, language="fr")).body)
    star = json.loads(post(api, rule_body(name="all campaigns", campaign_id="*", notify={})).body)
    assert confirm_all(api.wired) == 1  # ops@example.com answers the confirmation request
    now = time.time()
    end = int(now) - int(now) % 60
    start = end - 30 * 60
    # 30 minutes of 10 sends a minute; minute 27 bounces 8 of 10 (c1); c2 stays clean
    events = minute_events("c1", start, 30, 10, {27: 8}, "a") + minute_events("c2", start, 30, 10, {}, "b")
    for i in range(0, len(events), 1000):
        assert json.loads(api.post_events(events[i:i + 1000], key=manage).body)["accepted"] == len(events[i:i + 1000])
    result = api.runner.run(end + 1)
    assert result.fired == 2 and result.resolved == 0  # the c1 rule and the "*" rule on c1 only
    assert result.queries == 2  # one query per (campaign, channel): c1 shared by both rules, c2 for "*"
    messages = sent_messages()
    assert len(messages) == 1 and "ops@example.com" in messages[0].destinations[0]  # the "*" rule emails nobody
    fr = email.message_from_string(messages[0].raw_data, policy=policy.default)
    assert fr["Subject"].startswith("[Alerte] ") and HOSTILE in fr["Subject"]
    html = fr.get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
    # the link opens the rule's workspace, dates in the zone the email writes them in (UTC)
    assert "https://dash.example/app/?ws=acme&amp;campaign=c1&amp;tab=email&amp;mode=live&amp;tz=UTC" in html
    assert "Taux de rebond" in html and "5" in html
    assert fr["List-Unsubscribe"].startswith("<https://api.example/api/v1/unsubscribe?token=v2.")
    assert fr["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Ne plus recevoir ces alertes" in html
    text = fr.get_body(("plain",)).get_content()
    assert HOSTILE in text and "Fenêtre: 5 minutes" in text
    # a second run in the same minute changes nothing and sends nothing
    before = len(sent_messages())
    assert api.runner.run(end + 30).fired == 0 and len(sent_messages()) == before
    listed = {a["id"]: a for a in json.loads(api.get("/v1/alerts?campaign_id=c1", manage).body)["alerts"]}
    assert listed[created["id"]]["state"] == "firing"
    assert listed[created["id"]]["value"] == pytest.approx(8 / 50)
    assert listed[star["id"]]["campaigns"][0]["campaign_id"] == "c1"
    # the spike minute leaves the window 3 minutes later; a full window after that, it resolves
    assert api.runner.run(end + 60 * 6).resolved == 0
    result = api.runner.run(end + 60 * 7)
    assert result.resolved == 2
    history = json.loads(api.get(f"/v1/alerts/{created['id']}/history", manage).body)["history"]
    assert [h["to"] for h in history] == ["ok", "firing"]
    assert history[1]["delivery"]["emails_sent"] == 1 and history[1]["value"] == pytest.approx(0.16)


def test_the_schedule_runs_the_evaluator_and_the_demo_rule_is_seeded_once(alerting):
    from infra.local.schedules import DEMO_RULE, seed_demo_alerts
    api = alerting
    seed_demo_alerts(api.wired)
    seed_demo_alerts(api.wired)
    demo = json.loads(api.get("/v1/alerts", api.key("demo", ("read",))).body)["alerts"]
    assert [a["name"] for a in demo] == [DEMO_RULE["name"]] and demo[0]["notify"] == {"emails": 1, "webhook": False}
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                detail={}, resources=[])
    summary = api.client.lambda_.invoke("evaluate_alerts", event).payload
    assert summary["workspaces"] == 1 and summary["rules"] == 1 and summary["queries"] == 0  # no data, no reads
