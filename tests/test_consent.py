"""Consent (issue 19 points 6-7): addresses outside the workspace confirm before they receive anything
(double opt-in by a signed link, POST only), unsubscribe acts on POST only (RFC 8058: one-click or the
page's button; scanners' GET and HEAD change nothing), a daily per-workspace quota stops excess sends
visibly, and every recipient's status shows in the subscriptions and alert rules APIs."""
from __future__ import annotations

import dataclasses
import email
import json
import time
from email import policy
from urllib.parse import parse_qs, quote, urlparse

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import app as app_module
from accounts_support import call, member, pool  # noqa: F401
from consent_support import wire_senders
from chalicelib.consent.lists import SUB, ref
from chalicelib.snapshots.tokens import CONFIRM, UNSUBSCRIBE, TokenSigner

SECRET = "test-unsubscribe-secret-0123456789"
SENDER = "reports@example.com"
MANAGE = ("ingest", "read", "manage")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def env(api, monkeypatch):
    wire_senders(api, monkeypatch, SECRET, SENDER)
    return api


def messages(to: str | None = None):
    found = list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)
    return [email.message_from_string(m.raw_data, policy=policy.default) for m in found
            if to is None or to in m.destinations[0]]


def subscribe(api, recipients, key=None, **over):
    body = {"campaign_id": "c1", "report": "live", "channel": "email", "recipients": recipients,
            "frequency": {"type": "hourly"}, "language": "en", "allow_unknown_campaign": True, **over}
    r = api.client.http.post("/v1/subscriptions", body=json.dumps(body), headers={
        "Authorization": f"Bearer {key or api.key('acme', MANAGE)}", "Content-Type": "application/json"})
    assert r.status_code == 201, r.body
    return json.loads(r.body)


def listing(api):
    r = api.get("/v1/subscriptions", api.key("acme", MANAGE))
    assert r.status_code == 200, r.body
    return json.loads(r.body)


def statuses(api, sub_id: str) -> dict[str, str]:
    sub = next(s for s in listing(api)["subscriptions"] if s["subscription_id"] == sub_id)
    return {r["address"]: r["status"] for r in sub["recipient_status"]}


def mail_queue(now: float | None = None, api=None):
    """The mailer's run: through the Lambda schedule when `api` is given (its AWS calls checked
    against the mailer's role, tests/iam_check.py), else directly at `now`."""
    if api is not None:
        event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                    detail={}, resources=[])
        return api.client.lambda_.invoke("send_queued_emails", event).payload
    return app_module.mailer_for().run(now or time.time()).summary()


def snapshots(now: float):
    app_module.wired().roll(now)
    return app_module.snapshot_runner_for().run(now).summary()


def link_of(message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return next(line.strip() for line in text.splitlines() if f"/v1/{path}?token=" in line)


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def page(api, method: str, path: str, token: str, body: bytes = b"", headers=None):
    return api.client.http.request(method, f"/v1/{path}?token={quote(token)}", body=body,
                                   headers={**(FORM if method == "POST" else {}), **(headers or {})})


def next_hour(t: float) -> float:
    return t - t % 3600 + 3600 + 60


def test_outsiders_confirm_before_receiving_members_are_confirmed_already(env, pool, wired):
    member(wired, "acme", pool.user("mia@example.com"), "mia@example.com", "viewer")
    sub = subscribe(env, ["mia@example.com", "Out.Sider@Example.org", "other@example.net"])
    assert {r["address"]: r["status"] for r in sub["recipient_status"]} == {
        "mia@example.com": "confirmed", "Out.Sider@example.org": "pending", "other@example.net": "pending"}
    assert listing(env)["quota"]["limit"] == 500
    # the snapshot goes to the member only
    assert snapshots(next_hour(time.time()))["sent"] == 1
    assert [m["To"] for m in messages()] == ["mia@example.com"]
    # one confirmation request per pending address, sent once by the scheduled mailer
    assert mail_queue(api=env)["sent"] == 2 and mail_queue(api=env)["sent"] == 0
    (request,) = messages("Out.Sider@example.org")
    assert request["Subject"] == "Please confirm: emails from workspace acme"
    text, html = request.get_body(("plain",)).get_content(), request.get_body(("html",)).get_content()
    assert "API key k_" in text and "the live report of campaign c1 (Email), every hour at :00 UTC" in text
    assert "Nothing will be sent to you unless you confirm." in text
    assert 'name="viewport"' in html and "https://reports.test/api/v1/consent?token=v2." in html
    assert "List-Unsubscribe" not in request  # a one-off request, not a list
    after = listing(env)["subscriptions"][0]["recipient_status"]
    assert all(r["requested_at"] for r in after if r["status"] == "pending")
    token = token_of(link_of(request, "consent"))
    # a link preview, a scanner's HEAD and GET: a page, nothing changes
    for method in ("GET", "HEAD", "GET"):
        r = page(env, method, "consent", token)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    r = page(env, "GET", "consent", token)
    assert b'method="post"' in r.body and b'value="yes"' in r.body and b'value="no"' in r.body
    assert b"width=device-width" in r.body and "form-action 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store" and r.headers["Referrer-Policy"] == "no-referrer"
    assert page(env, "HEAD", "consent", token).body == b""
    assert statuses(env, sub["subscription_id"])["Out.Sider@example.org"] == "pending"
    # the page's "Yes" button
    r = page(env, "POST", "consent", token, b"answer=yes")
    assert r.status_code == 200 and b"Confirmed" in r.body
    assert statuses(env, sub["subscription_id"]) == {
        "mia@example.com": "confirmed", "Out.Sider@example.org": "confirmed", "other@example.net": "pending"}
    assert snapshots(next_hour(time.time()) + 3600)["sent"] == 2
    assert not messages("other@example.net")[1:]  # the unconfirmed address got its request, nothing else


def test_no_means_never_again_from_this_workspace(env):
    sub = subscribe(env, ["no.thanks@example.org"])
    mail_queue()
    token = token_of(link_of(messages("no.thanks@example.org")[0], "consent"))
    r = page(env, "POST", "consent", token, b"answer=no")
    assert r.status_code == 200 and b"will not ask again" in r.body
    assert statuses(env, sub["subscription_id"]) == {"no.thanks@example.org": "unsubscribed"}
    again = subscribe(env, ["no.thanks@example.org"], campaign_id="c2")
    assert again["recipient_status"][0]["status"] == "unsubscribed"
    assert mail_queue()["sent"] == 0 and len(messages("no.thanks@example.org")) == 1
    # a bare POST with no answer changes nothing
    assert page(env, "POST", "consent", token, b"").status_code == 400


def test_unsubscribe_acts_on_post_only(env, pool, wired):
    member(wired, "acme", pool.user("ann@example.com"), "ann@example.com", "viewer")
    sub = subscribe(env, ["ann@example.com"], language="fr")
    t = next_hour(time.time())
    assert snapshots(t)["sent"] == 1
    (message,) = messages("ann@example.com")
    header = message["List-Unsubscribe"]
    assert header.startswith("<https://reports.test/api/v1/unsubscribe?token=v2.") and header.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = token_of(header[1:-1])
    assert token == token_of(link_of(message, "unsubscribe"))
    # scanners and previews: GET (several), HEAD, GET with a browser's headers: nothing changes
    for method, headers in (("GET", {}), ("HEAD", {}), ("GET", {"User-Agent": "Mozilla/5.0", "Accept": "text/html"}),
                            ("GET", {"Accept-Language": "en"})):
        r = page(env, method, "unsubscribe", token, headers=headers)
        assert r.status_code == 200
    r = page(env, "GET", "unsubscribe", token)
    assert "Se désabonner ?" in r.body.decode() and b'lang="fr"' in r.body  # the subscription's language
    assert b'<form method="post"' in r.body and b'value="unsubscribe"' in r.body
    assert statuses(env, sub["subscription_id"]) == {"ann@example.com": "confirmed"}
    assert snapshots(t + 3600)["sent"] == 1  # still subscribed
    # the mail client's one-click POST (RFC 8058)
    r = page(env, "POST", "unsubscribe", token, b"List-Unsubscribe=One-Click")
    assert r.status_code == 200 and "Désabonnement effectué" in r.body.decode()
    listed = listing(env)["subscriptions"]
    assert [s["subscription_id"] for s in listed] == [sub["subscription_id"]]  # the subscription stays
    assert listed[0]["recipient_status"][0]["status"] == "unsubscribed"
    assert listed[0]["recipient_status"][0]["unsubscribed_at"]
    assert snapshots(t + 7200)["sent"] == 0
    # idempotent, and the page's button (a form POST) does the same
    assert page(env, "POST", "unsubscribe", token, b"answer=unsubscribe").status_code == 200
    assert "ne reçoit plus" in page(env, "GET", "unsubscribe", token).body.decode()


def test_forged_altered_expired_and_misused_links_are_refused(env, pool, wired):
    member(wired, "acme", pool.user("ann@example.com"), "ann@example.com", "viewer")
    sub = subscribe(env, ["ann@example.com"])
    list_ref = ref(SUB, sub["subscription_id"])
    signer, now = TokenSigner(SECRET.encode()), time.time()
    good = signer.sign(UNSUBSCRIBE, "acme", list_ref, "ann@example.com", now)
    tampered = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
    forged = TokenSigner(b"another-secret-of-some-length").sign(UNSUBSCRIBE, "acme", list_ref, "ann@example.com", now)
    confirm = signer.sign(CONFIRM, "acme", list_ref, "ann@example.com", now)  # a confirm link used to unsubscribe
    for bad in (tampered, forged, confirm, "v2.garbage", "v2.a.b", "", "x" * 3000):
        for method in ("GET", "POST"):
            r = page(env, method, "unsubscribe", bad, b"List-Unsubscribe=One-Click")
            assert r.status_code == 400 and "text/html" in r.headers["Content-Type"], (bad[:20], method)
    expired = signer.sign(UNSUBSCRIBE, "acme", list_ref, "ann@example.com", now - 181 * 86400)
    r = page(env, "POST", "unsubscribe", expired, b"List-Unsubscribe=One-Click")
    assert r.status_code == 410 and b"expired" in r.body
    assert page(env, "POST", "consent", signer.sign(CONFIRM, "acme", list_ref, "ann@example.com",
                                                    now - 31 * 86400), b"answer=yes").status_code == 410
    assert page(env, "POST", "consent", good, b"answer=yes").status_code == 400  # an unsubscribe link to confirm
    assert statuses(env, sub["subscription_id"]) == {"ann@example.com": "confirmed"}
    # a genuine link to another address of another workspace's list names nothing here
    other = signer.sign(UNSUBSCRIBE, "globex", list_ref, "ann@example.com", now)
    assert b"Nothing to do" in page(env, "POST", "unsubscribe", other, b"List-Unsubscribe=One-Click").body
    assert statuses(env, sub["subscription_id"]) == {"ann@example.com": "confirmed"}
    # links sent before links expired (v1: no expiry) still unsubscribe, on POST only
    legacy = TokenSigner(SECRET.encode())
    import base64
    import hashlib
    import hmac
    payload = base64.urlsafe_b64encode(json.dumps(["acme", sub["subscription_id"], "ann@example.com"],
                                                  separators=(",", ":")).encode()).rstrip(b"=").decode()
    mac = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), f"v1.{payload}".encode(), hashlib.sha256).digest())
    v1 = f"v1.{payload}.{mac.rstrip(b'=').decode()}"
    assert legacy.verify(v1, UNSUBSCRIBE, now).list_ref == list_ref
    assert page(env, "GET", "unsubscribe", v1).status_code == 200
    assert statuses(env, sub["subscription_id"]) == {"ann@example.com": "confirmed"}
    assert page(env, "POST", "unsubscribe", v1, b"List-Unsubscribe=One-Click").status_code == 200
    assert statuses(env, sub["subscription_id"]) == {"ann@example.com": "unsubscribed"}


def midday_clock(monkeypatch) -> None:
    """The wall clock moved to 10:00 UTC today, running: the test's next hours stay in one UTC day
    (the quota's), whatever the hour it runs at."""
    real, start = time.time, time.time()
    anchor = start - start % 86400 + 10 * 3600
    monkeypatch.setattr(time, "time", lambda: anchor + (real() - start))


def test_the_daily_quota_stops_excess_sends_visibly(env, pool, wired, monkeypatch):
    midday_clock(monkeypatch)
    monkeypatch.setattr(wired, "config", dataclasses.replace(wired.config, email_daily_quota=3))
    for who in ("a", "b", "c"):
        member(wired, "acme", pool.user(f"{who}@example.com"), f"{who}@example.com", "viewer")
    sub = subscribe(env, ["a@example.com", "b@example.com", "c@example.com", "out@example.org"])
    summary = snapshots(next_hour(time.time()))
    assert summary["sent"] == 3 and summary["over_quota"] == 0
    body = listing(env)
    assert body["quota"]["used"] == 3 and body["quota"]["remaining"] == 0 and body["quota"]["resets_at"].endswith("Z")
    # the confirmation request waits for tomorrow, and says so
    assert mail_queue()["waiting"] == 1 and not messages("out@example.org")
    note = next(r for r in listing(env)["subscriptions"][0]["recipient_status"] if r["address"] == "out@example.org")
    assert note["status"] == "pending" and "daily email quota (3)" in note["note"]
    # the next period: nothing fits, and the subscription says what was held back
    summary = snapshots(next_hour(time.time()) + 3600)
    assert summary["sent"] == 0 and summary["over_quota"] == 3
    delivery = listing(env)["subscriptions"][0]["last_delivery"]
    assert delivery["over_quota"] == 3 and delivery["sent"] == 0 and delivery["not_confirmed"] == 1
    # a new day: the waiting request goes out
    assert mail_queue(time.time() + 86400)["sent"] == 1
    assert sub["subscription_id"]


def test_alert_recipients_confirm_too_and_their_emails_can_be_left(env, pool, wired, monkeypatch):
    from chalicelib.alerts.notify import Change
    from chalicelib.alerts.store import AlertStore
    monkeypatch.setenv("LIVEREPORT_ENV", "test")
    member(wired, "acme", pool.user("ops@example.com"), "ops@example.com", "editor")
    body = {"name": "Bounces", "campaign_id": "c1", "channel": "email", "metric": "bounce_rate", "op": ">",
            "threshold": 0.05, "window_minutes": 5, "notify": {"emails": ["ops@example.com", "agency@example.org"]}}
    r = env.client.http.post("/v1/alerts", body=json.dumps(body), headers={
        "Authorization": f"Bearer {env.key('acme', MANAGE)}", "Content-Type": "application/json"})
    created = json.loads(r.body)
    assert [(s["address"], s["status"]) for s in created["notify"]["email_status"]] == [
        ("ops@example.com", "confirmed"), ("agency@example.org", "pending")]
    listed = json.loads(env.get("/v1/alerts", env.key("acme", MANAGE)).body)
    assert listed["alerts"][0]["notify"]["email_status"][1]["status"] == "pending" and listed["quota"]["limit"] == 500
    read_view = json.loads(env.get("/v1/alerts", env.key("acme", ("read",))).body)
    assert read_view["alerts"][0]["notify"] == {"emails": 2, "webhook": False} and "quota" not in read_view
    (rule,) = AlertStore(wired.client, wired.config.table_name).load("acme")[0]
    runner = app_module.alert_runner_for()
    delivery = runner.send_emails(Change(rule, "c1", "firing", 0.5, 100, int(time.time())))
    assert delivery["emails_sent"] == 1 and delivery["emails_not_confirmed"] == 1
    (alert,) = messages("ops@example.com")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = token_of(alert["List-Unsubscribe"][1:-1])
    assert page(env, "GET", "unsubscribe", token).status_code == 200
    assert "Bounces" in page(env, "GET", "unsubscribe", token).body.decode()  # the page names the alert
    page(env, "POST", "unsubscribe", token, b"List-Unsubscribe=One-Click")
    delivery = runner.send_emails(Change(rule, "c1", "ok", 0.0, 100, int(time.time())))
    assert delivery["emails_sent"] == 0 and delivery["emails_not_confirmed"] == 2
    # deleting the rule removes its recipients: old links then say there is nothing to do
    r = env.client.http.delete(f"/v1/alerts/{created['id']}", headers={"Authorization": f"Bearer {env.key('acme', MANAGE)}"})
    assert r.status_code == 204
    assert b"Nothing to do" in page(env, "GET", "unsubscribe", token).body


def test_deleting_a_subscription_drops_its_pending_requests(env):
    sub = subscribe(env, ["later@example.org"])
    r = env.client.http.delete(f"/v1/subscriptions/{sub['subscription_id']}",
                               headers={"Authorization": f"Bearer {env.key('acme', MANAGE)}"})
    assert r.status_code == 204
    assert mail_queue() == {"sent": 0, "waiting": 0, "failed": 0, "dropped": 0}


def test_lists_made_before_consent_send_nothing_until_migrated(env, pool, wired):
    from chalicelib.snapshots.subscriptions import SubscriptionStore
    from infra.consent import migrate
    member(wired, "acme", pool.user("mia@example.com"), "mia@example.com", "viewer")
    store = SubscriptionStore(wired.client, wired.config.table_name)
    old = store.create("acme", {"campaign_id": "c1", "report": "live", "recipients": ["mia@example.com",
                                                                                      "ext@example.org"],
                                "frequency": {"type": "hourly"}}, time.time() - 7200)
    (listed,) = listing(env)["subscriptions"]
    assert [r["status"] for r in listed["recipient_status"]] == ["pending", "pending"]
    assert "before consent" in listed["recipient_status"][0]["note"]
    assert snapshots(next_hour(time.time()))["sent"] == 0
    assert migrate(wired.client, wired.config.table_name, "ask", dry_run=True)["asked"] == 1
    counts = migrate(wired.client, wired.config.table_name, "ask")
    assert counts["lists"] == 1 and counts["confirmed"] == 1 and counts["asked"] == 1
    assert migrate(wired.client, wired.config.table_name, "grandfather")["skipped"] == 1  # once only
    assert statuses(env, old.subscription_id) == {"mia@example.com": "confirmed", "ext@example.org": "pending"}
    assert mail_queue()["sent"] == 1


def test_the_largest_list_registers_whole_and_hostile_text_stays_text(env):
    recipients = [f"Person.{i}+tag@Example{i % 3}.org" for i in range(50)]  # the most a subscription takes
    sub = subscribe(env, recipients)
    assert len(sub["recipient_status"]) == 50 and {r["status"] for r in sub["recipient_status"]} == {"pending"}
    assert mail_queue()["sent"] == 50
    # an alert rule's hostile name is the caller's text: escaped on the confirm page and in the request
    body = {"name": '<img src=x onerror="alert(1)">Spike', "campaign_id": "c1", "channel": "email",
            "metric": "bounce_rate", "op": ">", "threshold": 0.05, "window_minutes": 5,
            "notify": {"emails": ["agency@example.org"]}, "language": "fr"}
    r = env.client.http.post("/v1/alerts", body=json.dumps(body), headers={
        "Authorization": f"Bearer {env.key('acme', MANAGE)}", "Content-Type": "application/json"})
    assert r.status_code == 201
    mail_queue()
    (request,) = [m for m in messages("agency@example.org")]
    html = request.get_body(("html",)).get_content()
    assert "<img" not in html and "&lt;img src=x" in html and "Confirmation demandée" in request["Subject"]
    page_html = page(env, "GET", "consent", token_of(link_of(request, "consent"))).body.decode()
    assert "<img" not in page_html and "&lt;img src=x" in page_html and 'lang="fr"' in page_html
